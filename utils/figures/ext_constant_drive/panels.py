"""What draws the figure: example quiescent trajectories per model, ‖h‖ over quiescent time, the p99 step and
homogeneity bars, and KL by quarter of the quiescent run, from the measured runs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes

from ... import plotting as P
from ..base import Figure, PerSeed
from .models import CONSTANT_DRIVE_MODELS, KL_WINDOWS, MODELS, TASK_LABEL
from .results import ConstantDriveResults, ModelRun, ModelStats, SpatialModelStats

COLORS = dict(zip(MODELS, (P.QUIESCENT, P.NOISELESS, "#e69f00", "0.5")))
TITLES = dict(zip(MODELS, ("Gaussian + bias\n(default)", "Gaussian, no bias\n(as written)",
                           "U[0,1)·σ, no bias\n(as released)", "Gaussian, U's moments,\nno bias")))


@dataclass
class ConstantDrive(Figure):
    """task -> model label (`MODELS`) -> seed -> `ModelRun`."""
    name: ClassVar[str] = "ext_constant_drive"
    layout: ClassVar[str] = "abcd;efgh;ijkk"   # k: the key of the colours and line styles of every panel
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 6.0), "height_ratios": [0.8, 1, 1]}

    runs: dict[str, dict[str, dict[int, ModelRun]]]

    def _stats(self, task: str, label: str) -> ModelStats:
        """The measures of one model over its seeds (SP: with the total variance)."""
        by_seed = self.runs[task][label]

        def stat(get) -> PerSeed:
            return PerSeed.of({s: get(r) for s, r in by_seed.items()})
        first = next(iter(by_seed.values()))
        if first.total_variance is None:
            cls, extra = ModelStats, {}
        else:
            cls, extra = SpatialModelStats, {"total_variance": stat(lambda r: r.total_variance)}
        return cls(
            decode_error=stat(lambda r: r.decode_error),
            steps_active={k: stat(lambda r, k=k: r.steps_active[k]) for k in first.steps_active},
            steps_quiescent={k: stat(lambda r, k=k: r.steps_quiescent[k]) for k in first.steps_quiescent},
            hidden_norm_active=stat(lambda r: r.norm_active),
            hidden_norm_quiescent_end=stat(lambda r: float(r.norm_quiescent[-100:].mean())),
            hidden_norm_quiescent=stat(lambda r: r.norm_quiescent),
            kl=stat(lambda r: r.kl),
            kl_uniform=stat(lambda r: r.kl_uniform),
            kl_by_quarter=stat(lambda r: r.kl_windows),
            score_cosine=stat(lambda r: r.score_cosine),
            homogeneity_error={c: stat(lambda r, c=c: r.homogeneity[c]) for c in first.homogeneity},
            **extra)

    def results(self) -> ConstantDriveResults:
        by_task = {task: {label: self._stats(task, label) for label in by_model}
                   for task, by_model in self.runs.items()}
        return ConstantDriveResults(CONSTANT_DRIVE_MODELS, by_task.get("spatial", {}),
                                    by_task.get("head_direction", {}))

    def summary(self) -> str:
        lines = []
        for task, by_model in self.runs.items():
            unit = "rad" if task == "head_direction" else "m"
            lines.append(f"{TASK_LABEL[task]} (mean over seeds; quiescent vs active):")
            for label, by_seed in by_model.items():
                r = list(by_seed.values())

                def m(get):
                    return float(np.mean([get(x) for x in r]))
                text = (f"  {label:<40} decoding MSE {m(lambda x: x.decode_error):.3g}; p99 step "
                        f"{m(lambda x: x.steps_quiescent['p99']):.3g} vs {m(lambda x: x.steps_active['p99']):.3g} {unit}")
                if task == "spatial":
                    text += (f"; jumps {m(lambda x: x.steps_quiescent['jump_fraction']):.2%} vs "
                             f"{m(lambda x: x.steps_active['jump_fraction']):.2%}; variance "
                             f"{m(lambda x: x.total_variance):.3g} m²")
                text += (f"; ‖h‖ {m(lambda x: x.norm_quiescent[-100:].mean()):.3g} vs {m(lambda x: x.norm_active):.3g}"
                         f"; KL {m(lambda x: x.kl):.3g} (𝒰 {m(lambda x: x.kl_uniform):.3g}; by quarter "
                         + ", ".join(f"{m(lambda x, i=i: x.kl_windows[i]):.3g}" for i in range(KL_WINDOWS))
                         + "); cosine "
                         f"{m(lambda x: x.score_cosine):.3g}; homogeneity error (c = 0.5, 2) "
                         + ", ".join(f"{m(lambda x, c=c: x.homogeneity[c]):.2g}" for c in r[0].homogeneity))
                lines.append(text)
        return "\n".join(lines)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        sp = self.runs["spatial"]
        out = {}
        for key, label in zip("abcd", MODELS):
            run = next(iter(sp[label].values()))
            out[key] = _example_panel(run, label)
        out["e"] = _norm_panel(self.runs["spatial"], "SP")
        out["f"] = _norm_panel(self.runs["head_direction"], "HD")
        out["g"] = _p99_panel(self.runs)
        out["h"] = _homogeneity_panel(self.runs)
        out["i"] = _kl_windows_panel(self.runs["spatial"], "SP")
        out["j"] = _kl_windows_panel(self.runs["head_direction"], "HD")
        out["k"] = _key_panel
        return out


def _key_panel(ax: Axes) -> None:
    """The four models' colours (a–j) and what each line style means, in one key."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Patch(color=COLORS[m], label=TITLES[m].replace("\n", " ")) for m in MODELS]
    handles += [Line2D([], [], color="0.3", lw=0.8, label="e–f: quiescent ‖h‖"),
                Line2D([], [], color="0.3", lw=0.6, ls="--", label="e–f: active ‖h‖"),
                Line2D([], [], color="0.3", lw=0.6, ls=":", label="g: bound 1.5"),
                Line2D([], [], color="0.3", marker="D", ms=3, ls="none", label=r"i–j: $\mathcal{U}$'s KL"),
                Line2D([], [], color="0.3", marker="o", ms=3, lw=1, label="i–j: mean over seeds (dots: seeds)")]
    ax.legend(handles=handles, loc="center left", fontsize=5.5, frameon=False)
    ax.axis("off")


