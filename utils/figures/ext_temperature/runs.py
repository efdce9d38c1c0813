"""What runs the networks: the theory's prediction from one network's active density (p^(2/α²), `tempered`;
`sp_prediction`, `hd_prediction`), the measurement of one network over α (`temperature_sweep`), and `compute`,
every network × seed of the notebook."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.signal import fftconvolve
from scipy.stats import gaussian_kde

from ... import analysis as A
from ... import circular
from ... import config as C
from ...models import Network
from ..base import FigureSettings
from .models import ALPHAS, NOTEBOOK
from .panels import Temperature
from .results import Prediction, TemperatureSweep

PRED_GRID = 64         # SP predictions: cells across the box (3.4 cm at 2.2 m, ~¼ of the KDE bandwidth)
PRED_PAD = 0.4         # SP predictions: the grid extends this far (m) beyond the box, where KDEs leak


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


def compute(settings: FigureSettings, alphas=ALPHAS) -> Temperature:
    """`temperature_sweep` for every seed's network of each model of the module's NOTEBOOK."""
    models = NOTEBOOK.models
    sweeps = {m.label: {seed: temperature_sweep(net, settings.analysis, seed, alphas)
                        for seed, net in settings.seeded(m)} for m in models}
    return Temperature(tuple(alphas), {m.label: f"{m.task}/{m.condition}" for m in models}, sweeps,
                       settings.analysis.quiescent_steps_kl // 2)


__all__ = ["PRED_GRID", "PRED_PAD", "tempered", "sp_prediction", "hd_prediction", "temperature_sweep", "compute"]
