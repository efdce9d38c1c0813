"""What draws the map: the verdict grid, the dot panels with their bounds, the window KLs, the prediction
scatter and the density maps, from the judged runs."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from ... import plotting as P
from ... import quiescence as Q
from ..base import Figure
from .models import SHARPENED_ROWS, TRAINED_ROWS
from .results import ConditionsResults, RunNumbers
from .verdicts import Sufficiency, verdicts


@dataclass
class Conditions(Figure):
    """conditions: row label -> seed -> numbers of the unbiased run, with its biased twin under "biased";
    hd: row -> seed -> numbers; rule: the verdicts' thresholds."""
    name: ClassVar[str] = "ext_conditions"
    # Two nested mosaics, so that the verdict panels' margins and the maps' do not constrain each other's
    # columns; the empty cell (".") in the map rows holds the colour bar the first three maps share.
    layout: ClassVar[list] = [[[list("aaabbcc"), list("dddeeff")]], [[list("gghhii.jj"), list("kkllmm.nn")]]]
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 8.0), "height_ratios": [3.0, 1.6]}

    conditions: dict[str, dict[str, RunNumbers]]   # SP row -> seed -> the unbiased run, its twin under .biased
    hd: dict[str, dict[str, RunNumbers]]           # HD row -> seed -> run
    rule: Sufficiency
    long_trajectories: int

    def verdicts(self) -> dict[str, dict[str, dict[str, bool]]]:
        return verdicts(self.rule, self.conditions)

    def results(self) -> ConditionsResults:
        return ConditionsResults(self.conditions, self.hd, self.rule, self.verdicts(), self.long_trajectories,
                                 list(Q.HORIZONS), {"kl": Q.SETTLE_KL, "norm": Q.SETTLE_NORM, "diverge": Q.DIVERGE_NORM})

    def _mean(self, label: str, get: Callable[[RunNumbers], float]) -> float:
        return float(np.mean([get(r) for r in self.conditions[label].values()]))

    def summary(self) -> str:
        lines = [f"{'condition':<18}{'MSE':>7}{'p99 q/a':>8}{'moving':>7}{'steps':>7}{'KL late':>8}{'KL 𝒰':>7}"
                 f"{'B late':>8}{'B bound':>8}  trained/smooth/stationary/biased per seed"]
        v = self.verdicts()
        for label, per_seed in self.conditions.items():
            m = lambda get: self._mean(label, get)  # noqa: E731
            marks = " ".join("".join("✓" if v[label][str(s)][c] else "·" for c in ("trained", "smooth", "stationary",
                                                                                "biased")) for s in per_seed)
            lines.append(f"{label:<18}{m(lambda r: r.decoding_mse):7.4f}"
                         f"{m(lambda r: r.steps_quiescent['p99'] / r.steps_active['p99']):8.2f}"
                         f"{m(lambda r: r.steps_quiescent['moving']):7.2f}{m(lambda r: r.steps):7.0f}"
                         f"{m(lambda r: r.kl_late):8.3f}{m(lambda r: r.kl_uniform):7.3f}"
                         f"{m(lambda r: r.biased.kl_late):8.3f}"
                         f"{m(lambda r: self.rule.biased_bound(r.biased)):8.3f}  {marks}")
        for label, per_seed in self.hd.items():
            marks = "".join("✓" if self.rule.hd_meets(r) else "·" for r in per_seed.values())
            lines.append(f"HD {label:<15} {marks} late KL " + ", ".join(f"{r.kl_late:.3f}" for r in per_seed.values())
                         + f" (𝒰 {np.mean([r.kl_uniform for r in per_seed.values()]):.3f}), settled "
                         + "/".join("yes" if r.settled else "no" for r in per_seed.values())
                         + ", p99 q/a " + ", ".join(f"{r.steps_quiescent['p99'] / r.steps_active['p99']:.2f}"
                                                    for r in per_seed.values()))
        return "\n".join(lines)

    # --- panels ---

    def _grid(self, ax: Axes) -> None:
        """a: the verdicts: seeds meeting each criterion, per condition (green: every seed)."""
        columns = ("trained", "smooth", "stationary", "biased", "meets")
        v, labels = self.verdicts(), list(self.conditions)
        counts = np.array([[sum(v[k][s][c] for s in v[k]) for c in columns] for k in labels], float)
        n = np.array([[len(v[k])] * len(columns) for k in labels], float)
        cmap = ListedColormap(["#f4c7c3", "#fce8b2", "#b7e1cd"])
        im = ax.imshow(np.where(counts == n, 2, np.where(counts > 0, 1, 0)), cmap=cmap, vmin=0, vmax=2, aspect="auto")
        P.colorbar_beside(ax, im, "seeds meeting it", width=0.04, ticks=[1 / 3, 1, 5 / 3],
                          tick_labels=["none", "some", "all"])
        for i in range(len(labels)):
            for j in range(len(columns)):
                ax.text(j, i, f"{int(counts[i, j])}/{int(n[i, j])}", ha="center", va="center", fontsize=5)
        ax.set_xticks(range(len(columns)), ["trained", "smooth", "stationary", "biased\n(fig2 rule)", "all four"],
                      fontsize=5, rotation=40, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(len(labels)), labels, fontsize=5)
        ax.axhline(sum(k in TRAINED_ROWS for k in labels) - 0.5, color="black", lw=0.6)
        ax.tick_params(length=0)
        ax.set_title("seeds meeting each criterion", fontsize=6)
        ax.set_ylabel("quiescences of the default  |  trained", fontsize=5)

    def _dots(self, ax: Axes, get: Callable[[RunNumbers], float], xlabel: str, title: str, log: bool = False) -> None:
        """One dot per seed of `get(numbers)`, one row per condition (top: the first), trained rows above the line."""
        labels = list(self.conditions)[::-1]
        for i, label in enumerate(labels):
            rs = list(self.conditions[label].values())
            ax.scatter([get(r) for r in rs], [i] * len(rs), s=6, color=P.QUIESCENT, zorder=3)
        ax.set_yticks(range(len(labels)), [])
        ax.axhline(sum(k not in TRAINED_ROWS for k in labels) - 0.5, color="0.6", lw=0.5)
        if log:
            ax.set_xscale("log")
        ax.set(ylim=(-0.7, len(labels) - 0.3))
        ax.set_xlabel(xlabel, fontsize=5)
        ax.set_title(title, fontsize=6)

    def _stationary(self, ax: Axes) -> None:
        """b: unbiased late KL minus KL(𝒰 ‖ active) per seed; the bound 0.1 dashed."""
        self._dots(ax, lambda r: r.kl_late - r.kl_uniform,
                   r"KL(late ‖ active) − KL($\mathcal{U}$ ‖ active), nats", "unbiased (dots: seeds)\n(dashed: bound)")
        ax.axvline(self.rule.kl_margin, color="black", lw=0.6, ls="--")

    def _biased(self, ax: Axes) -> None:
        """c: biased late KL over fig2-biased's bound (0.25 × the smallest baseline); ≤ 1 passes."""
        self._dots(ax, lambda r: r.biased.kl_late / self.rule.biased_bound(r.biased),
                   "KL(late ‖ active) / bound", "biased (dots: seeds)\nfig2 rule (dashed: ≤ 1)", log=True)
        ax.axvline(1, color="black", lw=0.6, ls="--")

    def _smooth(self, ax: Axes) -> None:
        """d: smoothness over the whole run: p99 step over the active p99 (dots), bound 1.5 dashed; × marks a
        seed whose share of long steps breaks fig1-smooth's other bound."""
        self._dots(ax, lambda r: r.steps_quiescent["p99"] / r.steps_active["p99"],
                   "p99 step, quiescent / active", "smooth, whole run\n(×: too many jumps)", log=True)
        labels = list(self.conditions)[::-1]
        for i, label in enumerate(labels):
            for r in self.conditions[label].values():
                q, a = r.steps_quiescent, r.steps_active
                if q["jump_fraction"] > self.rule.max_jump_ratio * a["jump_fraction"] + self.rule.jump_margin:
                    ax.scatter(q["p99"] / a["p99"], i, marker="x", s=14, color="black", lw=0.6, zorder=4)
        ax.axvline(self.rule.max_p99_ratio, color="black", lw=0.6, ls="--")
        ax.set_yticks(range(len(labels)), labels, fontsize=4.5)

    def _windows(self, ax: Axes) -> None:
        """e: KL(window ‖ active) over the run, seed 0: default, as written and PC noise √(2k), unbiased (solid)
        and biased (dashed); every run to its own horizon."""
        for label, color in (("default", P.QUIESCENT), ("as written", "0.35"), ("PC noise √(2k)", P.ACTIVE)):
            if label not in self.conditions:
                continue
            r = next(iter(self.conditions[label].values()))
            for rr, ls in ((r, "-"), (r.biased, "--")):
                t = (np.arange(len(rr.kl_windows)) + 0.5) * rr.window
                ax.plot(t, rr.kl_windows, color=color, lw=0.8, ls=ls, label=label if ls == "-" else None)
        ax.set(xscale="log", yscale="log")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * (hi / lo) ** 0.6)   # a band above the curves for the key (it covered them)
        ax.set_xlabel("quiescent step", fontsize=5)
        ax.set_title("KL(window ‖ active)\nseed 0, dashed: biased", fontsize=6)
        ax.tick_params(labelsize=5)
        ax.legend(fontsize=4.5, frameon=False, loc="upper left", ncol=1)

    def _sharpened(self, ax: Axes) -> None:
        """f: the sharpened-score prediction against the active density as a description of the late density,
        every seed, unbiased (○) and biased (△) default networks at each isotropic α; below the diagonal the
        prediction is closer."""
        for label, color in zip(SHARPENED_ROWS, ("#444444", P.QUIESCENT, P.ACTIVE)):
            rows = list(self.conditions.get(label, {}).values())
            for rr, marker in [(r, "o") for r in rows] + [(r.biased, "^") for r in rows]:
                ax.scatter(rr.kl_late, rr.sharpened.kl, s=8, marker=marker, color=color)
            if rows:   # one key entry per α, in its colour
                ax.scatter([], [], s=8, color=color, label="α = √2" if label == "default" else label)
        lim = [1e-2, 20]
        ax.plot(lim, lim, color="0.6", lw=0.5)
        for marker, name in (("o", "unbiased"), ("^", "biased")):
            ax.scatter([], [], s=8, marker=marker, facecolors="white", edgecolors="0.3", label=name)
        ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim)
        ax.set_xlabel("KL(late ‖ active)", fontsize=5)
        ax.set_title("sharpened prediction:\n" + r"KL(late ‖ active$^{2k/\alpha^2}$)", fontsize=6)
        ax.tick_params(labelsize=5)
        ax.legend(fontsize=4.5, frameon=False, loc="best")   # where it covers the fewest points

    def _map(self, ax: Axes, label: str, key: str, biased: bool, vmax: float | None, colorbar: bool = False) -> None:
        r = next(iter(self.conditions[label].values()))
        rr = r.biased if biased else r
        density = {"active": rr.active_density, "late": rr.late_density,
                   "predicted": Q.sharpened(np.asarray(rr.active_density), rr.k)}[key]
        kk = int(round(math.sqrt(len(density))))
        im = ax.imshow(np.asarray(density).reshape(kk, kk), origin="lower", cmap=P.KDE_CMAP, vmin=0,
                       vmax=vmax if vmax is not None else float(np.max(density)),
                       extent=(-1.1, 1.1, -1.1, 1.1))
        title = {"active": "active", "late": f"late, {label}", "predicted": f"active$^{{k}}$, k = {rr.k:.1f}"}[key]
        ax.set(aspect="equal", xticks=[-1, 0, 1], yticks=[-1, 0, 1])
        ax.set_title(("B: " if biased else "U: ") + title, fontsize=5.5)
        if key != "active" or label != "default":   # one row of maps, one y axis: the first map's
            ax.set_yticklabels([])
        ax.tick_params(labelsize=4.5)
        if colorbar:
            P.colorbar_beside(ax, im, "mass per bin", width=0.05, pad=0.04)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        """g–j unbiased, k–n biased (seed 0): the active density, the late density under the paper's protocol
        and under PC noise √(2k) on one colour scale, and the sharpened-score prediction active^k on its own."""
        pc = "PC noise √(2k)" if "PC noise √(2k)" in self.conditions else "default"

        def maps(keys: str, biased: bool) -> dict:
            pick = lambda label: (lambda r: r.biased if biased else r)(next(iter(self.conditions[label].values())))  # noqa: E731
            vmax = float(max(np.max(pick("default").active_density), np.max(pick("default").late_density),
                             np.max(pick(pc).late_density)))
            return {keys[0]: lambda ax: self._map(ax, "default", "active", biased, vmax),
                    keys[1]: lambda ax: self._map(ax, "default", "late", biased, vmax),
                    keys[2]: lambda ax: self._map(ax, pc, "late", biased, vmax, colorbar=True),
                    keys[3]: lambda ax: self._map(ax, "default", "predicted", biased, None, colorbar=True)}
        return {"a": self._grid, "b": self._stationary, "c": self._biased, "d": self._smooth, "e": self._windows,
                "f": self._sharpened} | maps("ghij", False) | maps("klmn", True)


__all__ = ["Conditions"]
