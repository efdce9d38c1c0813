"""What runs the networks of the map: one network prepared (its active batch, bins, density and k), one long
quiescent run judged on itself (`judge`), the MSM and attractor cross-checks, and `compute`, every row × seed."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch

from ... import analysis as A
from ... import attractors as AT
from ... import quiescence as Q
from ... import score as SC
from ... import steady_state as S
from ...models import Network
from ...tasks import decode_error
from ..base import FigureSettings
from .models import ATTRACTOR_ROWS, BIASED, HD_ROWS, NOTEBOOK, QUIESCENT_ROWS, TRAINED_ROWS
from .panels import Conditions
from .results import (AttractorNumbers, HiddenNorm, MarkovCheck, Occupancy, RunNumbers, Sharpened)
from .verdicts import Sufficiency

NEAR = {"spatial": 0.2, "head_direction": math.pi / 20}   # attractor neighbourhood: 0.2 m; 9°
ACTIVE_DENSITY_TRAJECTORIES = 1000   # active trajectories behind p_active on the bins (the prediction raises it
                                     # to a power ~ k, which amplifies a bin's sampling error k-fold)
MSM_LAGS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@dataclass
class Prepared:
    """One network and what each of its runs is compared with."""
    net: Network
    seed: int
    active: A.ActiveRun     # the paper's 200 × 100-step test batch
    ctx: Q.Context
    bins: S.Bins
    p_active: np.ndarray    # active density on the bins (`ACTIVE_DENSITY_TRAJECTORIES`)
    k: float                # drift slope over the theory's (utils.score), the sharpening factor
    decoding_mse: float     # on the 100-step active batch


def density_trajectories(n_active: int) -> int:
    """Active trajectories behind p_active: `ACTIVE_DENSITY_TRAJECTORIES` from the paper's n_kde (200) up, five
    times n_kde below it (the smoke preset's analyses are sized to check the code, not the numbers)."""
    return min(ACTIVE_DENSITY_TRAJECTORIES, 5 * n_active)


def prepare(net: Network, seed: int, n_active: int, active_trajectories: int | None = None) -> Prepared:
    cfg = net.task_cfg
    active_trajectories = density_trajectories(n_active) if active_trajectories is None else active_trajectories
    active = A.active_run(net, n_active, 100, seed)
    bins = S.bins_for(cfg)
    big = A.active_run(net, active_trajectories, 100, seed + 1)
    align = SC.score_alignment(net, n_active, 100, seed, active=active)
    mse = float(decode_error(cfg, torch.from_numpy(active.decoded), torch.from_numpy(active.states)))
    return Prepared(net, seed, active, Q.context(net, active), bins,
                    S.histogram(big.decoded, bins), align.slope / align.theory_slope, mse)


def best_exponent(late: np.ndarray, p_active: np.ndarray, powers=np.linspace(0, 40, 401)) -> tuple[float, float]:
    """The β minimising KL(late ‖ p_active^β) on the bins, and that KL: how sharp the late density is in the
    reading's terms, and how much of its shape no power of p_active explains."""
    kls = [S.kl(late, Q.sharpened(p_active, b)) for b in powers]
    i = int(np.argmin(kls))
    return float(powers[i]), float(kls[i])


def judge(prep: Prepared, protocol: Q.Protocol, n: int, horizons=Q.HORIZONS) -> tuple[RunNumbers, Q.Judged]:
    """One long run of `protocol` from the first `n` active starts, judged on itself (the package docstring)."""
    net, circular = prep.net, prep.net.task_cfg.name != "spatial"
    run = Q.long_run(net, prep.active.h0[:n], protocol, prep.ctx, prep.seed, prep.bins, horizons)
    late = S.histogram(run.late, prep.bins)
    alpha = protocol.manifold_alpha or protocol.alpha
    window = max(1, run.steps // 32)
    power = 2 * prep.k / alpha ** 2
    best = best_exponent(late, prep.p_active)
    numbers = RunNumbers(
        protocol=protocol, k=prep.k, decoding_mse=prep.decoding_mse,
        steps=run.steps, settled=run.settled, diverged=run.diverged, checks=run.checks,
        steps_active=A.step_statistics(prep.active.decoded, circular, None if circular else A.JUMP_LENGTH),
        steps_quiescent=Q.smoothness(run, prep.ctx.active_step, circular),
        kl_late=S.kl(late, prep.p_active), kl_uniform=S.kl(S.uniform(prep.bins), prep.p_active),
        kl_first_1000=S.kl(S.histogram(run.decoded[:, :1000], prep.bins), prep.p_active),
        window=window, kl_windows=S.window_kls(run.decoded, prep.p_active, prep.bins, window).kl,
        late_density=late, active_density=prep.p_active,
        hidden_norm=HiddenNorm(prep.ctx.active_norm, float(run.norms[3 * run.steps // 4:].mean()),
                               run.norms[::max(1, run.steps // 64)]),
        # The reading's prediction where it makes one (noise only, no input or feedback), and the best power.
        sharpened=Sharpened(power, S.kl(late, Q.sharpened(prep.p_active, power)), best[0], best[1])
        if protocol.input_noise == 0 and protocol.adaptation == 0 else None)
    return numbers, run


def msm_cross_check(run: Q.Judged, bins: S.Bins, p_active: np.ndarray) -> MarkovCheck:
    """A Markov state model of the whole run: lag from the implied timescales, a Chapman–Kolmogorov test out to
    at least the slowest timescale where the run is long enough, and its stationary density's KL. The whole run,
    not its late part: an MSM estimates transition probabilities, which a relaxing start does not bias the way
    it biases a histogram, and the CK test needs runs several times its longest lag."""
    whole = run.decoded
    m = S.markov_model(S.discrete_trajectories(whole, bins), bins.n, lags=MSM_LAGS, ck_to_slowest=True)
    slowest = float(np.nanmax(m.timescales[m.lags == m.lag, 0]))
    return MarkovCheck(m.lag, m.converged, m.lags, m.timescales, slowest, m.ck_lags, m.ck_error,
                       bool(m.ck_lags[-1] >= slowest), S.kl(m.stationary, p_active), whole.shape[1])


@dataclass(frozen=True)
class Search:
    """Sizes of the attractor search (`attractors.find_attractors`)."""
    samples: int = 300        # active states (beside the settled starts) the speed minimisation starts from
    iterations: int = 1500    # its Adam steps
    settle_steps: int = 2000  # noiseless zero-input steps from the active starts: the first cut at the attractors

    @classmethod
    def for_analysis(cls, kl_steps: int) -> "Search":
        """Full size from the paper's KL length (1,000 quiescent steps) up; the smoke preset scales it down."""
        f = min(1.0, kl_steps / 1000)
        return cls(max(32, int(cls.samples * f)), max(50, int(cls.iterations * f)), max(50, int(cls.settle_steps * f)))


def attractor_numbers(prep: Prepared, run: Q.Judged, quiescent_std: float, search: Search) -> AttractorNumbers:
    states = torch.from_numpy(prep.active.hidden.reshape(-1, prep.active.hidden.shape[-1]))
    pick = torch.randperm(len(states), generator=torch.Generator().manual_seed(prep.seed))[:search.samples]
    att = AT.find_attractors(copy.deepcopy(prep.net).cpu(), prep.active.h0.cpu(), states[pick], quiescent_std,
                             search.settle_steps, search.iterations)
    centres, near = att.decoded[att.attracting], NEAR[prep.net.task_cfg.name]
    circular = prep.net.task_cfg.name != "spatial"
    occupancy = Occupancy(AT.occupancy(prep.active.decoded, centres, near, circular),
                          AT.occupancy(run.decoded[:, :1000], centres, near, circular),
                          AT.occupancy(run.late, centres, near, circular), near)
    return AttractorNumbers(att.count, att.decoded, att.attracting, att.stable, att.radius, att.basin, occupancy)


def horizons_for(kl_steps: int) -> tuple[int, ...]:
    """`quiescence.HORIZONS` at the paper's KL length (1,000 steps); shorter analyses (smoke) scale them down."""
    f = min(1.0, kl_steps / 1000)
    return tuple(max(8, int(h * f)) for h in Q.HORIZONS)


def _untrained_late(prep: Prepared, n: int, horizons) -> float:
    """KL(untrained network's late quiescence ‖ active) on the bins: fig2's R^σ, judged on its own run's last quarter."""
    rand = A.random_network_like(prep.net, prep.seed + 1000)
    rand_active = A.active_run(rand, n, 100, prep.seed)
    ctx = Q.context(rand, rand_active)
    run = Q.long_run(rand, rand_active.h0[:n], Q.Protocol(), ctx, prep.seed, prep.bins, horizons[:1])
    return S.kl(S.histogram(run.late, prep.bins), prep.p_active)


def compute(settings: FigureSettings, rule: Sufficiency = Sufficiency(), trained_rows=tuple(TRAINED_ROWS),
            hd_rows=HD_ROWS) -> Conditions:
    """Every row of the map on every seed of the notebook (the package docstring); `trained_rows` and `hd_rows`
    pick fewer (the quiescences of `QUIESCENT_ROWS` come with "default")."""
    a = settings.analysis
    n_long = max(2, a.n_kde // 2)
    horizons = horizons_for(a.quiescent_steps_kl)
    search = Search.for_analysis(a.quiescent_steps_kl)
    labelled = NOTEBOOK.labelled()
    conditions: dict[str, dict[str, RunNumbers]] = {}
    for label in trained_rows:
        pairs = zip(settings.trained_of(labelled[label]), settings.trained_of(labelled[label + BIASED]))
        for unbiased, biased in pairs:
            seed = unbiased.seed
            pu, pb = prepare(unbiased.net, seed, a.n_kde), prepare(biased.net, seed, a.n_kde)
            untrained = _untrained_late(pb, n_long, horizons)
            rows = [(label, lambda k: Q.Protocol())] + (list(QUIESCENT_ROWS.items()) if label == "default" else [])
            for row, make in rows:
                ru, run_u = judge(pu, make(pu.k), n_long, horizons)
                rb, run_b = judge(pb, make(pb.k), n_long, horizons)
                unbiased_on_b = S.kl(S.histogram(run_u.late, pb.bins), pb.p_active)
                rb.baselines = {"𝒰": rb.kl_uniform, "U^σ late": unbiased_on_b, "R^σ late": untrained}
                if row in ATTRACTOR_ROWS:
                    for r, run, p in ((ru, run_u, pu), (rb, run_b, pb)):
                        r.msm = msm_cross_check(run, p.bins, p.p_active) if row == "default" else None
                        r.attractors = attractor_numbers(p, run, p.net.cfg.noise_std * math.sqrt(2), search)
                ru.biased = rb
                conditions.setdefault(row, {})[str(seed)] = ru
    hd: dict[str, dict[str, RunNumbers]] = {}
    for trained in settings.trained_of(labelled["HD U^σ"]) if hd_rows else ():
        p = prepare(trained.net, trained.seed, a.n_kde)
        for row in hd_rows:
            protocol = Q.Protocol() if row == "paper" else QUIESCENT_ROWS[row](p.k)
            hd.setdefault(row, {})[str(trained.seed)] = judge(p, protocol, n_long, horizons)[0]
    order = list(TRAINED_ROWS) + list(QUIESCENT_ROWS)
    return Conditions({k: conditions[k] for k in order if k in conditions}, hd, rule, n_long)


__all__ = ["NEAR", "ACTIVE_DENSITY_TRAJECTORIES", "MSM_LAGS", "Prepared", "prepare", "best_exponent", "judge",
           "msm_cross_check", "Search", "attractor_numbers", "horizons_for", "compute"]
