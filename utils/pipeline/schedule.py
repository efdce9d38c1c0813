"""One queue for training and notebooks: each notebook starts as soon as the models it needs are trained.

`jobs` slots on this machine are shared by training processes and notebook kernels. A notebook whose models are
all in the cache takes the next free slot; otherwise the next missing model does. Models are trained in the
order the notebooks need them (the registry's: Fig. 1's first), so Fig. 1's page is written after its three
models rather than after the whole grid, and kernels fill the slots that the last models leave idle.

After every model and notebook, one progress line: models and notebooks done, and the time left estimated from
the speed measured so far (models by their multiply-adds, `grid.training_cost`; notebooks by the seconds their
last `laptop` run took, `registry.cost`, scaled by how long those run here took against it).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from .. import registry
from .grid import missing_jobs, training_cost
from .workspace import ModelJob, Workspace, required_models, train_job


class Schedule:
    """The models `notebooks` need that are missing from `ws`'s cache, and the notebooks, in `jobs` slots."""

    def __init__(self, notebooks: list[str], ws: Workspace, jobs: int, threads: int,
                 seeds: tuple[int, ...] | None = None):
        self.ws, self.jobs, self.threads = ws, jobs, threads
        self.models: list[ModelJob] = missing_jobs(notebooks, ws, seeds)   # the order notebooks need them
        missing = {ws.run_dir(job) for job in self.models}
        self.waiting: dict[str, set[Path]] = {
            name: {ws.run_dir(job) for job in required_models([name], ws.preset, seeds)} & missing
            for name in notebooks}
        self.n_models, self.n_notebooks = len(self.models), len(notebooks)
        self.done_models = self.done_notebooks = 0
        self.model_work = {job: training_cost(job.config(ws)) for job in self.models}
        self.t0 = time.perf_counter()
        self.rates: dict[str, list[tuple[float, float]]] = {"model": [], "notebook": []}  # (estimate, seconds)

    def ready(self) -> list[str]:
        """Notebooks whose models are all trained, the longest (as last measured) first."""
        return sorted((n for n, need in self.waiting.items() if not need), key=registry.cost, reverse=True)

    def seconds_left(self) -> float | None:
        """The work left over the slots, at the speeds measured so far (None until a model or notebook ends)."""
        left = 0.0
        for kind, estimates in (("model", [self.model_work[j] for j in self.models]),
                                ("notebook", [registry.cost(n) for n in self.waiting])):
            if not estimates:
                continue
            done = self.rates[kind]
            if not done or sum(e for e, _ in done) == 0:
                return None
            left += sum(estimates) * sum(s for _, s in done) / sum(e for e, _ in done)
        return left / self.jobs

    def progress(self) -> str:
        left = self.seconds_left()
        eta = "estimating the time left" if left is None else f"about {left / 60:.0f} min left"
        return (f"[progress] models {self.done_models}/{self.n_models} · notebooks "
                f"{self.done_notebooks}/{self.n_notebooks} · {time.perf_counter() - self.t0:.0f} s · {eta}")

    def training_pool(self):
        """Processes for training (spawned: a fresh torch in each, no forked threads)."""
        return ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"))

    def run(self, run_notebook: Callable[[str], None]) -> None:
        """Train and run everything; a failed model stops the run (its error is raised), a failed notebook does not
        stop the others (`run_notebook` records it and raises)."""
        # glibc keeps freed memory in a training process: a CPU step 6–18 % faster (docs/performance.md); read at
        # process start-up, so set before the workers are spawned.
        os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(2**30))
        os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(2**31))
        print(f"[schedule] {self.n_models} model(s) to train at preset {self.ws.preset!r}, {self.n_notebooks} "
              f"notebook(s), {self.jobs} slot(s)", flush=True)
        running: dict[Future, tuple[str, object, float]] = {}
        with self.training_pool() as train_pool, ThreadPoolExecutor(self.jobs) as notebook_pool:
            while self.models or self.waiting or running:
                while len(running) < self.jobs and (self.ready() or self.models):
                    ready = self.ready()
                    if ready:
                        name = ready[0]
                        del self.waiting[name]
                        running[notebook_pool.submit(run_notebook, name)] = ("notebook", name, time.perf_counter())
                    else:
                        job = self.models.pop(0)
                        future = train_pool.submit(train_job, job, self.ws, self.threads)
                        running[future] = ("model", job, time.perf_counter())
                if not running:
                    raise RuntimeError(f"notebooks wait on models that are not scheduled: {sorted(self.waiting)}")
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    kind, what, started = running.pop(future)
                    seconds = time.perf_counter() - started
                    if kind == "model":
                        run_dir = Path(future.result())  # re-raises a worker's error with its traceback
                        self.done_models += 1
                        self.rates["model"].append((self.model_work[what], seconds))
                        for need in self.waiting.values():
                            need.discard(run_dir)
                        line = f"[train] {what} done in {seconds:.0f} s"
                    else:
                        self.done_notebooks += 1
                        self.rates["notebook"].append((registry.cost(what), seconds))
                        line = (f"[notebook] {what} done in {seconds:.0f} s" if future.exception() is None
                                else f"[notebook] {what} FAILED")
                    print(f"{line}\n{self.progress()}", flush=True)


__all__ = ["Schedule"]
