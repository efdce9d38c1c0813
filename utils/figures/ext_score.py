"""ext_score: does the quiescent drift follow the score ∇ log p of the active states?

For each network of the module's NOTEBOOK, and per task the noisy network's untrained initial weights
(`analysis.random_network_like`, run with the trained noise), `score.score_alignment` compares at held-out
active states the deterministic quiescent drift with the score of the active state density, on the top active
PCs. The theory says drift = σ²Δt · score (Δr1* = σ² ∇log p Δt, per-step noise variance σ²Δt).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from .. import analysis as A
from .. import plotting as P
from ..claims import Check, Params, Verdict, fmt
from ..score import SCORE_EVAL, SCORE_KS, SCORE_PCS, ScoreAlignment, score_alignment
from .base import HD, SP, Figure, FigureSettings, Model, Notebook, PerSeed, Results

NOTEBOOK = Notebook("ext_score", (Model.of(SP, "noisy_unbiased", "SP U^σ"), Model.of(SP, "noiseless_unbiased", "SP U"),
                                Model.of(HD, "noisy_unbiased", "HD U^σ"), Model.of(HD, "noiseless_unbiased", "HD U")), seeds=2)

# How each kind of network is drawn and named: label suffix -> (colour, legend name).
STYLES = {"U^σ": (P.QUIESCENT, "noisy-trained"), "U": (P.NOISELESS, "noiseless-trained"),
          "R^σ": (P.UNTRAINED, "untrained")}


def _style(label: str) -> tuple[str, str]:
    """'SP U^σ' -> the colour and name of noisy-trained networks."""
    return STYLES[label.split(" ", 1)[1]]


@dataclass
class ScoreResults(Results):
    """What results/ext_score.json holds; the checks of its claims read it. Keys of the dicts: the network labels
    ('SP U^σ', 'SP U', 'SP R^σ', 'HD …'); cosines between the quiescent drift and the score on the top `k` PCs."""
    k: int                                           # active PCs the cosines and slopes are taken on
    ks: list[int]                                    # the numbers of PCs of `median_cosine_by_k`
    groups: dict[str, str]                           # label -> "task/condition" (or the untrained network's)
    n_eval: dict[str, int]                           # label -> held-out active states per seed
    median_cosine: dict[str, PerSeed[float]]         # label -> median cos(drift, score) (no unit)
    median_cosine_shuffled: dict[str, PerSeed[float]]  # label -> the same with the score shuffled over states
    mean_cosine: dict[str, PerSeed[float]]           # label -> mean cos(drift, score) (no unit)
    cosine_quartiles: dict[str, PerSeed[list[float]]]  # label -> 25th, 50th, 75th percentile of the cosine
    median_cosine_by_k: dict[str, PerSeed[list[float]]]  # label -> median cosine on the top k PCs, k in `ks`
    slope: dict[str, PerSeed[float]]                 # label -> fitted slope of drift on score (units of σ²Δt)
    theory_slope: dict[str, float]                   # label -> the theory's slope σ²Δt (per-step noise variance)
    slope_over_theory: dict[str, PerSeed[float]]     # label -> slope / σ²Δt (no unit; NaN where σ²Δt = 0)


@dataclass
class Score(Figure):
    """ext_score: label ('SP U^σ', 'SP U', 'SP R^σ', 'HD …') -> seed -> `ScoreAlignment`."""
    name: ClassVar[str] = "ext_score"
    # Two columns, each panel's key beside it (inside, the keys covered data; three columns left no room for them).
    layout: ClassVar[str] = "ab;cd;ef"
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 5.4)}

    k: int
    ks: tuple
    groups: dict[str, str]      # label -> "task/condition" (or the untrained network it stands for)
    alignments: dict[str, dict[int, ScoreAlignment]]

    def per_seed(self, label: str, fn) -> dict[int, Any]:
        return {s: fn(x) for s, x in self.alignments[label].items()}

    def results(self) -> ScoreResults:
        def psm(fn):
            return {label: PerSeed.of(self.per_seed(label, fn)) for label in self.alignments}
        first = {label: next(iter(v.values())) for label, v in self.alignments.items()}
        return ScoreResults(
            k=self.k, ks=list(self.ks), groups=self.groups,
            n_eval={label: len(a.cosine) for label, a in first.items()},
            median_cosine=psm(lambda a: np.median(a.cosine)),
            median_cosine_shuffled=psm(lambda a: np.median(a.cosine_shuffled)),
            mean_cosine=psm(lambda a: np.mean(a.cosine)),
            cosine_quartiles=psm(lambda a: np.percentile(a.cosine, [25, 50, 75])),
            median_cosine_by_k=psm(lambda a: a.median_cosine_by_k),
            slope=psm(lambda a: a.slope),
            theory_slope={label: a.theory_slope for label, a in first.items()},
            slope_over_theory=psm(lambda a: a.slope / a.theory_slope if a.theory_slope > 0 else float("nan")))

    def summary(self) -> str:
        lines = [f"on the top {self.k} active PCs, held-out states; mean over seeds",
                 f"{'':8} {'median cos':>10} {'shuffled':>9} {'slope':>10} {'σ²Δt':>8} {'ratio':>7}"]
        for label in self.alignments:
            a = list(self.alignments[label].values())
            cos = np.mean([np.median(x.cosine) for x in a])
            sh = np.mean([np.median(x.cosine_shuffled) for x in a])
            slope = np.mean([x.slope for x in a])
            th = a[0].theory_slope
            ratio = f"{slope / th:7.2f}" if th > 0 else "      –"
            lines.append(f"{label:8} {cos:10.3f} {sh:9.3f} {slope:10.3g} {th:8.2g} {ratio}")
        return "\n".join(lines)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        return {"a": self._cosine_histograms("SP"), "b": self._cosine_histograms("HD"), "c": self._cosine_by_k,
                "d": self._scatter("SP U^σ"), "e": self._scatter("HD U^σ"), "f": self._slopes}

    def _cosine_histograms(self, task: str) -> Callable[[Axes], None]:
        def draw(ax):
            bins = np.linspace(-1, 1, 21)
            for label in [lab for lab in self.alignments if lab.startswith(task)]:
                color, name = _style(label)
                c = np.concatenate([a.cosine for a in self.alignments[label].values()])
                ax.hist(c, bins=bins, histtype="step", color=color, lw=1.0, density=True, label=name)
            trained = f"{task} U^σ"
            if trained in self.alignments:
                c = np.concatenate([a.cosine_shuffled for a in self.alignments[trained].values()])
                ax.hist(c, bins=bins, color=P.SHUFFLED, density=True, label="noisy, shuffled", zorder=0)
            ax.set_xlabel("cos(drift, score)")
            ax.set_ylabel("density")
            ax.set_title(f"{task}, top {self.k} PCs")
            P.legend_beside(ax, fontsize=5)
        return draw

    def _cosine_by_k(self, ax: Axes) -> None:
        for label in self.alignments:
            color, _ = _style(label)
            v = np.array([a.median_cosine_by_k for a in self.alignments[label].values()])
            ax.plot(self.ks, v.mean(axis=0), color=color, ls="-" if label.startswith("SP") else "--", marker=".",
                    label=P.tex(label))
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(self.k, color="0.7", lw=0.6, ls=":")
        ax.set_xticks(list(self.ks))
        ax.set_xlabel("PCs k")
        ax.set_ylabel("median cos(drift, score)")
        P.legend_beside(ax, fontsize=5)

    def _scatter(self, label: str) -> Callable[[Axes], None]:
        def draw(ax):
            if label not in self.alignments:
                ax.axis("off")
                return
            a = next(iter(self.alignments[label].values()))
            x, y = a.score[:, 0], a.drift[:, 0]
            ax.scatter(x, y, s=1, color=P.QUIESCENT, alpha=0.4, linewidths=0, rasterized=True)
            lim = np.percentile(np.abs(x), 99) if len(x) else 1.0
            xs = np.array([-lim, lim])
            ax.plot(xs, a.theory_slope * xs, color=P.THEORY, ls="--", label=r"theory: $\sigma^2\Delta t$ × score")
            ax.plot(xs, a.slope * xs, color="0.5", label="fit (all PCs)")
            ax.set_xlim(-lim, lim)
            ax.set_xlabel("score, PC1")
            ax.set_ylabel("drift, PC1")
            ax.set_title(f"{P.tex(label)}, seed {next(iter(self.alignments[label]))}")
            P.legend_beside(ax, fontsize=5)
        return draw

    def _slopes(self, ax: Axes) -> None:
        labels = list(self.alignments)
        for i, label in enumerate(labels):
            color, _ = _style(label)
            v = [a.slope for a in self.alignments[label].values()]
            ax.scatter(np.full(len(v), i), v, color=color, s=6, zorder=3)
            th = next(iter(self.alignments[label].values())).theory_slope
            if th > 0:
                ax.plot([i - 0.3, i + 0.3], [th, th], color=P.THEORY, lw=1)
                ax.plot([i - 0.3, i + 0.3], [th / 2, th / 2], color=P.THEORY, lw=0.6, ls=":")
        ax.axhline(0, color="black", lw=0.5)
        linthresh = 1e-6
        ax.set_yscale("symlog", linthresh=linthresh)
        slopes = [a.slope for v in self.alignments.values() for a in v.values()]
        # Room above the largest slope (a point on the frame is cut in half) and below zero if none is negative.
        ax.set_ylim(bottom=-linthresh if min(slopes) >= 0 else None, top=max(max(slopes), linthresh) * 10)
        ax.set_xticks(np.arange(len(labels)), [P.tex(lab) for lab in labels], rotation=60, ha="right",
                      rotation_mode="anchor")
        ax.set_ylabel("slope of drift on score")
        # The key beside the panel: inside, it covered points; in a title line it reached the panel letter.
        ax.legend(handles=[Line2D([], [], color=P.THEORY, lw=1, label=r"theory $\sigma^2\Delta t$"),
                           Line2D([], [], color=P.THEORY, lw=0.6, ls=":",
                                  label=r"equilibrium $\frac{1}{2}\sigma^2\Delta t$")],
                  fontsize=5, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


def compute(settings: FigureSettings, k: int = SCORE_PCS, n_eval: int = SCORE_EVAL, ks=SCORE_KS) -> Score:
    """`score_alignment` for the networks of the module's NOTEBOOK and, per task, the noisy network's
    untrained initial weights (its noise the trained one): `n_kde` trajectories of `active_steps` per network."""
    a = settings.analysis
    out: dict[str, dict[int, ScoreAlignment]] = {}
    groups = {}
    for model in NOTEBOOK.models:
        label = model.label
        groups[label] = f"{model.task}/{model.condition}"
        nets = settings.seeded(model)
        out[label] = {seed: score_alignment(net, a.n_kde, a.active_steps, seed, k, n_eval, ks) for seed, net in nets}
        if model.condition == "noisy_unbiased":
            untrained = f"{label.split()[0]} R^σ"
            groups[untrained] = f"{model.task}/untrained ({model.condition} weights before training)"
            out[untrained] = {seed: score_alignment(A.random_network_like(net, seed), a.n_kde, a.active_steps, seed,
                                                    k, n_eval, ks) for seed, net in nets}
    order = [f"{t} {g}" for t in ("SP", "HD") for g in STYLES]
    return Score(k, tuple(ks), groups, {lab: out[lab] for lab in order if lab in out})


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = ScoreResults


def check_ext_score_cosine(r: ScoreResults, p: Params) -> Verdict:
    med, shuf = r.median_cosine, r.median_cosine_shuffled
    ok, parts = True, []
    for task in ("SP", "HD"):
        trained, control = med[f"{task} U^σ"].seed_mean(), shuf[f"{task} U^σ"].seed_mean()
        untrained = med[f"{task} R^σ"].seed_mean()
        ok &= trained >= control + p["margin_over_shuffled"] and trained >= untrained + p["margin_over_untrained"]
        parts.append(f"{task}: {fmt(trained)} vs shuffled {fmt(control)}, untrained {fmt(untrained)}, "
                     f"noiseless {fmt(med[f'{task} U'].seed_mean())}")
    return Verdict(ok, "; ".join(parts),
                   {s: ", ".join(f"{t} {fmt(med[f'{t} U^σ'].per_seed[s])}" for t in ("SP", "HD"))
                    for s in med["SP U^σ"].per_seed})


def check_ext_score_slope(r: ScoreResults, p: Params) -> Verdict:
    over = r.slope_over_theory
    ratio = {t: over[f"{t} U^σ"].seed_mean() for t in ("SP", "HD")}
    f = p["factor_squared"]   # the band [1/√f, √f] around the theory's 1
    ok = all(f ** -0.5 <= v <= f ** 0.5 for v in ratio.values())
    parts = [f"{t}: slope/σ²Δt {v:.2f} (untrained {over[f'{t} R^σ'].seed_mean():.2f}; noiseless slope "
             f"{fmt(r.slope[f'{t} U'].seed_mean())})" for t, v in ratio.items()]
    return Verdict(ok, "; ".join(parts),
                   {s: ", ".join(f"{t} {over[f'{t} U^σ'].per_seed[s]:.2f}" for t in ratio)
                    for s in over["SP U^σ"].per_seed})


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-score-cosine": check_ext_score_cosine, "ext-score-slope": check_ext_score_slope}


__all__ = ["ScoreResults", "Score", "compute"]
