"""Run every ``bench_*.py`` in this folder (arguments are passed to each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

status = 0
for script in sorted(Path(__file__).parent.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    status |= subprocess.call([sys.executable, str(script), *sys.argv[1:]])
sys.exit(status)
