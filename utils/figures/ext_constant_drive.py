"""ext_constant_drive: why quiescence jumps without a bias, and what the released code's noise hides.

With zero input, no bias and zero-mean noise, the expected update of the ReLU network,
E[Δr] = α(−r + ReLU(W r)), is positively homogeneous: E[Δr](c·r) = c · E[Δr](r) for every c > 0. Nothing in
the dynamics then sets the size of the quiescent state, and no such network can pull its state towards a
manifold that lies away from the origin, as the theory's denoising drift σ²∇log p must. A bias inside the
nonlinearity (`ModelConfig.recurrent_bias`), or noise with a non-zero mean (the released code's U[0, 1) · σ,
whose mean σ/2 acts as a constant drive), breaks the symmetry.

`compute` trains (or loads) the models of the module's NOTEBOOK, the four of `CONSTANT_DRIVE_MODELS`
for SP and HD noisy unbiased networks, and measures, per seed: the final decoding error, how decoded
trajectories move (step-length quantiles, jumps), ‖h‖ over quiescent time against the active ‖h‖, the SP total
quiescent variance (Fig. 2f protocol), KL(quiescent ‖ active) over the whole run and per quarter of it (is
quiescence stationary, or does it drift away from the active distribution?), the ext_score cosine, and the
homogeneity error ‖E[Δr](c·r) − c·E[Δr](r)‖ / ‖c·E[Δr](r)‖ at c ∈ {0.5, 2} on the network's own active states.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from matplotlib.axes import Axes

from .. import analysis as A
from .. import config as C
from .. import plotting as P
from ..cache import TrainedModel
from ..claims import Check, Params, Verdict, fmt
from ..models import Network, noise_moments
from ..score import score_alignment
from .base import Figure, FigureSettings, Model, Notebook, PerSeed, Results

# The recurrent noise and bias of the four models this figure compares (SP and HD noisy unbiased).
# Each row sets both fields, so a result set of another variant still trains these four.
CONSTANT_DRIVE_MODELS: dict[str, dict[str, Any]] = {
    "Gaussian + bias (default)": {"noise_kind": "gaussian", "recurrent_bias": True},
    "Gaussian, no bias (as written)": {"noise_kind": "gaussian", "recurrent_bias": False},
    "U[0,1)·σ, no bias (as released)": {"noise_kind": "uniform", "recurrent_bias": False},
    "Gaussian with U's mean and sd, no bias": {"noise_kind": "gaussian_uniform_moments", "recurrent_bias": False},
}


NOTEBOOK = Notebook("ext_constant_drive", tuple(Model.of(task, "noisy_unbiased", label, **spec) for task in C.TASKS
                                                  for label, spec in CONSTANT_DRIVE_MODELS.items()), seeds=2)

MODELS = list(CONSTANT_DRIVE_MODELS)   # the four models' labels, in the order of the panels and colours
TASK_LABEL = {"spatial": "SP", "head_direction": "HD"}
SCALES = (0.5, 2.0)            # c of the homogeneity test
HOMOGENEITY_STATES = 2000      # active states (drawn at random, seeded) the homogeneity error is averaged over
EXAMPLE_TRAJECTORIES = 8       # quiescent SP trajectories drawn per model (first seed)
EXAMPLE_STEPS = 200            # their length
KL_WINDOWS = 4                 # quarters of the quiescent run, each compared with the active run
COLORS = dict(zip(MODELS, (P.QUIESCENT, P.NOISELESS, "#e69f00", "0.5")))
TITLES = dict(zip(MODELS, ("Gaussian + bias\n(default)", "Gaussian, no bias\n(as written)",
                           "U[0,1)·σ, no bias\n(as released)", "Gaussian, U's moments,\nno bias")))


@torch.no_grad()
def expected_update(net: Network, h: torch.Tensor) -> torch.Tensor:
    """E[Δr] of one zero-input step at states `h` (m, N): the deterministic update plus the mean of the noise the
    network was trained with (σ/2 per unit for U[0, 1) · σ, 0 for Gaussian noise)."""
    zeros = h.new_zeros(h.shape[0], net.w_in.in_features)
    states, _ = net(zeros[:, None], h, noise=torch.zeros_like(h)[:, None])
    mean, _ = noise_moments(net.cfg.noise_std, net.cfg.noise_kind)
    return states[:, 0] - h + mean


@torch.no_grad()
def homogeneity_error(net: Network, hidden: np.ndarray, scales=SCALES, n: int = HOMOGENEITY_STATES,
                      seed: int = 0) -> dict[str, float]:
    """Median over `n` of the states `hidden` (..., N) of ‖E[Δr](c·r) − c·E[Δr](r)‖ / ‖c·E[Δr](r)‖, per c.

    0 up to float rounding for a network without bias and with zero-mean noise, whatever its weights."""
    flat = np.asarray(hidden).reshape(-1, np.shape(hidden)[-1])
    rows = np.random.default_rng(seed).choice(len(flat), size=min(n, len(flat)), replace=False)
    device = next(net.parameters()).device
    h = torch.as_tensor(flat[rows], dtype=torch.float32, device=device)
    base = expected_update(net, h)
    out = {}
    for c in scales:
        gap = (expected_update(net, c * h) - c * base).norm(dim=1) / (c * base).norm(dim=1).clamp_min(1e-12)
        out[f"{c:g}"] = float(gap.median())
    return out


@dataclass
class ModelRun:
    """What `compute` measures on one network."""
    decode_error: float
    steps_active: dict[str, float]        # analysis.step_statistics
    steps_quiescent: dict[str, float]
    norm_active: float                    # mean ‖h‖ over the active run
    norm_quiescent: np.ndarray            # (quiescent_steps_kl,) mean ‖h‖ at each quiescent step
    kl: float                             # KL(quiescent ‖ active), nats (SP: KDE Monte Carlo; HD: 20-bin histograms)
    kl_uniform: float                     # KL(𝒰 ‖ active), the same estimator
    kl_windows: list[float]               # KL(quiescent steps of one quarter ‖ active), quarter by quarter
    total_variance: float | None          # SP: Fig. 2f protocol (m²); HD: None
    score_cosine: float                   # ext_score's median cosine (top 4 PCs)
    homogeneity: dict[str, float]
    example: np.ndarray | None            # SP: a few decoded quiescent trajectories


def measure(model: TrainedModel, analysis: C.AnalysisConfig, example: bool = False) -> ModelRun:
    """Every number of one network (see the module docstring); quiescence is noise √2 × the trained std."""
    net, seed = model.net, model.seed
    circular = net.task_cfg.name == "head_direction"
    act = A.active_run(net, analysis.n_kde, analysis.active_steps, seed)
    qui = A.quiescent_run(net, analysis.n_kde, analysis.quiescent_steps_kl, "scaled", seed)
    jump = None if circular else A.JUMP_LENGTH
    windows = np.array_split(np.arange(qui.decoded.shape[1]), KL_WINDOWS)
    if circular:
        kl = A.bearing_histogram_kl(qui.decoded, act.decoded)
        kl_windows = [A.bearing_histogram_kl(qui.decoded[:, w], act.decoded) for w in windows]
        uniform = np.random.default_rng(seed).uniform(-np.pi, np.pi, qui.decoded.size)
        kl_uniform = A.bearing_histogram_kl(uniform, act.decoded)
        variance = None
    else:
        active_density = A.kde(act.decoded)
        kl = A.kl_divergence(A.kde(qui.decoded), active_density, analysis.kl_samples, seed)
        kl_windows = [A.kl_divergence(A.kde(qui.decoded[:, w]), active_density, analysis.kl_samples, seed)
                      for w in windows]
        kl_uniform = A.kl_divergence(A.UniformBox(net.task_cfg.box_size), active_density, analysis.kl_samples, seed)
        long = A.quiescent_run(net, analysis.n_variance, analysis.variance_steps, "scaled", seed, keep_states=False)
        variance = A.total_variance(long.decoded, burn_in=analysis.variance_steps // 2)
    cosine = float(np.median(score_alignment(net, analysis.n_kde, analysis.active_steps, seed, active=act).cosine))
    return ModelRun(
        decode_error=float(model.metrics["test_decode_error"][-1]),
        steps_active=A.step_statistics(act.decoded, circular, jump),
        steps_quiescent=A.step_statistics(qui.decoded, circular, jump),
        norm_active=float(A.hidden_norm(act.hidden).mean()), norm_quiescent=A.hidden_norm(qui.hidden),
        kl=float(kl), kl_uniform=float(kl_uniform), kl_windows=[float(k) for k in kl_windows],
        total_variance=variance, score_cosine=cosine,
        homogeneity=homogeneity_error(net, act.hidden, seed=seed),
        example=qui.decoded[:EXAMPLE_TRAJECTORIES, :EXAMPLE_STEPS] if example and not circular else None)


@dataclass
class ModelStats:
    """The `ModelRun`s of one model in the results: each measure per seed (an HD model's; an SP model's adds
    its total variance, `SpatialModelStats`)."""
    decode_error: PerSeed[float]                   # final test decoding MSE, m² (SP) or rad² (HD)
    steps_active: dict[str, PerSeed[float]]        # `analysis.step_statistics` of the active run, m or rad per step
    steps_quiescent: dict[str, PerSeed[float]]     # the same of the quiescent run (SP: also jump_fraction, 0–1)
    hidden_norm_active: PerSeed[float]             # mean ‖h‖ over the active run
    hidden_norm_quiescent_end: PerSeed[float]      # mean ‖h‖ over the last 100 quiescent steps
    hidden_norm_quiescent: PerSeed[list[float]]    # mean ‖h‖ at each quiescent step
    kl: PerSeed[float]                             # KL(quiescent ‖ active), nats
    kl_uniform: PerSeed[float]                     # KL(𝒰 ‖ active), nats, the same estimator
    kl_by_quarter: PerSeed[list[float]]            # KL(one quarter of the quiescent run ‖ active), nats, per quarter
    score_cosine: PerSeed[float]                   # ext_score's median cosine (top 4 PCs), −1..1
    homogeneity_error: dict[str, PerSeed[float]]   # c ("0.5", "2") -> median relative homogeneity error, a ratio


@dataclass
class SpatialModelStats(ModelStats):
    """One SP model's: the same measures, and its total quiescent variance."""
    total_variance: PerSeed[float]                 # Fig. 2f protocol, m²


