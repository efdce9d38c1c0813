"""Every figure notebook: committed clean, and runs end to end under papermill at the smoke preset."""
import json

import pytest

from utils import config as C
from utils import registry
from utils.figures.base import read_results
from utils.pipeline import notebooks as N
from utils.pipeline import rules
from utils.pipeline import schedule, site
from utils.pipeline.jobs import required_models, select_notebooks
from utils.settings import RunSettings

NOTEBOOKS = select_notebooks(None)


def load(name):
    return json.loads(registry.notebook(name).path.read_text())


def test_every_listed_notebook_exists():
    missing = [n for n, row in registry.NOTEBOOKS.items() if not row.path.exists()]
    assert not missing


@pytest.mark.parametrize("module", registry.MODULES, ids=lambda m: m.NOTEBOOK.name)
def test_every_figure_follows_the_rules_of_docs_layout(module):
    problems = rules.figure_problems(module)
    assert not problems, "\n".join(problems)


def _broken(tmp_path, edit) -> list[str]:
    """The rules' messages for a copy of Fig. 2's notebook changed by `edit(cells)`."""
    nb = json.loads(registry.notebook("fig2_biased_and_kl").path.read_text())
    edit(nb["cells"])
    path = tmp_path / "fig2_biased_and_kl.ipynb"
    path.write_text(json.dumps(nb))
    return rules.notebook_problems(path)


def _code(cells, i):
    return [c for c in cells if c["cell_type"] == "code"][i]


@pytest.mark.parametrize("edit,message", [
    (lambda cells: _code(cells, 1).update(outputs=[{"output_type": "stream", "name": "stdout", "text": "x"}]),
     "clear its outputs"),
    (lambda cells: cells.pop(0), "open with a markdown cell"),
    (lambda cells: [cells.remove(c) for c in [c for c in cells if c["cell_type"] == "markdown"][1:]],
     "at least three markdown cells"),
    (lambda cells: _code(cells, 0)["metadata"].update(tags=[]), "tag exactly one code cell 'parameters'"),
    (lambda cells: _code(cells, 0).update(source='preset = "laptop"\nn_kde = None'), "open the parameters cell"),
    (lambda cells: _code(cells, 0).update(source='run = {"preset": "laptop"}\nn_kde = None'),
     "exactly the keys preset, variant, seeds"),
    (lambda cells: _code(cells, 0).update(source="".join(_code(cells, 0)["source"]).split("\n#")[0] + "\n"),
     "expose the analysis sizes"),
    (lambda cells: _code(cells, 0).update(source="".join(_code(cells, 0)["source"]) + "\nthreshold = 0.1"),
     "move threshold into the module"),
    (lambda cells: _code(cells, 2).update(source="for s in range(3):\n    print(s)"), "move `for s in range(3):`"),
    (lambda cells: _code(cells, 1).update(source="import utils"), "call its `compute` once"),
])
def test_each_rule_fails_a_notebook_that_breaks_it_and_says_what_to_change(tmp_path, edit, message):
    problems = _broken(tmp_path, edit)
    assert any(message in p for p in problems), problems


def test_a_module_without_its_declarations_or_claims_is_told_what_to_add():
    import types
    bare = types.ModuleType("utils.figures.ext_bare")
    assert [p.split(",")[0] for p in rules.module_problems(bare)] == [
        "ext_bare: declare NOTEBOOK", "ext_bare: declare CHECKS", "ext_bare: declare compute"]
    from utils.figures import fig3
    partial = types.ModuleType("utils.figures.fig3")
    partial.NOTEBOOK, partial.compute, partial.CHECKS = fig3.NOTEBOOK, fig3.compute, {"fig3-hd": fig3.CHECKS["fig3-hd"]}
    problems = rules.module_problems(partial)
    assert any("declare RESULTS" in p for p in problems)
    assert any("missing checks: ['fig3-smooth', 'fig3-trained']" in p for p in problems)


def test_no_module_grows_past_700_lines():
    from pathlib import Path
    package = Path(registry.__file__).parent
    long = {str(p.relative_to(package)): n for p in package.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 700}
    assert not long


