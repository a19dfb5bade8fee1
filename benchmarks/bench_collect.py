"""Collection: validated, lineage-tracked load into DuckDB vs a bare ``pandas.read_csv``.

The peer is what a notebook would do without the workbench (read the export with pandas,
no validation, no lineage, no database). The ratio says what validation and an atomic,
idempotent load cost. Both read the same retail-demo transactions file.

    python benchmarks/bench_collect.py --n-customers 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import measure

from dbmlib.collect import load as collect
from dbmlib.core.db import connect
from dbmlib.demo import make_retail_demo


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-customers", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_retail_demo(tmp / "src", n_customers=args.n_customers, seed=0)
        path = tmp / "src" / "transactions.csv"

        def ours():
            db = tmp / "bench.duckdb"
            db.unlink(missing_ok=True)
            with connect(db) as con:
                return collect.load_file(con, "transactions", path).rows_loaded

        def peer():
            return len(pd.read_csv(path, dtype=str))

        t_ours, m_ours, n_ours = measure(ours, args.repeat)
        t_peer, m_peer, n_peer = measure(peer, args.repeat)
    assert n_ours == n_peer, f"row counts differ: {n_ours} vs {n_peer}"
    print(f"collect transactions ({n_ours:,} rows, median of {args.repeat})")
    print(f"  dbmlib.collect.load.load_file : {t_ours:7.3f} s  peak {m_ours:7.1f} MiB")
    print(f"  pandas.read_csv (peer)   : {t_peer:7.3f} s  peak {m_peer:7.1f} MiB")
    print(f"  time ratio ours/peer     : {t_ours / t_peer:7.2f}x  (cost of validation + lineage + DB)")


if __name__ == "__main__":
    main()
