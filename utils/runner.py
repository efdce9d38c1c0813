"""Regenerate everything: train the models the notebooks need, execute the notebooks, write the index.

`NOTEBOOKS` is the one list of figure notebooks and the (task, condition) models each one needs; a new
notebook is added here and in `notebooks/`.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from . import config as C
from .files import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"

_SP_RNN = [("spatial", c) for c in ("noisy_unbiased", "noisy_biased", "noiseless_unbiased", "noiseless_biased")]
NOTEBOOKS: dict[str, list[tuple]] = {  # (task, condition[, overrides])
    "fig1_spatial_reactivation": [("spatial", "noisy_unbiased")],
    "fig2_biased_and_kl": _SP_RNN,
    "fig3_head_direction": [("head_direction", "noisy_unbiased"), ("head_direction", "noisy_biased")],
    "figC1_same_quiescent_noise": [("spatial", "noisy_unbiased"), ("spatial", "noisy_biased")],
    "figC2_gru": [("spatial", "gru_noisy_unbiased"), ("spatial", "gru_noisy_biased")],
    "figC3_noise_conditions": _SP_RNN,
    "figC4_step_distance": _SP_RNN,
    "figC5_hd_transitions": [("head_direction", "noisy_biased"), ("head_direction", "noisy_unbiased")],
    # Beyond the paper (utils/extensions.py). A third element is a dict of config overrides for get_model.
    "ext_temperature": [("spatial", "noisy_unbiased"), ("spatial", "noisy_biased"), ("head_direction", "noisy_unbiased")],
    "ext_score": [("spatial", "noisy_unbiased"), ("spatial", "noiseless_unbiased"),
                  ("head_direction", "noisy_unbiased"), ("head_direction", "noiseless_unbiased")],
    "ext_hd_metrics": [("head_direction", c) for c in ("noisy_unbiased", "noiseless_unbiased", "noisy_biased",
                                                       "noiseless_biased")],
    "ext_training_noise": [  # per-step noise variance 0, 1e-5, 1e-4, 1e-3 and the released code's U[0,1)·0.01
        ("spatial", "noiseless_unbiased"), ("spatial", "noisy_unbiased", {"noise_std": math.sqrt(1e-5)}),
        ("spatial", "noisy_unbiased"), ("spatial", "noisy_unbiased", {"noise_std": math.sqrt(1e-3)}),
        ("spatial", "noisy_unbiased", {"noise_kind": "uniform", "recurrent_bias": False})],
    "ext_constant_drive": [(task, "noisy_unbiased", spec) for task in C.TASKS for spec in C.CONSTANT_DRIVE_MODELS.values()],
    "explore": [("spatial", "noisy_unbiased")],
}
# Notebooks that use only their first few seeds (the `seeds` of their parameters cell), whatever the preset's.
NOTEBOOK_SEEDS: dict[str, int] = {"ext_temperature": 2, "ext_score": 2, "ext_hd_metrics": 2, "ext_training_noise": 2,
                                  "ext_constant_drive": 2, "explore": 1}


# Seconds each notebook took in a cold laptop `make figures` (two kernels at a time, one thread each):
# `regenerate` starts the slowest first, so no long one is left running alone. Only the order matters.
NOTEBOOK_COST: dict[str, float] = {
    "fig2_biased_and_kl": 52, "figC2_gru": 31, "figC1_same_quiescent_noise": 26, "ext_temperature": 24,
    "ext_training_noise": 19, "fig1_spatial_reactivation": 15, "ext_score": 15, "fig3_head_direction": 13,
    "figC5_hd_transitions": 12, "ext_hd_metrics": 12, "figC3_noise_conditions": 9, "figC4_step_distance": 9,
    "explore": 8, "ext_constant_drive": 40,
}


def figure_name(notebook: str) -> str:
    """`fig1_spatial_reactivation` -> `fig1`, `ext_temperature` -> `ext_temperature`: the composed figure's
    file name and the results JSON's name."""
    return notebook if notebook.startswith(("ext_", "explore")) else notebook.split("_")[0]