@pytest.mark.slow
def test_every_notebook_runs_through_the_figures_command_and_writes_its_figure_and_results(smoke_outputs):
    """`figures` at smoke on the session's trained networks, two kernels at a time as on a 2-core machine: every
    notebook executes and writes its executed copy, its composed figure and its results, in the run's set."""
    run = RunSettings("smoke", outputs_dir=str(smoke_outputs), threads=1)
    assert N.regenerate(run, jobs=2) == 0
    for name in NOTEBOOKS:
        executed = (smoke_outputs / "smoke" / "notebooks" / f"{name}.ipynb").read_text()
        assert "LegibilityWarning" not in executed, f"{name}: text over text or data, or a map without a colour " \
            "bar (utils/legibility.py; the executed notebook names each)"
        figure = registry.notebook(name).figure
        for ext in ("png", "pdf"):
            assert (smoke_outputs / "smoke" / "figures" / f"{figure}.{ext}").stat().st_size > 1000, (name, ext)
        results = read_results(figure, "smoke", smoke_outputs)
        assert results and results.preset == "smoke" and results.results, name


@pytest.mark.slow
def test_a_notebook_with_an_unknown_preset_fails_clearly(tmp_path):
    import papermill as pm
    run = RunSettings("smoke", outputs_dir=str(tmp_path)).to_parameter()
    with pytest.raises(pm.PapermillExecutionError, match="unknown preset 'huge'"):
        N.execute_notebook(NOTEBOOKS[0], _Unchecked(run | {"preset": "huge"}), tmp_path / "nb")
    assert not (tmp_path / "huge").exists()


class _Unchecked:
    """Settings as a notebook may receive them from elsewhere (a hand-written papermill call): not validated here."""

    def __init__(self, parameter):
        self.parameter = parameter

    def to_parameter(self, relative_to=None):
        return self.parameter


@pytest.mark.slow
def test_a_notebook_without_run_settings_is_refused_before_it_writes_anywhere(tmp_path, monkeypatch):
    """A notebook whose parameters cell does not declare `run` would run on its own defaults and write into the
    default result set whatever the command line said (`figures --set recurrent_bias=false` once overwrote
    `outputs/smoke/results/` so); it is refused by name, before its kernel starts."""
    import nbformat
    notebook_dir = tmp_path / "notebooks"
    notebook_dir.mkdir()
    params = nbformat.v4.new_code_cell('preset = "smoke"\nvariant = "default"', metadata={"tags": ["parameters"]})
    write = nbformat.v4.new_code_cell("import pathlib\npathlib.Path('ran.txt').write_text(variant)")
    kernel = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    nbformat.write(nbformat.v4.new_notebook(cells=[params, write], metadata=kernel), notebook_dir / "old.ipynb")
    monkeypatch.setattr(registry, "NOTEBOOK_DIR", notebook_dir)
    run = RunSettings("smoke", "as-written", outputs_dir=str(tmp_path))
    with pytest.raises(C.ConfigError, match="notebook old does not declare `run`"):
        N.execute_notebook("old", run, tmp_path / "executed", html=False)
    assert not (notebook_dir / "ran.txt").exists() and not (tmp_path / "executed").exists()


