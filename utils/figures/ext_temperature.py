"""ext_temperature: is the quiescent noise scale a temperature?

Quiescent noise std α × the trained one, α ∈ `ALPHAS`. Langevin algebra says the stationary density is then
∝ p^(2/α²), p the active density, which equals p only at α = √2. For each network of the notebook's registry
row we predict KL(quiescent ‖ active) and the variance from its active KDE on a grid (`sp_prediction`,
`hd_prediction`) and measure them. Randomness: the runs of the network of seed s draw their trajectories and
noise from s (every α starts from the same active initial states), the Monte-Carlo KL samples from s as well.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes
from scipy.signal import fftconvolve
from scipy.stats import gaussian_kde

from .. import analysis as A
from .. import circular
from .. import config as C
from .. import plotting as P
from ..claims import Check, Params, Verdict, fmt
from ..models import Network
from .base import HD, SP, Figure, FigureSettings, Model, Notebook, PerSeed, Results

NOTEBOOK = Notebook("ext_temperature", (Model.of(SP, "noisy_unbiased", "SP U^σ"), Model.of(SP, "noisy_biased", "SP B^σ"),
                                      Model.of(HD, "noisy_unbiased", "HD U^σ")), seeds=2)

# quiescent noise std / trained std (√2: Langevin-exact). Up to 8: at 3 the KL was still falling for every network
# and seed, so the grid goes on until the minimum is bracketed (or the check says it is a bound).
ALPHAS = (0.0, 0.5, 1.0, math.sqrt(2), 2.0, 3.0, 4.0, 6.0, 8.0)
PRED_GRID = 64         # SP predictions: cells across the box (3.4 cm at 2.2 m, ~¼ of the KDE bandwidth)
PRED_PAD = 0.4         # SP predictions: the grid extends this far (m) beyond the box, where KDEs leak


def alpha_label(a: float) -> str:
    return "√2" if math.isclose(a, math.sqrt(2)) else f"{a:g}"


# ----------------------------------------------------------------------------------------------------------
# The prediction: stationary density ∝ p^(2/α²)


def tempered(density: np.ndarray, alpha: float, cell: float) -> np.ndarray:
    """p^(2/α²) renormalised on its grid (cells of area `cell`), computed in the log domain.

    α = √2 returns p itself; α → ∞ the uniform density over the grid; α = 0 is the degenerate limit β → ∞,
    returned as all mass on the cell(s) of the maximum of p (deterministic dynamics climbing log p end on
    its maxima; which of them depends on the start, which the theory does not model).
    """
    d = np.asarray(density, float)
    if alpha == 0:
        w = (d == d.max()).astype(float)
    else:
        with np.errstate(divide="ignore"):
            logd = np.where(d > 0, np.log(np.where(d > 0, d, 1.0)), -np.inf)
        w = np.exp((2 / alpha ** 2) * (logd - logd.max()))
    return w / (w.sum() * cell)


@dataclass
class Prediction:
    """What the theory predicts for each α, from one network's active density."""
    kl: np.ndarray              # (A,) exact KL(p_α ‖ p) on the grid; +∞ at α = 0
    kl_estimator: np.ndarray    # (A,) the same through the measurement's own smoothing (see the functions)
    variance: np.ndarray        # (A,) total (SP, m²) or circular (HD) variance of p_α
    active_variance: float      # the same of p (= the α = √2 entry)


def _predict(p: np.ndarray, cell: float, alphas, variance: Callable[[np.ndarray], float],
             measured_kl: Callable[[np.ndarray], float]) -> Prediction:
    """p_α = `tempered(p, α)` for each α: its `variance`, the exact KL(p_α ‖ p), and `measured_kl(p_α)`, the KL
    the measurement would report for samples of p_α. Both KLs are +∞ at α = 0 (a point mass against p)."""
    kl, kl_est, var = [], [], []
    for alpha in alphas:
        pa = tempered(p, alpha, cell)
        var.append(variance(pa))
        kl.append(A.grid_kl(pa, p, cell) if alpha > 0 else np.inf)
        kl_est.append(measured_kl(pa) if alpha > 0 else np.inf)
    return Prediction(np.array(kl), np.array(kl_est), np.array(var), variance(p))


