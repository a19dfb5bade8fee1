"""Whole pipeline: ``dbm run`` on a generated retail-demo company, per-stage wall time and peak memory.

Generates the company first if its folder is missing (timed apart, in a fresh Python process
whose peak resident set is its own: in real use the exports arrive from the source systems),
then runs the five notebooks into a temporary database and report folder. Per notebook:

* wall seconds from ``manifest.json`` (kernel start, the cells, the stage's database checkpoint
  and the HTML export) and the sum of its cells' own durations;
* peak memory of its kernel: a background thread polls ``/proc`` every 0.2 s while ``dbm run``
  runs, reading ``VmHWM`` (the kernel process's exact high-water mark, read until it exits) and
  the summed ``VmRSS`` of the kernel and any worker processes it starts; each kernel is given
  to the notebook whose manifest start/end holds the moment it appeared (one kernel per
  notebook, in order);
* CPU seconds of the kernel (its user + system time, and its reaped children's);
* the slowest code cells, from ``metadata.papermill.duration`` in the executed notebook.

The ``dbm`` process itself (papermill, the HTML export) is reported on its own row. There is
no peer library for a whole workbench; the target is the issue's (≤ 60 s on the default
company; ≤ 300 s and ≤ 6 GiB at 1M customers and 10M order lines, issue 22).

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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import write_section

from dbmlib.demo import datasets

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Whole pipeline (dbm run, five notebooks)"
TOP_CELLS = 5
GIB_KIB = 2**20  # /proc and getrusage report KiB
TICK = os.sysconf("SC_CLK_TCK")


def _dbm() -> str:
    return str(Path(sys.executable).with_name("dbm"))


# --------------------------------------------------------------------------------- /proc sampling
def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children) from /proc/pid/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name may hold spaces and parens
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / TICK


def _status_kib(pid: int) -> tuple[int, int] | None:
    """(VmHWM, VmRSS) in KiB, or None once the process has gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    vals = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in lines)
            if k in ("VmHWM", "VmRSS")}
    return (vals["VmHWM"], vals["VmRSS"]) if "VmHWM" in vals else None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class TreeSampler(threading.Thread):
    """Polls the process tree under ``root`` until stopped. For every direct child of ``root``
    (a notebook kernel) it keeps: when it first appeared, its command line, its last ``VmHWM``,
    the largest summed ``VmRSS`` of it and its own descendants, and its last CPU seconds."""

    def __init__(self, root: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.children: dict[int, dict] = {}
        self.root_hwm_kib = 0
        self.samples = 0
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        while not self._halt.is_set():
            self._sample()
            self._halt.wait(self.interval)

    def _sample(self) -> None:
        parent: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                st = _stat(int(entry.name))
                if st:
                    parent[int(entry.name)], cpu[int(entry.name)] = st
        kids: dict[int, list[int]] = {}
        for pid, ppid in parent.items():
            kids.setdefault(ppid, []).append(pid)
        mem = _status_kib(self.root)
        if mem:
            self.root_hwm_kib = max(self.root_hwm_kib, mem[0])
        now = dt.datetime.now()
        for child in kids.get(self.root, []):
            info = self.children.get(child)
            if info is None:
                info = self.children[child] = {"pid": child, "first_seen": now, "cmd": _cmdline(child),
                                               "hwm_kib": 0, "tree_rss_kib": 0, "cpu_s": 0.0, "workers": 0}
            tree, stack = [], [child]
            while stack:
                pid = stack.pop()
                tree.append(pid)
                stack.extend(kids.get(pid, []))
            rss = 0
            for pid in tree:
                m = _status_kib(pid)
                if m is None:
                    continue
                rss += m[1]
                if pid == child:
                    info["hwm_kib"] = max(info["hwm_kib"], m[0])
            info["tree_rss_kib"] = max(info["tree_rss_kib"], rss)
            info["cpu_s"] = max(info["cpu_s"], cpu.get(child, 0.0))
            info["workers"] = max(info["workers"], len(tree) - 1)
            info["last_seen"] = now
        self.samples += 1


def _attribute(kernels: list[dict], notebooks: list[dict]) -> dict[str, dict]:
    """Give each kernel to the notebook whose [start, end] (whole seconds) holds its last
    sighting: a kernel ends with its notebook, but starts while the notebook before it runs
    (`dbm run` warms it). Kernels that fit none (clock trouble) go to the remaining notebooks
    in order."""
    out: dict[str, dict] = {}
    left = []
    for k in sorted(kernels, key=lambda k: k["last_seen"]):
        seen = k["last_seen"].replace(microsecond=0)
        hit = [nb for nb in notebooks if nb["notebook"][:2] not in out
               and dt.datetime.fromisoformat(nb["start"]) <= seen <= dt.datetime.fromisoformat(nb["end"])]
        if hit:
            out[hit[0]["notebook"][:2]] = k
        else:
            left.append(k)
    for nb, k in zip([nb for nb in notebooks if nb["notebook"][:2] not in out], left):
        out[nb["notebook"][:2]] = k
    return out


# ------------------------------------------------------------------------------------ notebooks
def _cells(executed: Path) -> tuple[float, list[dict]]:
    """(sum of code cells' seconds, every code cell as {n, s, line}) of an executed notebook."""
    nb = json.loads(executed.read_text())
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        secs = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        line = next((x.strip() for x in src.splitlines() if x.strip()), "")
        cells.append({"n": cell.get("execution_count") or i, "s": float(secs or 0.0), "line": line})
    return sum(c["s"] for c in cells), cells


# ------------------------------------------------------------------------------------ generation
_GENERATE = """
import json, resource, sys, time
from dbmlib.demo import make_retail_demo
t0 = time.perf_counter()
make_retail_demo(sys.argv[1], n_customers=int(sys.argv[2]), seed=0, purchase_rate=float(sys.argv[3]))
wall = time.perf_counter() - t0
print("RESULT " + json.dumps({"wall_s": wall, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _generate(folder: Path, n_customers: int, purchase_rate: float) -> dict:
    """Write the company in a fresh Python process: its wall seconds and peak GiB, also kept in
    ``_truth/bench_generate.json`` for later runs on the same folder."""
    done = subprocess.run([sys.executable, "-c", _GENERATE, str(folder), str(n_customers), str(purchase_rate)],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False,
                          env=os.environ | {"PYTHONWARNINGS": "ignore"})
    if done.returncode:
        raise SystemExit(f"generating the company failed ({done.returncode}); traceback above")
    res = json.loads([x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])
    out = {"wall_s": res["wall_s"], "peak_gib": res["peak_kib"] / GIB_KIB, "date": str(dt.date.today())}
    (folder / "_truth" / "bench_generate.json").write_text(json.dumps(out))
    return out


def _earlier_generation(folder: Path) -> dict | None:
    """The generation time recorded when this benchmark wrote the folder, if it did."""
    try:
        return json.loads((folder / "_truth" / "bench_generate.json").read_text()) | {"earlier": True}
    except (OSError, ValueError):
        return None


def _git_state() -> dict:
    """The commit and the uncommitted files under dbmlib/ and notebooks/ (the code the kernels run)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"head": git("rev-parse", "--short", "HEAD") or "unknown",
            "dirty": sorted(line[3:] for line in git("status", "--porcelain", "--", "dbmlib", "notebooks")
                            .splitlines() if line.strip())}