@pytest.mark.slow
def test_a_running_notebook_leaves_the_process_working_directory_alone(tmp_path, monkeypatch):
    """`figures` runs two notebooks in threads of one process: a chdir for one of them would send the other's
    relative paths (its outputs folder, its executed copy) somewhere else."""
    import os
    import threading
    import time

    import nbformat
    notebook_dir = tmp_path / "notebooks"
    notebook_dir.mkdir()
    probe = nbformat.v4.new_code_cell("import os, pathlib, time\n"
                                      "pathlib.Path('kernel_cwd.txt').write_text(os.getcwd())\ntime.sleep(2)")
    kernel = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    params = nbformat.v4.new_code_cell("run = None", metadata={"tags": ["parameters"]})
    nbformat.write(nbformat.v4.new_notebook(cells=[params, probe], metadata=kernel), notebook_dir / "probe.ipynb")
    monkeypatch.setattr(registry, "NOTEBOOK_DIR", notebook_dir)
    here, seen = os.getcwd(), set()
    run = threading.Thread(target=N.execute_notebook, args=("probe", RunSettings("smoke", outputs_dir=str(tmp_path)),
                                                             tmp_path / "executed"), kwargs={"html": False})
    run.start()
    while run.is_alive():
        seen.add(os.getcwd())
        time.sleep(0.01)
    assert seen == {here}
    assert (notebook_dir / "kernel_cwd.txt").read_text() == str(notebook_dir)   # the kernel itself runs there
    assert (tmp_path / "executed" / "probe.ipynb").exists()


def test_index_lists_exactly_the_figures_that_exist(tmp_path):
    figures = tmp_path / "smoke" / "figures"
    figures.mkdir(parents=True)
    drawn, absent = NOTEBOOKS[:2], NOTEBOOKS[2:]
    for name in drawn:
        (figures / f"{registry.notebook(name).figure}.png").write_bytes(b"png")
    # other result sets: the same preset's other model is linked, another preset's set and a set without a page not
    for other, preset, page in (("smoke-as-written", "smoke", True), ("laptop", "laptop", True),
                                ("smoke-seed0", "smoke", False)):
        (tmp_path / other).mkdir()
        (tmp_path / other / "report.json").write_text(json.dumps({"preset": preset, "variant": "as-written"}))
        if page:
            (tmp_path / other / "index.html").write_text("<html></html>")
    index = site.write_index("smoke", str(tmp_path)).read_text()
    for name in drawn:
        assert f"figures/{registry.notebook(name).figure}.png" in index and f"notebooks/{name}.ipynb" in index
    for name in absent:
        assert f"notebooks/{name}.ipynb" not in index
    assert "<pre" not in index
    assert '"../smoke-as-written/index.html"' in index and "../laptop/" not in index and "smoke-seed0" not in index


def test_index_opens_with_its_answer_contents_and_the_other_scale(tmp_path):
    figures = tmp_path / "smoke" / "figures"
    figures.mkdir(parents=True)
    (figures / "fig1.png").write_bytes(b"png")
    rows = [{"id": "fig1-trained", "figure": "fig1", "verdict": "passed", "value": "MSE 0.01"},
            {"id": "fig1-smooth", "figure": "fig1", "verdict": "failed", "value": "13.4%"}]
    rows = [r | {"statement": "s", "threshold": "t", "seeds": [0], "per_seed": {"0": r["value"]}} for r in rows]
    (tmp_path / "smoke" / "report.json").write_text(json.dumps({"preset": "smoke", "variant": "default",
                                                                "claims": rows, "summary": "1 passed, 1 failed"}))
    for other, variant in (("laptop", "default"), ("laptop-as-written", "as-written")):
        (tmp_path / other).mkdir()
        (tmp_path / other / "report.json").write_text(json.dumps({"preset": "laptop", "variant": variant}))
        (tmp_path / other / "index.html").write_text("<html></html>")
    index = site.write_index("smoke", str(tmp_path)).read_text()
    title, _ = site.title_and_opening(registry.notebook("fig1_spatial_reactivation").path)
    assert title.startswith("Fig. 1") and index.count(title) >= 3   # the answer, the contents, the section
    assert "1 of 2 pass; not" in index and 'href="report.html#fig1-smooth"' in index and "13.4%" in index
    assert '<a href="#fig1">' in index and '<a href="#paper">' in index and 'id="paper"' in index
    assert '"../laptop/index.html"' in index and "laptop-as-written" not in index   # same model, other scale
    assert "rendered before commits were recorded" in index   # no executed notebook here


