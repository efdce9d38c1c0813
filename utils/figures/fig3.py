"""Fig. 3: noisy HD networks reactivate the head-direction ring.

a–b: polar histograms of the first seed's active and quiescent decoded bearings; c–d: its hidden states on
the active PCs, coloured by decoded bearing. Beyond the panels: the bearing-histogram KL against an untrained
network, each network's final decoding error (claim `fig3-trained`) and how quiescent bearings move
(`fig3-smooth`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import analysis as A
from .. import plotting as P
from ..claims import Check, Params, Verdict, fmt, on_trained, untrained
from ..config import AnalysisConfig
from ..models import Network
from .base import HD, Figure, FigureSettings, Model, Notebook, PerSeed, Results
from .runs import (DecodedRuns, Example, StepLengthResults, StepLengths, by_seed, decoded_runs, final_decode_errors,
                   reactivation_example, seed_of, seeds_of, step_lengths_over_seeds, summarize)

NOTEBOOK = Notebook("fig3_head_direction", (Model.of(HD, "noisy_unbiased", "U^σ"), Model.of(HD, "noisy_biased", "B^σ")))

BEARING_BINS = 20   # a–b: bins of the polar histograms and of the bearing KL


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


@dataclass
class Fig3Results(Results):
    """What results/fig3.json holds; the checks of Fig. 3's claims read it."""
    step_lengths: StepLengthResults                 # decoded |Δθ| statistics of the U^σ runs, rad/step (fig3-smooth)
    final_decode_error: dict[str, PerSeed[float]]   # condition -> final test decoding MSE, rad² (fig3-trained)
    bearing_kl: PerSeed[float]                      # KL(quiescent ‖ active) of the bearing histograms, nats
    bearing_kl_untrained: PerSeed[float]            # KL(untrained quiescent ‖ active), nats
    histogram_edges: list[float]                    # (bins + 1,) bin edges over [−π, π), rad
    histogram_active: PerSeed[list[float]]          # fraction of active bearings per bin (a)
    histogram_quiescent: PerSeed[list[float]]       # fraction of quiescent bearings per bin (b)
    histogram_untrained: PerSeed[list[float]]       # the same, untrained network in noisy quiescence


def fig3_results(b: BearingStats, steps: StepLengths, final_errors: dict[str, dict[int, float]]) -> Fig3Results:
    """`final_errors`: condition -> per-seed final decoding MSE (rad²) of the HD networks checked by fig3-trained."""
    s = b.seeds
    return Fig3Results(
        step_lengths=steps.results(),
        final_decode_error={c: PerSeed.of(v) for c, v in final_errors.items()},
        bearing_kl=PerSeed.of(by_seed(s, b.kl)),
        bearing_kl_untrained=PerSeed.of(by_seed(s, b.kl_untrained)),
        histogram_edges=b.edges.tolist(),
        histogram_active=PerSeed.of(by_seed(s, b.hist_active)),
        histogram_quiescent=PerSeed.of(by_seed(s, b.hist_quiescent)),
        histogram_untrained=PerSeed.of(by_seed(s, b.hist_untrained)),
    )