def select_notebooks(only: str | None) -> list[str]:
    """Notebooks that exist, filtered by comma-separated names or prefixes (`fig1,figC`)."""
    present = [name for name in NOTEBOOKS if (NOTEBOOK_DIR / f"{name}.ipynb").exists()]
    if not only:
        return present
    wanted = [w.strip().removesuffix(".ipynb") for w in only.split(",") if w.strip()]
    chosen = [n for n in present if any(n.startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(n.startswith(w) for n in present)]
    if unknown:
        raise C.ConfigError(f"no notebook matches {', '.join(unknown)}; notebooks: {', '.join(present)}")
    return chosen


def required_models(notebooks: list[str], preset: str, seeds: tuple[int, ...] | None = None) -> list[tuple]:
    """(task, condition, seed) for every model the notebooks need, each once, in a stable order; a model with
    config overrides is (task, condition, seed, ((field, value), ...)). A notebook of `NOTEBOOK_SEEDS` needs
    only its first seeds; explicit `seeds` (a partial run, `--seeds`) are used for every notebook instead."""
    n_seeds = C.get_preset(preset).seeds
    wanted: dict[tuple, int] = {}
    for nb in notebooks:
        for task, cond, *extra in NOTEBOOKS[nb]:
            key = (task, cond, tuple(sorted(extra[0].items())) if extra else ())
            wanted[key] = max(wanted.get(key, 0), min(n_seeds, NOTEBOOK_SEEDS.get(nb, n_seeds)))
    return [(task, cond, seed, *((over,) if over else ())) for (task, cond, over), n in wanted.items()
            for seed in (range(n) if seeds is None else seeds)]


def job_config(job: tuple, preset: str, overrides: dict | None = None) -> C.RunConfig:
    """The resolved config of a `required_models` entry. `overrides` (the command line's: a model variant) go
    first and the notebook's own choices for that model last, as `FigureSettings.networks` resolves them."""
    task, cond, seed, *extra = job
    return C.resolve_config(task, cond, seed, preset, (overrides or {}) | dict(extra[0] if extra else ()))


def training_cost(cfg: C.RunConfig) -> float:
    """Rough multiply-adds of a training run (recurrent and readout products): orders the queue so that no long
    run starts last and leaves the other cores idle."""
    gates = 3 if cfg.model.cell == "gru" else 1
    per_step = cfg.model.n_rec * (gates * cfg.model.n_rec + cfg.task.n_cells)
    return cfg.train.batches * cfg.train.batch_size * cfg.task.steps * per_step


def _train_one(job: tuple, preset: str, outputs_dir: str, device: str, threads: int, overrides: dict) -> str:
    import torch

    from .training import get_model
    torch.set_num_threads(threads)
    task, cond, seed, *extra = job
    net = get_model(task, cond, seed, preset=preset, outputs_dir=outputs_dir, device=device, progress=False,
                    **(overrides | dict(extra[0] if extra else ())))
    return str(net.run_dir)


def default_jobs(device: str) -> int:
    # Measured on 2 cores: two single-threaded processes beat one two-threaded process on these small
    # matrices (see README, Performance). On a GPU one process owns the device.
    return 1 if device != "cpu" else max(1, min(os.cpu_count() or 1, 4))


def train_grid(preset: str = C.DEFAULT_PRESET, outputs_dir: str = "outputs", only: str | None = None,
               jobs: int | None = None, device: str = "cpu", overrides: dict | None = None,
               launcher: str = "local", slurm=None, seeds: tuple[int, ...] | None = None) -> int:
    """Train the models the notebooks need that are not in the cache: in local processes, or with
    `launcher="slurm"` one Slurm job each (`slurm`: a `slurm.SlurmOptions`). 0 when all are trained."""
    from .training import is_trained, run_dir_for
    C.check_choice("launcher", launcher, ("local", "slurm"))
    overrides = overrides or {}
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise C.ConfigError(f"--jobs must be a positive integer, got {jobs!r}")
    todo, seen = [], set()
    for job in required_models(select_notebooks(only), preset, seeds):
        cfg = job_config(job, preset, overrides)
        run_dir = run_dir_for(cfg, preset, outputs_dir)
        if run_dir not in seen and not is_trained(run_dir, cfg):  # a damaged model is retrained
            todo.append(job)
        seen.add(run_dir)  # two notebooks may name one model differently (explicitly, or by the defaults)
    if launcher == "slurm":
        from . import slurm as S
        return S.train_grid(todo, preset, outputs_dir, device, overrides, slurm or S.SlurmOptions())
    jobs = jobs or default_jobs(device)
    todo.sort(key=lambda job: training_cost(job_config(job, preset, overrides)), reverse=True)  # longest first
    print(f"[train] {len(todo)} model(s) to train at preset {preset!r} with {jobs} process(es)", flush=True)
    if not todo:
        return 0
    threads = max(1, (os.cpu_count() or 1) // jobs)
    t0 = time.perf_counter()
    # glibc returns every large (B, T, N) buffer to the OS and maps it again on the next step; keeping freed
    # memory in the process makes a CPU training step 6–18 % faster (utils/bench.py, README Performance).
    # glibc reads these at process start-up, so they take effect in the workers spawned below.
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(2**30))
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(2**31))
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_train_one, job, preset, outputs_dir, device, threads, overrides): job for job in todo}
        for i, fut in enumerate(as_completed(futures), 1):
            task, cond, seed, *extra = futures[fut]
            fut.result()  # re-raises a worker's error with its traceback
            sets = "".join(f" {k}={v:g}" if isinstance(v, float) else f" {k}={v}" for k, v in (extra[0] if extra else ()))
            print(f"[train] {i}/{len(todo)} {task}/{cond}/seed{seed}{sets} done "
                  f"({time.perf_counter() - t0:.0f} s elapsed)", flush=True)
    return 0


