"""The numbers behind the main-text figures (docs/methods.md §7, Figs. 1–3), computed over seeds.

Each function takes trained networks (one per seed, as `FigureSettings.networks` returns them) and the
analysis sizes (`config.AnalysisConfig`), runs the analyses of `utils.analysis` and returns plain arrays for
the panels; `fig1_results`, `fig2_results` and `fig3_results` turn them into the dict that `write_results`
stores. A notebook calls these, then draws.

Randomness: the test trajectories, the quiescent noise and the Monte-Carlo samples of the network trained
with seed s are all drawn from data seed s. So a network's quiescent run starts from the initial states of
its own active run (docs/methods.md §5), and the four conditions of one seed share their start positions.
Quiescent noise is "scaled" throughout: √2 × the trained std, so noiseless-trained networks stay noiseless.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from . import analysis as A
from .config import AnalysisConfig
from .experiments import per_seed_and_mean
from .models import Network

N_PCS = 10          # Fig. 1c: cumulative explained variance of PCs 1..10
BEARING_BINS = 20   # Fig. 3a–b: bins of the polar histograms and of the bearing KL

# Fig. 2e: label -> SP condition. Rows are active networks, columns quiescent sources; 𝒰 is the true uniform
# density over the box and R^σ an untrained network in noisy quiescence (see `kl_over_seeds`).
NETWORKS = {"U^σ": "noisy_unbiased", "U": "noiseless_unbiased", "B^σ": "noisy_biased", "B": "noiseless_biased"}
KL_ROWS = ["U^σ", "U", "B^σ", "B"]
KL_COLS = ["U^σ", "U", "𝒰", "B^σ", "B", "R^σ"]
FIG2_CONDITIONS = list(NETWORKS.values())


def seed_of(net: Network) -> int:
    return net.run_config.seed


def seeds_of(nets: list[Network]) -> list[int]:
    return [seed_of(n) for n in nets]


def _by_seed(seeds: list[int], values) -> dict[int, Any]:
    return dict(zip(seeds, values))


# ---------------------------------------------------------------------------------------------- Fig. 1b


@dataclass
class TrainingCurves:
    seeds: list[int]
    batches: np.ndarray        # (P,) batch index of each test evaluation
    loss: np.ndarray           # (S, P) test loss
    decode_error: np.ndarray   # (S, P) test decoding MSE (m² per coordinate, or rad²)


def training_curves(nets: list[Network]) -> TrainingCurves:
    """Test loss and decoding error vs batch of every seed, from the metrics saved with each model."""
    batches = [list(net.metrics["test_batch"]) for net in nets]
    if any(b != batches[0] for b in batches):
        raise ValueError("the networks were tested at different batches; were they trained with one config?")
    return TrainingCurves(seeds_of(nets), np.asarray(batches[0]),
                          np.array([net.metrics["test_loss"] for net in nets]),
                          np.array([net.metrics["test_decode_error"] for net in nets]))


# ---------------------------------------------------------------------------------------------- Fig. 1c


@dataclass
class ExplainedVariance:
    seeds: list[int]
    active: np.ndarray         # (S, k) cumulative explained-variance ratio, PCA of active states
    quiescent: np.ndarray      # (S, k) the same, PCA fitted separately on quiescent states

    @property
    def max_abs_diff(self) -> np.ndarray:
        """(S,) max over k of |EV_active(k) − EV_quiescent(k)|."""
        return np.abs(self.active - self.quiescent).max(axis=1)


def explained_variance_over_seeds(nets: list[Network], analysis: AnalysisConfig, k: int = N_PCS,
                                  noise: str | float = "scaled") -> ExplainedVariance:
    """Fig. 1c: `n_pca` trajectories, active `active_steps` vs quiescent `quiescent_steps_kde` steps.

    Only the hidden states are kept, one network at a time (at the paper preset a run holds ≈ 1 GB).
    """
    act, qui = [], []
    for net in nets:
        hidden = A.active_run(net, analysis.n_pca, analysis.active_steps, seed_of(net)).hidden
        act.append(A.explained_variance(hidden, k))
        del hidden
        hidden = A.quiescent_run(net, analysis.n_pca, analysis.quiescent_steps_kde, noise, seed_of(net)).hidden
        qui.append(A.explained_variance(hidden, k))
        del hidden
    return ExplainedVariance(seeds_of(nets), np.array(act), np.array(qui))


def fig1_results(curves: TrainingCurves, ev: ExplainedVariance, steps: "StepLengths") -> dict:
    s = curves.seeds
    return {
        "final_test_loss": per_seed_and_mean(_by_seed(s, curves.loss[:, -1])),
        "final_decode_error": per_seed_and_mean(_by_seed(s, curves.decode_error[:, -1])),
        "test_batches": curves.batches,
        "test_loss": per_seed_and_mean(_by_seed(s, curves.loss)),
        "test_decode_error": per_seed_and_mean(_by_seed(s, curves.decode_error)),
        "ev_active": per_seed_and_mean(_by_seed(ev.seeds, ev.active)),
        "ev_quiescent": per_seed_and_mean(_by_seed(ev.seeds, ev.quiescent)),
        "ev_max_abs_diff": per_seed_and_mean(_by_seed(ev.seeds, ev.max_abs_diff)),
        "step_lengths": steps.results(),
    }


# -------------------------------------------------------------------- Fig. 1d–k, 3c–d: one example network


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


# ---------------------------------------------------------------------------------------------- Fig. 2


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


@dataclass
class StepLengths:
    """How decoded trajectories move, per seed: `analysis.step_statistics` of active and of quiescent runs."""
    seeds: list[int]
    active: list[dict[str, float]]
    quiescent: list[dict[str, float]]

    def results(self) -> dict:
        return {run: {stat: per_seed_and_mean(_by_seed(self.seeds, [v[stat] for v in stats])) for stat in stats[0]}
                for run, stats in (("active", self.active), ("quiescent", self.quiescent))}


def step_lengths_over_seeds(runs: list[DecodedRuns], circular: bool = False) -> StepLengths:
    """Step statistics of each seed's active and quiescent decoded runs (SP: metres and jumps; HD: |Δθ|)."""
    jump = None if circular else A.JUMP_LENGTH
    return StepLengths([r.seed for r in runs], [A.step_statistics(r.active, circular, jump) for r in runs],
                       [A.step_statistics(r.quiescent, circular, jump) for r in runs])


