"""The committed rendered results read anywhere: executed notebooks name no path of the machine that ran them."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = sorted(p for p in ROOT.glob("outputs/*/notebooks/*.ipynb") if not p.name.startswith("."))  # not a failed run


def test_some_rendered_results_are_committed():
    assert EXECUTED, "outputs/laptop/notebooks/ holds the executed notebooks of the laptop preset"


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_an_executed_notebook_carries_relative_paths_only(path):
    text = path.read_text()
    for machine_path in ("/work/", "/tmp/", "/home/", "/root/", ".partial"):
        assert machine_path not in text, f"{path.name} mentions {machine_path!r}"
    papermill = json.loads(text)["metadata"]["papermill"]
    assert papermill["input_path"] == f"notebooks/{path.name}"
    assert papermill["output_path"] == f"notebooks/{path.name}"
    assert not Path(papermill["parameters"]["outputs_dir"]).is_absolute()
    assert path.with_suffix(".html").exists(), "every executed notebook has its HTML export beside it"
