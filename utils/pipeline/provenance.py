"""Which code an executed notebook was rendered with.

`execute_notebook` records in every executed copy's metadata (`reproduction`) the commit of this repository
it ran at and whether tracked files of `utils/` or `notebooks/` differed from it. A rendered page shows that
commit, and `tests/test_committed.py` checks that the code cells of every committed executed notebook equal
its source notebook at that commit (papermill's injected parameters aside), so the two cannot drift apart
unnoticed. Result sets rendered before commits were recorded were stamped afterwards with the newest commit
whose source notebook has exactly their code cells (`stamp_by_source`, marked `stamped_afterwards`).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INJECTED = "injected-parameters"  # papermill's tag on the cell of parameters it adds


def git(*args: str) -> str | None:
    """Output of a git command in the repository, or None where git or the repository is missing."""
    try:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def current_commit() -> dict:
    """`{"commit": sha or None, "dirty": bool}`: HEAD, and whether the code a notebook runs differs from it."""
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "utils", "notebooks")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(changed)}


def code_cells(notebook: dict) -> list[str]:
    """The source of every code cell, without the cell of parameters papermill injected."""
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"
            and INJECTED not in cell.get("metadata", {}).get("tags", [])]


def source_at(commit: str, name: str) -> dict | None:
    """`notebooks/<name>.ipynb` as committed at `commit`; None if it did not exist there."""
    text = git("show", f"{commit}:notebooks/{name}.ipynb")
    return json.loads(text) if text else None


def recorded(notebook: dict) -> dict:
    """The `reproduction` metadata of an executed notebook (empty if it has none)."""
    return notebook.get("metadata", {}).get("reproduction", {})


def stamp_by_source(path: Path) -> str | None:
    """Record in an executed notebook rendered before commits were recorded the newest commit whose source
    notebook has exactly its code cells; returns that commit, or None (nothing written) if none has."""
    nb = json.loads(path.read_text())
    name = path.stem
    for commit in (git("log", "--format=%H", "--", f"notebooks/{name}.ipynb") or "").split():
        source = source_at(commit, name)
        if source is not None and code_cells(source) == code_cells(nb):
            nb["metadata"]["reproduction"] = {"commit": commit, "dirty": False, "stamped_afterwards": True}
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            return commit
    return None


__all__ = ["current_commit", "code_cells", "source_at", "recorded", "stamp_by_source"]
