"""Suppl. C.4: the mean step distance of decoded trajectories, active and in the quiescences of `regimes`, of
noisy-trained and noiseless-trained SP networks, unbiased and biased, every seed."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import analysis as A
from .. import plotting as P
from ..claims import Check, Params, Verdict, fmt
from .base import SP_FOUR, Figure, FigureSettings, Notebook, Results, share_beyond
from .regimes import QUIESCENT_REGIMES, REGIMES, regime_runs

NOTEBOOK = Notebook("figC4_step_distance", SP_FOUR)

# The paper's axes, widened only if the data exceed them.
STEP_DISTANCE_YLIM = {"unbiased": (0, 0.6), "biased": (0, 0.06)}


@dataclass
class PooledSteps:
    """One network's trajectories in one regime: each trajectory's mean step distance per seed, and over all
    seeds pooled."""
    per_seed: dict[str, list[float]]   # seed -> mean step distance of each trajectory, m/step
    median: float                      # median over every trajectory of every seed, m/step
    mean: float                        # mean over the same, m/step


@dataclass
class FigC4Results(Results):
    """What results/figC4.json holds; the check of C.4's claim reads it."""
    step_distance: dict[str, dict[str, PooledSteps]]     # bias -> regime -> its trajectories' mean step distance
    share_beyond_paper_axis: dict[str, dict[str, float]]  # bias -> regime -> share of trajectories above the axis
    quiescent_noise_std: dict[str, float]                 # quiescent regime -> per-step quiescent noise std used


@dataclass
class StepDistances(Figure):
    """Suppl. C.4: mean step distance per trajectory, bias -> regime -> seed -> (n_step_distance,) values."""
    values: dict[str, dict[str, dict[int, np.ndarray]]]
    noise_std: dict[str, float]
    layout: str = "ab"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 2.3)})
    name = "figC4"

    def pooled(self, bias: str, regime: str) -> np.ndarray:
        return np.concatenate(list(self.values[bias][regime].values()))

    def results(self) -> FigC4Results:
        return FigC4Results(
            {b: {r: PooledSteps({str(s): v for s, v in per.items()}, float(np.median(self.pooled(b, r))),
                                float(np.mean(self.pooled(b, r))))
                 for r, per in regimes.items()} for b, regimes in self.values.items()},
            {b: {r: share_beyond(self.pooled(b, r), STEP_DISTANCE_YLIM[b]) for r in REGIMES} for b in self.values},
            self.noise_std)

    def summary(self) -> str:
        lines = ["median step distance (m/step), all seeds pooled:"]
        for b in self.values:
            lines.append(f"  {b:>8}: " + ", ".join(f"{r} {np.median(self.pooled(b, r)):.4f}" for r in REGIMES))
        lines.append("share of trajectories above the paper's axis (unbiased 0.6, biased 0.06 m/step):")
        for b, shares in self.results().share_beyond_paper_axis.items():
            lines.append(f"  {b:>8}: " + ", ".join(f"{r} {v:.1%}" for r, v in shares.items()))
        return "\n".join(lines)

    def ylim(self, bias: str) -> tuple[float, float]:
        top = max(float(self.pooled(bias, r).max()) for r in REGIMES)
        lo, hi = STEP_DISTANCE_YLIM[bias]
        return (lo, hi if top <= hi else 1.05 * top)

    def panels(self) -> dict:
        colors = {r: P.ACTIVE if REGIMES[r][1] else P.QUIESCENT for r in REGIMES}

        def panel(bias):
            def draw(ax):
                P.plot_boxes(ax, {r: self.pooled(bias, r) for r in REGIMES}, colors=colors, ylim=self.ylim(bias),
                             ylabel="mean step distance (m)", rotation=50)
                ax.set_xlabel("NT: noisy-trained, DT: noiseless-trained", fontsize=5)
                ax.set_title(bias)
                top = STEP_DISTANCE_YLIM[bias][1]
                if self.ylim(bias)[1] > top:  # the axis was widened: mark the paper's limit
                    ax.axhline(top, color="0.5", lw=0.6, ls=":")
                    ax.text(0.02, top, f"paper's axis ({top:g})", transform=ax.get_yaxis_transform(), fontsize=5,
                            va="bottom", color="0.4")
            return draw
        return {"a": panel("unbiased"), "b": panel("biased")}


def compute(settings: FigureSettings) -> StepDistances:
    """Per-trajectory mean step distance (`analysis.mean_step_distance`) of n_step_distance trajectories of
    active_steps steps, active and quiescent alike, in the five regimes of `REGIMES`, for every seed."""
    a = settings.analysis
    runs, stds = regime_runs(settings, tuple(REGIMES), a.n_step_distance, a.active_steps)
    values = {b: {r: {s: A.mean_step_distance(x) for s, x in per.items()} for r, per in regimes.items()}
              for b, regimes in runs.items()}
    return StepDistances(values, {r: stds[r] for r in QUIESCENT_REGIMES})


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = FigC4Results


def check_figC4_erratic(r: FigC4Results, p: Params) -> Verdict:
    med = {b: (r.step_distance[b]["DT noisy quiescent"].median, r.step_distance[b]["NT quiescent"].median)
           for b in ("unbiased", "biased")}
    return Verdict(all(dt >= p["min_factor"] * nt for dt, nt in med.values()),
                   "; ".join(f"{b}: {fmt(dt)} vs NT {fmt(nt)} (×{dt / nt:.1f})" for b, (dt, nt) in med.items()))


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"figC4-erratic": check_figC4_erratic}


__all__ = ["STEP_DISTANCE_YLIM", "PooledSteps", "FigC4Results", "StepDistances", "compute"]
