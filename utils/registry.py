"""The one table of figure notebooks: the models each needs, its seeds, its cost.

The runner (which models to train, which notebooks to execute and in what order), the Slurm launcher, the
report, the figure modules (their model labels) and the tests all read this table. Adding a figure means a
notebook in `notebooks/`, a module in `utils/figures/`, a row here and its claims in `data/claims.yaml`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config as C

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


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
    name: str                       # `notebooks/<name>.ipynb`
    models: tuple[Model, ...]
    cost: float                     # seconds in a cold laptop `make figures`; only the order matters
    seeds: int | None = None        # the notebook uses only its first `seeds` seeds (None: the preset's)
    figure: str = field(default="")  # composed figure and results JSON name (default: `figure_name`)

    def __post_init__(self):
        if not self.figure:
            object.__setattr__(self, "figure", figure_name(self.name))

    @property
    def path(self) -> Path:
        return NOTEBOOK_DIR / f"{self.name}.ipynb"

    def labelled(self) -> dict[str, Model]:
        """label -> model, in the table's order (the notebook's panels and results use these labels)."""
        return {m.label: m for m in self.models}


def figure_name(notebook: str) -> str:
    """`fig1_spatial_reactivation` -> `fig1`, `ext_temperature` -> `ext_temperature`."""
    return notebook if notebook.startswith(("ext_", "explore")) else notebook.split("_")[0]


SP, HD = "spatial", "head_direction"
_SP_FOUR = tuple(Model.of(SP, c, label) for label, c in
                 (("U^σ", "noisy_unbiased"), ("U", "noiseless_unbiased"), ("B^σ", "noisy_biased"), ("B", "noiseless_biased")))
_HD_FOUR = tuple(Model.of(HD, m.condition, m.label) for m in _SP_FOUR)

# ext_training_noise: per-step noise variance σ²Δt = noise_std². "0" and "1e-4" are the noiseless_unbiased /
# noisy_unbiased networks of the figures; "uniform" is the released code's model: noise U[0, 1) · 0.01 (mean
# 0.005, variance 1e-4 / 12) and no bias, the "as released" row of ext_constant_drive.
_TRAINING_NOISE = (
    Model.of(SP, "noiseless_unbiased", "0"),
    Model.of(SP, "noisy_unbiased", "1e-5", noise_std=math.sqrt(1e-5)),
    Model.of(SP, "noisy_unbiased", "1e-4"),
    Model.of(SP, "noisy_unbiased", "1e-3", noise_std=math.sqrt(1e-3)),
    Model.of(SP, "noisy_unbiased", "uniform", noise_kind="uniform", recurrent_bias=False),
)

# ext_conditions: the map of conditions (SP noisy unbiased). Every row sets the bias and noise kind, so the map is
# the same networks under every model variant; rows that other notebooks train share their cache entries.
_CONDITIONS = (
    Model.of(SP, "noisy_unbiased", "default", recurrent_bias=True, noise_kind="gaussian"),
    Model.of(SP, "noisy_unbiased", "as written", recurrent_bias=False, noise_kind="gaussian"),
    Model.of(SP, "noisy_unbiased", "as released", recurrent_bias=False, noise_kind="uniform"),
    Model.of(SP, "noisy_unbiased", "σ²Δt 1e-5", recurrent_bias=True, noise_kind="gaussian", noise_std=math.sqrt(1e-5)),
    Model.of(SP, "noisy_unbiased", "σ²Δt 3e-4", recurrent_bias=True, noise_kind="gaussian", noise_std=math.sqrt(3e-4)),
    Model.of(SP, "noisy_unbiased", "σ²Δt 1e-3", recurrent_bias=True, noise_kind="gaussian", noise_std=math.sqrt(1e-3)),
    Model.of(SP, "noisy_unbiased", "300-step trials", recurrent_bias=True, noise_kind="gaussian", steps=300),
    Model.of(SP, "noisy_unbiased", "256 units", recurrent_bias=True, noise_kind="gaussian", n_rec=256),
)

_ROWS = (
    Notebook("fig1_spatial_reactivation", (Model.of(SP, "noisy_unbiased", "U^σ"),), cost=15),
    Notebook("fig2_biased_and_kl", _SP_FOUR, cost=52),
    Notebook("fig3_head_direction", (Model.of(HD, "noisy_unbiased", "U^σ"), Model.of(HD, "noisy_biased", "B^σ")),
             cost=13),
    Notebook("figC1_same_quiescent_noise", (Model.of(SP, "noisy_unbiased", "unbiased"),
                                            Model.of(SP, "noisy_biased", "biased")), cost=26),
    Notebook("figC2_gru", (Model.of(SP, "gru_noisy_unbiased", "unbiased"), Model.of(SP, "gru_noisy_biased", "biased")),
             cost=31),
    Notebook("figC3_noise_conditions", _SP_FOUR, cost=9),
    Notebook("figC4_step_distance", _SP_FOUR, cost=9),
    Notebook("figC5_hd_transitions", (Model.of(HD, "noisy_biased", "biased"), Model.of(HD, "noisy_unbiased", "unbiased")),
             cost=12),
    # Beyond the paper: each uses its first two seeds.
    Notebook("ext_temperature", (Model.of(SP, "noisy_unbiased", "SP U^σ"), Model.of(SP, "noisy_biased", "SP B^σ"),
                                 Model.of(HD, "noisy_unbiased", "HD U^σ")), cost=24, seeds=2),
    Notebook("ext_score", (Model.of(SP, "noisy_unbiased", "SP U^σ"), Model.of(SP, "noiseless_unbiased", "SP U"),
                           Model.of(HD, "noisy_unbiased", "HD U^σ"), Model.of(HD, "noiseless_unbiased", "HD U")),
             cost=15, seeds=2),
    Notebook("ext_hd_metrics", _HD_FOUR, cost=12, seeds=2),
    Notebook("ext_training_noise", _TRAINING_NOISE, cost=19, seeds=2),
    Notebook("ext_constant_drive", tuple(Model.of(task, "noisy_unbiased", f"{label}", **spec)
                                         for task in C.TASKS for label, spec in C.CONSTANT_DRIVE_MODELS.items()),
             cost=40, seeds=2),
    Notebook("ext_conditions", _CONDITIONS + (Model.of(HD, "noisy_unbiased", "HD U^σ"),), cost=120, seeds=2),
    Notebook("explore", (Model.of(SP, "noisy_unbiased", "U^σ"),), cost=8, seeds=1),
)
NOTEBOOKS: dict[str, Notebook] = {row.name: row for row in _ROWS}


def notebook(name: str) -> Notebook:
    try:
        return NOTEBOOKS[name]
    except KeyError:
        raise C.ConfigError(f"no notebook {name!r}; notebooks: {', '.join(NOTEBOOKS)}") from None


def by_figure(figure: str) -> Notebook:
    """The row whose composed figure / results JSON is `figure` (`fig1`, `ext_score`, ...)."""
    for row in _ROWS:
        if row.figure == figure:
            return row
    raise C.ConfigError(f"no notebook makes figure {figure!r}")
