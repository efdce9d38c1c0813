"""Speed benchmark (`python -m benchmarks`, `make bench`): the training step against the released code's loop.

For each network of the paper (SP RNN-512, HD RNN-128, SP GRU-512, sizes from the `paper` preset) one
training step (a fresh batch of 200 trajectories of 100 steps, forward, backward, Adam) is timed two ways:

- fast: the project's step, `training.train_step`, i.e. `net(inputs, h0, generator=…)`;
- baseline: the same step around `baseline.baseline_forward`, the released code's per-step loop.

Data generation (`tasks.sample_batch`) is part of both steps and is also reported on its own. In the same
loop the machine's own fp32 matmul throughput is timed, on a (B, N) @ (N, N) product (the recurrent matmul
of the step) and on a large square one, and each step's matmul FLOPs (counted analytically) are set
against it. Fast, baseline and the matmuls alternate within each repetition (A B … then … B A), every
ratio is taken between measurements of the same repetition and the medians are reported, so the drift of a
shared machine cancels. Each figure is given for the wall clock and, with one CPU thread, for the process's
CPU time (`cpu_…`), which leaves out the time slices that other jobs on the machine take.

Peak memory of a step is measured in a fresh process per network and variant on a CPU (the rise of the peak
resident set over one step; tracemalloc does not see torch's allocations), with `max_memory_allocated` on
CUDA. Then three `laptop` SP RNN seeds are trained a step at a time alone and as one stack (`benchmarks.stacked`),
beside a tiny network's step that measures per-operation dispatch (`bench_stacking`). Last, one network of the
`laptop` preset is analysed as a figure notebook analyses it.

`main` sets torch's thread count as `pipeline.grid.train_grid` trains (one per process on a 2-core machine).
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

from utils import config as C
from utils.models import build_network
from utils.tasks import input_size, sample_batch
from utils.training import DATA_STREAM, NOISE_STREAM, loss_fn, optimizer_step, resolve_device, train_step

from .baseline import baseline_forward
from .stacked import stack_parameters, stacked_train_step

ROOT = Path(__file__).resolve().parent.parent

# (task, condition) of the benchmarked networks; their sizes come from the preset.
NETWORKS = (("spatial", "noisy_unbiased"), ("head_direction", "noisy_unbiased"), ("spatial", "gru_noisy_unbiased"))

# The seed-stacking measurement: laptop SP RNN, 3 seeds (`benchmarks.stacked`).
STACKING = ("spatial", "noisy_unbiased", "laptop", 3)

# Speed targets of this bundle (2-core CPU, paper sizes): (what, where, key, "min"/"max", bound); where is a
# (task, condition) of NETWORKS, None for the analysis or STACKING for the seed-stacking row.
SP_RNN, HD_RNN, SP_GRU = NETWORKS
TARGETS = (
    ("SP RNN step: speed-up over the baseline", SP_RNN, "speedup", "min", 3.5),
    ("SP RNN step: share of the measured matmul throughput", SP_RNN, "matmul_share", "min", 0.60),
    ("HD RNN step: speed-up over the baseline", HD_RNN, "speedup", "min", 8.0),
    ("SP GRU step: speed-up over the baseline", SP_GRU, "speedup", "min", 3.0),
    ("data generation: share of the SP RNN step", SP_RNN, "data_share", "max", 0.15),
    ("SP RNN step: peak memory (MB)", SP_RNN, "peak_mb", "max", 2048.0),
    ("analysis of one laptop network (s)", None, "analysis_s", "max", 30.0),
    # Not met on a 2-core CPU (about 1.0): the laptop step is compute-bound (docs/performance.md).
    ("laptop SP RNN: seed-stacked (k = 3) speed-up per seed", STACKING, "stacked_speedup", "min", 2.0),
)


# ----------------------------------------------------------------------------------------------------------
# What is timed


def baseline_train_step(net, optimizer: torch.optim.Optimizer, batch, noise_gen: torch.Generator) -> float:
    """`training.train_step` with the released code's loop in place of the network's: outputs from the loop,
    scored with `loss_fn` (the released code's readout and loss); the same Adam step."""
    h0 = net.initial_state(batch.init_code)
    return optimizer_step(optimizer, loss_fn(baseline_forward(net, batch.inputs, h0, generator=noise_gen)[1],
                                             batch.targets))


STEPS = {"fast": train_step, "baseline": baseline_train_step}


def step_matmul_flops(cfg: C.RunConfig) -> float:
    """Matmul FLOPs of one training step: 3 × forward (the backward has two matmuls per forward matmul).

    Forward: encoder (B, n_cells) @ (n_cells, N); input projection (B·T, n_in) @ (n_in, gates·N); recurrent
    (B, N) @ (N, N) per step (the GRU: (N, 2N) for z and g, (N, N) for the candidate); readout
    (B·T, N) @ (N, n_cells). Elementwise work, noise and data generation are not counted.
    """
    B, T, N = cfg.train.batch_size, cfg.task.steps, cfg.model.n_rec
    n_in, n_out, gru = input_size(cfg.task), cfg.task.n_cells, cfg.model.cell == "gru"
    forward = (2 * B * n_out * N                              # encoder
               + 2 * B * T * n_in * (3 if gru else 1) * N     # input projection
               + 2 * B * T * N * N * (3 if gru else 1)        # recurrent
               + 2 * B * T * N * n_out)                       # readout
    return 3.0 * forward


def _clocks(device: torch.device) -> tuple[float, float]:
    """(wall, CPU) seconds now; the device is synchronised first so that a CUDA step has finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter(), time.process_time()


def make_step(cfg: C.RunConfig, variant: str, device: torch.device) -> Callable[[], dict[str, float]]:
    """A fresh network, Adam and the training run's data and noise streams; each call is one timed step.

    The two variants of one config start from the same weights, batches and noise seeds, so their first
    calls compute the same loss (the fast loop's up-front (T, B, N) noise draw and the baseline's per-step
    (B, N) draws give the same numbers on a CPU when B·N is a multiple of 16, as at every preset size).
    """
    net = build_network(cfg.task, cfg.model, cfg.seed).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    cells = copy.deepcopy(net.cells).cpu()  # data is generated on the CPU, then moved (as in training)
    data_gen = torch.Generator().manual_seed(cfg.seed + DATA_STREAM)
    noise_gen = torch.Generator(device=device).manual_seed(cfg.seed + NOISE_STREAM)
    step = STEPS[variant]

    def run() -> dict[str, float]:
        (w0, c0) = _clocks(device)
        batch = sample_batch(cfg.task, cells, cfg.train.batch_size, data_gen).to(device)
        (w1, c1) = _clocks(device)
        loss = step(net, optimizer, batch, noise_gen)
        (w2, c2) = _clocks(device)
        return {"wall": w2 - w0, "cpu": c2 - c0, "data_wall": w1 - w0, "data_cpu": c1 - c0, "loss": loss}

    return run


def make_matmul(m: int, k: int, n: int, device: torch.device, flops: float = 2e9) -> Callable[[], dict[str, float]]:
    """Times (m, k) @ (k, n) fp32 products, repeated up to about `flops` FLOPs per call; returns GFLOP/s."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen).to(device)
    b = torch.randn(k, n, generator=gen).to(device)
    out = torch.empty(m, n, device=device)
    reps = int(min(1000, max(1, flops // (2 * m * k * n))))
    gflop = 2 * m * k * n * reps / 1e9

    def run() -> dict[str, float]:
        (w0, c0) = _clocks(device)
        for _ in range(reps):
            torch.mm(a, b, out=out)
        (w1, c1) = _clocks(device)
        return {"wall": gflop / (w1 - w0), "cpu": gflop / max(c1 - c0, 1e-9)}

    return run


def interleave(runs: dict[str, Callable[[], dict[str, float]]], repeats: int,
               warmup: int = 1) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, float]]]:
    """Call every run once per repetition, in order on even and reversed on odd repetitions.

    Returns the samples of the `repeats` timed repetitions (run -> key -> list) and the first (warm-up)
    call of each run.
    """
    names = list(runs)
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    first: dict[str, dict[str, float]] = {}
    for rep in range(warmup + repeats):
        for name in (names if rep % 2 == 0 else names[::-1]):
            out = runs[name]()
            first.setdefault(name, out)
            if rep >= warmup:
                for key, value in out.items():
                    samples[name].setdefault(key, []).append(value)
    return samples, first


def _median(xs) -> float:
    return float(statistics.median(xs))


def _paired(xs, ys, f) -> float:
    """Median over repetitions of f(x, y): a ratio between measurements of the same repetition."""
    return _median([f(x, y) for x, y in zip(xs, ys)])


def label(cfg: C.RunConfig) -> str:
    return f"{'SP' if cfg.task.name == 'spatial' else 'HD'} {cfg.model.cell.upper()}-{cfg.model.n_rec}"


def cpu_clock_valid(device: torch.device) -> bool:
    """CPU time measures a step only on a CPU with one thread (with more it sums the threads)."""
    return device.type == "cpu" and torch.get_num_threads() == 1


def bench_network(cfg: C.RunConfig, repeats: int, device: torch.device, big: int = 2048) -> dict[str, Any]:
    """Fast and baseline steps of one network, with the matmul throughput timed in the same loop.

    Every figure is given for the wall clock and, where valid (`cpu_clock_valid`), for this process's CPU
    time under the `cpu_` prefix: on a machine shared with other jobs the CPU time leaves out the time
    slices the others take, and so varies much less from run to run than the wall time.
    """
    B, N = cfg.train.batch_size, cfg.model.n_rec
    flops = step_matmul_flops(cfg)
    # The reference runs for an eighth of the step's matmul work (at least 2 GFLOP): long enough that a
    # shared machine's time slices average out much as they do over a step.
    runs = {"fast": make_step(cfg, "fast", device), "baseline": make_step(cfg, "baseline", device),
            "matmul": make_matmul(B, N, N, device, flops=max(2e9, flops / 8)),
            "matmul_big": make_matmul(big, big, big, device, flops=0)}
    samples, first = interleave(runs, repeats)
    clocks = {"": "wall", "cpu_": "cpu"} if cpu_clock_valid(device) else {"": "wall"}
    variants: dict[str, dict[str, Any]] = {name: {} for name in STEPS}
    row: dict[str, Any] = {
        "network": label(cfg), "task": cfg.task.name, "condition": C.condition_name(cfg), "n_rec": N,
        "batch_size": B, "steps": cfg.task.steps, "n_cells": cfg.task.n_cells,
        "matmul_gflop_per_step": flops / 1e9, "matmul_shape": [B, N, N], "big_matmul_shape": [big, big, big]}
    for prefix, clock in clocks.items():
        mm, mm_big = samples["matmul"][clock], samples["matmul_big"][clock]
        for name in STEPS:
            t = samples[name][clock]
            gflops = [flops / s / 1e9 for s in t]
            variants[name].update({
                f"{prefix}ms": 1e3 * _median(t),
                f"{prefix}gflops": _median(gflops),
                f"{prefix}matmul_share": _paired(gflops, mm, lambda g, m: g / m),
                f"{prefix}big_matmul_share": _paired(gflops, mm_big, lambda g, m: g / m),
                f"{prefix}speedup": _paired(samples["baseline"][clock], t, lambda b, s: b / s),
            })
        fast = samples["fast"]
        row.update({
            f"{prefix}matmul_gflops": _median(mm), f"{prefix}big_matmul_gflops": _median(mm_big),
            f"{prefix}data_ms": 1e3 * _median(fast[f"data_{clock}"] + samples["baseline"][f"data_{clock}"]),
            f"{prefix}data_share": _paired(fast[f"data_{clock}"], fast[clock], lambda d, s: d / s),
            f"{prefix}speedup": variants["fast"][f"{prefix}speedup"],
            f"{prefix}matmul_share": variants["fast"][f"{prefix}matmul_share"],
        })
    loss_fast, loss_base = first["fast"]["loss"], first["baseline"]["loss"]
    row["first_loss"] = {"fast": loss_fast, "baseline": loss_base,
                         "rel_diff": abs(loss_fast - loss_base) / max(abs(loss_base), 1e-30)}
    row["variants"] = variants
    return row


def make_seed_steps(cfg: C.RunConfig, k: int, device: torch.device, stacked: bool) -> Callable[[], dict[str, float]]:
    """Seeds 0 … k−1 of `cfg`, each with its own data and noise streams; each call is one training step of
    every seed, as k single steps or as one stacked step (`benchmarks.stacked`), data generation included."""
    cfgs = [dataclasses.replace(cfg, seed=s) for s in range(k)]
    nets = [build_network(c.task, c.model, c.seed).to(device) for c in cfgs]
    cells = [copy.deepcopy(net.cells).cpu() for net in nets]
    data_gens = [torch.Generator().manual_seed(c.seed + DATA_STREAM) for c in cfgs]
    noise_gens = [torch.Generator(device=device).manual_seed(c.seed + NOISE_STREAM) for c in cfgs]
    adam = functools.partial(torch.optim.Adam, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    if stacked:
        params = stack_parameters(nets)
        optimizer = adam(params.values())
    else:
        optimizers = [adam(net.parameters()) for net in nets]

    def run() -> dict[str, float]:
        (w0, c0) = _clocks(device)
        batches = [sample_batch(cfg.task, c, cfg.train.batch_size, g).to(device) for c, g in zip(cells, data_gens)]
        (w1, c1) = _clocks(device)
        if stacked:
            stacked_train_step(params, optimizer, cfg.model, batches, noise_gens)
        else:
            for net, opt, batch, gen in zip(nets, optimizers, batches, noise_gens):
                train_step(net, opt, batch, gen)
        (w2, c2) = _clocks(device)
        return {"wall": w2 - w0, "cpu": c2 - c0, "data_wall": w1 - w0, "data_cpu": c1 - c0}

    return run


def tiny(cfg: C.RunConfig) -> C.RunConfig:
    """`cfg` shrunk to 8 units, 8 cells and 2 trajectories, steps unchanged: a step that is almost all
    per-operation dispatch (the same kernels, launched as often, on next to no data)."""
    return dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, n_cells=8),
                               model=dataclasses.replace(cfg.model, n_rec=8),
                               train=dataclasses.replace(cfg.train, batch_size=2))


