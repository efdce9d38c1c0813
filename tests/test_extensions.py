"""Beyond the paper (utils/figures/ext_*.py and explore.py, with utils/circular.py and utils/score.py): the
densities, predictions and estimators on known cases, and every notebook's computation end to end on smoke-preset
networks."""
import math

import numpy as np
import pytest
import torch
from scipy.special import i0, i1
from scipy.stats import gaussian_kde

from utils import analysis as A
from utils import circular
from utils import config as C
from utils import registry, score
from utils import report
from utils.figures import explore, ext_hd_metrics, ext_score, ext_temperature, ext_training_noise
from utils.figures.base import read_results
from utils.pipeline.jobs import ModelJob, required_models
from utils.settings import RunSettings

from conftest import settings_for

SEEDS = (0, 1)


# --- densities on the circle ----------------------------------------------------------------------------------

def test_vonmises_kde_is_a_density_and_matches_the_kernel_sum():
    rng = np.random.default_rng(0)
    b = rng.vonmises(1.0, 2.0, size=500)
    d = circular.vonmises_kde(b, kappa=50.0)
    theta = circular.circle_grid()
    assert d.sum() * 2 * np.pi / len(d) == pytest.approx(1.0, abs=1e-9)
    direct = np.exp(50.0 * (np.cos(theta[:, None] - b[None]) - 1)).mean(axis=1)
    direct /= direct.sum() * 2 * np.pi / len(d)
    assert np.max(np.abs(d - direct)) / direct.max() < 0.02  # binning at 0.5° against a 8° kernel


def test_circular_kl_of_a_von_mises_from_the_uniform_is_the_closed_form():
    theta = circular.circle_grid()
    kappa = 2.0
    vm = np.exp(kappa * np.cos(theta)) / (2 * np.pi * i0(kappa))
    exact = kappa * i1(kappa) / i0(kappa) - np.log(i0(kappa))   # KL(vM(κ) ‖ 𝒰)
    assert circular.circular_kl(vm, circular.uniform_circle()) == pytest.approx(exact, rel=1e-6)
    assert circular.circular_kl(vm, vm) == pytest.approx(0.0, abs=1e-12)
    assert circular.density_circular_variance(vm) == pytest.approx(1 - i1(kappa) / i0(kappa), rel=1e-6)


def test_circular_variances_of_points():
    rng = np.random.default_rng(1)
    assert circular.circular_variance(np.zeros(10)) == pytest.approx(0.0, abs=1e-12)
    assert circular.circular_variance(rng.uniform(-np.pi, np.pi, 20000)) == pytest.approx(1.0, abs=0.02)
    traj = np.stack([np.full(50, 0.3), rng.uniform(-np.pi, np.pi, 50)])  # one still, one everywhere
    assert 0.4 < circular.circular_variance_per_trajectory(traj[..., None]) < 0.6


# --- the temperature prediction -------------------------------------------------------------------------------

def test_tempering_a_gaussian_scales_its_variance_by_alpha_squared_over_two():
    x = np.linspace(-8, 8, 4001)
    cell = x[1] - x[0]
    p = np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi)
    assert np.allclose(ext_temperature.tempered(p, math.sqrt(2), cell), p, atol=1e-12)
    for alpha in (0.5, 1.0, 2.0):
        pa = ext_temperature.tempered(p, alpha, cell)
        assert (pa * x ** 2).sum() * cell == pytest.approx(alpha ** 2 / 2, rel=1e-3)
    delta = ext_temperature.tempered(p, 0.0, cell)
    assert delta.max() * cell == pytest.approx(1.0) and x[np.argmax(delta)] == pytest.approx(0.0)


def test_langevin_with_drift_sigma2_score_samples_p_to_the_2_over_alpha2():
    """The algebra behind the prediction: Δr = σ²Δt ∇log p + ασ√Δt ξ, p = N(0, 1), has variance α²/2."""
    rng = np.random.default_rng(2)
    s2 = 0.01   # per-step noise variance σ²Δt
    for alpha in (1.0, math.sqrt(2), 2.0):
        r = rng.normal(size=4000)
        for _ in range(1500):
            r += s2 * (-r) + alpha * math.sqrt(s2) * rng.normal(size=r.size)
        assert r.var() == pytest.approx(alpha ** 2 / 2, rel=0.08)


