"""The committed networks (`utils.shipped`, data/networks/): every one checks out and the cache serves it without
training; a damaged one is named and never loaded; the laptop sets need nothing that is not committed."""
import json
import lzma
import re
import warnings
from pathlib import Path

import pytest
import torch

from utils import cache, shipped
from utils import config as C
from utils.files import sha256_file
from utils.models import build_network
from utils.pipeline import networks
from utils.pipeline.grid import missing_jobs
from utils.settings import RunSettings

ROOT = Path(__file__).resolve().parent.parent


def fake_network(root: Path, preset: str = "smoke", seed: int = 0, **overrides) -> tuple[C.RunConfig, Path]:
    """An untrained network committed under `root`, as `networks ship` writes one (no training needed)."""
    cfg = C.resolve_config("spatial", "noisy_unbiased", seed, preset, overrides)
    net = build_network(cfg.task, cfg.model, cfg.seed)
    metrics = {"test_loss": [0.5, 0.25], "test_decode_error": [0.1, 0.05]}
    path = shipped.write(shipped.shipped_dir(cfg, preset, root), cfg, net.state_dict(), metrics,
                         trained={"device": "cpu", "threads": 1, "torch": torch.__version__})
    return cfg, path


def no_training(*args, **kwargs):
    raise AssertionError("trained a network that is committed")


def test_pack_and_unpack_are_bitwise_lossless_for_every_dtype():
    state = {"f32": torch.randn(7, 5), "f64": torch.randn(3, dtype=torch.float64), "i64": torch.arange(4),
             "f16": torch.randn(2, 2).half(), "empty": torch.zeros(0, 3), "scalar": torch.tensor(1.5)}
    back = shipped.unpack(shipped.pack(state))
    assert list(back) == list(state)
    for name, tensor in state.items():
        assert back[name].dtype == tensor.dtype and back[name].shape == tensor.shape
        assert torch.equal(back[name].reshape(-1).view(torch.uint8), tensor.reshape(-1).view(torch.uint8))
    assert shipped.tensor_digest(back) == shipped.tensor_digest(state)
    # control: one flipped bit changes the digest
    flipped = dict(state, f32=state["f32"].clone())
    flipped["f32"].view(torch.int32)[0, 0] ^= 1
    assert shipped.tensor_digest(flipped) != shipped.tensor_digest(state)


def test_the_cache_serves_a_committed_network_without_training(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "NETWORKS_DIR", tmp_path / "networks")
    cfg, path = fake_network(tmp_path / "networks")
    monkeypatch.setattr(cache, "train", no_training)
    model = cache.get_model("spatial", "noisy_unbiased", 0, "smoke", tmp_path / "out", progress=False)
    assert model.run_dir == cache.run_dir_for(cfg, "smoke", tmp_path / "out")
    assert shipped.tensor_digest(model.net.state_dict()) == json.loads((path / "network.json").read_text())["tensor_digest"]
    # model.pt is what training would have saved: the module's state_dict through torch.save
    reference = tmp_path / "reference.pt"
    net = build_network(cfg.task, cfg.model, cfg.seed)
    cache.atomic_save(net.state_dict(), reference)   # as training writes model.pt
    assert sha256_file(model.run_dir / "model.pt") == sha256_file(reference)
    timing = json.loads((model.run_dir / "timing.json").read_text())
    assert timing["installed_from"] == str(path) and timing["torch"] == torch.__version__
    cache.verify_run(model.run_dir, cfg)  # a finished run, with the installed checksums
    # a second call loads from the cache (the committed copy is not read again)
    monkeypatch.setattr(shipped, "read", no_training)
    assert cache.get_model("spatial", "noisy_unbiased", 0, "smoke", tmp_path / "out", progress=False).run_dir == model.run_dir


def test_the_grid_installs_committed_networks_and_trains_only_the_rest(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shipped, "NETWORKS_DIR", tmp_path / "networks")
    run = RunSettings("smoke", outputs_dir=str(tmp_path / "out"))
    needed = networks.set_networks(run, "fig1")
    for cfg in needed[:2]:
        net = build_network(cfg.task, cfg.model, cfg.seed)
        shipped.write(shipped.shipped_dir(cfg, "smoke"), cfg, net.state_dict(), {"test_loss": [1.0]}, trained={})
    todo = missing_jobs(["fig1_spatial_reactivation"], run)
    assert [job.config(run) for job in todo] == needed[2:]
    assert f"0 in the cache, 2 installed from the committed networks (data/networks/), {len(needed) - 2} to train" \
        in capsys.readouterr().out
    assert all(cache.is_trained(cache.run_dir_for(cfg, "smoke", run.outputs_dir), cfg) for cfg in needed[:2])


