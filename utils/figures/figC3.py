"""Suppl. C.3: example quiescent trajectories of noisy-trained (NT) and noiseless-trained (DT) SP networks in
three quiescences, unbiased and biased, with their total variance and mean step distance on every seed."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import analysis as A
from .. import plotting as P
from ..claims import Check
from .base import SP_FOUR, Figure, FigureSettings, Notebook, PerSeed, Results
from .regimes import QUIESCENT_REGIMES, REGIME_TITLES, regime_runs

NOTEBOOK = Notebook("figC3_noise_conditions", SP_FOUR)

EXAMPLES_C3 = 5               # trajectories drawn per panel of Suppl. C.3


@dataclass
class RegimeSummary:
    """Every quiescent run of one network in one regime, summarised per seed."""
    total_variance: PerSeed[float]       # total variance of the decoded trajectories (no burn-in), m²
    mean_step_distance: PerSeed[float]   # mean distance between consecutive decoded points, m/step


@dataclass
class FigC3Results(Results):
    """What results/figC3.json holds (no claim is checked on it)."""
    summary: dict[str, dict[str, RegimeSummary]]   # bias -> quiescent regime -> its runs summarised per seed
    quiescent_noise_std: dict[str, float]          # regime -> per-step quiescent noise std used
    examples_per_panel: int                        # trajectories drawn per panel


@dataclass
class NoiseConditions(Figure):
    """Suppl. C.3: example quiescent trajectories of NT and DT networks, unbiased and biased."""
    examples: dict[str, dict[str, np.ndarray]]                      # bias -> regime -> (n, T, 2), first seed
    total_variance: dict[str, dict[str, dict[int, float]]]          # bias -> regime -> seed -> m²
    step_distance: dict[str, dict[str, dict[int, float]]]           # bias -> regime -> seed -> m/step
    noise_std: dict[str, float]
    layout: str = "abc;def"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH * 0.8, 3.2)})
    name = "figC3"

    def results(self) -> FigC3Results:
        return FigC3Results({b: {r: RegimeSummary(PerSeed.of(self.total_variance[b][r]),
                                                  PerSeed.of(self.step_distance[b][r]))
                                 for r in QUIESCENT_REGIMES} for b in self.examples},
                            self.noise_std, EXAMPLES_C3)

    def summary(self) -> str:
        lines = ["mean over seeds: total variance (m²), mean step distance (m/step)"]
        for b in self.examples:
            for r in QUIESCENT_REGIMES:
                tv, sd = (np.mean(list(d[b][r].values())) for d in (self.total_variance, self.step_distance))
                lines.append(f"  {b:>8} {r:<20} {tv:9.4f}  {sd:9.5f}")
        return "\n".join(lines)

    def panels(self) -> dict:
        out = {}
        for bias, keys in (("unbiased", "abc"), ("biased", "def")):
            for key, regime in zip(keys, QUIESCENT_REGIMES):
                title = REGIME_TITLES[regime] if bias == "unbiased" else None
                out[key] = _example_panel(self.examples[bias][regime], title, bias if key in "ad" else None)
        return out


def _example_panel(xy, title, row_label):
    """One regime's example runs; the first panel of a row carries the row's label and the scale (every box is the
    same 2.2 m arena)."""
    def draw(ax):
        P.plot_trajectories(ax, xy, P.QUIESCENT, every=1, scale_bar=1.0 if row_label else None)
        if title:
            ax.set_title(title)
        if row_label:
            ax.text(-0.08, 0.5, row_label, transform=ax.transAxes, rotation=90, ha="right", va="center")
    return draw


def compute(settings: FigureSettings) -> NoiseConditions:
    """n_kde quiescent runs of quiescent_steps_kde steps per seed in the three regimes of `QUIESCENT_REGIMES`;
    the first `EXAMPLES_C3` trajectories of the first seed are drawn, and every run is summarised by its total
    variance (`analysis.total_variance`, no burn-in) and mean step distance, per seed."""
    a = settings.analysis
    runs, stds = regime_runs(settings, QUIESCENT_REGIMES, a.n_kde, a.quiescent_steps_kde)
    first = settings.seeds[0]
    examples = {b: {r: runs[b][r][first][:EXAMPLES_C3] for r in QUIESCENT_REGIMES} for b in runs}
    tv = {b: {r: {s: A.total_variance(x) for s, x in runs[b][r].items()} for r in QUIESCENT_REGIMES} for b in runs}
    sd = {b: {r: {s: float(A.mean_step_distance(x).mean()) for s, x in runs[b][r].items()}
              for r in QUIESCENT_REGIMES} for b in runs}
    return NoiseConditions(examples, tv, sd, stds)


RESULTS = FigC3Results

# claim id (data/claims.yaml) -> its check: none, C.3 shows trajectories only: no claim is measured on it
CHECKS: dict[str, Check] = {}


__all__ = ["EXAMPLES_C3", "RegimeSummary", "FigC3Results", "NoiseConditions", "compute"]
