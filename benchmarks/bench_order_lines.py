"""Order lines: loading an invoice-line export and turning lines into orders, time and peak memory.

Generates (numpy, seeded, written 1M lines at a time) a CSV shaped like a public
e-commerce export (``InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,
CustomerID,Country``: invoices of 1-5 lines, ``17850.0``-style customer ids, month-first
``12/1/10 8:26`` dates over two years, about 2 % cancellation lines ``C…`` with a negative
quantity that cancel a product the same customer bought earlier), then runs in its own
subprocess each:

* ours: ``collect.load_file`` (validated, chunked, quarantining) into a DuckDB file, then
  ``cleaning.clean_database`` with ``cancel_prefix="C"`` (cancellations matched and netted,
  lines grouped into orders);
* the peer: what a notebook does without the workbench: ``pandas.read_csv`` (ids as text),
  dates parsed, ``amount = Quantity * UnitPrice``, ``groupby(InvoiceNo)`` (first customer,
  earliest date, summed amount); no validation, no netting, no database.

Peak memory is the resident set of that subprocess (not Python allocations): before each
step the kernel's high-water mark is reset (``/proc/self/clear_refs``) and ``VmHWM`` read
after it, so a step's peak includes what the process already held (imports, earlier
results) but not earlier steps' peaks; the process peak is the largest of them and of the
start-up. (``getrusage``'s ``ru_maxrss`` is not used: Linux carries the parent's high-water
mark across fork and exec, so a child would report the generator's peak.)

    python benchmarks/bench_order_lines.py                                # 1M lines
    python benchmarks/bench_order_lines.py --sizes 1000000 10000000 --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import run_child, write_section

TITLE = "Order lines: load and lines → orders"
CHUNK = 1_000_000
CANCEL_SHARE = 0.02
START = np.datetime64("2009-12-01T00:00", "m")
DAYS = 739  # two years and a week: 2009-12-01 .. 2011-12-09
MAPPING = {"InvoiceNo": "order_id", "StockCode": "product_id", "Description": "product_name",
           "Quantity": "quantity", "InvoiceDate": "order_ts", "UnitPrice": "unit_price",
           "CustomerID": "customer_id", "Country": "country"}
COUNTRIES = ["United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium",
             "Switzerland", "Portugal", "Australia", "Norway", "Italy"]
COUNTRY_P = [0.90, 0.02, 0.02, 0.015, 0.008, 0.008, 0.006, 0.006, 0.005, 0.004, 0.004, 0.004]
LINES_P = [0.30, 0.25, 0.20, 0.15, 0.10]  # 1-5 lines per invoice, mean 2.5
QTY = np.array([1, 2, 3, 4, 6, 8, 10, 12, 24, 48])
QTY_P = [0.28, 0.16, 0.10, 0.08, 0.12, 0.05, 0.05, 0.10, 0.04, 0.02]


# --------------------------------------------------------------------------- generator
def _products(rng, n: int = 4000):
    """Stock codes (``85123A`` style), descriptions and prices, most popular first."""
    numbers = rng.choice(np.arange(10002, 90000), n, replace=False)
    letters = np.array(list("ABCDEFGHJKLMNPRS"))
    suffix = np.where(rng.random(n) < 0.25, letters[rng.integers(0, len(letters), n)], "")
    codes = np.array([f"{a}{b}" for a, b in zip(numbers, suffix)], dtype=object)
    adj = ["SMALL", "LARGE", "SET OF 3", "SET OF 6", "DOTTY", "FLORAL", "REGENCY", "SPOTTY", "HEART", "STAR"]
    colour = ["WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "BLACK", "CREAM", "VINTAGE", "RETRO"]
    item = ["HANGING HEART T-LIGHT HOLDER", "METAL LANTERN", "CAKE CASES", "LUNCH BAG", "JUMBO BAG",
            "GLASS STAR", "ALARM CLOCK", "NAPKINS", "MUG", "TEA SET", "WATER BOTTLE", "PHOTO FRAME",
            "DOORMAT", "BUNTING", "STORAGE TIN", "CANDLE", "CUSHION COVER", "PAPER CHAIN KIT",
            "POSTCARD", "WALL ART"]
    desc = np.array([f"{adj[a]} {colour[c]} {item[i]}" for a, c, i in
                     zip(rng.integers(0, 10, n), rng.integers(0, 10, n), rng.integers(0, 20, n))], dtype=object)
    price = np.maximum(np.round(rng.lognormal(np.log(2.5), 0.9, n), 2), 0.06)
    price_text = np.array([f"{p:.2f}" for p in price], dtype=object)
    return codes, desc, price_text


def _fmt_dates(minutes: np.ndarray) -> np.ndarray:
    """``12/1/10 8:26``: month first, no leading zeros but on the minutes, two-digit year."""
    ts = pd.DatetimeIndex(START + minutes.astype("timedelta64[m]"))
    return np.array([f"{m}/{d}/{y % 100:02d} {h}:{mi:02d}" for m, d, y, h, mi in
                     zip(ts.month, ts.day, ts.year, ts.hour, ts.minute)], dtype=object)


def generate(path: Path, n: int, seed: int = 0) -> dict:
    """Write ``n`` invoice lines to ``path`` (about ``n/2.5`` invoices over ``n/10``
    customers, ~2 % cancellation lines), ``CHUNK`` lines at a time; returns counts."""
    rng = np.random.default_rng(seed)
    codes, desc, price_text = _products(rng)
    n_prod = len(codes)
    popularity = 1.0 / (np.arange(n_prod) + 10.0) ** 0.8
    popularity /= popularity.sum()
    n_cust = max(n // 10, 10)
    cust_country = rng.choice(len(COUNTRIES), n_cust, p=COUNTRY_P)
    countries = np.array(COUNTRIES, dtype=object)
    qty_text = {q: str(q) for q in range(-100, 101)}
    n_chunks = -(-n // CHUNK)
    next_invoice, written, invoices, cancels = 536365, 0, 0, 0
    with open(path, "w", newline="") as f:
        f.write(",".join(MAPPING) + "\n")
        for c in range(n_chunks):
            size = min(CHUNK, n - written)
            n_cancel = round(size * CANCEL_SHARE)
            n_sale = size - n_cancel
            # sale invoices: sizes 1-5 summing to exactly n_sale lines
            k = int(n_sale / 2.5 * 1.2) + 10
            sizes = rng.choice(np.arange(1, 6), k, p=LINES_P)
            k = int(np.searchsorted(np.cumsum(sizes), n_sale)) + 1
            sizes = sizes[:k]
            sizes[-1] -= sizes.sum() - n_sale
            day = rng.integers(c * DAYS // n_chunks, (c + 1) * DAYS // n_chunks, k)
            s_min = np.sort(day * 1440 + rng.integers(7 * 60, 20 * 60, k))
            s_cust = rng.integers(0, n_cust, k)
            # lines: distinct products within an invoice (a popular first product, then steps of < 800)
            inv = np.repeat(np.arange(k), sizes)
            j = np.arange(n_sale) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            first = rng.choice(n_prod, k, p=popularity)
            step = rng.integers(1, 800, k)
            prod = (first[inv] + j * step[inv]) % n_prod
            qty = QTY[rng.choice(len(QTY), n_sale, p=QTY_P)]
            # cancellation invoices: 1-3 lines of one earlier sale invoice, 0-14 days later
            order = rng.permutation(k)
            want = np.minimum(rng.choice([1, 2, 3], k, p=[0.6, 0.25, 0.15]), sizes[order])
            m = int(np.searchsorted(np.cumsum(want), n_cancel)) + 1
            target, want = order[:m], want[:m].copy()
            want[-1] -= want.sum() - n_cancel
            keep = want > 0
            target, want = target[keep], want[keep]
            starts = (np.cumsum(sizes) - sizes)[target]
            src = np.repeat(starts, want) + (np.arange(want.sum()) - np.repeat(np.cumsum(want) - want, want))
            c_min = np.minimum(s_min[target] + rng.integers(0, 15, len(target)) * 1440
                               + rng.integers(1, 180, len(target)), DAYS * 1440 - 1)
            c_qty = -rng.integers(1, qty[src] + 1)
            # number all invoices of the chunk in time order, cancellations with a "C"
            kc = len(target)
            all_min = np.concatenate([s_min, c_min])
            rank = np.empty(k + kc, np.int64)
            rank[np.argsort(all_min, kind="stable")] = np.arange(k + kc)
            numbers = next_invoice + rank
            inv_text = np.array([("C" if i >= k else "") + str(x) for i, x in enumerate(numbers)], dtype=object)
            date_text = _fmt_dates(all_min)
            cust_all = np.concatenate([s_cust, s_cust[target]])
            cust_text = np.array([f"{12346 + x}.0" for x in cust_all], dtype=object)
            line_inv = np.concatenate([inv, k + np.repeat(np.arange(kc), want)])
            line_prod = np.concatenate([prod, prod[src]])
            line_qty = np.concatenate([qty, c_qty])
            by_time = np.argsort(rank[line_inv], kind="stable")
            line_inv, line_prod, line_qty = line_inv[by_time], line_prod[by_time], line_qty[by_time]
            frame = pd.DataFrame({
                "InvoiceNo": inv_text[line_inv], "StockCode": codes[line_prod], "Description": desc[line_prod],
                "Quantity": [qty_text[q] for q in line_qty.tolist()], "InvoiceDate": date_text[line_inv],
                "UnitPrice": price_text[line_prod], "CustomerID": cust_text[line_inv],
                "Country": countries[cust_country[cust_all[line_inv]]]})
            frame.to_csv(f, header=False, index=False, lineterminator="\n")
            del frame
            next_invoice += k + kc
            written += size
            invoices += k
            cancels += n_cancel
    return {"lines": written, "sale_invoices": invoices, "cancel_lines": cancels,
            "customers": n_cust, "bytes": path.stat().st_size}


# --------------------------------------------------------------------------- memory
def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _hwm_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _maxrss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _process_peak(startup: float, steps: list) -> float:
    """The child's peak resident set: start-up and every step (its own ``VmHWM``, not
    ``ru_maxrss``, which would include the parent's peak inherited across fork/exec)."""
    if all(s["step_peak"] for s in steps):
        return max([startup, _hwm_gib(), *(s["peak_gib"] for s in steps)])
    return _maxrss_gib()


