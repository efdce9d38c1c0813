"""Model variants (bias, noise kinds), the cache key's code version, result sets per variant and per partial run,
and the homogeneity argument of ext_constant_drive."""
import math

import pytest
import torch

from utils import config as C
from utils import registry
from utils.pipeline.notebooks import regenerate
from utils.pipeline.jobs import required_models
from utils.settings import RunSettings
from utils.figures import ext_constant_drive as D
from utils.figures.base import FigureSettings
from utils.models import build_network, draw_noise, noise_moments
from utils.cache import get_model, run_dir_for

from conftest import settings_for


def small(**over):
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke", over)
    return build_network(cfg.task, cfg.model, cfg.seed)


def test_default_model_has_the_bias_and_the_paper_as_written_is_one_flag_away():
    assert C.paper_config("spatial", "noisy_unbiased").model.recurrent_bias is True
    assert C.resolve_config("head_direction", "noisy_biased", 0, "laptop").model.recurrent_bias is True
    written = C.resolve_config("spatial", "noisy_unbiased", 0, "laptop", {"recurrent_bias": "false"})
    assert written.model.recurrent_bias is False
    assert C.config_hash(written) != C.config_hash(C.resolve_config("spatial", "noisy_unbiased", 0, "laptop"))


def test_config_hash_of_a_fixed_config_is_pinned():
    """A silent change of the hash would orphan every cached model; a deliberate one updates these values."""
    cfg = C.paper_config("spatial", "noisy_unbiased", 0)
    assert C.config_hash(cfg) == "2b5e068440d9"
    assert C.MODEL_CODE_VERSION == 2 and C.run_hash(cfg) == "cced840a86fd"


def test_model_code_version_moves_the_cache(tmp_path, monkeypatch):
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke")
    before = run_dir_for(cfg, "smoke", tmp_path)
    net = get_model("spatial", "noisy_unbiased", 0, "smoke", tmp_path, progress=False)
    assert net.run_dir == before
    monkeypatch.setattr(C, "MODEL_CODE_VERSION", C.MODEL_CODE_VERSION + 1)
    after = run_dir_for(cfg, "smoke", tmp_path)
    assert after != before and after.parent == before.parent
    retrained = get_model("spatial", "noisy_unbiased", 0, "smoke", tmp_path, progress=False)
    assert retrained.run_dir == after and (after / "checksum.json").exists()   # trained anew, not reused


@pytest.mark.parametrize("kind,mean,sd", [("gaussian", 0.0, 0.5), ("uniform", 0.25, 0.5 / math.sqrt(12)),
                                          ("gaussian_uniform_moments", 0.25, 0.5 / math.sqrt(12))])
def test_noise_kinds_have_their_moments(kind, mean, sd):
    x = draw_noise((200_000,), 0.5, kind, torch.Generator().manual_seed(0), "cpu")
    assert x.mean().item() == pytest.approx(mean, abs=3e-3) and x.std().item() == pytest.approx(sd, rel=1e-2)
    assert (x.min().item() >= 0) == (kind == "uniform")
    assert noise_moments(0.5, kind) == pytest.approx((mean, sd ** 2))  # what the analyses take the drive to be


def test_every_noise_kind_has_moments_and_an_unknown_one_is_refused():
    assert all(len(noise_moments(0.1, kind)) == 2 for kind in C.NOISE_KINDS)
    with pytest.raises(ValueError, match="laplace"):
        noise_moments(0.1, "laplace")


def test_zero_input_update_is_homogeneous_exactly_without_bias_and_zero_mean_noise():
    gen = torch.Generator().manual_seed(3)
    states = torch.rand(50, 32, generator=gen).numpy() * 2 - 0.5
    assert D.homogeneity_error(small(recurrent_bias=False), states) == {"0.5": 0.0, "2": 0.0}
    biased = small()
    with torch.no_grad():
        biased.bias.normal_(0, 0.5, generator=gen)
    assert min(D.homogeneity_error(biased, states).values()) > 1e-2
    # the released noise's mean is a constant drive: it breaks the symmetry without any bias
    released = small(recurrent_bias=False, noise_kind="uniform")
    assert min(D.homogeneity_error(released, states).values()) > 1e-3