@dataclass
class ConstantDriveResults(Results):
    """What results/ext_constant_drive.json holds; the check of its claim reads it."""
    models: dict[str, dict[str, str | bool]]       # model label -> its noise_kind and recurrent_bias
    spatial: dict[str, SpatialModelStats]          # SP: model label -> its measures
    head_direction: dict[str, ModelStats]          # HD: model label -> its measures


@dataclass
class ConstantDrive(Figure):
    """task -> model label (`MODELS`) -> seed -> `ModelRun`."""
    name: ClassVar[str] = "ext_constant_drive"
    layout: ClassVar[str] = "abcd;efgh;ij.."
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
        return out


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
    """Grouped bars, one group per task and one bar per model: the mean of `value(run)` over seeds (bar) and each
    seed (dot)."""
    width = 0.8 / len(MODELS)
    for j, label in enumerate(MODELS):
        for i, task in enumerate(runs):
            values = [value(r) for r in runs[task][label].values()]
            x = i + (j - (len(MODELS) - 1) / 2) * width
            ax.bar(x, np.mean(values), width, color=COLORS[label])
            ax.plot([x] * len(values), values, "k.", ms=2)
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
        ax.set(ylabel="homogeneity error at c = 2 (floor 1e-8)", yscale="log", title="zero-input update")
    return draw


