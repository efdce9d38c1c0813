"""The training grid on a Slurm cluster: one job per missing model, submitted with submitit.

`grid.train_grid(..., launcher="slurm")` comes here with the models still missing from the cache. They go
out as one job array (one sbatch; each array task runs `jobs.train_job`, the same code and the same cache as
the local launcher), a progress bar counts finished jobs, and a failed job is reported with its model (and
its overrides) and the end of its log. The per-model lock in `training.run_lock` keeps two runners (local or
Slurm, this machine or another one sharing the file system) from training one model twice.

A job that runs out of time, or is preempted, is requeued by submitit (up to 3 times) and resumes from
the model's `checkpoint.pt`. Job scripts, pickles and logs go to `<outputs>/<preset>/slurm/`, which
must be on a file system the compute nodes share (as the model cache must be).
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import config as C
from ..settings import RunSettings
from .jobs import ModelJob, train_job

LAUNCHERS = ("local", "slurm")   # where `train-grid` and `figures` train: local processes, or Slurm jobs

_TIME = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?")


@dataclass(frozen=True)
class SlurmOptions:
    partition: str | None = None   # --slurm-partition; None: the cluster's default partition
    time: str = "4:00:00"          # --slurm-time per model, in sbatch's formats (minutes, H:MM:SS, D-HH, ...)
    gpus: int = 0                  # --slurm-gpus per job (with --device cuda)
    cpus: int = 1                  # --slurm-cpus per job; torch uses as many threads
    sbatch: tuple[str, ...] = ()   # --slurm-sbatch KEY=VALUE: any other sbatch option (account, qos, mem, ...)
    max_running: int | None = None  # --jobs: at most this many array tasks run at once; None: no limit
    poll_s: float = 2.0            # seconds between looks at the jobs

    def __post_init__(self):
        time_minutes(self.time)  # raises on a bad format
        for name in ("gpus", "cpus"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "cpus" else 0):
                least = 1 if name == "cpus" else 0
                raise C.ConfigError(f"--slurm-{name} must be an integer >= {least}, got {value!r}")
        for item in self.sbatch:
            if not re.fullmatch(r"[a-z][a-z-]*=\S.*", item):
                raise C.ConfigError(f"--slurm-sbatch takes an sbatch option as key=value (e.g. account=myproj), "
                                    f"got {item!r}")
        if self.partition is not None and not re.fullmatch(r"[\w.,-]+", self.partition):
            raise C.ConfigError(f"--slurm-partition: not a partition name: {self.partition!r}")


def time_minutes(text: str) -> int:
    """A Slurm time limit ("90", "90:00", "1:30:00", "2-0", "2-12:00", "1-00:00:00") in whole minutes."""
    match = _TIME.fullmatch(str(text).strip())
    if not match:
        raise C.ConfigError(f"--slurm-time must be minutes, [H:]MM:SS or D-HH[:MM[:SS]], got {text!r}")
    days, a, b, c = match.groups()
    parts = [int(a)] + [int(x) for x in (b, c) if x is not None]
    if days is not None:    # D-HH, D-HH:MM, D-HH:MM:SS
        seconds = int(days) * 86400 + sum(v * s for v, s in zip(parts, (3600, 60, 1)))
    else:                   # MM, MM:SS, HH:MM:SS
        seconds = sum(v * s for v, s in zip(parts, {1: (60,), 2: (60, 1), 3: (3600, 60, 1)}[len(parts)]))
    if seconds <= 0:
        raise C.ConfigError(f"--slurm-time must be positive, got {text!r}")
    return math.ceil(seconds / 60)


# ---------------------------------------------------------------------------------------------------------
# Command line: the flags of `train-grid` and `figures`, and the keyword arguments they become.

def add_arguments(p) -> None:
    p.add_argument("--launcher", choices=LAUNCHERS, default="local",
                   help="local: processes on this machine (default); slurm: one Slurm job per missing model "
                        "(--jobs then caps how many run at once)")
    p.add_argument("--slurm-partition", default=None, metavar="P", help="partition (default: the cluster's default)")
    p.add_argument("--slurm-time", default=None, metavar="T",
                   help=f"time limit per model, e.g. 90 or 4:00:00 (default {SlurmOptions.time})")
    p.add_argument("--slurm-gpus", type=int, default=None, metavar="N", help="GPUs per job (default 0)")
    p.add_argument("--slurm-cpus", type=int, default=None, metavar="N", help="CPUs per job (default 1)")
    p.add_argument("--slurm-sbatch", action="append", default=[], metavar="KEY=VALUE",
                   help="another sbatch option, e.g. --slurm-sbatch account=myproj (repeatable)")


def launcher_kwargs(args) -> dict:
    """`launcher` and `slurm` for `grid.train_grid` / `notebooks.regenerate`; a ConfigError on bad flags."""
    given = {name: getattr(args, f"slurm_{name}") for name in ("partition", "time", "gpus", "cpus", "sbatch")}
    given = {name: value for name, value in given.items() if value not in (None, [])}
    if args.launcher == "local":
        if given:
            raise C.ConfigError(f"--slurm-{next(iter(given))} needs --launcher slurm")
        return {"launcher": "local"}
    if "sbatch" in given:
        given["sbatch"] = tuple(given["sbatch"])
    opts = SlurmOptions(max_running=args.jobs, **given)
    if args.device.split(":")[0] not in ("cpu", "cuda", "auto"):
        raise C.ConfigError(f"unknown device {args.device!r}; choose cpu, cuda or auto")
    if opts.gpus and args.device == "cpu":
        raise C.ConfigError("--slurm-gpus asks for GPUs that --device cpu would leave idle; add --device cuda")
    return {"launcher": "slurm", "slurm": opts}


# ---------------------------------------------------------------------------------------------------------
# Submission and waiting.

class TrainModel:
    """One model of the grid as a Slurm job: `jobs.train_job`, that is `get_model` in the shared cache.

    submitit treats a callable with a `checkpoint` method as checkpointable: on a timeout or a preemption it
    calls `checkpoint` (resubmit the same call) and requeues the job, which resumes from `checkpoint.pt`."""

    def __call__(self, job: ModelJob, run: RunSettings, threads: int) -> str:
        return train_job(job, run, threads)

    def checkpoint(self, *args):
        from submitit.helpers import DelayedSubmission
        return DelayedSubmission(self, *args)


def check_cluster(opts: SlurmOptions) -> None:
    """Fail early, in one line, where there is no Slurm to submit to or no such partition."""
    missing = [cmd for cmd in ("sbatch", "srun", "sacct") if shutil.which(cmd) is None]
    if missing:
        raise C.ConfigError(f"--launcher slurm needs {', '.join(missing)} on PATH: run it on a Slurm login node")
    out = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True)
    if out.returncode != 0:
        raise C.ConfigError(f"--launcher slurm: sinfo failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    partitions = [p.rstrip("*") for p in out.stdout.split()]
    if opts.partition is not None and any(p not in partitions for p in opts.partition.split(",")):
        raise C.ConfigError(f"no partition {opts.partition!r} on this cluster; partitions: {', '.join(partitions)}")


def make_executor(folder: Path, preset: str, opts: SlurmOptions):
    import submitit
    executor = submitit.SlurmExecutor(folder=str(folder / "%j"))
    params = dict(job_name=f"reactivation-{preset}", time=time_minutes(opts.time), cpus_per_task=opts.cpus,
                  ntasks_per_node=1, additional_parameters=dict(item.split("=", 1) for item in opts.sbatch))
    if opts.max_running:
        params["array_parallelism"] = opts.max_running
    if opts.partition:
        params["partition"] = opts.partition
    if opts.gpus:
        params["gpus_per_node"] = opts.gpus
    executor.update_parameters(**params)
    return executor


def submit(todo: list[ModelJob], run: RunSettings, opts: SlurmOptions) -> list:
    """Submit one job per model: one job array where the cluster takes it, else one sbatch per model."""
    from submitit.core.utils import FailedJobError
    run = run.absolute()  # the jobs need not start in this directory
    executor = make_executor(Path(run.outputs_dir) / run.preset / "slurm", run.preset, opts)
    fn, args = TrainModel(), (run, opts.cpus)
    try:
        return executor.map_array(fn, todo, *([arg] * len(todo) for arg in args))
    except FailedJobError as err:
        if len(todo) == 1 or "array" not in str(err).lower():
            raise C.ConfigError(f"sbatch refused the jobs: {_last_line(err)}") from None
        print(f"[slurm] the cluster takes no job array ({_last_line(err)}); submitting {len(todo)} jobs",
              file=sys.stderr, flush=True)
        return [executor.submit(fn, job, *args) for job in todo]


def _last_line(err: BaseException) -> str:
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(err).__name__


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").rstrip().splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def failure(job) -> str | None:
    """None for a job that returned; otherwise why it failed: its Python exception or its Slurm state."""
    from submitit.core.utils import FailedJobError, UncompletedJobError
    err = job.exception()
    if err is None:
        return None
    if isinstance(err, FailedJobError):
        _, trace = job._get_outcome_and_result()  # ("error", the job's formatted traceback)
        return f"raised {_last_line(trace)}"
    assert isinstance(err, UncompletedJobError), err
    return f"ended without a result (Slurm state {job.watcher.get_state(job.job_id, mode='force')})"


def wait(jobs: list, todo: list[ModelJob], poll_s: float = 2.0) -> list[ModelJob]:
    """A progress bar of finished jobs until all are; a failed one is reported as it ends. Returns the
    models whose job failed."""
    from tqdm.auto import tqdm
    pending = dict(zip(jobs, todo))
    failed = []
    bar = tqdm(total=len(jobs), desc="[slurm] jobs finished", unit="job", dynamic_ncols=True)
    try:
        while pending:
            for job, model in list(pending.items()):
                if not job.done():
                    continue
                del pending[job]
                reason = failure(job)
                if reason is not None:
                    failed.append(model)
                    bar.write(f"[slurm] FAILED {model} (job {job.job_id}) "
                              f"{reason}; last lines of {job.paths.stderr}:\n{log_tail(job.paths.stderr)}",
                              file=sys.stderr)
                bar.update()
            if pending:
                time.sleep(poll_s)
    except KeyboardInterrupt:
        bar.close()
        ids = sorted({job.job_id.split("_")[0] for job in pending})
        print(f"\n[slurm] stopped waiting; the jobs keep running (scancel {' '.join(ids)} to stop them)",
              file=sys.stderr)
        raise
    bar.close()
    return failed


def write_job_table(path: Path, jobs: list, todo: list[ModelJob]) -> Path:
    """Which Slurm job trains which model: the model's name (with its overrides: the models of
    `ext_training_noise` share task, condition and seed) and its task, condition and seed apart."""
    rows = "".join(f"{j.job_id}\t{m}\t{m.task}\t{m.condition}\t{m.seed}\n" for j, m in zip(jobs, todo))
    path.write_text("job\tmodel\ttask\tcondition\tseed\n" + rows)
    return path


def train_grid(todo: list[ModelJob], run: RunSettings, opts: SlurmOptions) -> int:
    """Train the missing models `todo` as Slurm jobs and wait for them; 0 when all were trained."""
    if todo:
        check_cluster(opts)
    print(f"[train] {len(todo)} model(s) to train at preset {run.preset!r} as Slurm jobs", flush=True)
    if not todo:
        return 0
    t0 = time.perf_counter()
    submitted = submit(todo, run, opts)
    folder = Path(run.outputs_dir).resolve() / run.preset / "slurm"
    write_job_table(folder / f"jobs-{submitted[0].job_id.split('_')[0]}.tsv", submitted, todo)
    ids = sorted({job.job_id.split("_")[0] for job in submitted})
    print(f"[slurm] submitted {len(submitted)} job(s) as {', '.join(ids)} ({opts.partition or 'default partition'}, "
          f"{time_minutes(opts.time)} min per job); logs and job table in {folder}", flush=True)
    failed = wait(submitted, todo, opts.poll_s)
    if failed:
        print(f"[slurm] {len(failed)} of {len(submitted)} job(s) failed; rerun the command to retry them "
              f"(finished models are kept)", file=sys.stderr, flush=True)
        return 1
    print(f"[slurm] {len(submitted)} model(s) trained in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0
