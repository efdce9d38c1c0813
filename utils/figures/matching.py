"""Suppl. C.1 and C.2 share one figure: trajectories, KDE maps and the KL divergences of Fig. 2e for an
unbiased and a biased network (docs/methods.md §7); `figC1` and `figC2` choose the networks and noise.

Runs of one seed use that seed for the test batch and the noise, so the unbiased and biased networks of a
seed start from the same positions; the KL estimate of a seed draws its Monte-Carlo samples from it too.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from matplotlib.axes import Axes

from .. import analysis as A
from .. import plotting as P
from ..claims import Params, Verdict, biased_holds, fmt, params_of, unbiased_holds
from .base import Figure, FigureSettings, Notebook, PerSeed, Results
from .fig2 import RELEASED_UNIFORM_OFFSET


# ----------------------------------------------------------------------------------------------------------
# KL divergences of one seed


# Results key -> (quiescent q, active p) of KL(q ‖ p); U/B = unbiased/biased network, _q quiescent, _a active,
# 𝒰 the uniform box, R^σ an untrained network in the same quiescence.
MATCHING_KL = {
    "unbiased": ("U_q", "U_a"),
    "biased_q_vs_unbiased_a": ("B_q", "U_a"),
    "uniform_vs_unbiased": ("uniform", "U_a"),
    "random_vs_unbiased": ("random", "U_a"),
    "biased": ("B_q", "B_a"),
    "unbiased_q_vs_biased_a": ("U_q", "B_a"),
    "uniform_vs_biased": ("uniform", "B_a"),
    "random_vs_biased": ("random", "B_a"),
}
# The notation of Fig. 2: the noisy networks are U^σ and B^σ; _q quiescent, _a active.
_KL_SYMBOL = {"U_q": r"U^\sigma_q", "B_q": r"B^\sigma_q", "uniform": r"\mathcal{U}", "random": r"R^\sigma",
              "U_a": r"U^\sigma_a", "B_a": r"B^\sigma_a"}
KL_LABELS = {k: rf"${_KL_SYMBOL[q]}\,\Vert\,{_KL_SYMBOL[p]}$" for k, (q, p) in MATCHING_KL.items()}
OWN_KL = ("unbiased", "biased")


def matching_kls(active: dict[str, np.ndarray], quiescent: dict[str, np.ndarray], box_size: float,
                 n_samples: int, seed: int) -> dict[str, float]:
    """Every KL of `MATCHING_KL` for one seed, from decoded points: `active` {"U_a", "B_a"} and `quiescent`
    {"U_q", "B_q", "random"}; 𝒰 is the true uniform density over the box. One `analysis.kl_matrix`, so each
    KDE is fitted once and each quiescent one evaluated at its Monte-Carlo samples once."""
    qs = {k: quiescent[k] for k in ("U_q", "B_q", "random")} | {"uniform": A.UniformBox(box_size)}
    ps = {k: active[k] for k in ("U_a", "B_a")}
    m = A.kl_matrix(qs, ps, n_samples, seed)
    rows, cols = list(ps), list(qs)
    return {key: float(m[rows.index(p), cols.index(q)]) for key, (q, p) in MATCHING_KL.items()}


# ----------------------------------------------------------------------------------------------------------
# Suppl. C.1 and C.2: trajectories, KDE maps and KL, unbiased and biased


@dataclass
class MatchingResults(Results):
    """What results/figC1.json and figC2.json hold; `check_matching` reads it."""
    kl: dict[str, PerSeed[float]]           # MATCHING_KL key -> nats per seed
    conditions: dict[str, str]              # "unbiased"/"biased" -> condition name
    quiescent_noise: str | float            # quiescent noise mode of `analysis.quiescent_noise_std`
    quiescent_noise_std: dict[str, float]   # "unbiased"/"biased"/"random" -> per-step std used

    def with_released_uniform(self) -> "MatchingResults":
        """The same results with each KL from 𝒰 raised by `RELEASED_UNIFORM_OFFSET` (the released code's
        baseline): `check_matching` then gives the verdict under it."""
        raised = {k: replace(v, per_seed={s: x + RELEASED_UNIFORM_OFFSET for s, x in v.per_seed.items()})
                  if MATCHING_KL[k][0] == "uniform" else v for k, v in self.kl.items()}
        return replace(self, kl=raised)


@dataclass
class ConditionExample:
    """Decoded runs of the first seed's network of one condition and their KDE maps over the box."""
    active: np.ndarray          # (n_kde, active_steps, 2)
    quiescent: np.ndarray       # (n_kde, quiescent_steps_kde, 2)
    active_map: np.ndarray      # (kde_grid, kde_grid), [y, x]
    quiescent_map: np.ndarray