def _grid_variance(density: np.ndarray, xy: np.ndarray, cell: float) -> float:
    """Total variance (trace of the covariance) of a density on 2-D grid points xy (n, 2)."""
    w = density.ravel() * cell
    mean = w @ xy
    return float(w @ ((xy - mean) ** 2).sum(axis=1))


def _gaussian_kernel(cov: np.ndarray, h: float) -> np.ndarray | None:
    """A normalised Gaussian of covariance `cov` sampled on a square grid of spacing h; None if narrower than
    a quarter cell (no smoothing to speak of)."""
    sd = math.sqrt(max(np.linalg.eigvalsh(cov).max(), 0.0))
    if sd < h / 4:
        return None
    r = int(math.ceil(4 * sd / h))
    off = np.arange(-r, r + 1) * h
    dx, dy = np.meshgrid(off, off)
    d = np.stack([dx.ravel(), dy.ravel()], axis=1)
    inv = np.linalg.pinv(cov)
    k = np.exp(-0.5 * np.einsum("ni,ij,nj->n", d, inv, d)).reshape(dx.shape)
    return k / k.sum()


def sp_prediction(active_kde: gaussian_kde, box_size: float, n_quiescent: int, alphas=ALPHAS,
                  grid: int = PRED_GRID, pad: float = PRED_PAD) -> Prediction:
    """The theory's KL(quiescent ‖ active) and total variance for each α, from an SP network's active KDE.

    p = the active KDE on `grid` × `grid` cells over the box, renormalised there (decoded positions never
    leave the box); p_α ∝ p^(2/α²) (`tempered`). `kl`: exact KL(p_α ‖ p). `kl_estimator`: what the measurement
    would return if the quiescent points were `n_quiescent` draws from p_α — p_α smoothed by the Scott kernel a
    KDE of that many points gets (covariance n^(−1/3) × Cov(p_α)), against the raw active KDE, on a grid padded
    by `pad` around the box where the KDEs leak; this keeps the estimator's own bias out of the comparison.
    """
    h = box_size / grid
    m = int(math.ceil(pad / h))
    centres = -box_size / 2 + (np.arange(-m, grid + m) + 0.5) * h
    gx, gy = np.meshgrid(centres, centres)
    xy = np.stack([gx.ravel(), gy.ravel()], axis=1)
    cell = h * h
    p_raw = active_kde(xy.T).reshape(gx.shape)
    inside = np.zeros(gx.shape, bool)
    inside[m:m + grid, m:m + grid] = True
    p_box = np.where(inside, p_raw, 0.0)
    p_box /= p_box.sum() * cell
    xy_in = xy[inside.ravel()]

    def through_the_kde(pa_in: np.ndarray) -> float:
        pa = np.zeros(gx.shape)
        pa[inside] = pa_in
        w = pa_in * cell
        mean = w @ xy_in
        cov = ((xy_in - mean) * w[:, None]).T @ (xy_in - mean)
        kernel = _gaussian_kernel(n_quiescent ** (-1 / 3) * cov, h)  # Scott: factor n^(−1/(d+4)), d = 2
        smoothed = pa if kernel is None else np.maximum(fftconvolve(pa, kernel, mode="same"), 0.0)
        return A.grid_kl(smoothed, p_raw, cell)

    return _predict(p_box[inside], cell, alphas, lambda d: _grid_variance(d, xy_in, cell), through_the_kde)


def hd_prediction(active_density: np.ndarray, alphas=ALPHAS, kappa: float = circular.VM_KAPPA) -> Prediction:
    """The theory's KL and circular variance for each α from an HD network's active von Mises KDE p.

    p_α ∝ p^(2/α²) on the circle. `kl`: exact KL(p_α ‖ p). `kl_estimator`: KL(p_α ⊛ kernel ‖ p), because the
    measured quiescent density is a KDE with the same von Mises kernel."""
    cell = 2 * np.pi / active_density.shape[-1]
    return _predict(active_density, cell, alphas, circular.density_circular_variance,
                    lambda pa: circular.circular_kl(circular.circular_smooth(pa, kappa), active_density))


