"""The pipeline package: its modules import alone (no import cycle, no private names borrowed), and a model job
is named, resolved and selected as the notebooks need it."""
import ast
import json
import math
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import utils.pipeline
from utils import config as C
from utils import registry
from utils.pipeline.jobs import ModelJob, required_models, select_notebooks
from utils.settings import RunSettings

ROOT = Path(__file__).resolve().parents[1]

PACKAGE = Path(utils.pipeline.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE)]))


def top_level_imports(path: Path) -> list[ast.ImportFrom]:
    """The `from . import x` / `from .x import y` statements run when the module is imported (not in functions)."""
    return [node for node in ast.parse(path.read_text()).body if isinstance(node, ast.ImportFrom)]


def test_the_pipeline_has_its_modules():
    assert set(MODULES) == {"grid", "jobs", "notebooks", "provenance", "schedule", "site", "slurm"}


@pytest.mark.parametrize("name", MODULES)
def test_each_module_imports_first_in_a_fresh_interpreter(name):
    """A cycle shows as an ImportError (a partly initialised module) for whichever module is imported first."""
    run = subprocess.run([sys.executable, "-c", f"import utils.pipeline.{name}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_module_level_imports_inside_the_package_form_no_cycle():
    graph = {}
    for name in MODULES:
        siblings = set()
        for node in top_level_imports(PACKAGE / f"{name}.py"):
            if node.level == 1:  # from . import x / from .x import y
                siblings |= {node.module} if node.module else {alias.name for alias in node.names}
        graph[name] = siblings & set(MODULES)

    def reaches(start, target, seen=()):
        return any(n == target or (n not in seen and reaches(n, target, (*seen, n))) for n in graph[start])
    assert not [name for name in MODULES if reaches(name, name)], graph


def test_no_module_imports_a_private_name_of_another():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_model_jobs_that_differ_only_in_their_overrides_have_distinct_names():
    jobs = required_models(["ext_training_noise"], RunSettings("smoke"))
    names = [str(job) for job in jobs]
    assert len(set(names)) == len(names) == 10   # five models, two seeds
    assert "spatial/noisy_unbiased/seed0 noise_std=0.00316228" in names
    assert "spatial/noisy_unbiased/seed1 noise_kind=uniform recurrent_bias=False" in names
    assert str(ModelJob("spatial", "noisy_unbiased", 0)) == "spatial/noisy_unbiased/seed0"


def test_a_job_resolves_the_run_variant_first_and_the_notebooks_choice_last():
    job = ModelJob("spatial", "noisy_unbiased", 1, (("noise_std", math.sqrt(1e-3)),))
    run = RunSettings.with_overrides({"noise_kind": "uniform", "recurrent_bias": "false"}, preset="smoke")
    cfg = job.config(run)
    assert cfg.model.noise_std == math.sqrt(1e-3) and cfg.model.recurrent_bias is False and cfg.seed == 1
    assert cfg == C.resolve_config("spatial", "noisy_unbiased", 1, "smoke",
                                   {"noise_std": math.sqrt(1e-3), "recurrent_bias": False, "noise_kind": "uniform"})
    assert run.variant == "as-released" and RunSettings("smoke").variant == "default"
    with pytest.raises(C.ConfigError, match="only the overrides of a model variant"):  # a run is a variant, or nothing
        RunSettings.with_overrides({"noise_std": "0.5"}, preset="smoke")


def test_required_models_follow_the_registry_once_each_with_each_notebooks_seeds():
    names = select_notebooks(None)
    assert names == [name for name, row in registry.NOTEBOOKS.items() if row.path.exists()]
    jobs = required_models(names, RunSettings("laptop"))   # three seeds
    assert len(set(jobs)) == len(jobs)
    keys = list(dict.fromkeys(m.key for name in names for m in registry.NOTEBOOKS[name].models))
    assert list(dict.fromkeys((j.task, j.condition, j.overrides) for j in jobs)) == keys
    per_model = {key: [j.seed for j in jobs if (j.task, j.condition, j.overrides) == key] for key in keys}
    wanted = {key: max(min(3, row.seeds or 3) for row in registry.NOTEBOOKS.values() if key in
                       {m.key for m in row.models}) for key in keys}
    assert per_model == {key: list(range(n)) for key, n in wanted.items()}
    assert {j.seed for j in required_models(names, RunSettings("laptop", seeds=(2,)))} == {2}   # a partial run: every notebook


def test_threads_per_process_default_to_a_share_of_the_cores_and_reject_nonsense(monkeypatch):
    from utils.pipeline.grid import default_threads
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert (default_threads(1), default_threads(2), default_threads(8), default_threads(2, threads=3)) == (4, 2, 1, 3)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(C.ConfigError, match="--threads"):
            default_threads(1, bad)
    from utils.pipeline.grid import train_grid
    with pytest.raises(C.ConfigError, match="--slurm-cpus"):  # not silently ignored by the Slurm launcher
        train_grid(RunSettings("smoke", outputs_dir="unused", threads=1), launcher="slurm")


def test_a_training_process_uses_the_threads_it_is_given(tmp_path, monkeypatch):
    """Two grids side by side (two model variants) each take every core unless told otherwise; `threads` is what
    the worker process trains with, and its timing.json says so."""
    from utils.pipeline.grid import train_grid
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # the default would then be 2 threads for one process
    assert train_grid(RunSettings("smoke", seeds=(0,), outputs_dir=str(tmp_path), threads=1), only="fig1", jobs=1) == 0
    timings = [json.loads(p.read_text()) for p in tmp_path.rglob("timing.json")]
    assert timings and all(t["threads"] == 1 for t in timings)


# --- adding a figure: the worked example of docs/layout.md, through the pipeline and the report -----------------

@pytest.mark.slow
def test_the_documented_toy_figure_runs_through_the_pipeline_and_the_report(tmp_path, monkeypatch):
    """The module of docs/layout.md ("How to add a figure"), its notebook and its claim, and nothing else: the
    pipeline trains its models, runs its notebook, and the report and index show its claim and figure."""
    import json
    import re
    import types

    import nbformat

    from utils import report
    from utils.figures import base
    from utils.pipeline import notebooks as N

    doc = (ROOT / "docs" / "layout.md").read_text()
    code = re.search(r"```python\n# utils/figures/ext_decoding.py\n(.*?)```", doc, re.S).group(1)
    # The kernel imports it from its working directory (the notebooks folder), as a top-level module.
    code = code.replace("from ..", "from utils.").replace("from .", "from utils.figures.")
    notebook_dir = tmp_path / "notebooks"
    notebook_dir.mkdir()
    (notebook_dir / "ext_decoding.py").write_text(code)
    module = types.ModuleType("ext_decoding")
    exec(compile(code, "ext_decoding.py", "exec"), module.__dict__)

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Beyond the paper — decoding error\n\nThe noisy SP networks' final error."),
        nbformat.v4.new_code_cell('run = {"preset": "smoke", "variant": "default", "seeds": None, '
                                  '"outputs_dir": "../outputs", "device": "cpu", "threads": None}',
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import ext_decoding\nfrom utils.figures.base import FigureSettings\n\n"
                                  "settings = FigureSettings.create(run, ext_decoding.NOTEBOOK)\n"
                                  "result = ext_decoding.compute(settings)"),
        nbformat.v4.new_code_cell("result.show(settings)"),
        nbformat.v4.new_code_cell("result.save(settings)\nprint(result.summary())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook_dir / "ext_decoding.ipynb")

    claim = {"id": "ext-decoding-trained", "group": "theory", "figure": "ext_decoding",
             "statement": "the noisy SP networks decode.", "metric": "final decoding MSE (m²)",
             "params": {"max_decode_mse": 10.0}, "threshold": "≤ {max_decode_mse} m², every seed"}
    claims = report.load_claims()
    monkeypatch.setattr(report, "load_claims", lambda path=None: claims + [dict(claim)])
    monkeypatch.setitem(report.CHECKS, "ext-decoding-trained", module.CHECKS["ext-decoding-trained"])
    monkeypatch.setattr(registry, "NOTEBOOKS", registry.NOTEBOOKS | {"ext_decoding": module.NOTEBOOK})
    monkeypatch.setattr(registry, "NOTEBOOK_DIR", notebook_dir)
    monkeypatch.setattr(base, "NOTEBOOK_DIR", notebook_dir)

    outputs = tmp_path / "outputs"
    assert N.regenerate(RunSettings("smoke", outputs_dir=str(outputs), threads=1), only="ext_decoding", jobs=1) == 0
    results = json.loads((outputs / "smoke" / "results" / "ext_decoding.json").read_text())["results"]
    assert set(results["decode_error"]["per_seed"]) == {"0", "1"}   # the module's two seeds
    row = next(r for r in json.loads((outputs / "smoke" / "report.json").read_text())["claims"]
               if r["id"] == "ext-decoding-trained")
    assert row["verdict"] == "passed" and row["threshold"] == "≤ 10.0 m², every seed"
    index = (outputs / "smoke" / "index.html").read_text()
    assert "figures/ext_decoding.png" in index and "Beyond the paper — decoding error" in index
