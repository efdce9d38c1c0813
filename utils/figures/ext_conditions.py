"""ext_conditions: where quiescence goes, and under which conditions the paper's description holds.

For each SP noisy unbiased network of the module's NOTEBOOK (the default model, the model as written
and as released, three training noise levels, 300-step trials, 256 units) and for the quiescent noise scale
α ∈ `ALPHAS` on the default and as-written networks, one long quiescent run (`long_steps` = 8 × the paper's
KL length) from the active test starts gives:

- the *steady state*: KL(window ‖ active) over consecutive windows of half the KL length, and the step after
  which it stops changing (`steady_state.window_kls`);
- a *Markov state model* of the decoded bins over the first half of the run (`steady_state.markov_model`):
  lag from the implied timescales, a Chapman–Kolmogorov test, the stationary density and its KL against the
  active density, set beside the last window of the whole run (twice as long);
- the *attractors* of the zero-input dynamics (`attractors.find_attractors`) and the share of active, early-
  and late-quiescent decoded positions near the attracting ones (`attractors.occupancy`).

Densities are on bins (SP 0.2 m squares, HD 18° sectors), so every KL here, 𝒰's included, is one estimator
(not the KDE estimator of Fig. 2e, whose values are smaller). A condition *meets the paper's description*
(`Sufficiency`) when the network is trained, its quiescence is smooth and its stationary KL is within a margin
of 𝒰's. HD: the same steady state and attractors for Fig. 3's noisy unbiased networks.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

from .. import analysis as A
from .. import attractors as AT
from .. import config as C
from .. import plotting as P
from .. import steady_state as S
from ..cache import TrainedModel
from ..claims import Check, Params, Verdict, fmt
from ..models import Network
from .base import HD, SP, Figure, FigureSettings, Model, Notebook

# The map of conditions (SP noisy unbiased). Every row sets the bias and noise kind, so the map is the same networks
# under every model variant; rows that other notebooks train share their cache entries. Then Fig. 3's HD network.
NOTEBOOK = Notebook("ext_conditions", (
    Model.of(SP, "noisy_unbiased", "default", recurrent_bias=True, noise_kind="gaussian"),
    Model.of(SP, "noisy_unbiased", "as written", recurrent_bias=False, noise_kind="gaussian"),
    Model.of(SP, "noisy_unbiased", "as released", recurrent_bias=False, noise_kind="uniform"),
    Model.of(SP, "noisy_unbiased", "σ²Δt 1e-5", recurrent_bias=True, noise_kind="gaussian", noise_std=math.sqrt(1e-5)),
    Model.of(SP, "noisy_unbiased", "σ²Δt 3e-4", recurrent_bias=True, noise_kind="gaussian", noise_std=math.sqrt(3e-4)),
    Model.of(SP, "noisy_unbiased", "σ²Δt 1e-3", recurrent_bias=True, noise_kind="gaussian", noise_std=math.sqrt(1e-3)),
    Model.of(SP, "noisy_unbiased", "300-step trials", recurrent_bias=True, noise_kind="gaussian", steps=300),
    Model.of(SP, "noisy_unbiased", "256 units", recurrent_bias=True, noise_kind="gaussian", n_rec=256),
    Model.of(HD, "noisy_unbiased", "HD U^σ"),
), seeds=2)

ALPHAS = (1.0, math.sqrt(2), 2.0, 3.0)        # quiescent noise std / trained std; √2 is every row's base run
ALPHA_NETWORKS = ("default", "as written")     # the rows whose networks are also run at every α
NEAR = {"spatial": 0.2, "head_direction": math.pi / 20}  # attractor neighbourhood: 0.2 m; 9° (half a sector)


@dataclass(frozen=True)
class Search:
    """Sizes of the attractor search (`attractors.find_attractors`)."""
    samples: int = 300        # active states (beside the settled starts) the speed minimisation starts from
    iterations: int = 1500    # its Adam steps
    settle_steps: int = 2000  # noiseless zero-input steps from the active starts: the first cut at the attractors

    @classmethod
    def for_analysis(cls, kl_steps: int) -> "Search":
        """Full size from the paper's KL length (1,000 quiescent steps) up; shorter analyses (the smoke preset,
        a wiring check) scale it down so that a test does not spend a minute on it."""
        f = min(1.0, kl_steps / 1000)
        return cls(max(32, int(cls.samples * f)), max(50, int(cls.iterations * f)), max(50, int(cls.settle_steps * f)))


def alpha_label(alpha: float) -> str:
    return "√2" if math.isclose(alpha, math.sqrt(2)) else f"{alpha:g}"


def row_label(network: str, alpha: float) -> str:
    """`default` (α = √2, the theory's choice) or `default, α=3`."""
    return network if math.isclose(alpha, math.sqrt(2)) else f"{network}, α={alpha_label(alpha)}"


@dataclass(frozen=True)
class Sufficiency:
    """When a condition meets the paper's description: trained, smooth quiescence, stationary density near the
    active one. The numbers are the params of the `ext-conditions` claim (a test keeps them equal)."""
    max_decode_mse: float = 0.02   # fig1-trained's bound, m² per coordinate
    max_jump_ratio: float = 2      # fig1-smooth: quiescent share of steps > 0.2 m ≤ ratio × active share + margin
    jump_margin: float = 0.005
    max_p99_ratio: float = 1.5     # fig1-smooth: quiescent p99 step ≤ ratio × active p99
    kl_margin: float = 0.1         # stationary KL ≤ KL(𝒰 ‖ active) + margin (nats, on bins)

    def trained(self, r: dict) -> bool:
        return r["decoding_mse"] <= self.max_decode_mse

    def smooth(self, r: dict) -> bool:
        return A.smooth_as_active(r["steps_quiescent"], r["steps_active"], self.max_jump_ratio, self.jump_margin,
                                  self.max_p99_ratio)

    def stationary(self, r: dict) -> bool:
        return r["kl_stationary"] <= r["kl_uniform"] + self.kl_margin

    def meets(self, r: dict) -> bool:
        return self.trained(r) and self.smooth(r) and self.stationary(r)

    def shortfall(self, r: dict) -> float:
        """How far a run is from meeting all three: over the four bounds (decoding MSE, p99 step, share of long
        steps, stationary KL's excess over 𝒰), the sum of each measure's relative excess over its bound (0 when
        met; 1 = twice the bound). It ranks the conditions when none meets them all."""
        q, a = r["steps_quiescent"], r["steps_active"]
        ratios = (r["decoding_mse"] / self.max_decode_mse,
                  q["p99"] / (self.max_p99_ratio * a["p99"]),
                  q["jump_fraction"] / (self.max_jump_ratio * a["jump_fraction"] + self.jump_margin),
                  (r["kl_stationary"] - r["kl_uniform"]) / self.kl_margin)
        return float(sum(max(0.0, ratio - 1) for ratio in ratios))


# ----------------------------------------------------------------------------------------------------------
# One network's long run


def _attractor_search(net: Network, active: A.ActiveRun, quiescent_std: float, seed: int,
                      search: Search) -> AT.Attractors:
    """`find_attractors` (on the CPU) from the active starts and `search.samples` active states drawn with `seed`."""
    states = torch.from_numpy(active.hidden.reshape(-1, active.hidden.shape[-1]))
    pick = torch.randperm(len(states), generator=torch.Generator().manual_seed(seed))[:search.samples]
    return AT.find_attractors(copy.deepcopy(net).cpu(), active.h0.cpu(), states[pick], quiescent_std,
                              search.settle_steps, search.iterations)


def attractor_summary(att: AT.Attractors) -> dict[str, Any]:
    return {"count": att.count, "found": len(att.speeds), "decoded": att.decoded, "attracting": att.attracting,
            "stable": att.stable,
            "spectral_radius": att.radius, "speed": att.speeds, "basin": att.basin, "unassigned": att.unassigned}


def long_run(model: TrainedModel, settings: FigureSettings, alpha: float = math.sqrt(2),
             attractors: AT.Attractors | None = None) -> tuple[dict[str, Any], AT.Attractors]:
    """Every number of one network at quiescent noise α × its trained std (see the module docstring), and its
    attractors (searched here unless given: they do not depend on α, except through a uniform noise's mean)."""
    net, seed, a = model.net, model.seed, settings.analysis
    window, steady = max(2, a.quiescent_steps_kl // 2), 4 * a.quiescent_steps_kl
    circular = net.task_cfg.name != "spatial"
    bins = S.bins_for(net.task_cfg)
    act = A.active_run(net, a.n_kde, a.active_steps, seed)
    run = A.quiescent_run(net, a.n_kde, 2 * steady, alpha * net.cfg.noise_std, seed, keep_states=False,
                          keep_norms=True)
    q = run.decoded
    p_active = S.histogram(act.decoded, bins)
    windows = S.window_kls(q, p_active, bins, window)
    msm = S.markov_model(S.discrete_trajectories(q[:, :steady], bins), bins.n)
    last = S.histogram(q[:, -window:], bins)
    if attractors is None:
        attractors = _attractor_search(net, act, run.noise_std, seed, Search.for_analysis(a.quiescent_steps_kl))
    centres = attractors.decoded[attractors.attracting]
    near = NEAR[net.task_cfg.name]
    chance = (A.uniform_box_density(net.task_cfg.box_size).sample(20000, np.random.default_rng(seed)) if not circular
              else np.random.default_rng(seed).uniform(-np.pi, np.pi, (20000, 1)))
    jump = None if circular else A.JUMP_LENGTH
    out = {
        "alpha": alpha, "quiescent_noise_std": run.noise_std,
        "decoding_mse": float(model.metrics["test_decode_error"][-1]),
        "steps_active": A.step_statistics(act.decoded, circular, jump),
        "steps_quiescent": A.step_statistics(q[:, :a.quiescent_steps_kl], circular, jump),
        "window": window, "kl_windows": windows.kl, "settled_at": windows.settled_at,
        "settle_tolerance": windows.tolerance,
        "kl_first_window": float(windows.kl[0]), "kl_last_window": float(windows.kl[-1]),
        "kl_uniform": S.kl(S.uniform(bins), p_active),
        "kl_stationary": S.kl(msm.stationary, p_active),
        "kl_stationary_vs_last_window": S.kl(msm.stationary, last),
        "msm": {"lag": msm.lag, "lags": msm.lags, "timescales": msm.timescales, "converged": msm.converged,
                "ck_lags": msm.ck_lags, "ck_predicted": msm.ck_predicted, "ck_estimated": msm.ck_estimated,
                "ck_error": msm.ck_error, "states": msm.n_states, "run_steps": steady},
        "stationary_density": msm.stationary,
        "total_variance": (A.total_variance(q[:, :a.variance_steps], burn_in=a.variance_steps // 2)
                           if not circular else None),
        "hidden_norm": {"active": float(np.linalg.norm(act.hidden, axis=-1).mean()),
                        "first_window": float(run.hidden_norm[:, :window].mean()),
                        "last_window": float(run.hidden_norm[:, -window:].mean())},
        "attractors": attractor_summary(attractors),
        "attractor_occupancy": {"active": AT.occupancy(act.decoded, centres, near, circular),
                                "early": AT.occupancy(q[:, :window], centres, near, circular),
                                "late": AT.occupancy(q[:, -window:], centres, near, circular),
                                "uniform": AT.occupancy(chance, centres, near, circular), "radius": near},
    }
    return out, attractors


# ----------------------------------------------------------------------------------------------------------
# The figure


@dataclass
class Conditions(Figure):
    """conditions: label -> seed -> `long_run` numbers (SP); hd: seed -> the same for Fig. 3's HD network."""
    name: ClassVar[str] = "ext_conditions"
    layout: ClassVar[str] = "aab;cde;fgh"
    figure_kw: ClassVar[dict] = {"figsize": (P.FULL_WIDTH, 6.6), "height_ratios": [1.25, 1, 1]}

    conditions: dict[str, dict[int, dict[str, Any]]]
    hd: dict[int, dict[str, Any]]
    sufficiency: Sufficiency

    def results(self) -> dict[str, Any]:
        rule = self.sufficiency
        verdicts = {label: {str(s): {"trained": rule.trained(r), "smooth": rule.smooth(r),
                                     "stationary": rule.stationary(r), "meets": rule.meets(r)}
                            for s, r in per_seed.items()} for label, per_seed in self.conditions.items()}
        return {"conditions": {k: {str(s): r for s, r in v.items()} for k, v in self.conditions.items()},
                "hd": {str(s): r for s, r in self.hd.items()}, "sufficiency": asdict(rule), "verdicts": verdicts,
                "alphas": list(ALPHAS), "alpha_networks": list(ALPHA_NETWORKS)}

    def summary(self) -> str:
        rule = self.sufficiency
        lines = [f"{'condition':<22}{'MSE':>8}{'p99 q/a':>9}{'KL win1':>9}{'KL stat':>9}{'KL 𝒰':>7}{'attr':>6}"
                 f"{'occ a/e/l':>17}  meets (per seed)"]
        for label, per_seed in self.conditions.items():
            m = lambda get: self._mean(label, get)  # noqa: E731
            lines.append(
                f"{label:<22}{m(lambda r: r['decoding_mse']):8.4f}"
                f"{m(lambda r: r['steps_quiescent']['p99'] / r['steps_active']['p99']):9.2f}"
                f"{m(lambda r: r['kl_first_window']):9.3f}{m(lambda r: r['kl_stationary']):9.3f}"
                f"{m(lambda r: r['kl_uniform']):7.3f}{m(lambda r: r['attractors']['count']):6.1f}"
                f"{m(lambda r: r['attractor_occupancy']['active']):6.2f}/"
                f"{m(lambda r: r['attractor_occupancy']['early']):.2f}/"
                f"{m(lambda r: r['attractor_occupancy']['late']):.2f}"
                f"  {' '.join('yes' if rule.meets(r) else 'no' for r in per_seed.values())}")
        for s, r in self.hd.items():
            lines.append(f"HD seed {s}: KL first window {r['kl_first_window']:.3f}, stationary {r['kl_stationary']:.3f}"
                         f" (𝒰 {r['kl_uniform']:.3f}), settled at {r['settled_at']}, {r['attractors']['count']} "
                         f"attractors, occupancy {r['attractor_occupancy']['active']:.2f} → "
                         f"{r['attractor_occupancy']['late']:.2f}")
        return "\n".join(lines)

    # --- panels ---

    def _mean(self, label: str, get: Callable[[dict], float]) -> float:
        """Mean over seeds of `get(numbers)` for one condition."""
        return float(np.mean([get(r) for r in self.conditions[label].values()]))

    def _training_rows(self) -> list[str]:
        return [k for k in self.conditions if ", α=" not in k]

    def _map(self, ax: Axes) -> None:
        """a: smoothness (p99 step, quiescent / active) against the stationary KL's excess over 𝒰; colour: decoding
        MSE (small dots: not trained); black rims: all three criteria met. Each condition is numbered at the mean
        of its seeds, the key in the lower right. The shaded corner is where the paper's description holds."""
        rule = self.sufficiency
        points = [(label, r) for label, per_seed in self.conditions.items() for r in per_seed.values()]
        x = np.array([r["steps_quiescent"]["p99"] / r["steps_active"]["p99"] for _, r in points])
        y = np.array([r["kl_stationary"] - r["kl_uniform"] for _, r in points])
        mse = np.array([r["decoding_mse"] for _, r in points])
        ax.fill_between([0.0, rule.max_p99_ratio], -10, rule.kl_margin, color="#cfe8cf", zorder=0, lw=0)
        sc = ax.scatter(x, y, c=mse, cmap="viridis", norm=LogNorm(vmin=max(mse.min(), 1e-3), vmax=max(mse.max(), 1e-2)),
                        s=[16 if rule.trained(r) else 6 for _, r in points], zorder=3, edgecolors="black",
                        linewidths=[0.8 if rule.meets(r) else 0.0 for _, r in points])
        key = []
        for n, label in enumerate(self.conditions, 1):
            idx = [i for i, (k, _) in enumerate(points) if k == label]
            above = n % 2 == 1  # alternate sides, so that neighbours' numbers do not overlap
            ax.annotate(str(n), (np.exp(np.mean(np.log(x[idx]))), np.mean(y[idx])), fontsize=5,
                        xytext=(0, 3.5 if above else -3.5), textcoords="offset points", ha="center",
                        va="bottom" if above else "top", zorder=4)
            key.append(f"{n} {label}")
        half = (len(key) + 1) // 2
        for column, lines in enumerate((key[:half], key[half:])):
            ax.text(0.55 + 0.23 * column, 0.02, "\n".join(lines), transform=ax.transAxes, ha="left", va="bottom",
                    fontsize=4.5, linespacing=1.15)
        ax.set_xscale("log")
        ax.set_xlim(0.4, max(3.0, x.max() * 1.5))
        ax.set_ylim(min(-0.3, y.min() - 0.1), max(1.0, y.max() + 0.2))
        ax.axhline(rule.kl_margin, color="0.5", lw=0.6, ls="--")
        ax.axvline(rule.max_p99_ratio, color="0.5", lw=0.6, ls="--")
        ax.set(xlabel="p99 step, quiescent / active",
               ylabel=r"KL(stationary ‖ active) − KL($\mathcal{U}$ ‖ active)",
               title="the map of conditions (shaded: smooth, stationary ≈ active)")
        P.colorbar_beside(ax, sc, "decoding MSE (m²)", width=0.025, pad=0.02)

    def _windows(self, ax: Axes) -> None:
        """b: KL(window ‖ active) over the run, mean over seeds, the default and as-written networks against 𝒰."""
        for label, color in (("default", P.QUIESCENT), ("as written", "0.35"), ("as released", "#e08a1e")):
            if label not in self.conditions:
                continue
            rs = list(self.conditions[label].values())
            kl = np.mean([r["kl_windows"] for r in rs], axis=0)
            t = (np.arange(len(kl)) + 0.5) * rs[0]["window"]
            ax.plot(t, kl, color=color, lw=1, label=label)
            ax.axhline(self._mean(label, lambda r: r["kl_uniform"]), color=color, lw=0.6, ls=":")
        if self.hd:
            rs = list(self.hd.values())
            kl = np.mean([r["kl_windows"] for r in rs], axis=0)
            ax.plot((np.arange(len(kl)) + 0.5) * rs[0]["window"], kl, color=P.NOISELESS, lw=1, label="HD (Fig. 3)")
        ax.set(xlabel="quiescent step", ylabel="KL(window ‖ active) (nats)", title=r"window KL (dotted: $\mathcal{U}$)")
        ax.legend(fontsize=5, frameon=False)

    def _timescales(self, ax: Axes, label: str = "default") -> None:
        """c: implied timescales against the lag for the first seed of `label`, chosen lag marked."""
        r = next(iter(self.conditions[label].values()))["msm"]
        lags, ts = np.asarray(r["lags"]), np.asarray(r["timescales"], float)
        for k in range(ts.shape[1]):
            ax.plot(lags, ts[:, k], marker="o", ms=2, lw=0.8, color=P.QUIESCENT, alpha=1 - 0.25 * k)
        ax.fill_between(lags, lags, 0.5, color="0.85", lw=0)  # timescales below the lag are not resolved
        ax.axvline(r["lag"], color="black", lw=0.6, ls="--")
        ax.set(xscale="log", yscale="log", xlabel="lag (steps)", ylabel="implied timescale (steps)",
               title=f"MSM, {label}: lag {r['lag']}")

    def _ck(self, ax: Axes, label: str = "default") -> None:
        """d: Chapman–Kolmogorov test of that model: the metastable sets' self-transition probabilities,
        predicted from the chosen lag (line) and estimated at each multiple (dots)."""
        r = next(iter(self.conditions[label].values()))["msm"]
        lags, pred, est = np.asarray(r["ck_lags"]), np.asarray(r["ck_predicted"]), np.asarray(r["ck_estimated"])
        for i in range(pred.shape[1]):
            ax.plot(lags, pred[:, i, i], color=P.QUIESCENT, lw=0.8)
            ax.plot(lags, est[:, i, i], "o", color="black", ms=2)
        ax.set(ylim=(0, 1.05), xlabel="lag (steps)", ylabel="P(stay in set)",
               title=f"CK test, max error {r['ck_error']:.3f}")

    def _attractor_map(self, ax: Axes, label: str) -> None:
        """e–f: the stationary density on the bins, with the decoded positions of the attractors (circles, area ∝
        basin) and of the other fixed and slow points (×)."""
        r = next(iter(self.conditions[label].values()))
        k = int(round(math.sqrt(len(r["stationary_density"]))))   # the SP bins tile the box k × k
        ax.imshow(np.asarray(r["stationary_density"]).reshape(k, k), origin="lower", cmap=P.KDE_CMAP,
                  extent=A.box_extent(C.TaskConfig()))
        att = r["attractors"]
        dec, basin = np.asarray(att["decoded"]).reshape(-1, 2), np.asarray(att["basin"])
        on = np.asarray(att["attracting"], bool)
        ax.scatter(dec[~on, 0], dec[~on, 1], marker="x", s=5, color="0.3", linewidths=0.4)
        ax.scatter(dec[on, 0], dec[on, 1], s=4 + 120 * basin[on], facecolors="white", edgecolors="black",
                   linewidths=0.5)
        ax.set(aspect="equal", xlabel="x (m)", ylabel="y (m)", xticks=[-1, 0, 1], yticks=[-1, 0, 1],
               title=f"{label}: {att['count']} attractors")

    def _occupancy(self, ax: Axes) -> None:
        """g: share of decoded positions near an attractor, active / early / late quiescence, per training row."""
        rows = self._training_rows()
        keys = ("active", "early", "late")
        colors = (P.ACTIVE, "#f4a09c", P.QUIESCENT)
        for j, (key, color) in enumerate(zip(keys, colors)):
            v = [self._mean(k, lambda r: r["attractor_occupancy"][key]) for k in rows]
            ax.bar(np.arange(len(rows)) + (j - 1) * 0.27, v, width=0.27, color=color, label=key)
        chance = [self._mean(k, lambda r: r["attractor_occupancy"]["uniform"]) for k in rows]
        ax.scatter(np.arange(len(rows)), chance, marker="_", color="black", s=40, label="uniform box", zorder=3)
        ax.set_xticks(range(len(rows)), rows, rotation=40, ha="right", fontsize=5)
        ax.set(ylabel="share within 0.2 m of an attractor", ylim=(0, 1), title="near an attractor")
        ax.legend(fontsize=4.5, frameon=False, ncol=2, loc="upper left")

    def _alphas(self, ax: Axes) -> None:
        """h: stationary and first-window KL against α for the default and as-written networks; 𝒰 dotted."""
        for network, color in (("default", P.QUIESCENT), ("as written", "0.35")):
            labels = [row_label(network, a) for a in ALPHAS]
            if not all(k in self.conditions for k in labels):
                continue
            stat = [self._mean(k, lambda r: r["kl_stationary"]) for k in labels]
            first = [self._mean(k, lambda r: r["kl_first_window"]) for k in labels]
            ax.plot(ALPHAS, stat, marker="o", ms=2.5, color=color, lw=1, label=f"{network}, stationary")
            ax.plot(ALPHAS, first, marker="o", ms=2, color=color, lw=0.6, ls="--", label=f"{network}, first window")
            ax.axhline(self._mean(labels[0], lambda r: r["kl_uniform"]), color=color, lw=0.6, ls=":")
        ax.set_xticks(ALPHAS, [alpha_label(a) for a in ALPHAS])
        ax.set(xlabel="quiescent noise scale α", ylabel="KL (nats)", title="quiescent noise scale")
        ax.legend(fontsize=4.5, frameon=False)

    def panels(self) -> dict[str, Callable[[Axes], None]]:
        return {"a": self._map, "b": self._windows, "c": self._timescales, "d": self._ck,
                "e": lambda ax: self._attractor_map(ax, "default"),
                "f": lambda ax: self._attractor_map(ax, "as written"),
                "g": self._occupancy, "h": self._alphas}


def compute(settings: FigureSettings, sufficiency: Sufficiency = Sufficiency()) -> Conditions:
    """Every row of the registry's ext_conditions models at α = √2, the `ALPHA_NETWORKS` rows also at each α of
    `ALPHAS`, and the HD network (see the module docstring); seeds: the notebook's."""
    conditions: dict[str, dict[int, dict[str, Any]]] = {}
    hd: dict[int, dict[str, Any]] = {}
    for model in NOTEBOOK.models:
        for trained in settings.trained_of(model):
            seed = trained.seed
            base, att = long_run(trained, settings)
            if model.task != "spatial":
                hd[seed] = base
                continue
            conditions.setdefault(model.label, {})[seed] = base
            if model.label in ALPHA_NETWORKS:
                for alpha in ALPHAS:
                    if not math.isclose(alpha, math.sqrt(2)):
                        # The attractors of α = √2: the same network (a uniform noise's mean would differ).
                        conditions.setdefault(row_label(model.label, alpha), {})[seed] = long_run(
                            trained, settings, alpha, att)[0]
    order = [m.label for m in NOTEBOOK.models if m.task == "spatial"]
    order += [row_label(n, a) for n in ALPHA_NETWORKS for a in ALPHAS if not math.isclose(a, math.sqrt(2))]
    return Conditions({k: conditions[k] for k in order if k in conditions}, hd, sufficiency)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------


def _criteria_met(rule: Sufficiency, rows: dict[str, dict]) -> dict[str, list[str]]:
    """Criterion -> the seeds on which a condition meets it."""
    return {name: [s for s, v in rows.items() if getattr(rule, name)(v)]
            for name in ("trained", "smooth", "stationary")}


def check_ext_steady_state(r: dict, p: Params) -> Verdict:
    rows = r["conditions"]["default"]   # seed -> numbers of the default network (utils/figures/ext_conditions.py)
    ok = {s: v["kl_stationary"] <= v["kl_uniform"] + p["kl_margin"] for s, v in rows.items()}
    mean = lambda key: float(np.mean([v[key] for v in rows.values()]))  # noqa: E731
    settled = [v["settled_at"] for v in rows.values()]
    first = next(iter(rows.values()))
    hd = r.get("hd", {})
    hd_text = ("; HD (Fig. 3's network): stationary " + ", ".join(fmt(v["kl_stationary"]) for v in hd.values())
               + " vs 𝒰 " + ", ".join(fmt(v["kl_uniform"]) for v in hd.values())) if hd else ""
    return Verdict(all(ok.values()),
                   f"stationary {fmt(mean('kl_stationary'))} vs 𝒰 {fmt(mean('kl_uniform'))}; windows: first "
                   f"{fmt(mean('kl_first_window'))}, last {fmt(mean('kl_last_window'))} "
                   f"({'settled' if all(x is not None for x in settled) else 'not settled'} within "
                   f"{first['window'] * len(first['kl_windows'])} steps)"
                   + hd_text,
                   {s: f"stationary {fmt(v['kl_stationary'])} vs 𝒰 {fmt(v['kl_uniform'])}, windows "
                       f"{fmt(v['kl_first_window'])} → {fmt(v['kl_last_window'])}, MSM lag {v['msm']['lag']}, "
                       f"CK error {fmt(v['msm']['ck_error'])}" for s, v in rows.items()})


def check_ext_attractors(r: dict, p: Params) -> Verdict:
    rows = r["conditions"]["default"]
    occ = {s: v["attractor_occupancy"] for s, v in rows.items()}
    ok = {s: o["late"] >= o["active"] + p["min_occupancy_gain"] for s, o in occ.items()}
    mean = lambda key: float(np.mean([o[key] for o in occ.values()]))  # noqa: E731
    count = float(np.mean([v["attractors"]["count"] for v in rows.values()]))
    return Verdict(all(ok.values()),
                   f"{count:.3g} attractors; share near one: active {fmt(mean('active'))}, early quiescence "
                   f"{fmt(mean('early'))}, late {fmt(mean('late'))} (uniform box {fmt(mean('uniform'))})",
                   {s: f"{v['attractors']['count']} attractors, {fmt(occ[s]['active'])} → {fmt(occ[s]['early'])} → "
                       f"{fmt(occ[s]['late'])}" for s, v in rows.items()})


def check_ext_conditions(r: dict, p: Params) -> Verdict:
    rule = Sufficiency(**p)
    def seeds_text(label: str, seeds: list[str]) -> str:
        return "all" if len(seeds) == len(r["conditions"][label]) else "seed " + "/".join(seeds) if seeds else "none"

    met = {label: _criteria_met(rule, rows) for label, rows in r["conditions"].items()}
    per_seed = {label: ", ".join(f"{name} {seeds_text(label, seeds)}" for name, seeds in m.items())
                for label, m in met.items()}
    passing = [label for label, rows in r["conditions"].items() if all(rule.meets(v) for v in rows.values())]
    if passing:
        return Verdict(True, "all three on every seed: " + ", ".join(passing), per_seed)
    shortfall = {label: float(np.mean([rule.shortfall(v) for v in rows.values()]))
                 for label, rows in r["conditions"].items()}
    closest = min(shortfall, key=shortfall.get)
    rows = r["conditions"][closest]
    mean = lambda f: float(np.mean([f(v) for v in rows.values()]))  # noqa: E731
    return Verdict(False, f"none; closest (smallest shortfall {fmt(shortfall[closest])}): {closest}, with p99 step "
                          f"{mean(lambda v: v['steps_quiescent']['p99'] / v['steps_active']['p99']):.2f} × active, "
                          f"steps > 0.2 m {mean(lambda v: v['steps_quiescent']['jump_fraction']):.2%} vs active "
                          f"{mean(lambda v: v['steps_active']['jump_fraction']):.2%}, stationary KL "
                          f"{fmt(mean(lambda v: v['kl_stationary']))} vs 𝒰 {fmt(mean(lambda v: v['kl_uniform']))}, "
                          f"decoding MSE {fmt(mean(lambda v: v['decoding_mse']))}", per_seed)


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {"ext-steady-state": check_ext_steady_state, "ext-attractors": check_ext_attractors, "ext-conditions": check_ext_conditions}


__all__ = ["ALPHAS", "ALPHA_NETWORKS", "Sufficiency", "Search", "long_run", "attractor_summary", "Conditions",
           "compute", "row_label", "alpha_label"]
