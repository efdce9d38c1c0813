"""Runs over seeds that several figures share: decoded runs, how they move, one example network, KDE maps.

Randomness: the test trajectories, the quiescent noise and the Monte-Carlo samples of the network trained
with seed s are all drawn from data seed s. So a network's quiescent run starts from the initial states of
its own active run (docs/methods.md §5), and the conditions of one seed share their start positions.
Quiescent noise is "scaled" unless a figure says otherwise: √2 × the trained std, so noiseless-trained
networks stay noiseless.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import analysis as A
from ..cache import TrainedModel
from ..config import AnalysisConfig
from ..models import Network
from .base import PerSeed


def seed_of(net: Network) -> int:
    return net.seed


def seeds_of(nets: list[Network]) -> list[int]:
    return [seed_of(n) for n in nets]


def by_seed(seeds: list[int], values) -> dict[int, Any]:
    return dict(zip(seeds, values))


# ---------------------------------------------------------------------------------------------- decoded runs


@dataclass
class DecodedRuns:
    """One network's decoded outputs: `n_kde` active trajectories and quiescent ones from the same starts."""
    seed: int
    active: np.ndarray | None   # (n, active_steps, d); None for the untrained baseline
    quiescent: np.ndarray       # (n, quiescent_steps, d)


def decoded_runs(net: Network, analysis: AnalysisConfig, quiescent_steps: int, noise: str | float = "scaled",
                 active: bool = True, seed: int | None = None) -> DecodedRuns:
    seed = seed_of(net) if seed is None else seed
    act = A.active_run(net, analysis.n_kde, analysis.active_steps, seed).decoded if active else None
    qui = A.quiescent_run(net, analysis.n_kde, quiescent_steps, noise, seed, keep_states=False).decoded
    return DecodedRuns(seed, act, qui)


def decoded_runs_over_seeds(nets: list[Network], analysis: AnalysisConfig) -> list[DecodedRuns]:
    """Per network: `n_kde` active trajectories and quiescent ones of `quiescent_steps_kl` (noise √2 × trained)
    from the same starts: the runs of Fig. 2e, and of the trajectory-level claims."""
    return [decoded_runs(net, analysis, analysis.quiescent_steps_kl) for net in nets]