# ------------------------------------------------------------------------------------------ run
def run(n_customers: int, purchase_rate: float) -> dict:
    folder = datasets.retail_demo_dir(0, n_customers, purchase_rate)
    generate = None
    if not (folder / "_truth" / "params.json").exists():
        generate = _generate(folder, n_customers, purchase_rate)
    else:
        generate = _earlier_generation(folder)
    counts = json.loads((folder / "_truth" / "params.json").read_text())["counts"]
    load_before, git_before = os.getloadavg(), _git_state()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [_dbm(), "run", "-p", f"n_customers={n_customers}", "-p", f"purchase_rate={purchase_rate}",
               "--db", f"{tmp}/bench.duckdb", "--reports-dir", f"{tmp}/reports", "--run-name", "bench"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=os.environ | {"PYTHONWARNINGS": "ignore"})
        sampler = TreeSampler(proc.pid)
        sampler.start()
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        sampler.stop()
        load_after, git_after = os.getloadavg(), _git_state()
        manifest_file = Path(f"{tmp}/reports/bench/manifest.json")
        manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {"notebooks": []}
        if proc.returncode:
            failed = [nb for nb in manifest["notebooks"] if nb.get("status") == "failed"]
            raise SystemExit(f"dbm run failed ({proc.returncode})"
                             + (f" in {failed[0]['notebook']}: {failed[0].get('error')}" if failed else "")
                             + f":\n{err[-3000:]}")
        kernels = _attribute([k for k in sampler.children.values() if "kernel" in k["cmd"]] or
                             list(sampler.children.values()), manifest["notebooks"])
        stages = {}
        for nb in manifest["notebooks"]:
            stage = nb["notebook"][:2]
            cells_s, cells = _cells(Path(f"{tmp}/reports/bench") / nb["output"])
            k = kernels.get(stage, {})
            stages[stage] = {
                "notebook": Path(nb["notebook"]).stem, "wall_s": nb["duration_s"], "cells_s": cells_s,
                "peak_gib": max(k.get("hwm_kib", 0), k.get("tree_rss_kib", 0)) / GIB_KIB,
                "kernel_hwm_gib": k.get("hwm_kib", 0) / GIB_KIB, "cpu_s": k.get("cpu_s"),
                "workers": k.get("workers", 0),
                "top": sorted(cells, key=lambda c: -c["s"])[:TOP_CELLS]}
    rusage_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / GIB_KIB
    peak = max([s["peak_gib"] for s in stages.values()] + [sampler.root_hwm_kib / GIB_KIB])
    return {"customers": counts["customers_rows"], "orders": counts["transactions_rows"],
            "n_customers": n_customers, "purchase_rate": purchase_rate, "generate": generate,
            "wall_s": wall, "peak_gib": peak, "dbm_hwm_gib": sampler.root_hwm_kib / GIB_KIB,
            "rusage_gib": rusage_gib, "samples": sampler.samples, "stages": stages,
            "load": (load_before, load_after), "git": (git_before, git_after), "date": str(dt.date.today())}


