"""ext_training_noise: reactivation of SP unbiased networks trained at several per-step noise variances.

For every σ > 0 the theory gives the same stationary quiescent density, the active p: the noise sets how fast
quiescence mixes, not where it goes. The levels are the models of the module's NOTEBOOK, labelled by
their per-step noise variance σ²Δt (and "uniform", the released code's noise).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes

from .. import analysis as A
from .. import plotting as P
from ..claims import Check, Params, Verdict, fmt, params_of
from ..models import noise_moments
from .base import SP, Figure, FigureSettings, Model, Notebook, PerSeed, Results

# Per-step noise variance σ²Δt = noise_std². "0" and "1e-4" are the noiseless_unbiased / noisy_unbiased networks of
# the figures; "uniform" is the released code's model: noise U[0, 1) · 0.01 (mean 0.005, variance 1e-4 / 12) and
# no bias, the "as released" row of ext_constant_drive. Beyond the paper: the first two seeds.
NOTEBOOK = Notebook("ext_training_noise", (
    Model.of(SP, "noiseless_unbiased", "0"),
    Model.of(SP, "noisy_unbiased", "1e-5", noise_std=math.sqrt(1e-5)),
    Model.of(SP, "noisy_unbiased", "1e-4"),
    Model.of(SP, "noisy_unbiased", "1e-3", noise_std=math.sqrt(1e-3)),
    Model.of(SP, "noisy_unbiased", "uniform", noise_kind="uniform", recurrent_bias=False),
), seeds=2)
GAUSSIAN_LEVELS = ("1e-5", "1e-4", "1e-3")  # the non-zero Gaussian levels: the claim compares these


@dataclass
class NoiseLevel:
    """One training noise level of results/ext_training_noise.json: its model and the noise it was trained with."""
    condition: str                 # the condition of the trained network
    overrides: dict[str, Any]      # config overrides beyond the condition (noise std or kind, recurrent bias)
    noise_std: float               # per-step training noise std (hidden units per step)
    noise_kind: str                # "gaussian", or "uniform" (the released code's U[0, 1) · std)
    noise_mean: float              # mean of the per-step noise (hidden units per step)
    noise_variance: float          # per-step noise variance σ²Δt (hidden units² per step)
    quiescent_noise_std: float     # per-step std of the quiescence the KL and variance are measured on (√2 × std)


@dataclass
class TrainingNoiseResults(Results):
    """What results/ext_training_noise.json holds; the check of its claim reads it. Keys: the levels' labels."""
    levels: dict[str, NoiseLevel]             # label (σ²Δt, or "uniform") -> the level's model and noise
    decode_error: dict[str, PerSeed[float]]   # label -> final test decoding MSE (m² per coordinate)
    kl: dict[str, PerSeed[float]]             # label -> Fig. 2e KL(quiescent ‖ active) (nats; NaN where not estimable)
    total_variance: dict[str, PerSeed[float]]  # label -> Fig. 2f total quiescent variance (m²)
    kl_uniform: dict[str, PerSeed[float]] | None = None  # label -> KL(𝒰 ‖ active): the uniform box's level, nats


