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
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Callable, ClassVar, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

import numpy as np

from .. import config as C
from ..settings import RunSettings
from ..training import resolve_device
from .. import legibility
from .. import plotting as P
from ..files import atomic_write, atomic_write_text
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
    # Parameters of the notebook beyond `run` and the analysis sizes (the explorer's starting view)
    controls: tuple[str, ...] = ()

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
    if isinstance(x, Results):   # a nested part with its own layout
        return x.to_json()
    if dataclasses.is_dataclass(x) and not isinstance(x, type):   # PerSeed, a nested part of a Results
        return {f.name: _jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
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


T = TypeVar("T")


@dataclass
class PerSeed(Generic[T]):
    """One measured quantity of a figure: its value per seed (keyed by the seed as text, as in the JSON), the
    mean and the sample sd over seeds (elementwise for arrays; sd 0 for one seed)."""
    per_seed: dict[str, T]
    mean: Any
    sd: Any

    @classmethod
    def of(cls, values: dict[int, T]) -> "PerSeed[T]":
        d = per_seed_and_mean(values)
        return cls(d["per_seed"], d["mean"], d["sd"])

    def seed_mean(self) -> float:
        """The mean over seeds of a scalar quantity, from the per-seed values as stored."""
        return float(np.mean([float(v) for v in self.per_seed.values()]))

    def nan_mean(self) -> np.ndarray:
        """The mean over seeds, elementwise for curves, a missing value (NaN; null in the JSON) ignored; NaN where
        every seed's is missing (0-d for a scalar quantity)."""
        rows = np.array([np.asarray(v, dtype=float) for v in self.per_seed.values()])
        with warnings.catch_warnings():   # an entry missing on every seed stays NaN, silently
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(rows, axis=0)


def _from_json(tp: Any, value: Any) -> Any:
    """`value` (parsed JSON) as the annotated type `tp`: dataclasses field by field, dicts, lists and tuples
    element by element, `X | None`, floats (JSON null is NaN, as `_jsonable` writes it); anything else as is."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, UnionType):
        if value is None and type(None) in args:
            return None
        (tp,) = [a for a in args if a is not type(None)][:1] or (Any,)
        origin, args = get_origin(tp), get_args(tp)
    if tp is float:
        return math.nan if value is None else float(value)
    if value is None:
        return None
    if dataclasses.is_dataclass(origin or tp):
        cls = origin or tp
        hints = get_type_hints(cls)
        if origin is not None:   # a generic dataclass (PerSeed[float]): its type variable is the argument
            params = dict(zip(cls.__parameters__, args))
            hints = {k: _substitute(v, params) for k, v in hints.items()}
        given = {f.name: _from_json(hints[f.name], value[f.name]) for f in dataclasses.fields(cls)
                 if f.init and f.name in value}
        return cls(**given)
    if origin is dict:
        return {k: _from_json(args[1], v) for k, v in value.items()}
    if origin is list:
        return [_from_json(args[0], v) for v in value]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(args[0], v) for v in value)
        return tuple(_from_json(t, v) for t, v in zip(args, value))
    return value


def _substitute(tp: Any, params: dict) -> Any:
    """`tp` with the type variables of `params` replaced (PerSeed[float]'s `dict[str, T]` -> `dict[str, float]`)."""
    if isinstance(tp, TypeVar):
        return params.get(tp, Any)
    origin, args = get_origin(tp), get_args(tp)
    if not args:
        return tp
    new = tuple(_substitute(a, params) for a in args)
    return Union[new] if origin in (Union, UnionType) else origin[new]


class Results:
    """Base of a figure's typed results: a dataclass whose fields are the keys of its results JSON. The figure
    writes it (`Figure.save`), the report reads it back as the same class (`read_results`) and the figure's
    checks take it, so a number is read by attribute, with its type, a few calls from where it was computed."""

    # Fields left out of the JSON while None (a part only some rows have); every other field is always written.
    omitted_when_none: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> dict[str, Any]:
        return _jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                          if not (f.name in self.omitted_when_none and getattr(self, f.name) is None)})

    @classmethod
    def from_json(cls, data: dict[str, Any]):
        """The results as written; a field a check needs and the file lacks is a TypeError naming it."""
        return _from_json(cls, data)


