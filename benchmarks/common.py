"""Timing helpers for the benchmarks: median of repeats and peak Python memory."""

from __future__ import annotations

import statistics
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
