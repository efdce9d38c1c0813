"""The reproduction report: every claim of `data/claims.yaml` measured from the figures' results JSON.

`CHECKS` maps each claim's id to the function that measures it: it takes the `results` of the claim's figure
and the claim's `params` (every number it compares against, read from the YAML) and returns a `Verdict`. The
report's threshold sentence is the claim's `threshold` template filled in with the same `params`.

A claim whose figure has not been run is `missing`, never passed; a check that raises is an `error` of the
report (a bug, or results it cannot read), never missing, and makes `main` exit non-zero.
"""
from __future__ import annotations

import copy
import html
import json
import math
import re
import string
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from . import analysis as A
from . import config as C
from .figures.base import read_results
from .figures.ext_conditions import Sufficiency
from .files import atomic_write_text

CLAIMS_FILE = Path(__file__).resolve().parent.parent / "data" / "claims.yaml"


@dataclass
class Verdict:
    passed: bool | None                                 # None: a number reported beside the paper's, no verdict
    value: str                                          # the measured statistic, formatted
    per_seed: dict[str, str] = field(default_factory=dict)  # seed -> formatted value


Params = dict[str, Any]                     # a claim's `params` in claims.yaml
Check = Callable[[dict, Params], Verdict]   # (the figure's results, the claim's params) -> verdict


def _mean(entry: dict) -> float:
    return float(np.mean([float(v) for v in entry["per_seed"].values()]))


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _kl(results: dict, row: str, col: str) -> tuple[float, dict[str, float]]:
    """Mean and per-seed entries of the Fig. 2e matrix at (active row, quiescent column)."""
    i, j = results["kl_rows"].index(row), results["kl_cols"].index(col)
    per_seed = {s: m[i][j] for s, m in results["kl_matrix"]["per_seed"].items()}
    return float(np.mean(list(per_seed.values()))), per_seed


def check_fig1_trained(r: dict, p: Params) -> Verdict:
    loss, err = r["final_test_loss"]["per_seed"], r["final_decode_error"]["per_seed"]
    ok = {s: loss[s] <= p["max_test_loss"] and err[s] <= p["max_decode_mse"] for s in loss}
    return Verdict(all(ok.values()), f"loss {_fmt(_mean(r['final_test_loss']))}, MSE {_fmt(_mean(r['final_decode_error']))}",
                   {s: f"loss {_fmt(loss[s])}, MSE {_fmt(err[s])}" for s in loss})


def check_fig1_low_dim(r: dict, p: Params) -> Verdict:
    diff = r["ev_max_abs_diff"]["per_seed"]
    ev10 = {s: v[-1] for s, v in r["ev_active"]["per_seed"].items()}
    mean_diff, mean_ev10 = float(np.mean(list(diff.values()))), float(np.mean(list(ev10.values())))
    return Verdict(mean_diff <= p["max_ev_difference"] and mean_ev10 >= p["min_ev_active_10"],
                   f"max |ΔEV| {_fmt(mean_diff)}, EV_a(10) {_fmt(mean_ev10)}",
                   {s: f"{_fmt(diff[s])}, {_fmt(ev10[s])}" for s in diff})


def _unbiased_holds(q_a: float, uniform_a: float, margin: float) -> bool:
    return q_a <= uniform_a + margin


def _biased_holds(q_a: float, baselines: list[float], factor: float) -> bool:
    return q_a <= factor * min(baselines)


def check_fig2_unbiased(r: dict, p: Params) -> Verdict:
    own, per_seed = _kl(r, "U^σ", "U^σ")
    uniform, _ = _kl(r, "U^σ", "𝒰")
    return Verdict(_unbiased_holds(own, uniform, p["kl_margin"]), f"{_fmt(own)} vs 𝒰 {_fmt(uniform)}",
                   {s: _fmt(v) for s, v in per_seed.items()})


def check_fig2_biased(r: dict, p: Params) -> Verdict:
    own, per_seed = _kl(r, "B^σ", "B^σ")
    baselines = [_kl(r, "B^σ", c)[0] for c in ("U^σ", "𝒰", "R^σ")]
    return Verdict(_biased_holds(own, baselines, p["baseline_factor"]),
                   f"{_fmt(own)} vs min baseline {_fmt(min(baselines))}", {s: _fmt(v) for s, v in per_seed.items()})


def check_fig2_diverge(r: dict, p: Params) -> Verdict:
    own, _ = _kl(r, "U^σ", "U^σ")
    cross, random = _kl(r, "U^σ", "B^σ")[0], _kl(r, "U^σ", "R^σ")[0]
    factor = p["min_factor"]
    return Verdict(cross >= factor * own and random >= factor * own,
                   f"B^σ_q {_fmt(cross)}, R^σ {_fmt(random)} vs {factor} × {_fmt(own)}")


