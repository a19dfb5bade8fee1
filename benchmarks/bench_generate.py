"""Generating the retail-demo company: wall time, CPU time and peak memory, each size in a fresh process.

``make_retail_demo(n_customers=N, seed=0, purchase_rate=R)`` writes the company chunk by chunk
(``chunk_customers``, default 100,000: each chunk is simulated and appended to the files before
the next, so memory is bounded by the chunk). Each size runs in its own Python process, as
``bench_pipeline.py`` times generation; peak = that process's ``VmHWM`` from
``/proc/self/status`` when the company is written (its resident-set high-water mark, imports
included), CPU = its user + system seconds (wall time above CPU time means the process waited:
the 2 cores were shared; the load average is recorded). ``--reference-root DIR`` also runs the
same sizes with the ``dbmlib`` package found in ``DIR`` (e.g. an older commit's, unpacked with
``git archive COMMIT dbmlib | tar -x -C DIR``), for a before/after table.

    python benchmarks/bench_generate.py                         # 200,000 and 1,000,000 customers, rate 15
    python benchmarks/bench_generate.py --quick                 # 200,000 only
    python benchmarks/bench_generate.py --write                 # and write the section of RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import write_section

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Generating the retail-demo company"

_CHILD = """
import json, os, resource, sys, time
root, out, n, rate, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
if root:
    sys.path.insert(0, root)
import dbmlib
from dbmlib.demo import make_retail_demo
kwargs = {"chunk_customers": chunk} if chunk else {}
t0 = time.perf_counter()
make_retail_demo(out, n_customers=n, seed=0, purchase_rate=rate, **kwargs)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
params = json.load(open(os.path.join(out, "_truth", "params.json")))
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
print("RESULT " + json.dumps({"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_kib": hwm,
                              "counts": params["counts"], "bytes": size, "lib": os.path.dirname(dbmlib.__file__)}))
"""


def run_one(n: int, rate: float, chunk: int, root: str = "") -> dict:
    """Generate ``n`` customers in a fresh process (into a temporary folder, removed after)."""
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        load = os.getloadavg()[0]
        done = subprocess.run([sys.executable, "-c", _CHILD, root, f"{tmp}/co", str(n), str(rate), str(chunk)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False,
                              env=os.environ | {"PYTHONWARNINGS": "ignore"})
        if done.returncode:
            raise SystemExit(f"generating {n:,} customers failed ({done.returncode}); traceback above")
    res = json.loads([x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])
    return res | {"n": n, "rate": rate, "chunk": chunk, "root": root, "load_before": load,
                  "load_after": os.getloadavg()[0], "peak_gib": res["peak_kib"] / 2**20}


def _git_head() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def report(results: list[dict], rate: float, label: str = "") -> list[str]:
    lines = [
        f"Run on {dt.date.today()} — {platform.platform()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}; code at commit {_git_head()} (uncommitted changes included). "
        f"`make_retail_demo(n_customers=N, seed=0, purchase_rate={rate:g})`, each size in a fresh process "
        "(`benchmarks/bench_generate.py`): wall and CPU seconds (user + system) of the call, peak = the process's "
        "`VmHWM` (imports included); load = the machine's 1-minute load average before / after (2 cores, shared "
        "with other work when it is above 1). CPU time can exceed wall time: a thread writes the CSV text while "
        "the next chunk is simulated.",
        "",
        "| code | customers | chunk | customer rows | transaction rows | files | wall s | CPU s | peak GiB | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        code = (label or f"reference `{r['root']}`") if r["root"] else "this commit"
        chunk = "its own" if r["root"] else (f"{r['chunk']:,}" if r["chunk"] else "default")
        lines.append(
            f"| {code} | {r['n']:,} | {chunk} | {r['counts']['customers_rows']:,} | "
            f"{r['counts']['transactions_rows']:,} | {r['bytes'] / 2**30:.2f} GiB | {r['wall_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['peak_gib']:.2f} | {r['load_before']:.1f} / {r['load_after']:.1f} |")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", help="numbers of customers (default 200,000 and 1,000,000)")
    ap.add_argument("--purchase-rate", type=float, default=15.0)
    ap.add_argument("--chunk-customers", type=int, default=0, help="0: the generator's default")
    ap.add_argument("--reference-root", default="", help="also run the dbmlib package found in this folder")
    ap.add_argument("--reference-label", default="", help="what the reference is, for the table")
    ap.add_argument("--reference-sizes", type=int, nargs="+", help="sizes for the reference (default: --sizes)")
    ap.add_argument("--note", action="append", default=[], help="a line added below the table (repeatable)")
    ap.add_argument("--quick", action="store_true", help="200,000 customers only")
    ap.add_argument("--write", action="store_true", help="write the section of benchmarks/RESULTS.md")
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    sizes = args.sizes or ([200_000] if args.quick else [200_000, 1_000_000])
    results = []
    runs = [(args.reference_root, n) for n in (args.reference_sizes or sizes) if args.reference_root]
    for root, n in runs + [("", n) for n in sizes]:
        r = run_one(n, args.purchase_rate, args.chunk_customers, root)
        print(f"{'reference' if root else 'ours':9s} n={n:>9,}  wall {r['wall_s']:6.1f} s  CPU {r['cpu_s']:6.1f} s  "
              f"peak {r['peak_gib']:.2f} GiB  load {r['load_before']:.1f}/{r['load_after']:.1f}", flush=True)
        results.append(r)
    lines = report(results, args.purchase_rate, args.reference_label) + (["", *(f"- {note}" for note in args.note)] if args.note else [])
    print("\n".join(lines))
    if args.write:
        write_section(TITLE, lines)


if __name__ == "__main__":
    main()
