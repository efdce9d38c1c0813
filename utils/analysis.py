"""Quiescence runs and the analyses of docs/methods.md §5–6: KDE maps, KL divergence, variance, PCA, bearings.

Runs return numpy arrays (float32, (B, T, ·)); every analysis is a pure numpy function of those arrays, so a
figure notebook gets each number with one call. Randomness is explicit: a run draws its trajectories and its
noise from generators seeded by `seed`, the KL estimate its Monte-Carlo samples from a seeded numpy generator.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Callable, Protocol, Union

import numpy as np
import torch
from scipy.stats import gaussian_kde
from sklearn.decomposition import PCA

from . import config as C
from .models import Network, build_network
from .tasks import sample_batch, wrap_angle

# Offsets that give the noise of an active and of a quiescent run of one seed their own generators
# (distinct from the training streams of utils.training).
ACTIVE_NOISE_STREAM, QUIESCENT_NOISE_STREAM = 4_000_003, 5_000_003
QUIESCENT_CHUNK = 250   # a quiescent run is simulated this many steps at a time, so memory stays bounded
KL_CLIP = (1e-7, 1e7)   # clip of the density ratio q/p in the KL estimate (released code)


# ----------------------------------------------------------------------------------------------------------
# Noise levels


def paper_noise_std(task: str) -> float:
    """The per-step noise std of the paper's noisy networks of a task (SP 0.01, HD 0.1)."""
    return C.paper_config(task, "noisy_unbiased").model.noise_std


def quiescent_noise_std(net: Network, mode: str | float = "scaled") -> float:
    """Per-step noise std of quiescence (docs/methods.md §5).

    "scaled": √2 × the trained std, the Langevin-exact choice of the theory (noiseless stays noiseless);
    "same": × 1 (Suppl. C.1); "paper": what the paper used for this cell, √2 for the vanilla RNN and × 1 for
    the GRU (Suppl. C.2); a number: that absolute std, e.g. √(2e-4) for noisy quiescence of a noiseless SP
    network (Suppl. C.3–C.4). With `noise_kind="uniform"` the value scales U[0, 1), as in the released code.
    """
    if isinstance(mode, str):
        factors = {"scaled": math.sqrt(2), "same": 1.0, "paper": 1.0 if net.cfg.cell == "gru" else math.sqrt(2)}
        if mode not in factors:
            raise ValueError(f"unknown quiescent noise mode {mode!r}; "
                             f"choose one of {', '.join(factors)} or a number")
        return factors[mode] * net.cfg.noise_std
    if isinstance(mode, bool) or not isinstance(mode, (int, float)) or not math.isfinite(mode) or mode < 0:
        raise ValueError(f"quiescent noise std must be a finite number >= 0, got {mode!r}")
    return float(mode)


# ----------------------------------------------------------------------------------------------------------
# Active and quiescent runs


@dataclass
class ActiveRun:
    """One active test batch: true states, network states and decoded outputs, aligned step by step."""
    states: np.ndarray        # (B, T, d) true positions (x, y) or bearings after each step
    start: np.ndarray         # (B, d) true start state
    hidden: np.ndarray        # (B, T, N) recurrent states after each step
    outputs: np.ndarray       # (B, T, n_cells) readout
    decoded: np.ndarray       # (B, T, d) decoded positions or bearings
    h0: torch.Tensor          # (B, N) initial recurrent states, on the network's device
    inputs: np.ndarray | None = None  # (B, T, n_in) the per-step changes that drove the network


@dataclass
class QuiescentRun:
    """Zero-input run from the initial states of an active batch."""
    decoded: np.ndarray               # (B, T, d)
    hidden: np.ndarray | None         # (B, T, N), None when not kept
    outputs: np.ndarray | None        # (B, T, n_cells), None when not kept
    noise_std: float                  # the per-step noise std used
    h0: torch.Tensor                  # (B, N) initial recurrent states
    hidden_norm: np.ndarray | None = None  # (B, T) ‖h‖ at each step, with `keep_norms` (cheap beside `hidden`)


