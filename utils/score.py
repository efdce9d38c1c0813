"""Does a network's quiescent drift follow the score ∇ log p of its active states?

The theory's central step (docs/methods.md §2): a noise-trained network learns Δr1* = σ² ∇_r log p(r) Δt, the
score of the density of its active states times the per-step noise variance σ²Δt = noise_std². Here: the
deterministic quiescent drift of a network (one `rnn_step` with zero drive and zero noise, minus the state), the
closed-form score of a Gaussian KDE, and their agreement at held-out active states on the top active PCs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import gaussian_kde
from sklearn.decomposition import PCA

from . import analysis as A
from .models import Network, rnn_step

SCORE_PCS = 4          # PCs of the active states the score lives on (see `score_alignment`)
SCORE_KS = (1, 2, 3, 4, 6, 8, 10)  # ... and the sweep over k that shows how the answer depends on it
SCORE_EVAL = 500       # held-out active states at which drift and score are compared


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
    step = rnn_step(h, drive, torch.zeros_like(h), w, net.alpha) - h
    # A second-order cell moves by force / (1 − μ) per step once its velocity has built up under a steady force:
    # that is its drift on the timescale of the density it samples.
    return (step / (1 - net.cfg.momentum)).cpu().numpy().astype(np.float64)


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
                    n_eval: int = SCORE_EVAL, ks=SCORE_KS, active: A.ActiveRun | None = None) -> ScoreAlignment:
    """Drift against score for one network (`active`: that same active run, if the caller already has it).

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
    run = A.active_run(net, n_trajectories, steps, seed) if active is None else active
    if run.hidden.shape[:2] != (n_trajectories, steps):
        raise ValueError(f"active run of shape {run.hidden.shape[:2]}, not ({n_trajectories}, {steps})")
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


__all__ = ["SCORE_PCS", "SCORE_KS", "SCORE_EVAL", "kde_score", "quiescent_drift", "cosines", "slope_through_origin",
           "ScoreAlignment", "score_alignment"]