@dataclass
class Matching(Figure):
    """Suppl. C.1 / C.2: does quiescence reproduce the active distribution, unbiased and biased?"""
    name: str                                    # "figC1" or "figC2"
    conditions: dict[str, str]                   # "unbiased"/"biased" -> condition name
    noise: str | float                           # quiescent noise mode of `analysis.quiescent_noise_std`
    noise_std: dict[str, float]                  # "unbiased"/"biased"/"random" -> per-step std used
    extent: tuple[float, float, float, float]
    examples: dict[str, ConditionExample]
    kl: dict[str, dict[int, float]]              # MATCHING_KL key -> seed -> nats
    layout: str = "abcdi;efghi"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 2.6),
                                                     "width_ratios": [1, 1, 1, 1, 1.3]})

    def results(self) -> MatchingResults:
        return MatchingResults({k: PerSeed.of(v) for k, v in self.kl.items()}, self.conditions, self.noise,
                               self.noise_std)

    def summary(self) -> str:
        lines = [f"KL(quiescent ‖ active), nats, mean ± sd over {len(next(iter(self.kl.values())))} seeds:"]
        for key, (q, p) in MATCHING_KL.items():
            v = np.asarray(list(self.kl[key].values()))
            lines.append(f"  {q:>8} ‖ {p}: {v.mean():7.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}   ({key})")
        return "\n".join(lines)

    def panels(self) -> dict:
        out = {}
        for row, keys in (("unbiased", "abcd"), ("biased", "efgh")):
            ex, tag = self.examples[row], r"$U^\sigma$" if row == "unbiased" else r"$B^\sigma$"
            # a row's two maps on one colour scale, its bar beside the second (one scale for all four would
            # paint the flat unbiased maps in one colour beside the biased network's peaks)
            vmax = max(float(np.max(ex.active_map)), float(np.max(ex.quiescent_map)))
            out[keys[0]] = _traj_panel(ex.active, P.ACTIVE, 8, f"{tag} active")
            out[keys[1]] = _traj_panel(ex.quiescent, P.QUIESCENT, 4, f"{tag} quiescent")
            out[keys[2]] = _map_panel(ex.active_map, self.extent, f"{tag} active KDE", vmax)
            out[keys[3]] = _map_panel(ex.quiescent_map, self.extent, f"{tag} quiescent KDE", vmax, colorbar=True)
        out["i"] = lambda ax: plot_kl_bars(ax, self.kl, params_of(CLAIM[self.name]))
        return out


def _traj_panel(xy, color, every, title):
    def draw(ax):
        P.plot_trajectories(ax, xy, color, every=every)
        ax.set_title(title)
    return draw


def _map_panel(density, extent, title, vmax, colorbar=False):
    def draw(ax):
        P.plot_kde_map(ax, density, extent, vmax=vmax)
        ax.axis("off")  # the map fills the box
        ax.set_title(title)
        if colorbar:
            P.colorbar_beside(ax, ax.images[0], "density")
    return draw


CLAIM = {"figC1": "figC1-same-noise", "figC2": "figC2-gru"}   # the claim each figure's panel i decides


