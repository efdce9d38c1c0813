"""Quiescence beyond the paper's protocol, and long quiescent runs judged on themselves.

The paper's quiescence is zero input and isotropic hidden noise at α × the trained std (α = √2). A `Protocol`
adds the ways of changing the temperature or the dynamics of quiescence that the map of conditions tries
(docs/methods.md, "The map of conditions"):

- `manifold_alpha`: extra noise along the top active PCs only, so that the total noise there is
  `manifold_alpha` × σ while the other directions keep α × σ: a temperature along the manifold that does not
  push the state off it;
- `input_noise`: a Gaussian input in the channels the network integrates (velocity, angular velocity), with
  `input_noise` × the active input's per-step std: imagined movement without a direction;
- `adaptation`: slow negative feedback on each unit, −g (a − r̄) inside the nonlinearity, where a follows the
  unit's state with time constant `adaptation_steps` and r̄ is its active mean: a unit held above its active
  mean is pushed back toward it, so a state cannot rest at one attractor for long.

`long_run` runs a protocol until a stated settling rule holds (or `HORIZONS[-1]` steps) and reports what the run
itself says: whether it settled, whether ‖h‖ diverged, its late density and its step statistics over all steps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np
import torch

from . import analysis as A
from . import steady_state as S
from .models import Network, draw_noise, momentum_step, rnn_step

HORIZONS = (4000, 8000, 16000, 32000)  # a long run stops at the first of these where it has settled
SETTLE_KL = 0.05        # nats: KL(last quarter ‖ third quarter) at or under which the density has settled
SETTLE_NORM = 0.10      # relative change of the mean ‖h‖ between those quarters at or under which it has settled
DIVERGE_NORM = 10.0     # ‖h‖ of the last quarter beyond this × the active mean ‖h‖: the run diverges
MOVE_FRACTION = 0.1     # a run that moves: its last quarter's mean step ≥ this × the active mean step
CHUNK = 500             # steps simulated at a time (noise and input drawn for the chunk at once)


@dataclass(frozen=True)
class Protocol:
    """How quiescence is driven; the defaults are the paper's (zero input, isotropic noise × √2)."""
    alpha: float = math.sqrt(2)      # isotropic hidden noise std / trained std
    manifold_alpha: float = 0.0      # total noise std along the top active PCs / trained std; 0: just `alpha`
    input_noise: float = 0.0         # Gaussian input std / the active input's per-step std; 0: zero input
    adaptation: float = 0.0          # gain g of the slow feedback −g (a − r̄); 0: none
    adaptation_steps: float = 50.0   # time constant of a, in steps (1 s at Δt = 0.02 s)

    @property
    def is_paper(self) -> bool:
        """Only the isotropic noise scale differs from the paper's protocol (or nothing does)."""
        return self.manifold_alpha == 0 and self.input_noise == 0 and self.adaptation == 0


@dataclass
class Context:
    """What the protocols need from one network's active run."""
    pcs: torch.Tensor          # (K, N) orthonormal top active PCs (the manifold directions)
    mean_state: torch.Tensor   # (N,) active mean state r̄ (the adaptation's set point)
    input_std: torch.Tensor    # (n_in,) per-step std of the active inputs
    active_norm: float         # active mean ‖h‖ (the divergence rule's unit)
    active_step: float         # active mean decoded step (the moving rule's unit)


def context(net: Network, active: A.ActiveRun, n_pcs: int = 4) -> Context:
    """The `Context` of `net` from an active run (its states, inputs and decoded outputs)."""
    inputs = active.inputs
    hidden = active.hidden.reshape(-1, active.hidden.shape[-1]).astype(np.float64)
    centred = hidden - hidden.mean(axis=0)
    _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 20000)], full_matrices=False)
    device, dtype = net.w_rec.weight.device, net.w_rec.weight.dtype
    as_t = lambda x: torch.as_tensor(np.asarray(x), dtype=dtype, device=device)  # noqa: E731
    circular = net.task_cfg.name != "spatial"
    return Context(as_t(vt[:n_pcs]), as_t(hidden.mean(axis=0)),
                   as_t(np.asarray(inputs, np.float64).reshape(-1, inputs.shape[-1]).std(axis=0)),
                   float(np.linalg.norm(hidden, axis=-1).mean()),
                   float(A.step_lengths(active.decoded, circular).mean()))


