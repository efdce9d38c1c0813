"""Writing files so that a reader never sees half of one: write a temporary file, then rename.

`os.replace` within one directory is atomic on POSIX: a reader opens either the old file or the new one,
never a mixture, and a process killed mid-write leaves the old file (plus, at worst, a hidden temporary
`.name.tmp<pid>.<random>` that `get_model` removes from a model's directory).
"""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import IO, Callable


def temporary_name(path: Path) -> Path:
    """A hidden name beside `path`, unique per call: two processes, or two threads of one, writing the same
    file never share a temporary one."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}.{uuid.uuid4().hex[:8]}")


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(fh)` on a temporary file next to `path`, flush it to disk, then rename it to `path`.
    The temporary file is opened normally (not with mkstemp, whose 0600 mode would survive the rename)."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())  # the data is on disk before the rename makes it visible
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