# A kernel inherits our environment: make it draw inline (as Jupyter does), whatever MPLBACKEND says, so the
# executed notebooks show their figures.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@contextmanager
def kernel_environment(**env):
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


def execute_notebook(name: str, preset: str, outputs_dir: str, device: str, out_dir: Path,
                     extra_parameters: dict | None = None, variant: str = "default", html: bool = True) -> Path:
    """Run one notebook with papermill; the executed copy goes to `out_dir`, with an HTML export beside it.

    The copy carries no path of this machine: `outputs_dir` is passed relative to `notebooks/` (where the kernel
    runs), and papermill's record of its input and output names the repository's files, not temporary ones."""
    import papermill as pm
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}.ipynb"
    tmp = out_dir / f".{name}.partial.ipynb"
    outputs = os.path.relpath(Path(outputs_dir).resolve(), NOTEBOOK_DIR)
    params = {"preset": preset, "outputs_dir": outputs, "device": device, "variant": variant}
    with kernel_environment(MPLBACKEND=INLINE_BACKEND):
        pm.execute_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"), str(tmp), parameters=params | (extra_parameters or {}),
                            kernel_name="python3", progress_bar=False,
                            # The kernel starts in notebooks/. Not papermill's `cwd`: it chdirs this whole process
                            # for the notebook's run, and a second notebook's thread then resolves its paths there.
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
                            # no start-up warning per kernel (TCP without encryption) between our progress lines
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    nb = json.loads(tmp.read_text())
    nb["metadata"].get("papermill", {}).update(input_path=f"notebooks/{name}.ipynb",
                                               output_path=f"{Path(out_dir).name}/{name}.ipynb")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    if html:
        from .site import export_html
        export_html(out)
    return out


def regenerate(preset: str = C.DEFAULT_PRESET, outputs_dir: str = "outputs", only: str | None = None,
               jobs: int | None = None, device: str = "cpu", overrides: dict | None = None,
               launcher: str = "local", slurm=None, seeds: tuple[int, ...] | None = None) -> int:
    """Train the missing models, execute the notebooks, then write the report and index page.

    `overrides` may only select a model variant (`config.VARIANTS`, e.g. `recurrent_bias=false` for the paper as
    written): its results go to their own `outputs/<preset>-<variant>/`, its models to the preset's cache.
    `seeds` (a partial run) trains and analyses only those seeds, into `outputs/<preset>-seed<…>[-<variant>]/`,
    never mixed with a run on the preset's seeds."""
    import papermill as pm
    variant = C.variant_of(overrides)
    result_set = C.result_set(preset, variant, seeds)
    notebooks = select_notebooks(only)
    t_start = time.perf_counter()
    if train_grid(preset, outputs_dir, only, jobs, device, C.VARIANTS[variant], launcher=launcher, slurm=slurm,
                  seeds=seeds) != 0:
        return 1  # a model is missing (its Slurm job failed): no notebook runs
    out_dir = Path(outputs_dir) / result_set / "notebooks"
    jobs = jobs or default_jobs(device)
    # The notebooks are independent: `jobs` kernels at once, each with its share of the cores (a kernel's
    # torch reads OMP_NUM_THREADS when it starts). The slowest first, so that none is left running alone.
    order = sorted(notebooks, key=lambda n: NOTEBOOK_COST.get(n, 1), reverse=True)
    threads = max(1, (os.cpu_count() or 1) // jobs)

    def run_one(name: str) -> float:
        t0 = time.perf_counter()
        partial = {} if seeds is None else {"seeds": list(seeds), "partial": True}
        execute_notebook(name, preset, outputs_dir, device, out_dir, partial, variant=variant)
        return time.perf_counter() - t0

    failed = False
    with kernel_environment(MPLBACKEND=INLINE_BACKEND, OMP_NUM_THREADS=threads), ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(run_one, name): name for name in order}
        for i, fut in enumerate(as_completed(futures), 1):
            name = futures[fut]
            try:
                print(f"[notebook {i}/{len(order)}] {name} done in {fut.result():.0f} s", flush=True)
            except pm.PapermillExecutionError as err:
                failed = True
                print(f"[notebook {i}/{len(order)}] {name} FAILED", flush=True)
                print(f"notebook {name} failed in cell {err.cell_index} (execution count {err.exec_count}): "
                      f"{err.ename}: {err.evalue}", file=sys.stderr)
    if failed:
        return 1
    from . import report
    report.main(preset, outputs_dir, variant, seeds)
    index = write_index(result_set, outputs_dir)
    print(f"[done] {len(notebooks)} notebook(s) in {time.perf_counter() - t_start:.0f} s; index: {index}")
    return 0


def write_index(result_set: str, outputs_dir: str) -> Path:
    """`<outputs>/<result set>/index.html`: the claims table and every composed figure (see `utils.site`)."""
    from .site import write_index as render
    return render(result_set, outputs_dir, {name: figure_name(name) for name in NOTEBOOKS}, NOTEBOOK_DIR)
