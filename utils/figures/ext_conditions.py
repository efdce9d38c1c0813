"""ext_conditions: does any condition make quiescence sample the active density, judged on the run itself?

Every condition runs on an SP noisy *unbiased* network and on its *biased* twin (3 seeds each). A condition is a
trained network (`TRAINED_ROWS`: the default model, the model as written, a flatter active occupancy, a leakier
cell) run under the paper's protocol, or the default networks run under another quiescence (`QUIESCENT_ROWS`:
isotropic noise α, noise along the top active PCs, noise in the input channels, adaptation; see
`utils.quiescence`). Each run goes on until the settling rule of `quiescence.long_run` holds (at most 32,000 steps,
`HORIZONS`), and is judged on itself:

- *trained*: the unbiased network's decoding MSE on the paper's 100-step trials;
- *smooth*: fig1-smooth's step rule over every step of the run, and the run still moves in its last quarter
  (a frozen state fails);
- *stationary*: it settled, ‖h‖ did not diverge, and its last quarter's density on 0.2 m bins is within
  KL(𝒰 ‖ active) + 0.1 of the active one (a random walk meets this on the nearly uniform unbiased density, so:)
- *biased*: the biased twin settled and its late density meets fig2-biased's rule, KL(late ‖ active) ≤ 0.25 ×
  the smallest of KL(𝒰 ‖ active), KL(unbiased late ‖ active), KL(untrained network's late ‖ active).

Beside the verdicts: the sharpened-score prediction (the late density against p_active^(2k/α²), k the network's
measured drift over the theory's, `utils.score`), the best-fitting exponent, a Markov state model of the default
runs (a cross-check, with its lag and Chapman–Kolmogorov horizon), and the attractors of the default and
as-written networks. HD: Fig. 3's noisy unbiased network under the paper's protocol and the three new quiescences.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from .. import analysis as A
from .. import attractors as AT
from .. import plotting as P
from .. import quiescence as Q
from .. import score as SC
from .. import steady_state as S
from ..claims import Check, Params, Verdict, fmt
from ..models import Network
from ..tasks import decode_error
from .base import HD, SP, Figure, FigureSettings, Model, Notebook

DEFAULT = {"recurrent_bias": True, "noise_kind": "gaussian"}   # every row sets both: the same networks in every variant
# Trained conditions: label -> config overrides (each trained unbiased and biased).
TRAINED_ROWS: dict[str, dict[str, Any]] = {
    "default": DEFAULT,
    "as written": {"recurrent_bias": False, "noise_kind": "gaussian"},
    "flat occupancy": DEFAULT | {"wall_margin": 0.1, "wall_slowdown": 1.0},  # no slowing at the walls
    "leak Δt/τ 0.5": DEFAULT | {"dt_over_tau": 0.5},                         # τ = 40 ms instead of 100 ms
    "momentum μ 0.5": DEFAULT | {"momentum": 0.5},                           # second order (underdamped)
    "σ²Δt 3e-4": DEFAULT | {"noise_std": math.sqrt(3e-4)},                  # 3 × the paper's training noise
    "256 units": DEFAULT | {"n_rec": 256},
}
BIASED = ", biased"   # a biased network's model label: its row's label + this


def _models() -> tuple[Model, ...]:
    sp = tuple(Model.of(SP, cond, label + (BIASED if cond == "noisy_biased" else ""), **over)
               for label, over in TRAINED_ROWS.items() for cond in ("noisy_unbiased", "noisy_biased"))
    return sp + (Model.of(HD, "noisy_unbiased", "HD U^σ"),)


NOTEBOOK = Notebook("ext_conditions", _models(), seeds=3)

# Quiescences of the default networks: label -> a protocol, given the network's sharpening factor k.
QUIESCENT_ROWS: dict[str, Callable[[float], Q.Protocol]] = {
    "α = 2": lambda k: Q.Protocol(alpha=2.0),
    "α = 4": lambda k: Q.Protocol(alpha=4.0),
    "PC noise √k": lambda k: Q.Protocol(manifold_alpha=math.sqrt(max(k, 2.0))),
    "PC noise √(2k)": lambda k: Q.Protocol(manifold_alpha=math.sqrt(max(2 * k, 2.0))),
    "PC noise 2√k": lambda k: Q.Protocol(manifold_alpha=math.sqrt(max(4 * k, 2.0))),
    "input noise 0.5": lambda k: Q.Protocol(input_noise=0.5),
    "input noise 1": lambda k: Q.Protocol(input_noise=1.0),
    "input noise 2": lambda k: Q.Protocol(input_noise=2.0),
    "adaptation 0.2": lambda k: Q.Protocol(adaptation=0.2),
    "adaptation 1": lambda k: Q.Protocol(adaptation=1.0),
}
HD_ROWS = ("paper", "PC noise √(2k)", "input noise 1", "adaptation 1")   # HD: no bias to test, so the main ones
SHARPENED_ROWS = ("default", "α = 2", "α = 4")   # isotropic noise: where p^(2k/α²) is the reading's prediction
ATTRACTOR_ROWS = ("default", "as written")
NEAR = {"spatial": 0.2, "head_direction": math.pi / 20}   # attractor neighbourhood: 0.2 m; 9°
ACTIVE_DENSITY_TRAJECTORIES = 1000   # active trajectories behind p_active on the bins (the prediction raises it
                                     # to a power ~ k, which amplifies a bin's sampling error k-fold)
MSM_LAGS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@dataclass(frozen=True)
class Sufficiency:
    """When a condition does what the paper describes (the params of the `ext-conditions` claim; a test keeps
    them equal): trained, smooth and stationary on the unbiased network, fig2-biased's rule on the biased one."""
    max_decode_mse: float = 0.02   # fig1-trained's bound, m² per coordinate, 100-step trials
    max_jump_ratio: float = 2      # fig1-smooth: share of steps > 0.2 m ≤ ratio × active share + margin
    jump_margin: float = 0.005
    max_p99_ratio: float = 1.5     # fig1-smooth: p99 step ≤ ratio × active p99
    min_moving: float = Q.MOVE_FRACTION   # the last quarter's mean step ≥ this × the active mean step
    kl_margin: float = 0.1         # late KL ≤ KL(𝒰 ‖ active) + margin (nats, on bins)
    baseline_factor: float = 0.25  # fig2-biased: biased late KL ≤ factor × the smallest baseline

    def trained(self, r: dict) -> bool:
        return r["decoding_mse"] <= self.max_decode_mse

    def smooth(self, r: dict) -> bool:
        return (A.smooth_as_active(r["steps_quiescent"], r["steps_active"], self.max_jump_ratio, self.jump_margin,
                                   self.max_p99_ratio) and r["steps_quiescent"]["moving"] >= self.min_moving)

    def stationary(self, r: dict) -> bool:
        return r["settled"] and not r["diverged"] and r["kl_late"] <= r["kl_uniform"] + self.kl_margin

    def biased(self, r: dict) -> bool:
        b = r["biased"]
        return b["settled"] and not b["diverged"] and b["kl_late"] <= self.baseline_factor * min(b["baselines"].values())

    def meets(self, r: dict) -> bool:
        return self.trained(r) and self.smooth(r) and self.stationary(r) and self.biased(r)

    def hd_meets(self, r: dict) -> bool:
        """An HD run (no jump length on a circle, no biased twin): fig3-smooth's p99 bound, still moving, and
        stationary as above."""
        q, a = r["steps_quiescent"], r["steps_active"]
        return q["p99"] <= self.max_p99_ratio * a["p99"] and q["moving"] >= self.min_moving and self.stationary(r)

    def shortfall(self, r: dict) -> float:
        """How far a run is from meeting every bound: the sum of each measure's relative excess over its bound
        (0 when met; 1 = twice the bound); an unsettled or diverged run counts 1 more per network. It ranks the
        conditions when none meets them all."""
        q, a, b = r["steps_quiescent"], r["steps_active"], r["biased"]
        ratios = (r["decoding_mse"] / self.max_decode_mse,
                  q["p99"] / (self.max_p99_ratio * a["p99"]),
                  q["jump_fraction"] / (self.max_jump_ratio * a["jump_fraction"] + self.jump_margin),
                  self.min_moving / max(q["moving"], 1e-9),
                  (r["kl_late"] - r["kl_uniform"]) / self.kl_margin,
                  b["kl_late"] / (self.baseline_factor * min(b["baselines"].values())))
        unsettled = sum(not x["settled"] or x["diverged"] for x in (r, b))
        return float(sum(max(0.0, ratio - 1) for ratio in ratios) + unsettled)


