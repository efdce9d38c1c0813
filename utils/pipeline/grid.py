"""The training grid: the models the notebooks need that are not in the cache, trained in local processes (or,
with `launcher="slurm"`, handed to `utils.pipeline.slurm`, which trains each with the same `jobs.train_job`)."""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from .. import config as C
from ..cache import install_committed, is_trained
from . import slurm as S
from .slurm import LAUNCHERS
from ..settings import RunSettings
from .jobs import ModelJob, required_models, select_notebooks, train_job



def training_cost(cfg: C.RunConfig) -> float:
    """Rough multiply-adds of a training run (recurrent and readout products): orders the queue so that no long
    run starts last and leaves the other cores idle."""
    gates = 3 if cfg.model.cell == "gru" else 1
    per_step = cfg.model.n_rec * (gates * cfg.model.n_rec + cfg.task.n_cells)
    return cfg.train.batches * cfg.train.batch_size * cfg.task.steps * per_step


def check_count(option: str, value: int | None) -> None:
    """`--jobs` and `--threads`: None (automatic) or a positive integer."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise C.ConfigError(f"--{option} must be a positive integer, got {value!r}")


def default_threads(jobs: int, threads: int | None = None) -> int:
    """Torch threads per process: `threads`, or the cores shared among `jobs` processes. Pass `threads=1` when
    two grids (two model variants) train side by side: each would otherwise take all the cores."""
    check_count("threads", threads)
    return threads or max(1, (os.cpu_count() or 1) // jobs)


def default_jobs(device: str) -> int:
    # Measured on 2 cores: two single-threaded processes beat one two-threaded process on these small
    # matrices (docs/performance.md). On a GPU one process owns the device.
    return 1 if device != "cpu" else max(1, min(os.cpu_count() or 1, 4))


def keep_freed_memory() -> None:
    """glibc returns every large (B, T, N) buffer to the OS and maps it again on the next step; keeping freed
    memory in the process makes a CPU training step 6–18 % faster (benchmarks/bench.py, docs/performance.md).
    glibc reads these at process start-up: call before the training workers are spawned."""
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(2**30))
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(2**31))


def missing_jobs(notebooks: list[str], run: RunSettings) -> list[ModelJob]:
    """The models of `required_models` that neither the run's cache nor the committed networks (`utils.shipped`,
    installed into the cache here) hold, each model directory once; one progress line says how many came from where."""
    todo, seen, cached, installed = [], set(), 0, 0
    for job in required_models(notebooks, run):
        cfg = job.config(run)
        run_dir = job.run_dir(run)
        if run_dir in seen:  # two notebooks may name one model differently (explicitly, or by the defaults)
            continue
        seen.add(run_dir)
        if is_trained(run_dir, cfg):  # a damaged model counts as missing, and is retrained
            cached += 1
        elif install_committed(cfg, run.preset, run.outputs_dir):
            installed += 1
        else:
            todo.append(job)
    print(f"[networks] {len(seen)} needed at preset {run.preset!r}: {cached} in the cache, {installed} installed from "
          f"the committed networks (data/networks/), {len(todo)} to train", flush=True)
    return todo


def train_local(todo: list[ModelJob], run: RunSettings, jobs: int) -> int:
    """Train `todo` in `jobs` processes of the run's torch threads each (default: the cores shared among them),
    the longest first; 0 when all are trained (a worker's error is raised)."""
    todo = sorted(todo, key=lambda job: training_cost(job.config(run)), reverse=True)  # stable: ties keep order
    print(f"[train] {len(todo)} model(s) to train at preset {run.preset!r} with {jobs} process(es)", flush=True)
    if not todo:
        return 0
    threads = default_threads(jobs, run.threads)
    t0 = time.perf_counter()
    keep_freed_memory()
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_job, job, run, threads): job for job in todo}
        for i, fut in enumerate(as_completed(futures), 1):
            fut.result()  # re-raises a worker's error with its traceback
            print(f"[train] {i}/{len(todo)} {futures[fut]} done ({time.perf_counter() - t0:.0f} s elapsed)",
                  flush=True)
    return 0


def train_grid(run: RunSettings, only: str | None = None, jobs: int | None = None, launcher: str = "local",
               slurm=None) -> int:
    """Train the models the notebooks need that are not in the run's cache: in local processes, or with
    `launcher="slurm"` one Slurm job each (`slurm`: a `slurm.SlurmOptions`). 0 when all are trained."""
    C.check_choice("launcher", launcher, LAUNCHERS)
    check_count("jobs", jobs)
    if launcher == "slurm" and run.threads is not None:
        raise C.ConfigError("--threads is for local runs; a Slurm job's threads are its --slurm-cpus")
    todo = missing_jobs(select_notebooks(only), run)
    if launcher == "slurm":
        return S.train_grid(todo, run, slurm or S.SlurmOptions())
    return train_local(todo, run, jobs or default_jobs(run.device))


__all__ = ["training_cost", "check_count", "default_threads", "default_jobs", "keep_freed_memory", "missing_jobs",
           "train_local", "train_grid"]
