"""One run at a time per marketing database.

:func:`database_lock` takes an exclusive ``flock`` on ``<database>.lock`` for the whole run.
The operating system drops it when the process ends, however it ends (even ``kill -9``), so
a crashed run never leaves a stale lock behind. A second run either waits up to
``wait_seconds`` or stops at once with :class:`DatabaseBusyError`, naming the run holding it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .errors import InputError

__all__ = ["DatabaseBusyError", "database_lock"]


class DatabaseBusyError(RuntimeError):
    """Another run holds the database."""


@contextmanager
def database_lock(db_path, *, wait_seconds: float = 0.0, run_name: str = "", poll: float = 0.5):
    """Hold the database's run lock for the duration of the block."""
    lock_path = Path(f"{db_path}.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "a+")
    except OSError as exc:
        raise InputError(str(db_path), problem=f"the database cannot be created or locked there "
                         f"({exc.strerror or type(exc).__name__}: {exc.filename or lock_path})",
                         expected="a --db path in a folder you can write to") from None
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown"
                    raise DatabaseBusyError(
                        f"{db_path} is in use by another dbm run ({holder}); "
                        + (f"waited {wait_seconds:g} s. " if wait_seconds else "")
                        + "Wait for it to finish, or run with --wait SECONDS, or use another "
                        "--db.") from None
                time.sleep(poll)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "run": run_name,
                             "since": datetime.now().isoformat(timespec="seconds")}))
        fh.flush()
        yield lock_path
    finally:
        fh.close()  # closing the descriptor releases the lock
