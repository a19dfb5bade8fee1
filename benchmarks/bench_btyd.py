"""Speed and memory of the BTYD steps against lifetimes, on the same data in the same run.

    python benchmarks/bench_btyd.py                  # 1M and 10M rows, 1M / 200k customers
    python benchmarks/bench_btyd.py --quick          # 1M rows only, smaller fits
    python benchmarks/bench_btyd.py --write          # also write benchmarks/RESULTS.md
    python benchmarks/bench_btyd.py --rows-50m       # add the 50M-row DuckDB run (2 GB limit)

Each measurement is the median of ``--repeat`` runs (peak Python memory of the last run,
tracemalloc) and every pair of outputs is checked equal before a ratio is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import measure, write_section
from make_logs import make_log

from dbmlib.demo.simulate import pnbd_summary, transaction_log
from dbmlib.models.btyd_fit import compress, fit_bgnbd, fit_pnbd
from dbmlib.models.clv import PurchaseModel, SpendModel, customer_lifetime_value
from dbmlib.segment.rfm import calibration_and_holdout, rfm_summary

warnings.simplefilter("ignore")  # lifetimes' RuntimeWarnings and pandas 3 notices: a benchmark, not a test

ROWS: list[dict] = []


def report(step, size, t_ours, m_ours, t_peer, m_peer, check, target):
    ratio = t_peer / t_ours if t_ours else float("nan")
    ROWS.append(dict(step=step, size=size, ours=t_ours, peer=t_peer, ratio=ratio, mem_ours=m_ours,
                     mem_peer=m_peer, check=check, target=target))
    print(f"{step:<34} {size:>12}  ours {t_ours:8.3f} s ({m_ours:7.0f} MiB)  lifetimes "
          f"{t_peer:8.3f} s ({m_peer:7.0f} MiB)  {ratio:6.1f}x  [{check}; target {target}]", flush=True)


def log_orders(log: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The generated log (sorted by customer, then time) and the orders real exports arrive in:
    by time (customers interleaved, times of day) and shuffled."""
    return {"by customer": log,
            "by time": log.sort_values("order_ts", kind="stable", ignore_index=True),
            "shuffled": log.sample(frac=1.0, random_state=0, ignore_index=True)}


def bench_rfm(rows: int, repeat: int, target_summary: str, target_split: str | None,
              orders=("by customer", "by time", "shuffled")):
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

    log = pd.read_parquet(make_log(rows))
    end = "2024-12-31"
    logs = log_orders(log)
    for name in orders:
        d = logs[name]
        t1, m1, ours = measure(lambda: rfm_summary(d, "customer_id", "order_ts", "amount", end),
                               repeat)
        t2, m2, peer = measure(lambda: summary_data_from_transaction_data(
            d, "customer_id", "order_ts", "amount", observation_period_end=end), repeat)
        pd.testing.assert_frame_equal(ours, peer[ours.columns], check_exact=True, check_names=False)
        report(f"RFM summary, log {name}", f"{len(d):,} rows", t1, m1, t2, m2, "identical (exact)",
               target_summary)
    if target_split:
        kw = dict(calibration_period_end="2024-06-30", observation_period_end=end,
                  monetary_value_col="amount")
        t1, m1, ours = measure(lambda: calibration_and_holdout(log, "customer_id", "order_ts", **kw), repeat)
        t2, m2, peer = measure(lambda: calibration_and_holdout_data(log, "customer_id", "order_ts", **kw),
                               repeat)
        pd.testing.assert_frame_equal(ours, peer[ours.columns], check_exact=True, check_dtype=False,
                                      check_names=False)  # lifetimes' holdout counts are integers
        report("calibration/holdout split", f"{len(log):,} rows", t1, m1, t2, m2, "identical (exact)",
               target_split)


def daily_summary(n_customers: int) -> pd.DataFrame:
    chunks = [transaction_log(200_000, seed=100 + k, first_id=k * 200_000)
              for k in range(int(np.ceil(n_customers / 200_000)))]
    log = pd.concat(chunks, ignore_index=True)
    log = log[log["customer_id"] < n_customers]
    return rfm_summary(log, "customer_id", "order_ts", "amount", "2024-12-31")


def bench_bgnbd(summary: pd.DataFrame, repeat: int):
    from lifetimes import BetaGeoFitter

    f, r, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))

    def ours():
        return fit_bgnbd(*compress(f, r, T)[:4])[0]

    t1, m1, p1 = measure(ours, repeat)
    t2, m2, p2 = measure(lambda: BetaGeoFitter().fit(f, r, T).params_.to_numpy(), repeat)
    rel = float(np.max(np.abs(p1 - p2) / np.abs(p2)))
    assert rel < 1e-4, (p1, p2)
    report("BG/NBD fit", f"{len(f):,} customers", t1, m1, t2, m2, f"params rel diff {rel:.1e}", ">= 5x")


