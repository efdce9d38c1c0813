"""Suppl. C.1: the noisy SP RNNs of Fig. 2 with quiescent noise equal to the training noise (× 1, not √2);
the figure and its numbers are `matching`'s."""
from __future__ import annotations

from .base import SP, FigureSettings, Model, Notebook
from ..claims import Check
from .matching import Matching, MatchingResults, check_matching, matching

NOTEBOOK = Notebook("figC1_same_quiescent_noise", (Model.of(SP, "noisy_unbiased", "unbiased"),
                                                Model.of(SP, "noisy_biased", "biased")))


def compute(settings: FigureSettings) -> Matching:
    return matching(settings, NOTEBOOK, noise="same")


RESULTS = MatchingResults

# claim id (data/claims.yaml) -> its check (the check C.1 and C.2 share, see `matching`)
CHECKS: dict[str, Check] = {"figC1-same-noise": check_matching}


__all__ = ["compute"]
