"""Faults injected on purpose: nothing lost, nothing stale, clear errors.

Each test injects one fault (a SIGKILL, a crash between two writes, a reader racing a writer, a damaged
cache file, two processes asking for one model, a hostile pickle, a bad argument) and fails if the
protection against it is removed. Everything trains at the `smoke` preset.
"""
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch

from utils import config as C
from utils import cache as T
from utils.figures.base import FigureSettings, write_results
from utils.cache import CacheError, CacheWarning, get_model, load_model, run_dir_for, run_lock, verify_run

ROOT = Path(__file__).resolve().parent.parent
# One thread in every child, as in this process (conftest): the same arithmetic, so bitwise comparable.
ENV = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
SP = dict(task="spatial", condition="noisy_unbiased", seed=0, preset="smoke")


def train_cmd(outputs: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "utils", "train", "--task", "spatial", "--condition", "noisy_unbiased",
            "--seed", "0", "--preset", "smoke", "--outputs", str(outputs), "--quiet", *extra]


# `python -m utils …` with every training step slowed by argv[1] seconds, so that a test can kill the process at
# a batch of its choosing: the patch lives here, not in the training loop.
SLOW_MAIN = ("import sys, time\n"
             "import utils.training as T\n"
             "step = T.train_step\n"
             "T.train_step = lambda *args: (step(*args), time.sleep(float(sys.argv[1])))[0]\n"
             "from utils.__main__ import main\n"
             "sys.exit(main(sys.argv[2:]))\n")


def slow_train_cmd(outputs: Path, seconds_per_batch: float, *extra: str) -> list[str]:
    return [sys.executable, "-c", SLOW_MAIN, str(seconds_per_batch), *train_cmd(outputs, *extra)[3:]]


def starts(run_dir: Path) -> list[str]:
    """The 'start at batch k of n' entries of train.log, one per training process."""
    return re.findall(r"start at batch \d+ of \d+", (run_dir / "train.log").read_text())


def leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*.tmp*"))


def assert_same_state(a, b):
    """Nested state dicts (weights, Adam state) equal bitwise."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same_state(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_state(x, y)
    else:
        assert a == b


def assert_same_run(a: Path, b: Path):
    """Weights, final optimizer state and metrics of two finished runs are bitwise identical."""
    for name in ("model.pt", "optimizer.pt"):
        assert_same_state(torch.load(a / name, weights_only=True), torch.load(b / name, weights_only=True))
    assert (a / "metrics.json").read_bytes() == (b / "metrics.json").read_bytes()
    verify_run(a), verify_run(b)


def snapshot(root: Path, skip: Path | None = None) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and (skip is None or skip not in p.parents)}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A finished smoke cache with three models; tests copy it before damaging it."""
    root = tmp_path_factory.mktemp("cache")
    get_model(**SP, outputs_dir=root, progress=False)
    get_model(**(SP | {"seed": 1}), outputs_dir=root, progress=False)  # a sibling directory
    get_model("head_direction", "noisy_unbiased", 0, "smoke", root, progress=False)
    return root


