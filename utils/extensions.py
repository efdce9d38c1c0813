"""Beyond the paper: the theory itself put to the test (docs/methods.md §2 and the open questions of §9).

Four notebooks and an explorer call this module:

- `temperature` (ext_temperature): quiescent noise std α × the trained one, α ∈ `ALPHAS`. Langevin algebra says the
  stationary density is then ∝ p^(2/α²), p the active density; we predict KL and variance from the active KDE
  on a grid (`sp_prediction`, `hd_prediction`) and measure them.
- `score_alignment_over_seeds` (ext_score): the deterministic quiescent drift of a network (one `rnn_step` with
  zero drive and zero noise, minus the state) against the score ∇ log p of its active states, both on the top
  active PCs; the theory says drift = σ²Δt · score (Δr1* = σ² ∇ log p Δt, per-step noise variance σ²Δt).
- `hd_metrics` (ext_hd_metrics): a von Mises KDE on the circle, KL(quiescent ‖ active) for the four HD networks
  with the baselines of Fig. 2e.
- `training_noise` (ext_training_noise): SP unbiased networks trained at several per-step noise variances.
- `explore_view` / `explore_widget` (explore): one network, one quiescent noise scale, drawn on demand.

Each returns a result object with `panels()`, `layout`, `figure_kw` (for `compose`), `results()` (for
`write_results`) and `summary()`, as `figures_supp` does. Randomness: the runs of the network of seed s draw
their trajectories and noise from s (so a network's quiescent run starts from its active batch's initial
states), the Monte-Carlo KL samples from s as well.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from scipy.signal import fftconvolve
from scipy.stats import gaussian_kde
from sklearn.decomposition import PCA

from . import analysis as A
from . import config as C
from . import plotting as P
from .experiments import FigureSettings, per_seed_and_mean
from .models import Network, rnn_step

# ----------------------------------------------------------------------------------------------------------
# Constants

ALPHAS = (0.0, 0.5, 1.0, math.sqrt(2), 2.0, 3.0)  # quiescent noise std / trained std (√2: Langevin-exact)

VM_KAPPA = 100.0       # von Mises kernel of every HD density: κ = 100, angular sd ≈ 1/√κ = 0.1 rad (5.7°)
CIRCLE_BINS = 720      # HD densities live on 720 bins of 0.5° (a tenth of the kernel's sd)
PRED_GRID = 64         # SP predictions: cells across the box (3.4 cm at 2.2 m, ~¼ of the KDE bandwidth)
PRED_PAD = 0.4         # SP predictions: the grid extends this far (m) beyond the box, where KDEs leak

SCORE_PCS = 4          # ext_score: PCs of the active states the score lives on (see `score_alignment`)
SCORE_KS = (1, 2, 3, 4, 6, 8, 10)  # ... and the sweep over k that shows how the answer depends on it
SCORE_EVAL = 500       # held-out active states at which drift and score are compared

# Labels of the conditions each notebook uses (task, condition).
TEMPERATURE_CONDITIONS = {"SP U^σ": ("spatial", "noisy_unbiased"), "SP B^σ": ("spatial", "noisy_biased"),
                          "HD U^σ": ("head_direction", "noisy_unbiased")}
SCORE_CONDITIONS = {"SP U^σ": ("spatial", "noisy_unbiased"), "SP U": ("spatial", "noiseless_unbiased"),
                    "HD U^σ": ("head_direction", "noisy_unbiased"), "HD U": ("head_direction", "noiseless_unbiased")}
HD_NETWORKS = {"U^σ": "noisy_unbiased", "U": "noiseless_unbiased", "B^σ": "noisy_biased", "B": "noiseless_biased"}
HD_ROWS = list(HD_NETWORKS)
HD_COLS = ["U^σ", "U", "𝒰", "B^σ", "B", "R^σ"]

# ext_training_noise: label -> (SP condition, config overrides). Per-step noise variance σ²Δt = noise_std²;
# "0" and "1e-4" are the noiseless_unbiased / noisy_unbiased networks of the figures; "uniform" is the released
# code's model: noise U[0, 1) · 0.01 (mean 0.005, variance 1e-4 / 12) and no bias, the network of
# ext_constant_drive's "as released" row. `utils.runner.NOTEBOOKS` lists the same models.
TRAINING_NOISE = {
    "0": ("noiseless_unbiased", {}),
    "1e-5": ("noisy_unbiased", {"noise_std": math.sqrt(1e-5)}),
    "1e-4": ("noisy_unbiased", {}),
    "1e-3": ("noisy_unbiased", {"noise_std": math.sqrt(1e-3)}),
    "uniform": ("noisy_unbiased", {"noise_kind": "uniform", "recurrent_bias": False}),
}

NOISELESS = "#7b3294"   # noiseless-trained networks
UNTRAINED = "0.55"      # untrained networks
SHUFFLED = "0.8"        # the shuffled control
THEORY = "black"        # the theory's prediction


def tex(label: str) -> str:
    """'SP U^σ' -> 'SP U$^\\sigma$' for matplotlib."""
    return label.replace("^σ", r"$^\sigma$")


def alpha_label(a: float) -> str:
    return "√2" if math.isclose(a, math.sqrt(2)) else f"{a:g}"


def _seeded(settings: FigureSettings, task: str, condition: str, **overrides) -> list[tuple[int, Network]]:
    return list(zip(settings.seeds, settings.networks(task, condition, **overrides)))


def compose(result, name: str, settings: FigureSettings):
    """Draw and save `name` (and `name_<key>` per panel) from a result's panels, layout and figure keywords."""
    return P.compose_figure(result.panels(), result.layout, name, settings.outputs_dir, settings.result_set,
                            **result.figure_kw)


# ----------------------------------------------------------------------------------------------------------
# Densities on the circle (HD): a von Mises KDE on a fine grid


def circle_grid(bins: int = CIRCLE_BINS) -> np.ndarray:
    """Bin centres over [−π, π)."""
    return -np.pi + (np.arange(bins) + 0.5) * 2 * np.pi / bins


def _circular_smooth(density: np.ndarray, kappa: float) -> np.ndarray:
    """Circular convolution of a grid density with the von Mises kernel of concentration `kappa` (by FFT)."""
    m = density.shape[-1]
    lag = 2 * np.pi * np.arange(m) / m
    kernel = np.exp(kappa * (np.cos(lag) - 1))
    kernel /= kernel.sum()  # sums to 1 over the bins: mass is kept exactly
    out = np.fft.irfft(np.fft.rfft(density) * np.fft.rfft(kernel), n=m)
    return np.maximum(out, 0.0)  # FFT round-off can leave −1e-18 where the density is ~0


