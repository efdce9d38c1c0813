"""Supplementary figures C.1–C.5 (docs/methods.md §7): the computations over seeds behind each notebook.

Each `figC*` function is its figure's `compute`: it takes a notebook's `FigureSettings`, runs what the figure
needs on every seed's networks (the notebook's rows of `utils.registry`), and returns a `base.Figure` result.
Example panels come from the first seed; every number comes from every seed.

Runs of one seed use that seed for the test batch and the noise, so the unbiased and biased networks of a
seed start from the same positions; the KL estimate of a seed draws its Monte-Carlo samples from it too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from .. import analysis as A
from .. import plotting as P
from .. import registry
from .base import Figure, FigureSettings, per_seed_and_mean

# The paper's lengths for the Suppl. C.5 example trajectories (no AnalysisConfig field: they are only drawn).
HD_ACTIVE_EXAMPLE_STEPS = 50
HD_QUIESCENT_STEPS = 500      # also the length of the quiescent runs behind the angular-velocity histograms
EXAMPLES_C3 = 5               # trajectories drawn per panel of Suppl. C.3

# The paper's axes. Suppl. C.4 (m per step) is widened only if the data exceed it; Suppl. C.5e–f keeps the paper's
# limits, so what lies beyond them is counted and printed on the panel (`share_beyond`).
STEP_DISTANCE_YLIM = {"unbiased": (0, 0.6), "biased": (0, 0.06)}
ANGULAR_XLIM = {"active_biased": (-0.5, 0.5), "quiescent_biased": (-0.2, 0.2), "quiescent_unbiased": (-0.2, 0.2)}


def share_beyond(values: np.ndarray, limits: tuple[float, float]) -> float:
    """The fraction of `values` outside the closed interval `limits` (what a panel with the paper's axis hides)."""
    v = np.asarray(values, dtype=float).ravel()
    return float(np.mean((v < limits[0]) | (v > limits[1])))


def noisy_quiescence_std(task: str = "spatial") -> float:
    """Absolute quiescent std for noisy quiescence of a noiseless-trained network: √2 × the paper's trained std
    (SP: √(2 × 1e-4) ≈ 0.01414, Suppl. C.3e–f, C.4)."""
    return math.sqrt(2) * A.paper_noise_std(task)


def _seeded(settings: FigureSettings, task: str, condition: str) -> list[tuple[int, Any]]:
    return settings.seeded(registry.Model.of(task, condition))


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
_KL_SYMBOL = {"U_q": "U_q", "B_q": "B_q", "uniform": r"\mathcal{U}", "random": r"R^\sigma", "U_a": "U_a",
              "B_a": "B_a"}
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

    def results(self) -> dict[str, Any]:
        return {"kl": {k: per_seed_and_mean(v) for k, v in self.kl.items()},
                "conditions": self.conditions, "quiescent_noise": self.noise, "quiescent_noise_std": self.noise_std}

    def summary(self) -> str:
        lines = [f"KL(quiescent ‖ active), nats, mean ± sd over {len(next(iter(self.kl.values())))} seeds:"]
        for key, (q, p) in MATCHING_KL.items():
            v = np.asarray(list(self.kl[key].values()))
            lines.append(f"  {q:>8} ‖ {p}: {v.mean():7.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}   ({key})")
        return "\n".join(lines)

    def panels(self) -> dict:
        out = {}
        for row, keys in (("unbiased", "abcd"), ("biased", "efgh")):
            ex, tag = self.examples[row], "U" if row == "unbiased" else "B"
            out[keys[0]] = _traj_panel(ex.active, P.ACTIVE, 8, f"{tag} active")
            out[keys[1]] = _traj_panel(ex.quiescent, P.QUIESCENT, 4, f"{tag} quiescent")
            out[keys[2]] = _map_panel(ex.active_map, self.extent, f"{tag} active KDE")
            out[keys[3]] = _map_panel(ex.quiescent_map, self.extent, f"{tag} quiescent KDE")
        out["i"] = lambda ax: plot_kl_bars(ax, self.kl)
        return out


def _traj_panel(xy, color, every, title):
    def draw(ax):
        P.plot_trajectories(ax, xy, color, every=every)
        ax.set_title(title)
    return draw


def _map_panel(density, extent, title):
    def draw(ax):
        P.plot_kde_map(ax, density, extent)
        ax.axis("off")  # the map fills the box
        ax.set_title(title)
    return draw


def plot_kl_bars(ax: Axes, kl: dict[str, dict[int, float]]) -> Axes:
    """Horizontal bars of mean KL (nats) per `MATCHING_KL` entry, seeds as dots, value printed at the bar end.

    Own-condition entries (U_q‖U_a, B_q‖B_a) in quiescent red, baselines grey; active U rows on top."""
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
    ax.set_xlim(lo, hi * 1.25)
    ax.set_yticks(y, [KL_LABELS[k] for k in keys])
    ax.tick_params(axis="y", length=0)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("KL (nats)")
    return ax


def matching(settings: FigureSettings, notebook: str, noise: str | float = "same") -> Matching:
    """Decoded active and quiescent runs of every seed's unbiased and biased network, their KL divergences
    (protocol of Fig. 2e: n_kde × active_steps active points vs n_kde × quiescent_steps_kl quiescent points,
    kl_samples samples) and, for the first seed, trajectories and KDE maps (n_kde × quiescent_steps_kde).

    R^σ is `analysis.random_network_like` of the unbiased network with its seed (the network before training,
    as in Fig. 2e) run in the same quiescence `noise` as the trained ones.
    """
    a = settings.analysis
    models = registry.NOTEBOOKS[notebook].labelled()   # "unbiased" and "biased"
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
    return Matching(registry.NOTEBOOKS[notebook].figure, conditions, noise, noise_std, extent, examples, kl)


def figC1(settings: FigureSettings) -> Matching:
    """Suppl. C.1: the noisy SP RNNs with quiescent noise equal to the training noise (× 1, not √2)."""
    return matching(settings, "figC1_same_quiescent_noise", noise="same")


def figC2(settings: FigureSettings) -> Matching:
    """Suppl. C.2: continuous-time GRUs, quiescent noise × 1 (the paper does not double it for GRUs)."""
    return matching(settings, "figC2_gru", noise="same")


# ----------------------------------------------------------------------------------------------------------
# Suppl. C.3 and C.4: noisy-trained (NT) vs noiseless-trained (DT) networks in three quiescences

# Regime -> (noisy-trained?, active run?, quiescent noise mode).
REGIMES = {
    "NT active": (True, True, None),
    "NT quiescent": (True, False, "scaled"),
    "DT active": (False, True, None),
    "DT quiescent": (False, False, "scaled"),          # √2 × 0 = 0: noiseless
    "DT noisy quiescent": (False, False, "noisy"),     # absolute std √2 × paper noise (√(2e-4) for SP)
}
QUIESCENT_REGIMES = ("NT quiescent", "DT quiescent", "DT noisy quiescent")
REGIME_TITLES = {"NT quiescent": "noisy-trained,\nnoisy quiescence",
                 "DT quiescent": "noiseless-trained,\nnoiseless quiescence",
                 "DT noisy quiescent": "noiseless-trained,\nnoisy quiescence"}


def _condition(regime: str, bias: str) -> str:
    return f"{'noisy' if REGIMES[regime][0] else 'noiseless'}_{bias}"


def regime_decoded(net, regime: str, n: int, steps: int, seed: int) -> tuple[np.ndarray, float]:
    """Decoded (n, steps, 2) run of `net` in a regime of `REGIMES`, and the per-step noise std it used."""
    _, is_active, mode = REGIMES[regime]
    if is_active:
        return A.active_run(net, n, steps, seed=seed).decoded, net.cfg.noise_std
    mode = noisy_quiescence_std(net.task_cfg.name) if mode == "noisy" else mode
    q = A.quiescent_run(net, n, steps, mode, seed=seed, keep_states=False)
    return q.decoded, q.noise_std


def _regime_runs(settings: FigureSettings, regimes, n: int, steps: int, task: str = "spatial"):
    """bias -> regime -> seed -> decoded run, and regime -> noise std; each network loaded once."""
    runs: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    stds: dict[str, float] = {}
    for bias in ("unbiased", "biased"):
        runs[bias] = {}
        nets = {c: _seeded(settings, task, c) for c in {_condition(r, bias) for r in regimes}}
        for regime in regimes:
            runs[bias][regime] = {}
            for seed, net in nets[_condition(regime, bias)]:
                runs[bias][regime][seed], stds[regime] = regime_decoded(net, regime, n, steps, seed)
    return runs, stds


@dataclass
class NoiseConditions(Figure):
    """Suppl. C.3: example quiescent trajectories of NT and DT networks, unbiased and biased."""
    examples: dict[str, dict[str, np.ndarray]]                      # bias -> regime -> (n, T, 2), first seed
    total_variance: dict[str, dict[str, dict[int, float]]]          # bias -> regime -> seed -> m²
    step_distance: dict[str, dict[str, dict[int, float]]]           # bias -> regime -> seed -> m/step
    noise_std: dict[str, float]
    layout: str = "abc;def"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH * 0.8, 3.2)})
    name = "figC3"

    def results(self) -> dict[str, Any]:
        return {"summary": {b: {r: {"total_variance": per_seed_and_mean(self.total_variance[b][r]),
                                    "mean_step_distance": per_seed_and_mean(self.step_distance[b][r])}
                                for r in QUIESCENT_REGIMES} for b in self.examples},
                "quiescent_noise_std": self.noise_std, "examples_per_panel": EXAMPLES_C3}

    def summary(self) -> str:
        lines = ["mean over seeds: total variance (m²), mean step distance (m/step)"]
        for b in self.examples:
            for r in QUIESCENT_REGIMES:
                tv, sd = (np.mean(list(d[b][r].values())) for d in (self.total_variance, self.step_distance))
                lines.append(f"  {b:>8} {r:<20} {tv:9.4f}  {sd:9.5f}")
        return "\n".join(lines)

    def panels(self) -> dict:
        out = {}
        for bias, keys in (("unbiased", "abc"), ("biased", "def")):
            for key, regime in zip(keys, QUIESCENT_REGIMES):
                title = REGIME_TITLES[regime] if bias == "unbiased" else None
                out[key] = _example_panel(self.examples[bias][regime], title, bias if key in "ad" else None)
        return out


