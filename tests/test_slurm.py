"""The training grid on a real single-node Slurm cluster (scripts/slurm_cluster.sh): the same models, bit for
bit, as the local launcher, and one shared cache for both.

A module fixture starts the cluster (installing slurm-wlm, slurmdbd, munge and mariadb-server with
apt-get where missing) and stops it afterwards; the tests skip, with the reason, only where it cannot start.
The launcher's own logic (submission, the job table, waiting, failure reports) is also run against a fake
submitit executor, everywhere.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from utils.__main__ import main
from utils.pipeline import grid as G
from utils.pipeline import slurm as S
from utils.pipeline.slurm import time_minutes
from utils.pipeline.jobs import required_models, select_notebooks
from utils.settings import RunSettings

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "slurm_cluster.sh"
SACCT_FORMAT = "JobID,JobName%20,Partition,AllocCPUS,State,ExitCode,Elapsed"


def cluster(command: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def slurm_env():
    """The environment of a client of the test cluster, up for this module's tests only; a cluster someone
    else started is used and left up."""
    env = dict(os.environ)
    conf = Path(env.get("SLURM_CLUSTER_DIR", ROOT / ".slurm-cluster")) / "slurm.conf"  # the script's default
    env.update(SLURM_CONF=str(conf), MPLBACKEND="Agg")
    if cluster("status", env).returncode == 0:
        yield env
        return
    started = cluster("start", env)
    if started.returncode != 0:
        cluster("stop", env)
        reason = (started.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"no local Slurm cluster: scripts/slurm_cluster.sh start failed: {reason}")
    try:
        yield env
    finally:
        stopped = cluster("stop", env)
        assert stopped.returncode == 0, stopped.stderr


def grid(env: dict, outputs: Path, launcher: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "utils", "train-grid", "--preset", "smoke", "--launcher", launcher,
                             "--outputs", str(outputs), *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(proc.args)} exited {proc.returncode}:\n{out}\n{err[-4000:]}"
    return out


def model_dirs(outputs: Path, models) -> list[Path]:
    return [m.run_dir(RunSettings("smoke", outputs_dir=str(outputs))) for m in models]  # overrides included


@pytest.mark.slurm
@pytest.mark.slow
def test_slurm_grid_is_bitwise_the_local_grid(slurm_env, tmp_path):
    # Every kind of model once (SP RNN, GRU, HD, config overrides of a notebook), not the whole grid twice.
    only, seeds = "fig3,figC2,ext_training_noise", (0,)
    models = required_models(select_notebooks(only), RunSettings("smoke", seeds=seeds))
    assert {m.task for m in models} == {"spatial", "head_direction"} and any(m.overrides for m in models)
    assert any(m.condition.startswith("gru") for m in models)
    # One torch thread per model on both sides (a Slurm job uses --slurm-cpus threads, a local process
    # cores // --jobs): bitwise equality of float sums is only promised for equal thread counts.
    selection = ("--only", only, "--seeds", "0")
    out = finish(grid(slurm_env, tmp_path / "slurm", "slurm", "--slurm-cpus", "1", *selection))
    finish(grid(slurm_env, tmp_path / "local", "local", "--jobs", str(os.cpu_count() or 1), *selection))

    for on_slurm, local in zip(model_dirs(tmp_path / "slurm", models), model_dirs(tmp_path / "local", models)):
        a = torch.load(on_slurm / "model.pt", weights_only=True)
        b = torch.load(local / "model.pt", weights_only=True)
        assert a.keys() == b.keys(), on_slurm
        assert all(torch.equal(a[k], b[k]) for k in a), f"{on_slurm} differs from {local}"
        assert (on_slurm / "metrics.json").read_text() == (local / "metrics.json").read_text()

    # Slurm's own record: one array task per distinct model (two notebooks may name one model differently, and it
    # is trained once), every one COMPLETED (slurmdbd may lag a few seconds).
    n_unique = len(set(model_dirs(tmp_path / "slurm", models)))
    array = re.search(r"submitted \d+ job\(s\) as (\d+)", out)[1]
    for _ in range(30):
        sacct = subprocess.run(["sacct", "-X", "-j", array, "-o", SACCT_FORMAT], env=slurm_env,
                               capture_output=True, text=True, check=True).stdout
        rows = [line.split() for line in sacct.splitlines()[2:] if line.strip()]
        if len(rows) == n_unique and all(row[4] == "COMPLETED" for row in rows):
            break
        time.sleep(1)
    print(sacct)
    assert len(rows) == n_unique and all(row[4] == "COMPLETED" for row in rows), sacct


@pytest.mark.slurm
@pytest.mark.slow
def test_slurm_and_local_runners_share_one_cache_and_train_each_model_once(slurm_env, tmp_path):
    """Both launchers at once into one cache: the per-model lock lets exactly one of them train each model."""
    only = ["--only", "fig1,fig3", "--seeds", "0"]   # an SP and two HD models: the race needs no more
    both = [grid(slurm_env, tmp_path, "slurm", *only), grid(slurm_env, tmp_path, "local", *only)]
    for proc in both:
        finish(proc)
    models = required_models(select_notebooks("fig1,fig3"), RunSettings("smoke", seeds=(0,)))
    assert len(models) == 3
    for run_dir in model_dirs(tmp_path, models):
        starts = [line for line in (run_dir / "train.log").read_text().splitlines() if "start at batch" in line]
        assert len(starts) == 1, f"{run_dir} trained {len(starts)} times:\n" + "\n".join(starts)


@pytest.mark.slow
@pytest.mark.slurm
def test_a_failed_job_is_named_with_its_log_and_fails_the_command(slurm_env, tmp_path):
    """`cuda:99` passes the login node's checks and fails in every job, on any machine."""
    proc = grid(slurm_env, tmp_path, "slurm", "--only", "fig1", "--device", "cuda:99")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    for seed in (0, 1):
        report = re.search(rf"FAILED spatial/noisy_unbiased/seed{seed} \(job \d+_\d+\) raised (.*?); "
                           rf"last lines of (\S+):\n", err)
        assert report and "cuda" in report[1].lower(), err
        assert report[1].split(": ", 1)[-1] in err[report.end():], "the log tail ends with the exception"
    assert "2 of 2 job(s) failed" in err


