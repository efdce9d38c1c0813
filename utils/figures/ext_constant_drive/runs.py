"""What runs the networks of the figure: the expected zero-input update and its homogeneity error, every measure
of one network (`measure`), and `compute`, every model × seed."""
from __future__ import annotations

import numpy as np
import torch

from ... import analysis as A
from ... import config as C
from ...cache import TrainedModel
from ...models import Network, noise_moments
from ...score import score_alignment
from ..base import FigureSettings
from .models import KL_WINDOWS, NOTEBOOK
from .panels import ConstantDrive
from .results import ModelRun

SCALES = (0.5, 2.0)            # c of the homogeneity test
HOMOGENEITY_STATES = 2000      # active states (drawn at random, seeded) the homogeneity error is averaged over
EXAMPLE_TRAJECTORIES = 8       # quiescent SP trajectories drawn per model (first seed)
EXAMPLE_STEPS = 200            # their length


@torch.no_grad()
def expected_update(net: Network, h: torch.Tensor) -> torch.Tensor:
    """E[Δr] of one zero-input step at states `h` (m, N): the deterministic update plus the mean of the noise the
    network was trained with (σ/2 per unit for U[0, 1) · σ, 0 for Gaussian noise)."""
    zeros = h.new_zeros(h.shape[0], net.w_in.in_features)
    states, _ = net(zeros[:, None], h, noise=torch.zeros_like(h)[:, None])
    mean, _ = noise_moments(net.cfg.noise_std, net.cfg.noise_kind)
    return states[:, 0] - h + mean


@torch.no_grad()
def homogeneity_error(net: Network, hidden: np.ndarray, scales=SCALES, n: int = HOMOGENEITY_STATES,
                      seed: int = 0) -> dict[str, float]:
    """Median over `n` of the states `hidden` (..., N) of ‖E[Δr](c·r) − c·E[Δr](r)‖ / ‖c·E[Δr](r)‖, per c.

    0 up to float rounding for a network without bias and with zero-mean noise, whatever its weights."""
    flat = np.asarray(hidden).reshape(-1, np.shape(hidden)[-1])
    rows = np.random.default_rng(seed).choice(len(flat), size=min(n, len(flat)), replace=False)
    device = next(net.parameters()).device
    h = torch.as_tensor(flat[rows], dtype=torch.float32, device=device)
    base = expected_update(net, h)
    out = {}
    for c in scales:
        gap = (expected_update(net, c * h) - c * base).norm(dim=1) / (c * base).norm(dim=1).clamp_min(1e-12)
        out[f"{c:g}"] = float(gap.median())
    return out


def measure(model: TrainedModel, analysis: C.AnalysisConfig, example: bool = False) -> ModelRun:
    """Every number of one network (see the package docstring); quiescence is noise √2 × the trained std."""
    net, seed = model.net, model.seed
    circular = net.task_cfg.name == "head_direction"
    act = A.active_run(net, analysis.n_kde, analysis.active_steps, seed)
    qui = A.quiescent_run(net, analysis.n_kde, analysis.quiescent_steps_kl, "scaled", seed)
    jump = None if circular else A.JUMP_LENGTH
    windows = np.array_split(np.arange(qui.decoded.shape[1]), KL_WINDOWS)
    if circular:
        kl = A.bearing_histogram_kl(qui.decoded, act.decoded)
        kl_windows = [A.bearing_histogram_kl(qui.decoded[:, w], act.decoded) for w in windows]
        uniform = np.random.default_rng(seed).uniform(-np.pi, np.pi, qui.decoded.size)
        kl_uniform = A.bearing_histogram_kl(uniform, act.decoded)
        variance = None
    else:
        active_density = A.kde(act.decoded)
        kl = A.kl_divergence(A.kde(qui.decoded), active_density, analysis.kl_samples, seed)
        kl_windows = [A.kl_divergence(A.kde(qui.decoded[:, w]), active_density, analysis.kl_samples, seed)
                      for w in windows]
        kl_uniform = A.kl_divergence(A.UniformBox(net.task_cfg.box_size), active_density, analysis.kl_samples, seed)
        long = A.quiescent_run(net, analysis.n_variance, analysis.variance_steps, "scaled", seed, keep_states=False)
        variance = A.total_variance(long.decoded, burn_in=analysis.variance_steps // 2)
    cosine = float(np.median(score_alignment(net, analysis.n_kde, analysis.active_steps, seed, active=act).cosine))
    return ModelRun(
        decode_error=float(model.metrics["test_decode_error"][-1]),
        steps_active=A.step_statistics(act.decoded, circular, jump),
        steps_quiescent=A.step_statistics(qui.decoded, circular, jump),
        norm_active=float(A.hidden_norm(act.hidden).mean()), norm_quiescent=A.hidden_norm(qui.hidden),
        kl=float(kl), kl_uniform=float(kl_uniform), kl_windows=[float(k) for k in kl_windows],
        total_variance=variance, score_cosine=cosine,
        homogeneity=homogeneity_error(net, act.hidden, seed=seed),
        example=qui.decoded[:EXAMPLE_TRAJECTORIES, :EXAMPLE_STEPS] if example and not circular else None)


def compute(settings: FigureSettings, tasks=C.TASKS) -> ConstantDrive:
    """Every model of the module's NOTEBOOK whose task is in `tasks`, every seed of `settings`; the first
    seed's SP runs keep example trajectories."""
    runs: dict[str, dict[str, dict[int, ModelRun]]] = {}
    for model in NOTEBOOK.models:
        if model.task in tasks:
            runs.setdefault(model.task, {})[model.label] = {
                trained.seed: measure(trained, settings.analysis, example=i == 0)
                for i, trained in enumerate(settings.trained_of(model))}
    return ConstantDrive(runs)


__all__ = ["SCALES", "HOMOGENEITY_STATES", "EXAMPLE_TRAJECTORIES", "EXAMPLE_STEPS", "expected_update",
           "homogeneity_error", "measure", "compute"]