def _example_panel(xy, title, row_label):
    def draw(ax):
        P.plot_trajectories(ax, xy, P.QUIESCENT, every=1)
        if title:
            ax.set_title(title)
        if row_label:
            ax.text(-0.08, 0.5, row_label, transform=ax.transAxes, rotation=90, ha="right", va="center")
    return draw


def figC3(settings: FigureSettings) -> NoiseConditions:
    """n_kde quiescent runs of quiescent_steps_kde steps per seed in the three regimes of `QUIESCENT_REGIMES`;
    the first `EXAMPLES_C3` trajectories of the first seed are drawn, and every run is summarised by its total
    variance (`analysis.total_variance`, no burn-in) and mean step distance, per seed."""
    a = settings.analysis
    runs, stds = _regime_runs(settings, QUIESCENT_REGIMES, a.n_kde, a.quiescent_steps_kde)
    first = settings.seeds[0]
    examples = {b: {r: runs[b][r][first][:EXAMPLES_C3] for r in QUIESCENT_REGIMES} for b in runs}
    tv = {b: {r: {s: A.total_variance(x) for s, x in runs[b][r].items()} for r in QUIESCENT_REGIMES} for b in runs}
    sd = {b: {r: {s: float(A.mean_step_distance(x).mean()) for s, x in runs[b][r].items()}
              for r in QUIESCENT_REGIMES} for b in runs}
    return NoiseConditions(examples, tv, sd, stds)