# ----------------------------------------------------------------------------------------------------------
# One network: what every run of it shares, and one judged run


@dataclass
class Prepared:
    """One network and what each of its runs is compared with."""
    net: Network
    seed: int
    active: A.ActiveRun     # the paper's 200 × 100-step test batch
    ctx: Q.Context
    bins: S.Bins
    p_active: np.ndarray    # active density on the bins (`ACTIVE_DENSITY_TRAJECTORIES`)
    k: float                # drift slope over the theory's (utils.score), the sharpening factor
    decoding_mse: float     # on the 100-step active batch


def prepare(net: Network, seed: int, n_active: int, active_trajectories: int = ACTIVE_DENSITY_TRAJECTORIES) -> Prepared:
    cfg = net.task_cfg
    active = A.active_run(net, n_active, 100, seed)
    bins = S.bins_for(cfg)
    big = A.active_run(net, active_trajectories, 100, seed + 1)
    align = SC.score_alignment(net, n_active, 100, seed, active=active)
    mse = float(decode_error(cfg, torch.from_numpy(active.decoded), torch.from_numpy(active.states)))
    return Prepared(net, seed, active, Q.context(net, active), bins,
                    S.histogram(big.decoded, bins), align.slope / align.theory_slope, mse)


def best_exponent(late: np.ndarray, p_active: np.ndarray, powers=np.linspace(0, 40, 401)) -> tuple[float, float]:
    """The β minimising KL(late ‖ p_active^β) on the bins, and that KL: how sharp the late density is in the
    reading's terms, and how much of its shape no power of p_active explains."""
    kls = [S.kl(late, Q.sharpened(p_active, b)) for b in powers]
    i = int(np.argmin(kls))
    return float(powers[i]), float(kls[i])