@dataclass
class Simulation:
    """A quiescent run in progress: its state, and what was recorded so far."""
    h: torch.Tensor                  # (B, N) current state
    velocity: torch.Tensor           # (B, N) v of a second-order cell (`ModelConfig.momentum`); zeros otherwise
    adapt: torch.Tensor              # (B, N) the adaptation variable a
    decoded: list[np.ndarray]        # chunks of (B, t, d) decoded outputs
    norms: list[np.ndarray]          # chunks of (t,) mean ‖h‖ over trajectories
    generator: torch.Generator

    @property
    def steps(self) -> int:
        return sum(d.shape[1] for d in self.decoded)


def start(net: Network, h0: torch.Tensor, ctx: Context, seed: int) -> Simulation:
    gen = torch.Generator(device=h0.device).manual_seed(seed + A.QUIESCENT_NOISE_STREAM)
    return Simulation(h0.clone(), torch.zeros_like(h0), ctx.mean_state.expand_as(h0).clone(), [], [], gen)


@torch.no_grad()
def advance(net: Network, sim: Simulation, steps: int, protocol: Protocol, ctx: Context) -> Simulation:
    """Run `sim` on by `steps` steps of `protocol` (vanilla RNN cells, first or second order; Euler–Maruyama as
    in training). The state, a second-order cell's velocity and the adaptation carry over from call to call."""
    if net.cfg.cell != "rnn":
        raise ValueError("the quiescence protocols are written for the vanilla RNN")
    sigma, w = net.cfg.noise_std, net.w_rec.weight
    B, N = sim.h.shape
    n_in = net.w_in.in_features
    extra = sigma * math.sqrt(max(protocol.manifold_alpha ** 2 - protocol.alpha ** 2, 0.0))
    rate = 1.0 / protocol.adaptation_steps
    for t0 in range(0, steps, CHUNK):
        T = min(CHUNK, steps - t0)
        noise = draw_noise((T, B, N), protocol.alpha * sigma, net.cfg.noise_kind, sim.generator, sim.h.device)
        if extra > 0:
            z = torch.randn((T, B, ctx.pcs.shape[0]), generator=sim.generator, device=sim.h.device)
            noise = noise + extra * z @ ctx.pcs
        if protocol.input_noise > 0:
            x = torch.randn((T, B, n_in), generator=sim.generator, device=sim.h.device)
            drives = net.input_drive((protocol.input_noise * ctx.input_std * x).reshape(T * B, n_in)).reshape(T, B, N)
        else:
            drives = net.input_drive(sim.h.new_zeros(B, n_in)).expand(T, B, N)
        h, v, a, states = sim.h, sim.velocity, sim.adapt, []
        mu = net.cfg.momentum
        for drive, xi in zip(drives.unbind(0), noise.unbind(0)):
            if protocol.adaptation > 0:
                drive = drive - protocol.adaptation * (a - ctx.mean_state)
                a = a + rate * (h - a)
            if mu > 0:
                h, v = momentum_step(h, v, drive, xi, w, net.alpha, mu)
            else:
                h = rnn_step(h, drive, xi, w, net.alpha)
            states.append(h)
        stacked = torch.stack(states, dim=1)
        sim.h, sim.velocity, sim.adapt = h, v, a
        sim.decoded.append(net.decode(net.readout(stacked)).cpu().numpy())
        sim.norms.append(stacked.norm(dim=-1).mean(dim=0).cpu().numpy())
    return sim