# ----------------------------------------------------------------------------------------------------------
# The measurement


@dataclass
class TemperatureSweep:
    """One network over α: measured and predicted KL(quiescent ‖ active) and variance, each (A,)."""
    kl: np.ndarray
    variance: np.ndarray               # pooled over trajectories and (post burn-in) steps
    variance_per_trajectory: np.ndarray  # Fig. 2f style: within each trajectory, averaged (exploration)
    prediction: Prediction


def temperature_sweep(net: Network, analysis: C.AnalysisConfig, seed: int, alphas=ALPHAS) -> TemperatureSweep:
    """`n_kde` active trajectories of `active_steps` give p; for each α, `n_kde` quiescent trajectories of
    `quiescent_steps_kl` steps with per-step std α × the trained one, the first half dropped as burn-in (the
    theory is about the stationary distribution, and quiescence starts from the active batch's starts).

    SP: KL by the Fig. 2e estimator (`kl_samples` samples), total variance = trace of the covariance of the
    pooled decoded positions. HD: KL between von Mises KDEs, circular variance 1 − R of the pooled bearings.
    """
    a = analysis
    if a.quiescent_steps_kl < 4:
        raise ValueError("need quiescent_steps_kl >= 4 (half of it is burn-in)")
    burn = a.quiescent_steps_kl // 2
    spatial = net.task_cfg.name == "spatial"
    active = A.active_run(net, a.n_kde, a.active_steps, seed).decoded
    if spatial:
        p_kde = A.kde(active)
        pred = sp_prediction(p_kde, net.task_cfg.box_size, a.n_kde * (a.quiescent_steps_kl - burn), alphas)
    else:
        p = circular.vonmises_kde(active)
        pred = hd_prediction(p, alphas)
    h0 = A.initial_hidden(net, a.n_kde, seed)  # the active batch's starts, drawn once for every α
    kl, var, var_traj = [], [], []
    for alpha in alphas:
        q = A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, alpha * net.cfg.noise_std, seed, h0=h0,
                            keep_states=False).decoded[:, burn:]
        if spatial:
            kl.append(A.kl_divergence_or_nan(q, p_kde, a.kl_samples, seed))
            var.append(float(A.flat_points(q).var(axis=0, ddof=1).sum()))
            var_traj.append(A.total_variance(q))
        else:
            kl.append(circular.circular_kl(circular.vonmises_kde(q), p))
            var.append(circular.circular_variance(q))
            var_traj.append(circular.circular_variance_per_trajectory(q))
    return TemperatureSweep(np.array(kl), np.array(var), np.array(var_traj), pred)


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

    @staticmethod
    def nan_seed_mean(entry: PerSeed[list[float]]) -> np.ndarray:
        """Mean over seeds of a per-seed curve, a missing value (NaN; null in the JSON) ignored; NaN where every
        seed's is missing."""
        rows = np.array([np.atleast_1d(np.asarray(v, dtype=float)) for v in entry.per_seed.values()])
        with warnings.catch_warnings():   # an α at which every seed is missing stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(rows, axis=0)