def total_variance_over_seeds(nets: list[Network], analysis: AnalysisConfig,
                              noise: str | float = "scaled") -> dict[int, float]:
    """Fig. 2f: per network, `n_variance` quiescent trajectories of `variance_steps`, the first half dropped."""
    out = {}
    for net in nets:
        run = A.quiescent_run(net, analysis.n_variance, analysis.variance_steps, noise, seed_of(net),
                              keep_states=False)
        out[seed_of(net)] = A.total_variance(run.decoded, burn_in=analysis.variance_steps // 2)
    return out


@dataclass
class StepLengthResults:
    """`StepLengths` in a figure's results: per run, statistic of `analysis.step_statistics` (median, p99 and, SP
    only, jump_fraction) -> its value per seed."""
    active: dict[str, PerSeed[float]]      # statistic -> per seed: step length (m or rad per step), jump share (0–1)
    quiescent: dict[str, PerSeed[float]]   # the same, of the quiescent runs


@dataclass
class StepLengths:
    """How decoded trajectories move, per seed: `analysis.step_statistics` of active and of quiescent runs."""
    seeds: list[int]
    active: list[dict[str, float]]
    quiescent: list[dict[str, float]]

    def results(self) -> StepLengthResults:
        def per_stat(stats: list[dict[str, float]]) -> dict[str, PerSeed[float]]:
            return {stat: PerSeed.of(by_seed(self.seeds, [v[stat] for v in stats])) for stat in stats[0]}
        return StepLengthResults(per_stat(self.active), per_stat(self.quiescent))


def step_lengths_over_seeds(runs: list[DecodedRuns], circular: bool = False) -> StepLengths:
    """Step statistics of each seed's active and quiescent decoded runs (SP: metres and jumps; HD: |Δθ|)."""
    jump = None if circular else A.JUMP_LENGTH
    return StepLengths([r.seed for r in runs], [A.step_statistics(r.active, circular, jump) for r in runs],
                       [A.step_statistics(r.quiescent, circular, jump) for r in runs])


def final_decode_errors(models: list[TrainedModel]) -> dict[int, float]:
    """Each network's decoding error on its test batch at the end of training (from its metrics.json)."""
    return {m.seed: float(m.metrics["test_decode_error"][-1]) for m in models}


# -------------------------------------------------------------------- one example network (Figs. 1d–k, 3c–d)


@dataclass
class Example:
    """One network's decoded outputs and hidden states on the active PCs, active and quiescent."""
    seed: int
    active: np.ndarray          # (n, T, d) decoded positions / bearings, active
    quiescent: np.ndarray       # (n, Tq, d) the same, quiescent
    pcs_active: np.ndarray      # (n, T, 2) active hidden states on active PC1–PC2
    pcs_quiescent: np.ndarray   # (n, Tq, 2) quiescent hidden states on the same PCs

    @property
    def pc_extent(self) -> tuple[float, float, float, float]:
        """A frame holding both projections, so the active and quiescent panels share their axes."""
        return A.extent_of(self.pcs_active, self.pcs_quiescent)


def reactivation_example(net: Network, analysis: AnalysisConfig, noise: str | float = "scaled") -> Example:
    """`n_kde` trajectories: active `active_steps`, quiescent `quiescent_steps_kde` from the same starts."""
    seed = seed_of(net)
    act = A.active_run(net, analysis.n_kde, analysis.active_steps, seed)
    qui = A.quiescent_run(net, analysis.n_kde, analysis.quiescent_steps_kde, noise, seed)
    pcs_act, pcs_qui = A.pc_projection(act.hidden, qui.hidden)
    return Example(seed, act.decoded, qui.decoded, pcs_act, pcs_qui)


@dataclass
class DensityMaps:
    """Two KDE maps on one grid (rows = y), for `plotting.plot_kde_map`; one colour scale for both."""
    extent: tuple[float, float, float, float]
    active: np.ndarray
    quiescent: np.ndarray

    @property
    def vmax(self) -> float:
        return float(max(self.active.max(), self.quiescent.max()))


def density_maps(active: np.ndarray, quiescent: np.ndarray, extent, grid: int) -> DensityMaps:
    """Scott-bandwidth KDE maps of 2-D points (decoded positions or PC1–PC2), every point used."""
    return DensityMaps(tuple(extent), A.kde_map(active, extent, grid), A.kde_map(quiescent, extent, grid))


# ---------------------------------------------------------------------------------------------- printing


def summarize(results: dict) -> str:
    """Readable lines for a notebook: every scalar per-seed entry as mean ± sd (per seed), nested ones by
    name, and a KL matrix as a table (rows active, columns quiescent). Curves and histograms are skipped."""
    lines = []

    def walk(prefix: str, value):
        if isinstance(value, dict) and "per_seed" in value:
            per_seed = {k: np.asarray(v, dtype=float) for k, v in value["per_seed"].items()}
            if all(v.ndim == 0 for v in per_seed.values()):
                vals = np.array(list(per_seed.values()))
                seeds = ", ".join(f"{k}: {float(v):.4g}" for k, v in per_seed.items())
                lines.append(f"{prefix}: {vals.mean():.4g} ± {vals.std(ddof=1) if len(vals) > 1 else 0:.2g} "
                             f"(seed {seeds})")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)

    for key, value in results.items():
        if key == "kl_matrix":
            mean = np.asarray(value["mean"], dtype=float)
            lines.append("KL(quiescent column ‖ active row), nats, mean over seeds:")
            lines.append("      " + "".join(f"{c:>8}" for c in results["kl_cols"]))
            lines += [f"{r:>6}" + "".join(f"{x:8.3f}" for x in row) for r, row in zip(results["kl_rows"], mean)]
        else:
            walk(key, value)
    return "\n".join(lines)