def check_fig2_noiseless(r: dict, p: Params) -> Verdict:
    u = [_kl(r, "U", c)[0] for c in ("U", "B", "R^σ")]
    b = [_kl(r, "B", c)[0] for c in ("B", "U", "R^σ")]
    ok = u[0] < min(u[1:]) and b[0] < min(b[1:])
    return Verdict(ok, f"row U: own {_fmt(u[0])} vs {_fmt(u[1])}, {_fmt(u[2])}; "
                       f"row B: own {_fmt(b[0])} vs {_fmt(b[1])}, {_fmt(b[2])}")


def check_fig2_explore(r: dict, p: Params) -> Verdict:
    v = {k: r["total_variance"][k]["per_seed"] for k in
         ("noisy_unbiased", "noiseless_unbiased", "noisy_biased", "noiseless_biased")}
    seeds = v["noisy_unbiased"].keys()
    ok = {s: v["noisy_unbiased"][s] > v["noiseless_unbiased"][s] and v["noisy_biased"][s] > v["noiseless_biased"][s]
          for s in seeds}
    return Verdict(all(ok.values()),
                   f"U {_fmt(_mean(r['total_variance']['noisy_unbiased']))} > {_fmt(_mean(r['total_variance']['noiseless_unbiased']))}; "
                   f"B {_fmt(_mean(r['total_variance']['noisy_biased']))} > {_fmt(_mean(r['total_variance']['noiseless_biased']))}",
                   {s: f"U {_fmt(v['noisy_unbiased'][s])}/{_fmt(v['noiseless_unbiased'][s])}, "
                       f"B {_fmt(v['noisy_biased'][s])}/{_fmt(v['noiseless_biased'][s])}" for s in seeds})


def check_fig3_hd(r: dict, p: Params) -> Verdict:
    trained, untrained = _mean(r["bearing_kl"]), _mean(r["bearing_kl_untrained"])
    return Verdict(trained <= p["max_mean_kl"], f"{_fmt(trained)} (untrained network: {_fmt(untrained)})",
                   {s: _fmt(v) for s, v in r["bearing_kl"]["per_seed"].items()})


def check_fig1_smooth(r: dict, p: Params) -> Verdict:
    act, qui = r["step_lengths"]["active"], r["step_lengths"]["quiescent"]
    seeds = act["p99"]["per_seed"]
    jumps = {s: (qui["jump_fraction"]["per_seed"][s], act["jump_fraction"]["per_seed"][s]) for s in seeds}
    p99 = {s: (qui["p99"]["per_seed"][s], act["p99"]["per_seed"][s]) for s in seeds}
    ok = {s: A.smooth_as_active({"jump_fraction": jumps[s][0], "p99": p99[s][0]},
                                {"jump_fraction": jumps[s][1], "p99": p99[s][1]}, **p) for s in seeds}
    return Verdict(all(ok.values()),
                   f"steps > 0.2 m: quiescent {_mean(qui['jump_fraction']):.2%} vs active "
                   f"{_mean(act['jump_fraction']):.2%}; p99 step: quiescent {_fmt(_mean(qui['p99']))} m vs active "
                   f"{_fmt(_mean(act['p99']))} m",
                   {s: f"jumps {jumps[s][0]:.2%}/{jumps[s][1]:.2%}, p99 {_fmt(p99[s][0])}/{_fmt(p99[s][1])} m"
                    for s in seeds})


def check_fig3_smooth(r: dict, p: Params) -> Verdict:
    act, qui = r["step_lengths"]["active"]["p99"], r["step_lengths"]["quiescent"]["p99"]
    per = {s: (qui["per_seed"][s], act["per_seed"][s]) for s in act["per_seed"]}
    return Verdict(all(q <= p["max_p99_ratio"] * a for q, a in per.values()),
                   f"p99 |Δθ|: quiescent {_fmt(_mean(qui))} vs active {_fmt(_mean(act))} rad/step",
                   {s: f"{_fmt(q)}/{_fmt(a)}" for s, (q, a) in per.items()})


def check_fig3_trained(r: dict, p: Params) -> Verdict:
    err = r["final_decode_error"]
    per = {f"{c} {s}": v for c in ("noisy_unbiased", "noisy_biased") for s, v in err[c]["per_seed"].items()}
    return Verdict(all(v <= p["max_decode_mse"] for v in per.values()),
                   f"unbiased {_fmt(_mean(err['noisy_unbiased']))}, biased {_fmt(_mean(err['noisy_biased']))} rad²",
                   {k: _fmt(v) for k, v in per.items()})


