"""The network's own attractors: fixed and slow points of its noiseless zero-input dynamics.

The field's method (Sussillo & Barak 2013): from many states, minimise the speed q(h) = ½‖F(h) − h‖² of the
deterministic quiescent map F (one Euler step with zero input and the quiescent noise's mean, which is not
zero for the released code's U[0, 1) noise); points where q is ~0 are fixed points, small q slow points.
They are clustered in state space, classified by the eigenvalues of the Jacobian of F, given basins (where
noiseless quiescence from the active starts ends: the clusters with a basin are the *attractors*) and decoded,
so that one can ask how much of a quiescent run sits near them (`occupancy`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage

from .analysis import wrap
from .models import Network, gru_step, noise_moments, rnn_step


def zero_input_map(net: Network, quiescent_std: float = 0.0):
    """F: h (K, N) -> the next state of noiseless quiescence, differentiable: the network's own step function with
    zero input (W_in · 0, plus the bias where there is one). The noise's mean (a constant drive for
    `noise_kind="uniform"`) stays in; its fluctuations go."""
    mean, _ = noise_moments(quiescent_std, net.cfg.noise_kind)
    drive = net.input_drive(torch.zeros(1, net.w_in.in_features)).detach()
    noise = torch.full((1, net.cfg.n_rec), mean)
    w_rec = net.w_rec.weight.detach()
    if net.cfg.cell == "rnn":
        return lambda h: rnn_step(h, drive, noise, w_rec, net.alpha)
    w_r = net.w_r.weight.detach()
    return lambda h: gru_step(h, drive, noise, w_rec, w_r, net.alpha)


def settle(net: Network, h0: torch.Tensor, steps: int, quiescent_std: float = 0.0) -> torch.Tensor:
    """Run noiseless quiescence for `steps` steps from `h0` (K, N); the end states (K, N)."""
    step = zero_input_map(net, quiescent_std)
    h = h0.detach()
    with torch.no_grad():
        for _ in range(steps):
            h = step(h)
    return h


def minimise_speed(net: Network, starts: torch.Tensor, quiescent_std: float = 0.0, iterations: int = 2000,
                   lr: float = 1e-2) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise q(h) = ½‖F(h) − h‖² from each start (K, N) with Adam (each row independently: the summed
    loss has per-row gradients), the learning rate decayed ten-fold over the run. Returns (points, speeds
    ‖F(h) − h‖), both detached."""
    step = zero_input_map(net, quiescent_std)
    h = starts.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([h], lr=lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.1 ** (1 / max(1, iterations)))
    for _ in range(iterations):
        opt.zero_grad()
        speed_sq = 0.5 * (step(h) - h).pow(2).sum()
        (grad,) = torch.autograd.grad(speed_sq, [h])  # with respect to the states only, not the weights
        h.grad = grad
        opt.step()
        sched.step()
    with torch.no_grad():
        speed = (step(h) - h).norm(dim=1)
    return h.detach(), speed


def jacobian_radius(net: Network, point: torch.Tensor, quiescent_std: float = 0.0) -> float:
    """Spectral radius of ∂F/∂h at `point` (N,): < 1 attracting, > 1 a saddle or repeller."""
    step = zero_input_map(net, quiescent_std)
    jac = torch.autograd.functional.jacobian(lambda h: step(h[None])[0], point.detach())
    return float(np.max(np.abs(np.linalg.eigvals(jac.numpy().astype(np.float64)))))


@dataclass
class Attractors:
    """The clustered fixed and slow points of one network, decoded."""
    points: np.ndarray        # (K, N) one representative state per cluster (the slowest)
    speeds: np.ndarray        # (K,) ‖F(h) − h‖ at each
    radius: np.ndarray        # (K,) spectral radius of the Jacobian of F
    decoded: np.ndarray       # (K, d) decoded position or bearing of each
    basin: np.ndarray         # (K,) share of the active starts whose noiseless quiescence ends in each
    unassigned: float         # share of the starts that end near none of them
    search_starts: int        # states the minimisation started from

    @property
    def stable(self) -> np.ndarray:
        """Linearly attracting: every eigenvalue of ∂F/∂h inside the unit circle. Trained networks have many
        points with a radius of 1 ± 0.03 (a near-continuous attractor: slow along it, attracting across it)."""
        return self.radius < 1.0

    @property
    def attracting(self) -> np.ndarray:
        """Where noiseless quiescence from the active starts ends (basin > 0): the attractors that matter on the
        timescale of the settling run, however flat their slowest direction."""
        return self.basin > 0

    @property
    def count(self) -> int:
        """The attractors quiescence can gather around (`attracting`)."""
        return int(self.attracting.sum())