def test_sp_prediction_of_a_blob_and_of_a_uniform_box():
    rng = np.random.default_rng(3)
    blob = gaussian_kde(rng.normal(0, 0.15, size=(2, 3000)))
    pred = ext_temperature.sp_prediction(blob, 2.2, n_quiescent=10_000)
    v = pred.variance
    assert pred.kl[3] == pytest.approx(0.0, abs=1e-9) and pred.kl[0] == np.inf
    assert v[0] < 0.01 * pred.active_variance and v[3] == pytest.approx(pred.active_variance)
    for i, alpha in enumerate(ext_temperature.ALPHAS[1:4], 1):  # a blob well inside the box: variance ∝ α²/2
        assert v[i] == pytest.approx(pred.active_variance * alpha ** 2 / 2, rel=0.1)
    assert np.all(np.diff(v) > 0) and np.all(pred.kl[1:] >= -1e-9)
    assert pred.kl_estimator[3] < 0.05   # the estimator's own bias at α = √2 is small for 10⁴ points

    flat = gaussian_kde(rng.uniform(-1.1, 1.1, size=(2, 4000)))
    pred = ext_temperature.sp_prediction(flat, 2.2, n_quiescent=10_000)
    assert np.all(pred.kl[2:] < 0.05)      # uniform^β is nearly uniform: little for α to change ...
    assert pred.kl[1] > 0.1                 # ... but p^8 (α = 0.5) amplifies the KDE's deficit at the walls
    assert pred.variance[-1] == pytest.approx(2 * 2.2 ** 2 / 12, rel=0.05)


def test_hd_prediction_is_zero_at_sqrt2_and_flat_for_a_uniform_density():
    rng = np.random.default_rng(4)
    p = circular.vonmises_kde(rng.vonmises(0, 1.0, 5000))
    pred = ext_temperature.hd_prediction(p)
    assert pred.kl[3] == pytest.approx(0.0, abs=1e-9) and pred.variance[3] == pytest.approx(pred.active_variance)
    assert pred.kl[1] > pred.kl[2] > pred.kl[3] < pred.kl[4] < pred.kl[5]
    flat = ext_temperature.hd_prediction(circular.uniform_circle())
    assert np.allclose(flat.kl[1:], 0.0, atol=1e-9)


# --- the score ------------------------------------------------------------------------------------------------

def test_kde_score_is_the_gradient_of_log_kde():
    rng = np.random.default_rng(5)
    fit = rng.normal(size=(400, 3)) * [1.0, 0.5, 0.2]
    z = rng.normal(size=(5, 3)) * 0.5
    kde = gaussian_kde(fit.T)
    eps = 1e-5
    fd = np.stack([(kde.logpdf((z + eps * e).T) - kde.logpdf((z - eps * e).T)) / (2 * eps) for e in np.eye(3)], axis=1)
    assert np.allclose(score.kde_score(fit, z, chunk=2), fd, rtol=1e-5, atol=1e-6)


def test_cosines_and_slope():
    rng = np.random.default_rng(6)
    s = rng.normal(size=(100, 4))
    assert np.allclose(score.cosines(3e-4 * s, s), 1.0)
    assert score.slope_through_origin(3e-4 * s, s) == pytest.approx(3e-4)
    assert score.cosines(np.zeros((1, 2)), np.ones((1, 2)))[0] == 0.0


