"""100 million order lines out of core: Parquet → DuckDB → orders → RFM summary → scores,
on one machine under a 4 GiB peak resident set.

Generates (DuckDB ``COPY … TO parquet``, seeded hash-based columns, one file of 10M lines at a
time, nothing held in Python) ``--lines`` order lines in ``--files`` Parquet files: orders of
1-4 lines (mean 2.5), ~``--customers`` customers drawn with a skewed distribution (the
busiest buys ~800 times, the tail once or twice), each active in a window of 30-1,030 days
inside 2023-2024, order times to the second, 50,000 products in 40 categories, quantities and
prices. Then a child process (its peak resident set is the acceptance) runs, on a DuckDB
database file with ``memory_limit`` / ``temp_directory`` / ``preserve_insertion_order=false`` /
``threads``:

1. load: ``CREATE TABLE order_lines AS SELECT * FROM read_parquet('<folder>/*.parquet')``;
2. lines → orders in SQL (per order: customer, earliest time, summed amount, lines);
3. the RFM summary in days;
4. fit ``PurchaseModel('bgnbd')`` and ``SpendModel()`` (on the distinct (frequency, recency, T)
   rows);
5. score every customer (P(alive), expected purchases and spend, 12-month CLV:
   ``dbmlib.models.spark.score_frame``, the code the Spark path runs per partition) in chunks of
   ``--score-chunk`` customers, each chunk inserted into a DuckDB ``scores`` table.

``--summary`` picks how steps 3-5 run (default: both, one process each; the second starts
from the ``orders`` table the first left): ``pandas`` is the project's API,
``rfm_summary('orders', …, engine='duckdb', con=con)`` returning a pandas frame, the models fitted
on every customer; ``duckdb`` keeps the summary in DuckDB (``rfm_sql.summary_query`` →
``CREATE TABLE rfm``), fits on a seeded sample of ``--fit-sample`` customers and reads the
customers to score by id range, so no step holds every customer in pandas (for bases whose
summary does not fit).

A step's peak is the process's resident set during it (``VmHWM`` reset before it through
``/proc/self/clear_refs``, helpers of ``bench_order_lines.py``), so it includes what the process
already holds; the process peak is the largest. A background thread samples the database file
and DuckDB's spill folder for the disk used. A second child loads ``--loader-lines`` lines of
the same generator (one Parquet file each) through the project's validated loader
(``collect.load_file(..., chunk_rows=1_000_000)``), for comparison.

    python benchmarks/bench_out_of_core.py                        # 100M lines, 10 files
    python benchmarks/bench_out_of_core.py --quick                # 10M lines, 1 file
    python benchmarks/bench_out_of_core.py --write                # also write benchmarks/RESULTS.md
    python benchmarks/bench_out_of_core.py --summary duckdb --fit-sample 500000

Data go to ``--data`` (default ``$TMPDIR/dbm-ooc-<lines>``, reused when its manifest matches);
the database and spill files to ``--workdir`` (removed at the end). The Parquet folder is
removed at the end when it is larger than ``--keep-below-gb`` (default 5) unless
``--keep-data``. ``run_all.py`` runs this only with ``--long``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_order_lines import _hwm_gib, _maxrss_gib, _process_peak, _reset_peak, _step, machine
from common import run_child, write_section

TITLE = "100M order lines out of core (DuckDB)"
FILE_LINES = 10_000_000
END = "2024-12-31"
CAP_GIB = 4.0
_U = "18446744073709551616.0"  # 2**64: hash / 2**64 is uniform on [0, 1)


def _h(x: str, seed: int, k: int) -> str:
    """A 64-bit hash of the integer expression ``x`` for stream ``k`` of ``seed``. (One integer
    argument: DuckDB's several-argument ``hash(a, b)`` keeps the high bits of ``hash(a)``, so
    streams of the same key would be correlated.)"""
    return f"hash({x} + {(seed * 16 + k) << 40})"


def _u(x: str, seed: int, k: int) -> str:
    return f"({_h(x, seed, k)}::DOUBLE / {_U})"


# --------------------------------------------------------------------------- generator
def lines_sql(lo: int, hi: int, n_customers: int, seed: int) -> str:
    """Order lines ``lo`` .. ``hi - 1`` (a pure function of the line number and the seed).

    Lines come in blocks of 5 split into two orders of 1-4 and 4-1 lines; an order's customer
    is ``floor(n × u^1.5)`` (skewed to low ids), its day uniform in the customer's window
    (start uniform in 2023-2024, 30-1,030 days long, cut at the end), its time of day uniform."""
    s = seed
    return f"""
