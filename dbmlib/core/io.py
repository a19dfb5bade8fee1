"""Atomic file writes: write to a temporary name in the same folder, then rename."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["atomic_path", "atomic_write_csv", "atomic_write_text", "sha256_file"]


@contextmanager
def atomic_path(target):
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any exception the temporary file is removed and ``target`` is untouched. The file
    ends readable by others (0644), like any file a user writes: reports are published by
    web servers running as another user (``mkstemp`` alone would leave it 0600).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_csv(df: pd.DataFrame, target, **kwargs) -> Path:
    """Write ``df`` as CSV (no index) atomically."""
    with atomic_path(target) as tmp:
        df.to_csv(tmp, index=False, **kwargs)
    return Path(target)


def atomic_write_text(text: str, target) -> Path:
    """Write text (UTF-8) atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
