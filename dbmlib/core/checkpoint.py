"""Stage checkpoints: a stage either completes or leaves the marketing database as it was.

Before each stage the run copies the database file (and its write-ahead log) to
``<db>.checkpoint`` and writes ``<db>.stage`` naming the stage. When the stage completes, both
are removed. When it fails, or when the run was killed in the middle (the marker is still
there when the next run starts), the copy is put back, so a rerun starts from the state
before that stage and gives the same results as an uninterrupted run. Runs hold the
database lock (:mod:`dbmlib.core.lock`) while doing this, so no other run sees the copy.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import datetime
from pathlib import Path

__all__ = ["begin_stage", "end_stage", "restore"]

log = logging.getLogger(__name__)


def _paths(db) -> tuple[Path, Path, Path, Path]:
    db = Path(db)
    return db, Path(f"{db}.wal"), Path(f"{db}.checkpoint"), Path(f"{db}.stage")


def begin_stage(db, stage: str) -> None:
    """Copy the database aside and mark ``stage`` as in progress."""
    db, wal, copy, marker = _paths(db)
    for leftover in (copy, Path(f"{copy}.wal")):
        leftover.unlink(missing_ok=True)
    exists = db.exists()
    if exists:
        shutil.copy2(db, copy)
        if wal.exists():
            shutil.copy2(wal, f"{copy}.wal")
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps({"stage": stage, "existed": exists, "pid": os.getpid(),
                               "since": datetime.now().isoformat(timespec="seconds")}))
    tmp.replace(marker)  # the marker appears only once the copy is complete


def end_stage(db) -> None:
    """The stage completed: drop the copy and the marker."""
    db, _, copy, marker = _paths(db)
    marker.unlink(missing_ok=True)
    copy.unlink(missing_ok=True)
    Path(f"{copy}.wal").unlink(missing_ok=True)


def restore(db) -> str | None:
    """Put the copy back if a stage is marked in progress; returns that stage's name.

    Called when a stage fails, and at the start of every run (a killed run's mark is still
    there)."""
    db, wal, copy, marker = _paths(db)
    if not marker.exists():
        return None
    info = json.loads(marker.read_text())
    wal.unlink(missing_ok=True)
    if info.get("existed"):
        shutil.copy2(copy, db)
        if Path(f"{copy}.wal").exists():
            shutil.copy2(f"{copy}.wal", wal)
    else:
        db.unlink(missing_ok=True)
    end_stage(db)
    log.warning("restored %s to its state before stage %s", db, info.get("stage"))
    return info.get("stage")