# --------------------------------------------------------------------------------------- report
def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    import duckdb

    return (f"{platform.platform()}, {cpu}, {os.cpu_count()} cores, {mem_kib / GIB_KIB:.1f} GiB RAM, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def _size(r: dict) -> str:
    return f"{r['customers']:,} customer rows, {r['orders']:,} order lines"


def _md(text: str, width: int = 90) -> str:
    text = text if len(text) <= width else text[:width - 1] + "…"
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _profile(r: dict, note: str) -> list[str]:
    gen = r["generate"]
    gen_text = (f"generating the company took {gen['wall_s']:.0f} s, peak {gen['peak_gib']:.2f} GiB (its own process"
                + (f"; measured {gen['date']} when this benchmark wrote the folder)" if gen.get("earlier") else ")")
                if gen else "the company was already generated (not timed)")
    (before, after) = r["git"]
    code = f"Code: commit {before['head']}"
    if before["dirty"]:
        code += f" with uncommitted changes to {', '.join(before['dirty'])}"
    if after["head"] != before["head"]:
        code += f" (HEAD moved to {after['head']} during the run: each stage ran the code of its kernel's start)"
    elif after["dirty"] != before["dirty"]:
        code += " (the uncommitted files changed during the run)"
    lines = [f"### Profile: {_size(r)}", "",
             f"{r['date']}, `--n-customers {r['n_customers']} --purchase-rate {r['purchase_rate']:g}`; {gen_text}. "
             f"{code}. Load average (1 min) {r['load'][0][0]:.1f} before, {r['load'][1][0]:.1f} after."
             + (f" {note}" if note else ""), "",
             "| stage | wall s | cells s | kernel CPU s | peak GiB |", "|---|---:|---:|---:|---:|"]
    for stage, s in r["stages"].items():
        cpu = f"{s['cpu_s']:.0f}" if s["cpu_s"] is not None else "–"
        workers = f" ({s['workers']} worker processes)" if s["workers"] else ""
        lines.append(f"| {s['notebook']} | {s['wall_s']:.0f} | {s['cells_s']:.0f} | {cpu} | "
                     f"{s['peak_gib']:.2f}{workers} |")
    lines.append(f"| `dbm` process (papermill, HTML export) | | | | {r['dbm_hwm_gib']:.2f} |")
    lines.append(f"| **total `dbm run`** | **{r['wall_s']:.0f}** | "
                 f"{sum(s['cells_s'] for s in r['stages'].values()):.0f} | | **{r['peak_gib']:.2f}** |")
    lines += ["", f"Slowest {TOP_CELLS} code cells per notebook (papermill's cell durations; `[n]` = execution count):",
              "", "| stage | s | cell |", "|---|---:|---|"]
    for stage, s in r["stages"].items():
        lines += [f"| {stage} | {c['s']:.1f} | [{c['n']}] {_md(c['line'])} |" for c in s["top"]]
    return lines


def _summary_row(r: dict) -> tuple[str, str]:
    key = f"| {_size(r)} |"
    stages = " · ".join(f"{k} {v['wall_s']:.0f} s" for k, v in r["stages"].items())
    before, after = r["git"]
    commit = before["head"] + ("+uncommitted" if before["dirty"] else "")
    if after["head"] != before["head"]:
        commit += f" → {after['head']}"
    return key, (f"{key} {r['wall_s']:.0f} s | {r['peak_gib']:.2f} GiB | {stages} | "
                 f"{r['date']}, purchase_rate {r['purchase_rate']:g}, {commit} |")


def _section() -> tuple[dict[str, list[str]], list[str]]:
    """The section's current profiles ({title: lines}) and summary-table rows."""
    from common import RESULTS

    text = RESULTS.read_text() if RESULTS.exists() else ""
    part = text.split(f"## {TITLE}")
    body = part[1].split("\n## ")[0] if len(part) > 1 else ""
    profiles = {}
    for chunk in body.split("\n### ")[1:]:
        title = chunk.splitlines()[0].strip()
        if title.startswith("Profile: "):
            profiles[title] = ("### " + chunk.rstrip()).splitlines()
    history = body.split("### All runs")[-1]  # the whole section when written before the profiles
    rows = [line for line in history.splitlines()
            if line.startswith("| ") and " customer rows, " in line.split("|")[1]]
    return profiles, rows


def write(r: dict, note: str) -> None:
    profiles, rows = _section()
    profile = _profile(r, note)
    profiles[profile[0][4:]] = profile
    key, row = _summary_row(r)
    run_col = row.rsplit(" | ", 1)[-1]  # date, rate and commit: a rerun of the same code replaces its row
    rows = [x for x in rows if not (x.startswith(key) and x.rstrip().endswith(run_col))]
    rows.append(row)  # earlier runs stay as history

    def orders(title: str) -> int:
        return -int(title.split(", ")[1].split()[0].replace(",", ""))

    lines = [f"Machine: {_machine()}. Other benchmarks may share the machine (see each profile's load "
             "average and note). Wall time of `dbm run` (kernel start per notebook, checkpoint copy and HTML "
             "export included); *cells s* = sum of papermill's cell durations; peak = the kernel's `VmHWM` "
             "(or the summed resident set of the kernel and its worker processes, whichever is larger), "
             "polled from `/proc` every 0.2 s; the total's peak is the largest single process's. Targets: "
             "≤ 60 s on the default company; ≤ 300 s and ≤ 6 GiB at 1M customers / 10M order lines.", ""]
    for title in sorted(profiles, key=orders):
        lines += [*profiles[title], ""]
    lines += ["### All runs (history)", "", "| size | wall | peak memory | per notebook | run |",
              "|---|---:|---:|---|---|", *rows]
    write_section(TITLE, lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-customers", type=int, default=20_000)
    ap.add_argument("--purchase-rate", type=float, default=1.0)
    ap.add_argument("--write", action="store_true", help="write the profile into benchmarks/RESULTS.md")
    ap.add_argument("--note", default="", help="a sentence for the profile in RESULTS.md (e.g. what else ran)")
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    r = run(args.n_customers, args.purchase_rate)
    print("\n".join(_profile(r, args.note)))
    print(f"\n{r['samples']} samples; getrusage(RUSAGE_CHILDREN) peak {r['rusage_gib']:.2f} GiB "
          "(includes the generation process when it ran)")
    if args.write:
        write(r, args.note)


if __name__ == "__main__":
    main()
