"""One queue for training and notebooks: each notebook starts as soon as the models it needs are trained.

`jobs` slots on this machine are shared by training processes and notebook kernels. The first notebook (Fig. 1)
goes first: its models are trained before any other, and it runs as soon as they are. After it, a free slot
takes whichever waiting task has the longest way to the end of the run (its "level"): a model's level is its
expected training time plus the longest notebook it unlocks, a notebook's is its own time. This is list
scheduling by highest level first: long models start early and a long notebook's models are not left for last, so
the run need not end later than training everything first (no guarantee, a heuristic). Replayed with the measured durations of a cold
`laptop` run on 2 slots (`benchmarks.schedule_replay`): Fig. 1's page after 6.3 min instead of 149.0, the
whole run in 152.9 min instead of 153.0.

After every model and notebook, one progress line: models and notebooks done, and the time left estimated from
the speed measured so far (models by their multiply-adds, `grid.training_cost`; notebooks by the seconds their
last `laptop` run took, `registry.cost`, scaled by how long those run here took against it).
"""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from .. import registry
from .grid import keep_freed_memory, missing_jobs, training_cost
from ..settings import RunSettings
from .jobs import ModelJob, required_models, train_job

# Seconds per multiply-add of a training run (`grid.training_cost`) in one single-threaded process on the 2-core
# CPU, the median over the 50 laptop models: what puts a model's level and a notebook's (seconds) on one scale.
SECONDS_PER_MULTIPLY_ADD = 1.7e-10


class Schedule:
    """The models `notebooks` need that are missing from the run's cache, and the notebooks, in `jobs` slots."""

    def __init__(self, notebooks: list[str], run: RunSettings, jobs: int, threads: int,
                 models: list[ModelJob] | None = None):
        """`models`: the models to train (default: those missing from the cache; `benchmarks.schedule_replay`
        passes all of them, to replay a cold run)."""
        self.run_settings, self.jobs, self.threads = run, jobs, threads
        models = missing_jobs(notebooks, run) if models is None else models
        missing = {job.run_dir(run) for job in models}
        self.waiting: dict[str, set[Path]] = {
            name: {job.run_dir(run) for job in required_models([name], run)} & missing
            for name in notebooks}
        self.first = notebooks[0] if notebooks else None
        # Measured seconds, read once: each is parsed from a committed executed notebook.
        self.notebook_work = {name: registry.cost(name) for name in notebooks}
        self.model_work = {job: training_cost(job.config(run)) for job in models}
        unlocks = {job: max(self.notebook_work[n] for n, need in self.waiting.items() if job.run_dir(run) in need)
                   for job in models}
        self.level = {job: (bool(self.first) and job.run_dir(run) in self.waiting[self.first],
                            self.model_work[job] * SECONDS_PER_MULTIPLY_ADD + unlocks[job]) for job in models}
        self.models: list[ModelJob] = sorted(models, key=self.level.get, reverse=True)  # stable: ties keep order
        self.n_models, self.n_notebooks = len(self.models), len(notebooks)
        self.t0 = time.perf_counter()
        # Per kind, (expected work, seconds) of every task that has ended: the speeds, and how many are done.
        self.rates: dict[str, list[tuple[float, float]]] = {"model": [], "notebook": []}

    def notebook_level(self, name: str) -> tuple[bool, float]:
        return name == self.first, self.notebook_work[name]

    def next_task(self) -> tuple[str, object] | None:
        """("notebook", name) or ("model", job): of the ready notebooks and the next model, the highest level."""
        ready = [n for n, need in self.waiting.items() if not need]
        candidates = [(self.notebook_level(n), "notebook", n) for n in ready]
        if self.models:
            candidates.append((self.level[self.models[0]], "model", self.models[0]))
        if not candidates:
            return None
        _, kind, what = max(candidates, key=lambda c: c[0])
        return kind, what

    def estimate(self, kind: str, what) -> float | None:
        """A task's expected seconds at the speed measured so far for its kind (None before any has ended)."""
        done = self.rates[kind]
        if not done or sum(e for e, _ in done) == 0:
            return None
        work = self.model_work[what] if kind == "model" else self.notebook_work[what]
        return work * sum(s for _, s in done) / sum(e for e, _ in done)

    def seconds_left(self, running: dict | None = None) -> float | None:
        """The work left over the slots at the speeds measured so far: the waiting tasks, and what the running
        ones are expected to need still (None until a task of each kind left has ended)."""
        now, left = time.perf_counter(), 0.0
        tasks = ([("model", j, now) for j in self.models] + [("notebook", n, now) for n in self.waiting]
                 + list((running or {}).values()))
        for kind, what, started in tasks:
            expected = self.estimate(kind, what)
            if expected is None:
                return None
            left += max(expected - (now - started), 0.0)
        return left / self.jobs

    def progress(self, running: dict | None = None) -> str:
        left = self.seconds_left(running)
        eta = "estimating the time left" if left is None else f"about {left / 60:.0f} min left"
        return (f"[progress] models {len(self.rates['model'])}/{self.n_models} · notebooks "
                f"{len(self.rates['notebook'])}/{self.n_notebooks} · {time.perf_counter() - self.t0:.0f} s · {eta}")

    def training_pool(self):
        """Processes for training (spawned: a fresh torch in each, no forked threads)."""
        return ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"))

    def run(self, run_notebook: Callable[[str], None]) -> None:
        """Train and run everything; a failed model stops the run (its error is raised), a failed notebook does not
        stop the others (`run_notebook` records it and raises)."""
        keep_freed_memory()
        print(f"[schedule] {self.n_models} model(s) to train at preset {self.run_settings.preset!r}, {self.n_notebooks} "
              f"notebook(s), {self.jobs} slot(s)", flush=True)
        running: dict[Future, tuple[str, object, float]] = {}
        with self.training_pool() as train_pool, ThreadPoolExecutor(self.jobs) as notebook_pool:
            while self.models or self.waiting or running:
                while len(running) < self.jobs and (task := self.next_task()) is not None:
                    kind, what = task
                    if kind == "notebook":
                        del self.waiting[what]
                        running[notebook_pool.submit(run_notebook, what)] = ("notebook", what, time.perf_counter())
                    else:
                        self.models.remove(what)
                        future = train_pool.submit(train_job, what, self.run_settings, self.threads)
                        running[future] = ("model", what, time.perf_counter())
                if not running:
                    raise RuntimeError(f"notebooks wait on models that are not scheduled: {sorted(self.waiting)}")
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    kind, what, started = running.pop(future)
                    seconds = time.perf_counter() - started
                    if kind == "model":
                        run_dir = Path(future.result())  # re-raises a worker's error with its traceback
                        self.rates["model"].append((self.model_work[what], seconds))
                        for need in self.waiting.values():
                            need.discard(run_dir)
                        line = f"[train] {what} done in {seconds:.0f} s"
                    else:
                        self.rates["notebook"].append((self.notebook_work[what], seconds))
                        line = (f"[notebook] {what} done in {seconds:.0f} s" if future.exception() is None
                                else f"[notebook] {what} FAILED")
                    print(f"{line}\n{self.progress(running)}", flush=True)


__all__ = ["Schedule"]
