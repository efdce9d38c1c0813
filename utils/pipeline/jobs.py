"""The `ModelJob`s that the notebooks of a run need trained.

A `ModelJob` is one network of `utils.registry` at one seed; `config(run)` resolves it under the run's settings
(`utils.settings.RunSettings`) as `FigureSettings.trained_of` does when a notebook loads it, so the pipeline
trains exactly the models the notebooks then find in the cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import torch

from .. import config as C
from .. import registry
from ..cache import get_model, run_dir_for
from ..settings import Overrides, RunSettings, format_overrides


@dataclass(frozen=True)
class ModelJob:
    """One model to train: a registry model (task, condition, the notebook's own overrides) at one seed."""
    task: str
    condition: str
    seed: int
    overrides: Overrides = ()  # sorted, as in `registry.Model`

    def config(self, run: RunSettings) -> C.RunConfig:
        """The resolved config: the run's variant first, the notebook's choices for this model last."""
        return C.resolve_config(self.task, self.condition, self.seed, run.preset, run.overrides | dict(self.overrides))

    def run_dir(self, run: RunSettings) -> Path:
        """The cache directory of this model (its hash covers every resolved config field)."""
        return run_dir_for(self.config(run), run.preset, run.outputs_dir)

    def override_dict(self) -> dict[str, Any]:
        return dict(self.overrides)

    def __str__(self) -> str:
        """`spatial/noisy_unbiased/seed1 noise_std=0.00316228`: distinct for models that differ only in their
        overrides (the progress lines, a failed Slurm job and the Slurm job table name a model so)."""
        return f"{self.task}/{self.condition}/seed{self.seed}{format_overrides(self.overrides)}"


def select_notebooks(only: str | None) -> list[str]:
    """Notebooks that exist, filtered by comma-separated names or prefixes (`fig1,figC`)."""
    present = [name for name, row in registry.NOTEBOOKS.items() if row.path.exists()]
    if not only:
        return present
    wanted = [w.strip().removesuffix(".ipynb") for w in only.split(",") if w.strip()]
    chosen = [n for n in present if any(n.startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(n.startswith(w) for n in present)]
    if unknown:
        raise C.ConfigError(f"no notebook matches {', '.join(unknown)}; notebooks: {', '.join(present)}")
    return chosen


def required_models(notebooks: Iterable[str], run: RunSettings) -> list[ModelJob]:
    """Every model the notebooks need, each once, in the registry's order (models of the first notebook first,
    seeds innermost). A notebook with `seeds` needs only its first seeds; the run's explicit seeds (a partial
    run, `--seeds`) are used for every notebook instead."""
    n_seeds, seeds = C.get_preset(run.preset).seeds, run.seeds
    wanted: dict[tuple, int] = {}  # model key -> how many seeds; a dict keeps the first-seen order
    for name in notebooks:
        row = registry.notebook(name)
        n = n_seeds if row.seeds is None else min(n_seeds, row.seeds)
        for model in row.models:
            wanted[model.key] = max(wanted.get(model.key, 0), n)
    return [ModelJob(task, condition, seed, overrides) for (task, condition, overrides), n in wanted.items()
            for seed in (range(n) if seeds is None else seeds)]


def train_job(job: ModelJob, run: RunSettings, threads: int) -> str:
    """Train one model (or find it in the cache) with `threads` torch threads; returns its run directory.
    The worker of both launchers (`grid`, `slurm`): a local process and a Slurm job run this same call."""
    torch.set_num_threads(threads)
    model = get_model(job.task, job.condition, job.seed, preset=run.preset, outputs_dir=run.outputs_dir,
                      device=run.device, progress=False, **(run.overrides | job.override_dict()))
    return str(model.run_dir)


__all__ = ["ModelJob", "select_notebooks", "required_models", "train_job"]
