"""What judges the sweep: the checks of its two claims (where the measured KL is minimal over α; whether the
measurement follows the tempered density at every α), on its typed results."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...claims import Check, Params, Verdict, fmt

if TYPE_CHECKING:   # the checks only name the results' class: the package's order keeps results above verdicts
    from .results import TemperatureResults


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------


def _alpha_star(kl: np.ndarray, labels: list[str]) -> str:
    """The label of the α minimising `kl`; "≥ <label> (grid edge)" where that is the largest α: the minimum is
    then not bracketed, and the grid gives only a lower bound on it."""
    if np.all(np.isnan(kl)):
        return "none"
    i = int(np.nanargmin(kl))
    return labels[i] if i < len(labels) - 1 else f"≥ {labels[i]} (grid edge)"


def check_ext_temperature_min(r: TemperatureResults, p: Params) -> Verdict:
    labels = r.alpha_labels
    star = {c: _alpha_star(kl.nan_mean(), labels) for c, kl in r.kl.items()}
    per_seed = {s: ", ".join(f"{c} {_alpha_star(np.array(kl.per_seed[s], float), labels)}" for c, kl in r.kl.items())
                for s in next(iter(r.kl.values())).per_seed}
    return Verdict(all(v == p["alpha_star"] for v in star.values()),
                   "; ".join(f"{c}: α* = {v}" for c, v in star.items()), per_seed)


def check_ext_temperature_fit(r: TemperatureResults, p: Params) -> Verdict:
    positive = [i for i, a in enumerate(r.alphas) if a > 0]
    parts, ok = [], True
    for c in r.kl:
        gap = np.abs(r.kl[c].nan_mean() - r.kl_predicted_estimator[c].nan_mean())[positive]
        with np.errstate(all="ignore"):  # α = 0 predicts variance 0; it is left out
            ratio = (r.variance[c].nan_mean() / r.variance_predicted[c].nan_mean())[positive]
        ok &= bool(np.all(gap <= p["max_kl_gap"])
                   and np.all((ratio >= p["min_variance_ratio"]) & (ratio <= p["max_variance_ratio"])))
        parts.append(f"{c}: max |ΔKL| {fmt(np.nanmax(gap))}, variance ×{np.nanmin(ratio):.2f}–{np.nanmax(ratio):.2f}")
    return Verdict(ok, "; ".join(parts))


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-temperature-min": check_ext_temperature_min, "ext-temperature-fit": check_ext_temperature_fit}

__all__ = ["check_ext_temperature_min", "check_ext_temperature_fit", "CHECKS"]
