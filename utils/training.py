"""Training (Adam on MSE, a fresh batch per step), resumable checkpoints and the model cache.

Cache layout: `<outputs>/<preset>/models/<task>/<condition>/seed<k>-<hash>/` holding `model.pt` (a
`state_dict`), `optimizer.pt` (the final Adam `state_dict`), `config.json` (the resolved `RunConfig`),
`metrics.json` (train and test curves), `timing.json`, `train.log` (one line per start and end of a
training process) and, while training, `checkpoint.pt` (weights, optimiser and RNG states, so a resumed
run is bitwise identical). `checksum.json` (sha256 of model.pt, optimizer.pt and metrics.json) is written
last: a run is finished exactly when it exists and matches. Every file is written to a temporary file and
renamed (`files.atomic_write`); `get_model` retrains, with a warning, a run whose files are truncated,
altered or written for another config, and touches no other directory.
"""
from __future__ import annotations

import copy
import fcntl
import json
import os
import pickle
import re
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from . import config as C
from .files import atomic_write, sha256_file
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
    """Mean squared error over batch, time and cells.

    `mse_loss` is mean((outputs − targets)²) in one fused pass forward and one backward, where the written-out
    form allocates and walks three more (B, T, n_cells) tensors (≈ 10% of a CPU step; `python -m utils bench`).
    """
    return torch.nn.functional.mse_loss(outputs, targets)


class ReadoutMSE(torch.autograd.Function):
    """`loss_fn(states @ weight.T, targets)` with a hand-written backward.

    The (B, T, n_cells) outputs are the largest tensors of a laptop-sized step (512 cells, 128 units), and
    autograd's readout + `mse_loss` walks them about eight times (readout, residual, square, and their
    zero-filled gradients). Here the residual is one `addmm`, the loss one dot product, and the backward two
    matmuls from the saved residual: laptop SP and HD steps 1.11–1.12× faster, the GRU's 1.02× (A/B in one
    process, one thread); the tests check values and gradients against autograd.
    """

    @staticmethod
    def forward(ctx, states, weight, targets):
        flat = states.reshape(-1, states.shape[-1])
        residual = torch.addmm(targets.reshape(-1, targets.shape[-1]), flat, weight.T, beta=-1)  # D s − y
        ctx.save_for_backward(flat, weight, residual)
        ctx.states_shape = states.shape
        return torch.dot(residual.view(-1), residual.view(-1)) / residual.numel()

    @staticmethod
    def backward(ctx, grad):
        flat, weight, residual = ctx.saved_tensors
        scaled = residual * (2 * grad / residual.numel())  # d loss / d outputs
        grad_states = (scaled @ weight).reshape(ctx.states_shape) if ctx.needs_input_grad[0] else None
        grad_weight = scaled.T @ flat if ctx.needs_input_grad[1] else None
        return grad_states, grad_weight, None


