"""Timing helpers for the benchmarks: median of repeats and peak Python memory."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc


def measure(fn, repeat: int = 3):
    """Run ``fn`` ``repeat`` times; return (median seconds, peak MiB of the last run, result)."""
    times, result, peak = [], None, 0.0
    for _ in range(repeat):
        tracemalloc.start()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return statistics.median(times), peak, result


RESULTS = __import__("pathlib").Path(__file__).parent / "RESULTS.md"


def write_section(title: str, lines: list[str]) -> None:
    """Replace (or append) the ``## title`` section of RESULTS.md, keeping the others."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    head, sections = text.split("\n## ")[0], text.split("\n## ")[1:]
    body = "\n".join(lines).rstrip() + "\n"
    kept = [s for s in sections if s.splitlines()[0].strip() != title]
    ordered = [s if s.endswith("\n") else s + "\n" for s in kept] + [f"{title}\n\n{body}"]
    RESULTS.write_text(head.rstrip() + "\n\n" + "\n".join("## " + s for s in ordered))
    print(f"wrote section {title!r} of {RESULTS}")


def run_child(script: str, args: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process and return the JSON it printed on
    its last ``RESULT `` line, with ``wall_s`` (the process's wall time); on a timeout or a
    failure, ``{"error": …}`` instead (the child's traceback is on stderr)."""
    cmd = [sys.executable, script, *args]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout, check=False,
                              env=os.environ | {"PYTHONWARNINGS": "ignore"} | (env or {}))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    if done.returncode:
        return {"error": f"exit status {done.returncode} (traceback above)"}
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):]) | {"wall_s": wall}