def check_fig2_variance_scale(r: dict, p: Params) -> Verdict:
    tv, axis = r["total_variance"], p["paper_axis"]
    labels = {"noisy_unbiased": "U^σ", "noiseless_unbiased": "U", "noisy_biased": "B^σ", "noiseless_biased": "B"}
    inside = sum(_mean(tv[c]) <= axis for c in labels)
    return Verdict(None, ", ".join(f"{label} {_fmt(_mean(tv[c]))}" for c, label in labels.items())
                   + f" m² ({inside} of 4 within the paper's 0–{axis} axis)",
                   {s: ", ".join(f"{label} {_fmt(tv[c]['per_seed'][s])}" for c, label in labels.items())
                    for s in tv["noisy_unbiased"]["per_seed"]})


def check_matching(r: dict, p: Params) -> Verdict:
    """fig2-unbiased and fig2-biased together, on the summary KL entries of figC1 and figC2."""
    kl = {k: _mean(v) for k, v in r["kl"].items()}
    unbiased = _unbiased_holds(kl["unbiased"], kl["uniform_vs_unbiased"], p["kl_margin"])
    baselines = [kl["unbiased_q_vs_biased_a"], kl["uniform_vs_biased"], kl["random_vs_biased"]]
    biased = _biased_holds(kl["biased"], baselines, p["baseline_factor"])
    return Verdict(unbiased and biased,
                   f"unbiased {_fmt(kl['unbiased'])} vs 𝒰 {_fmt(kl['uniform_vs_unbiased'])} "
                   f"({'holds' if unbiased else 'fails'}); biased {_fmt(kl['biased'])} vs min baseline "
                   f"{_fmt(min(baselines))} ({'holds' if biased else 'fails'})",
                   {s: f"U {_fmt(r['kl']['unbiased']['per_seed'][s])}, B {_fmt(v)}"
                    for s, v in r["kl"]["biased"]["per_seed"].items()})


def check_figC4_erratic(r: dict, p: Params) -> Verdict:
    med = {b: (r["step_distance"][b]["DT noisy quiescent"]["median"], r["step_distance"][b]["NT quiescent"]["median"])
           for b in ("unbiased", "biased")}
    return Verdict(all(dt >= p["min_factor"] * nt for dt, nt in med.values()),
                   "; ".join(f"{b}: {_fmt(dt)} vs NT {_fmt(nt)} (×{dt / nt:.1f})" for b, (dt, nt) in med.items()))


def check_figC5_ccw(r: dict, p: Params) -> Verdict:
    biased = r["angular_velocity_mean"]["quiescent_biased"]["per_seed"]
    unbiased = _mean(r["angular_velocity_mean"]["quiescent_unbiased"])
    mean_biased = float(np.mean(list(biased.values())))
    ok = all(v > 0 for v in biased.values()) and abs(unbiased) < mean_biased / p["unbiased_divisor"]
    return Verdict(ok, f"biased {mean_biased:+.4f}, unbiased {unbiased:+.4f}",
                   {s: f"{v:+.4f}" for s, v in biased.items()})


# --- beyond the paper (utils/figures/ext_*.py): "passed" = the measurement agrees with the theory's prediction ---


def _seed_mean(entry: dict) -> np.ndarray:
    """Mean over seeds of per-seed arrays, a missing value (JSON null: NaN or ±∞) ignored."""
    rows = [[np.nan if x is None else float(x) for x in np.atleast_1d(v)] for v in entry["per_seed"].values()]
    with warnings.catch_warnings():  # an α at which every seed is missing stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.array(rows, dtype=float), axis=0)


def _alpha_star(kl: np.ndarray, labels: list[str]) -> str:
    return "none" if np.all(np.isnan(kl)) else labels[int(np.nanargmin(kl))]


def check_ext_temperature_min(r: dict, p: Params) -> Verdict:
    labels = r["alpha_labels"]
    star = {c: _alpha_star(_seed_mean(r["kl"][c]), labels) for c in r["kl"]}
    per_seed = {s: ", ".join(f"{c} {_alpha_star(np.array([np.nan if x is None else x for x in r['kl'][c]['per_seed'][s]], float), labels)}"
                             for c in r["kl"]) for s in next(iter(r["kl"].values()))["per_seed"]}
    return Verdict(all(v == p["alpha_star"] for v in star.values()),
                   "; ".join(f"{c}: α* = {v}" for c, v in star.items()), per_seed)


