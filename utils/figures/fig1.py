"""Fig. 1: a noisy SP network reactivates its active states offline.

b: training curves over seeds; c: cumulative explained variance of active and quiescent states; d–k: the
first seed's decoded trajectories, hidden states on the active PCs, and their KDE maps; beyond the panels,
how quiescent decoded trajectories move (claim `fig1-smooth`), measured on the Fig. 2e runs of every seed, and
on the same runs Fig. 2e–f's measures of this network (its KL against 𝒰's, its total quiescent variance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import analysis as A
from .. import plotting as P
from ..cache import TrainedModel
from ..claims import Check, Params, Verdict, fmt, on_trained, untrained
from ..config import AnalysisConfig
from ..models import Network
from .base import SP, Figure, FigureSettings, Model, Notebook, PerSeed, Results
from .runs import (DecodedRuns, DensityMaps, Example, StepLengthResults, StepLengths, by_seed, decoded_runs_over_seeds,
                   density_maps, reactivation_example, seed_of, seeds_of, step_lengths_over_seeds, summarize,
                   total_variance_over_seeds)

NOTEBOOK = Notebook("fig1_spatial_reactivation", (Model.of(SP, "noisy_unbiased", "U^σ"),))

N_PCS = 10          # c: cumulative explained variance of PCs 1..10


@dataclass
class TrainingCurves:
    seeds: list[int]
    batches: np.ndarray        # (P,) batch index of each test evaluation
    loss: np.ndarray           # (S, P) test loss
    decode_error: np.ndarray   # (S, P) test decoding MSE (m² per coordinate, or rad²)


def training_curves(models: list[TrainedModel]) -> TrainingCurves:
    """Test loss and decoding error vs batch of every seed, from the metrics saved with each model."""
    batches = [list(m.metrics["test_batch"]) for m in models]
    if any(b != batches[0] for b in batches):
        raise ValueError("the networks were tested at different batches; were they trained with one config?")
    return TrainingCurves([m.seed for m in models], np.asarray(batches[0]),
                          np.array([m.metrics["test_loss"] for m in models]),
                          np.array([m.metrics["test_decode_error"] for m in models]))


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


@dataclass
class QuiescentDensity:
    """Fig. 2's measures of Fig. 1's own network, per seed (reported, no claim): so a Fig. 1 run alone, e.g. of
    a model variant, can be set beside Fig. 2e–f. On the same runs and Monte-Carlo seed as Fig. 2e's U^σ row."""
    seeds: list[int]
    kl_quiescent: np.ndarray    # (S,) KL(U^σ_q ‖ U^σ_a), nats
    kl_uniform: np.ndarray      # (S,) KL(𝒰 ‖ U^σ_a): the uniform box against the same active density
    total_variance: np.ndarray  # (S,) Fig. 2f's total quiescent variance, m²


def quiescent_density_over_seeds(nets: list[Network], runs: list[DecodedRuns],
                                 analysis: AnalysisConfig) -> QuiescentDensity:
    kl = np.array([A.kl_matrix({"q": run.quiescent, "𝒰": A.UniformBox(net.task_cfg.box_size)}, {"a": run.active},
                               analysis.kl_samples, run.seed)[0] for net, run in zip(nets, runs)])
    variance = total_variance_over_seeds(nets, analysis)
    return QuiescentDensity(seeds_of(nets), kl[:, 0], kl[:, 1], np.array([variance[s] for s in seeds_of(nets)]))


@dataclass
class Fig1Results(Results):
    """What results/fig1.json holds; the checks of Fig. 1's claims read it."""
    final_test_loss: PerSeed[float]              # test loss at the end of training (MSE of the cell outputs)
    final_decode_error: PerSeed[float]           # test decoding MSE at the end of training, m² per coordinate
    test_batches: list[int]                      # batch index of each test evaluation (b)
    test_loss: PerSeed[list[float]]              # test loss at each of `test_batches` (b)
    test_decode_error: PerSeed[list[float]]      # test decoding MSE at each of `test_batches`, m² (b)
    ev_active: PerSeed[list[float]]              # cumulative explained-variance ratio of active PCs 1..10 (c)
    ev_quiescent: PerSeed[list[float]]           # the same, PCA fitted on the quiescent states (c)
    ev_max_abs_diff: PerSeed[float]              # max over k of |EV_active(k) − EV_quiescent(k)|, a ratio
    step_lengths: StepLengthResults              # decoded step statistics of the Fig. 2e runs, m (fig1-smooth)
    # Fig. 2's numbers of this network, which no check of Fig. 1 reads: absent (None) from the results of
    # renders older than them, which the report must still read.
    kl_quiescent_active: PerSeed[float] | None = None   # KL(U^σ_q ‖ U^σ_a), nats (Fig. 2e's entry)
    kl_uniform_active: PerSeed[float] | None = None     # KL(𝒰 ‖ U^σ_a), nats
    total_variance: PerSeed[float] | None = None        # Fig. 2f's total quiescent variance, m²
    omitted_when_none: ClassVar[tuple[str, ...]] = ("kl_quiescent_active", "kl_uniform_active", "total_variance")