def vonmises_kde(bearings: np.ndarray, kappa: float = VM_KAPPA, bins: int = CIRCLE_BINS) -> np.ndarray:
    """Von Mises KDE of bearings (any shape, radians) on `circle_grid(bins)`: a density (1/rad) that sums to
    1 × 2π/bins. Bearings are binned first (bins ≪ the kernel's width), then smoothed by FFT.

    One fixed kernel (κ = `VM_KAPPA`, sd ≈ 0.1 rad) for every density, so a KL compares two distributions
    smoothed alike. Not a data-driven rule: decoded bearings take few distinct values (the circular mean of
    three of the 512 preferred angles), which drives cross-validated bandwidths to zero, and plug-in rules
    fitted to a von Mises over-smooth the near-uniform bearings of these tasks into a flat line.
    """
    b = A.wrap(bearings).ravel()
    if b.size == 0:
        raise ValueError("vonmises_kde needs at least one bearing")
    hist = np.histogram(b, bins=bins, range=(-np.pi, np.pi))[0] / (b.size * 2 * np.pi / bins)
    return _circular_smooth(hist, kappa)


def uniform_circle(bins: int = CIRCLE_BINS) -> np.ndarray:
    return np.full(bins, 1 / (2 * np.pi))


def grid_kl(q: np.ndarray, p: np.ndarray, cell: float) -> float:
    """KL(q ‖ p) in nats by quadrature of two densities on one grid of cells of area `cell`: Σ q log(q/p) · cell,
    the ratio clipped to `analysis.KL_CLIP` as in the Monte-Carlo estimator of Fig. 2e."""
    q, p = np.asarray(q, float).ravel(), np.asarray(p, float).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, q / np.where(p > 0, p, 1.0), np.inf)
    keep = q > 0
    return float(np.sum(q[keep] * np.log(np.clip(ratio[keep], *A.KL_CLIP))) * cell)


def circular_kl(q: np.ndarray, p: np.ndarray) -> float:
    """KL(q ‖ p) of two densities on `circle_grid` (same number of bins)."""
    return grid_kl(q, p, 2 * np.pi / q.shape[-1])


def circular_variance(bearings: np.ndarray) -> float:
    """1 − R, R the length of the mean resultant vector of all bearings: 0 all equal, 1 uniform."""
    b = np.asarray(bearings, float).ravel()
    return float(1 - np.abs(np.exp(1j * b).mean()))


def circular_variance_per_trajectory(bearings: np.ndarray) -> float:
    """Mean over trajectories of 1 − R of each trajectory's bearings (B, T[, 1]): how far each one explores."""
    b = np.asarray(bearings, float)
    b = b[..., 0] if b.ndim == 3 else b
    return float(np.mean(1 - np.abs(np.exp(1j * b).mean(axis=1))))


def density_circular_variance(density: np.ndarray) -> float:
    theta = circle_grid(density.shape[-1])
    return float(1 - np.abs(np.sum(density * np.exp(1j * theta)) * 2 * np.pi / density.shape[-1]))


# ----------------------------------------------------------------------------------------------------------
# The temperature prediction: stationary density ∝ p^(2/α²)


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
    kl, kl_est, var = [], [], []
    for alpha in alphas:
        pa_in = tempered(p_box[inside], alpha, cell)
        var.append(_grid_variance(pa_in, xy_in, cell))
        if alpha == 0:
            kl.append(np.inf)
            kl_est.append(np.inf)
            continue
        kl.append(grid_kl(pa_in, p_box[inside], cell))
        pa = np.zeros(gx.shape)
        pa[inside] = pa_in
        w = pa_in * cell
        mean = w @ xy_in
        cov = ((xy_in - mean) * w[:, None]).T @ (xy_in - mean)
        kernel = _gaussian_kernel(n_quiescent ** (-1 / 3) * cov, h)  # Scott: factor n^(−1/(d+4)), d = 2
        smoothed = pa if kernel is None else np.maximum(fftconvolve(pa, kernel, mode="same"), 0.0)
        kl_est.append(grid_kl(smoothed, p_raw, cell))
    return Prediction(np.array(kl), np.array(kl_est), np.array(var), _grid_variance(p_box[inside], xy_in, cell))


def hd_prediction(active_density: np.ndarray, alphas=ALPHAS, kappa: float = VM_KAPPA) -> Prediction:
    """The theory's KL and circular variance for each α from an HD network's active von Mises KDE p.

    p_α ∝ p^(2/α²) on the circle. `kl`: exact KL(p_α ‖ p). `kl_estimator`: KL(p_α ⊛ kernel ‖ p), because the
    measured quiescent density is a KDE with the same von Mises kernel."""
    cell = 2 * np.pi / active_density.shape[-1]
    kl, kl_est, var = [], [], []
    for alpha in alphas:
        pa = tempered(active_density, alpha, cell)
        var.append(density_circular_variance(pa))
        if alpha == 0:
            kl.append(np.inf)
            kl_est.append(np.inf)
            continue
        kl.append(circular_kl(pa, active_density))
        kl_est.append(circular_kl(_circular_smooth(pa, kappa), active_density))
    return Prediction(np.array(kl), np.array(kl_est), np.array(var), density_circular_variance(active_density))


# ----------------------------------------------------------------------------------------------------------
# 1. Temperature: quiescent noise scale α


@dataclass
class TemperatureSweep:
    """One network over α: measured and predicted KL(quiescent ‖ active) and variance, each (A,)."""
    kl: np.ndarray
    variance: np.ndarray               # pooled over trajectories and (post burn-in) steps
    variance_per_trajectory: np.ndarray  # Fig. 2f style: within each trajectory, averaged (exploration)
    prediction: Prediction


def _sp_kl(q_points: np.ndarray, active_kde: gaussian_kde, n_samples: int, seed: int) -> float:
    """Fig. 2e's KL(quiescent KDE ‖ active KDE); NaN when the quiescent points are degenerate (all on one point
    or one line, as noiseless dynamics can leave them), where no Gaussian KDE exists."""
    try:
        return A.kl_divergence(q_points, active_kde, n_samples, seed)
    except (np.linalg.LinAlgError, ValueError):
        return float("nan")


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
        p = vonmises_kde(active)
        pred = hd_prediction(p, alphas)
    h0 = A.initial_hidden(net, a.n_kde, seed)  # the active batch's starts, drawn once for every α
    kl, var, var_traj = [], [], []
    for alpha in alphas:
        q = A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, alpha * net.cfg.noise_std, seed, h0=h0,
                            keep_states=False).decoded[:, burn:]
        if spatial:
            kl.append(_sp_kl(q, p_kde, a.kl_samples, seed))
            var.append(float(A.flat_points(q).var(axis=0, ddof=1).sum()))
            var_traj.append(A.total_variance(q))
        else:
            kl.append(circular_kl(vonmises_kde(q), p))
            var.append(circular_variance(q))
            var_traj.append(circular_variance_per_trajectory(q))
    return TemperatureSweep(np.array(kl), np.array(var), np.array(var_traj), pred)


