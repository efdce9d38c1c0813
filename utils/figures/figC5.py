"""Suppl. C.5: the transition structure of HD networks: decoded bearings over time of a counter-clockwise-biased
network, active and quiescent, and of an unbiased one, with their angular velocities on every seed."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import analysis as A
from .. import plotting as P
from ..claims import Check, Params, Verdict
from .base import HD, Figure, FigureSettings, Model, Notebook, PerSeed, Results, share_beyond

NOTEBOOK = Notebook("figC5_hd_transitions", (Model.of(HD, "noisy_biased", "biased"), Model.of(HD, "noisy_unbiased", "unbiased")))

# The paper's lengths for the example trajectories (no AnalysisConfig field: they are only drawn).
HD_ACTIVE_EXAMPLE_STEPS = 50
HD_QUIESCENT_STEPS = 500      # also the length of the quiescent runs behind the angular-velocity histograms

# The paper's axes: what lies beyond them is counted and printed on the panel (`share_beyond`).
ANGULAR_XLIM = {"active_biased": (-0.5, 0.5), "quiescent_biased": (-0.2, 0.2), "quiescent_unbiased": (-0.2, 0.2)}



HD_RUNS = ("active_biased", "quiescent_biased", "quiescent_unbiased")
HD_TITLES = {"active_biased": "active, biased", "quiescent_biased": "quiescent, biased",
             "quiescent_unbiased": "quiescent, unbiased"}


@dataclass
class FigC5Results(Results):
    """What results/figC5.json holds; the check of C.5's claim reads it."""
    angular_velocity_mean: dict[str, PerSeed[float]]     # run (`HD_RUNS`) -> mean angular velocity, rad/step
    angular_velocity_sd: dict[str, PerSeed[float]]       # run -> sd of the per-step angular velocity, rad/step
    share_beyond_paper_axis: dict[str, PerSeed[float]]   # run -> share of steps beyond the paper's axis (0–1)
    example_steps: dict[str, int]                        # run -> steps of the drawn example trajectory
    quiescent_noise_std: float                           # per-step quiescent noise std used


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

    def results(self) -> FigC5Results:
        return FigC5Results(
            {r: PerSeed.of(self.means(r)) for r in HD_RUNS},
            {r: PerSeed.of({s: float(v.std()) for s, v in self.velocity[r].items()}) for r in HD_RUNS},
            {r: PerSeed.of({s: share_beyond(v, ANGULAR_XLIM[r]) for s, v in self.velocity[r].items()})
             for r in HD_RUNS},
            {r: len(v) for r, v in self.examples.items()}, self.noise_std)

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


def compute(settings: FigureSettings) -> HDTransitions:
    """Per seed: an active run of the biased HD network (n_kde × active_steps) and quiescent runs of the biased
    and unbiased networks (n_kde × `HD_QUIESCENT_STEPS`, noise √2 × trained); angular velocities pooled over
    trajectories. Examples: trajectory 0 of the first seed, the active one cut to `HD_ACTIVE_EXAMPLE_STEPS`."""
    a = settings.analysis
    nets = {label: settings.seeded(m) for label, m in NOTEBOOK.labelled().items()}
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


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = FigC5Results


def check_figC5_ccw(r: FigC5Results, p: Params) -> Verdict:
    biased = r.angular_velocity_mean["quiescent_biased"].per_seed
    unbiased = r.angular_velocity_mean["quiescent_unbiased"].seed_mean()
    mean_biased = float(np.mean(list(biased.values())))
    ok = all(v > 0 for v in biased.values()) and abs(unbiased) < mean_biased / p["unbiased_divisor"]
    return Verdict(ok, f"biased {mean_biased:+.4f}, unbiased {unbiased:+.4f}",
                   {s: f"{v:+.4f}" for s, v in biased.items()})


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"figC5-ccw": check_figC5_ccw}


__all__ = ["HD_ACTIVE_EXAMPLE_STEPS", "HD_QUIESCENT_STEPS", "ANGULAR_XLIM", "FigC5Results", "HDTransitions", "compute"]
