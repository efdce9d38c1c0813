"""The networks and quiescences of the map: which trained conditions (`TRAINED_ROWS`, each an unbiased network
and its biased twin), which quiescences of the default networks (`QUIESCENT_ROWS`), which HD rows."""
from __future__ import annotations

import math
from typing import Any, Callable

from ... import quiescence as Q
from ..base import HD, SP, Model, Notebook

DEFAULT = {"recurrent_bias": True, "noise_kind": "gaussian"}   # every row sets both: the same networks in every variant
# Trained conditions: label -> config overrides (each trained unbiased and biased).
TRAINED_ROWS: dict[str, dict[str, Any]] = {
    "default": DEFAULT,
    "as written": {"recurrent_bias": False, "noise_kind": "gaussian"},
    "flat occupancy": DEFAULT | {"wall_margin": 0.1, "wall_slowdown": 1.0},  # no slowing at the walls
    "leak Δt/τ 0.5": DEFAULT | {"dt_over_tau": 0.5},                         # τ = 40 ms instead of 100 ms
    "momentum μ 0.5": DEFAULT | {"momentum": 0.5},                           # second order (underdamped)
    "σ²Δt 3e-4": DEFAULT | {"noise_std": math.sqrt(3e-4)},                  # 3 × the paper's training noise
    "256 units": DEFAULT | {"n_rec": 256},
}
BIASED = ", biased"   # a biased network's model label: its row's label + this


def _models() -> tuple[Model, ...]:
    sp = tuple(Model.of(SP, cond, label + (BIASED if cond == "noisy_biased" else ""), **over)
               for label, over in TRAINED_ROWS.items() for cond in ("noisy_unbiased", "noisy_biased"))
    return sp + (Model.of(HD, "noisy_unbiased", "HD U^σ"),)


NOTEBOOK = Notebook("ext_conditions", _models(), seeds=3)

# Quiescences of the default networks: label -> a protocol, given the network's sharpening factor k.
QUIESCENT_ROWS: dict[str, Callable[[float], Q.Protocol]] = {
    "α = 2": lambda k: Q.Protocol(alpha=2.0),
    "α = 4": lambda k: Q.Protocol(alpha=4.0),
    "PC noise √k": lambda k: Q.Protocol(manifold_alpha=math.sqrt(max(k, 2.0))),
    "PC noise √(2k)": lambda k: Q.Protocol(manifold_alpha=math.sqrt(max(2 * k, 2.0))),
    "PC noise 2√k": lambda k: Q.Protocol(manifold_alpha=math.sqrt(max(4 * k, 2.0))),
    "input noise 0.5": lambda k: Q.Protocol(input_noise=0.5),
    "input noise 1": lambda k: Q.Protocol(input_noise=1.0),
    "input noise 2": lambda k: Q.Protocol(input_noise=2.0),
    "adaptation 0.2": lambda k: Q.Protocol(adaptation=0.2),
    "adaptation 1": lambda k: Q.Protocol(adaptation=1.0),
}
HD_ROWS = ("paper", "PC noise √(2k)", "input noise 1", "adaptation 1")   # HD: no bias to test, so the main ones
SHARPENED_ROWS = ("default", "α = 2", "α = 4")   # isotropic noise: where p^(2k/α²) is the reading's prediction
ATTRACTOR_ROWS = ("default", "as written")

__all__ = ["DEFAULT", "TRAINED_ROWS", "BIASED", "NOTEBOOK", "QUIESCENT_ROWS", "HD_ROWS", "SHARPENED_ROWS",
           "ATTRACTOR_ROWS"]
