"""The model cache: one directory per resolved config, written so that no reader or crash ever sees half a run.

Layout: `<outputs>/<preset>/models/<task>/<condition>/seed<k>-<hash>/` holding `model.pt` (a `state_dict`),
`optimizer.pt` (the final Adam `state_dict`), `config.json` (the resolved `RunConfig`), `metrics.json` (train
and test curves), `timing.json`, `train.log` (one line per start and end of a training process) and, while
training, `checkpoint.pt` (`training.snapshot`: weights, optimiser and RNG states, so a resumed run is bitwise
identical). `checksum.json` (sha256 of model.pt, optimizer.pt and metrics.json) is written last: a run is
finished exactly when it exists and matches. Every file is written to a temporary file and renamed
(`files.atomic_write`); `get_model` retrains, with a warning, a run whose files are truncated, altered or
written for another config, and touches no other directory. A lock per directory lets two processes ask for
one model: one trains it, the other waits and loads it.
"""
from __future__ import annotations

import fcntl
import json
import os
import pickle
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import config as C
from . import shipped
from . import training as T
from .files import atomic_write, sha256_file
from .models import Network, build_network


@dataclass(frozen=True)
class TrainedModel:
    """A trained network with what the cache knows about it: its config, its directory and its curves."""
    net: Network
    config: C.RunConfig
    run_dir: Path
    metrics: dict[str, list]

    @property
    def seed(self) -> int:
        return self.config.seed


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


# Files of a finished run covered by `checksum.json`, which is written after them. A run installed from a committed
# network (`utils.shipped`) has no optimizer state: its checksum.json lists the other two.
CHECKSUMMED = ("model.pt", "optimizer.pt", "metrics.json")
INSTALLED_CHECKSUMMED = ("model.pt", "metrics.json")
FINISHED = (*CHECKSUMMED, "timing.json", "checksum.json")


def _log(run_dir: Path, message: str) -> None:
    """One line in `train.log`: who trained this directory, when, from which batch."""
    with open(run_dir / "train.log", "a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} {message}\n")


