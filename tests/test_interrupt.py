"""A run killed (SIGKILL) in the middle of a stage leaves the database as it was before that
stage; the rerun completes with the same results as an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from dbmlib.core import checkpoint
from dbmlib.core.db import connect

CLEAN = ["customers", "transactions", "transactions_model", "campaigns", "campaign_contacts",
         "quality_log", "rejects"]


def _dbm(*args, **kw):
    return subprocess.run([sys.executable, "-m", "dbmlib.run.cli", "run", *args], capture_output=True,
                          text=True, timeout=600, **kw)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the Jupyter kernel runs in its own session)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parent[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _state(db, tables=None) -> dict:
    """Row count and content hash of every table (or of ``tables``)."""
    con = connect(db)
    try:
        names = tables or sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())
        out = {}
        for t in names:
            exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                 [t]).fetchall()[0][0]
            if not exists:
                out[t] = None
                continue
            df = con.execute(f"SELECT * FROM {t}").df()
            df = df.sort_values(list(df.columns)).reset_index(drop=True) if len(df) else df
            out[t] = (len(df), int(pd.util.hash_pandas_object(df.astype(str), index=False).sum()))
        return out
    finally:
        con.close()


def test_killed_stage_is_rolled_back_and_rerun_matches(tmp_path):
    common = ["--source", "retail-demo", "-p", "n_customers=2000", "-p", "seed=3",
              "--reports-dir", str(tmp_path / "reports")]
    # the uninterrupted reference
    ok = tmp_path / "ok.duckdb"
    assert _dbm("--stages", "01", "02", "--db", str(ok), "--run-name", "ok", *common).returncode == 0
    # the interrupted run: stage 01, then 02 killed in the middle
    db = tmp_path / "m.duckdb"
    assert _dbm("--stages", "01", "--db", str(db), "--run-name", "a", *common).returncode == 0
    before = _state(db)
    proc = subprocess.Popen([sys.executable, "-m", "dbmlib.run.cli", "run", "--stages", "02", "--db", str(db),
                             "--run-name", "b", *common], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    marker = Path(f"{db}.stage")
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "stage 02 never started"
    time.sleep(3.0)  # well into the stage: the kernel is up and cleaning
    for pid in [proc.pid, *_descendants(proc.pid)]:  # the run and its kernel, as a crash would
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    time.sleep(0.5)
    assert json.loads(marker.read_text())["stage"] == "02_cleaning"
    # the next run first puts the database back as it was before 02 …
    assert checkpoint.restore(db) == "02_cleaning"
    assert _state(db) == before
    assert not marker.exists()
    # … and the rerun gives the uninterrupted run's clean tables
    rerun = _dbm("--stages", "02", "--db", str(db), "--run-name", "c", *common)
    assert rerun.returncode == 0, rerun.stderr
    assert _state(db, CLEAN) == _state(ok, CLEAN)
    metrics = {r: json.loads((tmp_path / "reports" / r / "metrics.json").read_text())["02_cleaning"]
               for r in ("ok", "c")}
    assert metrics["ok"] == metrics["c"]


def test_failed_stage_restores_the_database(tmp_path):
    db = tmp_path / "m.duckdb"
    con = connect(db)
    con.execute("CREATE TABLE keep AS SELECT 1 AS x")
    con.close()
    checkpoint.begin_stage(db, "03_x")
    con = connect(db)
    con.execute("DROP TABLE keep")
    con.execute("CREATE TABLE half_written AS SELECT 2 AS y")
    con.close()
    assert checkpoint.restore(db) == "03_x"
    assert _state(db) == {"keep": (1, _state(db)["keep"][1])}
    assert checkpoint.restore(db) is None  # nothing marked any more