@dataclass
class KLTable(Results):
    """Results that hold a KL matrix per seed: rows the active networks, columns the quiescent sources (Fig. 2e,
    and its HD counterpart)."""
    kl_rows: list[str]
    kl_cols: list[str]
    kl_matrix: PerSeed[list[list[float]]]    # KL(quiescent column ‖ active row), nats

    def kl(self, row: str, col: str) -> tuple[float, dict[str, float]]:
        """Mean over seeds and per-seed values of the entry (active `row`, quiescent `col`)."""
        i, j = self.kl_rows.index(row), self.kl_cols.index(col)
        per_seed = {s: float(m[i][j]) for s, m in self.kl_matrix.per_seed.items()}
        return float(np.mean(list(per_seed.values()))), per_seed


@dataclass
class Stored:
    """A results JSON as read back: the run it came from, and the figure's results (typed where asked for, else
    the parsed dict)."""
    figure: str
    preset: str
    variant: str
    seeds: list[int]
    analysis: dict[str, Any]
    results: Any


def write_results(name: str, results: Any, settings: FigureSettings) -> Path:
    """Write `<outputs>/<result set>/results/<name>.json` atomically, with the settings that made it."""
    path = settings.outputs_dir / settings.result_set / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(results, Results):
        results = results.to_json()
    payload = {"figure": name, "preset": settings.preset, "variant": settings.variant, "seeds": list(settings.seeds),
               "analysis": dataclasses.asdict(settings.analysis), "results": results}
    return atomic_write_text(path, json.dumps(_jsonable(payload), indent=1))  # temporary file, then rename


def read_results(name: str, result_set: str, outputs_dir: str | Path = "outputs",
                 as_type: type | None = None) -> Stored | None:
    """A figure's results JSON from `<outputs>/<result set>/results/` (None where the figure has not run), its
    results as `as_type` (a `Results` subclass) where given, else as parsed (the report converts them itself,
    where a file a check cannot read is an error row)."""
    path = Path(outputs_dir) / result_set / "results" / f"{name}.json"
    if not path.exists():
        return None
    d = json.loads(path.read_text())
    results = d["results"] if as_type is None else as_type.from_json(d["results"])
    return Stored(d["figure"], d["preset"], d["variant"], d["seeds"], d["analysis"], results)


def save_figure(fig, folder: Path, name: str) -> Path:
    """Write `<folder>/<name>.png` (300 dpi) and `.pdf`; return the PNG path.

    Each file is written atomically (`files.atomic_write`), so a reader never sees half a file. PDFs carry no
    creation date and PNGs no software tag, so re-running gives identical bytes."""
    if not name or os.sep in name or "/" in name:
        raise ValueError(f"figure name must be a plain file stem, got {name!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for ext, metadata in (("png", {"Software": None}), ("pdf", {"CreationDate": None})):
        atomic_write(folder / f"{name}.{ext}", lambda f: fig.savefig(f, format=ext, dpi=P.DPI, metadata=metadata))
    return folder / f"{name}.png"


def write_figure(panels: dict[str, Callable], layout, name: str, folder: Path, save_panels: bool = True,
                 panel_sizes: dict[str, tuple[float, float]] | None = None, polar=(), **figure_kw):
    """Compose `panels` (`plotting.compose_figure`), save the figure as `name` and, with `save_panels`, each panel
    drawn on its own as `<name>_<key>` at the size of its cell (or `panel_sizes[key]`); the figure, left open."""
    import matplotlib.pyplot as plt
    fig, axes = P.compose_figure(panels, layout, polar=polar, **figure_kw)
    for problem in legibility.problems(fig):   # in the executed notebook, and a failure of the test suite
        warnings.warn(f"{name}: {problem}", legibility.LegibilityWarning, stacklevel=2)
    save_figure(fig, folder, name)
    if save_panels:
        sizes = {k: v for k, v in P.cell_sizes(axes).items() if k in panels} | dict(panel_sizes or {})
        for key, draw in panels.items():
            single = P.draw_panel(draw, sizes[key], polar=key in polar)
            try:
                save_figure(single, folder, f"{name}_{key}")
            finally:
                plt.close(single)
    return fig


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
        return write_figure(self.panels(), self.layout, self.name, settings.figures_dir, **self.figure_kw)

    def show(self, settings: FigureSettings):
        """Compose and save the figure, close it, and return the saved PNG for display: an executed notebook
        shows exactly the saved figure, once, whatever the matplotlib backend (papermill runs with Agg)."""
        import matplotlib.pyplot as plt
        from IPython.display import Image

        plt.close(self.compose(settings))
        return Image(filename=str(settings.figures_dir / f"{self.name}.png"), width=900)

    def save(self, settings: FigureSettings) -> Path:
        """Write `results()` (a `Results`, or a dict) to `<outputs>/<result set>/results/<name>.json`."""
        return write_results(self.name, self.results(), settings)