# --- Kill mid-training ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_sigkill_at_a_random_batch_then_rerun_ends_bitwise_identical(tmp_path, cache):
    """A `python -m utils train` process killed at a random batch (after its first checkpoint, before its
    end), then run again, resumes from its last checkpoint and ends with the weights, final Adam state
    (`optimizer.pt`) and metrics of an uninterrupted run."""
    over = {"batches": 60, "save_every": 10}
    sets = [arg for k, v in over.items() for arg in ("--set", f"{k}={v}")]
    cfg = C.resolve_config(**SP, overrides=over)
    reference = get_model(**SP, outputs_dir=tmp_path / "straight", progress=False, **over).run_dir
    run_dir = run_dir_for(cfg, "smoke", tmp_path / "killed")

    # 40 ms per batch: 50 batches (≥ 2 s) between the first checkpoint and the end.
    proc = subprocess.Popen(slow_train_cmd(tmp_path / "killed", 0.04, *sets), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + 60
    while not (run_dir / "checkpoint.pt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.005)
    wait = random.uniform(0, 0.6)
    time.sleep(wait)
    proc.kill()  # SIGKILL: no handler, no cleanup
    assert proc.wait() == -signal.SIGKILL
    assert not (run_dir / "checksum.json").exists() and not (run_dir / "model.pt").exists(), f"finished before the kill ({wait=})"
    last = torch.load(run_dir / "checkpoint.pt", weights_only=True)["batch"]
    assert 10 <= last < 60

    out = subprocess.run(train_cmd(tmp_path / "killed", *sets), cwd=ROOT, capture_output=True, text=True, env=ENV)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip().splitlines()[-1]) == run_dir
    assert starts(run_dir) == ["start at batch 0 of 60", f"start at batch {last} of 60"], f"killed at {wait=}"
    assert json.loads((run_dir / "timing.json").read_text())["batches_this_run"] == 60 - last
    assert_same_run(reference, run_dir)
    assert not (run_dir / "checkpoint.pt").exists() and not leftovers(tmp_path)


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the code under test catches it."""


@pytest.mark.parametrize("dies_writing", ["model.pt", "optimizer.pt", "metrics.json", "timing.json", "checksum.json"])
def test_death_between_the_final_writes_resumes_from_the_checkpoint(tmp_path, cache, monkeypatch, dies_writing):
    """A run that dies while writing any of its final files is not taken as finished: the next get_model
    resumes from the last checkpoint (batch 10 of 20) and ends with the uninterrupted run's files."""
    real = T.atomic_save

    def dying(obj, path):
        if path.name == dies_writing:
            raise Killed
        real(obj, path)

    monkeypatch.setattr(T, "atomic_save", dying)
    with pytest.raises(Killed):
        get_model(**SP, outputs_dir=tmp_path, progress=False)
    monkeypatch.undo()
    run_dir = run_dir_for(C.resolve_config(**SP), "smoke", tmp_path)
    assert not T.is_trained(run_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = get_model(**SP, outputs_dir=tmp_path, progress=False)
    # What was written before the death is no finished run: at most a warning that checksum.json is missing.
    assert all("checksum.json: missing" in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert starts(run_dir) == ["start at batch 0 of 20", "start at batch 10 of 20"]
    assert_same_run(run_dir_for(C.resolve_config(**SP), "smoke", cache), net.run_dir)
    assert not (run_dir / "checkpoint.pt").exists() and not leftovers(tmp_path)


def test_a_damaged_checkpoint_is_not_resumed_from(tmp_path, cache):
    cfg = C.resolve_config(**SP)
    run_dir = run_dir_for(cfg, "smoke", tmp_path)
    T.train(cfg, run_dir, progress=False, stop_after=10)
    ckpt = run_dir / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.warns(CacheWarning, match="checkpoint.pt"):
        get_model(**SP, outputs_dir=tmp_path, progress=False)
    assert_same_run(run_dir_for(cfg, "smoke", cache), run_dir)


# --- Atomic files -----------------------------------------------------------------------------------------

def race(write, path: Path, versions: list, is_complete, n: int = 12) -> list[int]:
    """Write the versions in turn while a thread keeps reading `path`; the sizes of what it saw half-written."""
    bad, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            if not is_complete(data):
                bad.append(len(data))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(n):
            write(versions[i % len(versions)], path)
    finally:
        stop.set()
        thread.join()
    return bad


JSON_VERSIONS = [{"train_loss": [float(i)] * 20_000} for i in range(2)]


def complete_json(data: bytes) -> bool:
    try:
        return json.loads(data) in JSON_VERSIONS
    except ValueError:
        return False


def test_json_files_are_never_seen_half_written(tmp_path):
    assert race(T.atomic_save, tmp_path / "metrics.json", JSON_VERSIONS, complete_json) == []
    assert not leftovers(tmp_path)


def test_checkpoints_are_never_seen_half_written(tmp_path):
    versions = [{"w": torch.full((300, 300), float(i))} for i in range(2)]

    def complete(data):
        try:
            w = torch.load(io.BytesIO(data), weights_only=True)["w"]
        except Exception:
            return False
        return any(torch.equal(w, v["w"]) for v in versions)

    assert race(T.atomic_save, tmp_path / "checkpoint.pt", versions, complete) == []
    assert not leftovers(tmp_path)


def test_results_json_is_never_seen_half_written(tmp_path):
    settings = FigureSettings.create(RUN | {"outputs_dir": str(tmp_path)})
    path = tmp_path / "smoke" / "results" / "fig9.json"
    versions = [{"curve": [float(i)] * 20_000} for i in range(2)]

    def complete(data):
        try:
            return json.loads(data)["results"] in versions
        except ValueError:
            return False

    assert race(lambda r, _: write_results("fig9", r, settings), path, versions, complete) == []
    assert not leftovers(tmp_path)


def test_a_failing_notebook_never_leaves_a_partial_executed_notebook(tmp_path, monkeypatch):
    """papermill writes its output cell by cell; the executed notebook appears only once complete."""
    import papermill

    from utils.pipeline.notebooks import execute_notebook
    from utils.settings import RunSettings
    out_dir = tmp_path / "notebooks"
    out = out_dir / "fig1_spatial_reactivation.ipynb"
    seen = []

    def notebook(state):  # the smallest notebook the runner reads back
        return json.dumps({"cells": [], "metadata": {"state": state}, "nbformat": 4, "nbformat_minor": 5})

    def fake_execute(input_path, output_path, parameters, **kwargs):
        Path(output_path).write_text(notebook("PARTIAL"))
        seen.append(json.loads(out.read_text())["metadata"]["state"] if out.exists() else None)
        if parameters["run"]["variant"] == "as-written":
            raise RuntimeError("cell 3 failed")
        Path(output_path).write_text(notebook("COMPLETE"))

    def state():
        return json.loads(out.read_text())["metadata"]["state"]

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    run = RunSettings("smoke", outputs_dir=str(tmp_path))
    execute_notebook("fig1_spatial_reactivation", run, out_dir, html=False)
    assert state() == "COMPLETE" and seen == [None]
    with pytest.raises(RuntimeError):
        execute_notebook("fig1_spatial_reactivation", RunSettings("smoke", "as-written", outputs_dir=str(tmp_path)),
                         out_dir, html=False)
    assert state() == "COMPLETE" and seen == [None, "COMPLETE"]


def test_each_model_directory_records_the_sha256_of_its_files(cache):
    run_dir = run_dir_for(C.resolve_config(**SP), "smoke", cache)
    sums = json.loads((run_dir / "checksum.json").read_text())
    for name in ("model.pt", "optimizer.pt", "metrics.json"):
        assert sums[name] == T.sha256_file(run_dir / name)
    assert json.loads((run_dir / "config.json").read_text()) == C.to_dict(C.resolve_config(**SP))


# --- Corrupt or partial cache -----------------------------------------------------------------------------

def _truncate(path: Path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _other_weights(path: Path):  # a valid state_dict that loads fine: only the checksum tells
    torch.save({k: v + 0.01 for k, v in torch.load(path, weights_only=True).items()}, path)


def _edit_config(path: Path):
    cfg = json.loads(path.read_text())
    cfg["train"]["lr"] = 0.5
    path.write_text(json.dumps(cfg))


def _rehash(run_dir: Path):
    """Make checksum.json agree with a replaced model.pt, so that only the loader's own checks remain."""
    sums = json.loads((run_dir / "checksum.json").read_text())
    (run_dir / "checksum.json").write_text(json.dumps(sums | {"model.pt": T.sha256_file(run_dir / "model.pt")}))


def _whole_module(path: Path):
    torch.save(load_model(path.parent), path)  # the released code's format: a pickled nn.Module
    _rehash(path.parent)


DAMAGE = {
    "truncated model.pt": ("model.pt", _truncate, r"model\.pt: its sha256"),
    "one byte of model.pt flipped": ("model.pt", _flip_a_byte, r"model\.pt: its sha256"),
    "model.pt with other weights": ("model.pt", _other_weights, r"model\.pt: its sha256"),
    "model.pt a pickled module": ("model.pt", _whole_module, r"model\.pt: refused.*weights_only=True"),
    "config.json missing": ("config.json", Path.unlink, r"config\.json: missing"),
    "config.json not its hash": ("config.json", _edit_config, r"config\.json: its config hashes to"),
    "truncated metrics.json": ("metrics.json", _truncate, r"metrics\.json: its sha256"),
    "checksum.json missing": ("checksum.json", Path.unlink, r"checksum\.json: missing"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_model_is_retrained_never_loaded_and_nothing_else_touched(tmp_path, cache, damage):
    name, hurt, message = DAMAGE[damage]
    root = tmp_path / "outputs"
    shutil.copytree(cache, root)
    run_dir = run_dir_for(C.resolve_config(**SP), "smoke", root)
    hurt(run_dir / name)
    before = snapshot(root, skip=run_dir)
    assert not T.is_trained(run_dir)
    with pytest.warns(CacheWarning, match=message):
        net = get_model(**SP, outputs_dir=root, progress=False)
    assert len(starts(run_dir)) == 2  # retrained here (the first start is the cache's own training)
    assert_same_run(run_dir_for(C.resolve_config(**SP), "smoke", cache), run_dir)
    assert_same_state(net.net.state_dict(), torch.load(cache / run_dir.relative_to(root) / "model.pt", weights_only=True))
    assert snapshot(root, skip=run_dir) == before  # every other model directory byte-identical


def test_an_old_checkpoint_left_in_a_finished_run_is_removed_not_resumed(tmp_path, cache):
    root = tmp_path / "outputs"
    shutil.copytree(cache, root)
    run_dir = run_dir_for(C.resolve_config(**SP), "smoke", root)
    T.train(C.resolve_config(**SP), tmp_path / "partial", progress=False, stop_after=10)
    shutil.copy(tmp_path / "partial" / "checkpoint.pt", run_dir)  # as if killed after checksum.json
    (run_dir / ".model.pt.tmp99999").write_bytes(b"half")          # and a writer killed mid-write
    get_model(**SP, outputs_dir=root, progress=False)
    assert len(starts(run_dir)) == 1
    assert not (run_dir / "checkpoint.pt").exists() and not leftovers(root)


# --- Concurrent runners and stale locks -------------------------------------------------------------------

def _waiters(lock: Path) -> int:
    """Processes blocked on the flock of `lock`, from /proc/locks (Linux)."""
    st = lock.stat()
    key = f" {os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino} "
    return sum(1 for line in Path("/proc/locks").read_text().splitlines() if "->" in line and key in line)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs /proc/locks to see who waits")
def test_two_processes_asking_for_one_model_train_it_once(tmp_path):
    """Both processes are made to wait on the model's lock (held here), then released together: one trains,
    the other waits for it and loads the result."""
    run_dir = run_dir_for(C.resolve_config(**SP), "smoke", tmp_path)
    with run_lock(run_dir):
        procs = [subprocess.Popen(slow_train_cmd(tmp_path, 0.02), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=ENV) for _ in range(2)]
        deadline = time.monotonic() + 60
        while _waiters(run_dir / ".lock") < 2:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.monotonic() < deadline, "the processes never waited on the lock"
            time.sleep(0.02)
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert {Path(o.strip().splitlines()[-1]) for o, _ in outs} == {run_dir}
    assert starts(run_dir) == ["start at batch 0 of 20"]  # trained once
    verify_run(run_dir, C.resolve_config(**SP))
    assert not leftovers(tmp_path)


@pytest.mark.slow
def test_a_lock_held_by_a_killed_process_is_released(tmp_path):
    """flock belongs to the open file: the OS drops it when its holder dies, so no stale lock blocks."""
    run_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from utils.cache import run_lock\n"
                               "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)",
                               str(run_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout.readline().strip() == "held"

    def try_lock(timeout):
        got = threading.Event()

        def take():
            with run_lock(run_dir):
                got.set()

        threading.Thread(target=take, daemon=True).start()
        return got.wait(timeout)

    assert not try_lock(0.5)  # held while its holder lives
    holder.kill()
    holder.wait()
    assert try_lock(10)


# --- Untrusted files --------------------------------------------------------------------------------------

def test_every_torch_load_in_utils_is_weights_only():
    calls = []
    for path in sorted((ROOT / "utils").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"\bpickle\.loads?\(", text), f"{path.name} unpickles"
        for m in re.finditer(r"torch\.load\(", text):
            depth, i = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            calls.append((path.name, text[m.start():i]))
    assert calls, "no torch.load found: the pattern is stale"
    for name, call in calls:
        assert re.search(r"weights_only\s*=\s*True", call), f"{name}: {call}"


class _Payload:
    """A pickle that, when unpickled without weights_only, runs code (here: creates a directory)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_a_hostile_model_pt_never_runs_and_is_named(tmp_path, cache):
    root = tmp_path / "outputs"
    shutil.copytree(cache, root)
    run_dir = run_dir_for(C.resolve_config(**SP), "smoke", root)
    marker = tmp_path / "code-ran"
    torch.save({"w": _Payload(marker)}, run_dir / "model.pt")
    _rehash(run_dir)  # the checksum matches: only weights_only stands in the way
    with pytest.raises(CacheError, match=r"model\.pt: refused.*weights_only=True") as err:
        load_model(run_dir)
    assert str(run_dir / "model.pt") in str(err.value) and err.value.__cause__ is None
    assert not marker.exists()
    with pytest.warns(CacheWarning, match=r"model\.pt: refused"):
        get_model(**SP, outputs_dir=root, progress=False)
    assert not marker.exists()
    assert_same_run(run_dir_for(C.resolve_config(**SP), "smoke", cache), run_dir)


# --- Bad input --------------------------------------------------------------------------------------------

TRAIN = ["train", "--task", "spatial", "--condition", "noisy_unbiased", "--preset", "smoke"]


@pytest.mark.parametrize("args", [
    ["train-grid", "--preset", "huge"],
    ["train-grid", "--preset", "smoke", "--jobs", "0"],
    ["train-grid", "--preset", "smoke", "--jobs", "two"],
    ["train-grid", "--preset", "smoke", "--threads", "0"],
    ["train-grid", "--preset", "smoke", "--set", "n_rec=0"],
    ["train-grid", "--preset", "smoke", "--set", "wat=1"],
    ["train-grid", "--preset", "smoke", "--only", "fig99"],
    ["train-grid", "--preset", "smoke", "--device", "tpu"],
    ["figures", "--preset", "smoke", "--jobs", "0"],
    ["figures", "--preset", "smoke", "--threads", "-2"],
    ["figures", "--preset", "smoke", "--set", "n_rec=8"],
    ["report", "--preset", "huge"],
    ["networks", "retrain", "--preset", "smoke"],          # no --into
    ["networks", "retrain", "--preset", "smoke", "--into", "outputs"],   # the cache itself
    ["networks", "ship", "--preset", "huge"],
    ["networks", "check", "--preset", "smoke", "--set", "n_rec=8"],
    ["compare-results", "nowhere", "elsewhere"],
    [*TRAIN, "--seed", "1.5"],
    [*TRAIN, "--seed", "-1"],
    [*TRAIN, "--seed", "0", "--set", "batches=0"],
    [*TRAIN, "--seed", "0", "--set", "save_every=-10"],
    [*TRAIN, "--seed", "0", "--set", "noise_std=nan"],
    [*TRAIN, "--seed", "0", "--set", "lr=inf"],
    [*TRAIN, "--seed", "0", "--set", "cell=lstm"],
    [*TRAIN, "--seed", "0", "--set", "model.batches=3"],
    ["config", "--task", "head_direction", "--condition", "gru_noisy_unbiased"],
    ["config", "--task", "spatial", "--condition", "noisy_unbiased", "--set", "n_rec=abc"],
])
def test_every_command_rejects_bad_input_in_one_line_and_writes_nothing(args, tmp_path, monkeypatch, capsys):
    """In-process `main` (what `python -m utils` runs): exit status 2, one line on stderr, no exception."""
    from utils.__main__ import main
    monkeypatch.chdir(tmp_path)  # a command that wrote to its default outputs/ would show up here too
    outputs = ["--outputs", str(tmp_path / "outputs")]
    try:
        status = main([*args, *outputs])
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "error" in err, err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("repeats", ["0", "-3", "two"])
def test_the_benchmark_rejects_bad_input_in_one_line(repeats, capsys):
    from benchmarks.__main__ import cli
    with pytest.raises(SystemExit) as exit_:
        cli(["--repeats", repeats])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "error" in err, err


@pytest.mark.slow
def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "utils", "train-grid", "--preset", "smoke", "--jobs", "0",
                          "--outputs", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                         env=ENV | {"PYTHONPATH": str(ROOT)})
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr and "--jobs" in out.stderr
    assert not any(tmp_path.iterdir())


RUN = {"preset": "smoke", "variant": "default", "seeds": None, "outputs_dir": "", "device": "cpu", "threads": None}


@pytest.mark.parametrize("kwargs,message", [
    (dict(preset="huge"), "unknown preset 'huge'"),
    (dict(variant="as-dreamt"), "unknown variant 'as-dreamt'"),
    (dict(seeds=[0, -1]), "seed must be a non-negative integer, got -1"),
    (dict(seeds=[0.5]), "seed must be a non-negative integer, got 0.5"),
    (dict(seeds=[True]), "seed must be a non-negative integer, got True"),
    (dict(seeds=["0"]), "seed must be a non-negative integer, got '0'"),
    (dict(seeds="0,1"), "seeds must be a list of seeds or None"),
    (dict(seeds=1), "seeds must be a list of seeds or None"),
    (dict(seeds=True), "seeds must be a list of seeds or None"),
    (dict(seeds=[]), "seeds must name distinct seeds"),
    (dict(seeds=[1, 1]), "seeds must name distinct seeds"),
    (dict(threads=0), "threads must be a positive integer or None, got 0"),
    (dict(n_kde=0), "n_kde must be a positive integer, got 0"),
    (dict(n_kde=-5), "n_kde must be a positive integer"),
    (dict(n_kde=2.5), "n_kde must be a positive integer"),
    (dict(n_kde="100"), "n_kde must be a positive integer"),
    (dict(kde_grid=True), "kde_grid must be a positive integer"),
    (dict(n_kdes=100), "unknown analysis size"),
    (dict(device="tpu"), "unknown device 'tpu'"),
    (dict(outputs_dir=3), "outputs_dir must be a path"),
    (dict(partial=True), "run settings: unknown 'partial'"),
    (dict(without="variant"), "run settings: missing 'variant'"),
])
def test_figure_settings_reject_bad_notebook_parameters(kwargs, message, tmp_path):
    run = RUN | {"outputs_dir": str(tmp_path)}
    run |= {k: v for k, v in kwargs.items() if k in RUN or k == "partial"}
    run.pop(kwargs.get("without"), None)
    sizes = {k: v for k, v in kwargs.items() if k not in run and k not in ("partial", "without")}
    with pytest.raises(C.ConfigError, match=re.escape(message)):
        FigureSettings.create(run, **sizes)
    assert not any(tmp_path.iterdir())


def test_figure_settings_fill_what_is_none_from_the_preset(tmp_path):
    from utils.figures import ext_score
    run = RUN | {"outputs_dir": str(tmp_path)}
    s = FigureSettings.create(run, n_kde=None, kde_grid=12)
    assert s.seeds == (0, 1) and s.analysis.kde_grid == 12 and s.result_set == "smoke"
    assert s.analysis.n_kde == C.get_preset("smoke").analysis.n_kde
    assert FigureSettings.create(run | {"preset": "laptop"}, ext_score.NOTEBOOK).seeds == (0, 1)  # its declared two
    partial = FigureSettings.create(run | {"seeds": [4, 2]}, ext_score.NOTEBOOK)
    assert partial.seeds == (4, 2) and partial.result_set == "smoke-seed4-2"   # never the full set's folder


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
@pytest.mark.parametrize("bad", [dict(preset="huge"), dict(seeds=[-1]), dict(size=0)],
                         ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_a_notebook_run_with_bad_parameters_fails_in_its_settings_cell(notebook, bad, tmp_path, monkeypatch):
    """The parameters cell, papermill's injected values, then the cells up to `FigureSettings.create`:
    the run stops there with a ConfigError, before any model is trained or file written."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    params = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    last = next(i for i, c in enumerate(cells) if "FigureSettings.create(" in "".join(c["source"]))
    assert params < last, "the parameters cell must come before FigureSettings.create"
    namespace: dict = {}
    monkeypatch.chdir(ROOT / "notebooks")
    for cell in cells[:params + 1]:
        exec("".join(cell["source"]), namespace)
    if "size" in bad:  # an analysis size of 0: the first one the notebook exposes (n_kde, n_step_distance, ...)
        sizes = [name for name in namespace if name in C.AnalysisConfig.__dataclass_fields__]
        assert sizes, f"{notebook.stem} exposes no analysis size as a parameter"
        bad = {sizes[0]: 0}
    # what papermill injects after the parameters cell
    namespace["run"] = namespace["run"] | {k: v for k, v in bad.items() if k in RUN} | {"outputs_dir": str(tmp_path)}
    namespace |= {k: v for k, v in bad.items() if k not in RUN}
    with pytest.raises(C.ConfigError):
        for cell in cells[params + 1:last + 1]:
            exec("".join(cell["source"]), namespace)
    assert not any(tmp_path.iterdir())