def _device(net: Network) -> torch.device:
    return next(net.parameters()).device


def _test_batch(net: Network, n: int, steps: int, seed: int):
    """Trajectories drawn on the CPU from `seed` (the cells copied there), then moved to the network."""
    cells = copy.deepcopy(net.cells).cpu()
    return sample_batch(net.task_cfg, cells, n, torch.Generator().manual_seed(seed), steps=steps).to(_device(net))


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


@torch.no_grad()
def initial_hidden(net: Network, n: int, seed: int = 0) -> torch.Tensor:
    """The initial recurrent states (n, N) of the active test batch `active_run(net, n, ·, seed)`.

    Depends on `seed` and `n` only, not on the number of steps: the tasks draw the start state first.
    """
    return net.initial_state(_test_batch(net, n, net.task_cfg.steps, seed).init_code)


@torch.no_grad()
def active_run(net: Network, n: int, steps: int | None = None, seed: int = 0) -> ActiveRun:
    """`n` test trajectories of `steps` steps (default: the task's), with the trained noise."""
    steps = net.task_cfg.steps if steps is None else steps
    batch = _test_batch(net, n, steps, seed)
    h0 = net.initial_state(batch.init_code)
    gen = torch.Generator(device=_device(net)).manual_seed(seed + ACTIVE_NOISE_STREAM)
    hidden, outputs = net(batch.inputs, h0, generator=gen)
    return ActiveRun(states=_numpy(batch.states[:, 1:]), start=_numpy(batch.states[:, 0]), hidden=_numpy(hidden),
                     outputs=_numpy(outputs), decoded=_numpy(net.decode(outputs)), h0=h0,
                     inputs=_numpy(batch.inputs))


@torch.no_grad()
def quiescent_run(net: Network, n: int, steps: int, noise: str | float = "scaled", seed: int = 0,
                  h0: torch.Tensor | None = None, keep_states: bool = True, keep_norms: bool = False) -> QuiescentRun:
    """Zero input for `steps` steps with quiescent noise `noise` (see `quiescent_noise_std`).

    Starts from `h0`, by default the initial states of the active test batch of the same `seed` and `n`. It is
    simulated in chunks of `QUIESCENT_CHUNK` steps; `keep_states=False` keeps only the decoded outputs, so long
    runs (500 × 2000 steps for the total variance) fit in memory; `keep_norms` adds ‖h‖ of every step.
    """
    std = quiescent_noise_std(net, noise)
    if net.cfg.momentum > 0:   # `net.quiescent` starts every chunk at rest: a second-order cell needs its velocity
        raise ValueError("quiescent_run is for first-order cells; run a second-order one with utils.quiescence")
    if steps < 1 or (h0 is not None and h0.shape[0] != n):
        raise ValueError(f"need steps >= 1 and h0 of n={n} rows, got steps={steps}"
                         f"{'' if h0 is None else f', h0 of {h0.shape[0]}'}")
    h = initial_hidden(net, n, seed) if h0 is None else h0.to(_device(net))
    start = h
    gen = torch.Generator(device=_device(net)).manual_seed(seed + QUIESCENT_NOISE_STREAM)
    decoded, hidden, outputs, norms = [], [], [], []
    for t0 in range(0, steps, QUIESCENT_CHUNK):
        states, out = net.quiescent(h, min(QUIESCENT_CHUNK, steps - t0), std, gen)
        h = states[:, -1]
        decoded.append(_numpy(net.decode(out)))
        if keep_norms:
            norms.append(_numpy(states.norm(dim=-1)))
        if keep_states:
            hidden.append(_numpy(states))
            outputs.append(_numpy(out))
    cat = (lambda xs: np.concatenate(xs, axis=1)) if keep_states else (lambda xs: None)
    return QuiescentRun(decoded=np.concatenate(decoded, axis=1), hidden=cat(hidden), outputs=cat(outputs),
                        noise_std=std, h0=start, hidden_norm=np.concatenate(norms, axis=1) if keep_norms else None)