@dataclass
class Temperature(Figure):
    """ext_temperature: network label -> seed -> `TemperatureSweep`; top row KL, bottom row variance."""
    name: ClassVar[str] = "ext_temperature"
    layout: ClassVar[str] = "abc;def"
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 3.6)}

    alphas: tuple
    conditions: dict[str, str]          # label -> "task/condition"
    sweeps: dict[str, dict[int, TemperatureSweep]]
    burn_in: int

    def stack(self, label: str, what: str) -> np.ndarray:
        """(S, A) array of one quantity ('kl', 'variance', 'variance_per_trajectory', or 'prediction.<name>')."""
        def get(s):
            obj = s
            for part in what.split("."):
                obj = getattr(obj, part)
            return obj
        return np.array([get(s) for s in self.sweeps[label].values()], dtype=float)

    def argmin_alpha(self, label: str) -> float:
        return float(self.alphas[int(np.nanargmin(np.nanmean(self.stack(label, "kl"), axis=0)))])

    def results(self) -> TemperatureResults:
        with np.errstate(invalid="ignore"):  # sd of the +∞ predicted at α = 0 is NaN; JSON writes both as null
            return self._results()

    def _results(self) -> TemperatureResults:
        def psm(what):
            return {label: PerSeed.of(dict(zip(self.sweeps[label], self.stack(label, what)))) for label in self.sweeps}
        return TemperatureResults(
            alphas=list(self.alphas), alpha_labels=[alpha_label(a) for a in self.alphas],
            conditions=self.conditions, burn_in_steps=self.burn_in,
            kl=psm("kl"), kl_predicted=psm("prediction.kl"), kl_predicted_estimator=psm("prediction.kl_estimator"),
            variance=psm("variance"), variance_predicted=psm("prediction.variance"),
            variance_per_trajectory=psm("variance_per_trajectory"),
            variance_active={label: PerSeed.of({s: w.prediction.active_variance for s, w in sw.items()})
                             for label, sw in self.sweeps.items()},
            argmin_alpha={label: self.argmin_alpha(label) for label in self.sweeps},
            kl_minus_predicted_estimator={
                label: np.nanmean(self.stack(label, "kl") - self.stack(label, "prediction.kl_estimator"), axis=0)
                for label in self.sweeps})

    def summary(self) -> str:
        lines = ["mean over seeds; KL in nats (measured / predicted through the estimator / exact prediction); "
                 "variance measured / predicted"]
        for label in self.sweeps:
            kl, est, exact = (np.nanmean(self.stack(label, w), axis=0) for w in
                              ("kl", "prediction.kl_estimator", "prediction.kl"))
            var, pvar = (np.nanmean(self.stack(label, w), axis=0) for w in ("variance", "prediction.variance"))
            lines.append(f"{label} (KL minimal at α = {alpha_label(self.argmin_alpha(label))}):")
            for i, a in enumerate(self.alphas):
                lines.append(f"  α = {alpha_label(a):>3}: KL {kl[i]:7.3f} / {est[i]:7.3f} / {exact[i]:7.3f}   "
                             f"variance {var[i]:.4g} / {pvar[i]:.4g}")
        return "\n".join(lines)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        out = {}
        for key, label in zip("abc", self.sweeps):
            out[key] = self._kl_panel(label)
        for key, label in zip("def", self.sweeps):
            out[key] = self._variance_panel(label)
        return out

    def _kl_panel(self, label: str) -> Callable[[Axes], None]:
        def draw(ax):
            x = np.array(self.alphas)
            pos = x > 0
            ax.plot(x[pos], np.nanmean(self.stack(label, "prediction.kl"), axis=0)[pos], color=P.THEORY, ls="--",
                    label=r"theory $p^{2/\alpha^2}$")
            ax.plot(x[pos], np.nanmean(self.stack(label, "prediction.kl_estimator"), axis=0)[pos], color="0.5",
                    label="theory, via the KDE")
            _measured(ax, x, self.stack(label, "kl"))
            ax.plot([], [], ls="none", label=r"(theory at $\alpha$ = 0: $\infty$)")
            _alpha_axis(ax, self.alphas)
            ax.set_ylabel("KL(quiescent ‖ active) (nats)")
            ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
            ax.set_title(P.tex(label))
            if label == next(iter(self.sweeps)):
                ax.legend(loc="best", fontsize=5)
        return draw

    def _variance_panel(self, label: str) -> Callable[[Axes], None]:
        spatial = label.startswith("SP")

        def draw(ax):
            x = np.array(self.alphas)
            ax.plot(x, np.nanmean(self.stack(label, "prediction.variance"), axis=0), color=P.THEORY, ls="--",
                    label="theory")
            _measured(ax, x, self.stack(label, "variance"), label="pooled")
            _measured(ax, x, self.stack(label, "variance_per_trajectory"), label="within trajectory", marker="s",
                      fill=False)
            ax.axhline(np.mean([s.prediction.active_variance for s in self.sweeps[label].values()]), color=P.ACTIVE,
                       lw=0.7, ls=":", label="active")
            _alpha_axis(ax, self.alphas)
            ax.set_ylabel("total variance (m²)" if spatial else "circular variance")
            ax.set_ylim(bottom=0)
            if label == next(iter(self.sweeps)):
                ax.legend(loc="best", fontsize=5)
        return draw