def bench_pnbd(n: int, repeat: int):
    from lifetimes import ParetoNBDFitter

    s = pnbd_summary(n, seed=0)
    f, r, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    t1, m1, (p1, ll1, _) = measure(lambda: fit_pnbd(*compress(f, r, T)[:4]), repeat)
    t2, m2, fitter = measure(lambda: ParetoNBDFitter().fit(f, r, T), 1)  # minutes per run
    c = fitter._scale
    ll2 = float(np.sum(ParetoNBDFitter._conditional_log_likelihood(
        fitter.params_.to_numpy() * [1, c, 1, c], f, r * c, T * c)) + f.sum() * np.log(c))
    assert ll1 >= ll2 - 1e-6, (ll1, ll2)
    report("Pareto/NBD fit", f"{n:,} customers", t1, m1, t2, m2,
           f"LL {ll1:,.3f} vs {ll2:,.3f}", ">= 20x, LL at least as good")


def bench_scoring(summary: pd.DataFrame, repeat: int):
    purchase = PurchaseModel("bgnbd").fit(summary)
    spend = SpendModel().fit(summary)
    d = 1.1 ** (1 / 12) - 1

    def ours():
        return pd.DataFrame({
            "p_alive": purchase.p_alive(summary),
            "expected": purchase.expected_purchases(30, summary),
            "clv": customer_lifetime_value(purchase, spend, summary, 12, 0.10, 1.0, 30.4375 / 30)})

    def peer():
        f, r, T = (summary[c] for c in ("frequency", "recency", "T"))
        bg = purchase.to_lifetimes()
        return pd.DataFrame({
            "p_alive": bg.conditional_probability_alive(f, r, T),
            "expected": bg.conditional_expected_number_of_purchases_up_to_time(30, f, r, T),
            "clv": spend.to_lifetimes().customer_lifetime_value(bg, f, r, T, summary["monetary_value"], time=12,
                                                         discount_rate=d, freq="D")})

    t1, m1, a = measure(ours, repeat)
    t2, m2, b = measure(peer, repeat)
    rel = float(np.nanmax(np.abs(a.to_numpy() - b.to_numpy()) / np.maximum(np.abs(b.to_numpy()), 1e-300)))
    assert rel < 1e-6, rel
    report("scoring (P(alive), E[Y], CLV)", f"{len(summary):,} customers", t1, m1, t2, m2,
           f"max rel diff {rel:.1e}", ">= 10x")


def bench_duckdb_50m(repeat: int):
    import duckdb

    path = make_log(50_000_000)
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"SET temp_directory = '{Path(__file__).parent / 'data' / 'spill'}'")
    t, m, out = measure(lambda: rfm_summary(str(path), "customer_id", "order_ts", "amount",
                                            "2024-12-31", engine="duckdb", con=con), repeat)
    print(f"RFM summary, DuckDB, 2 GB limit    50,000,000 rows: {t:.1f} s, {len(out):,} customers")
    ROWS.append(dict(step="RFM summary (DuckDB, 2 GB limit)", size="50,000,000 rows", ours=t,
                     peer=float("nan"), ratio=float("nan"), mem_ours=m, mem_peer=float("nan"),
                     check=f"{len(out):,} customers", target="completes"))


def write_results():
    import duckdb
    import lifetimes
    import scipy

    lines = [
        f"Run on {dt.date.today()} — {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; pandas {pd.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, DuckDB {duckdb.__version__}, lifetimes {lifetimes.__version__}.",
        "Median of the repeats (Pareto/NBD peer: one run); peak = Python allocations (tracemalloc).",
        "", *results_table(ROWS),
    ]
    write_section("BTYD steps against lifetimes", lines)


def results_table(rows: list[dict]) -> list[str]:
    """The Markdown table of :func:`report`'s rows (``—`` where a step has no peer)."""
    lines = ["| step | size | dbm-workbench | lifetimes | ratio | peak MiB (ours / peer) | check | target |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        peer = "—" if np.isnan(r["peer"]) else f"{r['peer']:.3f} s"
        ratio = "—" if np.isnan(r["ratio"]) else f"{r['ratio']:.1f}×"
        mem_peer = "—" if np.isnan(r["mem_peer"]) else f"{r['mem_peer']:.0f}"
        lines.append(f"| {r['step']} | {r['size']} | {r['ours']:.3f} s | {peer} | {ratio} | "
                     f"{r['mem_ours']:.0f} / {mem_peer} | {r['check']} | {r['target']} |")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rows-50m", action="store_true")
    ap.add_argument("--write", action="store_true")
    args, _ = ap.parse_known_args(argv)
    bench_rfm(1_000_000, args.repeat, ">= 8x", ">= 20x")
    if not args.quick:
        bench_rfm(10_000_000, args.repeat, ">= 8x", None, orders=("by customer",))
    summary = daily_summary(100_000 if args.quick else 1_000_000)
    bench_bgnbd(summary, args.repeat)
    bench_pnbd(20_000 if args.quick else 200_000, args.repeat)
    bench_scoring(summary, args.repeat)
    if args.rows_50m:
        bench_duckdb_50m(1)
    if args.write:
        write_results()


if __name__ == "__main__":
    main()