def bench_stacking(repeats: int, device: torch.device, preset: str = STACKING[2]) -> dict[str, Any]:
    """k seeds trained as k single steps against one stacked step, and the share of a single step that is
    dispatch, interleaved in one loop.

    `stacked_speedup` is seconds per seed-step alone ÷ stacked (data generation in both). `dispatch_share` is
    a tiny network's step (`tiny`, data excluded) over a seed's whole step: stacking k seeds launches each
    kernel once instead of k times, so it can save at most (1 − 1/k) of that share and nothing else.
    """
    task, condition, _, k = STACKING
    cfg = C.resolve_config(task, condition, 0, preset)
    runs = {"single": make_seed_steps(cfg, k, device, stacked=False),
            "stacked": make_seed_steps(cfg, k, device, stacked=True),
            "tiny": make_seed_steps(tiny(cfg), 1, device, stacked=False)}
    samples, _ = interleave(runs, repeats)
    clocks = {"": "wall", "cpu_": "cpu"} if cpu_clock_valid(device) else {"": "wall"}
    row: dict[str, Any] = {"network": label(cfg), "preset": preset, "seeds": k, "n_rec": cfg.model.n_rec,
                           "batch_size": cfg.train.batch_size, "steps": cfg.task.steps}
    for prefix, clock in clocks.items():
        single, stacked = samples["single"][clock], samples["stacked"][clock]
        tiny_step = [t - d for t, d in zip(samples["tiny"][clock], samples["tiny"][f"data_{clock}"])]
        row.update({
            f"{prefix}single_ms_per_seed": 1e3 * _median(single) / k,
            f"{prefix}stacked_ms_per_seed": 1e3 * _median(stacked) / k,
            f"{prefix}stacked_speedup": _paired(single, stacked, lambda a, b: a / b),
            f"{prefix}dispatch_share": _paired(tiny_step, single, lambda t, s: t / (s / k)),
            f"{prefix}data_share": _paired(samples["single"][f"data_{clock}"], single, lambda d, s: d / s),
        })
    return row


