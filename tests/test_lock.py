"""One run at a time per database: a second run refuses (exit 3) or waits; a killed run's lock
is released by the operating system."""

import signal
import subprocess
import sys
import time

import nbformat
import pytest

from dbmlib.core import config
from dbmlib.core.lock import DatabaseBusyError, database_lock

HOLD = ("import sys, time; from dbmlib.core.lock import database_lock\n"
        "with database_lock(sys.argv[1], run_name='holder'):\n"
        "    print('locked', flush=True); time.sleep(float(sys.argv[2]))\n")


def _holder(db, seconds):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_second_lock_refused_with_the_holder_named(tmp_path):
    db = tmp_path / "m.duckdb"
    p = _holder(db, 30)
    try:
        with pytest.raises(DatabaseBusyError, match=r"in use by another dbm run .*holder"):
            with database_lock(db):
                pass
        t0 = time.monotonic()
        with pytest.raises(DatabaseBusyError, match="waited 1 s"):
            with database_lock(db, wait_seconds=1, poll=0.1):
                pass
        assert time.monotonic() - t0 >= 1
    finally:
        p.kill()
        p.wait()


def test_killed_holder_releases_the_lock(tmp_path):
    db = tmp_path / "m.duckdb"
    p = _holder(db, 60)
    p.send_signal(signal.SIGKILL)
    p.wait()
    with database_lock(db) as path:  # no stale lock after kill -9
        assert path.exists()


def test_waiting_run_proceeds_when_the_holder_finishes(tmp_path):
    db = tmp_path / "m.duckdb"
    p = _holder(db, 1.5)
    t0 = time.monotonic()
    with database_lock(db, wait_seconds=20, poll=0.1):
        waited = time.monotonic() - t0
    p.wait()
    assert 1.0 <= waited < 20  # waited for the holder, then got the lock


def _tiny_notebooks(folder):
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": config.KERNEL_NAME, "display_name": "x", "language": "python"}
    params = nbformat.v4.new_code_cell("source: str = 'x'  # ignored")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), params, nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, folder / "01_tiny.ipynb")
    return folder


def test_dbm_run_refuses_while_another_run_holds_the_database(tmp_path):
    db = tmp_path / "m.duckdb"
    nbs = _tiny_notebooks(tmp_path / "nbs")
    p = _holder(db, 60)
    try:
        proc = subprocess.run([sys.executable, "-m", "dbmlib.run.cli", "run", "--db", str(db),
                               "--notebooks-dir", str(nbs), "--reports-dir", str(tmp_path / "r"),
                               "--run-name", "second"], capture_output=True, text=True, timeout=120)
    finally:
        p.kill()
        p.wait()
    assert proc.returncode == 3, proc.stderr
    assert "in use by another dbm run" in proc.stderr and "--wait" in proc.stderr
    assert not (tmp_path / "r" / "second" / "01_tiny.ipynb").exists()  # nothing ran