def _step(name: str, fn, steps: list):
    """Run one step, timing it and reading the process's peak resident set during it."""
    reset = _reset_peak()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    peak = _hwm_gib() if reset else _maxrss_gib()
    steps.append({"step": name, "seconds": seconds, "peak_gib": peak, "step_peak": reset})
    print(f"    [{os.getpid()}] {name}: {seconds:.1f} s, peak {peak:.2f} GiB", file=sys.stderr, flush=True)
    return out


# --------------------------------------------------------------------------- children
def child_ours(csv_path: Path, workdir: Path) -> dict:
    from dbmlib.clean import cleaning
    from dbmlib.collect import load as collect
    from dbmlib.core.db import connect

    startup, steps = _hwm_gib(), []
    con = connect(workdir / "bench.duckdb")
    report = _step("load (collect.load_file)", lambda: collect.load_file(
        con, "transactions", csv_path, columns=MAPPING, errors="quarantine", chunk_rows=CHUNK,
        max_reject_share=0.05), steps)
    result = _step("lines → orders (clean_database)", lambda: cleaning.clean_database(
        con, cleaning.CleanConfig(cancel_prefix="C")), steps)
    peak = _process_peak(startup, steps)  # before the bookkeeping below
    rules = result.quality_log.loc[result.quality_log["table"] == "transactions", "rule"].value_counts()
    orders = result.tables["transactions"]
    # sale invoices (no "C") that left no order: every line rejected, at load or in cleaning
    raw_ids = set(con.execute("SELECT DISTINCT order_id FROM raw_transactions "
                              "WHERE NOT starts_with(order_id, 'C')").fetchnumpy()["order_id"].tolist())
    load_rejected = con.execute("SELECT record FROM rejects WHERE stage = 'collect'").fetchall()
    load_ids = {json.loads(r[0]).get("order_id") for r in load_rejected}
    sale_ids = (raw_ids | {i for i in load_ids if i and not str(i).startswith("C")})
    orders_rejected = len(sale_ids - set(orders["order_id"].astype(str)))
    con.close()
    return {"steps": steps, "process_peak_gib": peak,
            "rows_read": report.rows_read, "rows_loaded": report.rows_loaded,
            "rows_rejected_load": report.rows_rejected, "dates": report.dates,
            "orders": len(orders), "lines": result.counts["order_lines"],
            "rejected_clean": len(result.rejects),
            "return_netted": int(rules.get("return_netted", 0)),
            "unmatched_cancellation": int(rules.get("unmatched_cancellation", 0)),
            "orders_rejected": orders_rejected,
            "reconciled": bool(result.reconciliation["balanced"].all())}


