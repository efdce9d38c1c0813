"""The networks of the sweep and its grid: the notebook's three noisy networks (`NOTEBOOK`) and the quiescent
noise scales α (`ALPHAS`), with the name the panels give each α (`alpha_label`)."""
from __future__ import annotations

import math

from ..base import HD, SP, Model, Notebook

NOTEBOOK = Notebook("ext_temperature", (Model.of(SP, "noisy_unbiased", "SP U^σ"), Model.of(SP, "noisy_biased", "SP B^σ"),
                                      Model.of(HD, "noisy_unbiased", "HD U^σ")), seeds=2)

# quiescent noise std / trained std (√2: Langevin-exact). Up to 8: at 3 the KL was still falling for every network
# and seed, so the grid goes on until the minimum is bracketed (or the check says it is a bound).
ALPHAS = (0.0, 0.5, 1.0, math.sqrt(2), 2.0, 3.0, 4.0, 6.0, 8.0)


def alpha_label(a: float) -> str:
    return "√2" if math.isclose(a, math.sqrt(2)) else f"{a:g}"


__all__ = ["NOTEBOOK", "ALPHAS", "alpha_label"]