def judge(prep: Prepared, protocol: Q.Protocol, n: int, horizons=Q.HORIZONS) -> tuple[dict[str, Any], Q.Judged]:
    """One long run of `protocol` from the first `n` active starts, judged on itself (module docstring)."""
    net, circular = prep.net, prep.net.task_cfg.name != "spatial"
    run = Q.long_run(net, prep.active.h0[:n], protocol, prep.ctx, prep.seed, prep.bins, horizons)
    late = S.histogram(run.late, prep.bins)
    alpha = protocol.manifold_alpha or protocol.alpha
    window = max(1, run.steps // 32)
    power = 2 * prep.k / alpha ** 2
    best = best_exponent(late, prep.p_active)
    out = {
        "protocol": asdict(protocol), "k": prep.k, "decoding_mse": prep.decoding_mse,
        "steps": run.steps, "settled": run.settled, "diverged": run.diverged, "checks": run.checks,
        "steps_active": A.step_statistics(prep.active.decoded, circular, None if circular else A.JUMP_LENGTH),
        "steps_quiescent": Q.smoothness(run, prep.ctx.active_step, circular),
        "kl_late": S.kl(late, prep.p_active), "kl_uniform": S.kl(S.uniform(prep.bins), prep.p_active),
        "kl_first_1000": S.kl(S.histogram(run.decoded[:, :1000], prep.bins), prep.p_active),
        "window": window,
        "kl_windows": S.window_kls(run.decoded, prep.p_active, prep.bins, window).kl,
        "late_density": late, "active_density": prep.p_active,
        "hidden_norm": {"active": prep.ctx.active_norm, "late": float(run.norms[3 * run.steps // 4:].mean()),
                        "trace": run.norms[::max(1, run.steps // 64)]},
        # The reading's prediction where it makes one (noise only, no input or feedback), and the best power.
        "sharpened": {"power": power, "kl": S.kl(late, Q.sharpened(prep.p_active, power)), "best_power": best[0],
                      "best_kl": best[1]} if protocol.input_noise == 0 and protocol.adaptation == 0 else None,
    }
    return out, run


def msm_cross_check(run: Q.Judged, bins: S.Bins, p_active: np.ndarray) -> dict[str, Any]:
    """A Markov state model of the whole run: lag from the implied timescales, a Chapman–Kolmogorov test out to
    at least the slowest timescale where the run is long enough, and its stationary density's KL. The whole run,
    not its late part: an MSM estimates transition probabilities, which a relaxing start does not bias the way
    it biases a histogram, and the CK test needs runs several times its longest lag."""
    whole = run.decoded
    dtrajs = S.discrete_trajectories(whole, bins)
    m = S.markov_model(dtrajs, bins.n, lags=MSM_LAGS, ck_to_slowest=True)
    return {"lag": m.lag, "converged": m.converged, "lags": m.lags, "timescales": m.timescales,
            "slowest": float(np.nanmax(m.timescales[m.lags == m.lag, 0])), "ck_lags": m.ck_lags,
            "ck_error": m.ck_error, "ck_covers_slowest": bool(m.ck_lags[-1] >= np.nanmax(m.timescales[m.lags == m.lag, 0])),
            "kl_stationary": S.kl(m.stationary, p_active), "run_steps": whole.shape[1]}


def attractor_numbers(prep: Prepared, run: Q.Judged, quiescent_std: float, search: "Search") -> dict[str, Any]:
    states = torch.from_numpy(prep.active.hidden.reshape(-1, prep.active.hidden.shape[-1]))
    pick = torch.randperm(len(states), generator=torch.Generator().manual_seed(prep.seed))[:search.samples]
    att = AT.find_attractors(copy.deepcopy(prep.net).cpu(), prep.active.h0.cpu(), states[pick], quiescent_std,
                             search.settle_steps, search.iterations)
    centres, near = att.decoded[att.attracting], NEAR[prep.net.task_cfg.name]
    circular = prep.net.task_cfg.name != "spatial"
    return {"count": att.count, "decoded": att.decoded, "attracting": att.attracting, "stable": att.stable,
            "spectral_radius": att.radius, "basin": att.basin,
            "occupancy": {"active": AT.occupancy(prep.active.decoded, centres, near, circular),
                          "early": AT.occupancy(run.decoded[:, :1000], centres, near, circular),
                          "late": AT.occupancy(run.late, centres, near, circular), "radius": near}}


@dataclass(frozen=True)
class Search:
    """Sizes of the attractor search (`attractors.find_attractors`)."""
    samples: int = 300        # active states (beside the settled starts) the speed minimisation starts from
    iterations: int = 1500    # its Adam steps
    settle_steps: int = 2000  # noiseless zero-input steps from the active starts: the first cut at the attractors

    @classmethod
    def for_analysis(cls, kl_steps: int) -> "Search":
        """Full size from the paper's KL length (1,000 quiescent steps) up; the smoke preset scales it down."""
        f = min(1.0, kl_steps / 1000)
        return cls(max(32, int(cls.samples * f)), max(50, int(cls.iterations * f)), max(50, int(cls.settle_steps * f)))


def horizons_for(kl_steps: int) -> tuple[int, ...]:
    """`quiescence.HORIZONS` at the paper's KL length (1,000 steps); shorter analyses (smoke) scale them down."""
    f = min(1.0, kl_steps / 1000)
    return tuple(max(8, int(h * f)) for h in Q.HORIZONS)


# ----------------------------------------------------------------------------------------------------------
# The figure


@dataclass
class Conditions(Figure):
    """conditions: row label -> seed -> numbers of the unbiased run, with its biased twin under "biased";
    hd: row -> seed -> numbers; rule: the verdicts' thresholds."""
    name: ClassVar[str] = "ext_conditions"
    # Two nested mosaics, so that the verdict panels' margins and the maps' do not constrain each other's
    # columns; the empty cell (".") in the map rows holds the colour bar the first three maps share.
    layout: ClassVar[list] = [[[list("aaabbcc"), list("dddeeff")]], [[list("gghhii.jj"), list("kkllmm.nn")]]]
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 8.0), "height_ratios": [3.0, 1.6]}

    conditions: dict[str, dict[int, dict[str, Any]]]
    hd: dict[str, dict[int, dict[str, Any]]]
    rule: Sufficiency
    long_trajectories: int

    def verdicts(self) -> dict[str, dict[str, dict[str, bool]]]:
        rule = self.rule
        return {label: {str(s): {c: getattr(rule, c)(r) for c in ("trained", "smooth", "stationary", "biased", "meets")}
                        for s, r in per_seed.items()} for label, per_seed in self.conditions.items()}

    def results(self) -> dict[str, Any]:
        return {"conditions": {k: {str(s): r for s, r in v.items()} for k, v in self.conditions.items()},
                "hd": {k: {str(s): r for s, r in v.items()} for k, v in self.hd.items()},
                "sufficiency": asdict(self.rule), "verdicts": self.verdicts(),
                "long_trajectories": self.long_trajectories, "horizons": list(Q.HORIZONS),
                "settling": {"kl": Q.SETTLE_KL, "norm": Q.SETTLE_NORM, "diverge": Q.DIVERGE_NORM}}

    def _mean(self, label: str, get: Callable[[dict], float]) -> float:
        return float(np.mean([get(r) for r in self.conditions[label].values()]))

    def summary(self) -> str:
        lines = [f"{'condition':<18}{'MSE':>7}{'p99 q/a':>8}{'moving':>7}{'steps':>7}{'KL late':>8}{'KL 𝒰':>7}"
                 f"{'B late':>8}{'B bound':>8}  trained/smooth/stationary/biased per seed"]
        v = self.verdicts()
        for label, per_seed in self.conditions.items():
            m = lambda get: self._mean(label, get)  # noqa: E731
            marks = " ".join("".join("✓" if v[label][str(s)][c] else "·" for c in ("trained", "smooth", "stationary",
                                                                                "biased")) for s in per_seed)
            lines.append(f"{label:<18}{m(lambda r: r['decoding_mse']):7.4f}"
                         f"{m(lambda r: r['steps_quiescent']['p99'] / r['steps_active']['p99']):8.2f}"
                         f"{m(lambda r: r['steps_quiescent']['moving']):7.2f}{m(lambda r: r['steps']):7.0f}"
                         f"{m(lambda r: r['kl_late']):8.3f}{m(lambda r: r['kl_uniform']):7.3f}"
                         f"{m(lambda r: r['biased']['kl_late']):8.3f}"
                         f"{m(lambda r: self.rule.baseline_factor * min(r['biased']['baselines'].values())):8.3f}  {marks}")
        for label, per_seed in self.hd.items():
            marks = "".join("✓" if self.rule.hd_meets(r) else "·" for r in per_seed.values())
            lines.append(f"HD {label:<15} {marks} late KL " + ", ".join(f"{r['kl_late']:.3f}" for r in per_seed.values())
                         + f" (𝒰 {np.mean([r['kl_uniform'] for r in per_seed.values()]):.3f}), settled "
                         + "/".join("yes" if r["settled"] else "no" for r in per_seed.values())
                         + ", p99 q/a " + ", ".join(f"{r['steps_quiescent']['p99'] / r['steps_active']['p99']:.2f}"
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
        ax.imshow(np.where(counts == n, 2, np.where(counts > 0, 1, 0)), cmap=cmap, vmin=0, vmax=2, aspect="auto")
        for i in range(len(labels)):
            for j in range(len(columns)):
                ax.text(j, i, f"{int(counts[i, j])}/{int(n[i, j])}", ha="center", va="center", fontsize=5)
        ax.set_xticks(range(len(columns)), ["trained", "smooth", "stationary", "biased\n(fig2 rule)", "all four"],
                      fontsize=5)
        ax.set_yticks(range(len(labels)), labels, fontsize=5)
        ax.axhline(sum(k in TRAINED_ROWS for k in labels) - 0.5, color="black", lw=0.6)
        ax.tick_params(length=0)
        ax.set_title("seeds meeting each criterion", fontsize=6)
        ax.set_ylabel("quiescences of the default  |  trained", fontsize=5)

    def _dots(self, ax: Axes, get: Callable[[dict], float], xlabel: str, title: str, log: bool = False) -> None:
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
        self._dots(ax, lambda r: r["kl_late"] - r["kl_uniform"],
                   r"KL(late ‖ active) − KL($\mathcal{U}$ ‖ active), nats", "unbiased (dashed: bound)")
        ax.axvline(self.rule.kl_margin, color="black", lw=0.6, ls="--")

    def _biased(self, ax: Axes) -> None:
        """c: biased late KL over fig2-biased's bound (0.25 × the smallest baseline); ≤ 1 passes."""
        self._dots(ax, lambda r: r["biased"]["kl_late"] / (self.rule.baseline_factor * min(r["biased"]["baselines"].values())),
                   "KL(late ‖ active) / bound", "biased: fig2 rule (≤ 1)", log=True)
        ax.axvline(1, color="black", lw=0.6, ls="--")

    def _smooth(self, ax: Axes) -> None:
        """d: smoothness over the whole run: p99 step over the active p99 (dots), bound 1.5 dashed; × marks a
        seed whose share of long steps breaks fig1-smooth's other bound."""
        self._dots(ax, lambda r: r["steps_quiescent"]["p99"] / r["steps_active"]["p99"],
                   "p99 step, quiescent / active", "smooth (whole run; ×: too many jumps)", log=True)
        labels = list(self.conditions)[::-1]
        for i, label in enumerate(labels):
            for r in self.conditions[label].values():
                q, a = r["steps_quiescent"], r["steps_active"]
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
            for rr, ls in ((r, "-"), (r["biased"], "--")):
                t = (np.arange(len(rr["kl_windows"])) + 0.5) * rr["window"]
                ax.plot(t, rr["kl_windows"], color=color, lw=0.8, ls=ls, label=label if ls == "-" else None)
        ax.set(xscale="log", yscale="log")
        ax.set_xlabel("quiescent step", fontsize=5)
        ax.set_title("KL(window ‖ active), seed 0\n(dashed: biased)", fontsize=6)
        ax.tick_params(labelsize=5)
        ax.legend(fontsize=4.5, frameon=False)

    def _sharpened(self, ax: Axes) -> None:
        """f: the sharpened-score prediction against the active density as a description of the late density,
        every seed, unbiased (○) and biased (△) default networks at each isotropic α; below the diagonal the
        prediction is closer."""
        for label, color in zip(SHARPENED_ROWS, ("#444444", P.QUIESCENT, P.ACTIVE)):
            rows = list(self.conditions.get(label, {}).values())
            for rr, marker in [(r, "o") for r in rows] + [(r["biased"], "^") for r in rows]:
                ax.scatter(rr["kl_late"], rr["sharpened"]["kl"], s=8, marker=marker, color=color)
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
        ax.legend(fontsize=4.5, frameon=False, loc="upper left")

    def _map(self, ax: Axes, label: str, key: str, biased: bool, vmax: float | None, colorbar: bool = False) -> None:
        r = next(iter(self.conditions[label].values()))
        rr = r["biased"] if biased else r
        density = {"active": rr["active_density"], "late": rr["late_density"],
                   "predicted": Q.sharpened(np.asarray(rr["active_density"]), rr["k"])}[key]
        kk = int(round(math.sqrt(len(density))))
        im = ax.imshow(np.asarray(density).reshape(kk, kk), origin="lower", cmap=P.KDE_CMAP, vmin=0,
                       vmax=vmax if vmax is not None else float(np.max(density)),
                       extent=(-1.1, 1.1, -1.1, 1.1))
        title = {"active": "active", "late": f"late, {label}", "predicted": f"active$^{{k}}$, k = {rr['k']:.1f}"}[key]
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
            pick = lambda label: (lambda r: r["biased"] if biased else r)(next(iter(self.conditions[label].values())))  # noqa: E731
            vmax = float(max(np.max(pick("default")["active_density"]), np.max(pick("default")["late_density"]),
                             np.max(pick(pc)["late_density"])))
            return {keys[0]: lambda ax: self._map(ax, "default", "active", biased, vmax),
                    keys[1]: lambda ax: self._map(ax, "default", "late", biased, vmax),
                    keys[2]: lambda ax: self._map(ax, pc, "late", biased, vmax, colorbar=True),
                    keys[3]: lambda ax: self._map(ax, "default", "predicted", biased, None, colorbar=True)}
        return {"a": self._grid, "b": self._stationary, "c": self._biased, "d": self._smooth, "e": self._windows,
                "f": self._sharpened} | maps("ghij", False) | maps("klmn", True)


# ----------------------------------------------------------------------------------------------------------
# compute


def _untrained_late(prep: Prepared, n: int, horizons) -> float:
    """KL(untrained network's late quiescence ‖ active) on the bins: fig2's R^σ, judged on its own run's last quarter."""
    rand = A.random_network_like(prep.net, prep.seed + 1000)
    rand_active = A.active_run(rand, n, 100, prep.seed)
    ctx = Q.context(rand, rand_active)
    run = Q.long_run(rand, rand_active.h0[:n], Q.Protocol(), ctx, prep.seed, prep.bins, horizons[:1])
    return S.kl(S.histogram(run.late, prep.bins), prep.p_active)


def compute(settings: FigureSettings, rule: Sufficiency = Sufficiency(), trained_rows=tuple(TRAINED_ROWS),
            hd_rows=HD_ROWS) -> Conditions:
    """Every row of the map on every seed of the notebook (see the module docstring); `trained_rows` and
    `hd_rows` pick fewer (the quiescences of `QUIESCENT_ROWS` come with "default")."""
    a = settings.analysis
    n_long = max(2, a.n_kde // 2)
    horizons = horizons_for(a.quiescent_steps_kl)
    search = Search.for_analysis(a.quiescent_steps_kl)
    labelled = NOTEBOOK.labelled()
    conditions: dict[str, dict[int, dict[str, Any]]] = {}
    for label in trained_rows:
        pairs = zip(settings.trained_of(labelled[label]), settings.trained_of(labelled[label + BIASED]))
        for unbiased, biased in pairs:
            seed = unbiased.seed
            pu, pb = prepare(unbiased.net, seed, a.n_kde), prepare(biased.net, seed, a.n_kde)
            untrained = _untrained_late(pb, n_long, horizons)
            rows = [(label, lambda k: Q.Protocol())] + (list(QUIESCENT_ROWS.items()) if label == "default" else [])
            for row, make in rows:
                ru, run_u = judge(pu, make(pu.k), n_long, horizons)
                rb, run_b = judge(pb, make(pb.k), n_long, horizons)
                unbiased_on_b = S.kl(S.histogram(run_u.late, pb.bins), pb.p_active)
                rb["baselines"] = {"𝒰": rb["kl_uniform"], "U^σ late": unbiased_on_b, "R^σ late": untrained}
                if row in ATTRACTOR_ROWS:
                    for r, run, p in ((ru, run_u, pu), (rb, run_b, pb)):
                        r["msm"] = msm_cross_check(run, p.bins, p.p_active) if row == "default" else None
                        r["attractors"] = attractor_numbers(p, run, p.net.cfg.noise_std * math.sqrt(2), search)
                conditions.setdefault(row, {})[seed] = ru | {"biased": rb}
    hd: dict[str, dict[int, dict[str, Any]]] = {}
    for trained in settings.trained_of(labelled["HD U^σ"]) if hd_rows else ():
        p = prepare(trained.net, trained.seed, a.n_kde)
        for row in hd_rows:
            protocol = Q.Protocol() if row == "paper" else QUIESCENT_ROWS[row](p.k)
            hd.setdefault(row, {})[trained.seed] = judge(p, protocol, n_long, horizons)[0]
    order = list(TRAINED_ROWS) + list(QUIESCENT_ROWS)
    return Conditions({k: conditions[k] for k in order if k in conditions}, hd, rule, n_long)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------


def _seeds_text(rows: dict, ok: dict) -> str:
    passing = [s for s in rows if ok[s]]
    return "all" if len(passing) == len(rows) else ("seed " + "/".join(passing) if passing else "none")


def check_ext_steady_state(r: dict, p: Params) -> Verdict:
    rows = r["conditions"]["default"]   # seed -> numbers of the default unbiased network under the paper's protocol
    ok = {s: v["settled"] and not v["diverged"] and v["kl_late"] <= v["kl_uniform"] + p["kl_margin"]
          for s, v in rows.items()}
    mean = lambda f: float(np.mean([f(v) for v in rows.values()]))  # noqa: E731
    hd = r.get("hd", {}).get("paper", {})
    hd_text = ("; HD (Fig. 3's network): late " + ", ".join(fmt(v["kl_late"]) for v in hd.values()) + " vs 𝒰 "
               + fmt(float(np.mean([v["kl_uniform"] for v in hd.values()])))) if hd else ""
    return Verdict(all(ok.values()),
                   f"late {fmt(mean(lambda v: v['kl_late']))} vs 𝒰 {fmt(mean(lambda v: v['kl_uniform']))} "
                   f"(first 1,000 steps {fmt(mean(lambda v: v['kl_first_1000']))}); settled "
                   f"{sum(v['settled'] for v in rows.values())} of {len(rows)} within "
                   f"{max(v['steps'] for v in rows.values())} steps" + hd_text,
                   {s: f"late {fmt(v['kl_late'])} vs 𝒰 {fmt(v['kl_uniform'])} after {v['steps']} steps "
                       f"({'settled' if v['settled'] else 'not settled'}); MSM: lag {v['msm']['lag']}"
                       f"{'' if v['msm']['converged'] else ' (timescales not converged)'}, stationary "
                       f"{fmt(v['msm']['kl_stationary'])}, CK to {v['msm']['ck_lags'][-1]} steps vs slowest "
                       f"{v['msm']['slowest']:.0f}" if v.get("msm") else f"late {fmt(v['kl_late'])}"
                    for s, v in rows.items()})


def check_ext_attractors(r: dict, p: Params) -> Verdict:
    rows = r["conditions"]["default"]
    occ = {s: v["attractors"]["occupancy"] for s, v in rows.items()}
    ok = {s: (not v["diverged"]) and occ[s]["late"] >= occ[s]["active"] + p["min_occupancy_gain"]
          for s, v in rows.items()}
    mean = lambda key: float(np.mean([o[key] for o in occ.values()]))  # noqa: E731
    count = float(np.mean([v["attractors"]["count"] for v in rows.values()]))
    return Verdict(all(ok.values()),
                   f"{count:.3g} attractors; share near one: active {fmt(mean('active'))}, first 1,000 quiescent "
                   f"steps {fmt(mean('early'))}, last quarter {fmt(mean('late'))}",
                   {s: f"{v['attractors']['count']} attractors, {fmt(occ[s]['active'])} → {fmt(occ[s]['early'])} → "
                       f"{fmt(occ[s]['late'])}" + (" (diverged)" if v["diverged"] else "") for s, v in rows.items()})


def check_ext_conditions(r: dict, p: Params) -> Verdict:
    rule = Sufficiency(**p)
    per_seed, passing = {}, []
    for label, rows in r["conditions"].items():
        met = {c: {s: getattr(rule, c)(v) for s, v in rows.items()} for c in ("trained", "smooth", "stationary", "biased")}
        per_seed[label] = ", ".join(f"{c} {_seeds_text(rows, ok)}" for c, ok in met.items())
        if all(rule.meets(v) for v in rows.values()):
            passing.append(label)
    hd = [label for label, rows in r.get("hd", {}).items() if all(rule.hd_meets(v) for v in rows.values())]
    hd_text = f"; HD, smooth and stationary on every seed: {', '.join(hd) or 'none'}" if r.get("hd") else ""
    if passing:
        return Verdict(True, "all four on every seed: " + ", ".join(passing) + hd_text, per_seed)
    shortfall = {label: float(np.mean([rule.shortfall(v) for v in rows.values()])) for label, rows in r["conditions"].items()}
    closest = min(shortfall, key=shortfall.get)
    rows = r["conditions"][closest]
    mean = lambda f: float(np.mean([f(v) for v in rows.values()]))  # noqa: E731
    return Verdict(False, f"none; closest (shortfall {fmt(shortfall[closest])}): {closest}, with {per_seed[closest]}; "
                          f"p99 step {mean(lambda v: v['steps_quiescent']['p99'] / v['steps_active']['p99']):.2f} × "
                          f"active, late KL {fmt(mean(lambda v: v['kl_late']))} vs 𝒰 "
                          f"{fmt(mean(lambda v: v['kl_uniform']))}, biased {fmt(mean(lambda v: v['biased']['kl_late']))}"
                          f" vs bound {fmt(mean(lambda v: rule.baseline_factor * min(v['biased']['baselines'].values())))}"
                          + hd_text, per_seed)


def check_ext_sharpened(r: dict, p: Params) -> Verdict:
    """The late density is closer to p_active^(2k/α²) than to p_active, for the default networks (unbiased and
    biased) at every isotropic α of the map, on every seed."""
    cases = {f"{label}, seed {s}{tag}": rr for label in SHARPENED_ROWS if label in r["conditions"]
             for s, v in r["conditions"][label].items() for rr, tag in ((v, ""), (v["biased"], ", biased"))}
    ok = {c: rr["sharpened"]["kl"] < rr["kl_late"] for c, rr in cases.items()}
    mean = lambda f, biased: float(np.mean([f(rr) for c, rr in cases.items() if c.endswith("biased") == biased]))  # noqa: E731
    return Verdict(all(ok.values()),
                   f"{sum(ok.values())} of {len(ok)} closer to the prediction; unbiased mean KL to the prediction "
                   f"{fmt(mean(lambda x: x['sharpened']['kl'], False))} vs to active "
                   f"{fmt(mean(lambda x: x['kl_late'], False))} (k {mean(lambda x: x['k'], False):.3g}; the best power "
                   f"of active, {mean(lambda x: x['sharpened']['best_power'], False):.3g}, still leaves "
                   f"{fmt(mean(lambda x: x['sharpened']['best_kl'], False))}); biased "
                   f"{fmt(mean(lambda x: x['sharpened']['kl'], True))} vs {fmt(mean(lambda x: x['kl_late'], True))} "
                   f"(k {mean(lambda x: x['k'], True):.3g}, best power {mean(lambda x: x['sharpened']['best_power'], True):.3g}"
                   f" leaves {fmt(mean(lambda x: x['sharpened']['best_kl'], True))})",
                   {c: f"k {rr['k']:.3g}, exponent {rr['sharpened']['power']:.3g}: KL {fmt(rr['sharpened']['kl'])} vs "
                       f"active {fmt(rr['kl_late'])}; best power {rr['sharpened']['best_power']:.3g} "
                       f"(KL {fmt(rr['sharpened']['best_kl'])})"
                    for c, rr in cases.items()})


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-steady-state": check_ext_steady_state, "ext-attractors": check_ext_attractors,
                            "ext-conditions": check_ext_conditions, "ext-sharpened": check_ext_sharpened}


__all__ = ["TRAINED_ROWS", "QUIESCENT_ROWS", "HD_ROWS", "Sufficiency", "Search", "Prepared", "prepare", "judge",
           "best_exponent", "msm_cross_check", "Conditions", "compute", "horizons_for"]