def fig1_results(curves: TrainingCurves, ev: ExplainedVariance, steps: StepLengths,
                 density: QuiescentDensity) -> Fig1Results:
    s = curves.seeds
    return Fig1Results(
        final_test_loss=PerSeed.of(by_seed(s, curves.loss[:, -1])),
        final_decode_error=PerSeed.of(by_seed(s, curves.decode_error[:, -1])),
        test_batches=curves.batches.tolist(),
        test_loss=PerSeed.of(by_seed(s, curves.loss)),
        test_decode_error=PerSeed.of(by_seed(s, curves.decode_error)),
        ev_active=PerSeed.of(by_seed(ev.seeds, ev.active)),
        ev_quiescent=PerSeed.of(by_seed(ev.seeds, ev.quiescent)),
        ev_max_abs_diff=PerSeed.of(by_seed(ev.seeds, ev.max_abs_diff)),
        step_lengths=steps.results(),
        kl_quiescent_active=PerSeed.of(by_seed(density.seeds, density.kl_quiescent)),
        kl_uniform_active=PerSeed.of(by_seed(density.seeds, density.kl_uniform)),
        total_variance=PerSeed.of(by_seed(density.seeds, density.total_variance)),
    )


@dataclass
class Fig1(Figure):
    curves: TrainingCurves
    ev: ExplainedVariance
    steps: StepLengths          # every seed's Fig. 2e runs: how quiescence moves (fig1-smooth)
    density: QuiescentDensity   # the same runs' KL against the active density, and Fig. 2f's variance
    example: Example            # d–k: the first seed
    positions: DensityMaps      # h–i
    pcs: DensityMaps            # j–k
    distance: list[np.ndarray]  # f–g colour: decoded distance from the centre, active and quiescent

    name = "fig1"
    layout = "bbcc;defg;hijk"
    figure_kw = dict(figsize=(P.FULL_WIDTH, 4.4), height_ratios=[1.2, 1, 1],
                     panel_sizes={k: (1.9, 1.4) for k in "gik"})  # room for the colour bars

    def _pc_panel(self, ax, points, values, title, colorbar):
        ex = self.example
        P.plot_pc_scatter(ax, points.reshape(-1, 2), values, vmin=0, vmax=max(map(max, self.distance)),
                          colorbar=False)
        ax.set(xlim=ex.pc_extent[:2], ylim=ex.pc_extent[2:], aspect="equal", title=title)
        if colorbar:
            P.colorbar_beside(ax, ax.collections[0], "decoded distance\nfrom centre (m)")

    @staticmethod
    def _kde_panel(ax, maps, which, xlabel, ylabel):
        P.plot_kde_map(ax, getattr(maps, which), maps.extent, vmax=maps.vmax)
        ax.set(title=which, xlabel=xlabel, ylabel=ylabel)
        if which == "quiescent":
            P.colorbar_beside(ax, ax.images[0], "density")

    def panels(self) -> dict:
        c, ev, ex = self.curves, self.ev, self.example
        return {
            "b": lambda ax: P.plot_loss_curves(ax, c.batches, c.loss, c.decode_error),
            "c": lambda ax: P.plot_explained_variance(ax, ev.active, ev.quiescent),
            "d": lambda ax: P.plot_trajectories(ax, ex.active, P.ACTIVE, every=8).set(title="active"),
            "e": lambda ax: P.plot_trajectories(ax, ex.quiescent, P.QUIESCENT, every=4).set(title="quiescent"),
            "f": lambda ax: self._pc_panel(ax, ex.pcs_active, self.distance[0], "active", False),
            "g": lambda ax: self._pc_panel(ax, ex.pcs_quiescent, self.distance[1], "quiescent", True),
            "h": lambda ax: self._kde_panel(ax, self.positions, "active", "x (m)", "y (m)"),
            "i": lambda ax: self._kde_panel(ax, self.positions, "quiescent", "x (m)", "y (m)"),
            "j": lambda ax: self._kde_panel(ax, self.pcs, "active", "PC1", "PC2"),
            "k": lambda ax: self._kde_panel(ax, self.pcs, "quiescent", "PC1", "PC2"),
        }

    def results(self) -> Fig1Results:
        return fig1_results(self.curves, self.ev, self.steps, self.density)

    def summary(self) -> str:
        return summarize(self.results().to_json())


