"""The reproduction report: every claim of `data/claims.yaml` measured from the figures' results JSON.

`CHECKS` maps each claim's id to the function that measures it, gathered from the figure modules (each holds the
checks of its claims beside its computation, `utils.claims`): a check takes the `results` of the claim's figure
and the claim's `params` (every number it compares against, read from the YAML) and returns a `Verdict`. The
report's threshold sentence is the claim's `threshold` template filled in with the same `params`.

A claim whose figure has not been run is `missing` ("not run in this set"), never passed; a trajectory claim on
networks that do not decode is `not applicable`; a check that raises is an `error` of the report (a bug, or
results it cannot read), never missing, and makes `main` exit non-zero.
"""
from __future__ import annotations

import html
import json
import re
import string
from pathlib import Path
from typing import Any

import yaml

from . import registry
from .claims import CLAIMS_FILE, Check, Verdict  # noqa: F401  (Verdict: the type a check returns)
from .figures.base import Stored, read_results
from .files import atomic_write_text
from .settings import RunSettings



# claim id (claims.yaml) -> its check: every figure module's own, then the inferred rows, which rerun the checks of
# Fig. 2e, C.1 and C.2 on their results under the released code's uniform baseline (`with_released_uniform`). A test
# keeps them in step with claims.yaml.
CHECKS: dict[str, Check] = {claim: check for module in registry.MODULES for claim, check in module.CHECKS.items()}
CHECKS |= {f"{claim}-released-baseline": (lambda check: lambda r, p: check(r.with_released_uniform(), p))(CHECKS[claim])
           for claim in ("fig2-unbiased", "figC1-same-noise", "figC2-gru")}


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


def _verdict_row(claim: dict[str, Any], stored: Stored | None) -> dict[str, Any]:
    row = dict(claim) | {"threshold": threshold_text(claim)}
    if stored is None:   # the figure has not been run
        return row | {"verdict": "missing", "value": "", "per_seed": {}, "seeds": []}
    row["seeds"] = stored.seeds
    check = CHECKS.get(claim["id"])
    try:
        if check is None:
            raise LookupError(f"no check for claim {claim['id']!r} in report.CHECKS")
        results_type = registry.results_type(claim["figure"])   # the figure's `Results`, read back typed
        results = stored.results if results_type is None else results_type.from_json(stored.results)
        v = check(results, claim.get("params", {}))
    # Any exception: a bug in the check, or results it cannot read (an older notebook's). Either way the report
    # is wrong until someone looks, which "missing" (a figure not run yet) would hide.
    except Exception as err:
        return row | {"verdict": "error", "value": " ".join(f"{type(err).__name__}: {err}".split()), "per_seed": {}}
    if v.not_applicable:   # e.g. a trajectory claim on networks that do not decode
        return row | {"verdict": "not applicable", "value": f"{v.not_applicable}; measured: {v.value}",
                      "per_seed": v.per_seed}
    verdict = "reported" if v.passed is None else "passed" if v.passed else "failed"
    return row | {"verdict": verdict, "value": v.value, "per_seed": v.per_seed}


