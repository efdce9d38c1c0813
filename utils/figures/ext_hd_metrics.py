"""ext_hd_metrics: the KL matrix of Fig. 2e for head direction, between von Mises KDEs of decoded bearings.

Rows: the active bearings of the four HD networks of the module's NOTEBOOK. Columns: their quiescent
bearings, the uniform density on the circle 𝒰 and the U^σ network before training in noisy quiescence (R^σ).
Every density is a von Mises KDE of one fixed concentration (`circular.vonmises_kde`), KL by quadrature.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes

from .. import analysis as A
from .. import plotting as P
from ..circular import CIRCLE_BINS, VM_KAPPA, circle_grid, circular_kl, uniform_circle, vonmises_kde
from ..claims import Check, Params, Verdict, fmt, unbiased_holds
from .base import HD_FOUR, Figure, FigureSettings, KLTable, Notebook, PerSeed
from .fig2 import KL_COLS

NOTEBOOK = Notebook("ext_hd_metrics", HD_FOUR, seeds=2)  # beyond the paper: the first two seeds

# Columns: the four networks' quiescence (the registry's labels) with the baselines where Fig. 2e has them.
COLUMNS = KL_COLS  # the columns of Fig. 2e: the four networks, the uniform density 𝒰, the untrained R^σ
LINE_STYLES = {"U^σ": "-", "U": ":", "B^σ": "--", "B": "-."}
QUIESCENT_COLORS = {"R^σ": P.UNTRAINED, "U": P.NOISELESS, "B": P.NOISELESS}  # others: quiescent red
# Active densities: the noiseless-trained networks in a dark shade of the active blue, so that the four curves
# differ by colour (noisy or not) and by line style (unbiased or biased), as the quiescent ones do.
ACTIVE_COLORS = {"U": "#1b5e6e", "B": "#1b5e6e"}   # others: active blue


@dataclass
class _Head:
    """The keys results/ext_hd_metrics.json has before its KL matrix. A base of `HDMetricsResults` after `KLTable`,
    so that the fields, which a dataclass orders from its last base to its first, keep the order of the JSON."""
    kl_rows: list[str]     # the four HD networks, active (the matrix's rows)
    kl_cols: list[str]     # their quiescence, 𝒰 and R^σ (the matrix's columns)
    kappa: float           # concentration κ of the von Mises KDE kernel (no unit; ≈ 1/width², width in rad)
    bins: int              # grid points on the circle of every density and KL quadrature


@dataclass
class HDMetricsResults(KLTable, _Head):
    """What results/ext_hd_metrics.json holds; the checks of its claims read it (`kl(row, col)`)."""
    # kl_matrix (from KLTable), here: KL(quiescent column ‖ active row) between von Mises KDEs per seed, nats
    row_spread: PerSeed[float]                  # mean over columns of (max − min over rows) of the matrix, nats
    column_spread: PerSeed[float]               # mean over rows of (max − min over columns) of the matrix, nats
    histogram_kl_own: dict[str, PerSeed[float]]  # row -> KL of its own quiescence, Fig. 3's 20-bin histograms, nats
    quiescent_noise_std: dict[str, float]       # network (rows, R^σ) -> quiescent noise std (hidden units/step)


@dataclass
class HDMetrics(Figure):
    name: ClassVar[str] = "ext_hd_metrics"
    layout: ClassVar[str] = "abc"
    # a wide enough for its 24 cells to print 0.0066 inside them (b and c are line plots)
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 2.0), "width_ratios": [2.1, 1, 1]}

    seeds: list[int]
    kappa: float
    rows: list[str]                        # the networks' labels, active
    matrices: np.ndarray                   # (S, rows, columns) KL(quiescent column ‖ active row), nats
    histogram_kl: dict[str, dict[int, float]]  # row -> seed -> 20-bin histogram KL of its own quiescence (Fig. 3)
    densities: dict[str, np.ndarray]       # first seed: "<row> active" / "<col> quiescent" -> density on the grid
    noise_std: dict[str, float]

    @property
    def mean(self) -> np.ndarray:
        return self.matrices.mean(axis=0)

    def row_spread(self) -> np.ndarray:
        """(S,) mean over columns of (max − min over rows): how much the active row matters."""
        return (self.matrices.max(axis=1) - self.matrices.min(axis=1)).mean(axis=1)

    def column_spread(self) -> np.ndarray:
        """(S,) mean over rows of (max − min over columns): how much the quiescent column matters."""
        return (self.matrices.max(axis=2) - self.matrices.min(axis=2)).mean(axis=1)

    def results(self) -> HDMetricsResults:
        def by_seed(values):
            return PerSeed.of(dict(zip(self.seeds, values)))
        return HDMetricsResults(
            kl_rows=self.rows, kl_cols=COLUMNS, kappa=self.kappa, bins=CIRCLE_BINS,
            kl_matrix=by_seed(self.matrices), row_spread=by_seed(self.row_spread()),
            column_spread=by_seed(self.column_spread()),
            histogram_kl_own={r: PerSeed.of(v) for r, v in self.histogram_kl.items()},
            quiescent_noise_std=self.noise_std)

    def summary(self) -> str:
        lines = [f"KL(quiescent column ‖ active row), von Mises KDE κ = {self.kappa:g}, nats, mean over seeds:",
                 "      " + "".join(f"{c:>8}" for c in COLUMNS)]
        lines += [f"{r:>6}" + "".join(f"{x:8.3f}" for x in row) for r, row in zip(self.rows, self.mean)]
        lines.append(f"spread across rows {self.row_spread().mean():.3f}, across columns "
                     f"{self.column_spread().mean():.3f} nats (mean of max − min)")
        lines.append("own-quiescence KL with Fig. 3's 20-bin histograms: "
                     + ", ".join(f"{r} {np.mean(list(v.values())):.3f}" for r, v in self.histogram_kl.items()))
        return "\n".join(lines)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        return {"a": lambda ax: P.plot_kl_matrix(ax, self.mean),
                "b": lambda ax: self._densities(ax, "active"),
                "c": lambda ax: self._densities(ax, "quiescent")}

    def _densities(self, ax: Axes, kind: str) -> None:
        """The first seed's densities of one kind on a log axis, 𝒰 dotted."""
        theta = circle_grid()
        for name, d in self.densities.items():
            label, which = name.rsplit(" ", 1)
            if which != kind:
                continue
            if kind == "active":
                color, ls = ACTIVE_COLORS.get(label, P.ACTIVE), LINE_STYLES[label]
            else:
                color, ls = QUIESCENT_COLORS.get(label, P.QUIESCENT), LINE_STYLES.get(label, "-")
            ax.plot(theta, d, color=color, ls=ls, lw=0.8, label=P.tex(label))
        ax.axhline(1 / (2 * np.pi), color="black", lw=0.5, ls=(0, (1, 2)), label=r"$\mathcal{U}$")
        P.bearing_density_axes(ax).set_yscale("log")
        # Room below 1e-3 for the key: the densities stay above it, the key below them.
        ax.set_ylim(1e-5, max(2.0, max(float(d.max()) for d in self.densities.values()) * 1.5))
        ax.set_title(f"{kind}, seed {self.seeds[0]}")
        ax.legend(fontsize=5, ncol=3, loc="lower center", handlelength=1.5, columnspacing=0.8)


