"""Training (Adam on MSE, a fresh batch per step), resumable checkpoints and the model cache.

Cache layout: `<outputs>/<preset>/models/<task>/<condition>/seed<k>-<hash>/` holding `model.pt` (a
`state_dict`), `config.json` (the resolved `RunConfig`), `metrics.json` (train and test curves) and, while
training, `checkpoint.pt` (weights, optimiser and RNG states, so a resumed run is bitwise identical).
"""
from __future__ import annotations

import copy
import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from . import config as C
from .models import Network, build_network
from .tasks import Batch, decode_error, sample_batch

# Offsets that give the data, noise and test streams of one seed their own generators.
DATA_STREAM, NOISE_STREAM, TEST_STREAM = 1_000_003, 2_000_003, 3_000_003


def resolve_device(device: str | None) -> torch.device:
    """'auto' (or None) picks CUDA when present; anything else is taken as given."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise C.ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu")
    if str(device).split(":")[0] not in ("cpu", "cuda", "mps"):
        raise C.ConfigError(f"unknown device {device!r}; choose cpu, cuda or auto")
    return torch.device(device)


def loss_fn(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.mean((outputs - targets) ** 2)


def train_step(net: Network, optimizer: torch.optim.Optimizer, batch: Batch, noise_gen: torch.Generator) -> float:
    """One Adam step on one batch; returns the training loss."""
    h0 = net.initial_state(batch.init_code)
    _, outputs = net(batch.inputs, h0, generator=noise_gen)
    loss = loss_fn(outputs, batch.targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


@torch.no_grad()
def evaluate(net: Network, test_batch: Batch, seed: int) -> tuple[float, float]:
    """Loss and decoding error on the fixed test batch, with the training noise, from a fixed noise seed."""
    gen = torch.Generator(device=test_batch.inputs.device).manual_seed(seed + TEST_STREAM)
    _, outputs = net(test_batch.inputs, net.initial_state(test_batch.init_code), generator=gen)
    err = decode_error(net.task_cfg, net.decode(outputs), test_batch.states[:, 1:])
    return loss_fn(outputs, test_batch.targets).item(), err.item()


def make_test_batch(cells, cfg: C.RunConfig) -> Batch:
    """The fixed test batch of a run (its own seeded stream, independent of training)."""
    return sample_batch(cfg.task, cells, cfg.train.test_batch_size, torch.Generator().manual_seed(cfg.seed + TEST_STREAM))


def atomic_save(obj: Any, path: Path) -> None:
    """Write to a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    if path.suffix == ".json":
        tmp.write_text(json.dumps(obj, indent=1))
    else:
        torch.save(obj, tmp)
    os.replace(tmp, path)