def _example_panel(run: ModelRun, label: str):
    def draw(ax):
        P.plot_trajectories(ax, run.example, COLORS[label], every=1)
        ax.set_title(f"{TITLES[label]}\nMSE {run.decode_error:.3f} m²", fontsize=6)
    return draw


def _norm_panel(by_model: dict[str, dict[int, ModelRun]], title: str):
    def draw(ax):
        for label, by_seed in by_model.items():
            for r in by_seed.values():
                ax.plot(r.norm_quiescent, color=COLORS[label], lw=0.8)
                ax.axhline(r.norm_active, color=COLORS[label], lw=0.6, ls="--")
        ax.set(xlabel="quiescent step", ylabel="mean ‖h‖ (dashed: active)", title=f"{title} (colours of a–d)")
        ax.set_ylim(0, None)
    return draw


def _model_bars(ax, runs: dict[str, dict[str, dict[int, ModelRun]]], value) -> None:
    """Grouped marks on a log axis, one group per task and one mark per model: the mean of `value(run)` over seeds
    (a thick line: a bar's length would mean nothing where the axis has no zero) and each seed (dot)."""
    width = 0.8 / len(MODELS)
    for j, label in enumerate(MODELS):
        for i, task in enumerate(runs):
            values = [value(r) for r in runs[task][label].values()]
            x = i + (j - (len(MODELS) - 1) / 2) * width
            ax.plot([x - 0.4 * width, x + 0.4 * width], [np.mean(values)] * 2, color=COLORS[label], lw=2.5)
            ax.plot([x] * len(values), values, ".", color=COLORS[label], ms=3)
    ax.set_xticks(range(len(runs)), [TASK_LABEL[t] for t in runs])


def _p99_panel(runs: dict[str, dict[str, dict[int, ModelRun]]]):
    def draw(ax):
        _model_bars(ax, runs, lambda r: r.steps_quiescent["p99"] / r.steps_active["p99"])
        ax.axhline(1.5, color="black", lw=0.6, ls=":")
        ax.set(ylabel="p99 step, quiescent ÷ active", yscale="log", title="jumps (dotted: 1.5)")
    return draw


def _homogeneity_panel(runs: dict[str, dict[str, dict[int, ModelRun]]]):
    def draw(ax):
        _model_bars(ax, runs, lambda r: max(r.homogeneity["2"], 1e-8))
        ax.set(ylabel="homogeneity error at c = 2\n(floor 1e-8)", yscale="log", title="zero-input update")
    return draw


def _kl_windows_panel(by_model: dict[str, dict[int, ModelRun]], title: str):
    def draw(ax):
        quarters = np.arange(1, KL_WINDOWS + 1)
        for j, (label, by_seed) in enumerate(by_model.items()):
            kl = np.array([r.kl_windows for r in by_seed.values()])
            ax.plot(quarters, kl.mean(axis=0), "o-", color=COLORS[label], ms=3, lw=1)
            ax.plot(np.repeat(quarters[None], len(kl), axis=0).ravel(), kl.ravel(), ".", color=COLORS[label], ms=2)
            # 𝒰 against this model's own active distribution (models that have not learnt the task differ): a
            # diamond per model right of the runs, side by side (full-width lines lay on top of each other)
            ax.plot(KL_WINDOWS + 0.55 + 0.2 * j, np.mean([r.kl_uniform for r in by_seed.values()]), "D",
                    color=COLORS[label], ms=3)
        ax.axvline(KL_WINDOWS + 0.4, color="0.8", lw=0.5)
        # A short title: a long one reaches over the panel letter. The diamonds are named in the y label, where no
        # line of the panel can run into the words.
        ax.set(xticks=quarters, xlabel="quiescent run, quarter", xlim=(0.6, KL_WINDOWS + 0.6 + 0.2 * len(by_model)),
               ylabel="KL(quiescent ‖ active) (nats; ◆: $\\mathcal{U}$)", yscale="log",
               title=f"{title}: KL by quarter")
    return draw


__all__ = ["COLORS", "TITLES", "ConstantDrive"]