def child_peer(csv_path: Path) -> dict:
    startup, steps = _hwm_gib(), []
    df = _step("read_csv (pandas)", lambda: pd.read_csv(
        csv_path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str}), steps)

    def to_orders():
        d = df.assign(amount=df["Quantity"] * df["UnitPrice"],
                      InvoiceDate=pd.to_datetime(df["InvoiceDate"], format="%m/%d/%y %H:%M"))
        return d.groupby("InvoiceNo", sort=False).agg(
            customer=("CustomerID", "first"), date=("InvoiceDate", "min"), amount=("amount", "sum"))

    orders = _step("lines → orders (amount, groupby)", to_orders, steps)
    peak = _process_peak(startup, steps)
    cancel = orders.index.str.startswith("C")
    return {"steps": steps, "process_peak_gib": peak, "lines": len(df),
            "invoices": int((~cancel).sum()), "cancel_invoices": int(cancel.sum())}


def _run_child(kind: str, csv_path: Path, workdir: Path, timeout: float) -> dict:
    return run_child(__file__, ["--child", kind, "--csv", str(csv_path), "--workdir", str(workdir)], timeout)


# --------------------------------------------------------------------------- parent
def machine() -> str:
    mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
               if x.startswith("MemTotal:")) / 2**20
    import duckdb
    import pandera

    return (f"{platform.platform()}, {os.cpu_count()} cores, {mem:.1f} GiB RAM; Python "
            f"{platform.python_version()}, DuckDB {duckdb.__version__}, pandas {pd.__version__}, "
            f"numpy {np.__version__}, pandera {pandera.__version__}")