@dataclass
class Temperature:
    """ext_temperature: label -> seed -> `TemperatureSweep`."""
    alphas: tuple
    conditions: dict[str, tuple[str, str]]
    sweeps: dict[str, dict[int, TemperatureSweep]]
    burn_in: int
    layout: str = "abc;def"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 3.6)})

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

    def results(self) -> dict[str, Any]:
        with np.errstate(invalid="ignore"):  # sd of the +∞ predicted at α = 0 is NaN; JSON writes both as null
            return self._results()

    def _results(self) -> dict[str, Any]:
        def psm(label, what):
            return per_seed_and_mean(dict(zip(self.sweeps[label], self.stack(label, what))))
        out: dict[str, Any] = {"alphas": list(self.alphas), "alpha_labels": [alpha_label(a) for a in self.alphas],
                               "conditions": {k: "/".join(v) for k, v in self.conditions.items()},
                               "burn_in_steps": self.burn_in}
        for key, what in (("kl", "kl"), ("kl_predicted", "prediction.kl"),
                          ("kl_predicted_estimator", "prediction.kl_estimator"), ("variance", "variance"),
                          ("variance_predicted", "prediction.variance"),
                          ("variance_per_trajectory", "variance_per_trajectory")):
            out[key] = {label: psm(label, what) for label in self.sweeps}
        out["variance_active"] = {label: per_seed_and_mean({s: w.prediction.active_variance for s, w in sw.items()})
                                  for label, sw in self.sweeps.items()}
        out["argmin_alpha"] = {label: self.argmin_alpha(label) for label in self.sweeps}
        out["kl_minus_predicted_estimator"] = {
            label: np.nanmean(self.stack(label, "kl") - self.stack(label, "prediction.kl_estimator"), axis=0)
            for label in self.sweeps}
        return out

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

    def panels(self) -> dict:
        out = {}
        for key, label in zip("abc", self.sweeps):
            out[key] = _temperature_kl_panel(self, label)
        for key, label in zip("def", self.sweeps):
            out[key] = _temperature_variance_panel(self, label)
        return out


def _alpha_axis(ax: Axes, alphas) -> None:
    ax.set_xticks(list(alphas), [alpha_label(a) for a in alphas])
    ax.axvline(math.sqrt(2), color="0.7", lw=0.6, ls=":", zorder=0)
    ax.set_xlabel(r"quiescent noise scale $\alpha$")


def _measured(ax: Axes, x, values, color=P.QUIESCENT, label="measured", marker="o", fill=True):
    """Mean ± sd over seeds (rows of `values`) as points with error bars, ignoring NaN."""
    v = np.asarray(values, float)
    with warnings.catch_warnings():  # an α where every seed is NaN stays NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(v, axis=0)
        sd = np.nanstd(v, axis=0) if len(v) > 1 else np.zeros(v.shape[1])
    ax.errorbar(x, mean, yerr=sd, color=color, marker=marker, ms=3, lw=0.8, capsize=1.5, label=label,
                mfc=color if fill else "white")


def _temperature_kl_panel(t: Temperature, label: str):
    def draw(ax):
        x = np.array(t.alphas)
        pos = x > 0
        ax.plot(x[pos], np.nanmean(t.stack(label, "prediction.kl"), axis=0)[pos], color=THEORY, ls="--",
                label=r"theory $p^{2/\alpha^2}$")
        ax.plot(x[pos], np.nanmean(t.stack(label, "prediction.kl_estimator"), axis=0)[pos], color="0.5",
                label="theory, via the KDE")
        _measured(ax, x, t.stack(label, "kl"))
        ax.plot([], [], ls="none", label=r"(theory at $\alpha$ = 0: $\infty$)")
        _alpha_axis(ax, t.alphas)
        ax.set_ylabel("KL(quiescent ‖ active) (nats)")
        ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
        ax.set_title(tex(label))
        if label == next(iter(t.sweeps)):
            ax.legend(loc="best", fontsize=5)
    return draw


def _temperature_variance_panel(t: Temperature, label: str):
    spatial = label.startswith("SP")

    def draw(ax):
        x = np.array(t.alphas)
        ax.plot(x, np.nanmean(t.stack(label, "prediction.variance"), axis=0), color=THEORY, ls="--",
                label="theory")
        _measured(ax, x, t.stack(label, "variance"), label="pooled")
        _measured(ax, x, t.stack(label, "variance_per_trajectory"), label="within trajectory", marker="s",
                  fill=False)
        ax.axhline(np.mean([s.prediction.active_variance for s in t.sweeps[label].values()]), color=P.ACTIVE,
                   lw=0.7, ls=":", label="active")
        _alpha_axis(ax, t.alphas)
        ax.set_ylabel("total variance (m²)" if spatial else "circular variance")
        ax.set_ylim(bottom=0)
        if label == next(iter(t.sweeps)):
            ax.legend(loc="best", fontsize=5)
    return draw


