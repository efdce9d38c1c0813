"""The reproduction report: every claim of `data/claims.yaml` measured from the figures' results JSON.

Each `check_*` function takes the `results` of its figure and returns a `Verdict`. A claim whose figure has
not been run is reported as missing, never as passed.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from .experiments import read_results
from .files import atomic_write_text

CLAIMS_FILE = Path(__file__).resolve().parent.parent / "data" / "claims.yaml"


@dataclass
class Verdict:
    passed: bool
    value: str                                          # the measured statistic, formatted
    per_seed: dict[str, str] = field(default_factory=dict)  # seed -> formatted value


def _mean(entry: dict) -> float:
    return float(np.mean([float(v) for v in entry["per_seed"].values()]))


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _kl(results: dict, row: str, col: str) -> tuple[float, dict[str, float]]:
    """Mean and per-seed entries of the Fig. 2e matrix at (active row, quiescent column)."""
    i, j = results["kl_rows"].index(row), results["kl_cols"].index(col)
    per_seed = {s: m[i][j] for s, m in results["kl_matrix"]["per_seed"].items()}
    return float(np.mean(list(per_seed.values()))), per_seed


def check_fig1_trained(r: dict) -> Verdict:
    loss, err = r["final_test_loss"]["per_seed"], r["final_decode_error"]["per_seed"]
    ok = {s: loss[s] <= 3e-5 and err[s] <= 0.02 for s in loss}
    return Verdict(all(ok.values()), f"loss {_fmt(_mean(r['final_test_loss']))}, MSE {_fmt(_mean(r['final_decode_error']))}",
                   {s: f"loss {_fmt(loss[s])}, MSE {_fmt(err[s])}" for s in loss})


def check_fig1_low_dim(r: dict) -> Verdict:
    diff = r["ev_max_abs_diff"]["per_seed"]
    ev10 = {s: v[-1] for s, v in r["ev_active"]["per_seed"].items()}
    mean_diff, mean_ev10 = float(np.mean(list(diff.values()))), float(np.mean(list(ev10.values())))
    return Verdict(mean_diff <= 0.10 and mean_ev10 >= 0.7, f"max |ΔEV| {_fmt(mean_diff)}, EV_a(10) {_fmt(mean_ev10)}",
                   {s: f"{_fmt(diff[s])}, {_fmt(ev10[s])}" for s in diff})


def _unbiased_holds(q_a: float, uniform_a: float) -> bool:
    return q_a <= uniform_a + 0.1


def _biased_holds(q_a: float, baselines: list[float]) -> bool:
    return q_a <= 0.25 * min(baselines)


def check_fig2_unbiased(r: dict) -> Verdict:
    own, per_seed = _kl(r, "U^σ", "U^σ")
    uniform, _ = _kl(r, "U^σ", "𝒰")
    return Verdict(_unbiased_holds(own, uniform), f"{_fmt(own)} vs 𝒰 {_fmt(uniform)}",
                   {s: _fmt(v) for s, v in per_seed.items()})


def check_fig2_biased(r: dict) -> Verdict:
    own, per_seed = _kl(r, "B^σ", "B^σ")
    baselines = [_kl(r, "B^σ", c)[0] for c in ("U^σ", "𝒰", "R^σ")]
    return Verdict(_biased_holds(own, baselines), f"{_fmt(own)} vs min baseline {_fmt(min(baselines))}",
                   {s: _fmt(v) for s, v in per_seed.items()})


def check_fig2_diverge(r: dict) -> Verdict:
    own, _ = _kl(r, "U^σ", "U^σ")
    cross, random = _kl(r, "U^σ", "B^σ")[0], _kl(r, "U^σ", "R^σ")[0]
    return Verdict(cross >= 3 * own and random >= 3 * own,
                   f"B^σ_q {_fmt(cross)}, R^σ {_fmt(random)} vs 3 × {_fmt(own)}")


def check_fig2_noiseless(r: dict) -> Verdict:
    u = [_kl(r, "U", c)[0] for c in ("U", "B", "R^σ")]
    b = [_kl(r, "B", c)[0] for c in ("B", "U", "R^σ")]
    ok = u[0] < min(u[1:]) and b[0] < min(b[1:])
    return Verdict(ok, f"row U: own {_fmt(u[0])} vs {_fmt(u[1])}, {_fmt(u[2])}; "
                       f"row B: own {_fmt(b[0])} vs {_fmt(b[1])}, {_fmt(b[2])}")


def check_fig2_explore(r: dict) -> Verdict:
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


def check_fig3_hd(r: dict) -> Verdict:
    trained, untrained = _mean(r["bearing_kl"]), _mean(r["bearing_kl_untrained"])
    return Verdict(trained <= 0.1 and trained <= untrained / 3, f"{_fmt(trained)} vs untrained {_fmt(untrained)}",
                   {s: _fmt(v) for s, v in r["bearing_kl"]["per_seed"].items()})


def _matching(r: dict) -> Verdict:
    kl = {k: _mean(v) for k, v in r["kl"].items()}
    unbiased = _unbiased_holds(kl["unbiased"], kl["uniform_vs_unbiased"])
    baselines = [kl["unbiased_q_vs_biased_a"], kl["uniform_vs_biased"], kl["random_vs_biased"]]
    biased = _biased_holds(kl["biased"], baselines)
    return Verdict(unbiased and biased,
                   f"unbiased {_fmt(kl['unbiased'])} vs 𝒰 {_fmt(kl['uniform_vs_unbiased'])} "
                   f"({'holds' if unbiased else 'fails'}); biased {_fmt(kl['biased'])} vs min baseline "
                   f"{_fmt(min(baselines))} ({'holds' if biased else 'fails'})",
                   {s: f"U {_fmt(r['kl']['unbiased']['per_seed'][s])}, B {_fmt(v)}"
                    for s, v in r["kl"]["biased"]["per_seed"].items()})


check_figC1_same_noise = _matching
check_figC2_gru = _matching


def check_figC4_erratic(r: dict) -> Verdict:
    med = {b: (r["step_distance"][b]["DT noisy quiescent"]["median"], r["step_distance"][b]["NT quiescent"]["median"])
           for b in ("unbiased", "biased")}
    return Verdict(all(dt >= 3 * nt for dt, nt in med.values()),
                   "; ".join(f"{b}: {_fmt(dt)} vs NT {_fmt(nt)} (×{dt / nt:.1f})" for b, (dt, nt) in med.items()))


def check_figC5_ccw(r: dict) -> Verdict:
    biased = r["angular_velocity_mean"]["quiescent_biased"]["per_seed"]
    unbiased = _mean(r["angular_velocity_mean"]["quiescent_unbiased"])
    mean_biased = float(np.mean(list(biased.values())))
    ok = all(v > 0 for v in biased.values()) and abs(unbiased) < mean_biased / 3
    return Verdict(ok, f"biased {mean_biased:+.4f}, unbiased {unbiased:+.4f}",
                   {s: f"{v:+.4f}" for s, v in biased.items()})


def load_claims(path: Path = CLAIMS_FILE) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())


def evaluate_claims(preset: str, outputs_dir: str | Path = "outputs",
                    claims: list[dict] | None = None) -> list[dict[str, Any]]:
    """One row per claim: the claim's fields, the verdict ('passed', 'failed' or 'missing') and values."""
    rows = []
    checks: dict[str, Callable[[dict], Verdict]] = {k[len("check_"):]: v for k, v in globals().items()
                                                     if k.startswith("check_")}
    for claim in claims or load_claims():
        results = read_results(claim["figure"], preset, outputs_dir)
        row = dict(claim)
        if results is None:
            row |= {"verdict": "missing", "value": "", "per_seed": {}}
        else:
            try:
                v = checks[claim["check"]](results["results"])
                row |= {"verdict": "passed" if v.passed else "failed", "value": v.value, "per_seed": v.per_seed}
            except (KeyError, IndexError, TypeError, ValueError) as err:  # results of an older notebook
                row |= {"verdict": "missing", "value": f"results incomplete: {err!r}", "per_seed": {}}
        rows.append(row)
    return rows


