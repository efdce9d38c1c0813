"""What every figure does around its analysis: settings, networks over seeds, results on disk, drawing.

The protocol of every figure module of `utils.figures`: it declares `NOTEBOOK` (a `Notebook`: its notebook, the
models it loads, its seeds; `utils.registry` gathers them), `compute(settings, ...)` loads those networks, runs
the analysis and returns a result object (a subclass of `Figure`) whose `panels()` draw the figure, `results()`
give the numbers behind the panels, and `summary()` a printable digest; and `CHECKS` holds the checks of its
claims (`utils.claims`).
A notebook is then: a `parameters` cell (`run`, the run's settings as one dict, and the analysis sizes) passed to
`FigureSettings.create` (validated, analysis sizes filled from the preset), `result = module.compute(settings)`, `result.show(settings)` (composed, saved, displayed),
`result.save(settings)` (`<outputs>/<result set>/results/<figure>.json`), and the claims.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import config as C
from ..settings import RunSettings
from ..training import resolve_device
from .. import plotting as P
from ..files import atomic_write_text
from ..cache import TrainedModel, get_model
from ..models import Network


NOTEBOOK_DIR = Path(__file__).resolve().parent.parent.parent / "notebooks"


@dataclass(frozen=True)
class Model:
    """One trained network a notebook loads (each of its seeds): task, condition, config overrides."""
    task: str
    condition: str
    overrides: tuple[tuple[str, Any], ...] = ()   # sorted (field, value) pairs, hashable
    label: str = ""                               # how the notebook's panels name it

    @classmethod
    def of(cls, task: str, condition: str, label: str = "", **overrides: Any) -> "Model":
        return cls(task, condition, tuple(sorted(overrides.items())), label)

    @property
    def key(self) -> tuple:
        """What identifies the model apart from its seed (two notebooks sharing a model share its training)."""
        return self.task, self.condition, self.overrides

    def override_dict(self) -> dict[str, Any]:
        return dict(self.overrides)


@dataclass(frozen=True)
class Notebook:
    """What a figure module declares (`NOTEBOOK`): its notebook, the models it loads, and how many seeds."""
    name: str                       # `notebooks/<name>.ipynb`
    models: tuple[Model, ...]
    seeds: int | None = None        # the notebook uses only its first `seeds` seeds (None: the preset's)
    figure: str = ""                # composed figure and results JSON name (default: `figure_name`)
    # Parameters the pipeline passes when it renders the notebook, beyond preset, outputs, device and variant
    # (the explorer writes its files only when the pipeline asks: exploring by hand writes nothing).
    render_parameters: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self):
        if not self.figure:
            object.__setattr__(self, "figure", figure_name(self.name))

    @property
    def path(self) -> Path:
        return NOTEBOOK_DIR / f"{self.name}.ipynb"

    def labelled(self) -> dict[str, Model]:
        """label -> model, in the declared order (the notebook's panels and results use these labels)."""
        return {m.label: m for m in self.models}


def figure_name(notebook: str) -> str:
    """`fig1_spatial_reactivation` -> `fig1`, `ext_temperature` -> `ext_temperature`."""
    return notebook if notebook.startswith(("ext_", "explore")) else notebook.split("_")[0]


SP, HD = "spatial", "head_direction"
# The four SP networks of Fig. 2 (and C.3, C.4), and the same four for HD: noisy or not, unbiased or biased.
SP_FOUR = tuple(Model.of(SP, c, label) for label, c in
                (("U^σ", "noisy_unbiased"), ("U", "noiseless_unbiased"), ("B^σ", "noisy_biased"), ("B", "noiseless_biased")))
HD_FOUR = tuple(Model.of(HD, m.condition, m.label) for m in SP_FOUR)


@dataclass(frozen=True)
class FigureSettings:
    """What a notebook works with: the run's settings, the seeds its figure analyses, and the analysis sizes."""
    run: RunSettings
    seeds: tuple[int, ...]
    analysis: C.AnalysisConfig

    @classmethod
    def create(cls, run: Any, notebook: "Notebook | None" = None, **analysis_sizes: Any) -> "FigureSettings":
        """Validate a notebook's parameters: `run` (a dict with exactly `RunSettings`' keys, or one), the
        analysis sizes (`None`: the preset's). The seeds are the run's (a partial run), else the preset's, at
        most the `notebook`'s declared number."""
        run = RunSettings.from_parameter(run)
        resolve_device(run.device)   # the kernel runs here: the device must be present
        p = C.get_preset(run.preset)
        n_seeds = p.seeds if notebook is None or notebook.seeds is None else min(p.seeds, notebook.seeds)
        seeds = run.seeds if run.seeds is not None else tuple(range(n_seeds))
        known = {f.name for f in dataclasses.fields(C.AnalysisConfig)}
        unknown = set(analysis_sizes) - known
        if unknown:
            raise C.ConfigError(f"unknown analysis size(s) {sorted(unknown)}; valid: {sorted(known)}")
        sizes = {k: v for k, v in analysis_sizes.items() if v is not None}
        for k, v in sizes.items():
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise C.ConfigError(f"{k} must be a positive integer, got {v!r}")
        if run.threads is not None:
            import torch
            torch.set_num_threads(run.threads)
        return cls(run, seeds, dataclasses.replace(p.analysis, **sizes))

    @property
    def preset(self) -> str:
        return self.run.preset

    @property
    def device(self) -> str:
        return self.run.device

    @property
    def variant(self) -> str:
        return self.run.variant

    @property
    def outputs_dir(self) -> Path:
        return Path(self.run.outputs_dir)

    def model_overrides(self, **overrides) -> dict[str, Any]:
        """The variant's config overrides, then the caller's (a notebook's own model choices win)."""
        return self.run.overrides | overrides

    def trained(self, task: str, condition: str, **overrides) -> list[TrainedModel]:
        """The trained models of one condition, one per seed (trained now if missing). Models of every variant
        share the preset's cache (`outputs/<preset>/models/`); their config hashes keep them apart."""
        return [get_model(task, condition, s, self.preset, self.outputs_dir, self.device,
                          **self.model_overrides(**overrides)) for s in self.seeds]

    def networks(self, task: str, condition: str, **overrides) -> list[Network]:
        """The networks of `trained`, one per seed."""
        return [m.net for m in self.trained(task, condition, **overrides)]

    def trained_of(self, model: Model) -> list[TrainedModel]:
        """The trained models of one registry model, for every seed of this notebook."""
        return self.trained(model.task, model.condition, **model.override_dict())

    def seeded(self, model: Model) -> list[tuple[int, Network]]:
        """(seed, network) of one registry model, for every seed of this notebook."""
        return [(m.seed, m.net) for m in self.trained_of(model)]

    @property
    def result_set(self) -> str:
        """Where this notebook's figures and results go: `outputs/<preset>[-seed<…>][-<variant>]/`."""
        return self.run.result_set

    @property
    def figures_dir(self) -> Path:
        return self.outputs_dir / self.result_set / "figures"


def share_beyond(values: np.ndarray, limits: tuple[float, float]) -> float:
    """The fraction of `values` outside the closed interval `limits` (what a panel with the paper's axis hides)."""
    v = np.asarray(values, dtype=float).ravel()
    return float(np.mean((v < limits[0]) | (v > limits[1])))


def _jsonable(x: Any) -> Any:
    """numpy/torch values and NaN-free floats to plain JSON."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def per_seed_and_mean(values: dict[int, Any]) -> dict[str, Any]:
    """{seed: value} -> {"per_seed": {...}, "mean": ..., "sd": ...} (elementwise for arrays).

    The sd is the sample sd across seeds (ddof = 1, 0 for one seed), as the figures' error bars."""
    arr = np.asarray([np.asarray(v, dtype=float) for v in values.values()])
    sd = arr.std(0, ddof=1) if len(arr) > 1 else np.zeros_like(arr.mean(0))
    return {"per_seed": {str(k): v for k, v in values.items()}, "mean": arr.mean(0), "sd": sd}


def write_results(name: str, results: dict[str, Any], settings: FigureSettings) -> Path:
    """Write `<outputs>/<result set>/results/<name>.json` atomically, with the settings that made it."""
    path = settings.outputs_dir / settings.result_set / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"figure": name, "preset": settings.preset, "variant": settings.variant, "seeds": list(settings.seeds),
               "analysis": dataclasses.asdict(settings.analysis), "results": results}
    return atomic_write_text(path, json.dumps(_jsonable(payload), indent=1))  # temporary file, then rename


