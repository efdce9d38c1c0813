"""The `figures` command: train the missing models and execute the notebooks with papermill, each notebook as soon
as its models are trained (`schedule.Schedule`), then write the report and the index page. Which notebooks exist,
the models each needs and their measured cost are `utils.registry`'s table."""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .. import config as C
from .. import registry, report
from ..files import atomic_write_text
from .grid import default_jobs, default_threads, train_grid
from .provenance import current_commit
from .schedule import Schedule
from .site import export_html, write_index
from ..settings import RunSettings
from .jobs import select_notebooks

# A kernel inherits our environment: make it draw inline (as Jupyter does), whatever MPLBACKEND says, so the
# executed notebooks show their figures.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@contextmanager
def kernel_environment(**env: Any) -> Iterator[None]:
    """Set environment variables for the kernels started inside the block, then restore them.

    `regenerate` enters it once around its pool of notebook threads and `execute_notebook` again inside with
    the same values, so no thread restores a value while another kernel is starting.
    """
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update({key: str(value) for key, value in env.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.update({key: value})


def declared_parameters(path: Path) -> set[str]:
    """The names a notebook's `parameters` cell assigns (what papermill can set)."""
    import papermill as pm
    return set(pm.inspect_notebook(str(path)))


def execute_notebook(name: str, run: RunSettings, out_dir: Path, html: bool = True) -> Path:
    """Run one notebook with papermill under the run's settings; the executed copy goes to `out_dir`, with an
    HTML export beside it.

    The notebook receives the settings as one parameter, `run`, which its parameters cell must declare (a
    notebook that does not would run on its own defaults and write into another result set: a ConfigError
    naming it, before anything runs). The copy carries no path of this machine: `outputs_dir` is passed relative
    to `notebooks/` (where the kernel runs), and papermill's record of its input and output names the
    repository's files, not temporary ones."""
    import papermill as pm
    notebook_dir = registry.NOTEBOOK_DIR  # read per call: a test points it at its own notebooks
    source = notebook_dir / f"{name}.ipynb"
    if "run" not in declared_parameters(source):
        raise C.ConfigError(f"notebook {name} does not declare `run` in its parameters cell; it would not follow "
                            f"the run's settings (add `run = {{...}}`, docs/layout.md)")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}.ipynb"
    tmp = out_dir / f".{name}.partial.ipynb"
    commit = current_commit()
    declared = registry.NOTEBOOKS.get(name)
    params = {"run": run.to_parameter(relative_to=notebook_dir)} | dict(declared.render_parameters if declared else ())
    with kernel_environment(MPLBACKEND=INLINE_BACKEND):
        pm.execute_notebook(str(source), str(tmp), parameters=params, kernel_name="python3", progress_bar=False,
                            # The kernel starts in notebooks/. Not papermill's `cwd`: it chdirs this whole process
                            # for the notebook's run, and a second notebook's thread then resolves its paths there.
                            resources={"metadata": {"path": str(notebook_dir)}},
                            # no start-up warning per kernel (TCP without encryption) between our progress lines
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    nb = json.loads(tmp.read_text())
    nb["metadata"].get("papermill", {}).update(input_path=f"notebooks/{name}.ipynb",
                                               output_path=f"{out_dir.name}/{name}.ipynb")
    nb["metadata"]["reproduction"] = commit  # read before the run: a commit made meanwhile is not this code
    atomic_write_text(out, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    tmp.unlink()
    if html:
        export_html(out)
    return out


def regenerate(run: RunSettings, only: str | None = None, jobs: int | None = None, launcher: str = "local",
               slurm=None) -> int:
    """Train the missing models and execute the notebooks, each as soon as the models it needs are trained; then
    write the report and index page. `run.threads`: torch threads per training process and notebook kernel
    (default: the cores shared among `jobs`). With `launcher="slurm"` the grid is trained on the cluster first.

    A model variant's results go to their own `outputs/<preset>-<variant>/`, its models to the preset's cache;
    a partial run (`run.seeds`) trains and analyses only those seeds, into `outputs/<preset>-seed<…>[-<variant>]/`,
    never mixed with a run on the preset's seeds."""
    import papermill as pm
    notebooks = select_notebooks(only)
    t_start = time.perf_counter()
    if launcher != "local" and train_grid(run, only, jobs, launcher=launcher, slurm=slurm) != 0:
        return 1  # a model is missing (its Slurm job failed): no notebook runs
    out_dir = run.result_dir / "notebooks"
    jobs = jobs or default_jobs(run.device)
    threads = default_threads(jobs, run.threads)
    failed: list[str] = []

    def run_notebook(name: str) -> None:
        try:
            execute_notebook(name, run, out_dir)
        except pm.PapermillExecutionError as err:
            failed.append(name)
            print(f"notebook {name} failed in cell {err.cell_index} (execution count {err.exec_count}): "
                  f"{err.ename}: {err.evalue}", file=sys.stderr)
            raise

    with kernel_environment(MPLBACKEND=INLINE_BACKEND, OMP_NUM_THREADS=threads):
        # A kernel inherits OMP_NUM_THREADS when it starts: its torch takes its share of the cores.
        Schedule(notebooks, run, jobs, threads).run(run_notebook)
    if failed:
        return 1
    status = report.main(run)  # 1 when a claim's check raised (an error row)
    index = write_index(run.result_set, run.outputs_dir)
    print(f"[done] {len(notebooks)} notebook(s) in {time.perf_counter() - t_start:.0f} s; index: {index}")
    return status


__all__ = ["INLINE_BACKEND", "select_notebooks", "kernel_environment", "declared_parameters", "execute_notebook",
           "regenerate"]
