"""What judges the map: the sufficiency rule (`Sufficiency`, the params of the `ext-conditions` claim) and the
checks of the map's four claims, on its typed results."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ... import analysis as A
from ... import quiescence as Q
from ...claims import Params, Verdict, fmt
from .models import SHARPENED_ROWS

if TYPE_CHECKING:   # the results hold a Sufficiency: they import this module, not the other way round
    from .results import ConditionsResults, RunNumbers


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

    def trained(self, r: RunNumbers) -> bool:
        return r.decoding_mse <= self.max_decode_mse

    def smooth(self, r: RunNumbers) -> bool:
        return (A.smooth_as_active(r.steps_quiescent, r.steps_active, self.max_jump_ratio, self.jump_margin,
                                   self.max_p99_ratio) and r.steps_quiescent["moving"] >= self.min_moving)

    def stationary(self, r: RunNumbers) -> bool:
        return r.settled and not r.diverged and r.kl_late <= r.kl_uniform + self.kl_margin

    def biased_bound(self, b: RunNumbers) -> float:
        """fig2-biased's bound on a biased run's late KL: the factor × the smallest of its baselines."""
        return self.baseline_factor * min(b.baselines.values())

    def biased(self, r: RunNumbers) -> bool:
        b = r.biased
        return b.settled and not b.diverged and b.kl_late <= self.biased_bound(b)

    def meets(self, r: RunNumbers) -> bool:
        return self.trained(r) and self.smooth(r) and self.stationary(r) and self.biased(r)

    def hd_meets(self, r: RunNumbers) -> bool:
        """An HD run (no jump length on a circle, no biased twin): fig3-smooth's p99 bound, still moving, and
        stationary as above."""
        q, a = r.steps_quiescent, r.steps_active
        return q["p99"] <= self.max_p99_ratio * a["p99"] and q["moving"] >= self.min_moving and self.stationary(r)

    def shortfall(self, r: RunNumbers) -> float:
        """How far a run is from meeting every bound: the sum of each measure's relative excess over its bound
        (0 when met; 1 = twice the bound); an unsettled or diverged run counts 1 more per network. It ranks the
        conditions when none meets them all."""
        q, a, b = r.steps_quiescent, r.steps_active, r.biased
        ratios = (r.decoding_mse / self.max_decode_mse,
                  q["p99"] / (self.max_p99_ratio * a["p99"]),
                  q["jump_fraction"] / (self.max_jump_ratio * a["jump_fraction"] + self.jump_margin),
                  self.min_moving / max(q["moving"], 1e-9),
                  (r.kl_late - r.kl_uniform) / self.kl_margin,
                  b.kl_late / self.biased_bound(b))
        unsettled = sum(not x.settled or x.diverged for x in (r, b))
        return float(sum(max(0.0, ratio - 1) for ratio in ratios) + unsettled)


CRITERIA = ("trained", "smooth", "stationary", "biased")


def verdicts(rule: Sufficiency, conditions: dict[str, dict[str, RunNumbers]]) -> dict[str, dict[str, dict[str, bool]]]:
    """SP row -> seed -> criterion (and "meets", all four) -> met."""
    return {label: {str(s): {c: getattr(rule, c)(r) for c in (*CRITERIA, "meets")} for s, r in per_seed.items()}
            for label, per_seed in conditions.items()}


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------


def _seeds_text(rows: dict, ok: dict) -> str:
    passing = [s for s in rows if ok[s]]
    return "all" if len(passing) == len(rows) else ("seed " + "/".join(passing) if passing else "none")


def _msm_text(v: RunNumbers) -> str:
    m = v.msm
    return (f"late {fmt(v.kl_late)} vs 𝒰 {fmt(v.kl_uniform)} after {v.steps} steps "
            f"({'settled' if v.settled else 'not settled'}); MSM: lag {m.lag}"
            f"{'' if m.converged else ' (timescales not converged)'}, stationary {fmt(m.kl_stationary)}, "
            f"CK to {m.ck_lags[-1]} steps vs slowest {m.slowest:.0f}")


def check_ext_steady_state(r: ConditionsResults, p: Params) -> Verdict:
    rows = r.conditions["default"]   # seed -> the default unbiased network under the paper's protocol
    ok = {s: v.settled and not v.diverged and v.kl_late <= v.kl_uniform + p["kl_margin"] for s, v in rows.items()}
    mean = lambda f: float(np.mean([f(v) for v in rows.values()]))  # noqa: E731
    hd = r.hd.get("paper", {})
    hd_text = ("; HD (Fig. 3's network): late " + ", ".join(fmt(v.kl_late) for v in hd.values()) + " vs 𝒰 "
               + fmt(float(np.mean([v.kl_uniform for v in hd.values()])))) if hd else ""
    return Verdict(all(ok.values()),
                   f"late {fmt(mean(lambda v: v.kl_late))} vs 𝒰 {fmt(mean(lambda v: v.kl_uniform))} "
                   f"(first 1,000 steps {fmt(mean(lambda v: v.kl_first_1000))}); settled "
                   f"{sum(v.settled for v in rows.values())} of {len(rows)} within "
                   f"{max(v.steps for v in rows.values())} steps" + hd_text,
                   {s: _msm_text(v) if v.msm else f"late {fmt(v.kl_late)}" for s, v in rows.items()})


def check_ext_attractors(r: ConditionsResults, p: Params) -> Verdict:
    rows = r.conditions["default"]
    occ = {s: v.attractors.occupancy for s, v in rows.items()}
    ok = {s: (not v.diverged) and occ[s].late >= occ[s].active + p["min_occupancy_gain"] for s, v in rows.items()}
    mean = lambda key: float(np.mean([getattr(o, key) for o in occ.values()]))  # noqa: E731
    count = float(np.mean([v.attractors.count for v in rows.values()]))
    return Verdict(all(ok.values()),
                   f"{count:.3g} attractors; share near one: active {fmt(mean('active'))}, first 1,000 quiescent "
                   f"steps {fmt(mean('early'))}, last quarter {fmt(mean('late'))}",
                   {s: f"{v.attractors.count} attractors, {fmt(occ[s].active)} → {fmt(occ[s].early)} → "
                       f"{fmt(occ[s].late)}" + (" (diverged)" if v.diverged else "") for s, v in rows.items()})


def check_ext_conditions(r: ConditionsResults, p: Params) -> Verdict:
    rule = Sufficiency(**p)
    per_seed, passing = {}, []
    for label, rows in r.conditions.items():
        met = {c: {s: getattr(rule, c)(v) for s, v in rows.items()} for c in CRITERIA}
        per_seed[label] = ", ".join(f"{c} {_seeds_text(rows, ok)}" for c, ok in met.items())
        if all(rule.meets(v) for v in rows.values()):
            passing.append(label)
    hd = [label for label, rows in r.hd.items() if all(rule.hd_meets(v) for v in rows.values())]
    hd_text = f"; HD, smooth and stationary on every seed: {', '.join(hd) or 'none'}" if r.hd else ""
    if passing:
        return Verdict(True, "all four on every seed: " + ", ".join(passing) + hd_text, per_seed)
    shortfall = {label: float(np.mean([rule.shortfall(v) for v in rows.values()]))
                 for label, rows in r.conditions.items()}
    closest = min(shortfall, key=shortfall.get)
    rows = r.conditions[closest]
    mean = lambda f: float(np.mean([f(v) for v in rows.values()]))  # noqa: E731
    return Verdict(False, f"none; closest (shortfall {fmt(shortfall[closest])}): {closest}, with {per_seed[closest]}; "
                          f"p99 step {mean(lambda v: v.steps_quiescent['p99'] / v.steps_active['p99']):.2f} × "
                          f"active, late KL {fmt(mean(lambda v: v.kl_late))} vs 𝒰 "
                          f"{fmt(mean(lambda v: v.kl_uniform))}, biased {fmt(mean(lambda v: v.biased.kl_late))}"
                          f" vs bound {fmt(mean(lambda v: rule.biased_bound(v.biased)))}" + hd_text, per_seed)


def check_ext_sharpened(r: ConditionsResults, p: Params) -> Verdict:
    """The late density is closer to p_active^(2k/α²) than to p_active, for the default networks (unbiased and
    biased) at every isotropic α of the map, on every seed."""
    cases = {f"{label}, seed {s}{tag}": rr for label in SHARPENED_ROWS if label in r.conditions
             for s, v in r.conditions[label].items() for rr, tag in ((v, ""), (v.biased, ", biased"))}
    ok = {c: rr.sharpened.kl < rr.kl_late for c, rr in cases.items()}

    def mean(f, biased: bool) -> float:
        return float(np.mean([f(rr) for c, rr in cases.items() if c.endswith("biased") == biased]))

    def side(biased: bool) -> str:
        return (f"{fmt(mean(lambda x: x.sharpened.kl, biased))} vs {fmt(mean(lambda x: x.kl_late, biased))}"
                f" (k {mean(lambda x: x.k, biased):.3g}, best power {mean(lambda x: x.sharpened.best_power, biased):.3g}"
                f" leaves {fmt(mean(lambda x: x.sharpened.best_kl, biased))})")

    return Verdict(all(ok.values()),
                   f"{sum(ok.values())} of {len(ok)} closer to the prediction; unbiased mean KL to the prediction "
                   f"{fmt(mean(lambda x: x.sharpened.kl, False))} vs to active "
                   f"{fmt(mean(lambda x: x.kl_late, False))} (k {mean(lambda x: x.k, False):.3g}; the best power "
                   f"of active, {mean(lambda x: x.sharpened.best_power, False):.3g}, still leaves "
                   f"{fmt(mean(lambda x: x.sharpened.best_kl, False))}); biased " + side(True),
                   {c: f"k {rr.k:.3g}, exponent {rr.sharpened.power:.3g}: KL {fmt(rr.sharpened.kl)} vs "
                       f"active {fmt(rr.kl_late)}; best power {rr.sharpened.best_power:.3g} "
                       f"(KL {fmt(rr.sharpened.best_kl)})"
                    for c, rr in cases.items()})


CHECKS = {"ext-steady-state": check_ext_steady_state, "ext-attractors": check_ext_attractors,
          "ext-conditions": check_ext_conditions, "ext-sharpened": check_ext_sharpened}

__all__ = ["Sufficiency", "CRITERIA", "verdicts", "check_ext_steady_state", "check_ext_attractors",
           "check_ext_conditions", "check_ext_sharpened", "CHECKS"]