def run(n: int, seed: int, timeout: float, tmpdir: str | None) -> dict:
    with tempfile.TemporaryDirectory(dir=tmpdir) as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "invoice_lines.csv"
        reset = _reset_peak()
        t0 = time.perf_counter()
        counts = generate(csv_path, n, seed)
        gen = {"seconds": time.perf_counter() - t0, "peak_gib": _hwm_gib() if reset else _maxrss_gib()}
        print(f"  generated {counts['lines']:,} lines ({counts['bytes'] / 2**20:,.0f} MiB, "
              f"{counts['sale_invoices']:,} sale invoices, {counts['cancel_lines']:,} cancellation lines) "
              f"in {gen['seconds']:.1f} s, peak {gen['peak_gib']:.2f} GiB", flush=True)
        ours = _run_child("ours", csv_path, tmp, timeout)
        (tmp / "bench.duckdb").unlink(missing_ok=True)
        peer = _run_child("peer", csv_path, tmp, timeout)
    return {"n": n, "counts": counts, "generate": gen, "ours": ours, "peer": peer}


def _ratio(a, b) -> str:
    return f"{a / b:.2f}×" if a is not None and b else "—"


def table(results: list[dict]) -> list[str]:
    """Markdown rows: per size, each step of ours and the peer, and the totals, with ratios."""
    rows = ["| size | step | seconds | peak GiB | ours/peer time | ours/peer memory |",
            "|---|---|---:|---:|---:|---:|"]
    for r in results:
        size = f"{r['n']:,} lines"
        rows.append(f"| {size} | generate CSV ({r['counts']['bytes'] / 2**20:,.0f} MiB) | "
                    f"{r['generate']['seconds']:.1f} | {r['generate']['peak_gib']:.2f} | | |")
        o, p = r["ours"], r["peer"]
        o_steps, p_steps = o.get("steps", []), p.get("steps", [])
        for i in range(2):
            os_, ps = (o_steps[i] if i < len(o_steps) else None), (p_steps[i] if i < len(p_steps) else None)
            if os_:
                rows.append(f"| {size} | ours: {os_['step']} | {os_['seconds']:.1f} | {os_['peak_gib']:.2f} | "
                            f"{_ratio(os_['seconds'], ps and ps['seconds'])} | "
                            f"{_ratio(os_['peak_gib'], ps and ps['peak_gib'])} |")
            if ps:
                rows.append(f"| {size} | peer: {ps['step']} | {ps['seconds']:.1f} | {ps['peak_gib']:.2f} | | |")
        for name, side in (("ours", o), ("peer", p)):
            if "error" in side:
                rows.append(f"| {size} | {name}: FAILED | — | — | {side['error']} | |")
        if o_steps and p_steps and "error" not in o and "error" not in p:
            to, tp = sum(s["seconds"] for s in o_steps), sum(s["seconds"] for s in p_steps)
            rows.append(f"| {size} | total ours (process peak) | {to:.1f} | {o['process_peak_gib']:.2f} | "
                        f"{_ratio(to, tp)} | {_ratio(o['process_peak_gib'], p['process_peak_gib'])} |")
            rows.append(f"| {size} | total peer (process peak) | {tp:.1f} | {p['process_peak_gib']:.2f} | | |")
    return rows