@dataclass
class Judged:
    """One long quiescent run, judged on itself."""
    decoded: np.ndarray        # (B, T, d) every decoded output of the run
    norms: np.ndarray          # (T,) mean ‖h‖ at each step
    steps: int                 # T: the horizon at which the run stopped
    settled: bool              # the settling rule held at `steps`
    diverged: bool             # ‖h‖ left every bound (never stationary, never "has attractors")
    quarter_kl: float          # KL(last quarter ‖ third quarter) at `steps`
    quarter_norm_change: float  # relative change of the mean ‖h‖ between them
    checks: list[dict]         # the rule at each horizon reached

    @property
    def late(self) -> np.ndarray:
        """The last quarter (B, T/4, d): the run's own late density."""
        return self.decoded[:, 3 * self.steps // 4:]



def quarter_check(decoded: np.ndarray, norms: np.ndarray, bins: S.Bins, active_norm: float) -> dict:
    """The settling rule on a run of T steps: the density of its last quarter against its third quarter
    (KL ≤ `SETTLE_KL` nats) and their mean ‖h‖ (change ≤ `SETTLE_NORM`); diverged when ‖h‖ is not finite
    or its last-quarter mean exceeds `DIVERGE_NORM` × the active mean."""
    T = decoded.shape[1]
    q3, q4 = decoded[:, T // 2:3 * T // 4], decoded[:, 3 * T // 4:]
    n3, n4 = float(norms[T // 2:3 * T // 4].mean()), float(norms[3 * T // 4:].mean())
    diverged = not (math.isfinite(n4) and n4 <= DIVERGE_NORM * active_norm)
    change = abs(n4 / n3 - 1) if math.isfinite(n4) and n3 > 0 else math.inf
    kl = S.kl(S.histogram(q4, bins), S.histogram(q3, bins))
    return {"steps": T, "quarter_kl": kl, "norm_change": change, "late_norm": n4, "diverged": diverged,
            "settled": (not diverged) and kl <= SETTLE_KL and change <= SETTLE_NORM}


def long_run(net: Network, h0: torch.Tensor, protocol: Protocol, ctx: Context, seed: int, bins: S.Bins,
             horizons: tuple[int, ...] = HORIZONS) -> Judged:
    """Run `protocol` from `h0` to each horizon in turn until the settling rule holds (`quarter_check`) or the
    run diverges; the last horizon ends it either way."""
    sim, checks = start(net, h0, ctx, seed), []
    for horizon in horizons:
        advance(net, sim, horizon - sim.steps, protocol, ctx)
        decoded, norms = np.concatenate(sim.decoded, axis=1), np.concatenate(sim.norms)
        checks.append(quarter_check(decoded, norms, bins, ctx.active_norm))
        if checks[-1]["settled"] or checks[-1]["diverged"]:
            break
    last = checks[-1]
    return Judged(decoded, norms, last["steps"], last["settled"], last["diverged"], last["quarter_kl"],
                  last["norm_change"], checks)


def smoothness(judged: Judged, active_mean: float, circular: bool) -> dict[str, float]:
    """Step statistics over every step of the run (`analysis.step_statistics`), and how much its last quarter
    still moves: mean step there / `active_mean`, the active mean step (`Context.active_step`; a frozen state
    gives 0)."""
    jump = None if circular else A.JUMP_LENGTH
    whole = A.step_statistics(judged.decoded, circular, jump)
    late_mean = float(A.step_lengths(judged.late, circular).mean())
    return whole | {"mean": float(A.step_lengths(judged.decoded, circular).mean()),
                    "late_mean": late_mean, "moving": late_mean / active_mean if active_mean > 0 else 0.0}


def sharpened(p_active: np.ndarray, power: float) -> np.ndarray:
    """p_active^power, normalised: the stationary density of Langevin dynamics whose drift is k × the score of
    p_active, run at noise scale α, with power = 2k/α² (docs/methods.md, "The sharpened score")."""
    logp = power * np.log(np.asarray(p_active, np.float64))
    p = np.exp(logp - logp.max())
    return p / p.sum()


__all__ = ["HORIZONS", "SETTLE_KL", "SETTLE_NORM", "DIVERGE_NORM", "MOVE_FRACTION", "Protocol", "Context",
           "context", "Simulation", "start", "advance", "Judged", "quarter_check", "long_run", "smoothness",
           "sharpened"]
