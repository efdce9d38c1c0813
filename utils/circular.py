"""Densities of decoded bearings on the circle: a von Mises KDE on a fine grid, its KL and circular variances.

The head-direction counterpart of the Scott KDEs of the spatial task, used wherever a figure beyond the paper
compares HD distributions (the HD KL matrix, the temperature sweep, the explorer). A density here is an array
of values (1/rad) at the `circle_grid` bin centres; it integrates to 1 as `density.sum() * 2π / bins`.
"""
from __future__ import annotations

import numpy as np

from .analysis import grid_kl, wrap

VM_KAPPA = 100.0       # von Mises kernel of every HD density: κ = 100, angular sd ≈ 1/√κ = 0.1 rad (5.7°)
CIRCLE_BINS = 720      # bins of 0.5°: a tenth of the kernel's sd, so binning before smoothing costs nothing


def circle_grid(bins: int = CIRCLE_BINS) -> np.ndarray:
    """Bin centres over [−π, π)."""
    return -np.pi + (np.arange(bins) + 0.5) * 2 * np.pi / bins


def circular_smooth(density: np.ndarray, kappa: float) -> np.ndarray:
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
    b = wrap(bearings).ravel()
    if b.size == 0:
        raise ValueError("vonmises_kde needs at least one bearing")
    hist = np.histogram(b, bins=bins, range=(-np.pi, np.pi))[0] / (b.size * 2 * np.pi / bins)
    return circular_smooth(hist, kappa)


def uniform_circle(bins: int = CIRCLE_BINS) -> np.ndarray:
    """The uniform density 1/2π on the grid: the 𝒰 baseline of the HD KL matrix."""
    return np.full(bins, 1 / (2 * np.pi))


def circular_kl(q: np.ndarray, p: np.ndarray) -> float:
    """KL(q ‖ p) of two densities on `circle_grid` (same number of bins), by quadrature."""
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
    """1 − R of a density on `circle_grid`: the circular variance its samples would have."""
    theta = circle_grid(density.shape[-1])
    return float(1 - np.abs(np.sum(density * np.exp(1j * theta)) * 2 * np.pi / density.shape[-1]))


__all__ = ["VM_KAPPA", "CIRCLE_BINS", "circle_grid", "circular_smooth", "vonmises_kde", "uniform_circle",
           "circular_kl", "circular_variance", "circular_variance_per_trajectory", "density_circular_variance"]