def test_quiescent_drift_is_one_noiseless_zero_input_step():
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke")
    from utils.models import build_network
    net = build_network(cfg.task, cfg.model, 0).eval()
    h = torch.randn(7, cfg.model.n_rec, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        step = net.quiescent(h, 1, noise_std=0.0)[0][:, 0]
    assert np.allclose(score.quiescent_drift(net, h.numpy()), (step - h).numpy(), atol=1e-6)


def test_score_alignment_reuses_an_active_run_it_is_given_and_refuses_one_of_another_size():
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke")
    from utils.models import build_network
    net = build_network(cfg.task, cfg.model, 0).eval()
    own = score.score_alignment(net, 6, 10, seed=2, n_eval=20, ks=(2,))
    given = score.score_alignment(net, 6, 10, seed=2, n_eval=20, ks=(2,), active=A.active_run(net, 6, 10, 2))
    assert np.array_equal(own.cosine, given.cosine) and np.array_equal(own.drift, given.drift)
    with pytest.raises(ValueError, match="active run of shape"):
        score.score_alignment(net, 6, 10, seed=2, active=A.active_run(net, 6, 12, 2))


# --- registration ---------------------------------------------------------------------------------------------

def test_required_models_carry_overrides_and_seed_caps():
    models = required_models(["ext_training_noise", "fig1_spatial_reactivation"], RunSettings("laptop"))
    plain = [m for m in models if not m.overrides]
    assert [m for m in plain if m.condition == "noisy_unbiased"] == [ModelJob("spatial", "noisy_unbiased", s)
                                                                     for s in range(3)]
    assert [m.seed for m in plain if m.condition == "noiseless_unbiased"] == [0, 1]  # ext notebooks: two seeds
    with_over = {(m.condition, m.overrides) for m in models if m.overrides}
    expected = {(m.condition, m.overrides) for m in registry.notebook("ext_training_noise").models if m.overrides}
    assert with_over == expected
    cfg = ModelJob("spatial", "noisy_unbiased", 1, (("noise_std", math.sqrt(1e-3)),)).config(RunSettings("smoke"))
    assert cfg.model.noise_std == math.sqrt(1e-3) and cfg.seed == 1
    as_written = RunSettings("smoke", "as-written")   # a run's variant reaches every model without its own choice
    assert ModelJob("spatial", "noisy_unbiased", 0).config(as_written).model.recurrent_bias is False
    # the figure notebooks' models are unchanged
    figs = [n for n in registry.NOTEBOOKS if n.startswith("fig")]
    keys = dict.fromkeys(m.key for nb in figs for m in registry.NOTEBOOKS[nb].models)
    assert required_models(figs, RunSettings("laptop")) == [ModelJob(t, c, s, o) for t, c, o in keys for s in range(3)]


def test_training_noise_labels_are_the_per_step_noise_variances():
    """The panels and results name each level by its σ²Δt: the config each label trains must have that noise."""
    models = registry.notebook("ext_training_noise").labelled()
    assert list(models) == ["0", "1e-5", "1e-4", "1e-3", "uniform"]
    for label, m in models.items():
        cfg = C.resolve_config(m.task, m.condition, 0, "laptop", m.override_dict()).model
        if label == "uniform":   # the released code's noise: U[0, 1) · 0.01, no bias
            assert (cfg.noise_kind, cfg.noise_std, cfg.recurrent_bias) == ("uniform", 0.01, False)
        else:
            assert cfg.noise_kind == "gaussian" and cfg.noise_std ** 2 == pytest.approx(float(label), abs=1e-12)


@pytest.mark.parametrize("name", [n for n, row in registry.NOTEBOOKS.items() if row.seeds])
def test_a_notebook_analyses_the_seeds_the_runner_trains(name):
    """The module declares its seeds once (`NOTEBOOK.seeds`): the notebook's settings and the grid both read it."""
    from utils.figures.base import FigureSettings
    row, run = registry.NOTEBOOKS[name], RunSettings("laptop")
    settings = FigureSettings.create(run.to_parameter(), row)
    assert set(settings.seeds) == {j.seed for j in required_models([name], run)} == set(range(min(3, row.seeds)))


# --- the notebooks' computations on smoke networks --------------------------------------------------------------

@pytest.fixture(scope="module")
def settings(smoke_outputs):
    return settings_for(smoke_outputs, SEEDS)   # the session's shared smoke cache


def _rows(settings, figure):
    return {r["id"]: r for r in report.evaluate_claims(settings.run) if r["figure"] == figure}


def _check_written(result, figure, settings, n_rows):
    assert result.name == figure
    result.save(settings)
    typed = registry.results_type(figure)   # the module's RESULTS, as the report reads the JSON back
    stored = read_results(figure, settings.result_set, settings.outputs_dir, typed).results
    assert isinstance(result.results(), typed) and stored.to_json() == result.results().to_json()
    rows = _rows(settings, figure)
    assert len(rows) == n_rows
    assert all(r["verdict"] in ("passed", "failed") for r in rows.values()), rows
    assert isinstance(result.summary(), str) and set(result.panels()) <= set(result.layout.replace(";", ""))


def test_temperature_on_smoke_networks(settings):
    t = ext_temperature.compute(settings)
    assert list(t.sweeps) == list(registry.notebook("ext_temperature").labelled())
    for label in t.sweeps:
        kl = t.stack(label, "kl")
        assert kl.shape == (len(SEEDS), len(ext_temperature.ALPHAS)) and np.all(np.isfinite(kl[:, 1:]))
        assert np.all(t.stack(label, "prediction.kl")[:, 0] == np.inf)
        assert np.allclose(t.stack(label, "prediction.kl")[:, 3], 0, atol=1e-9)
    _check_written(t, "ext_temperature", settings, 2)


def test_score_on_smoke_networks(settings):
    s = ext_score.compute(settings, ks=(1, 2, 4))
    assert list(s.alignments) == ["SP U^σ", "SP U", "SP R^σ", "HD U^σ", "HD U", "HD R^σ"]
    a = s.alignments["SP U^σ"][0]
    assert a.drift.shape == a.score.shape == (len(a.cosine), score.SCORE_PCS)
    assert np.all(np.abs(a.cosine) <= 1 + 1e-9) and a.theory_slope == pytest.approx(1e-4)
    assert s.alignments["SP U"][0].theory_slope == 0
    _check_written(s, "ext_score", settings, 2)


def test_hd_metrics_on_smoke_networks(settings):
    h = ext_hd_metrics.compute(settings)
    assert h.matrices.shape == (len(SEEDS), 4, 6) and np.all(np.isfinite(h.matrices)) and np.all(h.matrices > -1e-9)
    assert h.noise_std["U"] == 0 and h.noise_std["U^σ"] == pytest.approx(math.sqrt(2) * 0.1)
    _check_written(h, "ext_hd_metrics", settings, 2)


def test_training_noise_on_smoke_networks(settings):
    n = ext_training_noise.compute(settings)
    assert list(n.levels) == list(registry.notebook("ext_training_noise").labelled())
    assert n.levels["1e-3"]["noise_variance"] == pytest.approx(1e-3)
    assert n.levels["uniform"]["noise_mean"] == pytest.approx(0.005) and n.levels["0"]["quiescent_noise_std"] == 0
    assert all(len(v) == len(SEEDS) for v in n.kl.values())
    _check_written(n, "ext_training_noise", settings, 1)


def test_explore_view_and_its_errors(settings):
    v = explore.compute(settings, "head_direction", "noiseless_unbiased", 0, 1.0, 12)
    assert v.noise_std == pytest.approx(A.paper_noise_std("head_direction")) and v.quiescent.shape[1] == 12
    written = v.results().to_json()   # what `save` writes, read back as the report would
    assert written["quiescent_steps"] == 12 and explore.RESULTS.from_json(written).to_json() == written
    import matplotlib.pyplot as plt
    before = plt.get_fignums()
    fig = explore.draw_view(v)
    assert len(fig.axes) == 4 and plt.get_fignums() == before  # outside pyplot: no other thread can flush it
    assert explore.view_png(v).startswith(b"\x89PNG") and plt.get_fignums() == before
    with pytest.raises(C.ConfigError):
        explore.compute(settings, "spatial", "no_such", 0, 1.0, 12)
    with pytest.raises(C.ConfigError):
        explore.compute(settings, "spatial", "noisy_unbiased", 0, -1.0, 12)


def test_explore_widget_carries_a_static_image_that_the_html_export_shows(settings, monkeypatch, tmp_path):
    import base64

    import nbformat

    from utils.pipeline.site import WIDGET_VIEW, export_html
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    explore.widget(settings, explore.compute(settings, "head_direction", "noiseless_unbiased", 0, 1.0, 12))
    bundle = shown[-1]
    assert WIDGET_VIEW in bundle and bundle["image/png"].startswith(b"\x89PNG")
    assert shown[0].data.startswith(b"\x89PNG")   # the view the output widget shows: a PNG, not a pyplot figure

    cell = nbformat.v4.new_code_cell("explore.widget(settings, view)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle | {
        "image/png": base64.b64encode(bundle["image/png"]).decode()})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    # the kernel's saved widget state (papermill keeps it), without which nbconvert never draws a widget
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {bundle[WIDGET_VIEW]["model_id"]: {"model_name": "VBoxModel", "state": {}}},
        "version_major": 2, "version_minor": 0}}
    notebook = tmp_path / "explore.ipynb"
    nbformat.write(nb, notebook)
    page = export_html(notebook).read_text()
    assert "<img" in page and f'<script type="{WIDGET_VIEW}">' not in page   # the image, not a dead widget
    assert "<title>explore</title>" in page and '<a href="../index.html">' in page   # titled, and a way back


