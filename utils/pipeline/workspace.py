"""What a run of the pipeline works on: a `Workspace`, and the `ModelJob`s that the notebooks need trained.

A `Workspace` is the preset, the outputs folder, the device and the model variant (the command line's
`--set`), which every step (training, a Slurm job, a notebook) needs together. A `ModelJob` is one network of
`utils.registry` at one seed; `config(ws)` resolves it as `FigureSettings.networks` does when a notebook loads
it, so the pipeline trains exactly the models the notebooks then find in the cache.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

import torch

from .. import config as C
from .. import registry
from ..cache import get_model, run_dir_for

Overrides = tuple[tuple[str, Any], ...]  # (field, value) pairs: hashable and picklable, unlike a dict


def format_overrides(overrides: Overrides) -> str:
    """` noise_std=0.00316228 recurrent_bias=False`: the overrides as a model's name shows them."""
    return "".join(f" {k}={v:g}" if isinstance(v, float) else f" {k}={v}" for k, v in overrides)


@dataclass(frozen=True)
class Workspace:
    """Where models are cached and results written, and how every model of a run is built and trained."""
    preset: str = C.DEFAULT_PRESET
    outputs_dir: str = "outputs"
    device: str = "cpu"
    overrides: Overrides = ()  # the command line's `--set` (a model variant), under every model's own

    @classmethod
    def of(cls, preset: str = C.DEFAULT_PRESET, outputs_dir: str | Path = "outputs", device: str = "cpu",
           overrides: dict[str, Any] | None = None) -> "Workspace":
        return cls(preset, str(outputs_dir), device, tuple((overrides or {}).items()))

    def override_dict(self) -> dict[str, Any]:
        return dict(self.overrides)

    @property
    def variant(self) -> str:
        """The name of the model variant the overrides select (`config.VARIANTS`); a ConfigError otherwise."""
        return C.variant_of(self.override_dict())

    def absolute(self) -> "Workspace":
        """The same workspace with an absolute outputs folder: a Slurm job need not start in this directory."""
        return replace(self, outputs_dir=str(Path(self.outputs_dir).resolve()))

    def run_dir(self, job: "ModelJob") -> Path:
        """The cache directory of `job`'s model (its hash covers every resolved config field)."""
        return run_dir_for(job.config(self), self.preset, self.outputs_dir)


@dataclass(frozen=True)
class ModelJob:
    """One model to train: a registry model (task, condition, the notebook's own overrides) at one seed."""
    task: str
    condition: str
    seed: int
    overrides: Overrides = ()  # sorted, as in `registry.Model`

    def config(self, ws: Workspace) -> C.RunConfig:
        """The resolved config: the workspace's variant first, the notebook's choices for this model last."""
        return C.resolve_config(self.task, self.condition, self.seed, ws.preset,
                                ws.override_dict() | dict(self.overrides))

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


def required_models(notebooks: Iterable[str], preset: str, seeds: tuple[int, ...] | None = None) -> list[ModelJob]:
    """Every model the notebooks need, each once, in the registry's order (models of the first notebook first,
    seeds innermost). A notebook with `seeds` needs only its first seeds; explicit `seeds` (a partial run,
    `--seeds`) are used for every notebook instead."""
    n_seeds = C.get_preset(preset).seeds
    wanted: dict[tuple, int] = {}  # model key -> how many seeds; a dict keeps the first-seen order
    for name in notebooks:
        row = registry.notebook(name)
        n = n_seeds if row.seeds is None else min(n_seeds, row.seeds)
        for model in row.models:
            wanted[model.key] = max(wanted.get(model.key, 0), n)
    return [ModelJob(task, condition, seed, overrides) for (task, condition, overrides), n in wanted.items()
            for seed in (range(n) if seeds is None else seeds)]


def train_job(job: ModelJob, ws: Workspace, threads: int) -> str:
    """Train one model (or find it in the cache) with `threads` torch threads; returns its run directory.
    The worker of both launchers (`grid`, `slurm`): a local process and a Slurm job run this same call."""
    torch.set_num_threads(threads)
    model = get_model(job.task, job.condition, job.seed, preset=ws.preset, outputs_dir=ws.outputs_dir,
                    device=ws.device, progress=False, **(ws.override_dict() | job.override_dict()))
    return str(model.run_dir)


__all__ = ["Workspace", "ModelJob", "select_notebooks", "required_models", "format_overrides", "train_job"]
