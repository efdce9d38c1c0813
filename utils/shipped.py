"""Networks committed with the bundle: the trained weights behind the `laptop` result sets, so that a fresh clone
renders every figure without training.

Layout: `data/networks/<preset>/<task>/<condition>/seed<k>-<hash>/`, the model cache's relative path
(`utils.cache.run_dir_for`), each holding

- `weights.xz`: the `state_dict`, each tensor's bytes regrouped by byte position (sign and exponent bytes together,
  as HDF5's shuffle filter does) and lzma-compressed. Lossless, and 15-17 % smaller than `model.pt` (float32
  mantissas barely compress; grouped exponents do): what keeps every `laptop` set's networks within the
  repository's budget. Read with `torch.load(weights_only=True)`: no pickle that runs code.
- `config.json`: the resolved `RunConfig`; its hash names the directory.
- `metrics.json.xz`: the training and test curves (the cache's `metrics.json`, lzma-compressed: a third of its size).
- `network.json`: sha256 of `weights.xz` and `metrics.json.xz`, the digest of the tensors themselves (`tensor_digest`:
  names, dtypes, shapes and bytes, the same whatever file format holds them) and how the network was trained
  (device, threads, torch version, seconds).

No optimizer state: analysis does not need it. `utils.cache.get_model` installs a committed network into the cache
as a finished run (its `model.pt` is byte-identical to the one training wrote) instead of training it.
"""
from __future__ import annotations

import hashlib
import io
import json
import lzma
from pathlib import Path
from typing import Any

import torch

from . import config as C
from .files import atomic_write, sha256_file
from .models import build_network

NETWORKS_DIR = Path(__file__).resolve().parents[1] / "data" / "networks"
METRICS = "metrics.json.xz"


class NetworkError(RuntimeError):
    """A committed network that is incomplete, altered, or not the config its directory names."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason

    def __reduce__(self):
        return NetworkError, (self.path, self.reason)


def tensor_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in order: equal exactly when two state_dicts are
    bitwise the same network, whichever file held them."""
    digest = hashlib.sha256()
    for name, tensor in state.items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def pack(state: dict[str, torch.Tensor]) -> bytes:
    """A state_dict as lzma-compressed bytes, each tensor stored as (bytes per element, elements) uint8 planes."""
    planes, shapes, dtypes = {}, {}, {}
    for name, tensor in state.items():
        t = tensor.detach().cpu().contiguous()
        planes[name] = t.reshape(-1).view(torch.uint8).reshape(-1, t.element_size()).T.contiguous()
        shapes[name], dtypes[name] = list(t.shape), str(t.dtype).removeprefix("torch.")
    buffer = io.BytesIO()
    torch.save({"planes": planes, "shapes": shapes, "dtypes": dtypes}, buffer)
    return lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME)


def unpack(data: bytes) -> dict[str, torch.Tensor]:
    """The state_dict `pack` wrote, bit for bit."""
    saved = torch.load(io.BytesIO(lzma.decompress(data)), map_location="cpu", weights_only=True)
    state = {}
    for name, plane in saved["planes"].items():
        dtype = getattr(torch, saved["dtypes"][name])
        # clone: a tensor of its own storage, so that torch.save writes the bytes training wrote
        state[name] = plane.T.contiguous().view(dtype).reshape(saved["shapes"][name]).clone()
    return state


def shipped_dir(cfg: C.RunConfig, preset: str, root: Path | str | None = None) -> Path:
    """Where the committed network of `cfg` lives (whether or not it is there); `root` defaults to NETWORKS_DIR,
    read at each call (a test points it elsewhere)."""
    return Path(root or NETWORKS_DIR) / preset / cfg.task.name / C.condition_name(cfg) / C.run_name(cfg)


def find(cfg: C.RunConfig, preset: str, root: Path | str | None = None) -> Path | None:
    """The committed network of `cfg`, or None."""
    path = shipped_dir(cfg, preset, root)
    return path if (path / "network.json").exists() else None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NetworkError(path, "missing") from None
    except (OSError, ValueError) as err:
        raise NetworkError(path, f"unreadable ({type(err).__name__})") from None


def read(path: Path | str, cfg: C.RunConfig | None = None) -> tuple[C.RunConfig, dict[str, torch.Tensor], dict]:
    """A committed network after every check: its config hashes to its directory's name (and is `cfg` when given),
    `weights.xz` and `metrics.json.xz` match network.json's sha256, the unpacked tensors match its tensor digest and
    fit the network the config builds. Returns (config, state_dict, network.json); a NetworkError names the file."""
    path = Path(path)
    record = _json(path / "network.json")
    try:
        loaded = C.from_dict(_json(path / "config.json"))
    except (KeyError, TypeError) as err:
        raise NetworkError(path / "config.json", f"not a run config ({type(err).__name__}: {err})") from None
    if C.run_hash(loaded) != C.named_hash(path.name):
        raise NetworkError(path / "config.json", f"its config hashes to {C.run_hash(loaded)}, not to its directory's "
                                                 f"name (model-code version {C.MODEL_CODE_VERSION})")
    if cfg is not None and loaded != cfg:
        raise NetworkError(path / "config.json", f"does not match the requested config (hash {C.run_hash(cfg)})")
    for name in ("weights.xz", METRICS):
        if not (path / name).exists():
            raise NetworkError(path / name, "missing")
        if sha256_file(path / name) != record.get("sha256", {}).get(name):
            raise NetworkError(path / name, "its sha256 does not match network.json (truncated or altered)")
    try:
        state = unpack((path / "weights.xz").read_bytes())
    except Exception as err:
        raise NetworkError(path / "weights.xz", f"unreadable ({type(err).__name__})") from None
    if tensor_digest(state) != record.get("tensor_digest"):
        raise NetworkError(path / "weights.xz", "its tensors do not match network.json's tensor digest")
    try:
        build_network(loaded.task, loaded.model, loaded.seed).load_state_dict(state)
    except Exception as err:
        raise NetworkError(path / "weights.xz", f"does not fit the network of config.json ({err})") from None
    return loaded, state, record


def write(path: Path | str, cfg: C.RunConfig, state: dict[str, torch.Tensor], metrics: dict,
          trained: dict[str, Any]) -> Path:
    """Commit one network to `path` (see the module's docstring); network.json is written last."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    atomic_write(path / "weights.xz", lambda fh: fh.write(pack(state)))
    atomic_write(path / "config.json", lambda fh: fh.write(json.dumps(C.to_dict(cfg), indent=1).encode()))
    atomic_write(path / METRICS, lambda fh: fh.write(lzma.compress(json.dumps(metrics, indent=1).encode(), preset=9)))
    record = {"sha256": {name: sha256_file(path / name) for name in ("weights.xz", METRICS)},
              "tensor_digest": tensor_digest(state), "trained": trained}
    atomic_write(path / "network.json", lambda fh: fh.write(json.dumps(record, indent=1).encode()))
    return path


def metrics_of(path: Path | str) -> dict:
    """The training and test curves of a committed network (check it with `read` first)."""
    return json.loads(lzma.decompress((Path(path) / METRICS).read_bytes()))


def committed(preset: str, root: Path | str | None = None) -> list[Path]:
    """Every committed network of `preset`, in path order."""
    return sorted(p.parent for p in (Path(root or NETWORKS_DIR) / preset).glob("*/*/seed*/network.json"))


__all__ = ["NETWORKS_DIR", "METRICS", "NetworkError", "tensor_digest", "pack", "unpack", "shipped_dir", "find", "read",
           "metrics_of", "write", "committed"]