def noisy_level(net: Network) -> float:
    """`net`'s trained noise std, or for a noiseless-trained network the paper's noisy level of its task (SP 0.01,
    HD 0.1): what "noise" means for a network that was trained without it (R^σ, Suppl. C.3e–f, the explorer)."""
    return net.cfg.noise_std if net.cfg.noise_std > 0 else paper_noise_std(net.task_cfg.name)


def random_network_like(net: Network, seed: int) -> Network:
    """The R^σ baseline of Fig. 2e: an untrained network with `net`'s configs, run in noisy quiescence.

    R^σ is "untrained RNN, noisy quiescence", so its config keeps the trained noise std of `net` (quiescence
    "scaled" then gives √2 × it), except that a noiseless `net` gets the paper's noisy level for its task
    (SP 0.01, so √(2e-4) in quiescence; HD 0.1): a noiseless random network would just sit at a fixed point.
    The weights come from `build_network(·, seed)`; the target cells are copied from `net` (as the released
    code shares the task), so its outputs decode on the same place-cell map.
    """
    rand = build_network(net.task_cfg, replace(net.cfg, noise_std=noisy_level(net)), seed)
    rand.cells.load_state_dict(net.cells.state_dict())
    return rand.to(_device(net)).eval()


# ----------------------------------------------------------------------------------------------------------
# Densities: KDE maps and the KL divergence


def flat_points(x: np.ndarray) -> np.ndarray:
    """(..., d) -> (n, d), and (n,) -> (n, 1): the layout every density here takes."""
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x.reshape(-1, x.shape[-1])


class TorchKDE(gaussian_kde):
    """`scipy.stats.gaussian_kde` (same fit, bandwidth and `resample`) whose `evaluate` runs in torch.

    scipy sums the kernels in a scalar loop with a libm `exp` per (point, sample) pair; here the kernels of 64
    samples at a time are one `addmm` and a vectorised `exp_` in float64. Same values to ~1e-13, ≈ 4× faster
    on one thread; the quiescent KDEs of Fig. 2e (200 × 1000 points, evaluated at 2500) are most of a figure
    notebook's time.
    """

    CHUNK = 64  # samples per block: keeps the (points, CHUNK) block of kernels in cache

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if points.shape[0] != self.d:  # scipy accepts (d, m) and, for d = 1, (m,) as one row
            points = points.reshape(self.d, -1)
        # Whitened so that each kernel is exp(−½‖u − v‖²): with inv_cov = L Lᵀ, (x − y)ᵀ inv_cov (x − y) =
        # ‖Lᵀ(x − y)‖². Centred first, so the expanded square ‖u‖² − 2u·v + ‖v‖² loses no digits.
        chol = np.linalg.cholesky(self.inv_cov)
        centre = self.dataset.mean(axis=1)
        data = torch.from_numpy((self.dataset.T - centre) @ chol)
        pts = torch.from_numpy((points.T - centre) @ chol)
        half_sq_data = -0.5 * (data ** 2).sum(1)
        half_sq_pts = -0.5 * (pts ** 2).sum(1, keepdim=True)
        weights = torch.from_numpy(np.asarray(self.weights, dtype=np.float64))
        out = torch.zeros(len(pts), dtype=torch.float64)
        for s in range(0, len(data), self.CHUNK):
            log_kernel = torch.addmm(half_sq_data[s:s + self.CHUNK], pts, data[s:s + self.CHUNK].T)
            out.addmv_(log_kernel.add_(half_sq_pts).exp_(), weights[s:s + self.CHUNK])
        return out.numpy() / np.sqrt(np.linalg.det(2 * np.pi * self.covariance))

    __call__ = evaluate


def kde(points: np.ndarray) -> TorchKDE:
    """Gaussian KDE with the default (Scott) bandwidth on (..., d) points, as the paper (scipy's, see `TorchKDE`)."""
    return TorchKDE(flat_points(points).T)