def plot_kl_bars(ax: Axes, kl: dict[str, dict[int, float]], params: dict | None = None) -> Axes:
    """Horizontal bars of mean KL (nats) per `MATCHING_KL` entry, seeds as dots, value printed at the bar end.

    Own-condition entries (U_q‖U_a, B_q‖B_a) in quiescent red, baselines grey; active U rows on top. With the
    claim's `params`, each own entry's bound as a black tick on its row (fig2's rules: 𝒰's KL + the margin, and
    the baseline factor × the smallest baseline): a bar past its tick fails."""
    keys = list(MATCHING_KL)
    y = np.arange(len(keys))[::-1].astype(float)
    y[: len(keys) // 2] += 0.5  # a gap between the U_a and the B_a group
    means = np.array([np.mean(list(kl[k].values())) for k in keys])
    colors = [P.QUIESCENT if k in OWN_KL else "0.65" for k in keys]
    ax.barh(y, means, height=0.7, color=colors)
    for yi, k in zip(y, keys):
        ax.scatter(list(kl[k].values()), np.full(len(kl[k]), yi), s=3, color="black", zorder=3, linewidths=0)
    hi = max(float(np.max([max(v.values()) for v in kl.values()])), 1e-3)
    lo = min(0.0, float(np.min([min(v.values()) for v in kl.values()])))
    for yi, k, m in zip(y, keys, means):  # the value just right of the bar and of its seeds' dots
        ax.text(max(m, *kl[k].values(), 0) + 0.03 * (hi - lo), yi, f"{m:.2f}", va="center", fontsize=5)
    if params:
        mean = dict(zip(keys, means))
        bounds = {"unbiased": mean["uniform_vs_unbiased"] + params["kl_margin"],
                  "biased": params["baseline_factor"] * min(mean[k] for k in ("unbiased_q_vs_biased_a",
                                                                             "uniform_vs_biased", "random_vs_biased"))}
        for k, bound in bounds.items():
            yi = y[keys.index(k)]
            ax.plot([bound, bound], [yi - 0.45, yi + 0.45], color="black", lw=1.2, zorder=4)
        hi = max(hi, *bounds.values())
        ax.set_title("black tick: the claim's bound", fontsize=5)
    ax.set_xlim(lo, hi * 1.25)
    ax.set_yticks(y, [KL_LABELS[k] for k in keys])
    ax.tick_params(axis="y", length=0)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("KL (nats)")
    return ax


def matching(settings: FigureSettings, notebook: Notebook, noise: str | float = "same") -> Matching:
    """Decoded active and quiescent runs of every seed's unbiased and biased network, their KL divergences
    (protocol of Fig. 2e: n_kde × active_steps active points vs n_kde × quiescent_steps_kl quiescent points,
    kl_samples samples) and, for the first seed, trajectories and KDE maps (n_kde × quiescent_steps_kde).

    R^σ is `analysis.random_network_like` of the unbiased network with its seed (the network before training,
    as in Fig. 2e) run in the same quiescence `noise` as the trained ones.
    """
    a = settings.analysis
    models = notebook.labelled()   # "unbiased" and "biased"
    nets = {row: settings.seeded(models[row]) for row in ("unbiased", "biased")}
    steps = max(a.quiescent_steps_kl, a.quiescent_steps_kde)
    kl: dict[str, dict[int, float]] = {k: {} for k in MATCHING_KL}
    examples, noise_std = {}, {}
    extent = A.box_extent(nets["unbiased"][0][1].task_cfg)
    for i, seed in enumerate(settings.seeds):
        active, quiescent = {}, {}
        for row, tag in (("unbiased", "U"), ("biased", "B")):
            net = nets[row][i][1]
            act = A.active_run(net, a.n_kde, a.active_steps, seed=seed).decoded
            q = A.quiescent_run(net, a.n_kde, steps, noise, seed=seed, keep_states=False)
            active[f"{tag}_a"], quiescent[f"{tag}_q"] = act, q.decoded[:, : a.quiescent_steps_kl]
            noise_std[row] = q.noise_std
            if i == 0:
                q_kde = q.decoded[:, : a.quiescent_steps_kde]
                examples[row] = ConditionExample(act, q_kde, A.kde_map(act, extent, a.kde_grid),
                                                 A.kde_map(q_kde, extent, a.kde_grid))
        rand = A.random_network_like(nets["unbiased"][i][1], seed)
        r = A.quiescent_run(rand, a.n_kde, a.quiescent_steps_kl, noise, seed=seed, keep_states=False)
        quiescent["random"], noise_std["random"] = r.decoded, r.noise_std
        box = nets["unbiased"][i][1].task_cfg.box_size
        for key, v in matching_kls(active, quiescent, box, a.kl_samples, seed).items():
            kl[key][seed] = v
    conditions = {row: models[row].condition for row in ("unbiased", "biased")}
    return Matching(notebook.figure, conditions, noise, noise_std, extent, examples, kl)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------


def check_matching(r: MatchingResults, p: Params) -> Verdict:
    """fig2-unbiased and fig2-biased together, on the summary KL entries of figC1 and figC2."""
    kl = {k: v.seed_mean() for k, v in r.kl.items()}
    unbiased = unbiased_holds(kl["unbiased"], kl["uniform_vs_unbiased"], p["kl_margin"])
    baselines = [kl["unbiased_q_vs_biased_a"], kl["uniform_vs_biased"], kl["random_vs_biased"]]
    biased = biased_holds(kl["biased"], baselines, p["baseline_factor"])
    return Verdict(unbiased and biased,
                   f"unbiased {fmt(kl['unbiased'])} vs 𝒰 {fmt(kl['uniform_vs_unbiased'])} "
                   f"({'holds' if unbiased else 'fails'}); biased {fmt(kl['biased'])} vs min baseline "
                   f"{fmt(min(baselines))} ({'holds' if biased else 'fails'})",
                   {s: f"U {fmt(r.kl['unbiased'].per_seed[s])}, B {fmt(v)}"
                    for s, v in r.kl["biased"].per_seed.items()})


__all__ = ["MATCHING_KL", "KL_LABELS", "matching_kls", "MatchingResults", "ConditionExample", "Matching", "plot_kl_bars",
           "matching", "check_matching"]