def _kl_windows_panel(by_model: dict[str, dict[int, ModelRun]], title: str):
    def draw(ax):
        quarters = np.arange(1, KL_WINDOWS + 1)
        for label, by_seed in by_model.items():
            kl = np.array([r.kl_windows for r in by_seed.values()])
            ax.plot(quarters, kl.mean(axis=0), "o-", color=COLORS[label], ms=3, lw=1)
            ax.plot(np.repeat(quarters[None], len(kl), axis=0).ravel(), kl.ravel(), ".", color=COLORS[label], ms=2)
            # 𝒰 against this model's own active distribution (models that have not learnt the task differ)
            ax.axhline(np.mean([r.kl_uniform for r in by_seed.values()]), color=COLORS[label], lw=0.6, ls=":")
        # A short title: a long one reaches over the panel letter. The dotted lines are named in the y label, where
        # no line of the panel can run into the words.
        ax.set(xticks=quarters, xlabel="quarter of the quiescent run",
               ylabel="KL(quiescent ‖ active) (nats; dotted: $\\mathcal{U}$)", yscale="log",
               title=f"{title}: KL by quarter")
    return draw


def compute(settings: FigureSettings, tasks=C.TASKS) -> ConstantDrive:
    """Every model of the module's NOTEBOOK whose task is in `tasks`, every seed of `settings`; the first
    seed's SP runs keep example trajectories."""
    runs: dict[str, dict[str, dict[int, ModelRun]]] = {}
    for model in NOTEBOOK.models:
        if model.task in tasks:
            runs.setdefault(model.task, {})[model.label] = {
                trained.seed: measure(trained, settings.analysis, example=i == 0)
                for i, trained in enumerate(settings.trained_of(model))}
    return ConstantDrive(runs)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = ConstantDriveResults


def check_ext_constant_drive(r: ConstantDriveResults, p: Params) -> Verdict:
    default, as_written = list(CONSTANT_DRIVE_MODELS)[:2]
    ok, parts, per_seed = True, [], {}
    for short, by_model in (("SP", r.spatial), ("HD", r.head_direction)):
        def p99_ratio(label):
            m = by_model[label]
            return {s: q / m.steps_active["p99"].per_seed[s] for s, q in m.steps_quiescent["p99"].per_seed.items()}
        homogeneous = by_model[as_written].homogeneity_error["2"].per_seed
        broken = by_model[default].homogeneity_error["2"].per_seed
        smooth, jumpy = p99_ratio(default), p99_ratio(as_written)
        ok &= (all(v <= p["max_error_without_bias"] for v in homogeneous.values())
               and all(v >= p["min_error_with_bias"] for v in broken.values())
               and all(v <= p["max_p99_ratio"] for v in smooth.values()))
        parts.append(f"{short}: homogeneity error without bias {fmt(max(homogeneous.values()))}, with bias "
                     f"{fmt(min(broken.values()))}; p99 step q/a with bias {fmt(np.mean(list(smooth.values())))}, "
                     f"without {fmt(np.mean(list(jumpy.values())))}")
        for s in smooth:
            per_seed[f"{short} {s}"] = (f"error {fmt(homogeneous[s])} / {fmt(broken[s])}, "
                                        f"p99 q/a {fmt(smooth[s])} / {fmt(jumpy[s])}")
    return Verdict(ok, "; ".join(parts), per_seed)


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-constant-drive": check_ext_constant_drive}


__all__ = ["MODELS", "expected_update", "homogeneity_error", "ModelRun", "measure", "ModelStats", "SpatialModelStats",
           "ConstantDriveResults", "ConstantDrive", "compute"]
