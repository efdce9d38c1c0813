"""One run's settings: made and validated once (at the command line, or from a notebook's `run` parameter), then
handed down unchanged to the grid, the Slurm jobs, every notebook and the report.

A notebook receives them as one parameter, `run`, a plain dict with exactly the keys of `RunSettings` (papermill
can pass only literals); `RunSettings.from_parameter` rejects a missing or unknown key by name, so a notebook can
neither drop a setting nor be handed one it does not read, and every result lands in the set the run names.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import config as C

Overrides = tuple[tuple[str, Any], ...]  # (field, value) pairs: hashable and picklable, unlike a dict


def format_overrides(overrides: Overrides) -> str:
    """` noise_std=0.00316228 recurrent_bias=False`: overrides as a model's name shows them."""
    return "".join(f" {k}={v:g}" if isinstance(v, float) else f" {k}={v}" for k, v in overrides)


@dataclass(frozen=True)
class RunSettings:
    """Where models are cached and results written, and how every model of the run is built and trained."""
    preset: str = C.DEFAULT_PRESET
    variant: str = "default"                # a model variant (config.VARIANTS): its overrides apply to every model
    seeds: tuple[int, ...] | None = None    # a partial run on these seeds (own result set); None: the preset's
    outputs_dir: str = "outputs"            # root of the model cache and of every result set
    device: str = "cpu"                     # cpu, cuda, mps or auto (checked for presence where it runs)
    threads: int | None = None              # torch threads per process (None: torch's default / the grid's share)

    def __post_init__(self):
        C.get_preset(self.preset)                       # a ConfigError naming the presets
        C.check_choice("variant", self.variant, C.VARIANTS)
        if self.seeds is not None:
            seeds = self.seeds
            if isinstance(seeds, (str, bytes, int)) or not hasattr(seeds, "__iter__"):
                raise C.ConfigError(f"seeds must be a list of seeds or None, got {seeds!r}")
            seeds = tuple(C.check_seed(s) for s in seeds)
            if not seeds or len(set(seeds)) != len(seeds):
                raise C.ConfigError(f"seeds must name distinct seeds, got {list(seeds)}")
            object.__setattr__(self, "seeds", seeds)
        if not isinstance(self.outputs_dir, (str, os.PathLike)):
            raise C.ConfigError(f"outputs_dir must be a path, got {self.outputs_dir!r}")
        object.__setattr__(self, "outputs_dir", str(self.outputs_dir))
        if str(self.device).split(":")[0] not in ("cpu", "cuda", "mps", "auto"):   # availability: where it runs
            raise C.ConfigError(f"unknown device {self.device!r}; choose cpu, cuda or auto")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise C.ConfigError(f"threads must be a positive integer or None, got {self.threads!r}")

    @classmethod
    def with_overrides(cls, overrides: dict[str, Any] | None = None, **fields: Any) -> "RunSettings":
        """From the command line's `--set` pairs, which may only select a variant (a ConfigError otherwise)."""
        return cls(variant=C.variant_of(overrides), **fields)

    # --- the notebook parameter -------------------------------------------------------------------------------
    def to_parameter(self, relative_to: str | Path | None = None) -> dict[str, Any]:
        """The dict a notebook receives as `run`; `outputs_dir` relative to `relative_to` (where its kernel
        runs), so that an executed copy carries no path of this machine."""
        d = dataclasses.asdict(self)
        d["seeds"] = None if self.seeds is None else list(self.seeds)
        if relative_to is not None:
            d["outputs_dir"] = os.path.relpath(Path(self.outputs_dir).resolve(), Path(relative_to).resolve())
        return d

    @classmethod
    def from_parameter(cls, run: Any) -> "RunSettings":
        """A notebook's `run` parameter, validated: exactly the keys of `RunSettings`, each named when missing
        or unknown."""
        if isinstance(run, RunSettings):
            return run
        if not isinstance(run, dict):
            raise C.ConfigError(f"run must be a dict of run settings, got {run!r}")
        known = [f.name for f in dataclasses.fields(cls)]
        missing, unknown = [k for k in known if k not in run], sorted(set(run) - set(known))
        if missing or unknown:
            raise C.ConfigError("run settings: " + "; ".join(
                ([f"missing {', '.join(map(repr, missing))}"] if missing else [])
                + ([f"unknown {', '.join(map(repr, unknown))}"] if unknown else []))
                + f" (the settings are {', '.join(known)})")
        return cls(**run)

    # --- what the settings decide ------------------------------------------------------------------------------
    @property
    def overrides(self) -> dict[str, Any]:
        """The variant's config overrides, under every model's own."""
        return dict(C.VARIANTS[self.variant])

    @property
    def result_set(self) -> str:
        """`laptop`, `laptop-as-written`, `paper-seed0`, ...: the folder under `outputs_dir` of this run's results."""
        return C.result_set(self.preset, self.variant, self.seeds)

    @property
    def result_dir(self) -> Path:
        return Path(self.outputs_dir) / self.result_set

    def absolute(self) -> "RunSettings":
        """The same settings with an absolute outputs folder: a Slurm job need not start in this directory."""
        return replace(self, outputs_dir=str(Path(self.outputs_dir).resolve()))


__all__ = ["RunSettings", "Overrides", "format_overrides"]