# --- the report's checks on hand-made results ------------------------------------------------------------------

def test_ext_checks_follow_their_thresholds():
    def psm(values):   # as the JSON holds it: the KL at α = 0 is +∞, written as null
        return {"per_seed": {"0": values, "1": values}, "mean": values, "sd": [0.0] * len(values)}
    kl = [None, 0.5, 0.2, 0.1, 0.3, 0.6, 0.7, 0.8, 0.9]
    alphas = ext_temperature.ALPHAS
    assert len(alphas) == len(kl)
    r = {"alphas": list(alphas), "alpha_labels": [ext_temperature.alpha_label(a) for a in alphas],
         "conditions": {"SP U^σ": "spatial/noisy_unbiased"}, "burn_in_steps": 20,
         "kl": {"SP U^σ": psm(kl)}, "kl_predicted": {},
         "kl_predicted_estimator": {"SP U^σ": psm([None, 0.45, 0.15, 0.05, 0.25, 0.55, 0.65, 0.75, 0.85])},
         "variance": {"SP U^σ": psm([0.0] + [1] * 8)}, "variance_predicted": {"SP U^σ": psm([0.0] + [1] * 4 + [1.3] + [1] * 3)},
         "variance_per_trajectory": {}, "variance_active": {}, "argmin_alpha": {}, "kl_minus_predicted_estimator": {}}
    params = {c["id"]: c["params"] for c in report.load_claims()}

    def check(claim, r):   # the check on `r` read back as the report reads it
        return report.CHECKS[claim](ext_temperature.TemperatureResults.from_json(r), params[claim])
    assert check("ext-temperature-min", r).passed
    assert not check("ext-temperature-fit", r).passed  # 1/1.3 < 0.8 at α = 3
    r["kl"]["SP U^σ"] = psm([None, 0.5, 0.05, 0.1, 0.3, 0.6, 0.7, 0.8, 0.9])
    assert not check("ext-temperature-min", r).passed  # minimal at α = 1
    r["kl"]["SP U^σ"] = psm([None, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.08, 0.05])        # still falling at the edge
    v = check("ext-temperature-min", r)
    assert not v.passed and "α* = ≥ 8 (grid edge)" in v.value
    ratio = {lab: {"per_seed": {"0": v}, "mean": v, "sd": 0.0}
             for lab, v in [("SP U^σ", 1.2), ("HD U^σ", 0.5), ("SP R^σ", 0.5), ("HD R^σ", 0.5)]}
    slope = {lab: {"per_seed": {"0": 0.0}, "mean": 0.0, "sd": 0.0} for lab in ("SP U", "HD U")}
    rest = dict.fromkeys(("groups", "n_eval", "median_cosine", "median_cosine_shuffled", "mean_cosine",
                          "cosine_quartiles", "median_cosine_by_k", "theory_slope"), {})
    scores = ext_score.ScoreResults.from_json({"k": 4, "ks": [4], "slope_over_theory": ratio, "slope": slope} | rest)
    assert not report.CHECKS["ext-score-slope"](scores, params["ext-score-slope"]).passed  # HD at ½