def check_ext_temperature_fit(r: dict, p: Params) -> Verdict:
    positive = [i for i, a in enumerate(r["alphas"]) if a > 0]
    parts, ok = [], True
    for c in r["kl"]:
        gap = np.abs(_seed_mean(r["kl"][c]) - _seed_mean(r["kl_predicted_estimator"][c]))[positive]
        with np.errstate(all="ignore"):  # α = 0 predicts variance 0; it is left out
            ratio = (_seed_mean(r["variance"][c]) / _seed_mean(r["variance_predicted"][c]))[positive]
        ok &= bool(np.all(gap <= p["max_kl_gap"])
                   and np.all((ratio >= p["min_variance_ratio"]) & (ratio <= p["max_variance_ratio"])))
        parts.append(f"{c}: max |ΔKL| {_fmt(np.nanmax(gap))}, variance ×{np.nanmin(ratio):.2f}–{np.nanmax(ratio):.2f}")
    return Verdict(ok, "; ".join(parts))


def check_ext_score_cosine(r: dict, p: Params) -> Verdict:
    med, shuf = r["median_cosine"], r["median_cosine_shuffled"]
    ok, parts = True, []
    for task in ("SP", "HD"):
        trained, control, untrained = _mean(med[f"{task} U^σ"]), _mean(shuf[f"{task} U^σ"]), _mean(med[f"{task} R^σ"])
        ok &= trained >= control + p["margin_over_shuffled"] and trained >= untrained + p["margin_over_untrained"]
        parts.append(f"{task}: {_fmt(trained)} vs shuffled {_fmt(control)}, untrained {_fmt(untrained)}, "
                     f"noiseless {_fmt(_mean(med[f'{task} U']))}")
    return Verdict(ok, "; ".join(parts),
                   {s: ", ".join(f"{t} {_fmt(med[f'{t} U^σ']['per_seed'][s])}" for t in ("SP", "HD"))
                    for s in med["SP U^σ"]["per_seed"]})


def check_ext_score_slope(r: dict, p: Params) -> Verdict:
    ratio = {t: _mean(r["slope_over_theory"][f"{t} U^σ"]) for t in ("SP", "HD")}
    f = p["factor_squared"]   # the band [1/√f, √f] around the theory's 1
    ok = all(f ** -0.5 <= v <= f ** 0.5 for v in ratio.values())
    parts = [f"{t}: slope/σ²Δt {v:.2f} (untrained {_mean(r['slope_over_theory'][f'{t} R^σ']):.2f}; noiseless slope "
             f"{_fmt(_mean(r['slope'][f'{t} U']))})" for t, v in ratio.items()]
    return Verdict(ok, "; ".join(parts),
                   {s: ", ".join(f"{t} {r['slope_over_theory'][f'{t} U^σ']['per_seed'][s]:.2f}" for t in ratio)
                    for s in r["slope_over_theory"]["SP U^σ"]["per_seed"]})


def check_ext_hd_kl(r: dict, p: Params) -> Verdict:
    parts, ok = [], True
    for row in ("U^σ", "B^σ"):
        own, uniform, random = _kl(r, row, row)[0], _kl(r, row, "𝒰")[0], _kl(r, row, "R^σ")[0]
        ok &= _unbiased_holds(own, uniform, p["kl_margin"])
        parts.append(f"{row}: {_fmt(own)} vs 𝒰 {_fmt(uniform)}, R^σ {_fmt(random)}")
    return Verdict(ok, "; ".join(parts), {s: _fmt(v) for s, v in _kl(r, "U^σ", "U^σ")[1].items()})


def check_ext_hd_rows(r: dict, p: Params) -> Verdict:
    pairs = {"U^σ_a": (_kl(r, "U^σ", "B^σ")[0], _kl(r, "U^σ", "U^σ")[0]),
             "B^σ_a": (_kl(r, "B^σ", "U^σ")[0], _kl(r, "B^σ", "B^σ")[0])}
    ok = all(abs(cross - own) <= p["max_cross_gap"] for cross, own in pairs.values())
    return Verdict(ok, "; ".join(f"row {k}: cross {_fmt(c)} vs own {_fmt(o)}" for k, (c, o) in pairs.items())
                   + f"; spread across rows {_fmt(_mean(r['row_spread']))}, across columns "
                     f"{_fmt(_mean(r['column_spread']))}")


def check_ext_training_noise(r: dict, p: Params) -> Verdict:
    kl = {k: float(_seed_mean(v)[0]) for k, v in r["kl"].items()}
    noisy = [kl[k] for k in ("1e-5", "1e-4", "1e-3")]   # the non-zero Gaussian levels of the experiment
    spread = max(noisy) - min(noisy)
    mse = {k: _mean(v) for k, v in r["decode_error"].items()}
    return Verdict(spread <= p["max_kl_range"], ", ".join(f"{k} {_fmt(v)}" for k, v in kl.items())
                   + f" (range over σ²Δt > 0 {_fmt(spread)}); decoding MSE "
                   + ", ".join(f"{k} {_fmt(v)}" for k, v in mse.items()))