def compute(settings: FigureSettings) -> Fig1:
    """Every panel's numbers: b, c and the step statistics over every seed, d–k on the first seed."""
    a = settings.analysis
    (model,) = NOTEBOOK.models
    models = settings.trained_of(model)
    nets = [m.net for m in models]
    curves, ev = training_curves(models), explained_variance_over_seeds(nets, a)
    runs = decoded_runs_over_seeds(nets, a)
    steps, density = step_lengths_over_seeds(runs), quiescent_density_over_seeds(nets, runs, a)
    ex = reactivation_example(nets[0], a)
    positions = density_maps(ex.active, ex.quiescent, A.box_extent(nets[0].task_cfg), a.kde_grid)
    pcs = density_maps(ex.pcs_active, ex.pcs_quiescent, ex.pc_extent, a.kde_grid)
    distance = [A.decoded_distance_from_centre(x).ravel() for x in (ex.active, ex.quiescent)]
    return Fig1(curves, ev, steps, density, ex, positions, pcs, distance)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = Fig1Results


def check_fig1_trained(r: Fig1Results, p: Params) -> Verdict:
    loss, err = r.final_test_loss.per_seed, r.final_decode_error.per_seed
    ok = {s: loss[s] <= p["max_test_loss"] and err[s] <= p["max_decode_mse"] for s in loss}
    return Verdict(all(ok.values()),
                   f"loss {fmt(r.final_test_loss.seed_mean())}, MSE {fmt(r.final_decode_error.seed_mean())}",
                   {s: f"loss {fmt(loss[s])}, MSE {fmt(err[s])}" for s in loss})


def check_fig1_low_dim(r: Fig1Results, p: Params) -> Verdict:
    diff = r.ev_max_abs_diff.per_seed
    ev10 = {s: v[-1] for s, v in r.ev_active.per_seed.items()}
    mean_diff, mean_ev10 = float(np.mean(list(diff.values()))), float(np.mean(list(ev10.values())))
    return Verdict(mean_diff <= p["max_ev_difference"] and mean_ev10 >= p["min_ev_active_10"],
                   f"max |ΔEV| {fmt(mean_diff)}, EV_a(10) {fmt(mean_ev10)}",
                   {s: f"{fmt(diff[s])}, {fmt(ev10[s])}" for s in diff})


def check_fig1_smooth(r: Fig1Results, p: Params) -> Verdict:
    act, qui = r.step_lengths.active, r.step_lengths.quiescent
    seeds = act["p99"].per_seed
    jumps = {s: (qui["jump_fraction"].per_seed[s], act["jump_fraction"].per_seed[s]) for s in seeds}
    p99 = {s: (qui["p99"].per_seed[s], act["p99"].per_seed[s]) for s in seeds}
    rule = {k: p[k] for k in ("max_jump_ratio", "jump_margin", "max_p99_ratio")}
    ok = {s: A.smooth_as_active({"jump_fraction": jumps[s][0], "p99": p99[s][0]},
                                {"jump_fraction": jumps[s][1], "p99": p99[s][1]}, **rule) for s in seeds}
    return on_trained(ok, f"steps > 0.2 m: quiescent {qui['jump_fraction'].seed_mean():.2%} vs active "
                          f"{act['jump_fraction'].seed_mean():.2%}; p99 step: quiescent {fmt(qui['p99'].seed_mean())} "
                          f"m vs active {fmt(act['p99'].seed_mean())} m",
                      {s: f"jumps {jumps[s][0]:.2%}/{jumps[s][1]:.2%}, p99 {fmt(p99[s][0])}/{fmt(p99[s][1])} m"
                       for s in seeds},
                      untrained(r.final_decode_error.per_seed, p["max_decode_mse"]), p["max_decode_mse"], "m²")


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"fig1-trained": check_fig1_trained, "fig1-low-dim": check_fig1_low_dim,
                            "fig1-smooth": check_fig1_smooth}
