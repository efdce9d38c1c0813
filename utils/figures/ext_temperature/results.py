"""What the sweep computes and writes: one network's prediction over α (`Prediction`), its measurement beside it
(`TemperatureSweep`), and the numbers of `results/ext_temperature.json` that the checks read
(`TemperatureResults`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import PerSeed, Results


@dataclass
class Prediction:
    """What the theory predicts for each α, from one network's active density."""
    kl: np.ndarray              # (A,) exact KL(p_α ‖ p) on the grid; +∞ at α = 0
    kl_estimator: np.ndarray    # (A,) the same through the measurement's own smoothing (see the predictions in runs)
    variance: np.ndarray        # (A,) total (SP, m²) or circular (HD) variance of p_α
    active_variance: float      # the same of p (= the α = √2 entry)


@dataclass
class TemperatureSweep:
    """One network over α: measured and predicted KL(quiescent ‖ active) and variance, each (A,)."""
    kl: np.ndarray
    variance: np.ndarray               # pooled over trajectories and (post burn-in) steps
    variance_per_trajectory: np.ndarray  # Fig. 2f style: within each trajectory, averaged (exploration)
    prediction: Prediction


@dataclass
class TemperatureResults(Results):
    """What results/ext_temperature.json holds; the checks of its claims read it. Curves are over `alphas`, per
    network label ('SP U^σ', 'SP B^σ', 'HD U^σ'); a KL of +∞ or NaN is written as null and read back as NaN."""
    alphas: list[float]                    # quiescent noise scales α: quiescent std / trained std (no unit)
    alpha_labels: list[str]                # α as the panels name them ("√2" for √2)
    conditions: dict[str, str]             # label -> "task/condition" of its network
    burn_in_steps: int                     # quiescent steps dropped at the start of each run (steps)
    kl: dict[str, PerSeed[list[float]]]    # label -> measured KL(quiescent ‖ active) per α (nats)
    kl_predicted: dict[str, PerSeed[list[float]]]            # label -> exact KL(p_α ‖ p) per α (nats; +∞ at α = 0)
    kl_predicted_estimator: dict[str, PerSeed[list[float]]]  # label -> the same through the KDE estimator (nats)
    variance: dict[str, PerSeed[list[float]]]                # label -> pooled quiescent variance per α (SP m²; HD 1−R)
    variance_predicted: dict[str, PerSeed[list[float]]]      # label -> variance of p_α per α (SP m²; HD 1−R)
    variance_per_trajectory: dict[str, PerSeed[list[float]]]  # label -> within-trajectory variance per α (same units)
    variance_active: dict[str, PerSeed[float]]               # label -> variance of the active density p (same units)
    argmin_alpha: dict[str, float]         # label -> α of the minimal measured KL, mean over seeds (no unit)
    kl_minus_predicted_estimator: dict[str, list[float]]     # label -> seed mean of measured − estimator KL (nats)



__all__ = ["Prediction", "TemperatureSweep", "TemperatureResults"]