@pytest.mark.parametrize("damage", ["weights", "metrics", "config", "renamed", "digest"])
def test_a_damaged_committed_network_is_named_and_never_loaded(tmp_path, monkeypatch, damage):
    monkeypatch.setattr(shipped, "NETWORKS_DIR", tmp_path / "networks")
    cfg, path = fake_network(tmp_path / "networks")
    if damage == "weights":
        data = bytearray((path / "weights.xz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (path / "weights.xz").write_bytes(bytes(data))
        named = "weights.xz"
    elif damage == "metrics":
        (path / shipped.METRICS).write_bytes(lzma.compress(b'{"test_loss": [0.0]}'))
        named = shipped.METRICS
    elif damage == "config":
        fields = json.loads((path / "config.json").read_text())
        fields["model"]["n_rec"] += 1
        (path / "config.json").write_text(json.dumps(fields))
        named = "config.json"
    elif damage == "renamed":  # a network filed under another config's hash
        other = shipped.shipped_dir(C.resolve_config("spatial", "noisy_unbiased", 0, "smoke", {"n_rec": 8}), "smoke")
        other.parent.mkdir(parents=True, exist_ok=True)
        path = path.rename(other)
        cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke", {"n_rec": 8})
        named = "config.json"
    else:  # other weights, their sha256 updated, the tensor digest not
        record = json.loads((path / "network.json").read_text())
        state = build_network(cfg.task, cfg.model, 1).state_dict()
        (path / "weights.xz").write_bytes(shipped.pack(state))
        record["sha256"]["weights.xz"] = sha256_file(path / "weights.xz")
        (path / "network.json").write_text(json.dumps(record))
        named = "weights.xz"
    with pytest.raises(shipped.NetworkError) as err:
        shipped.read(path)
    assert err.value.path.name == named
    trained = []
    monkeypatch.setattr(cache, "train", lambda cfg, run_dir, **kw: trained.append(run_dir) or no_training())
    with warnings.catch_warnings(record=True) as caught, pytest.raises(AssertionError):
        warnings.simplefilter("always")
        cache.get_model("spatial", "noisy_unbiased", 0, "smoke", tmp_path / "out", progress=False,
                        **({"n_rec": 8} if damage == "renamed" else {}))
    assert trained, "a damaged committed network must be trained again, not loaded"
    assert any(named in str(w.message) for w in caught)


@pytest.mark.slow  # trains two smoke networks
def test_retrain_tells_identical_networks_from_different_ones(tmp_path, monkeypatch):
    """The comparison on two committed networks: one retrained exactly (bitwise identical), one whose committed
    weights are another seed's (it must read "differs", its metrics against the seed spread)."""
    monkeypatch.setattr(shipped, "NETWORKS_DIR", tmp_path / "networks")
    run = RunSettings("smoke", outputs_dir=str(tmp_path / "out"))
    cfgs = networks.set_networks(run, "fig1")[:2]
    into = tmp_path / "again"
    for i, cfg in enumerate(cfgs):  # what retraining will produce, trained once here (smoke: seconds)
        model = cache.train(cfg, cache.run_dir_for(cfg, "smoke", into), progress=False)
        state = model.net.state_dict() if i == 0 else build_network(cfg.task, cfg.model, cfg.seed + 7).state_dict()
        shipped.write(shipped.shipped_dir(cfg, "smoke"), cfg, state, model.metrics, trained={"threads": 1})
    rows = networks.retrain(run, into, only="fig1", jobs=1)
    verdict = {row.name.split("-")[0]: row.identical for row in rows}
    assert verdict == {f"spatial/noisy_unbiased/seed{cfgs[0].seed}": True,
                       f"spatial/noisy_unbiased/seed{cfgs[1].seed}": False}
    assert "1 of 2 retrained networks bitwise identical" in (into / "retrain-smoke.md").read_text()


# --- the networks committed in this repository ---------------------------------------------------------------------

COMMITTED = shipped.committed("laptop")


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(shipped.NETWORKS_DIR)))
def test_every_committed_network_checks_out_and_the_cache_serves_it(path, tmp_path, monkeypatch):
    cfg, state, record = shipped.read(path)   # checksums, the hash its directory names, the tensors
    assert path == shipped.shipped_dir(cfg, "laptop")
    assert {"threads", "torch", "device"} <= set(record["trained"])
    monkeypatch.setattr(cache, "train", no_training)
    assert cache.install_committed(cfg, "laptop", tmp_path)   # what the grid and get_model do with a missing one
    model = cache.load_model(cache.run_dir_for(cfg, "laptop", tmp_path), cfg=cfg)
    assert shipped.tensor_digest(model.net.state_dict()) == record["tensor_digest"]