@pytest.mark.parametrize("args", [
    ["--slurm-time", "soon"], ["--slurm-time", "0"], ["--slurm-cpus", "0"], ["--slurm-cpus", "two"],
    ["--slurm-gpus", "-1"], ["--slurm-gpus", "1"], ["--slurm-sbatch", "mem"], ["--slurm-partition", "a b"],
    ["--device", "tpu"], ["--launcher", "local", "--slurm-partition", "gpu"], ["--launcher", "pbs"],
])
def test_bad_slurm_flags_exit_2_with_one_line(args, tmp_path, capsys):
    launcher = [] if "--launcher" in args else ["--launcher", "slurm"]
    try:
        code = main(["train-grid", "--preset", "smoke", "--outputs", str(tmp_path), *launcher, *args])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "error" in err, (args, err)
    assert not any(tmp_path.iterdir())


def test_slurm_time_formats_in_minutes():
    times = ("90", "90:30", "1:30:00", "2-0", "1-12:30", "0-0:0:1")
    assert [time_minutes(t) for t in times] == [90, 91, 90, 2880, 2190, 1]


# --- The launcher against a fake submitit executor (runs everywhere) ---------------------------------------

class FakeJob:
    """What `slurm.wait` and `slurm.failure` read of a submitit job; `error` makes it a failed one."""

    def __init__(self, job_id: str, log: Path, error: str | None = None):
        self.job_id, self.error = job_id, error
        self.paths = type("Paths", (), {"stderr": log})()

    def done(self) -> bool:
        return True

    def exception(self):
        from submitit.core.utils import FailedJobError
        return None if self.error is None else FailedJobError(self.error)

    def _get_outcome_and_result(self):  # submitit's own accessor of a failed job's traceback
        return "error", f"Traceback (most recent call last):\n  ...\n{self.error}"


