"""The rules a figure's notebook and module follow (docs/layout.md, "The rules of a figure"), each checked with a
message that says what to change. The tests run `figure_problems` on every figure and `new-figure` on what it
writes; `figures` itself refuses a notebook without `run` before its kernel starts (`notebooks.execute_notebook`)."""
from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from types import ModuleType

from .. import config as C
from .. import registry
from ..report import load_claims
from ..settings import RunSettings

RUN_KEYS = tuple(f.name for f in dataclasses.fields(RunSettings))   # `run`'s keys, in a notebook's order


def _code(cell: dict) -> str:
    return "".join(cell["source"])


def notebook_problems(path: Path) -> list[str]:
    """What the notebook at `path` must change to follow the rules (empty: it follows them)."""
    name = path.stem
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    out = []
    if any(c.get("outputs") or c.get("execution_count") is not None for c in code):
        out.append(f"{name}: clear its outputs before committing (executed copies go to outputs/)")
    if not cells or cells[0]["cell_type"] != "markdown" or not _code(cells[0]).lstrip().startswith("# "):
        out.append(f"{name}: open with a markdown cell whose '# ' title and first paragraph state the figure's claim "
                   "(the index page shows them)")
    if sum(c["cell_type"] == "markdown" for c in cells) < 3:
        out.append(f"{name}: explain the steps in at least three markdown cells (the claim, the panels, the numbers)")
    params = [i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(params) != 1:
        out.append(f"{name}: tag exactly one code cell 'parameters' (it has {len(params)})")
        return out
    source = _code(code[params[0]])
    try:
        assigned = {t.id: node.value for node in ast.parse(source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    except SyntaxError as err:
        return out + [f"{name}: its parameters cell does not parse ({err.msg}, line {err.lineno})"]
    if not source.startswith("run = {"):
        out.append(f"{name}: open the parameters cell with `run = {{...}}`, the run's settings as one dict "
                   f"({', '.join(RUN_KEYS)}); `figures` passes its own")
    elif not isinstance(assigned.get("run"), ast.Dict) or [ast.literal_eval(k) for k in assigned["run"].keys] != list(RUN_KEYS):
        out.append(f"{name}: `run` must be a dict literal with exactly the keys {', '.join(RUN_KEYS)}, in that order")
    sizes = {f.name for f in dataclasses.fields(C.AnalysisConfig)}
    others = set(assigned) - {"run"}
    declared = registry.NOTEBOOKS.get(name)
    controls = set(declared.controls) if declared else set()   # a module's own notebook parameters (the explorer's)
    if not others & sizes:
        out.append(f"{name}: expose the analysis sizes the figure uses as parameters, each `= None` (the preset's "
                   f"value); valid sizes: {', '.join(sorted(sizes))}")
    if others - sizes - controls:
        out.append(f"{name}: the parameters cell may hold only `run`, analysis sizes and the controls its "
                   f"`NOTEBOOK` declares; move {', '.join(sorted(others - sizes - controls))} into the module")
    body = "\n".join(_code(c) for c in code)
    if "from utils.figures import" not in body or ".compute(" not in body:
        out.append(f"{name}: import its module (`from utils.figures import {name}`) and call its `compute` once")
    if "FigureSettings.create(run" not in body:
        out.append(f"{name}: make the settings with `FigureSettings.create(run, <module>.NOTEBOOK, <sizes>)`")
    for line in body.splitlines():
        if line.lstrip().startswith(("def ", "class ", "for ", "while ")):
            out.append(f"{name}: move `{line.strip()}` into its module: a notebook holds no logic a test cannot "
                       "reach")
    return out


def module_problems(module: ModuleType) -> list[str]:
    """What a figure module must change: it declares its notebook, its results type and exactly the checks of
    its claims in data/claims.yaml."""
    short = module.__name__.rsplit(".", 1)[-1]
    out = []
    for attr, what in (("NOTEBOOK", "a `Notebook` (its notebook, models and seeds)"),
                       ("CHECKS", "its claims' checks, claim id -> function (empty if it has none)"),
                       ("compute", "`compute(settings)`, which returns its figure")):
        if not hasattr(module, attr):
            out.append(f"{short}: declare {attr}, {what}")
    if out:
        return out
    nb = module.NOTEBOOK
    if not nb.path.exists():
        out.append(f"{short}: its notebook notebooks/{nb.name}.ipynb does not exist")
    if not hasattr(module, "RESULTS"):
        out.append(f"{short}: declare RESULTS, the `Results` dataclass its figure writes and its checks read")
    own = {c["id"] for c in load_claims() if c["figure"] == nb.figure and c.get("group") != "inferred"}
    if set(module.CHECKS) != own:
        out.append(f"{short}: CHECKS must hold exactly the claims of data/claims.yaml with `figure: {nb.figure}` "
                   f"(missing checks: {sorted(own - set(module.CHECKS))}; checks without a claim: "
                   f"{sorted(set(module.CHECKS) - own)})")
    return out


def figure_problems(module: ModuleType) -> list[str]:
    """Every rule of one figure: its module's and its notebook's."""
    out = module_problems(module)
    if hasattr(module, "NOTEBOOK") and module.NOTEBOOK.path.exists():
        out += notebook_problems(module.NOTEBOOK.path)
    return out


def all_problems() -> list[str]:
    return [p for m in registry.MODULES for p in figure_problems(m)]


__all__ = ["RUN_KEYS", "notebook_problems", "module_problems", "figure_problems", "all_problems"]
