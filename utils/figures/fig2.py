"""Fig. 2: quiescent outputs follow the task's own statistics (biased vs unbiased, noisy vs noiseless).

a–d: the first seed's biased network, trajectories and KDE maps; e: KL(quiescent column ‖ active row) of the
four SP networks, the uniform box 𝒰 and an untrained network R^σ, mean over seeds; f: total quiescent
variance of every network. Quiescence is √2 × the trained noise, so the noiseless-trained U and B stay
noiseless.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .. import analysis as A
from .. import plotting as P
from ..claims import Check, Params, Verdict, biased_holds, fmt, unbiased_holds
from ..config import AnalysisConfig, TaskConfig
from ..models import Network
from .base import SP_FOUR, Figure, FigureSettings, KLTable, Notebook, PerSeed
from .runs import (DecodedRuns, DensityMaps, by_seed, decoded_runs, density_maps, seeds_of, summarize,
                   total_variance_over_seeds)

NOTEBOOK = Notebook("fig2_biased_and_kl", SP_FOUR)

# label -> SP condition, from the registry. Rows of e are active networks, columns quiescent sources; 𝒰 is the
# true uniform density over the box and R^σ an untrained network in noisy quiescence (see `kl_over_seeds`).
NETWORKS = {m.label: m.condition for m in NOTEBOOK.models}
KL_ROWS = ["U^σ", "U", "B^σ", "B"]
KL_COLS = ["U^σ", "U", "𝒰", "B^σ", "B", "R^σ"]
FIG2_CONDITIONS = list(NETWORKS.values())


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


@dataclass
class Fig2Results(KLTable):
    """What results/fig2.json holds; the checks of Fig. 2's claims read it."""
    total_variance: dict[str, PerSeed[float]]    # condition -> total variance of the decoded quiescent points, m²
    # "<label>_a" / "<label>_q" -> median_distance_from_centre (m), distinct_positions -> per seed
    decoded_spread: dict[str, dict[str, PerSeed[float]]] = field(default_factory=dict)

    def with_released_uniform(self) -> "Fig2Results":
        """The same results with every entry whose quiescent side is 𝒰 raised by `RELEASED_UNIFORM_OFFSET`: the
        checks then give the verdicts under the released code's uniform baseline."""
        j = self.kl_cols.index("𝒰")
        raised = {s: [[v + RELEASED_UNIFORM_OFFSET if k == j else v for k, v in enumerate(row)] for row in m]
                  for s, m in self.kl_matrix.per_seed.items()}
        return replace(self, kl_matrix=replace(self.kl_matrix, per_seed=raised))


# The uniform baseline as the released code evaluates it (inferred): a per-axis density 1/L instead of the joint
# 1/L², so every KL from 𝒰 gains log L (L = 2.2 m: 0.79 nats).
RELEASED_UNIFORM_OFFSET = math.log(TaskConfig().box_size)


def fig2_results(kl: KLMatrices, variance: dict[str, dict[int, float]]) -> Fig2Results:
    """`variance` maps each condition of `FIG2_CONDITIONS` to its per-seed totals."""
    spread = {f"{label}_a": spread_of_decoded(kl.runs[label], "active") for label in KL_ROWS}
    spread |= {f"{label}_q": spread_of_decoded(kl.runs[label], "quiescent") for label in [*KL_ROWS, "R^σ"]}
    return Fig2Results(
        kl_rows=KL_ROWS, kl_cols=KL_COLS, kl_matrix=PerSeed.of(by_seed(kl.seeds, kl.matrices)),
        total_variance={c: PerSeed.of(variance[c]) for c in FIG2_CONDITIONS},
        decoded_spread={name: {stat: PerSeed.of({s: v[stat] for s, v in seeds.items()})
                               for stat in ("median_distance_from_centre", "distinct_positions")}
                        for name, seeds in spread.items()})


@dataclass
class Fig2(Figure):
    kl: KLMatrices
    variance: dict[str, dict[int, float]]   # condition -> seed -> total quiescent variance (m²)
    biased: DecodedRuns                     # a–d: the first seed's B^σ network
    positions: DensityMaps                  # c–d
    quiescent_steps_kde: int                # a–d draw the first steps of the quiescent run

    name = "fig2"
    layout = "abcd;eeef"
    figure_kw = dict(figsize=(P.FULL_WIDTH, 3.6), panel_sizes={"d": (1.9, 1.8)})

    def _kde_panel(self, ax, which):
        pos = self.positions
        P.plot_kde_map(ax, getattr(pos, which), pos.extent, vmax=pos.vmax)
        ax.set(title=which, xlabel="x (m)", ylabel="y (m)")
        if which == "quiescent":
            P.colorbar_beside(ax, ax.images[0], "density")

    def panels(self) -> dict:
        quiescent = self.biased.quiescent[:, : self.quiescent_steps_kde]
        boxes = {label: list(self.variance[c].values()) for label, c in zip(P.KL_ROWS, NETWORKS.values())}
        return {
            "a": lambda ax: P.plot_trajectories(ax, self.biased.active, P.ACTIVE, every=8).set(title="active"),
            "b": lambda ax: P.plot_trajectories(ax, quiescent, P.QUIESCENT, every=4).set(title="quiescent"),
            "c": lambda ax: self._kde_panel(ax, "active"),
            "d": lambda ax: self._kde_panel(ax, "quiescent"),
            "e": lambda ax: P.plot_kl_matrix(ax, self.kl.mean),
            # log: the noiseless networks' variances are 1–2 orders below the noisy ones'
            "f": lambda ax: P.plot_variance_boxes(ax, boxes, log=True),
        }

    def results(self) -> Fig2Results:
        return fig2_results(self.kl, self.variance)

    def summary(self) -> str:
        return summarize(self.results().to_json())