def check_ext_constant_drive(r: dict, p: Params) -> Verdict:
    default, as_written = list(C.CONSTANT_DRIVE_MODELS)[:2]
    ok, parts, per_seed = True, [], {}
    for task, short in (("spatial", "SP"), ("head_direction", "HD")):
        def p99_ratio(label):
            m = r[task][label]
            return {s: q / m["steps_active"]["p99"]["per_seed"][s] for s, q in m["steps_quiescent"]["p99"]["per_seed"].items()}
        homogeneous = r[task][as_written]["homogeneity_error"]["2"]["per_seed"]
        broken = r[task][default]["homogeneity_error"]["2"]["per_seed"]
        smooth, jumpy = p99_ratio(default), p99_ratio(as_written)
        ok &= (all(v <= p["max_error_without_bias"] for v in homogeneous.values())
               and all(v >= p["min_error_with_bias"] for v in broken.values())
               and all(v <= p["max_p99_ratio"] for v in smooth.values()))
        parts.append(f"{short}: homogeneity error without bias {_fmt(max(homogeneous.values()))}, with bias "
                     f"{_fmt(min(broken.values()))}; p99 step q/a with bias {_fmt(np.mean(list(smooth.values())))}, "
                     f"without {_fmt(np.mean(list(jumpy.values())))}")
        for s in smooth:
            per_seed[f"{short} {s}"] = (f"error {_fmt(homogeneous[s])} / {_fmt(broken[s])}, "
                                        f"p99 q/a {_fmt(smooth[s])} / {_fmt(jumpy[s])}")
    return Verdict(ok, "; ".join(parts), per_seed)


def check_ext_steady_state(r: dict, p: Params) -> Verdict:
    rows = r["conditions"]["default"]   # seed -> numbers of the default network (utils/figures/ext_conditions.py)
    ok = {s: v["kl_stationary"] <= v["kl_uniform"] + p["kl_margin"] for s, v in rows.items()}
    mean = lambda key: float(np.mean([v[key] for v in rows.values()]))  # noqa: E731
    settled = [v["settled_at"] for v in rows.values()]
    first = next(iter(rows.values()))
    hd = r.get("hd", {})
    hd_text = ("; HD (Fig. 3's network): stationary " + ", ".join(_fmt(v["kl_stationary"]) for v in hd.values())
               + " vs 𝒰 " + ", ".join(_fmt(v["kl_uniform"]) for v in hd.values())) if hd else ""
    return Verdict(all(ok.values()),
                   f"stationary {_fmt(mean('kl_stationary'))} vs 𝒰 {_fmt(mean('kl_uniform'))}; windows: first "
                   f"{_fmt(mean('kl_first_window'))}, last {_fmt(mean('kl_last_window'))} "
                   f"({'settled' if all(x is not None for x in settled) else 'not settled'} within "
                   f"{first['window'] * len(first['kl_windows'])} steps)"
                   + hd_text,
                   {s: f"stationary {_fmt(v['kl_stationary'])} vs 𝒰 {_fmt(v['kl_uniform'])}, windows "
                       f"{_fmt(v['kl_first_window'])} → {_fmt(v['kl_last_window'])}, MSM lag {v['msm']['lag']}, "
                       f"CK error {_fmt(v['msm']['ck_error'])}" for s, v in rows.items()})


def check_ext_attractors(r: dict, p: Params) -> Verdict:
    rows = r["conditions"]["default"]
    occ = {s: v["attractor_occupancy"] for s, v in rows.items()}
    ok = {s: o["late"] >= o["active"] + p["min_occupancy_gain"] for s, o in occ.items()}
    mean = lambda key: float(np.mean([o[key] for o in occ.values()]))  # noqa: E731
    count = float(np.mean([v["attractors"]["count"] for v in rows.values()]))
    return Verdict(all(ok.values()),
                   f"{count:.3g} attractors; share near one: active {_fmt(mean('active'))}, early quiescence "
                   f"{_fmt(mean('early'))}, late {_fmt(mean('late'))} (uniform box {_fmt(mean('uniform'))})",
                   {s: f"{v['attractors']['count']} attractors, {_fmt(occ[s]['active'])} → {_fmt(occ[s]['early'])} → "
                       f"{_fmt(occ[s]['late'])}" for s, v in rows.items()})


def _criteria_met(rule: Sufficiency, rows: dict[str, dict]) -> dict[str, list[str]]:
    """Criterion -> the seeds on which a condition meets it."""
    return {name: [s for s, v in rows.items() if getattr(rule, name)(v)]
            for name in ("trained", "smooth", "stationary")}


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
    return Verdict(False, f"none; closest (smallest shortfall {_fmt(shortfall[closest])}): {closest}, with p99 step "
                          f"{mean(lambda v: v['steps_quiescent']['p99'] / v['steps_active']['p99']):.2f} × active, "
                          f"steps > 0.2 m {mean(lambda v: v['steps_quiescent']['jump_fraction']):.2%} vs active "
                          f"{mean(lambda v: v['steps_active']['jump_fraction']):.2%}, stationary KL "
                          f"{_fmt(mean(lambda v: v['kl_stationary']))} vs 𝒰 {_fmt(mean(lambda v: v['kl_uniform']))}, "
                          f"decoding MSE {_fmt(mean(lambda v: v['decoding_mse']))}", per_seed)