@dataclass
class StepDistances(Figure):
    """Suppl. C.4: mean step distance per trajectory, bias -> regime -> seed -> (n_step_distance,) values."""
    values: dict[str, dict[str, dict[int, np.ndarray]]]
    noise_std: dict[str, float]
    layout: str = "ab"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 2.3)})
    name = "figC4"

    def pooled(self, bias: str, regime: str) -> np.ndarray:
        return np.concatenate(list(self.values[bias][regime].values()))

    def results(self) -> dict[str, Any]:
        return {"step_distance": {b: {r: {"per_seed": {str(s): v for s, v in per.items()},
                                          "median": float(np.median(self.pooled(b, r))),
                                          "mean": float(np.mean(self.pooled(b, r)))}
                                      for r, per in regimes.items()} for b, regimes in self.values.items()},
                "share_beyond_paper_axis": {b: {r: share_beyond(self.pooled(b, r), STEP_DISTANCE_YLIM[b]) for r in REGIMES}
                                            for b in self.values},
                "quiescent_noise_std": self.noise_std}

    def summary(self) -> str:
        lines = ["median step distance (m/step), all seeds pooled:"]
        for b in self.values:
            lines.append(f"  {b:>8}: " + ", ".join(f"{r} {np.median(self.pooled(b, r)):.4f}" for r in REGIMES))
        lines.append("share of trajectories above the paper's axis (unbiased 0.6, biased 0.06 m/step):")
        for b, shares in self.results()["share_beyond_paper_axis"].items():
            lines.append(f"  {b:>8}: " + ", ".join(f"{r} {v:.1%}" for r, v in shares.items()))
        return "\n".join(lines)

    def ylim(self, bias: str) -> tuple[float, float]:
        top = max(float(self.pooled(bias, r).max()) for r in REGIMES)
        lo, hi = STEP_DISTANCE_YLIM[bias]
        return (lo, hi if top <= hi else 1.05 * top)

    def panels(self) -> dict:
        colors = {r: P.ACTIVE if REGIMES[r][1] else P.QUIESCENT for r in REGIMES}

        def panel(bias):
            def draw(ax):
                P.plot_boxes(ax, {r: self.pooled(bias, r) for r in REGIMES}, colors=colors, ylim=self.ylim(bias),
                             ylabel="mean step distance (m)", rotation=30)
                ax.set_title(bias)
                top = STEP_DISTANCE_YLIM[bias][1]
                if self.ylim(bias)[1] > top:  # the axis was widened: mark the paper's limit
                    ax.axhline(top, color="0.5", lw=0.6, ls=":")
                    ax.text(0.02, top, f"paper's axis ({top:g})", transform=ax.get_yaxis_transform(), fontsize=5,
                            va="bottom", color="0.4")
            return draw
        return {"a": panel("unbiased"), "b": panel("biased")}