def compute(settings: FigureSettings) -> Fig2:
    """e over every seed (its runs serve a–d), then f over every network."""
    a = settings.analysis
    nets = {m.condition: [net for _, net in settings.seeded(m)]
            for m in NOTEBOOK.models}
    kl = kl_over_seeds(nets, a)
    variance = {c: total_variance_over_seeds(nets[c], a) for c in FIG2_CONDITIONS}
    biased = kl.runs["B^σ"][0]
    quiescent = biased.quiescent[:, : a.quiescent_steps_kde]
    positions = density_maps(biased.active, quiescent, A.box_extent(nets["noisy_biased"][0].task_cfg), a.kde_grid)
    return Fig2(kl, variance, biased, positions, a.quiescent_steps_kde)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = Fig2Results


def check_fig2_unbiased(r: Fig2Results, p: Params) -> Verdict:
    own, per_seed = r.kl("U^σ", "U^σ")
    uniform, _ = r.kl("U^σ", "𝒰")
    return Verdict(unbiased_holds(own, uniform, p["kl_margin"]), f"{fmt(own)} vs 𝒰 {fmt(uniform)}",
                   {s: fmt(v) for s, v in per_seed.items()})


def check_fig2_biased(r: Fig2Results, p: Params) -> Verdict:
    own, per_seed = r.kl("B^σ", "B^σ")
    baselines = [r.kl("B^σ", c)[0] for c in ("U^σ", "𝒰", "R^σ")]
    return Verdict(biased_holds(own, baselines, p["baseline_factor"]),
                   f"{fmt(own)} vs min baseline {fmt(min(baselines))}", {s: fmt(v) for s, v in per_seed.items()})


def check_fig2_diverge(r: Fig2Results, p: Params) -> Verdict:
    own, _ = r.kl("U^σ", "U^σ")
    cross, random = r.kl("U^σ", "B^σ")[0], r.kl("U^σ", "R^σ")[0]
    factor = p["min_factor"]
    return Verdict(cross >= factor * own and random >= factor * own,
                   f"B^σ_q {fmt(cross)}, R^σ {fmt(random)} vs {factor} × {fmt(own)}")


def check_fig2_noiseless(r: Fig2Results, p: Params) -> Verdict:
    u = [r.kl("U", c)[0] for c in ("U", "B", "R^σ")]
    b = [r.kl("B", c)[0] for c in ("B", "U", "R^σ")]
    ok = u[0] < min(u[1:]) and b[0] < min(b[1:])
    return Verdict(ok, f"row U: own {fmt(u[0])} vs {fmt(u[1])}, {fmt(u[2])}; "
                       f"row B: own {fmt(b[0])} vs {fmt(b[1])}, {fmt(b[2])}")


def check_fig2_explore(r: Fig2Results, p: Params) -> Verdict:
    tv = r.total_variance
    v = {k: tv[k].per_seed for k in FIG2_CONDITIONS}
    seeds = v["noisy_unbiased"].keys()
    ok = {s: v["noisy_unbiased"][s] > v["noiseless_unbiased"][s] and v["noisy_biased"][s] > v["noiseless_biased"][s]
          for s in seeds}
    mean = {k: fmt(tv[k].seed_mean()) for k in FIG2_CONDITIONS}
    return Verdict(all(ok.values()),
                   f"U {mean['noisy_unbiased']} > {mean['noiseless_unbiased']}; "
                   f"B {mean['noisy_biased']} > {mean['noiseless_biased']}",
                   {s: f"U {fmt(v['noisy_unbiased'][s])}/{fmt(v['noiseless_unbiased'][s])}, "
                       f"B {fmt(v['noisy_biased'][s])}/{fmt(v['noiseless_biased'][s])}" for s in seeds})


def check_fig2_variance_scale(r: Fig2Results, p: Params) -> Verdict:
    tv, axis = r.total_variance, p["paper_axis"]
    labels = {c: label for label, c in NETWORKS.items()}
    inside = sum(tv[c].seed_mean() <= axis for c in labels)
    return Verdict(None, ", ".join(f"{label} {fmt(tv[c].seed_mean())}" for c, label in labels.items())
                   + f" m² ({inside} of 4 within the paper's 0–{axis} axis)",
                   {s: ", ".join(f"{label} {fmt(tv[c].per_seed[s])}" for c, label in labels.items())
                    for s in tv["noisy_unbiased"].per_seed})


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"fig2-unbiased": check_fig2_unbiased, "fig2-biased": check_fig2_biased,
                            "fig2-diverge": check_fig2_diverge, "fig2-noiseless": check_fig2_noiseless,
                            "fig2-explore": check_fig2_explore, "fig2-variance-scale": check_fig2_variance_scale}