@pytest.mark.parametrize("variant, notebooks", [("default", None), ("as-released", "fig1"),
                                                ("as-written", "as committed")])
def test_every_network_of_the_laptop_sets_is_committed(variant, notebooks):
    """A fresh clone renders every laptop set without training: each network its notebooks use is committed."""
    if notebooks == "as committed":  # the notebooks the committed as-written set has
        notebooks = ",".join(p.stem for p in (ROOT / "outputs/laptop-as-written/notebooks").glob("[!.]*.ipynb"))
    run = RunSettings("laptop", variant)
    missing = [f"{c.task.name}/{C.condition_name(c)}/seed{c.seed}-{C.run_hash(c)}"
               for c in networks.set_networks(run, notebooks) if shipped.find(c, "laptop") is None]
    assert not missing, f"not committed (python -m utils networks ship): {missing}"


# --- the manifests of the sets whose weights are not committed (paper scale) --------------------------------------

MANIFESTS = sorted(shipped.NETWORKS_DIR.glob("*.json"))


def _run_of(result_set: str) -> RunSettings:
    """`paper-seed0-as-written` -> the run settings that write that result set."""
    m = re.fullmatch(r"([a-z]+)(?:-seed([\d-]+?))?(?:-(as-written|as-released))?", result_set)
    seeds = tuple(int(s) for s in m[2].split("-")) if m[2] else None
    return RunSettings(m[1], m[3] or "default", seeds=seeds)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_a_manifest_lists_the_networks_todays_code_trains_for_its_set(path):
    """A run of the set (e.g. `figures --preset paper --seeds 0`) asks for exactly these directories: each entry's
    config hashes to the name it lists, and the set's notebooks need exactly these configs."""
    manifest = json.loads(path.read_text())
    run = _run_of(manifest["result_set"])
    assert run.result_set == manifest["result_set"] == path.stem
    listed = []
    for entry in manifest["networks"]:
        cfg = C.from_dict(entry["config"])
        assert entry["network"].endswith(f"seed{cfg.seed}-{C.run_hash(cfg)}"), entry["network"]
        listed.append(cfg)
    assert listed == networks.set_networks(run, ",".join(manifest["notebooks"]))
    assert len(MANIFESTS) >= 3


def test_compare_results_finds_a_mean_moved_beyond_its_seed_spread_and_nothing_in_an_identical_copy(tmp_path):
    from utils.pipeline.compare import compare_results
    for name in ("old", "new"):
        (tmp_path / name / "results").mkdir(parents=True)
    data = {"results": {"kl": {"per_seed": {"0": 0.20, "1": 0.22}, "mean": 0.21, "sd": 0.014}, "n": 5, "curve": [1, 2]}}
    (tmp_path / "old/results/fig.json").write_text(json.dumps(data))
    (tmp_path / "new/results/fig.json").write_text(json.dumps(data))
    (same,) = compare_results(tmp_path / "old", tmp_path / "new")
    assert (same.numbers, same.equal, same.moved) == (7, 7, [])
    data["results"]["kl"] = {"per_seed": {"0": 0.30, "1": 0.31}, "mean": 0.305, "sd": 0.007}   # moved 6.8 sd
    (tmp_path / "new/results/fig.json").write_text(json.dumps(data))
    (moved,) = compare_results(tmp_path / "old", tmp_path / "new")
    assert [m.path for m in moved.moved] == ["kl"] and moved.equal == 3


def test_installing_never_waits_for_a_process_that_holds_the_run(tmp_path, monkeypatch):
    """A grid asks for every network before it starts; one that another process is training (its lock held) is
    left to get_model, which waits for it, instead of blocking the whole list."""
    monkeypatch.setattr(shipped, "NETWORKS_DIR", tmp_path / "networks")
    cfg, _ = fake_network(tmp_path / "networks")
    run_dir = cache.run_dir_for(cfg, "smoke", tmp_path / "out")
    with cache.run_lock(run_dir) as held:   # a second open file: flock treats it as another holder
        assert held and not cache.install_committed(cfg, "smoke", tmp_path / "out")
    assert cache.install_committed(cfg, "smoke", tmp_path / "out")   # free again: installed
