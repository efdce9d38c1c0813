"""Where quiescence goes over a long run: densities on bins, the KL of consecutive windows, and a Markov state
model of the decoded trajectory whose stationary density is where quiescence would end up.

The theory predicts the *stationary* quiescent density (docs/methods.md, "Where quiescence goes"); the paper's
KL looks at the first 1,000 steps. Everything here works on decoded outputs binned on a fixed partition (SP
0.2 m squares, HD 18° sectors), so that a window of a run, the active density, the uniform box and an MSM's
stationary vector are all probability vectors over the same bins and compare by one `kl`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from deeptime.markov import TransitionCountEstimator
from deeptime.markov.msm import MaximumLikelihoodMSM

from . import config as C
from .analysis import wrap


# ----------------------------------------------------------------------------------------------------------
# Bins


@dataclass(frozen=True)
class Bins:
    """A partition of the decoded space: SP squares over the box (row-major, x fastest) or HD sectors."""
    edges: np.ndarray        # bin edges along each axis (SP: the same for x and y; HD: over [−π, π))
    dims: int                # 2 (SP) or 1 (HD)

    @property
    def n(self) -> int:
        return (len(self.edges) - 1) ** self.dims

    def index(self, decoded: np.ndarray) -> np.ndarray:
        """(..., d) decoded positions or bearings -> (...) bin indices in [0, n)."""
        x = np.asarray(decoded, dtype=np.float64)
        x = wrap(x[..., 0])[..., None] if self.dims == 1 else x
        k = len(self.edges) - 1
        idx = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, k - 1)  # the walls go to the edge bins
        return idx[..., 0] if self.dims == 1 else idx[..., 1] * k + idx[..., 0]

    def centres(self) -> np.ndarray:
        """(n, d) bin centres, in `index` order."""
        c = (self.edges[:-1] + self.edges[1:]) / 2
        if self.dims == 1:
            return c[:, None]
        gx, gy = np.meshgrid(c, c)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)


def bins_for(task: C.TaskConfig, width: float = 0.2, sectors: int = 20) -> Bins:
    """SP: squares of `width` metres tiling the box (0.2 m: 11 × 11 for 2.2 m); HD: `sectors` sectors (18°)."""
    if task.name == "spatial":
        k = max(1, round(task.box_size / width))
        return Bins(np.linspace(-task.box_size / 2, task.box_size / 2, k + 1), 2)
    return Bins(np.linspace(-np.pi, np.pi, sectors + 1), 1)


def histogram(decoded: np.ndarray, bins: Bins, pseudo_count: float = 1.0) -> np.ndarray:
    """Probability of each bin from decoded points (..., d), every count + `pseudo_count` so that no bin has
    probability 0 (a density used as the reference p of a KL must not vanish where q does not)."""
    counts = np.bincount(bins.index(decoded).ravel(), minlength=bins.n).astype(np.float64) + pseudo_count
    return counts / counts.sum()


def kl(q: np.ndarray, p: np.ndarray) -> float:
    """KL(q ‖ p) in nats between probability vectors on the same bins (terms with q = 0 vanish)."""
    q, p = np.asarray(q, np.float64), np.asarray(p, np.float64)
    keep = q > 0
    return float(np.sum(q[keep] * np.log(q[keep] / p[keep])))


def uniform(bins: Bins) -> np.ndarray:
    """𝒰 on the bins: the true uniform density of the box (or circle), all bins having equal area."""
    return np.full(bins.n, 1.0 / bins.n)


# ----------------------------------------------------------------------------------------------------------
# Windows of one long run


@dataclass
class WindowKL:
    """KL(window ‖ active) over consecutive windows of a quiescent run, and where it stops changing."""
    window: int                 # steps per window
    kl: np.ndarray              # (n_windows,) nats
    settled_at: int | None      # first step from which every later window's KL lies within `tolerance`; None:
    tolerance: float            #   it kept changing until the end of the run


def window_kls(decoded: np.ndarray, active: np.ndarray, bins: Bins, window: int, tolerance: float = 0.05,
               min_windows: int = 3) -> WindowKL:
    """Cut a quiescent run (B, T, d) into T // window windows; KL of each window's histogram against the active
    density `active` (a probability vector on `bins`). It has *settled* at the start of the first window from
    which the remaining (at least `min_windows`) window KLs span at most `tolerance` nats."""
    n = decoded.shape[1] // window
    if n < 1:
        raise ValueError(f"a run of {decoded.shape[1]} steps has no window of {window}")
    kls = np.array([kl(histogram(decoded[:, i * window:(i + 1) * window], bins), active) for i in range(n)])
    return WindowKL(window, kls, settling_step(kls, window, tolerance, min_windows), tolerance)


def settling_step(kls: np.ndarray, window: int, tolerance: float, min_windows: int = 3) -> int | None:
    """The first window start from which all later values span ≤ `tolerance`, with ≥ `min_windows` of them."""
    for i in range(len(kls) - min_windows + 1):
        rest = kls[i:]
        if rest.max() - rest.min() <= tolerance:
            return i * window
    return None


# ----------------------------------------------------------------------------------------------------------
# A Markov state model of the decoded bins (deeptime)


DEFAULT_LAGS = (1, 2, 5, 10, 20, 50, 100)


@dataclass
class MarkovModel:
    """An MSM of the binned decoded trajectory: its lag, implied timescales, Chapman–Kolmogorov test and
    stationary density (0 on bins outside the largest connected set)."""
    lag: int                      # steps, chosen from the implied timescales
    lags: np.ndarray              # (L,) lags tried
    timescales: np.ndarray        # (L, k) the k slowest implied timescales at each lag, in steps (NaN: none)
    converged: bool               # the slowest timescale levelled off at `lag` (else `lag` is the longest tried)
    stationary: np.ndarray        # (n_bins,) stationary distribution
    ck_lags: np.ndarray           # (K,) lags of the Chapman–Kolmogorov test (0, lag, 2·lag, ...)
    ck_predicted: np.ndarray      # (K, m, m) metastable-set transition probabilities predicted from `lag`
    ck_estimated: np.ndarray      # (K, m, m) the same estimated directly at each lag
    ck_error: float               # max |predicted − estimated|
    n_states: int                 # bins in the largest connected set


def _msm(dtrajs: list[np.ndarray], lag: int):
    """The reversible maximum-likelihood MSM at `lag` on the largest connected set, or None where deeptime's
    iteration fails at that lag (a stationary weight underflows: seen on 2 of the 18 laptop networks, at lag 100)."""
    counts = TransitionCountEstimator(lag, "sliding").fit(dtrajs).fetch_model().submodel_largest()
    try:
        return MaximumLikelihoodMSM(reversible=True, lagtime=lag).fit(counts).fetch_model()
    except RuntimeError:
        return None


def choose_lag(lags: np.ndarray, slowest: np.ndarray, tolerance: float = 0.1) -> tuple[int, bool]:
    """The first lag whose slowest implied timescale is within `tolerance` (relative) of the next lag's: the
    timescales no longer depend on the lag there, the sign that the binned dynamics is Markovian at that lag.
    Otherwise the longest lag with an estimate (NaN: none), and False."""
    for i in range(len(lags) - 1):
        a, b = slowest[i], slowest[i + 1]
        if np.isfinite(a) and np.isfinite(b) and abs(b - a) <= tolerance * b:
            return int(lags[i]), True
    return int(lags[np.flatnonzero(np.isfinite(slowest))[-1]]), False


def markov_model(dtrajs: list[np.ndarray], n_bins: int, lags=DEFAULT_LAGS, n_timescales: int = 3,
                 metastable_sets: int = 2, ck_steps: int = 4, tolerance: float = 0.1,
                 ck_to_slowest: bool = False) -> MarkovModel:
    """Estimate reversible MSMs (maximum likelihood) of discrete trajectories `dtrajs` (bin indices per
    trajectory) at each of `lags`, choose the lag from the implied timescales (`choose_lag`), validate that
    model with a Chapman–Kolmogorov test on `metastable_sets` PCCA+ sets over `ck_steps` multiples of the lag,
    and return its stationary density over all `n_bins`. With `ck_to_slowest` the test goes on in doubling
    multiples (2, 4, 8, ...) until it reaches the slowest implied timescale, as far as the trajectories allow:
    a test shorter than the slowest process it models says nothing about that process."""
    longest = min(len(d) for d in dtrajs)
    lags = np.array([lag for lag in lags if lag * (ck_steps + 1) < longest])
    if len(lags) == 0:
        raise ValueError(f"trajectories of {longest} steps are too short for any lag")
    timescales = np.full((len(lags), n_timescales), np.nan)   # NaN: no estimate at that lag (`_msm`)
    for i, lag in enumerate(lags):
        if (m := _msm(dtrajs, int(lag))) is not None:
            its = np.real(m.timescales(n_timescales))  # reversible: real up to round-off
            timescales[i, :len(its)] = its
    if np.all(np.isnan(timescales[:, 0])):
        raise ValueError("no lag gives a reversible MSM of these trajectories")
    lag, converged = choose_lag(lags, timescales[:, 0], tolerance)
    model = _msm(dtrajs, lag)
    stationary = np.zeros(n_bins)
    stationary[model.count_model.state_symbols] = np.real(model.stationary_distribution)
    sets = min(metastable_sets, model.n_states)
    factors = list(range(2, ck_steps + 1))
    if ck_to_slowest:
        slowest = np.nanmax(timescales[lags == lag, 0])
        factors = [2]
        while lag * factors[-1] < slowest and lag * factors[-1] * 2 < longest // 2:
            factors.append(factors[-1] * 2)
    multiples = [m for k in factors if (m := _msm(dtrajs, lag * k)) is not None]
    if sets >= 2 and multiples:
        ck = model.ck_test([model] + multiples, sets)
        predicted, estimated, ck_lags = np.real(ck.predictions), np.real(ck.estimates), np.asarray(ck.lagtimes)
    else:  # one connected bin, or no longer lag to test against
        predicted = estimated = np.ones((1, 1, 1))
        ck_lags = np.zeros(1, int)
    return MarkovModel(lag, lags, timescales, converged, stationary, ck_lags, predicted, estimated,
                       float(np.max(np.abs(predicted - estimated))), model.n_states)


def discrete_trajectories(decoded: np.ndarray, bins: Bins) -> list[np.ndarray]:
    """(B, T, d) decoded run -> B integer trajectories of bin indices (deeptime's input)."""
    return [np.ascontiguousarray(row, dtype=np.int32) for row in bins.index(decoded)]


__all__ = ["Bins", "bins_for", "histogram", "kl", "uniform", "WindowKL", "window_kls", "settling_step",
           "MarkovModel", "DEFAULT_LAGS", "choose_lag", "markov_model", "discrete_trajectories"]