def box_extent(task: C.TaskConfig) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of the box, for `kde_map` and `imshow(extent=…)`."""
    half = task.box_size / 2
    return (-half, half, -half, half)


def extent_of(*point_sets: np.ndarray, margin: float = 0.05) -> tuple[float, float, float, float]:
    """Common (xmin, xmax, ymin, ymax) of 2-D point sets, widened by `margin` × range (for PC maps)."""
    pts = np.concatenate([flat_points(p) for p in point_sets])
    lo, hi = pts.min(0), pts.max(0)
    pad = margin * (hi - lo)
    return (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])


def kde_map(points: np.ndarray, extent: tuple[float, float, float, float], grid: int = 100) -> np.ndarray:
    """KDE density of 2-D points on a grid × grid lattice over `extent`, indexed [y, x].

    Made for `ax.imshow(density, origin="lower", extent=extent)`: decoded positions or PC1–PC2 projections.
    """
    xs = np.linspace(extent[0], extent[1], grid)
    ys = np.linspace(extent[2], extent[3], grid)
    gx, gy = np.meshgrid(xs, ys)
    return kde(points)(np.vstack([gx.ravel(), gy.ravel()])).reshape(grid, grid)


class Density(Protocol):
    """A distribution the KL estimate can sample from (the q slot) or evaluate (both slots)."""
    def pdf(self, x: np.ndarray) -> np.ndarray: ...                     # (n, d) -> (n,)
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray: ...  # -> (n, d)


@dataclass(frozen=True)
class UniformBox:
    """The true uniform density over the square box centred on 0: 1/L^d inside (1/4.84 for 2.2 m), 0 outside.

    The released code used a per-axis density (1/2.2), which adds log 2.2 ≈ 0.79 nats to every KL from 𝒰.
    """
    box_size: float = 2.2
    d: int = 2

    def pdf(self, x: np.ndarray) -> np.ndarray:
        x = flat_points(x)
        inside = np.all(np.abs(x) <= self.box_size / 2, axis=1)
        return np.where(inside, self.box_size ** -self.d, 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-self.box_size / 2, self.box_size / 2, size=(n, self.d))

    __call__ = pdf


def uniform_box_density(box_size: float = 2.2, d: int = 2) -> UniformBox:
    """The 𝒰 baseline of Fig. 2e (callable as a density, and samplable)."""
    return UniformBox(box_size, d)


DensityLike = Union[np.ndarray, gaussian_kde, Density, Callable[[np.ndarray], np.ndarray]]


def _fit(dist: DensityLike) -> DensityLike:
    return kde(dist) if isinstance(dist, np.ndarray) else dist


def _pdf(dist: DensityLike, x: np.ndarray) -> np.ndarray:
    """Density at (n, d) points for a KDE, a `Density`, or a plain callable."""
    if isinstance(dist, gaussian_kde):
        return dist(x.T)
    if hasattr(dist, "pdf"):
        return np.asarray(dist.pdf(x), dtype=np.float64).reshape(-1)
    return np.asarray(dist(x), dtype=np.float64).reshape(-1)


def _sample(dist: DensityLike, n: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(dist, gaussian_kde):
        return dist.resample(n, seed=rng).T
    if hasattr(dist, "sample"):
        return flat_points(dist.sample(n, rng))
    if hasattr(dist, "rvs"):  # a frozen scipy distribution, e.g. multivariate_normal(mean, cov)
        return flat_points(dist.rvs(size=n, random_state=rng))
    raise TypeError(f"cannot sample from {type(dist).__name__}: q must be points, a KDE, a Density or a "
                    "frozen scipy distribution")


def kl_divergence(q: DensityLike, p: DensityLike, n_samples: int = 2500, seed: int = 0) -> float:
    """Monte-Carlo KL(q ‖ p) in nats, the estimator of Fig. 2e (Suppl. A.2).

    `q` and `p` are each (..., d) points (fitted with a Scott-bandwidth KDE), a fitted `gaussian_kde`, or a
    `Density` such as `UniformBox`; `p` may also be any callable (n, d) -> density. Draws `n_samples` from q
    (a numpy generator seeded by `seed`) and averages log(q(x)/p(x)), the ratio clipped to [1e-7, 1e7].

    In Fig. 2e q is the quiescent column and p the active row, and the baselines 𝒰 and R^σ are quiescent
    columns: 𝒰 enters as q = `UniformBox`, sampled exactly (as in the released code), so every sample lies in
    the box and has density 1/4.84. Used the other way round (p = `UniformBox`), samples of the q KDE that
    its bandwidth carries outside the box get p = 0 and the clipped ratio 1e7, i.e. +log 1e7 ≈ 16.1 nats each;
    we keep that rather than truncating q, because it is what the clipped estimator means, but Fig. 2e does
    not need that direction. What remains in KL(𝒰 ‖ active KDE) is the KDE's deficit near the walls: for a
    perfectly uniform active distribution of 20,000 points it is ≈ 4·(h/L)·0.4775 ≈ 0.11 nats (h the Scott
    bandwidth), a floor that every KL from 𝒰 shares (see the tests).
    """
    q, p = _fit(q), _fit(p)
    x = _sample(q, n_samples, np.random.default_rng(seed))
    return _mean_log_ratio(_pdf(q, x), _pdf(p, x))


def clipped_log_ratio(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """log(q/p) elementwise, the ratio clipped to `KL_CLIP` (p = 0 counts as the upper clip), as the released
    code's KL: a few points where p vanishes cannot make the estimate infinite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, q / np.where(p > 0, p, 1.0), np.inf)
    return np.log(np.clip(ratio, *KL_CLIP))