def train(cfg: C.RunConfig, run_dir: Path | str, device: str | torch.device = "cpu", progress: bool = True,
          stop_after: int | None = None) -> Network:
    """Train `cfg` in `run_dir`, resuming from `checkpoint.pt` if present.

    `stop_after` ends the run early after that many batches (used to test resuming). Returns the network.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(device)
    net = build_network(cfg.task, cfg.model, cfg.seed).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    data_gen = torch.Generator().manual_seed(cfg.seed + DATA_STREAM)
    noise_gen = torch.Generator(device=device).manual_seed(cfg.seed + NOISE_STREAM)
    metrics: dict[str, Any] = {"train_loss": [], "test_batch": [], "test_loss": [], "test_decode_error": []}
    start = 0
    ckpt_path = run_dir / "checkpoint.pt"
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        data_gen.set_state(ckpt["data_rng"])
        noise_gen.set_state(ckpt["noise_rng"].to(noise_gen.get_state().device))
        metrics, start = ckpt["metrics"], ckpt["batch"]
    atomic_save(C.to_dict(cfg), run_dir / "config.json")
    cells_cpu = copy.deepcopy(net.cells).cpu()  # data is generated on the CPU, then moved
    test_batch = make_test_batch(cells_cpu, cfg).to(device)

    def record_test(batch_index: int):
        loss, err = evaluate(net, test_batch, cfg.seed)
        metrics["test_batch"].append(batch_index)
        metrics["test_loss"].append(loss)
        metrics["test_decode_error"].append(err)

    if start == 0:
        record_test(0)
    end = cfg.train.batches if stop_after is None else min(stop_after, cfg.train.batches)
    t0 = time.perf_counter()
    bar = tqdm(range(start, end), initial=start, total=cfg.train.batches, disable=not progress,
               desc=f"{cfg.task.name}/{C.condition_name(cfg)}/seed{cfg.seed}", leave=False)
    for b in bar:
        batch = sample_batch(cfg.task, cells_cpu, cfg.train.batch_size, data_gen).to(device)
        metrics["train_loss"].append(train_step(net, optimizer, batch, noise_gen))
        done = b + 1
        if done % cfg.train.test_every == 0 or done == cfg.train.batches:
            record_test(done)
            bar.set_postfix(loss=f"{metrics['test_loss'][-1]:.2e}", decode_err=f"{metrics['test_decode_error'][-1]:.2e}")
        if done % cfg.train.save_every == 0 and done < cfg.train.batches:
            atomic_save({"model": net.state_dict(), "optimizer": optimizer.state_dict(), "batch": done,
                         "data_rng": data_gen.get_state(), "noise_rng": noise_gen.get_state().cpu(),
                         "metrics": metrics}, ckpt_path)
    bar.close()
    elapsed = time.perf_counter() - t0
    if end == cfg.train.batches:
        atomic_save(net.state_dict(), run_dir / "model.pt")
        atomic_save(metrics, run_dir / "metrics.json")
        atomic_save({"device": str(device), "batches_this_run": end - start, "seconds_this_run": elapsed,
                     "ms_per_batch": 1000 * elapsed / max(end - start, 1)}, run_dir / "timing.json")
        ckpt_path.unlink(missing_ok=True)
    net.eval()
    net.run_config, net.run_dir, net.metrics = cfg, run_dir, metrics
    return net


def run_dir_for(cfg: C.RunConfig, preset: str, outputs_dir: Path | str = "outputs") -> Path:
    return (Path(outputs_dir) / preset / "models" / cfg.task.name / C.condition_name(cfg)
            / f"seed{cfg.seed}-{C.config_hash(cfg)}")


def load_model(run_dir: Path | str, device: str | torch.device = "cpu") -> Network:
    """Load a finished run: weights with `weights_only=True`, config and metrics from JSON."""
    run_dir = Path(run_dir)
    cfg = C.from_dict(json.loads((run_dir / "config.json").read_text()))
    device = resolve_device(device)
    net = build_network(cfg.task, cfg.model, cfg.seed)
    state = torch.load(run_dir / "model.pt", map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.to(device).eval()
    net.run_config, net.run_dir = cfg, run_dir
    net.metrics = json.loads((run_dir / "metrics.json").read_text())
    return net


def is_trained(run_dir: Path) -> bool:
    return (run_dir / "model.pt").exists() and (run_dir / "metrics.json").exists()


@contextmanager
def run_lock(run_dir: Path):
    """An exclusive lock per model directory; the OS drops it when its holder dies (no stale locks)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def get_model(task: str, condition: str, seed: int = 0, preset: str = C.DEFAULT_PRESET,
              outputs_dir: Path | str = "outputs", device: str = "cpu", progress: bool = True,
              **overrides) -> Network:
    """A trained network from the cache, training it first if it is missing.

    `overrides` are config fields by name (`n_rec=128`, `noise_std=0.02`, ...). Any change of any field
    changes the hash, and so the directory: an old model is never reused for a new config.
    """
    cfg = C.resolve_config(task, condition, seed, preset, overrides)
    device = resolve_device(device)  # a bad device fails here, before anything is written
    run_dir = run_dir_for(cfg, preset, outputs_dir)
    with run_lock(run_dir):
        if not is_trained(run_dir):
            train(cfg, run_dir, device=device, progress=progress)
    return load_model(run_dir, device)
