"""What a check of a claim is, and the few helpers the checks of several figures share.

A figure module holds the checks of its claims (`CHECKS`: claim id of `data/claims.yaml` -> check). A check takes
the figure's `results` (the JSON its notebook wrote) and the claim's `params` (every number it compares against,
read from the YAML) and returns a `Verdict`; `utils.report` runs them and writes the report.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Verdict:
    passed: bool | None                                 # None: a number reported beside the paper's, no verdict
    value: str                                          # the measured statistic, formatted
    per_seed: dict[str, str] = field(default_factory=dict)  # seed -> formatted value


Params = dict[str, Any]                     # a claim's `params` in claims.yaml
Check = Callable[[dict, Params], Verdict]   # (the figure's results, the claim's params) -> verdict


def mean_of(entry: dict) -> float:
    """The mean over seeds of a `{"per_seed": {seed: value}}` entry of a results JSON."""
    return float(np.mean([float(v) for v in entry["per_seed"].values()]))


def seed_mean(entry: dict) -> np.ndarray:
    """Mean over seeds of per-seed arrays, a missing value (JSON null: NaN or ±∞) ignored."""
    rows = [[np.nan if x is None else float(x) for x in np.atleast_1d(v)] for v in entry["per_seed"].values()]
    with warnings.catch_warnings():  # an entry at which every seed is missing stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.array(rows, dtype=float), axis=0)


def fmt(x: float) -> str:
    return f"{x:.3g}"


def kl_entry(results: dict, row: str, col: str) -> tuple[float, dict[str, float]]:
    """Mean and per-seed entries of a KL matrix (Fig. 2e's, or the HD one) at (active row, quiescent column)."""
    i, j = results["kl_rows"].index(row), results["kl_cols"].index(col)
    per_seed = {s: m[i][j] for s, m in results["kl_matrix"]["per_seed"].items()}
    return float(np.mean(list(per_seed.values()))), per_seed


def unbiased_holds(q_a: float, uniform_a: float, margin: float) -> bool:
    """Fig. 2e's claim for an unbiased network: its quiescence is no further from its active states than 𝒰."""
    return q_a <= uniform_a + margin


def biased_holds(q_a: float, baselines: list[float], factor: float) -> bool:
    """Fig. 2e's claim for a biased network: its quiescence is much closer than the nearest baseline."""
    return q_a <= factor * min(baselines)


__all__ = ["Verdict", "Params", "Check", "mean_of", "seed_mean", "fmt", "kl_entry", "unbiased_holds", "biased_holds"]