WITH l AS (SELECT i, i // 5 AS b, CAST(i % 5 AS INTEGER) AS pos FROM range({lo}, {hi}) t(i)),
o AS (SELECT i, b, pos, CAST(1 + {_h('b', s, 1)} % 4 AS INTEGER) AS split FROM l),
c AS (SELECT i, 2 * b + CAST(pos >= split AS BIGINT) AS order_id,
             CAST(CASE WHEN pos >= split THEN pos - split ELSE pos END + 1 AS TINYINT) AS line_no FROM o),
d AS (SELECT i, order_id, line_no,
             CAST(floor({n_customers} * pow({_u('order_id', s, 2)}, 1.5)) AS BIGINT) AS cust FROM c),
e AS (SELECT *, floor(731 * {_u('cust', s, 3)}) AS start_day, 30 + floor(1000 * {_u('cust', s, 4)}) AS life,
             CAST(1 + floor(50000 * pow({_u('i', s, 7)}, 3)) AS INTEGER) AS product_id,
             CAST(1 + floor(12 * pow({_u('i', s, 10)}, 4)) AS SMALLINT) AS quantity FROM d),
f AS (SELECT *, round(0.5 + 99.5 * pow({_u('product_id', s, 8)}, 4), 2) AS unit_price FROM e)
SELECT order_id, line_no, cust + 1 AS customer_id,
  TIMESTAMP '2023-01-01' + to_seconds(CAST(
      (start_day + floor({_u('order_id', s, 5)} * least(life, 731 - start_day))) * 86400
      + {_h('order_id', s, 6)} % 86400 AS BIGINT)) AS order_ts,
  product_id, 'cat_' || lpad(CAST({_h('product_id', s, 9)} % 40 AS VARCHAR), 2, '0') AS category,
  quantity, unit_price, round(quantity * unit_price, 2) AS amount
FROM f"""


def _duckdb_settings(con, memory_limit: str, threads: int, temp: Path | None = None) -> None:
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    if temp is not None:
        con.execute(f"SET temp_directory = '{temp}'")


def folder_bytes(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in Path(folder).glob(pattern) if p.is_file())


def generate(folder: Path, lines: int, files: int, n_customers: int, seed: int, *,
             memory_limit: str, threads: int) -> dict:
    """Write ``part-k.parquet`` files of ``lines / files`` lines each (reused when the folder's
    manifest says the same parameters); returns the manifest with the seconds and peak."""
    import duckdb

    want = {"lines": lines, "files": files, "customers": n_customers, "seed": seed, "version": 1}
    manifest = folder / "manifest.json"
    if manifest.exists() and {k: v for k, v in json.loads(manifest.read_text()).items() if k in want} == want:
        out = json.loads(manifest.read_text())
        print(f"  reusing {folder} ({out['bytes'] / 2**30:.2f} GiB)", flush=True)
        return out | {"reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    reset = _reset_peak()
    t0 = time.perf_counter()
    con = duckdb.connect()
    _duckdb_settings(con, memory_limit, threads)
    per = -(-lines // files)
    for k in range(files):
        lo, hi = k * per, min((k + 1) * per, lines)
        if lo >= hi:
            break
        con.execute(f"COPY ({lines_sql(lo, hi, n_customers, seed)}) TO '{folder / f'part-{k:03d}.parquet'}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        print(f"  part {k}: lines {lo:,}..{hi - 1:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
    con.close()
    out = want | {"seconds": time.perf_counter() - t0, "peak_gib": _hwm_gib() if reset else _maxrss_gib(),
                  "bytes": folder_bytes(folder, "*.parquet"), "reused": False}
    manifest.write_text(json.dumps(out))
    return out


# --------------------------------------------------------------------------- disk sampler
class DiskSampler:
    """Largest size seen of the database file(s) and of the spill folder, sampled every second."""

    def __init__(self, workdir: Path, spill: Path):
        self.workdir, self.spill = workdir, spill
        self.db_max = self.spill_max = self.total_max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sizes(self) -> tuple[int, int]:
        db = folder_bytes(self.workdir, "ooc.duckdb*")
        spill = folder_bytes(self.spill) if self.spill.exists() else 0
        return db, spill

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(1.0)

    def sample(self):
        try:
            db, spill = self._sizes()
        except OSError:  # a spill file removed while listed
            return
        self.db_max, self.spill_max = max(self.db_max, db), max(self.spill_max, spill)
        self.total_max = max(self.total_max, db + spill)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


# --------------------------------------------------------------------------- children
def child_ooc(args) -> dict:
    """The out-of-core run (see the module docstring), in its own process; with
    ``--reuse-orders`` from the ``orders`` table an earlier child left in the database."""
    import duckdb
    import numpy as np

    from dbmlib.models import PurchaseModel, SpendModel
    from dbmlib.models.spark import score_frame
    from dbmlib.segment import rfm_sql
    from dbmlib.segment.rfm import rfm_summary

    data, workdir = Path(args.data), Path(args.workdir)
    spill = workdir / "spill"
    startup, steps = _hwm_gib(), []
    con = duckdb.connect(str(workdir / "ooc.duckdb"))
    _duckdb_settings(con, args.memory_limit, args.threads, spill)
    score_kw = dict(horizon=12 * 30.4375, horizon_months=12, discount_rate_annual=0.10, margin=1.0,
                    days_per_time_unit=1.0)
    rows, info, in_pandas = {}, {}, args.summary == "pandas"

    def count(table: str) -> int:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def load():
        con.execute(f"CREATE OR REPLACE TABLE order_lines AS SELECT * FROM read_parquet('{data}/*.parquet')")
        return count("order_lines")

    def orders():
        con.execute("CREATE OR REPLACE TABLE orders AS SELECT order_id, min(customer_id) AS customer_id, "
                    "min(order_ts) AS order_ts, sum(amount) AS amount, count(*) AS n_lines "
                    "FROM order_lines GROUP BY order_id")
        return count("orders")

    def summary_table():
        sql = rfm_sql.summary_query("orders", "customer_id", "order_ts", "amount", END, "D", 1.0, False, "duckdb")
        con.execute(f"CREATE OR REPLACE TABLE rfm AS {sql}")
        return count("rfm")

    def fit():
        if in_pandas:
            frame = summary
            if args.fit_sample and args.fit_sample < len(summary):
                frame = summary.sample(args.fit_sample, random_state=args.seed)
        else:
            # a hash of the id picks the sample: the same customers whatever the table's row order
            # (which parallel aggregation varies; USING SAMPLE … REPEATABLE would not repeat)
            share = (args.fit_sample or rows["summary"]) / rows["summary"]
            where = "" if share >= 1 else f" WHERE {_h('cid', args.seed, 11)} < {int(share * 2**64)}::UBIGINT"
            frame = con.execute(f"SELECT * FROM rfm{where}").df().set_index("cid")
        return PurchaseModel("bgnbd").fit(frame), SpendModel().fit(frame), len(frame)

    def score():
        con.execute("CREATE OR REPLACE TABLE scores (customer_id BIGINT, p_alive DOUBLE, "
                    "expected_purchases DOUBLE, expected_spend DOUBLE, clv DOUBLE)")
        chunk = args.score_chunk
        if in_pandas:
            parts = (summary.iloc[lo:lo + chunk] for lo in range(0, len(summary), chunk))
        else:  # customer-id ranges of about ``chunk`` customers, read from the rfm table
            lo, hi, n = con.execute("SELECT min(cid), max(cid) + 1, count(*) FROM rfm").fetchone()
            edges = np.linspace(lo, hi, max(1, -(-n // chunk)) + 1).round().astype(np.int64)
            parts = (con.execute(f"SELECT * FROM rfm WHERE cid >= {a} AND cid < {b}").df()
                     .rename(columns={"cid": "customer_id"}).set_index("customer_id")
                     for a, b in zip(edges[:-1], edges[1:]))
        for part in parts:
            con.register("_scores_chunk", score_frame(part, purchase, spend, **score_kw).reset_index())
            con.execute("INSERT INTO scores SELECT customer_id, p_alive, expected_purchases, expected_spend, "
                        "clv FROM _scores_chunk")
            con.unregister("_scores_chunk")
        return count("scores")

    with DiskSampler(workdir, spill) as disk:
        if not args.reuse_orders:
            rows["load"] = _step("load: Parquet → DuckDB table", load, steps)
            rows["orders"] = _step("lines → orders (SQL group by)", orders, steps)
        if in_pandas:
            summary = _step("RFM summary → pandas (rfm_summary engine='duckdb')", lambda: rfm_summary(
                "orders", "customer_id", "order_ts", "amount", END, engine="duckdb", con=con), steps)
            rows["summary"] = len(summary)
        else:
            rows["summary"] = _step("RFM summary → DuckDB table (rfm_sql.summary_query)", summary_table, steps)
        what = "sample" if args.fit_sample and args.fit_sample < rows["summary"] else "all customers"
        purchase, spend, rows["fit"] = _step(f"fit BG/NBD + Gamma-Gamma ({what})", fit, steps)
        source = "pandas frame" if in_pandas else "rfm table"
        rows["score"] = _step(f"score every customer → DuckDB ({args.score_chunk:,}-customer chunks from the "
                              f"{source})", score, steps)
    peak = _process_peak(startup, steps)
    info["bgnbd"] = {k: float(v) for k, v in purchase.params_.items()}
    info["gamma_gamma"] = {k: float(v) for k, v in spend.params_.items()}
    info["distinct_rows"] = int(purchase.n_distinct_)
    info["repeat_customers"] = int(spend.n_customers_)
    # checks (not timed): the scores are complete and finite, and a sample of the summary equals
    # the in-memory engine on the same customers' orders
    n_scores, bad, mean_alive, total_clv = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT (isfinite(p_alive) AND isfinite(clv) "
        "AND isfinite(expected_purchases))), avg(p_alive), sum(clv) FROM scores").fetchone()
    check_ids = con.execute(f"SELECT DISTINCT customer_id FROM orders WHERE {_h('customer_id', args.seed, 12)} "
                            f"< {int(min(1.0, 20_000 / rows['summary']) * 2**64)}::UBIGINT").df()
    con.register("_ids", check_ids)
    sample_orders = con.execute("SELECT o.customer_id, o.order_ts, o.amount FROM orders o "
                                "JOIN _ids USING (customer_id)").df()
    expect = rfm_summary(sample_orders, "customer_id", "order_ts", "amount", END)
    got = (summary.loc[expect.index] if in_pandas else
           con.execute("SELECT r.* FROM rfm r JOIN _ids i ON r.cid = i.customer_id").df()
           .set_index("cid").loc[expect.index])
    diff = float(np.max(np.abs(got[expect.columns].to_numpy() - expect.to_numpy())))
    per_customer = con.execute("SELECT max(n), avg(n) FROM (SELECT count(*) n FROM orders GROUP BY customer_id)"
                               ).fetchone()
    db_bytes = folder_bytes(workdir, "ooc.duckdb*")
    con.close()
    return {"summary": args.summary, "steps": steps, "rows": rows, "process_peak_gib": peak,
            "startup_gib": startup, "scores": n_scores, "scores_not_finite": bad, "mean_p_alive": mean_alive,
            "total_clv": total_clv, "check_customers": len(expect), "check_max_abs_diff": diff,
            "orders_per_customer_max": per_customer[0], "orders_per_customer_mean": per_customer[1],
            "db_bytes_end": db_bytes, "db_bytes_max": disk.db_max, "spill_bytes_max": disk.spill_max,
            "disk_bytes_max": disk.total_max, **info}


def child_loader(args) -> dict:
    """The project's validated loader (01) on one Parquet file of the same generator."""
    from dbmlib.collect import load as collect
    from dbmlib.core.db import connect

    startup, steps = _hwm_gib(), []
    con = connect(Path(args.workdir) / "loader.duckdb")
    report = _step("collect.load_file (Parquet, chunk_rows=1M)", lambda: collect.load_file(
        con, "transactions", args.parquet, errors="quarantine", chunk_rows=1_000_000), steps)
    peak = _process_peak(startup, steps)
    con.close()
    return {"steps": steps, "process_peak_gib": peak, "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded, "rows_rejected": report.rows_rejected,
            "columns_ignored": list(report.columns_ignored), "dates": report.dates}


# --------------------------------------------------------------------------- parent
def run_loader(n: int, args, workdir: Path) -> dict:
    import duckdb

    path = workdir / f"loader_{n}.parquet"
    con = duckdb.connect()
    _duckdb_settings(con, args.memory_limit, args.threads)
    con.execute(f"COPY ({lines_sql(0, n, max(n // 10, 10), args.seed)}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    con.close()
    out = run_child(__file__, ["--child", "loader", "--parquet", str(path), "--workdir", str(workdir)],
                    args.timeout)
    path.unlink(missing_ok=True)
    (workdir / "loader.duckdb").unlink(missing_ok=True)
    return out | {"n": n}


def _gib(b: float) -> str:
    return f"{b / 2**30:.2f}"


def table(gen: dict, runs: list[dict], loaders: list[dict]) -> list[str]:
    rows = ["| run | step | rows | seconds | peak GiB |", "|---|---|---:|---:|---:|"]
    earlier = " (an earlier run's, files reused)" if gen.get("reused") else ""
    rows.append(f"| data | generate {gen['files']} Parquet files ({_gib(gen['bytes'])} GiB; parent process) | "
                f"{gen['lines']:,} lines | {gen['seconds']:.1f}{earlier} | {gen['peak_gib']:.2f} |")
    for r in runs:
        name = f"summary in {r['summary']}"
        if "error" in r:
            rows.append(f"| {name} | FAILED: {r['error']} | | | |")
            continue
        for s, n in zip(r["steps"], r["rows"].values()):
            rows.append(f"| {name} | {s['step']} | {n:,} | {s['seconds']:.1f} | {s['peak_gib']:.2f} |")
        total = sum(s["seconds"] for s in r["steps"])
        rows.append(f"| {name} | **total of these steps (process peak)** | | **{total:.1f}** | "
                    f"**{r['process_peak_gib']:.2f}** |")
    for r in loaders:
        if "error" in r:
            rows.append(f"| comparison | collect.load_file, {r['n']:,} lines: FAILED ({r['error']}) | | | |")
            continue
        s = r["steps"][0]
        rows.append(f"| comparison | {s['step']}, own process | {r['rows_loaded']:,} lines | "
                    f"{s['seconds']:.1f} | {r['process_peak_gib']:.2f} |")
    return rows


def notes(gen: dict, runs: list[dict], loaders: list[dict]) -> list[str]:
    out = []
    for r in runs:
        if "error" in r:
            continue
        name = f"Summary in {r['summary']}"
        ok = r["process_peak_gib"] < CAP_GIB
        out.append(f"{name}: process peak {r['process_peak_gib']:.2f} GiB {'<' if ok else '>='} {CAP_GIB:.0f} GiB "
                   f"(acceptance {'met' if ok else 'NOT met'}; start-up with imports {r['startup_gib']:.2f} GiB). "
                   f"Disk: DuckDB database {_gib(r['db_bytes_end'])} GiB at the end, spill folder largest seen "
                   f"{_gib(r['spill_bytes_max'])} GiB, database + spill largest seen {_gib(r['disk_bytes_max'])} GiB "
                   "(sampled every second).")
        bg, gg = r["bgnbd"], r["gamma_gamma"]
        out.append(f"{name}: fit on {r['rows']['fit']:,} customers ({r['distinct_rows']:,} distinct (frequency, "
                   f"recency, T) rows; {r['repeat_customers']:,} repeat customers for the spend model): BG/NBD r "
                   f"{bg['r']:.4g}, alpha {bg['alpha']:.4g}, a {bg['a']:.4g}, b {bg['b']:.4g} (a/(a+b) "
                   f"{bg['a'] / (bg['a'] + bg['b']):.4f}); Gamma-Gamma p {gg['p']:.4g}, q {gg['q']:.4g}, "
                   f"v {gg['v']:.4g}. Scores: {r['scores']:,} rows ({r['scores_not_finite']} not finite), mean "
                   f"P(alive) {r['mean_p_alive']:.4f}, total 12-month CLV {r['total_clv']:,.0f}.")
        out.append(f"{name}: the DuckDB summary of {r['check_customers']:,} sampled customers against "
                   f"`rfm_summary(engine='numpy')` on their orders: max abs difference {r['check_max_abs_diff']:.1e}.")
    done = [r for r in runs if "error" not in r]
    if done:
        out.append(f"Data: Parquet {_gib(gen['bytes'])} GiB; orders per customer mean "
                   f"{done[0]['orders_per_customer_mean']:.2f}, max {done[0]['orders_per_customer_max']:,}. The "
                   "generator is not a BG/NBD process (activity windows, not geometric dropout): the fit puts a and b "
                   "at very large values with a/(a+b) finite, i.e. the same dropout probability for every customer.")
    loaded = [f"{r['rows_loaded']:,} of {r['rows_read']:,} lines loaded ({r['rows_rejected']:,} rejected), "
              f"{r['rows_loaded'] / r['steps'][0]['seconds']:,.0f} lines/s, peak {r['process_peak_gib']:.2f} GiB"
              for r in loaders if "error" not in r]
    if loaded:
        out.append("Project loader (`collect.load_file`, the same generator's Parquet, `line_no` ignored): "
                   + "; ".join(loaded) + ". It validates every row and stores text in `raw_transactions` for "
                   "02's cleaning, which holds the orders in pandas (section \"Order lines\"): at 100M lines the "
                   "SQL load above stands in for 01/02.")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000_000)
    ap.add_argument("--files", type=int, default=None, help="Parquet files (default: one per 10M lines)")
    ap.add_argument("--customers", type=int, default=None, help="customer id range (default: lines / 10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="10M lines (run_all passes it to every benchmark)")
    ap.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--summary", nargs="+", choices=["pandas", "duckdb"], default=["pandas", "duckdb"],
                    help="pandas: rfm_summary(engine='duckdb') returns a frame, the fit sees every customer; "
                         "duckdb: the summary stays a table, the fit sees --fit-sample customers")
    ap.add_argument("--fit-sample", type=int, default=1_000_000,
                    help="customers in the seeded fit sample of the duckdb run (0: all)")
    ap.add_argument("--score-chunk", type=int, default=1_000_000)
    ap.add_argument("--loader-lines", type=int, nargs="*", default=[1_000_000],
                    help="also load one file of this many lines through collect.load_file")
    ap.add_argument("--data", default=None, help="Parquet folder (default $TMPDIR/dbm-ooc-<lines>)")
    ap.add_argument("--workdir", default=None, help="where the DuckDB file and spill go (default: a temp folder)")
    ap.add_argument("--keep-data", action="store_true", help="keep the Parquet folder whatever its size")
    ap.add_argument("--keep-below-gb", type=float, default=5.0, help="remove the Parquet folder above this size")
    ap.add_argument("--timeout", type=float, default=4 * 3600)
    ap.add_argument("--write", action="store_true", help="write the section to benchmarks/RESULTS.md")
    ap.add_argument("--child", choices=["ooc", "loader"], help=argparse.SUPPRESS)
    ap.add_argument("--parquet", help=argparse.SUPPRESS)
    ap.add_argument("--reuse-orders", action="store_true", help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    if args.child:
        if args.child == "ooc":
            args.summary = args.summary[0]
        out = child_ooc(args) if args.child == "ooc" else child_loader(args)
        print("RESULT " + json.dumps(out, default=float), flush=True)
        return
    if args.quick and args.lines == 100_000_000:
        args.lines = 10_000_000
    files = args.files or max(1, -(-args.lines // FILE_LINES))
    customers = args.customers or max(args.lines // 10, 10)
    data = Path(args.data or Path(tempfile.gettempdir()) / f"dbm-ooc-{args.lines}")
    about = machine()
    print(f"out of core: {args.lines:,} lines; {about}", flush=True)
    free = shutil.disk_usage(data.parent if data.parent.exists() else tempfile.gettempdir()).free
    print(f"  free disk where the data go: {free / 2**30:.1f} GiB", flush=True)
    gen = generate(data, args.lines, files, customers, args.seed, memory_limit=args.memory_limit,
                   threads=args.threads)
    print(f"  data: {gen['lines']:,} lines, {gen['files']} files, {_gib(gen['bytes'])} GiB", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="dbm-ooc-work-") as work:
        work = Path(work)
        for mode in args.summary:  # the first run loads; the next ones start from its orders table
            reuse = ["--reuse-orders"] if runs and "error" not in runs[0] else []
            sample = args.fit_sample if mode == "duckdb" else 0
            runs.append(run_child(__file__, [
                "--child", "ooc", "--data", str(data), "--workdir", str(work), "--seed", str(args.seed),
                "--memory-limit", args.memory_limit, "--threads", str(args.threads), "--summary", mode,
                "--fit-sample", str(sample), "--score-chunk", str(args.score_chunk), *reuse], args.timeout)
                | {"summary": mode})
        (work / "ooc.duckdb").unlink(missing_ok=True)
        shutil.rmtree(work / "spill", ignore_errors=True)
        loaders = [run_loader(n, args, work) for n in args.loader_lines]
    rows, extra = table(gen, runs, loaders), notes(gen, runs, loaders)
    print("\n".join(["", *rows, "", *extra]), flush=True)
    if args.write:
        modes = {"pandas": "*summary in pandas*: `rfm_summary('orders', ..., engine='duckdb', con=con)` returns "
                           "the summary as a pandas frame, the models are fitted on every customer and the "
                           "frame is scored in chunks",
                 "duckdb": "*summary in duckdb*: the same SQL (`rfm_sql.summary_query`) kept as a DuckDB table "
                           f"`rfm`, the models fitted on a seeded sample of about {args.fit_sample:,} customers "
                           "(a hash of the id below a threshold), every customer scored in chunks read from `rfm` by "
                           "customer-id range (starting from the first run's `orders` table)"}
        write_section(TITLE, [
            f"Run on {dt.date.today()} — {about}, pyarrow {__import__('pyarrow').__version__}. Other benchmarks "
            "ran on the machine at the same time: timings are indicative.",
            f"Settings: one DuckDB database file, `memory_limit='{args.memory_limit}'`, `threads={args.threads}`, "
            "`preserve_insertion_order=false`, `temp_directory` next to the database. Runs: "
            + "; ".join(modes[m] for m in args.summary) + ". Scores: `dbmlib.models.spark.score_frame` (P(alive), "
            "expected purchases over 12 months, expected spend, 12-month CLV at 10 %/year), each chunk of "
            f"{args.score_chunk:,} customers inserted into a DuckDB table. Each run is one process; a step's peak "
            "is that process's resident set during the step (VmHWM reset before it, so it includes what the process "
            "holds, DuckDB's buffer pool among it), the total's the process's peak. Generated data (seeded, "
            f"`lines_sql`): orders of 1-4 lines (mean 2.5), customer ids 1-{customers:,} drawn skewed (u^1.5), each "
            "active 30-1,030 days inside 2023-2024, times to the second, 50,000 products in 40 categories; "
            f"observation end {END}.",
            "", *rows, "", *(f"- {x}" for x in extra)])
    size = folder_bytes(data, "*.parquet")
    if not args.keep_data and size > args.keep_below_gb * 1e9:
        shutil.rmtree(data)
        print(f"removed {data} ({_gib(size)} GiB > {args.keep_below_gb} GB; rerun to regenerate)")
    if any("error" in r for r in runs + loaders):
        sys.exit(1)


if __name__ == "__main__":
    main()