def compute(settings: FigureSettings, kappa: float = VM_KAPPA) -> HDMetrics:
    """Fig. 2e for HD: rows = `n_kde` active trajectories of `active_steps` of the four HD networks, columns =
    `n_kde` quiescent trajectories of `quiescent_steps_kl` (√2 × trained noise, so U and B stay noiseless), the
    uniform density on the circle 𝒰 and the U^σ network before training in noisy quiescence (R^σ); every
    density a von Mises KDE of concentration `kappa`, KL by quadrature on the circle."""
    a = settings.analysis
    nets = {m.label: settings.seeded(m) for m in NOTEBOOK.models}
    rows = list(nets)
    matrices, hist_kl = [], {r: {} for r in rows}
    densities: dict[str, np.ndarray] = {}
    noise_std: dict[str, float] = {}
    for i, seed in enumerate(settings.seeds):
        act, qui = {}, {}
        for label in rows:
            net = nets[label][i][1]
            act_b = A.active_run(net, a.n_kde, a.active_steps, seed).decoded
            q = A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, "scaled", seed, keep_states=False)
            act[label], qui[label] = vonmises_kde(act_b, kappa), vonmises_kde(q.decoded, kappa)
            noise_std[label] = q.noise_std
            hist_kl[label][seed] = A.bearing_histogram_kl(q.decoded, act_b)
        rand = A.random_network_like(nets["U^σ"][i][1], seed)
        r = A.quiescent_run(rand, a.n_kde, a.quiescent_steps_kl, "scaled", seed, keep_states=False)
        qui["R^σ"], noise_std["R^σ"] = vonmises_kde(r.decoded, kappa), r.noise_std
        qui["𝒰"] = uniform_circle()
        matrices.append([[circular_kl(qui[c], act[row]) for c in COLUMNS] for row in rows])
        if i == 0:
            densities = ({f"{k} active": v for k, v in act.items()}
                         | {f"{k} quiescent": qui[k] for k in COLUMNS if k != "𝒰"})
    return HDMetrics(list(settings.seeds), kappa, rows, np.array(matrices), hist_kl, densities, noise_std)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = HDMetricsResults


def check_ext_hd_kl(r: HDMetricsResults, p: Params) -> Verdict:
    parts, ok = [], True
    for row in ("U^σ", "B^σ"):
        own, uniform, random = r.kl(row, row)[0], r.kl(row, "𝒰")[0], r.kl(row, "R^σ")[0]
        ok &= unbiased_holds(own, uniform, p["kl_margin"])
        parts.append(f"{row}: {fmt(own)} vs 𝒰 {fmt(uniform)}, R^σ {fmt(random)}")
    return Verdict(ok, "; ".join(parts), {s: fmt(v) for s, v in r.kl("U^σ", "U^σ")[1].items()})


def check_ext_hd_rows(r: HDMetricsResults, p: Params) -> Verdict:
    pairs = {"U^σ_a": (r.kl("U^σ", "B^σ")[0], r.kl("U^σ", "U^σ")[0]),
             "B^σ_a": (r.kl("B^σ", "U^σ")[0], r.kl("B^σ", "B^σ")[0])}
    ok = all(abs(cross - own) <= p["max_cross_gap"] for cross, own in pairs.values())
    return Verdict(ok, "; ".join(f"row {k}: cross {fmt(c)} vs own {fmt(o)}" for k, (c, o) in pairs.items())
                   + f"; spread across rows {fmt(r.row_spread.seed_mean())}, across columns "
                     f"{fmt(r.column_spread.seed_mean())}")


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-hd-kl": check_ext_hd_kl, "ext-hd-rows": check_ext_hd_rows}


__all__ = ["COLUMNS", "HDMetricsResults", "HDMetrics", "compute"]