def train(cfg: C.RunConfig, run_dir: Path | str, device: str | torch.device = "cpu", progress: bool = True,
          stop_after: int | None = None) -> TrainedModel:
    """Train `cfg` in `run_dir`, resuming from `checkpoint.pt` if present, checkpointing every `save_every`
    batches and writing the finished run's files at the end. `stop_after` ends the run early after that many
    batches (used to test resuming)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = T.resolve_device(device)
    state = T.initial_state(cfg, device)
    ckpt_path = run_dir / "checkpoint.pt"
    if ckpt_path.exists():
        try:
            T.restore(state, torch.load(ckpt_path, map_location=device, weights_only=True))
        except Exception as err:  # truncated, altered or foreign: start again rather than resume from it
            warnings.warn(f"{ckpt_path}: unreadable checkpoint ({_first_line(err)}); training from batch 0",
                          CacheWarning, stacklevel=2)
            ckpt_path.unlink()
            return train(cfg, run_dir, device, progress, stop_after)
    start = state.batch
    (run_dir / "checksum.json").unlink(missing_ok=True)  # not a finished run until training ends
    atomic_save(C.to_dict(cfg), run_dir / "config.json")
    _log(run_dir, f"start at batch {start} of {cfg.train.batches}")

    def checkpoint(s: T.TrainingState) -> None:
        if s.batch % cfg.train.save_every == 0 and s.batch < cfg.train.batches:
            atomic_save(T.snapshot(s), ckpt_path)

    end = cfg.train.batches if stop_after is None else min(stop_after, cfg.train.batches)
    elapsed = T.run_batches(cfg, state, end, progress, after_batch=checkpoint)
    if end == cfg.train.batches:
        atomic_save(state.net.state_dict(), run_dir / "model.pt")
        atomic_save(state.optimizer.state_dict(), run_dir / "optimizer.pt")  # to continue training, or compare
        atomic_save(state.metrics, run_dir / "metrics.json")
        atomic_save({"device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
                     "batches_this_run": end - start,
                     "seconds_this_run": elapsed, "ms_per_batch": 1000 * elapsed / max(end - start, 1)},
                    run_dir / "timing.json")
        # Last: the run is finished once this exists. A process killed before it resumes from the checkpoint.
        atomic_save({name: sha256_file(run_dir / name) for name in CHECKSUMMED}, run_dir / "checksum.json")
        ckpt_path.unlink(missing_ok=True)
        _log(run_dir, f"finished {end - start} batches in {elapsed:.1f} s")
    state.net.eval()
    return TrainedModel(state.net, cfg, run_dir, state.metrics)


def run_dir_for(cfg: C.RunConfig, preset: str, outputs_dir: Path | str = "outputs") -> Path:
    return (Path(outputs_dir) / preset / "models" / cfg.task.name / C.condition_name(cfg)
            / C.run_name(cfg))


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
    named = C.named_hash(path.parent.name)
    if named and C.run_hash(loaded) != named:
        raise CacheError(path, f"its config hashes to {C.run_hash(loaded)}, not to its directory's {named[1]} "
                               f"(model-code version {C.MODEL_CODE_VERSION})")
    if cfg is not None and loaded != cfg:   # as configs, not JSON: a field added later reads as its default
        raise CacheError(path, f"does not match the requested config (hash {C.run_hash(cfg)})")
    return loaded


def verify_run(run_dir: Path | str, cfg: C.RunConfig | None = None) -> C.RunConfig:
    """Check a finished run without loading it: its config (see `check_config`) and the sha256 of every file
    in `checksum.json`. Returns the config; raises a CacheError naming the first bad file."""
    run_dir = Path(run_dir)
    loaded = check_config(run_dir, cfg)
    sums = _read_json(run_dir / "checksum.json")
    if not isinstance(sums, dict) or set(sums) not in (set(CHECKSUMMED), set(INSTALLED_CHECKSUMMED)):
        raise CacheError(run_dir / "checksum.json", f"does not list exactly {', '.join(CHECKSUMMED)} (or, installed "
                                                    f"from a committed network, {', '.join(INSTALLED_CHECKSUMMED)})")
    for name in sums:
        path = run_dir / name
        if not path.exists():
            raise CacheError(path, "missing")
        if sha256_file(path) != sums[name]:
            raise CacheError(path, "its sha256 does not match checksum.json (truncated or altered)")
    return loaded


def load_model(run_dir: Path | str, device: str | torch.device = "cpu", cfg: C.RunConfig | None = None) -> TrainedModel:
    """Load a finished run after `verify_run` (against `cfg` when given): weights with `weights_only=True` (never
    a pickle that runs code), config and metrics from JSON. A damaged run raises a CacheError that names the file."""
    run_dir = Path(run_dir)
    cfg = verify_run(run_dir, cfg)
    device = T.resolve_device(device)
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
    return TrainedModel(net, cfg, run_dir, _read_json(run_dir / "metrics.json"))


def install(source: Path | str, run_dir: Path | str, cfg: C.RunConfig | None = None) -> C.RunConfig:
    """Write the committed network at `source` (`utils.shipped`) into `run_dir` as a finished run, after every
    check of `shipped.read` (a `shipped.NetworkError` names the bad file). Its model.pt and metrics.json are
    byte-identical to those its training wrote; timing.json says how it was trained and where it came from."""
    run_dir = Path(run_dir)
    loaded, state, record = shipped.read(source, cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "checksum.json").unlink(missing_ok=True)
    atomic_save(C.to_dict(loaded), run_dir / "config.json")
    net = build_network(loaded.task, loaded.model, loaded.seed)
    net.load_state_dict(state)
    atomic_save(net.state_dict(), run_dir / "model.pt")  # the module's state_dict, as training saved it
    atomic_save(shipped.metrics_of(source), run_dir / "metrics.json")
    atomic_save({**record["trained"], "installed_from": str(source)}, run_dir / "timing.json")
    atomic_save({name: sha256_file(run_dir / name) for name in INSTALLED_CHECKSUMMED}, run_dir / "checksum.json")
    _log(run_dir, f"installed from {source}")
    return loaded


def _install_committed(cfg: C.RunConfig, preset: str, run_dir: Path) -> bool:
    """Install the committed network of `cfg` into `run_dir` (call under the run's lock); False when none is
    committed, or when it is damaged (a warning names the file; the caller trains instead)."""
    source = shipped.find(cfg, preset)
    if source is None:
        return False
    try:
        install(source, run_dir, cfg)
        return True
    except shipped.NetworkError as err:
        warnings.warn(f"committed network {err}; training {run_dir} instead", CacheWarning, stacklevel=3)
        _discard(run_dir, CacheError(err.path, err.reason))
        return False


def install_committed(cfg: C.RunConfig, preset: str, outputs_dir: Path | str = "outputs") -> bool:
    """Make the cache serve the committed network of `cfg` (`utils.shipped`) unless it already holds the run or
    a checkpoint of it: True when the cache now holds it finished. Never waits for a process that holds the run's
    lock (one training it, say): False then."""
    run_dir = run_dir_for(cfg, preset, outputs_dir)
    with run_lock(run_dir, wait=False) as got:
        if not got:   # another process is training or installing it: get_model will wait for it there
            return False
        _tidy(run_dir)
        if is_trained(run_dir, cfg):
            return True
        if (run_dir / "checkpoint.pt").exists() or any((run_dir / name).exists() for name in FINISHED):
            return False  # being trained, or damaged: get_model decides
        return _install_committed(cfg, preset, run_dir)


def is_trained(run_dir: Path | str, cfg: C.RunConfig | None = None) -> bool:
    """A finished run that passes `verify_run` and loads (a damaged one counts as not trained)."""
    try:
        load_model(run_dir, cfg=cfg)
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
def run_lock(run_dir: Path, wait: bool = True):
    """An exclusive lock per model directory; the OS drops it when its holder dies (no stale locks). With
    `wait=False` it yields False at once where another process holds it (and True where it got it)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def get_model(task: str, condition: str, seed: int = 0, preset: str = C.DEFAULT_PRESET,
              outputs_dir: Path | str = "outputs", device: str = "cpu", progress: bool = True,
              **overrides) -> TrainedModel:
    """A trained network from the cache; one that is missing is installed from the committed networks
    (`utils.shipped`, `data/networks/`) when they hold it, and trained otherwise; a damaged one is retrained.

    `overrides` are config fields by name (`n_rec=128`, `noise_std=0.02`, ...). Any change of any field
    changes the hash, and so the directory: an old model is never reused for a new config.
    """
    cfg = C.resolve_config(task, condition, seed, preset, overrides)
    device = T.resolve_device(device)  # a bad device fails here, before anything is written
    run_dir = run_dir_for(cfg, preset, outputs_dir)
    with run_lock(run_dir):  # a second process asking for this model waits here, then loads it
        _tidy(run_dir)
        try:
            if any((run_dir / name).exists() for name in FINISHED):
                model = load_model(run_dir, device, cfg)
                (run_dir / "checkpoint.pt").unlink(missing_ok=True)  # left by a process killed at the end
                return model
            if (run_dir / "checkpoint.pt").exists():
                check_config(run_dir, cfg)  # resume only from a checkpoint of this config
            elif _install_committed(cfg, preset, run_dir):
                return load_model(run_dir, device, cfg)
        except CacheError as err:  # never load a damaged model: say which file, retrain this one only
            warnings.warn(f"{err}; retraining {run_dir}", CacheWarning, stacklevel=2)
            _discard(run_dir, err)
        train(cfg, run_dir, device=device, progress=progress)
        return load_model(run_dir, device)


__all__ = ["TrainedModel", "CacheError", "CacheWarning", "CHECKSUMMED", "INSTALLED_CHECKSUMMED", "FINISHED", "train",
           "run_dir_for", "check_config", "verify_run", "load_model", "install", "install_committed", "is_trained",
           "run_lock", "get_model", "atomic_save"]
