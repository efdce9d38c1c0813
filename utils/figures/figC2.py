"""Suppl. C.2: continuous-time GRUs, unbiased and biased, quiescent noise × 1 (the paper does not double it
for GRUs); the figure and its numbers are `matching`'s."""
from __future__ import annotations

from .base import SP, FigureSettings, Model, Notebook
from ..claims import Check
from .matching import Matching, MatchingResults, check_matching, matching

NOTEBOOK = Notebook("figC2_gru", (Model.of(SP, "gru_noisy_unbiased", "unbiased"), Model.of(SP, "gru_noisy_biased", "biased")))


def compute(settings: FigureSettings) -> Matching:
    return matching(settings, NOTEBOOK, noise="same")


RESULTS = MatchingResults

# claim id (data/claims.yaml) -> its check (the check C.1 and C.2 share, see `matching`)
CHECKS: dict[str, Check] = {"figC2-gru": check_matching}


__all__ = ["compute"]
