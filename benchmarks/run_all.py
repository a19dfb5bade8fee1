"""Run every ``bench_*.py`` in this folder (arguments are passed to each).

Benchmarks against an optional peer library run only where the peer is installed and say
"skipped" otherwise (exit status 0): ``bench_uplift.py`` needs causalml in the running
environment; ``bench_pymc_marketing.py`` finds pymc-marketing's Python through
``--peer-python`` or ``$PYMC_MARKETING_PYTHON`` (a separate venv; pymc-marketing is never a
dependency of the workbench), e.g.
``PYMC_MARKETING_PYTHON=/tmp/pymc-venv/bin/python python benchmarks/run_all.py --quick``.

Long benchmarks (in ``LONG``) run only with ``--long`` and say "skipped" otherwise:
``bench_out_of_core.py`` generates 100M order lines (1.2 GB of Parquet in ``$TMPDIR``, a few
GB of DuckDB files while it runs) and takes 5-8 minutes on 2 cores (``--long --quick``:
10M lines).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LONG = {"bench_out_of_core.py"}

status = 0
for script in sorted(Path(__file__).parent.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    if script.name in LONG and "--long" not in sys.argv[1:]:
        print("skipped (a long benchmark: pass --long)", flush=True)
        continue
    status |= subprocess.call([sys.executable, str(script), *sys.argv[1:]])
sys.exit(status)