@dataclass
class TrainingNoise(Figure):
    """ext_training_noise: level -> seed -> value, for each quantity."""
    name: ClassVar[str] = "ext_training_noise"
    layout: ClassVar[str] = "abc"
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 1.9)}

    levels: dict[str, dict[str, Any]]           # label -> condition, overrides, noise std/kind/mean/variance
    decode_error: dict[str, dict[int, float]]   # final test decoding MSE (m² per coordinate)
    kl: dict[str, dict[int, float]]             # Fig. 2e KL(quiescent ‖ active), quiescence √2 × trained noise
    total_variance: dict[str, dict[int, float]]  # Fig. 2f total quiescent variance (m²)
    kl_uniform: dict[str, dict[int, float]]     # KL(𝒰 ‖ active): the uniform box against the same active density

    def results(self) -> TrainingNoiseResults:
        return TrainingNoiseResults(
            levels={k: NoiseLevel(**v) for k, v in self.levels.items()},
            decode_error={k: PerSeed.of(v) for k, v in self.decode_error.items()},
            kl={k: PerSeed.of(v) for k, v in self.kl.items()},
            total_variance={k: PerSeed.of(v) for k, v in self.total_variance.items()},
            kl_uniform={k: PerSeed.of(v) for k, v in self.kl_uniform.items()})

    def summary(self) -> str:
        lines = [f"{'σ²Δt':>8} {'decode MSE':>11} {'KL':>7} {'variance':>9}  (mean over seeds)"]
        for k in self.levels:
            lines.append(f"{k:>8} {np.mean(list(self.decode_error[k].values())):11.4g} "
                         f"{np.nanmean(list(self.kl[k].values())):7.3f} "
                         f"{np.mean(list(self.total_variance[k].values())):9.4g}")
        return "\n".join(lines)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        kl = self._by_level(self.kl, "KL (nats)")

        def kl_with_bound(ax):
            kl(ax)
            ax.set_title("KL(quiescent ‖ active)")
            self._draw_kl_bound(ax)
        return {"a": self._by_level(self.decode_error, "decoding MSE (m²)", log=True),
                "b": kl_with_bound,
                "c": self._by_level(self.total_variance, "total quiescent variance (m²)", log=True)}

    def _draw_kl_bound(self, ax: Axes) -> None:
        """Each level's 𝒰 as a grey diamond beside its seeds, and the claim's bound: a band as tall as the allowed
        range of the three Gaussian levels' means, from the lowest of them (the claim holds when all three lie in
        it); the key beside the panel."""
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
        labels = list(self.levels)
        for i, k in enumerate(labels):
            ax.scatter([i + 0.3], [np.nanmean(list(self.kl_uniform[k].values()))], marker="D", s=9, color="0.45",
                       zorder=3, linewidths=0)
        gaussian = [i for i, k in enumerate(labels) if k in GAUSSIAN_LEVELS]
        means = [np.nanmean(list(self.kl[labels[i]].values())) for i in gaussian]
        bound = params_of("ext-training-noise")["max_kl_range"]
        ax.fill_between([min(gaussian) - 0.4, max(gaussian) + 0.4], min(means), min(means) + bound, color="0.85",
                        zorder=0, lw=0)
        P.legend_beside(ax, fontsize=5.5, handles=[
            Line2D([], [], color=P.QUIESCENT, marker="o", ms=3, ls="none", label="seeds (noisy)"),
            Line2D([], [], color=P.NOISELESS, marker="o", ms=3, ls="none", label="seeds (noiseless)"),
            Line2D([], [], color="black", lw=1, label="mean"),
            Line2D([], [], color="0.45", marker="D", ms=3, ls="none", label=r"$\mathcal{U}$ (uniform box)"),
            Patch(color="0.85", label=f"bound: 1e-5…1e-3\nmeans within {bound:g} nats")])

    def _by_level(self, values: dict[str, dict[int, float]], ylabel: str, log: bool = False):
        """One column per level: each seed a dot (purple if trained without noise), the mean a black bar."""
        def draw(ax):
            labels = list(self.levels)
            for i, k in enumerate(labels):
                v = np.array(list(values[k].values()), float)
                color = P.QUIESCENT if self.levels[k]["noise_std"] > 0 else P.NOISELESS
                ax.scatter(np.full(len(v), i), v, s=6, color=color, zorder=3, linewidths=0)
                ax.plot([i - 0.25, i + 0.25], [np.nanmean(v)] * 2, color="black", lw=1)
            ax.set_xticks(range(len(labels)), [("U[0,1)·0.01" if k == "uniform" else k) for k in labels],
                          rotation=50, ha="right", rotation_mode="anchor")
            ax.set_xlabel(r"training noise $\sigma^2\Delta t$")
            ax.set_ylabel(ylabel)
            if log:
                ax.set_yscale("log")
        return draw


def compute(settings: FigureSettings) -> TrainingNoise:
    """For each training noise level, every seed's SP unbiased network: its final test decoding error, the Fig. 2e
    KL (`n_kde` active × `active_steps` against `n_kde` quiescent × `quiescent_steps_kl`, `kl_samples` samples;
    quiescence √2 × the trained noise, of the trained kind, so the noiseless network stays noiseless) and the
    Fig. 2f total variance (`n_variance` × `variance_steps`, first half dropped)."""
    a = settings.analysis
    info, err, kl, var, kl_u = {}, {}, {}, {}, {}
    for model in NOTEBOOK.models:
        label = model.label
        err[label], kl[label], var[label], kl_u[label] = {}, {}, {}, {}
        for trained in settings.trained_of(model):
            seed, net = trained.seed, trained.net
            std, kind = net.cfg.noise_std, net.cfg.noise_kind
            mean, variance = noise_moments(std, kind)
            info[label] = {"condition": model.condition, "overrides": model.override_dict(), "noise_std": std,
                           "noise_kind": kind, "noise_mean": mean, "noise_variance": variance,
                           "quiescent_noise_std": math.sqrt(2) * std}
            err[label][seed] = float(trained.metrics["test_decode_error"][-1])
            act = A.active_run(net, a.n_kde, a.active_steps, seed).decoded
            q = A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, "scaled", seed, keep_states=False).decoded
            active_density = A.kde(act)
            kl[label][seed] = A.kl_divergence_or_nan(q, active_density, a.kl_samples, seed)
            kl_u[label][seed] = float(A.kl_matrix({"𝒰": A.UniformBox(net.task_cfg.box_size)}, {"a": active_density},
                                                  a.kl_samples, seed)[0, 0])
            long = A.quiescent_run(net, a.n_variance, a.variance_steps, "scaled", seed, keep_states=False).decoded
            var[label][seed] = A.total_variance(long, burn_in=a.variance_steps // 2)
    return TrainingNoise(info, err, kl, var, kl_u)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = TrainingNoiseResults


def check_ext_training_noise(r: TrainingNoiseResults, p: Params) -> Verdict:
    kl = {k: float(v.nan_mean()) for k, v in r.kl.items()}
    noisy = [kl[k] for k in GAUSSIAN_LEVELS]
    spread = max(noisy) - min(noisy)
    mse = {k: v.seed_mean() for k, v in r.decode_error.items()}
    return Verdict(spread <= p["max_kl_range"], ", ".join(f"{k} {fmt(v)}" for k, v in kl.items())
                   + f" (range over σ²Δt > 0 {fmt(spread)}); decoding MSE "
                   + ", ".join(f"{k} {fmt(v)}" for k, v in mse.items()))


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-training-noise": check_ext_training_noise}


__all__ = ["NoiseLevel", "TrainingNoiseResults", "TrainingNoise", "compute"]