# The uniform baseline as the released code evaluates it (inferred): a per-axis density 1/L instead of the
# joint 1/L², so every KL from 𝒰 gains log L (L = 2.2 m: 0.79 nats).
RELEASED_UNIFORM_OFFSET = math.log(C.TaskConfig().box_size)


def released_uniform(r: dict) -> dict:
    """A copy of Fig. 2's or C.1/C.2's results with every entry whose quiescent side is 𝒰 raised by
    `RELEASED_UNIFORM_OFFSET`: the same checks then give the verdicts under the released code's baseline."""
    r = copy.deepcopy(r)
    if "kl_matrix" in r:
        j = r["kl_cols"].index("𝒰")
        for m in r["kl_matrix"]["per_seed"].values():
            for row in m:
                row[j] += RELEASED_UNIFORM_OFFSET
    else:
        for key in ("uniform_vs_unbiased", "uniform_vs_biased"):
            r["kl"][key]["per_seed"] = {s: v + RELEASED_UNIFORM_OFFSET for s, v in r["kl"][key]["per_seed"].items()}
    return r


# claim id (claims.yaml) -> its check; a test keeps the two in step.
CHECKS: dict[str, Check] = {
    "fig1-trained": check_fig1_trained,
    "fig1-low-dim": check_fig1_low_dim,
    "fig1-smooth": check_fig1_smooth,
    "fig2-unbiased": check_fig2_unbiased,
    "fig2-biased": check_fig2_biased,
    "fig2-diverge": check_fig2_diverge,
    "fig2-noiseless": check_fig2_noiseless,
    "fig2-explore": check_fig2_explore,
    "fig2-variance-scale": check_fig2_variance_scale,
    "fig3-trained": check_fig3_trained,
    "fig3-smooth": check_fig3_smooth,
    "fig3-hd": check_fig3_hd,
    "figC1-same-noise": check_matching,
    "figC2-gru": check_matching,
    "figC4-erratic": check_figC4_erratic,
    "figC5-ccw": check_figC5_ccw,
    "ext-temperature-min": check_ext_temperature_min,
    "ext-temperature-fit": check_ext_temperature_fit,
    "ext-score-cosine": check_ext_score_cosine,
    "ext-score-slope": check_ext_score_slope,
    "ext-hd-kl": check_ext_hd_kl,
    "ext-hd-rows": check_ext_hd_rows,
    "ext-training-noise": check_ext_training_noise,
    "ext-constant-drive": check_ext_constant_drive,
    "ext-steady-state": check_ext_steady_state,
    "ext-attractors": check_ext_attractors,
    "ext-conditions": check_ext_conditions,
    "fig2-unbiased-released-baseline": lambda r, p: check_fig2_unbiased(released_uniform(r), p),
    "figC1-same-noise-released-baseline": lambda r, p: check_matching(released_uniform(r), p),
    "figC2-gru-released-baseline": lambda r, p: check_matching(released_uniform(r), p),
}


class _ThresholdFormatter(string.Formatter):
    """`str.format` that writes a float as Python's shortest exact repr, exponent without padding (3e-5, not
    3e-05): the sentence shows the very number the check compares against."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, float) and not format_spec:
            return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m[1].lstrip("+") + m[2], repr(value))
        return super().format_field(value, format_spec)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def threshold_text(claim: dict[str, Any]) -> str:
    """The claim's threshold sentence: its `threshold` template filled in with its `params`."""
    return _ThresholdFormatter().format(claim["threshold"], **claim.get("params", {}))


def load_claims(path: Path = CLAIMS_FILE) -> list[dict[str, Any]]:
    """The rows of claims.yaml. Each threshold template must name exactly its claim's params, so that no number
    a check reads is left out of the sentence the report shows."""
    claims = yaml.safe_load(Path(path).read_text())
    seen: set[str] = set()
    for claim in claims:
        claim.setdefault("params", {})
        if claim["id"] in seen:
            raise ValueError(f"{path}: claim {claim['id']!r} appears twice")
        seen.add(claim["id"])
        named, given = _placeholders(claim["threshold"]), set(claim["params"])
        if named != given:
            raise ValueError(f"{path}: claim {claim['id']!r}: threshold placeholders {sorted(named)} "
                             f"are not its params {sorted(given)}")
    return claims