def test_regenerate_runs_two_notebooks_at_a_time_and_reports_a_failure(tmp_path, monkeypatch):
    """The notebook phase of `figures`, with papermill replaced: concurrency, kernel environment, failure."""
    import os
    import threading
    import time

    import papermill as pm

    running, seen, lock = [0], [], threading.Lock()
    peak = [0]

    def fake_execute(name, run, out_dir, **kwargs):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            seen.append((name, os.environ.get("OMP_NUM_THREADS"), os.environ.get("MPLBACKEND")))
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if name == "figC3_noise_conditions":
            raise pm.PapermillExecutionError(3, 3, "x", "ValueError", "boom", [])
        return out_dir / f"{name}.ipynb"

    monkeypatch.setattr(schedule, "missing_jobs", lambda *a, **k: [])   # every model "trained"
    monkeypatch.setattr(N, "execute_notebook", fake_execute)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert N.regenerate(RunSettings("smoke", outputs_dir=str(tmp_path)), jobs=2) == 1   # one notebook failed
    assert sorted(n for n, _, _ in seen) == sorted(select_notebooks(None))  # the others still ran
    assert peak[0] == 2
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    assert {(t, b) for _, t, b in seen} == {(threads, N.INLINE_BACKEND)}
    # Fig. 1 first (the reader's first page), beside it the slowest (as last measured)
    assert {seen[0][0], seen[1][0]} == {"fig1_spatial_reactivation", max(registry.NOTEBOOKS, key=registry.cost)}
    assert os.environ["MPLBACKEND"] == "Agg" and "OMP_NUM_THREADS" not in os.environ  # restored
    assert not (tmp_path / "smoke" / "report.md").exists()          # no report after a failure

    monkeypatch.setattr(N, "execute_notebook", lambda name, *a, **k: None)
    assert N.regenerate(RunSettings("smoke", outputs_dir=str(tmp_path)), jobs=2) == 0
    assert (tmp_path / "smoke" / "report.md").exists() and (tmp_path / "smoke" / "index.html").exists()


def test_a_notebook_starts_as_soon_as_its_models_are_trained(tmp_path, monkeypatch, capsys):
    """The schedule with training faked (threads instead of processes, no real training): every notebook starts
    after all its models and Fig. 1 (whose models come first) long before the last model ends; one progress line
    after each model and notebook, with a time estimate once something has finished."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    events, lock = [], threading.Lock()

    def fake_train(job, run, threads):
        time.sleep(0.01)
        with lock:
            events.append(("model", job.run_dir(run)))
        return str(job.run_dir(run))

    def fake_notebook(name):
        with lock:
            events.append(("notebook", name))

    run = RunSettings("smoke", outputs_dir=str(tmp_path))
    monkeypatch.setattr(schedule, "train_job", fake_train)
    monkeypatch.setattr(schedule.Schedule, "training_pool", lambda self: ThreadPoolExecutor(self.jobs))
    plan = schedule.Schedule(select_notebooks(None), run, jobs=2, threads=1)
    n_models = plan.n_models
    assert n_models > 20
    plan.run(fake_notebook)
    order = [what for kind, what in events]
    for name in select_notebooks(None):
        needed = {j.run_dir(run) for j in required_models([name], run)}
        assert max(order.index(d) for d in needed) < order.index(name), name
    models_before_fig1 = sum(1 for kind, _ in events[:order.index("fig1_spatial_reactivation")] if kind == "model")
    assert models_before_fig1 <= 4 < n_models   # its own models (seeds 0–1), and one beside them at most
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("[progress]")]
    assert len(lines) == n_models + len(select_notebooks(None))
    n_notebooks = len(select_notebooks(None))
    assert lines[-1].startswith(f"[progress] models {n_models}/{n_models} · notebooks {n_notebooks}/{n_notebooks}")
    assert "min left" in lines[-1]


def test_training_cost_orders_gru_before_rnn_and_more_batches_first():
    from utils import config as C
    from utils.pipeline.grid import training_cost
    cost = lambda cond, **o: training_cost(C.resolve_config("spatial", cond, 0, "laptop", o))
    assert cost("gru_noisy_unbiased") > cost("noisy_unbiased")
    assert cost("noisy_unbiased", batches=2000) == 2 * cost("noisy_unbiased")