def read_results(name: str, result_set: str, outputs_dir: str | Path = "outputs") -> dict[str, Any] | None:
    """A figure's results JSON from `<outputs>/<result set>/results/` (`result_set` as `config.result_set`)."""
    path = Path(outputs_dir) / result_set / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


class Figure:
    """Base of every figure's result object. A subclass sets `name` (the composed figure's and results JSON's
    name), `layout` (a `plotting.panel_grid` mosaic) and `figure_kw` (size, ratios, ...), and defines
    `panels()` (mosaic key -> drawing function of an axes), `results()` and `summary()`. The three attributes
    are not defaulted here: a dataclass subclass may declare them as fields (one class, several figures)."""
    name: str
    layout: Any
    figure_kw: dict[str, Any]

    def panels(self) -> dict[str, Callable]:
        raise NotImplementedError

    def results(self) -> dict[str, Any]:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    def compose(self, settings: FigureSettings):
        """Draw and save the figure (`<name>.png/.pdf`, and `<name>_<key>` per panel); returns it open."""
        return P.compose_figure(self.panels(), self.layout, self.name, settings.outputs_dir, settings.result_set,
                                **self.figure_kw)

    def show(self, settings: FigureSettings):
        """Compose and save the figure, close it, and return the saved PNG for display: an executed notebook
        shows exactly the saved figure, once, whatever the matplotlib backend (papermill runs with Agg)."""
        import matplotlib.pyplot as plt
        from IPython.display import Image

        plt.close(self.compose(settings))
        return Image(filename=str(settings.figures_dir / f"{self.name}.png"), width=900)

    def save(self, settings: FigureSettings) -> Path:
        """Write `results()` to `<outputs>/<result set>/results/<name>.json`."""
        return write_results(self.name, self.results(), settings)
