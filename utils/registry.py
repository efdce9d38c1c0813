"""The table of figure notebooks, assembled from the figure modules: each declares its `NOTEBOOK` (the models
it loads, its seeds) beside its computation, its panels and the checks of its claims (`CHECKS`).

The pipeline (which models to train, which notebooks to run and in what order), the Slurm launcher, the report
and the tests read this table. A notebook's `cost` is measured, not typed: the seconds its last `laptop` run
took, which papermill recorded in the committed executed copy (`outputs/laptop/notebooks/<name>.ipynb`); the
pipeline starts the longest first. Adding a figure means a module in `utils/figures/` (found here by itself), its
notebook and its claims in `data/claims.yaml`: `make figure NAME=ext_…` writes all three (docs/layout.md).
"""
from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from types import ModuleType

from . import config as C
from . import figures
from .figures.base import NOTEBOOK_DIR, Model, Notebook, figure_name


def reading_order(module: ModuleType) -> tuple:
    """The paper's figures in its order (Fig. 1–3, then Suppl. C.1–C.5), then our extensions by name, the
    explorer last: the order of the index page and the report."""
    name = module.NOTEBOOK.figure
    kind = 0 if name.startswith("fig") and not name.startswith("figC") else 1 if name.startswith("figC") else \
        3 if name == "explore" else 2
    return kind, name


def discover() -> tuple[ModuleType, ...]:
    """Every module of `utils.figures` that declares a `NOTEBOOK`, in reading order: adding a figure is adding
    its module (and its notebook and claims), never editing a list."""
    found = []
    for info in pkgutil.iter_modules(figures.__path__):
        module = importlib.import_module(f"{figures.__name__}.{info.name}")
        if hasattr(module, "NOTEBOOK"):
            found.append(module)
    return tuple(sorted(found, key=reading_order))


MODULES: tuple[ModuleType, ...] = discover()
NOTEBOOKS: dict[str, Notebook] = {m.NOTEBOOK.name: m.NOTEBOOK for m in MODULES}

# Where the measured costs are read: the committed executed notebooks of the laptop result set.
MEASURED = Path(__file__).resolve().parent.parent / "outputs" / "laptop" / "notebooks"


def notebook(name: str) -> Notebook:
    try:
        return NOTEBOOKS[name]
    except KeyError:
        raise C.ConfigError(f"no notebook {name!r}; notebooks: {', '.join(NOTEBOOKS)}") from None


def by_figure(figure: str) -> Notebook:
    """The notebook whose composed figure / results JSON is `figure` (`fig1`, `ext_score`, ...)."""
    for row in NOTEBOOKS.values():
        if row.figure == figure:
            return row
    raise C.ConfigError(f"no notebook makes figure {figure!r}")


def results_type(figure: str) -> type | None:
    """The `Results` class a figure's JSON is read back as (its module's `RESULTS`; None: the parsed dict)."""
    return next((getattr(m, "RESULTS", None) for m in MODULES if m.NOTEBOOK.figure == figure), None)


def cost(name: str, measured: Path = MEASURED) -> float:
    """Seconds of the notebook's last `laptop` run (papermill's `duration`); 0 where none was recorded."""
    try:
        return float(json.loads((measured / f"{name}.ipynb").read_text())["metadata"]["papermill"]["duration"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


__all__ = ["MODULES", "NOTEBOOKS", "NOTEBOOK_DIR", "Model", "Notebook", "notebook", "by_figure", "results_type", "cost",
           "figure_name", "reading_order", "discover"]
