"""What the map writes (`results/ext_conditions.json`) and its checks read: the numbers of every judged run."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ... import quiescence as Q
from ..base import Results
from .verdicts import Sufficiency


@dataclass
class Sharpened:
    """The late density against the reading's prediction p_active^power (power = 2k/α²), and the best power."""
    power: float        # 2k/α²
    kl: float           # KL(late ‖ p_active^power), nats on the bins
    best_power: float   # the β minimising KL(late ‖ p_active^β)
    best_kl: float      # that KL: what no power of p_active explains


@dataclass
class HiddenNorm:
    active: float        # mean ‖h‖ over the active batch
    late: float          # mean ‖h‖ over the run's last quarter
    trace: list[float]   # mean ‖h‖ at 64 points of the run


@dataclass
class MarkovCheck:
    """A Markov state model of the whole run (`steady_state.markov_model`): the cross-check of the late density."""
    lag: int                      # steps, chosen from the implied timescales
    converged: bool               # the timescales stopped changing with the lag
    lags: list[int]               # every lag tried
    timescales: list[list[float]]  # implied timescales (steps) at each lag
    slowest: float                # the slowest timescale at the chosen lag, steps
    ck_lags: list[int]            # the Chapman–Kolmogorov test's horizons (multiples of the lag)
    ck_error: float               # its largest error
    ck_covers_slowest: bool       # the test reaches the slowest timescale
    kl_stationary: float          # KL(the MSM's stationary density ‖ active), nats
    run_steps: int                # steps of the run the MSM was fitted on


@dataclass
class Occupancy:
    """The share of decoded points within `radius` of an attracting point."""
    active: float
    early: float    # the first 1,000 quiescent steps
    late: float     # the run's last quarter
    radius: float   # m (SP) or rad (HD)


@dataclass
class AttractorNumbers:
    count: int                      # fixed and slow points found
    decoded: list[list[float]]      # each one's decoded output
    attracting: list[bool]
    stable: list[bool]
    spectral_radius: list[float]    # of the Jacobian there
    basin: list[float]              # share of the search's starts that end there
    occupancy: Occupancy


@dataclass
class RunNumbers(Results):
    """One long quiescent run of one network, judged on itself (`runs.judge`). An unbiased run of the SP map
    carries its biased twin's under `biased`; the twin carries the `baselines` of fig2-biased's rule."""
    protocol: Q.Protocol
    k: float                          # the network's drift slope over the theory's (the sharpening factor)
    decoding_mse: float               # on the paper's 100-step trials, m² per coordinate
    steps: int                        # the horizon at which the run stopped
    settled: bool                     # the settling rule held there
    diverged: bool                    # ‖h‖ left every bound
    checks: list[dict[str, Any]]      # the settling rule at each horizon reached
    steps_active: dict[str, float]    # step statistics of the active batch (median, p99, jump_fraction)
    steps_quiescent: dict[str, float]  # the same over the whole run, and how much its last quarter moves
    kl_late: float                    # KL(last quarter ‖ active), nats on the bins
    kl_uniform: float                 # KL(𝒰 ‖ active), nats on the bins
    kl_first_1000: float              # KL(first 1,000 steps ‖ active): the paper's window
    window: int                       # steps per window of `kl_windows`
    kl_windows: list[float]           # KL(window ‖ active) along the run
    late_density: list[float]         # mass per bin, last quarter
    active_density: list[float]       # mass per bin, active
    hidden_norm: HiddenNorm
    sharpened: Sharpened | None       # None where the reading makes no prediction (input noise, adaptation)
    baselines: dict[str, float] | None = None   # the biased twin: KL of 𝒰, the unbiased late, the untrained late
    msm: MarkovCheck | None = None              # the default rows
    attractors: AttractorNumbers | None = None  # the default and as-written rows
    biased: "RunNumbers | None" = None          # an unbiased SP run: its biased twin under the same protocol
    omitted_when_none: ClassVar[tuple[str, ...]] = ("baselines", "msm", "attractors", "biased")


@dataclass
class ConditionsResults(Results):
    """`results/ext_conditions.json`."""
    conditions: dict[str, dict[str, RunNumbers]]   # SP row -> seed -> the unbiased run (its twin under .biased)
    hd: dict[str, dict[str, RunNumbers]]           # HD row -> seed -> run
    sufficiency: Sufficiency                       # the verdicts' thresholds
    verdicts: dict[str, dict[str, dict[str, bool]]]  # SP row -> seed -> criterion -> met
    long_trajectories: int                         # trajectories per long run
    horizons: list[int]                            # the settling rule's horizons at the paper's sizes
    settling: dict[str, float]                     # its bounds: kl, norm, diverge

__all__ = ["Sharpened", "HiddenNorm", "MarkovCheck", "Occupancy", "AttractorNumbers", "RunNumbers",
           "ConditionsResults"]