def final_decode_errors(nets: list[Network]) -> dict[int, float]:
    """Each network's decoding error on its test batch at the end of training (from its metrics.json)."""
    return {seed_of(net): float(net.metrics["test_decode_error"][-1]) for net in nets}


@dataclass
class KLMatrices:
    seeds: list[int]
    matrices: np.ndarray                  # (S, 4, 6) KL(quiescent column ‖ active row), nats
    runs: dict[str, list[DecodedRuns]]    # label (KL_ROWS and "R^σ") -> per seed

    @property
    def mean(self) -> np.ndarray:
        return self.matrices.mean(axis=0)


def kl_over_seeds(nets: dict[str, list[Network]], analysis: AnalysisConfig,
                  noise: str | float = "scaled") -> KLMatrices:
    """Fig. 2e for every seed: `n_kde` active trajectories of `active_steps` (rows) against `n_kde` quiescent
    trajectories of `quiescent_steps_kl` (columns), `kl_samples` Monte-Carlo samples.

    `nets` maps each condition of `FIG2_CONDITIONS` to its networks, seeds in the same order. R^σ is the
    untrained U^σ network of the same seed (`analysis.random_network_like` with that seed, i.e. the U^σ
    network's own initial weights), in noisy quiescence; 𝒰 is `analysis.UniformBox`, exact in the q slot.
    The quiescent runs are kept in `runs`, so the first `quiescent_steps_kde` steps can serve the KDE maps.
    """
    missing = set(FIG2_CONDITIONS) - set(nets)
    if missing:
        raise ValueError(f"kl_over_seeds needs networks of {sorted(missing)}")
    seeds = seeds_of(nets["noisy_unbiased"])
    if any(seeds_of(nets[c]) != seeds for c in FIG2_CONDITIONS):
        raise ValueError("every condition needs the same seeds, in the same order")
    runs: dict[str, list[DecodedRuns]] = {label: [] for label in [*KL_ROWS, "R^σ"]}
    matrices = []
    for i, seed in enumerate(seeds):
        for label, condition in NETWORKS.items():
            runs[label].append(decoded_runs(nets[condition][i], analysis, analysis.quiescent_steps_kl, noise))
        untrained = A.random_network_like(nets["noisy_unbiased"][i], seed)
        runs["R^σ"].append(decoded_runs(untrained, analysis, analysis.quiescent_steps_kl, noise, active=False,
                                        seed=seed))
        uniform = A.UniformBox(nets["noisy_unbiased"][i].task_cfg.box_size)
        quiescent = {c: uniform if c == "𝒰" else runs[c][i].quiescent for c in KL_COLS}
        active = {r: runs[r][i].active for r in KL_ROWS}
        matrices.append(A.kl_matrix(quiescent, active, analysis.kl_samples, seed))
    return KLMatrices(seeds, np.array(matrices), runs)