def claims_for(figure: str, path: Path = CLAIMS_FILE) -> list[dict[str, Any]]:
    """The claims.yaml rows measured on one figure (`fig1`, `ext_score`, ...), in the file's order."""
    return [c for c in load_claims(path) if c["figure"] == figure]


def _verdict_row(claim: dict[str, Any], results: dict | None) -> dict[str, Any]:
    row = dict(claim) | {"threshold": threshold_text(claim)}
    if results is None:   # the figure has not been run
        return row | {"verdict": "missing", "value": "", "per_seed": {}, "seeds": []}
    row["seeds"] = results.get("seeds", [])
    check = CHECKS.get(claim["id"])
    try:
        if check is None:
            raise LookupError(f"no check for claim {claim['id']!r} in report.CHECKS")
        v = check(results["results"], claim.get("params", {}))
    # Any exception: a bug in the check, or results it cannot read (an older notebook's). Either way the report
    # is wrong until someone looks, which "missing" (a figure not run yet) would hide.
    except Exception as err:
        return row | {"verdict": "error", "value": " ".join(f"{type(err).__name__}: {err}".split()), "per_seed": {}}
    verdict = "reported" if v.passed is None else "passed" if v.passed else "failed"
    return row | {"verdict": verdict, "value": v.value, "per_seed": v.per_seed}


def evaluate_claims(preset: str, outputs_dir: str | Path = "outputs", claims: list[dict] | None = None,
                    variant: str = "default", seeds=None) -> list[dict[str, Any]]:
    """One row per claim (all of claims.yaml unless `claims` is given): the claim's fields with its threshold
    sentence filled in, the verdict ('passed', 'failed', 'reported', 'missing' or 'error'), the values (for an
    error, the exception), and the seeds they rest on."""
    result_set = C.result_set(preset, variant, seeds)
    return [_verdict_row(claim, read_results(claim["figure"], result_set, outputs_dir))
            for claim in (load_claims() if claims is None else claims)]


# The groups of claims.yaml: the paper's own claims, numbers reported beside the paper's axes without a verdict
# (`group: reported`), our tests of its theory (`group: theory`), and the paper's comparisons under the released
# code's uniform baseline (`group: inferred`, shown apart and never counted).
GROUPS = {"paper": "Claims of the paper", "reported": "Reported beside the paper's figures (no verdict)",
          "theory": "Beyond the paper: predictions of the theory",
          "inferred": "The paper's comparisons under the released code's uniform baseline (inferred; never counted)"}


def group_of(row: dict) -> str:
    return row.get("group", "paper")


def _counts(rows: list[dict]) -> str:
    n = {k: sum(r["verdict"] == k for r in rows) for k in ("passed", "failed", "missing")}
    return f"{n['passed']} passed, {n['failed']} failed" + (f", {n['missing']} missing" if n["missing"] else "")


def summary_line(rows: list[dict]) -> str:
    """`N passed, M failed[, K missing]` for the paper's claims, then the theory rows counted apart; reported
    rows are never counted as passed or failed. Checks that raised, of any group, lead the line with their
    ids: they are neither passed, failed nor missing, and must not be overlooked."""
    paper = [r for r in rows if group_of(r) == "paper"]
    theory = [r for r in rows if group_of(r) == "theory"]
    reported = sum(r["verdict"] == "reported" for r in rows)
    errors = [r["id"] for r in rows if r["verdict"] == "error"]
    return ((f"{len(errors)} check error{'s' if len(errors) > 1 else ''} ({', '.join(errors)}); " if errors else "")
            + _counts(paper) + (f"; {reported} reported without a verdict" if reported else "")
            + (f" (theory predictions beyond the paper: {_counts(theory)})" if theory else ""))


def to_markdown(rows: list[dict], preset: str, variant: str = "default", shown: set[str] | None = None) -> str:
    """The report as markdown; each claim links to its figure's PNG where it was drawn (`shown`; None: all)."""
    model = "" if variant == "default" else f", model {variant}"
    lines = [f"# Reproduction report — `{preset}` preset{model}"]
    # Text marks, not emoji: they read where no colour-emoji font is installed.
    mark = {"passed": "✓ passed", "failed": "✗ failed", "missing": "– missing", "reported": "· reported",
            "error": "‼ error"}
    for group, title in GROUPS.items():
        members = [r for r in rows if group_of(r) == group]
        if not members:
            continue
        lines += ["", f"## {title}", "",
                  "| claim | statement | measured (mean over seeds) | per seed | threshold | seeds | verdict |",
                  "|---|---|---|---|---|---|---|"]
        for r in members:
            per_seed = "<br>".join(f"{s}: {v}" for s, v in r["per_seed"].items())
            name = f"[{r['id']}](figures/{r['figure']}.png)" if shown is None or r["figure"] in shown else r["id"]
            lines.append(f"| {name} | {r['statement']} | {r['value']} | {per_seed} "
                         f"| {r['threshold']} | {len(r.get('seeds', []))} | {mark[r['verdict']]} |")
    return "\n".join(lines + ["", summary_line(rows), ""])


