"""What a check of a claim is, and the few helpers the checks of several figures share.

A figure module holds the checks of its claims (`CHECKS`: claim id of `data/claims.yaml` -> check). A check takes
the figure's typed results (its module's `RESULTS`, read back from the JSON its notebook wrote) and the claim's
`params` (every number it compares against, read from the YAML) and returns a `Verdict`; `utils.report` runs them
and writes the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable



@dataclass
class Verdict:
    passed: bool | None                                 # None: a number reported beside the paper's, no verdict
    value: str                                          # the measured statistic, formatted
    per_seed: dict[str, str] = field(default_factory=dict)  # seed -> formatted value


Params = dict[str, Any]                     # a claim's `params` in claims.yaml
Check = Callable[[Any, Params], Verdict]    # (the figure's typed results, the claim's params) -> verdict


def fmt(x: float) -> str:
    return f"{x:.3g}"


def unbiased_holds(q_a: float, uniform_a: float, margin: float) -> bool:
    """Fig. 2e's claim for an unbiased network: its quiescence is no further from its active states than 𝒰."""
    return q_a <= uniform_a + margin


def biased_holds(q_a: float, baselines: list[float], factor: float) -> bool:
    """Fig. 2e's claim for a biased network: its quiescence is much closer than the nearest baseline."""
    return q_a <= factor * min(baselines)


__all__ = ["Verdict", "Params", "Check", "fmt", "unbiased_holds", "biased_holds"]