def _mean_log_ratio(qx: np.ndarray, px: np.ndarray) -> float:
    """Mean of the clipped log(q/p) over samples of q: the Monte-Carlo KL."""
    return float(np.mean(clipped_log_ratio(qx, px)))


def kl_divergence_or_nan(q_points: np.ndarray, p: DensityLike, n_samples: int = 2500, seed: int = 0) -> float:
    """`kl_divergence`, or NaN when the quiescent points are degenerate (all on one point or one line, as noiseless
    dynamics can leave them): no Gaussian KDE exists there, and a sweep should go on without that value."""
    try:
        return kl_divergence(q_points, p, n_samples, seed)
    except (np.linalg.LinAlgError, ValueError):
        return float("nan")


def grid_kl(q: np.ndarray, p: np.ndarray, cell: float) -> float:
    """KL(q ‖ p) in nats by quadrature of two densities on one grid of cells of area `cell`: Σ q log(q/p) · cell,
    the ratio clipped as in the Monte-Carlo estimator, so grid and sampled KLs compare."""
    q, p = np.asarray(q, float).ravel(), np.asarray(p, float).ravel()
    keep = q > 0
    return float(np.sum(q[keep] * clipped_log_ratio(q[keep], p[keep])) * cell)


def kl_matrix(quiescent: dict[str, DensityLike], active: dict[str, DensityLike], n_samples: int = 2500,
              seed: int = 0) -> np.ndarray:
    """Fig. 2e: KL(quiescent column ‖ active row), rows = `active`, columns = `quiescent`, in dict order.

    Each distribution is fitted once. Per column, q is sampled (numpy generator seeded by `seed`, as in
    `kl_divergence`) and evaluated at its samples once; each row then only evaluates its p there, so entry
    (i, j) equals `kl_divergence(quiescent[j], active[i], n_samples, seed)` at the cost of one q evaluation
    per column instead of one per entry (a quiescent KDE of 200 × 1000 points dominates the cost).
    """
    qs, ps = [_fit(v) for v in quiescent.values()], [_fit(v) for v in active.values()]
    out = np.empty((len(ps), len(qs)))
    for j, q in enumerate(qs):
        x = _sample(q, n_samples, np.random.default_rng(seed))
        qx = _pdf(q, x)
        for i, p in enumerate(ps):
            out[i, j] = _mean_log_ratio(qx, _pdf(p, x))
    return out


