"""The table of figure notebooks, assembled from the figure modules: each declares its `NOTEBOOK` (the models
it loads, its seeds) beside its computation, its panels and the checks of its claims (`CHECKS`).

The pipeline (which models to train, which notebooks to run and in what order), the Slurm launcher, the report
and the tests read this table. A notebook's `cost` is measured, not typed: the seconds its last `laptop` run
took, which papermill recorded in the committed executed copy (`outputs/laptop/notebooks/<name>.ipynb`); the
pipeline starts the longest first. Adding a figure means a notebook, a module listed in `MODULES` and its
claims in `data/claims.yaml` (docs/layout.md, "How to add a figure").
"""
from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from . import config as C
from .figures import (explore, ext_conditions, ext_constant_drive, ext_hd_metrics, ext_score, ext_temperature,
                      ext_training_noise, fig1, fig2, fig3, figC1, figC2, figC3, figC4, figC5)
from .figures.base import NOTEBOOK_DIR, Model, Notebook, figure_name

# The figure modules, in the order of the index page and the report.
MODULES: tuple[ModuleType, ...] = (fig1, fig2, fig3, figC1, figC2, figC3, figC4, figC5, ext_temperature, ext_score,
                                   ext_hd_metrics, ext_training_noise, ext_constant_drive, ext_conditions, explore)
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


def cost(name: str, measured: Path = MEASURED) -> float:
    """Seconds of the notebook's last `laptop` run (papermill's `duration`); 0 where none was recorded."""
    try:
        return float(json.loads((measured / f"{name}.ipynb").read_text())["metadata"]["papermill"]["duration"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


__all__ = ["MODULES", "NOTEBOOKS", "NOTEBOOK_DIR", "Model", "Notebook", "notebook", "by_figure", "cost", "figure_name"]