def figC4(settings: FigureSettings) -> StepDistances:
    """Per-trajectory mean step distance (`analysis.mean_step_distance`) of n_step_distance trajectories of
    active_steps steps, active and quiescent alike, in the five regimes of `REGIMES`, for every seed."""
    a = settings.analysis
    runs, stds = _regime_runs(settings, tuple(REGIMES), a.n_step_distance, a.active_steps)
    values = {b: {r: {s: A.mean_step_distance(x) for s, x in per.items()} for r, per in regimes.items()}
              for b, regimes in runs.items()}
    return StepDistances(values, {r: stds[r] for r in QUIESCENT_REGIMES})


# ----------------------------------------------------------------------------------------------------------
# Suppl. C.5: HD transition structure


HD_RUNS = ("active_biased", "quiescent_biased", "quiescent_unbiased")
HD_TITLES = {"active_biased": "active, biased", "quiescent_biased": "quiescent, biased",
             "quiescent_unbiased": "quiescent, unbiased"}


@dataclass
class HDTransitions(Figure):
    """Suppl. C.5: decoded bearings of counter-clockwise-biased (and unbiased) HD networks over time."""
    examples: dict[str, np.ndarray]                   # run -> (T,) decoded bearings of the first seed
    velocity: dict[str, dict[int, np.ndarray]]        # run -> seed -> per-step angular velocities (rad/step)
    noise_std: float
    layout: str = "abc;def"
    figure_kw: dict = field(default_factory=lambda: {"figsize": (P.FULL_WIDTH, 3.8), "polar": ("a", "b", "c")})
    name = "figC5"

    def means(self, run: str) -> dict[int, float]:
        return {s: float(v.mean()) for s, v in self.velocity[run].items()}

    def results(self) -> dict[str, Any]:
        return {"angular_velocity_mean": {r: per_seed_and_mean(self.means(r)) for r in HD_RUNS},
                "angular_velocity_sd": {r: per_seed_and_mean({s: float(v.std()) for s, v in self.velocity[r].items()})
                                        for r in HD_RUNS},
                "share_beyond_paper_axis": {r: per_seed_and_mean({s: share_beyond(v, ANGULAR_XLIM[r])
                                                                  for s, v in self.velocity[r].items()}) for r in HD_RUNS},
                "example_steps": {r: len(v) for r, v in self.examples.items()}, "quiescent_noise_std": self.noise_std}

    def summary(self) -> str:
        lines = ["mean angular velocity (rad/step), per seed and mean (paper: quiescent biased ≈ +0.0151, "
                 "quiescent unbiased ≈ 0.0005):"]
        for r in HD_RUNS:
            m = self.means(r)
            lines.append(f"  {r:<19} " + "  ".join(f"{v:+.4f}" for v in m.values())
                         + f"   mean {np.mean(list(m.values())):+.4f}")
        lines.append("share of steps beyond the paper's axis (panels d–f), all seeds pooled:")
        for r in HD_RUNS:
            lines.append(f"  {r:<19} {self.pooled_share(r):.1%} beyond ±{ANGULAR_XLIM[r][1]:g} rad/step")
        return "\n".join(lines)

    def pooled_share(self, run: str) -> float:
        return share_beyond(np.concatenate(list(self.velocity[run].values())), ANGULAR_XLIM[run])

    def panels(self) -> dict:
        out = {}
        for key, run in zip("abc", HD_RUNS):
            color = P.ACTIVE if run.startswith("active") else P.QUIESCENT
            out[key] = _polar_panel(self.examples[run], color, f"{HD_TITLES[run]} ({len(self.examples[run])} steps)")
        for key, run in zip("def", HD_RUNS):
            color = P.ACTIVE if run.startswith("active") else P.QUIESCENT
            out[key] = _hist_panel(np.concatenate(list(self.velocity[run].values())), color, ANGULAR_XLIM[run],
                                   f"{HD_TITLES[run]}\n{self.pooled_share(run):.0%} beyond the axis")
        return out