def summary_line(rows: list[dict]) -> str:
    n = {k: sum(r["verdict"] == k for r in rows) for k in ("passed", "failed", "missing")}
    return f"{n['passed']} passed, {n['failed']} failed" + (f", {n['missing']} missing" if n["missing"] else "")


def to_markdown(rows: list[dict], preset: str) -> str:
    lines = [f"# Reproduction report — `{preset}` preset", "",
             "| claim | statement | measured (mean over seeds) | per seed | threshold | verdict |",
             "|---|---|---|---|---|---|"]
    mark = {"passed": "✅ passed", "failed": "❌ failed", "missing": "⚪ missing"}
    for r in rows:
        per_seed = "<br>".join(f"{s}: {v}" for s, v in r["per_seed"].items())
        lines.append(f"| [{r['id']}](figures/{r['figure']}.png) | {r['statement']} | {r['value']} | {per_seed} "
                     f"| {r['threshold']} | {mark[r['verdict']]} |")
    return "\n".join(lines + ["", summary_line(rows), ""])


def to_html(rows: list[dict]) -> str:
    head = "<tr><th>claim</th><th>statement</th><th>measured</th><th>per seed</th><th>threshold</th><th>verdict</th></tr>"
    body = "".join(
        f"<tr><td><a href='#{r['figure']}'>{html.escape(r['id'])}</a></td><td>{html.escape(r['statement'])}</td>"
        f"<td>{html.escape(r['value'])}</td><td>{'<br>'.join(html.escape(f'{s}: {v}') for s, v in r['per_seed'].items())}</td>"
        f"<td>{html.escape(r['threshold'])}</td><td>{r['verdict']}</td></tr>" for r in rows)
    return (f"<h2>Claims</h2><table border=1 cellpadding=4 style='border-collapse:collapse'>{head}{body}</table>"
            f"<p><b>{summary_line(rows)}</b></p>")


def write_report(preset: str, outputs_dir: str | Path = "outputs") -> list[dict]:
    """`report.md`, `report.json` and the table fragment the index page shows."""
    rows = evaluate_claims(preset, outputs_dir)
    base = Path(outputs_dir) / preset
    base.mkdir(parents=True, exist_ok=True)
    for name, text in (("report.md", to_markdown(rows, preset)),
                       ("report.json", json.dumps({"preset": preset, "claims": rows, "summary": summary_line(rows)},
                                                  indent=1, ensure_ascii=False)),
                       ("report.html", to_html(rows))):
        atomic_write_text(base / name, text)
    return rows


def main(preset: str, outputs_dir: str | Path = "outputs") -> int:
    rows = write_report(preset, outputs_dir)
    for r in rows:
        print(f"{r['verdict']:>8}  {r['id']:<18} {r['value']}")
    print(summary_line(rows))
    return 0


__all__ = ["Verdict", "evaluate_claims", "write_report", "summary_line", "load_claims"]