# ----------------------------------------------------------------------------------------------------------
# Decoded trajectories


def total_variance(decoded: np.ndarray, burn_in: int = 0) -> float:
    """Fig. 2f: per trajectory, the summed variance over time of each coordinate after `burn_in` steps,
    averaged over trajectories. Unbiased (ddof=1), as `np.cov` in the released code."""
    x = np.asarray(decoded, dtype=np.float64)[:, burn_in:]
    if x.shape[1] < 2:
        raise ValueError(f"need at least 2 steps after burn-in {burn_in}, got {x.shape[1]}")
    return float(x.var(axis=1, ddof=1).sum(axis=-1).mean())


def mean_step_distance(decoded: np.ndarray) -> np.ndarray:
    """Suppl. C.4: per trajectory, the mean Euclidean distance between consecutive decoded points (n,)."""
    x = np.asarray(decoded, dtype=np.float64)
    return np.linalg.norm(np.diff(x, axis=1), axis=-1).mean(axis=1)


# A decoded SP step longer than this (m) is a jump: an active step is v·Δt ≈ 0.02 m on average.
JUMP_LENGTH = 0.2


def step_lengths(decoded: np.ndarray, circular: bool = False) -> np.ndarray:
    """Every step of decoded trajectories (B, T, d), flattened: the Euclidean distance (m) between consecutive
    positions, or with `circular` the absolute wrapped change of bearing (rad)."""
    if circular:
        return np.abs(angular_velocity(decoded))
    return np.linalg.norm(np.diff(np.asarray(decoded, dtype=np.float64), axis=1), axis=-1).ravel()


def step_statistics(decoded: np.ndarray, circular: bool = False, jump: float | None = JUMP_LENGTH) -> dict[str, float]:
    """How trajectories move, not where they go: the median and 99th percentile of `step_lengths`, and (SP) the
    share of steps longer than `jump`. A quiescent run that jumps across the box can match the active density
    (the KL of Fig. 2e) and still fail these."""
    steps = step_lengths(decoded, circular)
    out = {"median": float(np.median(steps)), "p99": float(np.percentile(steps, 99))}
    if jump is not None:
        out["jump_fraction"] = float(np.mean(steps > jump))
    return out


def smooth_as_active(quiescent: dict[str, float], active: dict[str, float], max_jump_ratio: float,
                     jump_margin: float, max_p99_ratio: float) -> bool:
    """fig1-smooth's rule on two `step_statistics`: quiescence jumps (steps > `JUMP_LENGTH`) at most
    `max_jump_ratio` × as often as activity, plus `jump_margin`, and its p99 step is at most `max_p99_ratio` × the
    active one."""
    return (quiescent["jump_fraction"] <= max_jump_ratio * active["jump_fraction"] + jump_margin
            and quiescent["p99"] <= max_p99_ratio * active["p99"])


def hidden_norm(hidden: np.ndarray) -> np.ndarray:
    """Mean over trajectories of ‖h‖ at each step (T,): where the scale of the state drifts in quiescence."""
    return np.linalg.norm(np.asarray(hidden, dtype=np.float64), axis=-1).mean(axis=0)


def decoded_distance_from_centre(decoded: np.ndarray) -> np.ndarray:
    """Distance of each decoded position from the box centre (B, T): the colour of Fig. 1f–g."""
    return np.linalg.norm(np.asarray(decoded, dtype=np.float64), axis=-1)


# ----------------------------------------------------------------------------------------------------------
# Hidden states: PCA


