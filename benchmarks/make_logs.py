"""Write seeded transaction logs of a given size as Parquet (for the speed benchmarks).

    python benchmarks/make_logs.py --rows 1000000 10000000 50000000

Each log is written in chunks of 200,000 customers (chunk k seeded with ``seed + k``), so
memory stays flat; the file is cut at whole customers once it reaches ``--rows``. Files go
to ``benchmarks/data/log_<rows>.parquet`` and are reused when they exist.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dbmlib.demo.simulate import transaction_log

DATA = Path(__file__).parent / "data"
CHUNK = 200_000


def log_path(rows: int) -> Path:
    return DATA / f"log_{rows}.parquet"


def make_log(rows: int, seed: int = 0) -> Path:
    """Write (or reuse) ``log_<rows>.parquet``; returns its path."""
    path = log_path(rows)
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    from tqdm import tqdm

    written, k, writer = 0, 0, None
    bar = tqdm(total=rows, desc=path.name, unit="rows", unit_scale=True)
    while written < rows:
        df = transaction_log(CHUNK, seed=seed + k, first_id=k * CHUNK)
        if written + len(df) > rows:  # cut at the last whole customer that fits
            last = df["customer_id"].iloc[rows - written]
            df = df[df["customer_id"] < last]
            if df.empty:
                break
        table = pa.Table.from_pandas(df, preserve_index=False)
        writer = writer or pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
        written += len(df)
        bar.update(len(df))
        k += 1
        if written >= rows or len(df) == 0:
            break
    writer.close()
    bar.close()
    tmp.replace(path)
    print(f"{path}: {written:,} rows")
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for n in args.rows:
        make_log(n, args.seed)
