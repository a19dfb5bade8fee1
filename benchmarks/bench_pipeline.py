"""Whole pipeline: ``dbm run`` on a generated retail-demo company, wall time and peak memory.

Generates the company first if its folder is missing (timed apart: in real use the exports
arrive from the source systems), then runs the five notebooks into a temporary database and
report folder and reads the per-notebook durations from ``manifest.json``. Peak memory is the
largest resident set of the run's processes (the notebook kernels), from ``getrusage``.
There is no peer library for a whole workbench; the target is the issue's (≤ 60 s on the
default company; ≤ 10 min and ≤ 8 GB at 1M customers and 10M orders).

    python benchmarks/bench_pipeline.py                                   # default company
    python benchmarks/bench_pipeline.py --n-customers 1000000 --purchase-rate 15 --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import write_section

from dbmlib.demo import datasets, make_retail_demo

ROOT = Path(__file__).resolve().parent.parent


def _dbm() -> str:
    return str(Path(sys.executable).with_name("dbm"))


def run(n_customers: int, purchase_rate: float) -> dict:
    folder = datasets.retail_demo_dir(0, n_customers, purchase_rate)
    generate_s = None
    if not (folder / "_truth" / "params.json").exists():
        t0 = time.perf_counter()
        make_retail_demo(folder, n_customers=n_customers, seed=0, purchase_rate=purchase_rate)
        generate_s = time.perf_counter() - t0
    counts = json.loads((folder / "_truth" / "params.json").read_text())["counts"]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [_dbm(), "run", "-p", f"n_customers={n_customers}", "-p", f"purchase_rate={purchase_rate}",
               "--db", f"{tmp}/bench.duckdb", "--reports-dir", f"{tmp}/reports", "--run-name", "bench"]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                              env=os.environ | {"PYTHONWARNINGS": "ignore"})
        wall = time.perf_counter() - t0
        if done.returncode:
            raise SystemExit(f"dbm run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        manifest = json.loads(Path(f"{tmp}/reports/bench/manifest.json").read_text())
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB on Linux
    stages = {nb["notebook"][:2]: nb["duration_s"] for nb in manifest["notebooks"]}
    return {"customers": counts["customers_rows"], "orders": counts["transactions_rows"],
            "purchase_rate": purchase_rate, "generate_s": generate_s, "wall_s": wall,
            "peak_gib": peak_gib, "stages": stages}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-customers", type=int, default=20_000)
    ap.add_argument("--purchase-rate", type=float, default=1.0)
    ap.add_argument("--write", action="store_true", help="add the row to benchmarks/RESULTS.md")
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    r = run(args.n_customers, args.purchase_rate)
    stages = " · ".join(f"{k} {v:.0f} s" for k, v in r["stages"].items())
    print(f"pipeline: {r['customers']:,} customer rows, {r['orders']:,} order lines: {r['wall_s']:.1f} s wall, "
          f"peak {r['peak_gib']:.2f} GiB ({stages})"
          + (f"; generating the company took {r['generate_s']:.0f} s" if r["generate_s"] else ""))
    if args.write:
        key = f"| {r['customers']:,} customer rows, {r['orders']:,} order lines |"
        row = (f"{key} {r['wall_s']:.0f} s | {r['peak_gib']:.2f} GiB | {stages} | "
               f"{dt.date.today()}, purchase_rate {r['purchase_rate']:g} |")
        old = [line for line in _section_lines() if line.startswith("| ") and not line.startswith("| size")
               and not line.startswith(key) and not line.startswith("|---")]
        write_section("Whole pipeline (dbm run, five notebooks)", [
            f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}. Wall time of "
            "`dbm run` (kernels started per notebook included); peak = largest resident set of its processes; "
            "stage times from `manifest.json`. Targets: ≤ 60 s on the default company; ≤ 10 min and ≤ 8 GB at "
            "1M customers / 10M orders.", "",
            "| size | wall | peak memory | per notebook | run |", "|---|---:|---:|---|---|", *old, row])


def _section_lines() -> list[str]:
    from common import RESULTS

    text = RESULTS.read_text() if RESULTS.exists() else ""
    part = text.split("## Whole pipeline (dbm run, five notebooks)")
    return part[1].split("\n## ")[0].splitlines() if len(part) > 1 else []


if __name__ == "__main__":
    main()