def evaluate_claims(run: RunSettings, claims: list[dict] | None = None) -> list[dict[str, Any]]:
    """One row per claim (all of claims.yaml unless `claims` is given): the claim's fields with its threshold
    sentence filled in, the verdict ('passed', 'failed', 'reported', 'missing' or 'error'), the values (for an
    error, the exception), and the seeds they rest on; measured on the run's result set."""
    return [_verdict_row(claim, read_results(claim["figure"], run.result_set, run.outputs_dir))
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
    n = {k: sum(r["verdict"] == k for r in rows) for k in ("passed", "failed", "not applicable", "missing")}
    return (f"{n['passed']} passed, {n['failed']} failed"
            + (f", {n['not applicable']} not applicable (untrained)" if n["not applicable"] else "")
            + (f", {n['missing']} not run in this set" if n["missing"] else ""))


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


def _cell(text: Any) -> str:
    """Text for a Markdown table cell: a bare `|` (|ΔKL|, |unbiased mean|) would end the cell on GitHub and shift
    the verdict out of its column, so it is escaped; a line break would end the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


# How a verdict reads in report.md (text marks, not emoji: they read where no colour-emoji font is installed).
MARKS = {"passed": "✓ passed", "failed": "✗ failed", "missing": "– not run in this set", "reported": "· reported",
         "not applicable": "○ not applicable", "error": "‼ error"}


def to_markdown(rows: list[dict], preset: str, variant: str = "default", shown: set[str] | None = None) -> str:
    """The report as markdown; each claim links to its figure's PNG where it was drawn (`shown`; None: all)."""
    model = "" if variant == "default" else f", model {variant}"
    lines = [f"# Reproduction report — `{preset}` preset{model}"]
    notebooks = [(row.figure, row.name) for row in registry.NOTEBOOKS.values() if shown is None or row.figure in shown]
    if notebooks:   # GitHub renders an .ipynb; it shows index.html as source
        lines += ["", "The executed notebooks (figure, code and numbers; GitHub renders them): "
                  + " · ".join(f"[{figure}](notebooks/{name}.ipynb)" for figure, name in notebooks)
                  + ". The same as a web page: [index.html](index.html)."]
    mark = MARKS
    for group, title in GROUPS.items():
        members = [r for r in rows if group_of(r) == group]
        if not members:
            continue
        lines += ["", f"## {title}", "",
                  "| claim | statement | measured (mean over seeds) | per seed | threshold | seeds | verdict |",
                  "|---|---|---|---|---|---|---|"]
        for r in members:
            per_seed = "<br>".join(f"{s}: {_cell(v)}" for s, v in r["per_seed"].items())
            name = f"[{r['id']}](figures/{r['figure']}.png)" if shown is None or r["figure"] in shown else r["id"]
            lines.append(f"| {name} | {_cell(r['statement'])} | {_cell(r['value'])} | {per_seed} "
                         f"| {_cell(r['threshold'])} | {len(r.get('seeds', []))} | {mark[r['verdict']]} |")
    return "\n".join(lines + ["", summary_line(rows), ""])


_PAGE_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;line-height:1.45}"
               "table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em}"
               "th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}th{background:#f3f3f3}"
               ".passed{background:#dff3df}.failed{background:#f8dada}.missing,.not-applicable{background:#eee}"
               ".reported{background:#e3ecf8}.error{background:#f6c38b}td.verdict{font-weight:bold;white-space:nowrap}")


# How a verdict reads on a page: a claim of a figure this set did not run is not a failure.
VERDICT_WORDS = {"passed": "passed", "failed": "failed", "missing": "not run in this set", "reported": "reported",
                 "not applicable": "not applicable", "error": "error"}


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
            f"<tr id='{html.escape(r['id'])}' class='{r['verdict'].replace(' ', '-')}'><td>{claim(r)}</td>"
            f"<td>{html.escape(r['statement'])}</td><td>{html.escape(r['value'])}</td>"
            f"<td>{'<br>'.join(html.escape(f'{s}: {v}') for s, v in r['per_seed'].items())}</td>"
            f"<td>{html.escape(r['threshold'])}</td><td class='verdict'>{VERDICT_WORDS[r['verdict']]}</td></tr>"
            for r in rows if group_of(r) == group)
        if body:
            parts.append(f"<h2>{html.escape(group_title)}</h2><table>{head}{body}</table>")
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_PAGE_STYLE}</style></head><body><p><a href='index.html'>← index of this result set</a></p>"
            f"<h1>{html.escape(title)}</h1>" + "".join(parts)
            + f"<p><b>{html.escape(summary_line(rows))}</b></p></body></html>\n")


def write_report(run: RunSettings) -> list[dict]:
    """`report.md`, `report.json` and `report.html` in the run's result set folder."""
    rows = evaluate_claims(run)
    base = run.result_dir
    base.mkdir(parents=True, exist_ok=True)
    preset, variant = run.preset, run.variant
    seeds = sorted({s for r in rows for s in r["seeds"]})
    payload = {"preset": preset, "variant": variant, "seeds": seeds, "claims": rows, "summary": summary_line(rows)}
    shown = {p.stem for p in (base / "figures").glob("*.png")}
    for name, text in (("report.md", to_markdown(rows, preset, variant, shown)),
                       ("report.json", json.dumps(payload, indent=1, ensure_ascii=False)),
                       ("report.html", to_html(rows, f"Reproduction report — {base.name}", shown))):
        atomic_write_text(base / name, text)
    return rows


def main(run: RunSettings) -> int:
    """Write the run's report and print it; exit status 1 when a check raised (the report itself is wrong)."""
    rows = write_report(run)
    for r in rows:
        print(f"{r['verdict']:>8}  {r['id']:<20} {r['value']}")
    print(summary_line(rows))
    return 1 if any(r["verdict"] == "error" for r in rows) else 0


def show_claims(figure: str, settings) -> list[dict]:
    """The closing cell of a notebook: its figure's claim rows, measured from the results it has just written
    with the report's own checks, printed as value, threshold and verdict."""
    rows = evaluate_claims(settings.run, claims_for(figure))
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
