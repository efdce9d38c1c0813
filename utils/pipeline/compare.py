"""Two renders of one result set, number by number: which results moved, and which moved by more than the spread
of their own seeds (a re-render with retrained networks should move values within that spread, not beyond it).

    python -m utils compare-results OLD_SET_DIR NEW_SET_DIR      # e.g. ../laptop-before outputs/laptop
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Moved:
    """One quantity measured per seed whose mean over seeds moved by more than its seed-to-seed sd."""
    path: str
    old: float
    new: float
    sd: float   # the larger of the two renders' sample sd over seeds

    def __str__(self) -> str:
        return f"{self.path}: {self.old:.4g} → {self.new:.4g} ({abs(self.new - self.old) / self.sd:.1f} sd)"


@dataclass
class Comparison:
    """One results file: how many numbers it holds, how many are equal, and the per-seed quantities that moved."""
    figure: str
    numbers: int = 0
    equal: int = 0
    moved: list[Moved] = field(default_factory=list)
    only_one: list[str] = field(default_factory=list)   # keys present in one render only


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_per_seed(x: Any) -> bool:
    return isinstance(x, dict) and {"per_seed", "mean", "sd"} <= set(x)


def _walk(old: Any, new: Any, path: str, out: Comparison) -> None:
    if _is_per_seed(old) and _is_per_seed(new) and _number(old["mean"]) and _number(new["mean"]):
        sd = max(float(old["sd"] or 0.0), float(new["sd"] or 0.0))
        delta = abs(float(new["mean"]) - float(old["mean"]))
        if sd > 0 and math.isfinite(delta) and delta > sd:
            out.moved.append(Moved(path, float(old["mean"]), float(new["mean"]), sd))
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() | new.keys():
            if key in old and key in new:
                _walk(old[key], new[key], f"{path}.{key}" if path else str(key), out)
            else:
                out.only_one.append(f"{path}.{key}" if path else str(key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            _walk(a, b, f"{path}[{i}]", out)
    elif _number(old) or _number(new):
        out.numbers += 1
        out.equal += old == new


def compare_results(old_dir: Path | str, new_dir: Path | str) -> list[Comparison]:
    """Every `results/<figure>.json` of the two result-set folders, figure by figure."""
    old_dir, new_dir = Path(old_dir) / "results", Path(new_dir) / "results"
    names = sorted({p.stem for p in old_dir.glob("*.json")} | {p.stem for p in new_dir.glob("*.json")})
    out = []
    for name in names:
        comparison = Comparison(name)
        if not (old_dir / f"{name}.json").exists() or not (new_dir / f"{name}.json").exists():
            comparison.only_one.append(f"{name}.json")
        else:
            old = json.loads((old_dir / f"{name}.json").read_text())["results"]
            new = json.loads((new_dir / f"{name}.json").read_text())["results"]
            _walk(old, new, "", comparison)
        out.append(comparison)
    return out


def main(old_dir: str, new_dir: str) -> int:
    comparisons = compare_results(old_dir, new_dir)
    for c in comparisons:
        print(f"{c.figure}: {c.equal} of {c.numbers} numbers equal; {len(c.moved)} per-seed mean(s) moved by more "
              f"than their seed sd" + (f"; only in one render: {', '.join(c.only_one)}" if c.only_one else ""))
        for m in c.moved:
            print(f"  {m}")
    total, equal = sum(c.numbers for c in comparisons), sum(c.equal for c in comparisons)
    print(f"[compare] {equal} of {total} numbers equal; {sum(len(c.moved) for c in comparisons)} per-seed means "
          f"moved by more than their seed sd")
    return 0


__all__ = ["Moved", "Comparison", "compare_results", "main"]