def _alpha_axis(ax: Axes, alphas) -> None:
    """Every α a tick; between 0 and √2 unlabelled (0.5, 1 and √2 so close together would run into each other)."""
    ax.set_xticks(list(alphas), ["" if 0 < a < math.sqrt(2) - 1e-9 else alpha_label(a) for a in alphas])
    ax.axvline(math.sqrt(2), color="0.7", lw=0.6, ls=":", zorder=0)
    ax.set_xlabel(r"quiescent noise scale $\alpha$")


def _measured(ax: Axes, x, values, color=P.QUIESCENT, label="measured", marker="o", fill=True) -> None:
    """Mean ± sd over seeds (rows of `values`) as points with error bars, ignoring NaN."""
    v = np.asarray(values, float)
    with warnings.catch_warnings():  # an α where every seed is NaN stays NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(v, axis=0)
        sd = np.nanstd(v, axis=0) if len(v) > 1 else np.zeros(v.shape[1])
    ax.errorbar(x, mean, yerr=sd, color=color, marker=marker, ms=3, lw=0.8, capsize=1.5, label=label,
                mfc=color if fill else "white")


def compute(settings: FigureSettings, alphas=ALPHAS) -> Temperature:
    """`temperature_sweep` for every seed's network of each model of the module's NOTEBOOK."""
    models = NOTEBOOK.models
    sweeps = {m.label: {seed: temperature_sweep(net, settings.analysis, seed, alphas)
                        for seed, net in settings.seeded(m)} for m in models}
    return Temperature(tuple(alphas), {m.label: f"{m.task}/{m.condition}" for m in models}, sweeps,
                       settings.analysis.quiescent_steps_kl // 2)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = TemperatureResults


def _alpha_star(kl: np.ndarray, labels: list[str]) -> str:
    """The label of the α minimising `kl`; "≥ <label> (grid edge)" where that is the largest α: the minimum is
    then not bracketed, and the grid gives only a lower bound on it."""
    if np.all(np.isnan(kl)):
        return "none"
    i = int(np.nanargmin(kl))
    return labels[i] if i < len(labels) - 1 else f"≥ {labels[i]} (grid edge)"


def check_ext_temperature_min(r: TemperatureResults, p: Params) -> Verdict:
    labels = r.alpha_labels
    star = {c: _alpha_star(r.nan_seed_mean(kl), labels) for c, kl in r.kl.items()}
    per_seed = {s: ", ".join(f"{c} {_alpha_star(np.array(kl.per_seed[s], float), labels)}" for c, kl in r.kl.items())
                for s in next(iter(r.kl.values())).per_seed}
    return Verdict(all(v == p["alpha_star"] for v in star.values()),
                   "; ".join(f"{c}: α* = {v}" for c, v in star.items()), per_seed)


def check_ext_temperature_fit(r: TemperatureResults, p: Params) -> Verdict:
    positive = [i for i, a in enumerate(r.alphas) if a > 0]
    parts, ok = [], True
    for c in r.kl:
        gap = np.abs(r.nan_seed_mean(r.kl[c]) - r.nan_seed_mean(r.kl_predicted_estimator[c]))[positive]
        with np.errstate(all="ignore"):  # α = 0 predicts variance 0; it is left out
            ratio = (r.nan_seed_mean(r.variance[c]) / r.nan_seed_mean(r.variance_predicted[c]))[positive]
        ok &= bool(np.all(gap <= p["max_kl_gap"])
                   and np.all((ratio >= p["min_variance_ratio"]) & (ratio <= p["max_variance_ratio"])))
        parts.append(f"{c}: max |ΔKL| {fmt(np.nanmax(gap))}, variance ×{np.nanmin(ratio):.2f}–{np.nanmax(ratio):.2f}")
    return Verdict(ok, "; ".join(parts))


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-temperature-min": check_ext_temperature_min, "ext-temperature-fit": check_ext_temperature_fit}


__all__ = ["ALPHAS", "alpha_label", "tempered", "Prediction", "sp_prediction", "hd_prediction", "TemperatureSweep",
           "temperature_sweep", "TemperatureResults", "Temperature", "compute"]
