"""Replay a cold `figures` run on `jobs` slots with the durations measured in a warm cache: each model's training
time (`timing.json`) and each notebook's (papermill's `duration` in the committed `laptop` copies), against two
orders: the schedule's (`utils.pipeline.schedule`: Fig. 1 first, then highest level first, notebooks as their
models arrive) and training everything first (longest first), then the notebooks (slowest first).

    python -m benchmarks.schedule_replay [--preset laptop] [--outputs outputs] [--jobs 2]

The measured durations carry the load of the machine when each model was trained; the replay compares orders, not
machines.
"""
from __future__ import annotations

import argparse
import heapq
import json

from utils import registry
from utils.pipeline.grid import training_cost
from utils.pipeline.schedule import Schedule
from utils.pipeline.jobs import required_models, select_notebooks
from utils.settings import RunSettings


def measured(run: RunSettings) -> tuple[list, dict, dict]:
    """Every model the notebooks need (each once), its measured training seconds, and each notebook's seconds."""
    notebooks = select_notebooks(None)
    jobs, seen = [], set()
    for job in required_models(notebooks, run):
        if job.run_dir(run) not in seen:
            seen.add(job.run_dir(run))
            jobs.append(job)
    model_s = {job: json.loads((job.run_dir(run) / "timing.json").read_text())["seconds_this_run"] for job in jobs}
    return jobs, model_s, {n: registry.cost(n) for n in notebooks}


def replay_schedule(run: RunSettings, jobs_all: list, model_s: dict, notebook_s: dict, slots: int) -> tuple[float, float]:
    """(seconds until Fig. 1's notebook ends, seconds until the last task ends) under `Schedule.next_task`."""
    plan = Schedule(list(notebook_s), run, slots, 1, models=list(jobs_all))
    now, running, ended, tie = 0.0, [], {}, 0
    while plan.models or plan.waiting or running:
        while len(running) < slots and (task := plan.next_task()) is not None:
            kind, what = task
            if kind == "notebook":
                del plan.waiting[what]
                seconds = notebook_s[what]
            else:
                plan.models.remove(what)
                seconds = model_s[what]
            tie += 1
            heapq.heappush(running, (now + seconds, tie, kind, what))
        now, _, kind, what = heapq.heappop(running)
        if kind == "model":
            for need in plan.waiting.values():
                need.discard(what.run_dir(run))
        else:
            ended[what] = now
    return ended[plan.first], now


def replay_train_first(run: RunSettings, jobs_all: list, model_s: dict, notebook_s: dict, slots: int,
                       first: str) -> tuple[float, float]:
    """The same for training every model first (longest first), then every notebook (slowest first)."""
    free = [0.0] * slots
    for job in sorted(jobs_all, key=lambda j: training_cost(j.config(run)), reverse=True):
        i = free.index(min(free))
        free[i] += model_s[job]
    free = [max(free)] * slots
    ended = {}
    for name in sorted(notebook_s, key=notebook_s.get, reverse=True):
        i = free.index(min(free))
        free[i] += notebook_s[name]
        ended[name] = free[i]
    return ended[first], max(free)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.schedule_replay", description=__doc__)
    parser.add_argument("--preset", default="laptop")
    parser.add_argument("--outputs", default="outputs")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    run = RunSettings(args.preset, outputs_dir=args.outputs)
    jobs_all, model_s, notebook_s = measured(run)
    first = next(iter(notebook_s))
    print(f"{len(jobs_all)} models ({sum(model_s.values()) / 60:.0f} min of training as measured), "
          f"{len(notebook_s)} notebooks ({sum(notebook_s.values()) / 60:.1f} min), {args.jobs} slots")
    for name, (fig1, total) in (("train first, then notebooks", replay_train_first(run, jobs_all, model_s, notebook_s,
                                                                                   args.jobs, first)),
                                ("schedule", replay_schedule(run, jobs_all, model_s, notebook_s, args.jobs))):
        print(f"{name:>28}: {first} ends at {fig1 / 60:5.1f} min, the run at {total / 60:5.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