class FakeExecutor:
    """Runs each array task's call at once, in this process (the worker itself is replaced by a recorder)."""

    def __init__(self, folder: Path, fail: set[int]):
        self.folder, self.fail = folder, fail
        folder.mkdir(parents=True, exist_ok=True)

    def map_array(self, fn, *columns):
        jobs = []
        for i, args in enumerate(zip(*columns)):
            fn(*args)
            log = self.folder / f"42_{i}.err"
            error = f"ValueError: boom {i}" if i in self.fail else None
            log.write_text(f"training...\n{error or 'done'}\n")
            jobs.append(FakeJob(f"42_{i}", log, error))
        return jobs


@pytest.fixture
def fake_slurm(monkeypatch):
    """`train_grid(..., launcher="slurm")` against a fake cluster; returns the worker calls and a set of
    array indices to fail."""
    calls, fail = [], set()
    monkeypatch.setattr(S, "check_cluster", lambda opts: None)
    monkeypatch.setattr(S, "make_executor", lambda folder, preset, opts: FakeExecutor(folder, fail))
    monkeypatch.setattr(S, "train_job", lambda job, run, threads: calls.append((job, run, threads)) or "run_dir")
    return calls, fail


def test_slurm_job_table_names_models_that_differ_only_in_their_overrides(fake_slurm, tmp_path, monkeypatch):
    calls, _ = fake_slurm
    monkeypatch.chdir(tmp_path)
    opts = S.SlurmOptions(cpus=2, poll_s=0)
    assert G.train_grid(RunSettings("smoke", seeds=(0,), outputs_dir="out"), only="ext_training_noise", launcher="slurm",
                        slurm=opts) == 0
    jobs = required_models(["ext_training_noise"], RunSettings("smoke", seeds=(0,)))
    assert [job for job, _, _ in calls] == jobs
    # the worker gets an absolute outputs folder (a job starts elsewhere) and --slurm-cpus threads
    assert {(ws, threads) for _, ws, threads in calls} == {(RunSettings("smoke", seeds=(0,), outputs_dir=str((tmp_path / "out").resolve())), 2)}
    table = (tmp_path / "out" / "smoke" / "slurm" / "jobs-42.tsv").read_text().splitlines()
    assert table[0] == "job\tmodel\ttask\tcondition\tseed"
    rows = [line.split("\t") for line in table[1:]]
    assert [row[1] for row in rows] == [str(job) for job in jobs]
    assert len({row[1] for row in rows}) == len(rows) == 5   # three of them: spatial/noisy_unbiased/seed0
    assert "spatial/noisy_unbiased/seed0 noise_std=0.00316228" in {row[1] for row in rows}
    assert {tuple(row[2:]) for row in rows} == {("spatial", "noiseless_unbiased", "0"),
                                                 ("spatial", "noisy_unbiased", "0")}


def test_a_failed_slurm_job_is_named_with_its_overrides_and_its_log(fake_slurm, tmp_path, capsys):
    _, fail = fake_slurm
    fail.add(3)  # the fourth model of ext_training_noise: noise variance 1e-3
    opts = S.SlurmOptions(poll_s=0)
    assert G.train_grid(RunSettings("smoke", seeds=(0,), outputs_dir=str(tmp_path)), only="ext_training_noise",
                        launcher="slurm", slurm=opts) == 1
    err = capsys.readouterr().err
    assert ("[slurm] FAILED spatial/noisy_unbiased/seed0 noise_std=0.0316228 (job 42_3) raised ValueError: boom 3; "
            "last lines of") in err
    assert err.count("FAILED") == 1 and "1 of 5 job(s) failed" in err