@dataclass
class Fig3(Figure):
    bearings: BearingStats                       # a–b and the bearing KL, every seed
    example: Example                             # c–d: the first seed
    steps: StepLengths                           # how quiescent bearings move (fig3-smooth)
    final_errors: dict[str, dict[int, float]]    # condition -> seed -> final decoding MSE (fig3-trained)

    name = "fig3"
    layout = "abcd"
    figure_kw = dict(polar=["a", "b"], figsize=(P.FULL_WIDTH, 1.7), panel_sizes={"d": (1.9, 1.7)})

    def _pc_panel(self, ax, points, values, title, colorbar):
        ex = self.example
        P.plot_pc_scatter(ax, points.reshape(-1, 2), values.ravel(), cmap=P.BEARING_CMAP, colorbar=False)
        ax.set(xlim=ex.pc_extent[:2], ylim=ex.pc_extent[2:], aspect="equal", title=title)
        if colorbar:
            P.colorbar_beside(ax, ax.collections[0], "decoded bearing", ticks=[-np.pi, 0, np.pi],
                              tick_labels=[r"$-\pi$", "0", r"$\pi$"])

    def panels(self) -> dict:
        b, ex = self.bearings, self.example
        run = b.runs[0]
        rmax = 1.05 * np.sqrt(max(b.hist_active[0].max(), b.hist_quiescent[0].max()) / np.pi)  # shared
        return {
            "a": lambda ax: P.plot_polar_histogram(ax, run.active, P.ACTIVE, rmax=rmax).set(title="active"),
            "b": lambda ax: P.plot_polar_histogram(ax, run.quiescent, P.QUIESCENT, rmax=rmax).set(title="quiescent"),
            "c": lambda ax: self._pc_panel(ax, ex.pcs_active, ex.active, "active", False),
            "d": lambda ax: self._pc_panel(ax, ex.pcs_quiescent, ex.quiescent, "quiescent", True),
        }

    def results(self) -> Fig3Results:
        return fig3_results(self.bearings, self.steps, self.final_errors)

    def summary(self) -> str:
        return summarize(self.results().to_json())


def compute(settings: FigureSettings) -> Fig3:
    """The U^σ network of every seed for the panels and the claims; the B^σ networks only for their decoding
    error (fig3-trained)."""
    a = settings.analysis
    models = {m.condition: settings.trained_of(m) for m in NOTEBOOK.models}
    unbiased = [m.net for m in models["noisy_unbiased"]]
    bearings = bearings_over_seeds(unbiased, a)
    example = reactivation_example(unbiased[0], a)
    steps = step_lengths_over_seeds(bearings.runs, circular=True)
    return Fig3(bearings, example, steps, {c: final_decode_errors(m) for c, m in models.items()})


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = Fig3Results


def check_fig3_trained(r: Fig3Results, p: Params) -> Verdict:
    err = r.final_decode_error
    per = {f"{c} {s}": v for c in ("noisy_unbiased", "noisy_biased") for s, v in err[c].per_seed.items()}
    return Verdict(all(v <= p["max_decode_mse"] for v in per.values()),
                   f"unbiased {fmt(err['noisy_unbiased'].seed_mean())}, "
                   f"biased {fmt(err['noisy_biased'].seed_mean())} rad²",
                   {k: fmt(v) for k, v in per.items()})


def check_fig3_smooth(r: Fig3Results, p: Params) -> Verdict:
    act, qui = r.step_lengths.active["p99"], r.step_lengths.quiescent["p99"]
    per = {s: (qui.per_seed[s], act.per_seed[s]) for s in act.per_seed}
    return on_trained({s: q <= p["max_p99_ratio"] * a for s, (q, a) in per.items()},
                      f"p99 |Δθ|: quiescent {fmt(qui.seed_mean())} vs active {fmt(act.seed_mean())} rad/step",
                      {s: f"{fmt(q)}/{fmt(a)}" for s, (q, a) in per.items()},
                      untrained(r.final_decode_error["noisy_unbiased"].per_seed, p["max_decode_mse"]),
                      p["max_decode_mse"], "rad²")


def check_fig3_hd(r: Fig3Results, p: Params) -> Verdict:
    trained, untrained = r.bearing_kl.seed_mean(), r.bearing_kl_untrained.seed_mean()
    return Verdict(trained <= p["max_mean_kl"], f"{fmt(trained)} (untrained network: {fmt(untrained)})",
                   {s: fmt(v) for s, v in r.bearing_kl.per_seed.items()})


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"fig3-trained": check_fig3_trained, "fig3-smooth": check_fig3_smooth,
                            "fig3-hd": check_fig3_hd}