def test_expected_update_is_one_noiseless_step_plus_the_noise_mean():
    net = small(recurrent_bias=False, noise_kind="uniform")
    h = torch.randn(4, 32, generator=torch.Generator().manual_seed(0))
    w = net.w_rec.weight
    by_hand = net.alpha * (-h + torch.relu(h @ w.T)) + net.cfg.noise_std / 2
    torch.testing.assert_close(D.expected_update(net, h), by_hand, rtol=1e-5, atol=1e-7)


def test_variants_name_their_result_sets():
    assert C.variant_of({}) == "default" and C.variant_of({"recurrent_bias": "false"}) == "as-written"
    assert C.variant_of({"recurrent_bias": "false", "noise_kind": "uniform"}) == "as-released"
    with pytest.raises(C.ConfigError, match="only the overrides of a model variant"):
        C.variant_of({"n_rec": "64"})
    assert [C.result_set("laptop", v) for v in C.VARIANTS] == ["laptop", "laptop-as-written", "laptop-as-released"]
    run = {"preset": "smoke", "variant": "as-written", "seeds": None, "outputs_dir": "out", "device": "cpu",
           "threads": None}
    settings = FigureSettings.create(run)
    assert settings.figures_dir.parts[-2:] == ("smoke-as-written", "figures")
    assert settings.model_overrides() == {"recurrent_bias": False}
    # a notebook's own model choices win over the variant's
    assert settings.model_overrides(recurrent_bias=True) == {"recurrent_bias": True}
    with pytest.raises(C.ConfigError, match="unknown variant"):
        FigureSettings.create(run | {"variant": "as-dreamt"})


def test_grid_of_a_variant_trains_what_its_notebooks_load():
    jobs = required_models(["ext_constant_drive", "fig1_spatial_reactivation"], RunSettings("smoke"))
    written = {run_dir_for(j.config(RunSettings("smoke", "as-written")), "smoke") for j in jobs}
    default = {run_dir_for(j.config(RunSettings("smoke")), "smoke") for j in jobs}
    # ext_constant_drive sets bias and noise itself: the same 8 models under either variant
    settings = settings_for("outputs", 2, variant="as-written")
    loaded = {run_dir_for(C.resolve_config(m.task, m.condition, s, "smoke",
                                           settings.model_overrides(**m.override_dict())), "smoke")
              for m in registry.notebook("ext_constant_drive").models for s in range(2)}
    assert loaded <= written and loaded <= default and len(loaded) == 16
    assert len(default) == 16 and len(written) == 16   # fig1's U^σ is a constant-drive model under both


def test_regenerate_refuses_overrides_that_are_not_a_variant(tmp_path):
    with pytest.raises(C.ConfigError, match="model variant"):
        regenerate(RunSettings.with_overrides({"noise_std": "0.02"}, preset="smoke", outputs_dir=str(tmp_path)))
    assert not any(tmp_path.iterdir())


def test_partial_runs_on_chosen_seeds_have_their_own_folder():
    assert C.result_set("paper", "default", (0,)) == "paper-seed0"
    assert C.result_set("paper", "as-written", (0, 2)) == "paper-seed0-2-as-written"
    assert C.parse_seeds("0,2") == (0, 2) and C.parse_seeds(None) is None
    for bad in ("", "0,0", "-1", "a"):
        with pytest.raises(C.ConfigError, match="--seeds"):
            C.parse_seeds(bad)
    jobs = required_models(["fig3_head_direction", "ext_hd_metrics"], RunSettings("paper", seeds=(0,)))
    assert {j.seed for j in jobs} == {0} and len(jobs) == 4   # noisy U, B (fig3) and noiseless U, B (ext_hd_metrics)
    run = {"preset": "smoke", "variant": "default", "seeds": [1], "outputs_dir": "out", "device": "cpu",
           "threads": None}
    assert FigureSettings.create(run).result_set == "smoke-seed1"   # explicit seeds: always their own set
    assert FigureSettings.create(run | {"seeds": None}).result_set == "smoke"


def test_cli_rejects_bad_seeds_in_one_line(capsys):
    from utils.__main__ import main
    assert main(["figures", "--preset", "smoke", "--seeds", "0,x"]) == 2
    assert "--seeds must be" in capsys.readouterr().err