def explained_variance(hidden: np.ndarray, k: int = 10) -> np.ndarray:
    """Fig. 1c: cumulative explained-variance ratio of PCs 1..k of the states (B, T, N) pooled over B and T.

    With fewer than k units the missing PCs explain nothing, so the curve is padded with its last value.
    """
    x = np.asarray(hidden).reshape(-1, np.shape(hidden)[-1])
    n_comp = min(k, x.shape[1])
    ratios = np.cumsum(PCA(n_components=n_comp, random_state=0).fit(x).explained_variance_ratio_)
    return np.concatenate([ratios, np.full(k - n_comp, ratios[-1])])


def pc_projection(active_hidden: np.ndarray, other_hidden: np.ndarray | None = None,
                  k: int = 2) -> tuple[np.ndarray, np.ndarray | None]:
    """Fig. 1f–g, 3c–d: PCA fitted on the active states only; active and other states projected, (B, T, k)."""
    active = np.asarray(active_hidden)
    pca = PCA(n_components=k, random_state=0).fit(active.reshape(-1, active.shape[-1]))

    def project(h):
        h = np.asarray(h)
        return pca.transform(h.reshape(-1, h.shape[-1])).reshape(*h.shape[:-1], k)

    return project(active_hidden), None if other_hidden is None else project(other_hidden)


# ----------------------------------------------------------------------------------------------------------
# Bearings (head direction)


def wrap(a: np.ndarray) -> np.ndarray:
    """Wrap angles to [−π, π), in float64 (the analyses' precision; the tasks wrap in their own dtype)."""
    return wrap_angle(np.asarray(a, dtype=np.float64))


def _bearings(b: np.ndarray) -> np.ndarray:
    """(B, T, 1) or (B, T) or (T,) -> (B, T)."""
    b = np.asarray(b, dtype=np.float64)
    if b.ndim == 3:
        b = b[..., 0]
    return b[None] if b.ndim == 1 else b


def angular_velocity(decoded_bearings: np.ndarray) -> np.ndarray:
    """Suppl. C.5: per-step wrapped change of decoded bearing (rad/step), all trajectories flattened."""
    return wrap(np.diff(_bearings(decoded_bearings), axis=1)).ravel()


def bearing_histogram(bearings: np.ndarray, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 3a–b: fraction of bearings in `bins` equal bins over [−π, π), and the bin edges.

    The equal-area polar radius of a bin is sqrt(fraction / π).
    """
    edges = np.linspace(-np.pi, np.pi, bins + 1)
    counts, _ = np.histogram(wrap(bearings).ravel(), bins=edges)
    return counts / counts.sum(), edges


def bearing_histogram_kl(q_bearings: np.ndarray, p_bearings: np.ndarray, bins: int = 20) -> float:
    """KL(q ‖ p) in nats between `bins`-bin histograms over [−π, π), each count + 1 so that no bin is empty.

    The HD counterpart of Fig. 2e (the paper gives no HD metric): binned, so no KDE on a circle is needed.
    """
    edges = np.linspace(-np.pi, np.pi, bins + 1)
    q = np.histogram(wrap(q_bearings).ravel(), bins=edges)[0] + 1.0
    p = np.histogram(wrap(p_bearings).ravel(), bins=edges)[0] + 1.0
    q, p = q / q.sum(), p / p.sum()
    return float(np.sum(q * np.log(q / p)))


__all__ = ["ActiveRun", "QuiescentRun", "UniformBox", "Density", "paper_noise_std", "noisy_level", "quiescent_noise_std",
           "initial_hidden", "active_run", "quiescent_run", "random_network_like", "flat_points", "kde",
           "box_extent", "extent_of", "kde_map", "uniform_box_density", "kl_divergence", "kl_matrix",
           "clipped_log_ratio", "kl_divergence_or_nan", "grid_kl",
           "total_variance", "mean_step_distance", "JUMP_LENGTH", "step_lengths", "step_statistics", "smooth_as_active",
           "hidden_norm",
           "decoded_distance_from_centre", "explained_variance",
           "pc_projection", "wrap", "angular_velocity", "bearing_histogram", "bearing_histogram_kl"]
