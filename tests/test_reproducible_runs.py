"""Runs through `dbm run`: two pristine runs give the same numbers and tables; the campaign
loop advances only when asked, recorded in the manifest; a stage never reads another source's
tables."""

import json

import duckdb
import pandas as pd
import pytest

from dbmlib.core.io import sha256_file
from dbmlib.demo import make_retail_demo
from dbmlib.demo.catalogue import CATEGORIES
from tests.test_notebooks import dbm

SMALL = ["-p", "n_customers=1500", "-p", "seed=4", "-p", "n_boot=3", "-p", "cv_folds=2"]
_NOT_DATA = {"_loaded_at", "_load_id", "load_id", "loaded_at", "_source_file", "source_file", "file"}


def checksums(db) -> dict:
    """Rows and a content hash of every data table (load ids, times and file paths aside)."""
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for (t,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
        if t == "_lineage":
            continue
        cols = ", ".join(f'"{c[0]}"' for c in con.execute(f'DESCRIBE "{t}"').fetchall() if c[0] not in _NOT_DATA)
        out[t] = con.execute(f'SELECT count(*), sum(hash(({cols}))) FROM (SELECT {cols} FROM "{t}")').fetchone()
    con.close()
    return out


def metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two pristine runs on one database, then two rounds of the loop."""
    tmp = tmp_path_factory.mktemp("runs")
    db, reports = tmp / "m.duckdb", tmp / "reports"
    out = {"db": db, "reports": reports, "tmp": tmp}
    # round 1 plays a cross-sell campaign (the offers of 04), round 2 measures it and plans by uplift
    for name, extra in (("a", []), ("b", []), ("round1", ["--round", "next", "-p", "05.target_by=offer"]),
                        ("round2", ["--round", "next"])):
        dbm("run", "--db", str(db), "--reports-dir", str(reports), "--run-name", name, *extra, *SMALL)
        out[name] = checksums(db)
        out[f"{name}.feedback"] = sorted(p.name for p in tmp.glob("m.feedback/*/*/*"))
    return out


def test_two_pristine_runs_give_identical_metrics_and_tables(runs):
    a, b = metrics(runs["reports"] / "a"), metrics(runs["reports"] / "b")
    assert sum(len(v) for v in a.values()) > 120
    assert a == b
    assert runs["a"] == runs["b"] and len(runs["a"]) >= 17
    manifest = json.loads((runs["reports"] / "b" / "manifest.json").read_text())
    assert manifest["loop"] == {"round": 0, "feedback_inputs": []}
    assert runs["a.feedback"] == runs["b.feedback"] == []  # nothing written back
    assert runs["round1.feedback"] == ["_campaign_truth.csv", "_world_state.csv", "campaign_contacts.csv",
                                       "campaigns.csv", "transactions.csv"]


def test_the_loop_advances_one_recorded_round_at_a_time(runs):
    r1 = json.loads((runs["reports"] / "round1" / "manifest.json").read_text())
    r2 = json.loads((runs["reports"] / "round2" / "manifest.json").read_text())
    assert r1["loop"] == {"round": 1, "feedback_inputs": []}
    assert r1["parameters"]["write_back"] is True and r1["parameters"]["round_no"] == 1
    assert r2["loop"]["round"] == 2
    files = {f["file"]: f["sha256"] for f in r2["loop"]["feedback_inputs"]}
    assert sorted(f.split("/")[1] for f in files) == runs["round1.feedback"]
    assert all(f.startswith("C2025-07-EM-R1/") for f in files)
    fb = next(runs["db"].parent.glob("m.feedback/*"))
    assert all(sha256_file(fb / f) == h for f, h in files.items())
    m1, m2 = metrics(runs["reports"] / "round1"), metrics(runs["reports"] / "round2")
    assert {m1[s]["run.round"] for s in m1} == {1} and {m2[s]["run.round"] for s in m2} == {2}
    # round 1 measured nothing new; round 2 measures round 1's campaign as a past campaign
    assert len([k for k in m2["05_campaigns"] if k.endswith(".abs_lift_lo")]) == \
        len([k for k in m1["05_campaigns"] if k.endswith(".abs_lift_lo")]) + 1
    # the cross-sell campaign of round 1 is graded in round 2 against the world's truth, and its
    # measured lift (lower end of the interval) replaces the assumed one
    assert m1["05_campaigns"]["plan.rule"] == "offer" and m1["05_campaigns"]["plan.offer_lift"] == 0.3
    assert m2["05_campaigns"]["campaign.C2025-07-EM-R1.truth_inside_interval"] is True
    assert m2["05_campaigns"]["plan.offer_lift"] != 0.3
    contacts = pd.read_csv(fb / "C2025-07-EM-R1" / "campaign_contacts.csv")
    assert contacts["offer"].notna().all() and contacts["offer"].isin(CATEGORIES).all()
    # a pristine run after the loop still reads the pristine data
    dbm("run", "--db", str(runs["db"]), "--reports-dir", str(runs["reports"]), "--run-name", "c", *SMALL)
    assert metrics(runs["reports"] / "c") == metrics(runs["reports"] / "a")


def test_a_stage_refuses_another_sources_tables(runs, tmp_path):
    folder = make_retail_demo(tmp_path / "shop", n_customers=800, seed=9)
    db, reports = str(runs["db"]), str(runs["reports"])
    dbm("run", "--db", db, "--reports-dir", reports, "--run-name", "folder", "--source", str(folder),
        "--stages", "01", "02", *SMALL)
    proc = dbm("run", "--db", db, "--reports-dir", reports, "--run-name", "stale", "--source", str(folder),
               "--stages", "05", *SMALL, check=False)
    assert proc.returncode == 1
    assert "StaleTableError" in proc.stderr and "'customer_features'" in proc.stderr
    assert "retail-demo-n1500-seed4" in proc.stderr and "rerun 03_segmentation" in proc.stderr
    dbm("run", "--db", db, "--reports-dir", reports, "--run-name", "folder-all", "--source", str(folder),
        "--stages", "03", "04", "05", *SMALL)
    assert metrics(runs["reports"] / "folder-all")["03_segmentation"]["customers"] < 1500
    back = dbm("run", "--db", db, "--reports-dir", reports, "--run-name", "back", "--stages", "03", *SMALL, check=False)
    assert back.returncode == 1 and "holds source 'shop-" in back.stderr