def temperature(settings: FigureSettings, alphas=ALPHAS) -> Temperature:
    """`temperature_sweep` for every seed's network of each of `TEMPERATURE_CONDITIONS`."""
    sweeps: dict[str, dict[int, TemperatureSweep]] = {}
    for label, (task, condition) in TEMPERATURE_CONDITIONS.items():
        sweeps[label] = {seed: temperature_sweep(net, settings.analysis, seed, alphas)
                         for seed, net in _seeded(settings, task, condition)}
    return Temperature(tuple(alphas), dict(TEMPERATURE_CONDITIONS), sweeps, settings.analysis.quiescent_steps_kl // 2)


# ----------------------------------------------------------------------------------------------------------
# 2. Score: does the quiescent drift follow ∇ log p?


def kde_score(fit: np.ndarray, points: np.ndarray, chunk: int = 500) -> np.ndarray:
    """∇_z log p̂(z) at `points` (m, k), p̂ the Gaussian KDE (Scott bandwidth, as `scipy.stats.gaussian_kde`) of
    `fit` (n, k): Σ_i w_i(z) H⁻¹(z_i − z), w the normalised kernel weights, H the kernel covariance.

    This is the exact score of the empirical distribution smoothed with N(0, H), i.e. the minimiser of the
    denoising score-matching loss at noise covariance H on that sample (Tweedie / Miyasawa): denoising score
    matching with a network would estimate the same smoothed score, with training noise and hyper-parameters
    on top. The smoothing shrinks the score where the data are thinner than H.
    """
    fit, points = np.asarray(fit, float), np.asarray(points, float)
    kde = gaussian_kde(fit.T)
    inv = np.atleast_2d(kde.inv_cov)
    chol = np.linalg.cholesky(inv)  # inv = L Lᵀ: (z − z_i)ᵀ inv (z − z_i) = ‖(z − z_i) L‖²
    yf = fit @ chol
    nf = (yf ** 2).sum(axis=1)
    out = np.empty_like(points)
    for i in range(0, len(points), chunk):
        z = points[i:i + chunk]
        yz = z @ chol
        logw = -0.5 * ((yz ** 2).sum(axis=1)[:, None] + nf[None] - 2 * yz @ yf.T)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        out[i:i + chunk] = (w @ fit - z) @ inv
    return out


@torch.no_grad()
def quiescent_drift(net: Network, hidden: np.ndarray) -> np.ndarray:
    """The deterministic part of one quiescent step at each state (m, N): `rnn_step` with zero drive and zero
    noise, minus the state. With ds/dt = 0 the signal term Δr2 vanishes, so this is the network's Δr1."""
    if net.cfg.cell != "rnn":
        raise ValueError("quiescent_drift is written for the vanilla RNN")
    w = net.w_rec.weight
    h = torch.as_tensor(np.asarray(hidden), dtype=w.dtype, device=w.device)
    drive = net.input_drive(h.new_zeros(h.shape[0], net.w_in.in_features))  # the bias, or zero
    return (rnn_step(h, drive, torch.zeros_like(h), w, net.alpha) - h).cpu().numpy().astype(np.float64)


def cosines(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of (m, k) arrays (0 where a row is zero)."""
    nu, nv = np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1)
    dot = (u * v).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((nu > 0) & (nv > 0), dot / (nu * nv), 0.0)


def slope_through_origin(y: np.ndarray, x: np.ndarray) -> float:
    """Least-squares b of y ≈ b x over all rows and components: Σ x·y / Σ x·x."""
    return float((x * y).sum() / (x * x).sum())


@dataclass
class ScoreAlignment:
    """One network: drift and score at held-out active states on the top active PCs."""
    k: int
    noise_std: float          # per-step noise std the network was trained with (0: noiseless)
    drift: np.ndarray         # (m, k) projected deterministic quiescent drift
    score: np.ndarray         # (m, k) KDE score of the active states' PC-space density
    cosine: np.ndarray        # (m,) cos(drift, score)
    cosine_shuffled: np.ndarray  # (m,) cos(drift, score of a random other held-out state)
    slope: float              # drift ≈ slope × score, through the origin
    median_cosine_by_k: np.ndarray  # (len(ks),) median cosine with k = ks[i] PCs

    @property
    def theory_slope(self) -> float:
        """σ²Δt = noise_std²: Δr1* = σ² ∇log p Δt with per-step noise variance σ²Δt."""
        return self.noise_std ** 2


def score_alignment(net: Network, n_trajectories: int, steps: int, seed: int, k: int = SCORE_PCS,
                    n_eval: int = SCORE_EVAL, ks=SCORE_KS) -> ScoreAlignment:
    """Drift against score for one network.

    An active run of `n_trajectories` × `steps` (trained noise, seed `seed`); its first half of trajectories
    fits the PCA and the KDE, its second half gives `n_eval` held-out states (drawn at random, seeded), so no
    state is scored by a KDE containing itself. Both vectors are compared on the top `k` PCs: a KDE's score
    degrades fast with dimension (Scott's factor n^(−1/(k+4)) is 0.40 for k = 4 and 0.52 for k = 10 at
    n = 10⁴), and the active states are low-dimensional (a sheet for SP, a ring for HD; Fig. 1c), so
    k = 4 keeps the shape and stays estimable; `median_cosine_by_k` shows the answer for every k in `ks`.

    Projection: the score of the PC-space marginal is E[V ∇_r log p(r) | z], the conditional mean of the
    projected full score (V the PC axes). If drift = σ²Δt ∇_r log p, the projected drift regressed on the
    marginal score therefore still has slope σ²Δt, while the cosine is lowered by the spread of the projected
    full score around its conditional mean (and by the KDE's smoothing, which also biases the slope upwards
    where it shrinks the score).

    What the slope can tell apart: any network whose states fluctuate about an attractor under its own noise
    has drift ≈ ½σ²Δt × score in the directions that noise sets (the zero-current condition of a reversible
    diffusion at equilibrium, f = ½σ²∇log p; with a per-step contraction a, 1/(2 − a) rather than ½: 0.56 for
    SP's Δt/τ = 0.2, 0.67 for HD's 0.5), trained or not. The theory's denoiser has σ²Δt, on the distribution
    the task shapes; the untrained network shows what equilibrium (and relaxation from the start) alone gives.
    """
    run = A.active_run(net, n_trajectories, steps, seed)
    half = n_trajectories // 2
    if half < 1 or n_trajectories - half < 1:
        raise ValueError("score_alignment needs at least 2 trajectories")
    n_units = run.hidden.shape[-1]
    fit = run.hidden[:half].reshape(-1, n_units).astype(np.float64)
    held = run.hidden[half:].reshape(-1, n_units).astype(np.float64)
    rng = np.random.default_rng(seed)
    held = held[rng.choice(len(held), size=min(n_eval, len(held)), replace=False)]
    k_max = min(max(max(ks), k), n_units, len(fit) - 1)
    pca = PCA(n_components=k_max, random_state=0).fit(fit)
    z_fit, z_held = pca.transform(fit), pca.transform(held)
    drift_full = quiescent_drift(net, held) @ pca.components_.T  # a vector: projected without centring
    by_k = []
    for kk in ks:
        kk = min(kk, k_max)
        by_k.append(float(np.median(cosines(drift_full[:, :kk], kde_score(z_fit[:, :kk], z_held[:, :kk])))))
    k = min(k, k_max)
    score = kde_score(z_fit[:, :k], z_held[:, :k])
    drift = drift_full[:, :k]
    perm = rng.permutation(len(score))
    return ScoreAlignment(k, net.cfg.noise_std, drift, score, cosines(drift, score), cosines(drift, score[perm]),
                          slope_through_origin(drift, score), np.array(by_k))


@dataclass
class Score:
    """ext_score: label ('SP U^σ', 'SP U', 'SP R^σ', 'HD …') -> seed -> `ScoreAlignment`."""
    k: int
    ks: tuple
    groups: dict[str, str]
    alignments: dict[str, dict[int, ScoreAlignment]]
    layout: str = "abc;def"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 3.6)})

    def per_seed(self, label: str, fn) -> dict[int, Any]:
        return {s: fn(x) for s, x in self.alignments[label].items()}

    def results(self) -> dict[str, Any]:
        def psm(fn):
            return {label: per_seed_and_mean(self.per_seed(label, fn)) for label in self.alignments}
        first = {label: next(iter(v.values())) for label, v in self.alignments.items()}
        return {
            "k": self.k, "ks": list(self.ks), "groups": self.groups,
            "n_eval": {label: len(a.cosine) for label, a in first.items()},
            "median_cosine": psm(lambda a: np.median(a.cosine)),
            "median_cosine_shuffled": psm(lambda a: np.median(a.cosine_shuffled)),
            "mean_cosine": psm(lambda a: np.mean(a.cosine)),
            "cosine_quartiles": psm(lambda a: np.percentile(a.cosine, [25, 50, 75])),
            "median_cosine_by_k": psm(lambda a: a.median_cosine_by_k),
            "slope": psm(lambda a: a.slope),
            "theory_slope": {label: a.theory_slope for label, a in first.items()},
            "slope_over_theory": {label: per_seed_and_mean(self.per_seed(
                label, lambda a: a.slope / a.theory_slope if a.theory_slope > 0 else float("nan")))
                for label in self.alignments},
        }

    def summary(self) -> str:
        lines = [f"on the top {self.k} active PCs, held-out states; mean over seeds",
                 f"{'':8} {'median cos':>10} {'shuffled':>9} {'slope':>10} {'σ²Δt':>8} {'ratio':>7}"]
        for label in self.alignments:
            a = list(self.alignments[label].values())
            cos = np.mean([np.median(x.cosine) for x in a])
            sh = np.mean([np.median(x.cosine_shuffled) for x in a])
            slope = np.mean([x.slope for x in a])
            th = a[0].theory_slope
            ratio = f"{slope / th:7.2f}" if th > 0 else "      –"
            lines.append(f"{label:8} {cos:10.3f} {sh:9.3f} {slope:10.3g} {th:8.2g} {ratio}")
        return "\n".join(lines)

    def panels(self) -> dict:
        return {"a": _cosine_hist_panel(self, "SP"), "b": _cosine_hist_panel(self, "HD"),
                "c": _cosine_by_k_panel(self),
                "d": _scatter_panel(self, "SP U^σ"), "e": _scatter_panel(self, "HD U^σ"),
                "f": _slope_panel(self)}


def _group_style(label: str) -> tuple[str, str]:
    kind = label.split(" ", 1)[1]
    return {"U^σ": (P.QUIESCENT, "noisy-trained"), "U": (NOISELESS, "noiseless-trained"),
            "R^σ": (UNTRAINED, "untrained")}[kind]


def _cosine_hist_panel(s: Score, task: str):
    def draw(ax):
        bins = np.linspace(-1, 1, 21)
        labels = [lab for lab in s.alignments if lab.startswith(task)]
        for label in labels:
            color, name = _group_style(label)
            c = np.concatenate([a.cosine for a in s.alignments[label].values()])
            ax.hist(c, bins=bins, histtype="step", color=color, lw=1.0, density=True, label=name)
        trained = f"{task} U^σ"
        if trained in s.alignments:
            c = np.concatenate([a.cosine_shuffled for a in s.alignments[trained].values()])
            ax.hist(c, bins=bins, color=SHUFFLED, density=True, label="noisy, shuffled", zorder=0)
        ax.set_xlabel("cos(drift, score)")
        ax.set_ylabel("density")
        ax.set_title(f"{task}, top {s.k} PCs")
        ax.legend(loc="upper left", fontsize=5)
    return draw


def _cosine_by_k_panel(s: Score):
    def draw(ax):
        for label in s.alignments:
            color, _ = _group_style(label)
            v = np.array([a.median_cosine_by_k for a in s.alignments[label].values()])
            ax.plot(s.ks, v.mean(axis=0), color=color, ls="-" if label.startswith("SP") else "--", marker=".",
                    label=tex(label))
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(s.k, color="0.7", lw=0.6, ls=":")
        ax.set_xticks(list(s.ks))
        ax.set_xlabel("PCs k")
        ax.set_ylabel("median cos(drift, score)")
        ax.legend(fontsize=5, ncol=2, loc="lower left")
    return draw


def _scatter_panel(s: Score, label: str):
    def draw(ax):
        if label not in s.alignments:
            ax.axis("off")
            return
        a = next(iter(s.alignments[label].values()))
        x, y = a.score[:, 0], a.drift[:, 0]
        ax.scatter(x, y, s=1, color=P.QUIESCENT, alpha=0.4, linewidths=0, rasterized=True)
        lim = np.percentile(np.abs(x), 99) if len(x) else 1.0
        xs = np.array([-lim, lim])
        ax.plot(xs, a.theory_slope * xs, color=THEORY, ls="--", label=r"theory: $\sigma^2\Delta t$ × score")
        ax.plot(xs, a.slope * xs, color="0.5", label="fit (all PCs)")
        ax.set_xlim(-lim, lim)
        ax.set_xlabel("score, PC1")
        ax.set_ylabel("drift, PC1")
        ax.set_title(f"{tex(label)}, seed {next(iter(s.alignments[label]))}")
        ax.legend(fontsize=5, loc="upper left")
    return draw


def _slope_panel(s: Score):
    def draw(ax):
        labels = list(s.alignments)
        x = np.arange(len(labels))
        for i, label in enumerate(labels):
            color, _ = _group_style(label)
            v = [a.slope for a in s.alignments[label].values()]
            ax.scatter(np.full(len(v), i), v, color=color, s=6, zorder=3)
            th = next(iter(s.alignments[label].values())).theory_slope
            if th > 0:
                ax.plot([i - 0.3, i + 0.3], [th, th], color=THEORY, lw=1)
                ax.plot([i - 0.3, i + 0.3], [th / 2, th / 2], color=THEORY, lw=0.6, ls=":")
        ax.axhline(0, color="black", lw=0.5)
        linthresh = 1e-6
        ax.set_yscale("symlog", linthresh=linthresh)
        lo = min(min(a.slope for v in s.alignments.values() for a in v.values()), 0)
        if lo >= 0:
            ax.set_ylim(bottom=-linthresh)
        ax.set_xticks(x, [tex(lab) for lab in labels], rotation=45, ha="right")
        ax.set_ylabel("slope of drift on score")
        ax.set_title(r"— theory $\sigma^2\Delta t$,  ··· equilibrium $\frac{1}{2}\sigma^2\Delta t$", fontsize=5)
    return draw


def score_alignment_over_seeds(settings: FigureSettings, k: int = SCORE_PCS, n_eval: int = SCORE_EVAL,
                               ks=SCORE_KS) -> Score:
    """`score_alignment` for the networks of `SCORE_CONDITIONS` and, per task, the noisy network's untrained
    initial weights (`analysis.random_network_like`, its noise the trained one): `n_kde` trajectories of
    `active_steps` steps per network."""
    a = settings.analysis
    out: dict[str, dict[int, ScoreAlignment]] = {}
    groups = {}
    for label, (task, condition) in SCORE_CONDITIONS.items():
        groups[label] = f"{task}/{condition}"
        nets = _seeded(settings, task, condition)
        out[label] = {seed: score_alignment(net, a.n_kde, a.active_steps, seed, k, n_eval, ks) for seed, net in nets}
        if condition == "noisy_unbiased":
            untrained = f"{label.split()[0]} R^σ"
            groups[untrained] = f"{task}/untrained ({condition} weights before training)"
            out[untrained] = {seed: score_alignment(A.random_network_like(net, seed), a.n_kde, a.active_steps, seed,
                                                    k, n_eval, ks) for seed, net in nets}
    order = [f"{t} {g}" for t in ("SP", "HD") for g in ("U^σ", "U", "R^σ")]
    return Score(k, tuple(ks), groups, {lab: out[lab] for lab in order if lab in out})


# ----------------------------------------------------------------------------------------------------------
# 3. HD metrics: KL between von Mises KDEs, as Fig. 2e


@dataclass
class HDMetrics:
    seeds: list[int]
    kappa: float
    matrices: np.ndarray                   # (S, 4, 6) KL(quiescent column ‖ active row), nats
    histogram_kl: dict[str, dict[int, float]]  # row -> seed -> 20-bin histogram KL of its own quiescence (Fig. 3)
    densities: dict[str, np.ndarray]       # first seed: "<row> active" / "<col> quiescent" -> density on the grid
    noise_std: dict[str, float]
    layout: str = "abc"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 1.9), "width_ratios": [1.5, 1, 1]})

    @property
    def mean(self) -> np.ndarray:
        return self.matrices.mean(axis=0)

    def row_spread(self) -> np.ndarray:
        """(S,) mean over columns of (max − min over rows): how much the active row matters."""
        return (self.matrices.max(axis=1) - self.matrices.min(axis=1)).mean(axis=1)

    def column_spread(self) -> np.ndarray:
        """(S,) mean over rows of (max − min over columns): how much the quiescent column matters."""
        return (self.matrices.max(axis=2) - self.matrices.min(axis=2)).mean(axis=1)

    def results(self) -> dict[str, Any]:
        by_seed = lambda v: dict(zip(self.seeds, v))  # noqa: E731
        return {"kl_rows": HD_ROWS, "kl_cols": HD_COLS, "kappa": self.kappa, "bins": CIRCLE_BINS,
                "kl_matrix": per_seed_and_mean(by_seed(self.matrices)),
                "row_spread": per_seed_and_mean(by_seed(self.row_spread())),
                "column_spread": per_seed_and_mean(by_seed(self.column_spread())),
                "histogram_kl_own": {r: per_seed_and_mean(v) for r, v in self.histogram_kl.items()},
                "quiescent_noise_std": self.noise_std}

    def summary(self) -> str:
        lines = [f"KL(quiescent column ‖ active row), von Mises KDE κ = {self.kappa:g}, nats, mean over seeds:",
                 "      " + "".join(f"{c:>8}" for c in HD_COLS)]
        lines += [f"{r:>6}" + "".join(f"{x:8.3f}" for x in row) for r, row in zip(HD_ROWS, self.mean)]
        lines.append(f"spread across rows {self.row_spread().mean():.3f}, across columns "
                     f"{self.column_spread().mean():.3f} nats (mean of max − min)")
        lines.append("own-quiescence KL with Fig. 3's 20-bin histograms: "
                     + ", ".join(f"{r} {np.mean(list(v.values())):.3f}" for r, v in self.histogram_kl.items()))
        return "\n".join(lines)

    def panels(self) -> dict:
        theta = circle_grid()
        row_styles = {"U^σ": "-", "U": ":", "B^σ": "--", "B": "-."}

        def densities(ax, kind):
            for name, d in self.densities.items():
                label, which = name.rsplit(" ", 1)
                if which != kind:
                    continue
                if kind == "active":
                    color, ls = P.ACTIVE, row_styles[label]
                else:
                    color = {"R^σ": UNTRAINED, "U": NOISELESS, "B": NOISELESS}.get(label, P.QUIESCENT)
                    ls = row_styles.get(label, "-")
                ax.plot(theta, d, color=color, ls=ls, lw=0.8, label=tex(label))
            ax.axhline(1 / (2 * np.pi), color="black", lw=0.5, ls=(0, (1, 2)), label=r"$\mathcal{U}$")
            ax.set_xlim(-np.pi, np.pi)
            ax.set_xticks([-np.pi, 0, np.pi], [r"$-\pi$", "0", r"$\pi$"])
            ax.set_xlabel("decoded bearing")
            ax.set_ylabel("density (1/rad)")
            ax.set_yscale("log")
            ax.set_ylim(1e-3, max(2.0, max(float(d.max()) for d in self.densities.values()) * 1.5))
            ax.set_title(f"{kind}, seed {self.seeds[0]}")
            ax.legend(fontsize=5, ncol=3, loc="lower center", handlelength=1.5, columnspacing=0.8)

        return {"a": lambda ax: P.plot_kl_matrix(ax, self.mean),
                "b": lambda ax: densities(ax, "active"),
                "c": lambda ax: densities(ax, "quiescent")}


def hd_metrics(settings: FigureSettings, kappa: float = VM_KAPPA) -> HDMetrics:
    """Fig. 2e for HD: rows = `n_kde` active trajectories of `active_steps` of the four HD networks, columns =
    `n_kde` quiescent trajectories of `quiescent_steps_kl` (√2 × trained noise, so U and B stay noiseless), the
    uniform density on the circle 𝒰 and the U^σ network before training in noisy quiescence (R^σ); every
    density a von Mises KDE of concentration `kappa` (`vonmises_kde`), KL by quadrature on the circle."""
    a = settings.analysis
    nets = {label: _seeded(settings, "head_direction", cond) for label, cond in HD_NETWORKS.items()}
    matrices, hist_kl = [], {r: {} for r in HD_ROWS}
    densities: dict[str, np.ndarray] = {}
    noise_std: dict[str, float] = {}
    for i, seed in enumerate(settings.seeds):
        act, qui = {}, {}
        for label in HD_ROWS:
            net = nets[label][i][1]
            act_b = A.active_run(net, a.n_kde, a.active_steps, seed).decoded
            q = A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, "scaled", seed, keep_states=False)
            act[label], qui[label], noise_std[label] = vonmises_kde(act_b, kappa), vonmises_kde(q.decoded, kappa), q.noise_std
            hist_kl[label][seed] = A.bearing_histogram_kl(q.decoded, act_b)
        rand = A.random_network_like(nets["U^σ"][i][1], seed)
        r = A.quiescent_run(rand, a.n_kde, a.quiescent_steps_kl, "scaled", seed, keep_states=False)
        qui["R^σ"], noise_std["R^σ"] = vonmises_kde(r.decoded, kappa), r.noise_std
        qui["𝒰"] = uniform_circle()
        matrices.append([[circular_kl(qui[c], act[row]) for c in HD_COLS] for row in HD_ROWS])
        if i == 0:
            densities = {f"{k} active": v for k, v in act.items()} | {f"{k} quiescent": qui[k] for k in HD_COLS
                                                                      if k != "𝒰"}
    return HDMetrics(list(settings.seeds), kappa, np.array(matrices), hist_kl, densities, noise_std)


# ----------------------------------------------------------------------------------------------------------
# 4. Training noise level


def noise_moments(std: float, kind: str) -> tuple[float, float]:
    """(mean, variance) of one per-step noise sample: Gaussian N(0, std²), or the released code's U[0, 1) · std and
    the Gaussian with its moments (`models.draw_noise`)."""
    return (0.0, std ** 2) if kind == "gaussian" else (std / 2, std ** 2 / 12)


@dataclass
class TrainingNoise:
    """ext_training_noise: level -> seed -> value, for each quantity."""
    levels: dict[str, dict[str, Any]]           # label -> condition, overrides, noise std/kind/mean/variance
    decode_error: dict[str, dict[int, float]]   # final test decoding MSE (m² per coordinate)
    kl: dict[str, dict[int, float]]             # Fig. 2e KL(quiescent ‖ active), quiescence √2 × trained noise
    total_variance: dict[str, dict[int, float]]  # Fig. 2f total quiescent variance (m²)
    layout: str = "abc"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 1.9)})

    def results(self) -> dict[str, Any]:
        return {"levels": self.levels,
                "decode_error": {k: per_seed_and_mean(v) for k, v in self.decode_error.items()},
                "kl": {k: per_seed_and_mean(v) for k, v in self.kl.items()},
                "total_variance": {k: per_seed_and_mean(v) for k, v in self.total_variance.items()}}

    def summary(self) -> str:
        lines = [f"{'σ²Δt':>8} {'decode MSE':>11} {'KL':>7} {'variance':>9}  (mean over seeds)"]
        for k in self.levels:
            lines.append(f"{k:>8} {np.mean(list(self.decode_error[k].values())):11.4g} "
                         f"{np.nanmean(list(self.kl[k].values())):7.3f} "
                         f"{np.mean(list(self.total_variance[k].values())):9.4g}")
        return "\n".join(lines)

    def panels(self) -> dict:
        def draw(values, ylabel, log=False):
            def f(ax):
                labels = list(self.levels)
                for i, k in enumerate(labels):
                    v = np.array(list(values[k].values()), float)
                    color = P.QUIESCENT if self.levels[k]["noise_std"] > 0 else NOISELESS
                    ax.scatter(np.full(len(v), i), v, s=6, color=color, zorder=3, linewidths=0)
                    ax.plot([i - 0.25, i + 0.25], [np.nanmean(v)] * 2, color="black", lw=1)
                ax.set_xticks(range(len(labels)), [("U[0,1)·0.01" if k == "uniform" else k) for k in labels],
                              rotation=30, ha="right")
                ax.set_xlabel(r"training noise $\sigma^2\Delta t$")
                ax.set_ylabel(ylabel)
                if log:
                    ax.set_yscale("log")
            return f
        return {"a": draw(self.decode_error, "decoding MSE (m²)", log=True),
                "b": draw(self.kl, "KL(quiescent ‖ active) (nats)"),
                "c": draw(self.total_variance, "total quiescent variance (m²)", log=True)}


def training_noise(settings: FigureSettings, levels: dict = TRAINING_NOISE) -> TrainingNoise:
    """For each training noise level of `levels`, every seed's SP unbiased network: its final test decoding error,
    the Fig. 2e KL (`n_kde` active × `active_steps` against `n_kde` quiescent × `quiescent_steps_kl`,
    `kl_samples` samples; quiescence √2 × the trained noise, of the trained kind, so the noiseless network stays
    noiseless) and the Fig. 2f total variance (`n_variance` × `variance_steps`, first half dropped)."""
    a = settings.analysis
    info, err, kl, var = {}, {}, {}, {}
    for label, (condition, overrides) in levels.items():
        err[label], kl[label], var[label] = {}, {}, {}
        for seed, net in _seeded(settings, "spatial", condition, **overrides):
            std, kind = net.cfg.noise_std, net.cfg.noise_kind
            mean, variance = noise_moments(std, kind)
            info[label] = {"condition": condition, "overrides": overrides, "noise_std": std, "noise_kind": kind,
                           "noise_mean": mean, "noise_variance": variance, "quiescent_noise_std": math.sqrt(2) * std}
            err[label][seed] = float(net.metrics["test_decode_error"][-1])
            act = A.active_run(net, a.n_kde, a.active_steps, seed).decoded
            q = A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, "scaled", seed, keep_states=False).decoded
            kl[label][seed] = _sp_kl(q, A.kde(act), a.kl_samples, seed)
            long = A.quiescent_run(net, a.n_variance, a.variance_steps, "scaled", seed, keep_states=False).decoded
            var[label][seed] = A.total_variance(long, burn_in=a.variance_steps // 2)
    return TrainingNoise(info, err, kl, var)


# ----------------------------------------------------------------------------------------------------------
# 5. The explorer


def explore_noise_std(net: Network, noise_scale: float) -> float:
    """Quiescent std of the explorer: `noise_scale` × the trained std, or × the paper's noisy std of the task for
    a noiseless-trained network (so noise can be added to it, as in Suppl. C.3e–f)."""
    if isinstance(noise_scale, bool) or not isinstance(noise_scale, (int, float)) or not noise_scale >= 0:
        raise C.ConfigError(f"noise_scale must be a number >= 0, got {noise_scale!r}")
    base = net.cfg.noise_std if net.cfg.noise_std > 0 else A.paper_noise_std(net.task_cfg.name)
    return float(noise_scale) * base


@dataclass
class ExploreView:
    task: str
    condition: str
    seed: int
    noise_scale: float
    noise_std: float
    active: np.ndarray        # (n, T, d) decoded
    quiescent: np.ndarray     # (n, steps, d) decoded
    kl: float                 # KL(quiescent ‖ active): Fig. 2e estimator (SP) or von Mises KDEs (HD)
    extent: tuple | None      # SP: the box
    kde_grid: int

    @property
    def spatial(self) -> bool:
        return self.task == "spatial"

    def results(self) -> dict[str, Any]:
        return {"task": self.task, "condition": self.condition, "seed": self.seed, "noise_scale": self.noise_scale,
                "quiescent_noise_std": self.noise_std, "trajectories": len(self.active),
                "active_steps": self.active.shape[1], "quiescent_steps": self.quiescent.shape[1], "kl": self.kl}

    def summary(self) -> str:
        return (f"{self.task}/{self.condition} seed {self.seed}: quiescent noise ×{self.noise_scale:.4g} → std "
                f"{self.noise_std:.4g} per step, {self.quiescent.shape[1]} steps; KL(quiescent ‖ active) = "
                f"{self.kl:.3f} nats")

    @property
    def layout(self) -> str:
        return "abcd"

    @property
    def figure_kw(self) -> dict:
        return {"figsize": (P.FULL_WIDTH, 1.7), "polar": () if self.spatial else ("a", "b"), "save_panels": False}

    def panels(self) -> dict:
        title = f"quiescent, ×{self.noise_scale:.3g} noise"
        every = max(1, len(self.active) // 25)
        if self.spatial:
            maps = [A.kde_map(x, self.extent, self.kde_grid) for x in (self.active, self.quiescent)]
            vmax = max(m.max() for m in maps)

            def kde(ax, m, t):
                P.plot_kde_map(ax, m, self.extent, vmax=vmax)
                ax.axis("off")
                ax.set_title(t)
            return {"a": lambda ax: P.plot_trajectories(ax, self.active, P.ACTIVE, every=every).set(title="active"),
                    "b": lambda ax: P.plot_trajectories(ax, self.quiescent, P.QUIESCENT, every=every).set(title=title),
                    "c": lambda ax: kde(ax, maps[0], "active KDE"),
                    "d": lambda ax: kde(ax, maps[1], f"quiescent KDE\nKL {self.kl:.2f} nats")}
        theta = circle_grid()
        dens = [vonmises_kde(x) for x in (self.active, self.quiescent)]

        def line(ax, which):
            if which == 1:
                ax.plot(theta, dens[0], color=P.ACTIVE, lw=0.7, ls="--", label="active")
            ax.plot(theta, dens[which], color=(P.ACTIVE, P.QUIESCENT)[which], lw=0.9,
                    label=("active", "quiescent")[which])
            ax.set_xlim(-np.pi, np.pi)
            ax.set_ylim(bottom=0)
            ax.set_xticks([-np.pi, 0, np.pi], [r"$-\pi$", "0", r"$\pi$"])
            ax.set_xlabel("decoded bearing")
            ax.set_ylabel("density (1/rad)")
            ax.set_title("active KDE" if which == 0 else f"quiescent KDE, KL {self.kl:.2f}")
            ax.legend(fontsize=5)
        return {"a": lambda ax: P.plot_polar_trajectory(ax, self.active[:5, :, 0], P.ACTIVE).set_title("active"),
                "b": lambda ax: P.plot_polar_trajectory(ax, self.quiescent[:5, :, 0], P.QUIESCENT).set_title(title),
                "c": lambda ax: line(ax, 0), "d": lambda ax: line(ax, 1)}


def explore_view(settings: FigureSettings, task: str, condition: str, seed: int, noise_scale: float,
                 steps: int) -> ExploreView:
    """One network (trained now if missing), `n_kde` active trajectories of `active_steps` and quiescent ones of
    `steps` steps from the same starts, with quiescent std `explore_noise_std(net, noise_scale)`."""
    C.check_choice("task", task, C.TASKS)
    C.check_choice(f"condition for task {task}", condition, C.CONDITIONS[task])
    C.check_seed(seed)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise C.ConfigError(f"steps must be an integer >= 2, got {steps!r}")
    from .training import get_model
    a = settings.analysis
    net = get_model(task, condition, seed, settings.preset, settings.outputs_dir, settings.device, progress=False,
                    **settings.model_overrides())
    std = explore_noise_std(net, noise_scale)
    act = A.active_run(net, a.n_kde, a.active_steps, seed).decoded
    q = A.quiescent_run(net, a.n_kde, steps, std, seed, keep_states=False).decoded
    if task == "spatial":
        kl, extent = _sp_kl(q, A.kde(act), a.kl_samples, seed), A.box_extent(net.task_cfg)
    else:
        kl, extent = circular_kl(vonmises_kde(q), vonmises_kde(act)), None
    return ExploreView(task, condition, seed, float(noise_scale), std, act, q, kl, extent, a.kde_grid)


def draw_view(view: ExploreView):
    """The four panels of a view on a new figure, not saved (for the widget)."""
    kw = dict(view.figure_kw)
    kw.pop("save_panels")
    fig, axes = P.panel_grid(view.layout, **kw)
    for key, draw in view.panels().items():
        draw(axes[key])
    return fig


def explore_widget(settings: FigureSettings, view: ExploreView):
    """ipywidgets controls (task, condition, seed among `settings.seeds`, quiescent noise scale, steps) that redraw
    the view; starts at `view`. Views are cached, so moving back to a setting is instant; a model not yet trained is trained first
    (minutes at the laptop preset)."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    cache = {(view.task, view.condition, view.seed, view.noise_scale, view.quiescent.shape[1]): view}
    task = W.Dropdown(options=list(C.TASKS), value=view.task, description="task")
    condition = W.Dropdown(options=list(C.CONDITIONS[view.task]), value=view.condition, description="condition")
    seed = W.Dropdown(options=sorted(set(settings.seeds) | {view.seed}), value=view.seed, description="seed")
    scale = W.FloatSlider(value=view.noise_scale, min=0.0, max=4.0, step=0.05, description="noise ×",
                          continuous_update=False)
    steps = W.IntSlider(value=view.quiescent.shape[1], min=10, max=2000, step=10, description="steps",
                        continuous_update=False)
    out = W.Output()

    def on_task(change):
        condition.options = list(C.CONDITIONS[change["new"]])

    def redraw(*_):
        if condition.value not in C.CONDITIONS[task.value]:
            return  # between the task change and the condition list following it
        key = (task.value, condition.value, seed.value, float(scale.value), int(steps.value))
        with out:
            out.clear_output(wait=True)
            if key not in cache:
                print("computing (a model not yet trained is trained first) ...")
                cache[key] = explore_view(settings, *key)
                out.clear_output(wait=True)
            fig = draw_view(cache[key])
            plt.show()
            plt.close(fig)
            print(cache[key].summary())

    task.observe(on_task, names="value")
    for w in (task, condition, seed, scale, steps):
        w.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([task, condition, seed]), W.HBox([scale, steps]), out])
    # A live front end renders the widget; a page without a kernel (the HTML export, GitHub) cannot run its
    # callbacks and shows the same output's static image of the starting view instead.
    display(box._repr_mimebundle_() | {"image/png": view_png(view)}, raw=True)
    return box


def view_png(view: ExploreView) -> bytes:
    """The view drawn as PNG bytes (the widget's static stand-in)."""
    import io

    import matplotlib.pyplot as plt
    fig = draw_view(view)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["ALPHAS", "VM_KAPPA", "TRAINING_NOISE", "TEMPERATURE_CONDITIONS", "SCORE_CONDITIONS", "HD_NETWORKS",
           "HD_ROWS", "HD_COLS", "compose", "circle_grid", "vonmises_kde", "uniform_circle", "grid_kl",
           "circular_kl", "circular_variance", "circular_variance_per_trajectory", "tempered", "Prediction",
           "sp_prediction", "hd_prediction", "temperature_sweep", "Temperature", "temperature", "kde_score",
           "quiescent_drift", "cosines", "slope_through_origin", "ScoreAlignment", "score_alignment", "Score",
           "score_alignment_over_seeds", "HDMetrics", "hd_metrics", "noise_moments", "TrainingNoise",
           "training_noise", "explore_noise_std", "ExploreView", "explore_view", "draw_view", "explore_widget",
           "view_png"]
