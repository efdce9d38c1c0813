"""What a check of a claim is, and the few helpers the checks of several figures share.

A figure module holds the checks of its claims (`CHECKS`: claim id of `data/claims.yaml` -> check). A check takes
the figure's typed results (its module's `RESULTS`, read back from the JSON its notebook wrote) and the claim's
`params` (every number it compares against, read from the YAML) and returns a `Verdict`; `utils.report` runs them
and writes the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

CLAIMS_FILE = Path(__file__).resolve().parent.parent / "data" / "claims.yaml"



@dataclass
class Verdict:
    passed: bool | None                                 # None: a number reported beside the paper's, no verdict
    value: str                                          # the measured statistic, formatted
    per_seed: dict[str, str] = field(default_factory=dict)  # seed -> formatted value
    # Why the claim does not apply to these networks (a trajectory claim on networks that do not decode): the
    # report then shows "not applicable", never a pass or a failure, whatever `passed` says.
    not_applicable: str = ""


Params = dict[str, Any]                     # a claim's `params` in claims.yaml
Check = Callable[[Any, Params], Verdict]    # (the figure's typed results, the claim's params) -> verdict


def params_of(claim: str, path: Path = CLAIMS_FILE) -> dict[str, Any]:
    """The `params` of one claim of claims.yaml: what a figure draws as the claim's bound is the number its check
    compares against."""
    import yaml
    (row,) = [c for c in yaml.safe_load(Path(path).read_text()) if c["id"] == claim]
    return row.get("params", {})


def fmt(x: float) -> str:
    return f"{x:.3g}"


def untrained(decode_error: dict[str, float], bound: float) -> dict[str, float]:
    """The seeds whose network decodes worse than `bound` (the trained claim's), with their error: a trajectory
    claim does not count them, since comparing the quiescent and active paths of a network that cannot report
    its position says nothing of reactivation."""
    return {s: e for s, e in decode_error.items() if not e <= bound}


def on_trained(ok: dict[str, bool], value: str, per_seed: dict[str, str], over: dict[str, float], bound: float,
               unit: str) -> Verdict:
    """A trajectory claim's verdict over the seeds whose networks are trained (`over`: the others, from
    `untrained`); "not applicable" where none is."""
    note = ", ".join(f"seed {s} ({fmt(e)} {unit})" for s, e in over.items())
    per_seed = {s: f"not counted, untrained: {v}" if s in over else v for s, v in per_seed.items()}
    counted = {s: v for s, v in ok.items() if s not in over}
    if not counted:
        return Verdict(None, value, per_seed, not_applicable=f"untrained: decoding MSE > {bound} {unit} on every seed "
                                                                f"({note})")
    return Verdict(all(counted.values()),
                   value + (f" (not counted, decoding MSE > {bound} {unit}: {note})" if over else ""), per_seed)


def unbiased_holds(q_a: float, uniform_a: float, margin: float) -> bool:
    """Fig. 2e's claim for an unbiased network: its quiescence is no further from its active states than 𝒰."""
    return q_a <= uniform_a + margin


def biased_holds(q_a: float, baselines: list[float], factor: float) -> bool:
    """Fig. 2e's claim for a biased network: its quiescence is much closer than the nearest baseline."""
    return q_a <= factor * min(baselines)


__all__ = ["Verdict", "Params", "Check", "CLAIMS_FILE", "params_of", "fmt", "untrained", "on_trained", "unbiased_holds", "biased_holds"]