def total_variance_over_seeds(nets: list[Network], analysis: AnalysisConfig,
                              noise: str | float = "scaled") -> dict[int, float]:
    """Fig. 2f: per network, `n_variance` quiescent trajectories of `variance_steps`, the first half dropped."""
    out = {}
    for net in nets:
        run = A.quiescent_run(net, analysis.n_variance, analysis.variance_steps, noise, seed_of(net),
                              keep_states=False)
        out[seed_of(net)] = A.total_variance(run.decoded, burn_in=analysis.variance_steps // 2)
    return out


def spread_of_decoded(runs: list[DecodedRuns], which: str) -> dict[int, dict[str, float]]:
    """Per seed: the median distance from the box centre (m) and the number of distinct decoded positions of
    the `which` ("active" or "quiescent") runs. Shows what a KL entry cannot: whether a quiescent density
    collapsed onto a few fixed points, or (R^σ) sits in the middle of the box because the top-3 decoder
    averages three cell centres."""
    out = {}
    for run in runs:
        points = getattr(run, which).reshape(-1, 2)
        out[run.seed] = {"median_distance_from_centre": float(np.median(A.decoded_distance_from_centre(points))),
                         "distinct_positions": int(len(np.unique(points.round(4), axis=0)))}
    return out


def fig2_results(kl: KLMatrices, variance: dict[str, dict[int, float]]) -> dict:
    """`variance` maps each condition of `FIG2_CONDITIONS` to its per-seed totals."""
    spread = {f"{label}_a": spread_of_decoded(kl.runs[label], "active") for label in KL_ROWS}
    spread |= {f"{label}_q": spread_of_decoded(kl.runs[label], "quiescent") for label in [*KL_ROWS, "R^σ"]}
    return {
        "kl_rows": KL_ROWS,
        "kl_cols": KL_COLS,
        "kl_matrix": per_seed_and_mean(_by_seed(kl.seeds, kl.matrices)),
        "total_variance": {c: per_seed_and_mean(variance[c]) for c in FIG2_CONDITIONS},
        "decoded_spread": {name: {stat: per_seed_and_mean({s: v[stat] for s, v in by_seed.items()})
                                  for stat in ("median_distance_from_centre", "distinct_positions")}
                           for name, by_seed in spread.items()},
    }


# ---------------------------------------------------------------------------------------------- Fig. 3


@dataclass
class BearingStats:
    """Decoded bearings of the HD networks, their 20-bin histograms and the histogram KLs, per seed."""
    seeds: list[int]
    edges: np.ndarray            # (bins + 1,) over [−π, π)
    hist_active: np.ndarray      # (S, bins) fraction of active bearings per bin
    hist_quiescent: np.ndarray   # (S, bins)
    hist_untrained: np.ndarray   # (S, bins) untrained network in noisy quiescence
    kl: np.ndarray               # (S,) KL(quiescent ‖ active), add-one smoothed histograms, nats
    kl_untrained: np.ndarray     # (S,) KL(untrained quiescent ‖ active)
    runs: list[DecodedRuns]      # the trained networks' bearings, per seed


def bearings_over_seeds(nets: list[Network], analysis: AnalysisConfig, bins: int = BEARING_BINS,
                        noise: str | float = "scaled") -> BearingStats:
    """Fig. 3a–b and the HD counterpart of Fig. 2e: `n_kde` active trajectories of `active_steps` against
    `n_kde` quiescent trajectories of `quiescent_steps_kl`, for each trained network and for its untrained
    initial weights (`analysis.random_network_like`) in noisy quiescence."""
    runs, untrained = [], []
    for net in nets:
        runs.append(decoded_runs(net, analysis, analysis.quiescent_steps_kl, noise))
        rand = A.random_network_like(net, seed_of(net))
        untrained.append(decoded_runs(rand, analysis, analysis.quiescent_steps_kl, noise, active=False,
                                      seed=seed_of(net)).quiescent)

    def hist(b):
        return A.bearing_histogram(b, bins)[0]

    edges = A.bearing_histogram(runs[0].active, bins)[1]
    return BearingStats(
        seeds_of(nets), edges,
        np.array([hist(r.active) for r in runs]), np.array([hist(r.quiescent) for r in runs]),
        np.array([hist(u) for u in untrained]),
        np.array([A.bearing_histogram_kl(r.quiescent, r.active, bins) for r in runs]),
        np.array([A.bearing_histogram_kl(u, r.active, bins) for u, r in zip(untrained, runs)]),
        runs)


def fig3_results(b: BearingStats, steps: StepLengths, final_errors: dict[str, dict[int, float]]) -> dict:
    """`final_errors`: condition -> per-seed final decoding MSE (rad²) of the HD networks checked by fig3-trained."""
    s = b.seeds
    return {
        "step_lengths": steps.results(),
        "final_decode_error": {c: per_seed_and_mean(v) for c, v in final_errors.items()},
        "bearing_kl": per_seed_and_mean(_by_seed(s, b.kl)),
        "bearing_kl_untrained": per_seed_and_mean(_by_seed(s, b.kl_untrained)),
        "histogram_edges": b.edges,
        "histogram_active": per_seed_and_mean(_by_seed(s, b.hist_active)),
        "histogram_quiescent": per_seed_and_mean(_by_seed(s, b.hist_quiescent)),
        "histogram_untrained": per_seed_and_mean(_by_seed(s, b.hist_untrained)),
    }


# ---------------------------------------------------------------------------------------------- notebooks


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


def colorbar_beside(ax: Axes, mappable, label: str, width: float = 0.06, pad: float = 0.06, ticks=None,
                    tick_labels=None):
    """A colour bar hugging the right edge of `ax` (an inset axes), not the edge of its layout cell.

    Equal-aspect panels (maps, PC planes) are narrower than their cell; `Figure.colorbar(ax=…)` would put the
    bar at the cell's edge, far from the panel. `width` and `pad` are fractions of the panel's width.
    """
    cb = ax.figure.colorbar(mappable, cax=ax.inset_axes([1 + pad, 0, width, 1]), label=label)
    cb.outline.set_visible(False)
    if ticks is not None:
        cb.set_ticks(ticks, labels=tick_labels)
    return cb


def show_saved(fig, name: str, settings) -> "IPython.display.Image":
    """Close `fig` and return the saved `<name>.png` for display, so an executed notebook shows exactly the
    saved figure, once, whatever the matplotlib backend (papermill runs with Agg, which displays nothing)."""
    import matplotlib.pyplot as plt
    from IPython.display import Image

    plt.close(fig)
    return Image(filename=str(settings.figures_dir / f"{name}.png"), width=900)


__all__ = ["N_PCS", "BEARING_BINS", "NETWORKS", "KL_ROWS", "KL_COLS", "FIG2_CONDITIONS", "TrainingCurves",
           "training_curves", "ExplainedVariance", "explained_variance_over_seeds", "fig1_results", "Example",
           "reactivation_example", "DensityMaps", "density_maps", "DecodedRuns", "decoded_runs", "KLMatrices",
           "kl_over_seeds", "total_variance_over_seeds", "fig2_results", "BearingStats", "bearings_over_seeds",
           "fig3_results", "decoded_runs_over_seeds", "StepLengths", "step_lengths_over_seeds", "final_decode_errors",
           "summarize", "colorbar_beside", "show_saved"]