_PAGE_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;line-height:1.45}"
               "table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em}"
               "th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}th{background:#f3f3f3}"
               ".passed{background:#dff3df}.failed{background:#f8dada}.missing{background:#eee}"
               ".reported{background:#e3ecf8}.error{background:#f6c38b}td.verdict{font-weight:bold;white-space:nowrap}")


def to_html(rows: list[dict], title: str = "Reproduction report", shown: set[str] | None = None) -> str:
    """A complete page: one table per group, each claim anchored (`#<id>`) and linked to its figure's section of
    the result set's index page where that section exists (`shown`: the figures drawn; None: all), which the page
    links back to; verdicts in words and colour."""
    def claim(r: dict) -> str:
        name = html.escape(r["id"])
        return f"<a href='index.html#{r['figure']}'>{name}</a>" if shown is None or r["figure"] in shown else name

    head = "<tr><th>claim</th><th>statement</th><th>measured</th><th>per seed</th><th>threshold</th><th>verdict</th></tr>"
    parts = []
    for group, group_title in GROUPS.items():
        body = "".join(
            f"<tr id='{html.escape(r['id'])}' class='{r['verdict']}'><td>{claim(r)}</td>"
            f"<td>{html.escape(r['statement'])}</td><td>{html.escape(r['value'])}</td>"
            f"<td>{'<br>'.join(html.escape(f'{s}: {v}') for s, v in r['per_seed'].items())}</td>"
            f"<td>{html.escape(r['threshold'])}</td><td class='verdict'>{r['verdict']}</td></tr>"
            for r in rows if group_of(r) == group)
        if body:
            parts.append(f"<h2>{html.escape(group_title)}</h2><table>{head}{body}</table>")
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_PAGE_STYLE}</style></head><body><p><a href='index.html'>← index of this result set</a></p>"
            f"<h1>{html.escape(title)}</h1>" + "".join(parts)
            + f"<p><b>{html.escape(summary_line(rows))}</b></p></body></html>\n")


def write_report(preset: str, outputs_dir: str | Path = "outputs", variant: str = "default", seeds=None) -> list[dict]:
    """`report.md`, `report.json` and `report.html` in the result set's folder (`seeds`: a partial run's, see
    `config.result_set`)."""
    rows = evaluate_claims(preset, outputs_dir, variant=variant, seeds=seeds)
    base = Path(outputs_dir) / C.result_set(preset, variant, seeds)
    base.mkdir(parents=True, exist_ok=True)
    seeds = sorted({s for r in rows for s in r["seeds"]})
    payload = {"preset": preset, "variant": variant, "seeds": seeds, "claims": rows, "summary": summary_line(rows)}
    shown = {p.stem for p in (base / "figures").glob("*.png")}
    for name, text in (("report.md", to_markdown(rows, preset, variant, shown)),
                       ("report.json", json.dumps(payload, indent=1, ensure_ascii=False)),
                       ("report.html", to_html(rows, f"Reproduction report — {base.name}", shown))):
        atomic_write_text(base / name, text)
    return rows


def main(preset: str, outputs_dir: str | Path = "outputs", variant: str = "default", seeds=None) -> int:
    """Write the report and print it; exit status 1 when a check raised (the report itself is wrong)."""
    rows = write_report(preset, outputs_dir, variant, seeds)
    for r in rows:
        print(f"{r['verdict']:>8}  {r['id']:<20} {r['value']}")
    print(summary_line(rows))
    return 1 if any(r["verdict"] == "error" for r in rows) else 0


def show_claims(figure: str, settings) -> list[dict]:
    """The closing cell of a notebook: its figure's claim rows, measured from the results it has just written
    with the report's own checks, printed as value, threshold and verdict."""
    rows = evaluate_claims(settings.preset, settings.outputs_dir, claims_for(figure), variant=settings.variant,
                           seeds=settings.seeds if settings.partial else None)
    for r in rows:
        print(f"{r['id']}: {r['verdict'].upper()}\n  claim:     {r['statement']}\n  measured:  {r['value']}\n"
              f"  threshold: {r['threshold']}")
        for seed, value in r["per_seed"].items():
            print(f"    seed {seed}: {value}")
    if not rows:
        print(f"no claim of data/claims.yaml is measured on {figure}")
    return rows


__all__ = ["Verdict", "CHECKS", "evaluate_claims", "write_report", "summary_line", "load_claims", "claims_for",
           "threshold_text", "show_claims"]
