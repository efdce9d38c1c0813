"""What draws the sweep: per network, the measured KL(quiescent ‖ active) against the theory's (top row) and the
measured variance against the theory's (bottom row), over α; and the typed results and summary it writes."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes

from ... import plotting as P
from ..base import Figure, PerSeed
from .models import alpha_label
from .results import TemperatureResults, TemperatureSweep


@dataclass
class Temperature(Figure):
    """ext_temperature: network label -> seed -> `TemperatureSweep`; top row KL, bottom row variance."""
    name: ClassVar[str] = "ext_temperature"
    layout: ClassVar[str] = "abc;def"
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 3.6)}

    alphas: tuple
    conditions: dict[str, str]          # label -> "task/condition"
    sweeps: dict[str, dict[int, TemperatureSweep]]
    burn_in: int

    def stack(self, label: str, what: str) -> np.ndarray:
        """(S, A) array of one quantity ('kl', 'variance', 'variance_per_trajectory', or 'prediction.<name>')."""
        def get(s):
            obj = s
            for part in what.split("."):
                obj = getattr(obj, part)
            return obj
        return np.array([get(s) for s in self.sweeps[label].values()], dtype=float)

    def argmin_alpha(self, label: str) -> float:
        return float(self.alphas[int(np.nanargmin(np.nanmean(self.stack(label, "kl"), axis=0)))])

    def results(self) -> TemperatureResults:
        with np.errstate(invalid="ignore"):  # sd of the +∞ predicted at α = 0 is NaN; JSON writes both as null
            return self._results()

    def _results(self) -> TemperatureResults:
        def psm(what):
            return {label: PerSeed.of(dict(zip(self.sweeps[label], self.stack(label, what)))) for label in self.sweeps}
        return TemperatureResults(
            alphas=list(self.alphas), alpha_labels=[alpha_label(a) for a in self.alphas],
            conditions=self.conditions, burn_in_steps=self.burn_in,
            kl=psm("kl"), kl_predicted=psm("prediction.kl"), kl_predicted_estimator=psm("prediction.kl_estimator"),
            variance=psm("variance"), variance_predicted=psm("prediction.variance"),
            variance_per_trajectory=psm("variance_per_trajectory"),
            variance_active={label: PerSeed.of({s: w.prediction.active_variance for s, w in sw.items()})
                             for label, sw in self.sweeps.items()},
            argmin_alpha={label: self.argmin_alpha(label) for label in self.sweeps},
            kl_minus_predicted_estimator={
                label: np.nanmean(self.stack(label, "kl") - self.stack(label, "prediction.kl_estimator"), axis=0)
                for label in self.sweeps})

    def summary(self) -> str:
        lines = ["mean over seeds; KL in nats (measured / predicted through the estimator / exact prediction); "
                 "variance measured / predicted"]
        for label in self.sweeps:
            kl, est, exact = (np.nanmean(self.stack(label, w), axis=0) for w in
                              ("kl", "prediction.kl_estimator", "prediction.kl"))
            var, pvar = (np.nanmean(self.stack(label, w), axis=0) for w in ("variance", "prediction.variance"))
            lines.append(f"{label} (KL minimal at α = {alpha_label(self.argmin_alpha(label))}):")
            for i, a in enumerate(self.alphas):
                lines.append(f"  α = {alpha_label(a):>3}: KL {kl[i]:7.3f} / {est[i]:7.3f} / {exact[i]:7.3f}   "
                             f"variance {var[i]:.4g} / {pvar[i]:.4g}")
        return "\n".join(lines)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        out = {}
        for key, label in zip("abc", self.sweeps):
            out[key] = self._kl_panel(label)
        for key, label in zip("def", self.sweeps):
            out[key] = self._variance_panel(label)
        return out

    def _kl_panel(self, label: str) -> Callable[[Axes], None]:
        def draw(ax):
            x = np.array(self.alphas)
            pos = x > 0
            ax.plot(x[pos], np.nanmean(self.stack(label, "prediction.kl"), axis=0)[pos], color=P.THEORY, ls="--",
                    label=r"theory $p^{2/\alpha^2}$")
            ax.plot(x[pos], np.nanmean(self.stack(label, "prediction.kl_estimator"), axis=0)[pos], color="0.5",
                    label="theory, via the KDE")
            _measured(ax, x, self.stack(label, "kl"))
            ax.plot([], [], ls="none", label=r"(theory at $\alpha$ = 0: $\infty$)")
            _alpha_axis(ax, self.alphas)
            ax.set_ylabel("KL(quiescent ‖ active)\n(nats)")
            ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
            ax.set_title(P.tex(label))
            if label == next(iter(self.sweeps)):
                P.legend_beside(ax, fontsize=5)
        return draw

    def _variance_panel(self, label: str) -> Callable[[Axes], None]:
        spatial = label.startswith("SP")

        def draw(ax):
            x = np.array(self.alphas)
            ax.plot(x, np.nanmean(self.stack(label, "prediction.variance"), axis=0), color=P.THEORY, ls="--",
                    label="theory")
            _measured(ax, x, self.stack(label, "variance"), label="pooled")
            _measured(ax, x, self.stack(label, "variance_per_trajectory"), label="within trajectory", marker="s",
                      fill=False)
            ax.axhline(np.mean([s.prediction.active_variance for s in self.sweeps[label].values()]), color=P.ACTIVE,
                       lw=0.7, ls=":", label="active")
            _alpha_axis(ax, self.alphas)
            ax.set_ylabel("total variance (m²)" if spatial else "circular variance")
            ax.set_ylim(bottom=0)
            if label == next(iter(self.sweeps)):
                P.legend_beside(ax, fontsize=5)
        return draw


def _alpha_axis(ax: Axes, alphas) -> None:
    """Every α a tick; labelled 0 and the integers from 2 (0.5, 1 and √2 so close together would run into each
    other); the dotted line marks √2, the theory's choice."""
    ax.set_xticks(list(alphas), [alpha_label(a) if a == 0 or (a >= 2 and float(a).is_integer()) else ""
                                 for a in alphas])
    ax.axvline(math.sqrt(2), color="0.7", lw=0.6, ls=":", zorder=0)
    ax.set_xlabel(r"noise scale $\alpha$ (dotted: $\sqrt{2}$)")


def _measured(ax: Axes, x, values, color=P.QUIESCENT, label="measured", marker="o", fill=True) -> None:
    """Mean ± sd over seeds (rows of `values`) as points with error bars, ignoring NaN."""
    v = np.asarray(values, float)
    with warnings.catch_warnings():  # an α where every seed is NaN stays NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(v, axis=0)
        sd = np.nanstd(v, axis=0) if len(v) > 1 else np.zeros(v.shape[1])
    ax.errorbar(x, mean, yerr=sd, color=color, marker=marker, ms=3, lw=0.8, capsize=1.5, label=label,
                mfc=color if fill else "white")


__all__ = ["Temperature"]
