"""The pipeline package: its modules import alone (no import cycle, no private names borrowed), and a model job
is named, resolved and selected as the notebooks need it."""
import ast
import json
import math
import os
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
    assert set(MODULES) == {"compare", "grid", "jobs", "networks", "notebooks", "provenance", "rules", "scaffold", "schedule", "site",
                            "slurm"}


@pytest.mark.slow
def test_each_module_imports_first_in_a_fresh_interpreter():
    """A cycle shows as an ImportError (a partly initialised module) for whichever module is imported first: in one
    fresh interpreter, each module imported with no module of `utils` loaded before it (torch and the other
    libraries stay loaded: the cycle that matters is inside the package)."""
    script = ("import importlib, sys, traceback\nimport torch, numpy, matplotlib\nfailed = []\n"
              f"for name in {MODULES!r}:\n"
              "    for loaded in [m for m in sys.modules if m == 'utils' or m.startswith('utils.')]:\n"
              "        del sys.modules[loaded]\n"
              "    try:\n        importlib.import_module('utils.pipeline.' + name)\n"
              "    except Exception:\n        failed.append(name + ': ' + traceback.format_exc(limit=3))\n"
              "print('\\n'.join(failed))\nsys.exit(1 if failed else 0)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


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


@pytest.mark.slow
def test_a_training_process_uses_the_threads_it_is_given(tmp_path, monkeypatch):
    """Two grids side by side (two model variants) each take every core unless told otherwise; `threads` is what
    the worker process trains with, and its timing.json says so."""
    from utils.pipeline.grid import train_grid
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # the default would then be 2 threads for one process
    assert train_grid(RunSettings("smoke", seeds=(0,), outputs_dir=str(tmp_path), threads=1), only="fig1", jobs=1) == 0
    timings = [json.loads(p.read_text()) for p in tmp_path.rglob("timing.json")]
    assert timings and all(t["threads"] == 1 for t in timings)


# --- adding a figure: `make figure NAME=ext_…` writes one that runs as written --------------------------------

def _copy_repository(dest: Path) -> Path:
    """The repository's files a contributor edits and tests (tracked or not), without the result sets and caches."""
    import shutil
    for part in ("utils", "notebooks", "data", "tests", "docs", "pyproject.toml", "README.md"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy(src, dest / part)
    # the laptop set's executed notebooks: their recorded durations order the pipeline's queue (registry.cost)
    shutil.copytree(ROOT / "outputs" / "laptop" / "notebooks", dest / "outputs" / "laptop" / "notebooks",
                    ignore=shutil.ignore_patterns("*.html"))
    return dest


def test_new_figure_refuses_a_bad_or_taken_name(tmp_path):
    from utils.pipeline.scaffold import new_figure
    repo = _copy_repository(tmp_path / "repo")
    before = {p: p.stat().st_mtime_ns for p in repo.rglob("*")}
    for bad in ("fig4", "ext_", "ext_Big", "ext-probe"):
        with pytest.raises(C.ConfigError, match="ext_ and lower-case words"):
            new_figure(bad, repo)
    for taken in ("ext_score", "ext_conditions"):   # a module, and a package
        with pytest.raises(C.ConfigError, match="exists already"):
            new_figure(taken, repo)
    assert {p: p.stat().st_mtime_ns for p in repo.rglob("*")} == before   # nothing written


@pytest.mark.slow
def test_a_new_figure_runs_through_the_pipeline_the_report_and_the_suite_as_written(tmp_path, smoke_outputs):
    """`python -m utils new-figure` in a copy of the repository: the figure it writes follows every rule, the
    pipeline runs its notebook on the session's smoke models, the report measures its claim, and the structural
    tests of the copy (notebooks, claims, layers) pass with it, as they are."""
    repo = _copy_repository(tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": str(repo), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}

    def run(*args, **kwargs):
        done = subprocess.run([sys.executable, *args], cwd=repo, env=env, capture_output=True, text=True, **kwargs)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    assert "wrote notebooks/ext_probe.ipynb" in run("-m", "utils", "new-figure", "ext_probe")
    assert run("-c", "from utils import registry; from utils.pipeline import rules; "
                     "m = next(m for m in registry.MODULES if m.NOTEBOOK.name == 'ext_probe'); "
                     "print(rules.figure_problems(m))").strip() == "[]"
    outputs = tmp_path / "outputs"
    (outputs / "smoke").mkdir(parents=True)
    (outputs / "smoke" / "models").symlink_to(smoke_outputs / "smoke" / "models")   # no training
    run("-m", "utils", "figures", "--preset", "smoke", "--only", "ext_probe", "--outputs", str(outputs),
        "--jobs", "1", "--threads", "1")
    row = next(r for r in json.loads((outputs / "smoke" / "report.json").read_text())["claims"]
               if r["id"] == "ext-probe-decodes")
    assert row["verdict"] in ("passed", "failed") and row["value"].startswith("MSE ")
    assert "figures/ext_probe.png" in (outputs / "smoke" / "index.html").read_text()
    # the tests a new figure could break: the rules of a figure, the claims and their checks, the layers
    run("-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-m", "not slow",
        "tests/test_notebooks.py", "tests/test_report.py", "tests/test_layers.py",
        "-k", "rule or claim or check or layer or listed or exists or regenerate or schedule", timeout=600)