def _polar_panel(bearings, color, title):
    def draw(ax):
        P.plot_polar_trajectory(ax, bearings, color)
        ax.set_title(title, pad=8)
    return draw


def _hist_panel(values, color, xlim, title):
    def draw(ax):
        P.plot_histogram(ax, values, color, xlim=xlim, xlabel="angular velocity (rad/step)")
        mean = ax.get_title(loc="right")  # "mean = …", under the run's name: a narrow panel has no room beside
        ax.set_title("", loc="right")
        ax.set_title(f"{title}\n{mean}")
    return draw


def figC5(settings: FigureSettings) -> HDTransitions:
    """Per seed: an active run of the biased HD network (n_kde × active_steps) and quiescent runs of the biased
    and unbiased networks (n_kde × `HD_QUIESCENT_STEPS`, noise √2 × trained); angular velocities pooled over
    trajectories. Examples: trajectory 0 of the first seed, the active one cut to `HD_ACTIVE_EXAMPLE_STEPS`."""
    a = settings.analysis
    nets = {label: settings.seeded(m) for label, m in registry.NOTEBOOKS["figC5_hd_transitions"].labelled().items()}
    velocity: dict[str, dict[int, np.ndarray]] = {r: {} for r in HD_RUNS}
    examples, std = {}, 0.0
    for i, seed in enumerate(settings.seeds):
        decoded = {"active_biased": A.active_run(nets["biased"][i][1], a.n_kde, a.active_steps, seed=seed).decoded}
        for bias in ("biased", "unbiased"):
            q = A.quiescent_run(nets[bias][i][1], a.n_kde, HD_QUIESCENT_STEPS, "scaled", seed=seed, keep_states=False)
            decoded[f"quiescent_{bias}"], std = q.decoded, q.noise_std
        for run, b in decoded.items():
            velocity[run][seed] = A.angular_velocity(b)
            if i == 0:
                examples[run] = b[0, :HD_ACTIVE_EXAMPLE_STEPS, 0] if run == "active_biased" else b[0, :, 0]
    return HDTransitions(examples, velocity, std)


__all__ = ["MATCHING_KL", "KL_LABELS", "matching_kls", "Matching", "matching", "figC1", "figC2",
           "REGIMES", "QUIESCENT_REGIMES", "regime_decoded", "NoiseConditions", "figC3", "StepDistances", "figC4",
           "HDTransitions", "figC5", "plot_kl_bars", "noisy_quiescence_std", "share_beyond"]