# ----------------------------------------------------------------------------------------------------------
# Peak memory


def _peak_rss_mb(reset: bool = False) -> float:
    """Peak resident memory of this process in MB; `reset=True` first lowers it to the current RSS.

    On Linux the peak is VmHWM, which `/proc/self/clear_refs` resets: `ru_maxrss` cannot be used as is in a
    child, because Linux carries the parent's peak over into a forked-and-exec'd child's `ru_maxrss`.
    Elsewhere `ru_maxrss` (bytes on macOS, KiB on Linux), without reset.
    """
    status = Path("/proc/self/status")
    if status.exists():
        if reset:
            try:
                Path("/proc/self/clear_refs").write_text("5")
            except OSError:
                pass
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def memory_child(task: str, condition: str, preset: str, variant: str, threads: int,
                 overrides: dict | None = None) -> dict[str, float]:
    """In a fresh process: the rise of the peak resident memory over one CPU step (data generation included)."""
    torch.set_num_threads(threads)
    cfg = C.resolve_config(task, condition, 0, preset, overrides)
    step = make_step(cfg, variant, torch.device("cpu"))
    before = _peak_rss_mb(reset=True)
    step()
    after = _peak_rss_mb()
    return {"peak_mb": after - before, "process_peak_mb": after}


def peak_memory(cfg: C.RunConfig, preset: str, variant: str, device: torch.device,
                overrides: dict | None = None) -> dict[str, float]:
    """Peak memory of one step: a fresh process on a CPU, `max_memory_allocated` on CUDA."""
    if device.type == "cuda":
        step = make_step(cfg, variant, device)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        peak = torch.cuda.max_memory_allocated(device)
        return {"peak_mb": (peak - before) / 2**20, "process_peak_mb": peak / 2**20}
    args = dict(task=cfg.task.name, condition=C.condition_name(cfg), preset=preset, variant=variant,
                threads=torch.get_num_threads(), overrides=overrides)
    code = ("import json, sys; from benchmarks.bench import memory_child; "
            "print(json.dumps(memory_child(**json.loads(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------------------
# Analysis of one network


def time_analysis(preset: str = "laptop", device: torch.device | str = "cpu", seed: int = 0) -> dict[str, Any]:
    """Seconds for the analysis of one SP network at `preset`'s `AnalysisConfig` sizes, as the notebooks run it.

    An untrained network of the preset's size (the cost does not depend on the weights): the active test
    batch, the quiescent run and one KL for Fig. 2e, the long quiescent run and total variance of Fig. 2f,
    and the explained variance of Fig. 1c.
    """
    from utils import analysis as A
    a = C.get_preset(preset).analysis
    cfg = C.resolve_config("spatial", "noisy_unbiased", seed, preset)
    net = build_network(cfg.task, cfg.model, cfg.seed).to(device).eval()
    parts: dict[str, float] = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        parts[name] = time.perf_counter() - t0
        return out

    active = timed("active_run", lambda: A.active_run(net, a.n_kde, a.active_steps, seed))
    quiet = timed("quiescent_run_kl", lambda: A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, "scaled",
                                                               seed, keep_states=False))
    kl = timed("kl_divergence", lambda: A.kl_divergence(quiet.decoded, active.decoded, a.kl_samples, seed))
    long_run = timed("quiescent_run_variance", lambda: A.quiescent_run(net, a.n_variance, a.variance_steps,
                                                                         "scaled", seed, keep_states=False))
    tv = timed("total_variance", lambda: A.total_variance(long_run.decoded, burn_in=a.variance_steps // 2))
    hidden = timed("active_run_pca", lambda: A.active_run(net, a.n_pca, a.active_steps, seed).hidden)
    ev = timed("explained_variance", lambda: A.explained_variance(hidden))
    return {"available": True, "preset": preset, "network": label(cfg), "seconds": sum(parts.values()),
            "parts_s": parts, "values": {"kl": kl, "total_variance": tv, "explained_variance_pc10": float(ev[-1])}}


# ----------------------------------------------------------------------------------------------------------
# The whole benchmark


def default_threads() -> int:
    """Threads per process as `pipeline.grid.train_grid` trains: the cores shared by its default number of jobs."""
    from .pipeline.grid import default_jobs
    return max(1, (os.cpu_count() or 1) // default_jobs("cpu"))


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each speed target with its measured value, wall-clock and (`cpu_`) CPU-time where both exist,
    and whether it is met (None: not measured, or not at the sizes the target is for: `paper` steps and a
    `laptop` analysis)."""
    by_net = {(r["task"], r["condition"]): r for r in result["networks"]}
    out = []
    for what, net, key, kind, bound in TARGETS:
        values: dict[str, Any] = {"value": None, "cpu_value": None}
        if net is None:
            analysis = result.get("analysis") or {}
            values["value"] = analysis.get("seconds") if analysis.get("preset") == "laptop" else None
        elif net is STACKING:
            stacking = result.get("stacking") or {}
            if stacking.get("preset") == STACKING[2]:
                values = {"value": stacking.get(key), "cpu_value": stacking.get(f"cpu_{key}")}
        elif result["preset"] == "paper" and net in by_net:
            row = by_net[net]
            if key == "peak_mb":
                values["value"] = row["variants"]["fast"].get("peak_mb")
            else:
                values = {"value": row.get(key), "cpu_value": row.get(f"cpu_{key}")}
        t = {"target": what, "bound": bound, "kind": kind, **values}
        for name in ("value", "cpu_value"):
            v = values[name]
            t[name.replace("value", "met")] = None if v is None else (v >= bound if kind == "min" else v <= bound)
        out.append(t)
    return out


def run(repeats: int = 5, device: str = "cpu", preset: str = "paper", analysis_preset: str | None = "laptop",
        memory: bool = True, networks=NETWORKS, big: int = 2048, overrides: dict | None = None,
        stacking_preset: str | None = STACKING[2]) -> dict[str, Any]:
    """Every measurement, as one JSON-able dict. Sizes come from `preset` (+ `overrides`); torch's thread
    count is left as the caller set it. `analysis_preset=None` skips the analysis, `stacking_preset=None`
    the seed-stacking measurement."""
    if repeats < 1:
        raise C.ConfigError(f"--repeats must be >= 1, got {repeats}")
    dev = resolve_device(device)
    result: dict[str, Any] = {"device": str(dev), "threads": torch.get_num_threads(), "torch": torch.__version__,
                              "preset": preset, "repeats": repeats, "networks": []}
    for task, condition in networks:
        cfg = C.resolve_config(task, condition, 0, preset, overrides)
        row = bench_network(cfg, repeats, dev, big)
        if memory:
            for name in STEPS:
                row["variants"][name].update(peak_memory(cfg, preset, name, dev, overrides))
        result["networks"].append(row)
    if stacking_preset is not None:
        result["stacking"] = bench_stacking(repeats, dev, stacking_preset)
    if analysis_preset is not None:
        result["analysis"] = time_analysis(analysis_preset, dev)
    result["targets"] = check_targets(result)
    return result


def _f(value, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(scale * value, spec)


def format_table(result: dict[str, Any]) -> str:
    """The human-readable report: one row per network and variant, then the matmul references, analysis, targets."""
    lines = [f"training step, {result['preset']} sizes, {result['device']}, {result['threads']} thread(s), "
             f"torch {result['torch']}, median of {result['repeats']} interleaved repetitions",
             "x baseline, % matmul: medians of ratios within a repetition; % matmul: of the (B, N) @ (N, N) and the "
             "big matmul timed in the same loop;",
             "(cpu): the same from this process's CPU time, which leaves out time slices taken by other jobs",
             "",
             f"{'network':<11} {'step':<8} {'ms/step':>8} {'(cpu)':>7} {'x baseline':>10} {'(cpu)':>6} "
             f"{'GFLOP/s':>7} {'% matmul':>8} {'(cpu)':>6} {'% big mm':>8} {'MB':>5}"]
    for r in result["networks"]:
        for i, (name, v) in enumerate(r["variants"].items()):
            lines.append(
                f"{r['network'] if i == 0 else '':<11} {name:<8} {v['ms']:8.1f} {_f(v.get('cpu_ms'), '7.1f')} "
                f"{v['speedup']:10.2f} {_f(v.get('cpu_speedup'), '6.2f')} {v['gflops']:7.1f} "
                f"{_f(v['matmul_share'], '7.0f', 100)}% {_f(v.get('cpu_matmul_share'), '5.0f', 100)}% "
                f"{_f(v['big_matmul_share'], '7.0f', 100)}% {_f(v.get('peak_mb'), '5.0f')}")
        lines.append(f"{'':<11} {'data':<8} {r['data_ms']:8.1f} {_f(r.get('cpu_data_ms'), '7.1f')}   "
                     f"({_f(r['data_share'], '.0f', 100)}% of the fast step, "
                     f"cpu {_f(r.get('cpu_data_share'), '.0f', 100)}%; part of both steps)")
        m, b = r["matmul_shape"], r["big_matmul_shape"]
        lines.append(f"{'':<11} {r['matmul_gflop_per_step']:.1f} GFLOP of matmuls per step; machine: "
                     f"({m[0]}x{m[1]})@({m[1]}x{m[2]}) {r['matmul_gflops']:.0f} GFLOP/s "
                     f"(cpu {_f(r.get('cpu_matmul_gflops'), '.0f')}), {b[0]}^3 {r['big_matmul_gflops']:.0f} GFLOP/s; "
                     f"first loss fast {r['first_loss']['fast']:.6e}, baseline {r['first_loss']['baseline']:.6e}")
    st = result.get("stacking")
    if st is not None:
        lines += ["", f"seed stacking, {st['preset']} {st['network']}, {st['seeds']} seeds: "
                      f"{st['single_ms_per_seed']:.1f} ms per seed-step alone, {st['stacked_ms_per_seed']:.1f} stacked "
                      f"(x{st['stacked_speedup']:.2f}, cpu x{_f(st.get('cpu_stacked_speedup'), '.2f')}); dispatch "
                      f"{_f(st['dispatch_share'], '.0f', 100)}% of a seed-step (cpu {_f(st.get('cpu_dispatch_share'), '.0f', 100)}%), "
                      f"data {_f(st['data_share'], '.0f', 100)}%"]
    a = result.get("analysis")
    if a is not None:
        lines.append("")
        if a["available"]:
            parts = ", ".join(f"{k} {v:.1f}" for k, v in a["parts_s"].items())
            lines.append(f"analysis of one {a['preset']} network ({a['network']}): {a['seconds']:.1f} s ({parts})")
        else:
            lines.append(f"analysis: not available ({a['error']})")
    lines += ["", "targets (a 2-core CPU at the paper sizes; the analysis and seed stacking at laptop sizes):"]
    for t in result["targets"]:
        marks = {True: "met", False: "MISSED", None: "n/a"}
        cpu = "" if t["cpu_value"] is None else f"; cpu {t['cpu_value']:.3g} {marks[t['cpu_met']]}"
        lines.append(f"  {marks[t['met']]:<7} {t['target']} {'>=' if t['kind'] == 'min' else '<='} {t['bound']:g}: "
                     f"{_f(t['value'], '.3g')}{cpu}")
    return "\n".join(lines)


def main(as_json: bool = False, repeats: int = 5, device: str = "cpu", preset: str = "paper",
         analysis_preset: str | None = "laptop", threads: int | None = None) -> int:
    """`python -m benchmarks [--json] [--repeats N]`: run everything, print the table (or JSON)."""
    torch.set_num_threads(threads or default_threads())
    result = run(repeats=repeats, device=device, preset=preset, analysis_preset=analysis_preset)
    print(json.dumps(result, indent=1) if as_json else format_table(result))
    return 0