def checks(r: dict) -> list[str]:
    o, p = r["ours"], r["peer"]
    out = []
    if "error" not in o:
        out.append(f"{r['n']:,} lines, ours: {o['rows_loaded']:,} of {o['rows_read']:,} lines loaded "
                   f"({o['rows_rejected_load']:,} rejected at load; dates: {o['dates']}), "
                   f"{o['lines']:,} order lines kept, {o['orders']:,} orders, "
                   f"{o['return_netted']:,} cancellations netted (return_netted), "
                   f"{o['unmatched_cancellation']:,} unmatched (unmatched_cancellation), "
                   f"{o['rejected_clean']:,} lines rejected in cleaning, "
                   f"rows reconcile: {o['reconciled']}.")
    if "error" not in o and "error" not in p:
        mine = o["orders"] + o["orders_rejected"]
        out.append(f"{r['n']:,} lines, check: peer sale invoices {p['invoices']:,} vs ours orders + orders "
                   f"rejected {o['orders']:,} + {o['orders_rejected']:,} = {mine:,} "
                   f"({'equal' if mine == p['invoices'] else 'DIFFERENT'}); "
                   f"peer also has {p['cancel_invoices']:,} C invoices (not netted).")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000], help="lines per generated export")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per subprocess before it is stopped")
    ap.add_argument("--tmpdir", default=None, help="where the CSV and database go (default: the system's)")
    ap.add_argument("--write", action="store_true", help="write the section to benchmarks/RESULTS.md")
    ap.add_argument("--child", choices=["ours", "peer"], help=argparse.SUPPRESS)
    ap.add_argument("--csv", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    if args.child:
        out = child_ours(Path(args.csv), Path(args.workdir)) if args.child == "ours" else child_peer(Path(args.csv))
        print("RESULT " + json.dumps(out), flush=True)
        return
    about = machine()
    print(f"order lines → orders; {about}", flush=True)
    results = []
    for n in args.sizes:
        print(f"== {n:,} lines", flush=True)
        results.append(run(n, args.seed, args.timeout, args.tmpdir))
    rows = table(results)
    notes = [line for r in results for line in checks(r)]
    print("\n".join(["", *rows, "", *notes]))
    if args.write:
        write_section(TITLE, [
            f"Run on {dt.date.today()} — {about}.",
            ("Ours: `collect.load_file(..., errors='quarantine', chunk_rows=1_000_000)` into a DuckDB file, then "
            "`cleaning.clean_database(CleanConfig(cancel_prefix='C'))`. Peer: `pandas.read_csv` (ids as text), "
            "dates parsed, amount = Quantity × UnitPrice, `groupby(InvoiceNo)` (first customer, earliest date, "
            "summed amount), no validation or netting. Each side runs in its own process; a step's peak is that "
            "process's resident set during the step (VmHWM reset before it), the total's the process's peak. "
            "Generated export: ~N/2.5 invoices of 1-5 lines, N/10 customers, 4,000 products, ~2 % cancellation "
            "lines (seeded)."), "", *rows, "", *(f"- {x}" for x in notes)])


if __name__ == "__main__":
    main()
