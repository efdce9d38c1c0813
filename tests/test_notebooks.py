"""Every figure notebook: committed clean, and runs end to end under papermill at the smoke preset."""
import json

import pytest

from utils import runner
from utils.experiments import read_results

NOTEBOOKS = runner.select_notebooks(None)


def load(name):
    return json.loads((runner.NOTEBOOK_DIR / f"{name}.ipynb").read_text())


def test_every_listed_notebook_exists():
    missing = [n for n in runner.NOTEBOOKS if not (runner.NOTEBOOK_DIR / f"{n}.ipynb").exists()]
    assert not missing


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs_with_claim_and_parameters(name):
    cells = load(name)["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "strip outputs before committing"
    assert cells[0]["cell_type"] == "markdown", "the first cell states the figure's claim"
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    src = "".join(params[0]["source"])
    for name_ in ("preset", "seeds", "device", "outputs_dir"):
        assert f"{name_} =" in src


@pytest.fixture(scope="module")
def smoke_outputs(tmp_path_factory):
    """One smoke-preset cache shared by every notebook run, trained up front as `figures` does."""
    out = tmp_path_factory.mktemp("outputs")
    assert runner.train_grid("smoke", str(out), jobs=1) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_writes_its_figure_and_results(name, smoke_outputs):
    out_dir = smoke_outputs / "smoke" / "notebooks"
    executed = runner.execute_notebook(name, "smoke", str(smoke_outputs), "cpu", out_dir)
    assert executed.exists()
    figure = runner.figure_name(name)
    for ext in ("png", "pdf"):
        assert (smoke_outputs / "smoke" / "figures" / f"{figure}.{ext}").stat().st_size > 1000
    results = read_results(figure, "smoke", smoke_outputs)
    assert results and results["preset"] == "smoke" and results["results"]


def test_a_notebook_with_an_unknown_preset_fails_clearly(tmp_path):
    import papermill as pm
    with pytest.raises(pm.PapermillExecutionError, match="unknown preset 'huge'"):
        runner.execute_notebook(NOTEBOOKS[0], "huge", str(tmp_path), "cpu", tmp_path / "nb")
    assert not (tmp_path / "huge").exists()


def test_index_lists_every_figure(smoke_outputs):
    index = runner.write_index("smoke", str(smoke_outputs)).read_text()
    for name in NOTEBOOKS:
        figure = runner.figure_name(name)
        if (smoke_outputs / "smoke" / "figures" / f"{figure}.png").exists():
            assert f"figures/{figure}.png" in index and f"notebooks/{name}.ipynb" in index