def cluster(points: np.ndarray, distance: float) -> np.ndarray:
    """Cluster labels (0..k-1) of states (K, N): single linkage cut at `distance` in state space."""
    if len(points) == 1:
        return np.zeros(1, int)
    return fcluster(linkage(points, "single"), distance, criterion="distance") - 1


@torch.no_grad()
def _decode_states(net: Network, h: torch.Tensor) -> np.ndarray:
    return net.decode(net.readout(h)).numpy()


def find_attractors(net: Network, active_starts: torch.Tensor, samples: torch.Tensor, quiescent_std: float = 0.0,
                    settle_steps: int = 2000, iterations: int = 2000, slow_speed: float = 1e-3,
                    merge_distance: float = 0.05) -> Attractors:
    """Fixed and slow points of `net`'s zero-input dynamics (on the CPU).

    Starts: the end states of `settle_steps` of noiseless quiescence from `active_starts` (the first cut: where
    quiescence without noise goes) and the states `samples` (e.g. from active and noisy quiescent runs, which
    also finds saddles between attractors). Each is moved to a minimum of q; those with speed ≤ `slow_speed`
    (per step; quiescent noise moves a state ~σ√(2N) per step, 0.16 for SP) are clustered at
    `merge_distance` × the mean ‖h‖ of the starts. Basins: the settled starts assigned to the nearest cluster
    within that distance."""
    ends = settle(net, active_starts, settle_steps, quiescent_std)
    starts = torch.cat([ends, samples.detach()])
    points, speeds = minimise_speed(net, starts, quiescent_std, iterations)
    keep = (speeds <= slow_speed).numpy()
    scale = merge_distance * float(starts.norm(dim=1).mean())
    if not keep.any():
        return Attractors(np.zeros((0, starts.shape[1])), np.zeros(0), np.zeros(0),
                          np.zeros((0, 1 if net.task_cfg.name != "spatial" else 2)), np.zeros(0), 1.0, len(starts))
    pts, spd = points.numpy()[keep], speeds.numpy()[keep]
    labels = cluster(pts.astype(np.float64), scale)
    reps = np.array([np.flatnonzero(labels == k)[np.argmin(spd[labels == k])] for k in range(labels.max() + 1)])
    rep_points = torch.from_numpy(pts[reps])
    radius = np.array([jacobian_radius(net, p, quiescent_std) for p in rep_points])
    dist = torch.cdist(ends, rep_points).numpy()
    nearest = dist.argmin(1)
    assigned = dist[np.arange(len(ends)), nearest] <= scale
    basin = np.bincount(nearest[assigned], minlength=len(reps)) / len(ends)
    return Attractors(pts[reps], spd[reps], radius, _decode_states(net, rep_points), basin,
                      float(1 - assigned.mean()), len(starts))


def occupancy(decoded: np.ndarray, centres: np.ndarray, radius: float, circular: bool = False) -> float:
    """Share of decoded points (..., d) within `radius` of any of `centres` (K, d): metres for SP, radians on the
    circle for HD. 0 when there are no centres."""
    x = np.asarray(decoded, np.float64).reshape(-1, np.shape(decoded)[-1])
    c = np.asarray(centres, np.float64).reshape(-1, x.shape[1])
    if len(c) == 0:
        return 0.0
    near = np.zeros(len(x), bool)
    for centre in c:  # K is small; a (points, K) distance matrix of 10⁶ points would not be
        d = np.abs(wrap(x[:, 0] - centre[0])) if circular else np.linalg.norm(x - centre, axis=1)
        near |= d <= radius
    return float(near.mean())


__all__ = ["zero_input_map", "settle", "minimise_speed", "jacobian_radius", "Attractors", "cluster",
           "find_attractors", "occupancy"]