def readout_mse(net: Network, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The training loss from hidden states: equal to `loss_fn(net.readout(states), targets)`."""
    return ReadoutMSE.apply(states, net.readout.weight, targets)


def train_step(net: Network, optimizer: torch.optim.Optimizer, batch: Batch, noise_gen: torch.Generator,
               forward=None) -> float:
    """One Adam step on one batch; returns the training loss.

    By default the network's loop with the readout fused into the loss (`readout_mse`). The benchmark passes
    `forward(inputs, h0, generator=…)`, the released code's loop (`baseline.baseline_forward`), which returns
    outputs and is scored with `loss_fn`, as the released code does.
    """
    h0 = net.initial_state(batch.init_code)
    if forward is None:
        loss = readout_mse(net, net.hidden_states(batch.inputs, h0, generator=noise_gen), batch.targets)
    else:
        loss = loss_fn(forward(batch.inputs, h0, generator=noise_gen)[1], batch.targets)
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
    """JSON for `.json`, `torch.save` otherwise; written to a temporary file and renamed, so a reader never
    sees half a file and a killed writer leaves the previous version."""
    if path.suffix == ".json":
        text = json.dumps(obj, indent=1)
        atomic_write(path, lambda fh: fh.write(text.encode()))
    else:
        atomic_write(path, lambda fh: torch.save(obj, fh))


class CacheError(RuntimeError):
    """A file of a model directory that is missing, unreadable, altered or written for another config."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason

    def __reduce__(self):  # re-raised intact from a worker process
        return CacheError, (self.path, self.reason)


class CacheWarning(UserWarning):
    """A cached model was found damaged and is being retrained."""


# Files of a finished run covered by `checksum.json`, which is written after them.
CHECKSUMMED = ("model.pt", "optimizer.pt", "metrics.json")
FINISHED = (*CHECKSUMMED, "timing.json", "checksum.json")


def _log(run_dir: Path, message: str) -> None:
    """One line in `train.log`: who trained this directory, when, from which batch."""
    with open(run_dir / "train.log", "a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} {message}\n")


def _batch_delay() -> float:
    """Seconds to sleep after every batch, from UTILS_TRAIN_BATCH_DELAY: lets the fault tests kill a
    training process at a batch of their choosing. 0 (no sleep) unless set."""
    return float(os.environ.get("UTILS_TRAIN_BATCH_DELAY") or 0)


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
        try:
            ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
            net.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            data_gen.set_state(ckpt["data_rng"])
            noise_gen.set_state(ckpt["noise_rng"].to(noise_gen.get_state().device))
            metrics, start = ckpt["metrics"], ckpt["batch"]
        except Exception as err:  # truncated, altered or foreign: start again rather than resume from it
            warnings.warn(f"{ckpt_path}: unreadable checkpoint ({_first_line(err)}); training from batch 0",
                          CacheWarning, stacklevel=2)
            ckpt_path.unlink()
            return train(cfg, run_dir, device, progress, stop_after)
    (run_dir / "checksum.json").unlink(missing_ok=True)  # not a finished run until training ends
    atomic_save(C.to_dict(cfg), run_dir / "config.json")
    _log(run_dir, f"start at batch {start} of {cfg.train.batches}")
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
    t0, delay = time.perf_counter(), _batch_delay()
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
        if delay:
            time.sleep(delay)
    bar.close()
    elapsed = time.perf_counter() - t0
    if end == cfg.train.batches:
        atomic_save(net.state_dict(), run_dir / "model.pt")
        atomic_save(optimizer.state_dict(), run_dir / "optimizer.pt")  # to continue training, or compare
        atomic_save(metrics, run_dir / "metrics.json")
        atomic_save({"device": str(device), "threads": torch.get_num_threads(), "batches_this_run": end - start,
                     "seconds_this_run": elapsed, "ms_per_batch": 1000 * elapsed / max(end - start, 1)},
                    run_dir / "timing.json")
        # Last: the run is finished once this exists. A process killed before it resumes from the checkpoint.
        atomic_save({name: sha256_file(run_dir / name) for name in CHECKSUMMED}, run_dir / "checksum.json")
        ckpt_path.unlink(missing_ok=True)
        _log(run_dir, f"finished {end - start} batches in {elapsed:.1f} s")
    net.eval()
    net.run_config, net.run_dir, net.metrics = cfg, run_dir, metrics
    return net


def run_dir_for(cfg: C.RunConfig, preset: str, outputs_dir: Path | str = "outputs") -> Path:
    return (Path(outputs_dir) / preset / "models" / cfg.task.name / C.condition_name(cfg)
            / f"seed{cfg.seed}-{C.run_hash(cfg)}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CacheError(path, "missing") from None
    except (OSError, ValueError) as err:
        raise CacheError(path, f"unreadable ({_first_line(err)})") from None


def check_config(run_dir: Path | str, cfg: C.RunConfig | None = None) -> C.RunConfig:
    """The config in `run_dir/config.json`; a CacheError if it is missing, unreadable, not the config its
    directory's name hashes (`seed<k>-<hash>`), or not `cfg`."""
    path = Path(run_dir) / "config.json"
    saved = _read_json(path)
    try:
        loaded = C.from_dict(saved)
    except (KeyError, TypeError) as err:
        raise CacheError(path, f"not a run config ({_first_line(err)})") from None
    named = re.fullmatch(r"seed\d+-([0-9a-f]{12})", path.parent.name)
    if named and C.run_hash(loaded) != named[1]:
        raise CacheError(path, f"its config hashes to {C.run_hash(loaded)}, not to its directory's {named[1]} "
                               f"(model-code version {C.MODEL_CODE_VERSION})")
    if cfg is not None and saved != C.to_dict(cfg):
        raise CacheError(path, f"does not match the requested config (hash {C.run_hash(cfg)})")
    return loaded


def verify_run(run_dir: Path | str, cfg: C.RunConfig | None = None) -> C.RunConfig:
    """Check a finished run without loading it: its config (see `check_config`) and the sha256 of every file
    in `checksum.json`. Returns the config; raises a CacheError naming the first bad file."""
    run_dir = Path(run_dir)
    loaded = check_config(run_dir, cfg)
    sums = _read_json(run_dir / "checksum.json")
    if not isinstance(sums, dict) or set(sums) != set(CHECKSUMMED):
        raise CacheError(run_dir / "checksum.json", f"does not list exactly {', '.join(CHECKSUMMED)}")
    for name in CHECKSUMMED:
        path = run_dir / name
        if not path.exists():
            raise CacheError(path, "missing")
        if sha256_file(path) != sums[name]:
            raise CacheError(path, "its sha256 does not match checksum.json (truncated or altered)")
    return loaded


def load_model(run_dir: Path | str, device: str | torch.device = "cpu") -> Network:
    """Load a finished run after `verify_run`: weights with `weights_only=True` (never a pickle that runs
    code), config and metrics from JSON. A damaged run raises a CacheError that names the file."""
    run_dir = Path(run_dir)
    cfg = verify_run(run_dir)
    device = resolve_device(device)
    net = build_network(cfg.task, cfg.model, cfg.seed)
    path = run_dir / "model.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CacheError(path, "refused: not a plain state_dict (e.g. a pickled whole module); checkpoints "
                               "are only loaded with weights_only=True") from None
    except Exception as err:
        raise CacheError(path, f"unreadable ({_first_line(err)})") from None
    try:
        net.load_state_dict(state)
    except Exception as err:
        raise CacheError(path, f"does not fit the network of config.json ({_first_line(err)})") from None
    net.to(device).eval()
    net.run_config, net.run_dir = cfg, run_dir
    net.metrics = _read_json(run_dir / "metrics.json")
    return net


def is_trained(run_dir: Path | str, cfg: C.RunConfig | None = None) -> bool:
    """A finished run that passes `verify_run` and loads (a damaged one counts as not trained)."""
    try:
        verify_run(run_dir, cfg)
        load_model(run_dir)
        return True
    except CacheError:
        return False


def _tidy(run_dir: Path) -> None:
    """Remove temporary files left by writers that were killed (call under the run's lock)."""
    for tmp in run_dir.glob(".*.tmp*"):
        tmp.unlink(missing_ok=True)


def _discard(run_dir: Path, err: CacheError) -> None:
    """Remove a damaged run's finished files; with a bad config.json, its checkpoint and config too."""
    names = FINISHED + (("checkpoint.pt", "config.json") if err.path.name == "config.json" else ())
    for name in names:
        (run_dir / name).unlink(missing_ok=True)


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
    """A trained network from the cache, training it first if it is missing or damaged (see `verify_run`).

    `overrides` are config fields by name (`n_rec=128`, `noise_std=0.02`, ...). Any change of any field
    changes the hash, and so the directory: an old model is never reused for a new config.
    """
    cfg = C.resolve_config(task, condition, seed, preset, overrides)
    device = resolve_device(device)  # a bad device fails here, before anything is written
    run_dir = run_dir_for(cfg, preset, outputs_dir)
    with run_lock(run_dir):  # a second process asking for this model waits here, then loads it
        _tidy(run_dir)
        try:
            if any((run_dir / name).exists() for name in FINISHED):
                verify_run(run_dir, cfg)
                net = load_model(run_dir, device)
                (run_dir / "checkpoint.pt").unlink(missing_ok=True)  # left by a process killed at the end
                return net
            if (run_dir / "checkpoint.pt").exists():
                check_config(run_dir, cfg)  # resume only from a checkpoint of this config
        except CacheError as err:  # never load a damaged model: say which file, retrain this one only
            warnings.warn(f"{err}; retraining {run_dir}", CacheWarning, stacklevel=2)
            _discard(run_dir, err)
        train(cfg, run_dir, device=device, progress=progress)
        return load_model(run_dir, device)
