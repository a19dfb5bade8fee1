"""Association rules: two-item rules from pair counts in DuckDB against mlxtend, time and peak memory.

Generates (numpy, seeded, written as Parquet 1M lines at a time) clean order lines
(``order_id, customer_id, order_ts, category, product_id, amount, returned_order_id``):
orders of 1-5 lines, N/10 customers (about four orders each), 2,000 products in 10
categories with a long-tailed popularity, and planted associations so that rules exist: in
an order whose first product belongs to one of three category pairs, a later line comes from
the partner category with probability 0.3, and 20 pairs of popular products are bought
together (the second line is the first product's partner with probability 0.5). Then, each
in its own subprocess:

* ours: the Parquet file into a DuckDB table (``CREATE TABLE … AS SELECT * FROM
  read_parquet``, timed on its own, in a database opened with ``dbmlib.core.db.connect``,
  so with the workbench's memory limit), then per level (category, product) and basket
  (order, customer) ``segment.baskets.pair_rules_sql`` on that table;
* the peer: what a notebook does without the workbench: ``pandas.read_parquet``, a boolean
  basket matrix (``groupby([basket, item]).size().unstack(fill_value=0) > 0``), then
  mlxtend's ``fpgrowth(..., max_len=2)`` and ``association_rules``;
* our mlxtend path (for rules longer than two items):
  ``association_rules_table(basket_matrix(...), max_len=2)``, on the peer's data.

Where the peer's basket matrix would need more than ~8 GiB or the peer more than ~10 minutes
(an estimate from the basket and item counts and from the previous, smaller size), the peer
and the mlxtend path run on a seeded sample of orders (the same for both, its size printed;
the mlxtend path also when it alone would need more than ~11.5 GiB) and ours runs on that
sample too, so every comparison is on the same data. Where two sides ran on the same
data their rules (antecedent, consequent, support, confidence, lift) must be equal to 1e-9:
the largest absolute difference is printed and the script exits with status 1 if not.

Peak memory: the resident set of each subprocess, as in ``bench_order_lines.py`` (whose
helpers this imports): the kernel's high-water mark reset through ``/proc/self/clear_refs``
before each step and ``VmHWM`` read after it.

    python benchmarks/bench_baskets.py                                    # 1M lines
    python benchmarks/bench_baskets.py --sizes 1000000 10000000 --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_order_lines import _hwm_gib, _maxrss_gib, _process_peak, _reset_peak, _step, machine
from common import run_child, write_section

TITLE = "Association rules (pair counts in DuckDB)"
CHUNK = 1_000_000
START = np.datetime64("2022-01-01T00:00:00", "s")
DAYS = 730
LINES_P = [0.30, 0.25, 0.20, 0.15, 0.10]  # 1-5 lines per order, mean 2.5
CATEGORIES = ["home", "garden", "toys", "books", "fashion", "beauty", "sports", "food", "electronics", "pets"]
CATEGORY_W = [0.18, 0.08, 0.12, 0.10, 0.16, 0.08, 0.07, 0.09, 0.07, 0.05]
CATEGORY_PAIRS = [("home", "garden"), ("toys", "books"), ("fashion", "beauty")]
P_CATEGORY = 0.3  # a later line from the partner category of the order's first product
N_PRODUCTS, N_PRODUCT_PAIRS, P_PRODUCT = 2000, 20, 0.5  # pairs among the 200 most popular products
# (min_support, min_lift) per level: category rules with any positive association; product
# rules at a support that the planted pairs reach (about 0.1-0.2 % of orders)
THRESHOLDS = {"category": (0.01, 1.0), "product": (0.0005, 1.2)}
CONFIGS = [(level, by) for level in ("category", "product") for by in ("order", "customer")]
KEYS = {"order": "order_id", "customer": "customer_id"}
COLS = {"category": "category", "product": "product_id"}
MAX_GIB, MAX_SECONDS = 8.0, 600.0  # above either, the peer runs on a sample
HARD_GIB = 11.5  # the mlxtend path runs on the peer's data unless it would need more than this
# resident bytes per basket-matrix cell, measured at 1M lines (product level, 0.2-0.8 G cells):
# the peer's unstack holds int64 counts and the booleans (~9.5), basket_matrix's crosstab ~10.5
BYTES_PER_CELL = {"peer": 10.0, "mlx": 11.0}
SIDES = {"ours": "ours: pair_rules_sql", "peer": "peer: pandas + mlxtend",
         "mlx": "ours: association_rules_table(basket_matrix)"}


# --------------------------------------------------------------------------- generator
def _catalogue(rng):
    """Product codes, their category, popularity (most popular first) and the planted pairs."""
    codes = np.array([f"P{x}" for x in rng.choice(np.arange(10000, 100000), N_PRODUCTS, replace=False)],
                     dtype=object)
    category = rng.choice(len(CATEGORIES), N_PRODUCTS, p=CATEGORY_W)
    popularity = 1.0 / (np.arange(N_PRODUCTS) + 10.0) ** 0.8
    popularity /= popularity.sum()
    partner_cat = np.full(len(CATEGORIES), -1)
    for a, b in CATEGORY_PAIRS:
        partner_cat[CATEGORIES.index(a)], partner_cat[CATEGORIES.index(b)] = CATEGORIES.index(b), CATEGORIES.index(a)
    pairs = rng.permutation(200)[:2 * N_PRODUCT_PAIRS].reshape(-1, 2)
    partner = np.full(N_PRODUCTS, -1)
    partner[pairs[:, 0]], partner[pairs[:, 1]] = pairs[:, 1], pairs[:, 0]
    return codes, category, popularity, partner_cat, partner, pairs


def generate(path: Path, n: int, seed: int = 0) -> dict:
    """Write ``n`` order lines to ``path`` (Parquet, one row group per ``CHUNK`` lines, about
    ``n/2.5`` orders over ``n/10`` customers); returns counts and the planted pairs."""
    rng = np.random.default_rng(seed)
    codes, prod_cat, popularity, partner_cat, partner, pairs = _catalogue(rng)
    members = [np.flatnonzero(prod_cat == c) for c in range(len(CATEGORIES))]
    member_p = [popularity[m] / popularity[m].sum() for m in members]
    n_cust = max(n // 10, 10)
    cust_ids = pa.array([f"C{x:08d}" for x in range(n_cust)], pa.string())
    code_ids = pa.array(codes.tolist(), pa.string())
    cat_ids = pa.array(CATEGORIES, pa.string())
    schema = pa.schema([("order_id", pa.string()), ("customer_id", pa.string()), ("order_ts", pa.timestamp("us")),
                        ("category", pa.string()), ("product_id", pa.string()), ("amount", pa.float64()),
                        ("returned_order_id", pa.string())])
    seen_cust = np.zeros(n_cust, bool)
    seen_prod = np.zeros(N_PRODUCTS, bool)
    n_chunks = -(-n // CHUNK)
    written = orders = 0
    with pq.ParquetWriter(path, schema) as writer:
        for c in range(n_chunks):
            size = min(CHUNK, n - written)
            k = int(size / 2.5 * 1.2) + 10
            sizes = rng.choice(np.arange(1, 6), k, p=LINES_P)
            k = int(np.searchsorted(np.cumsum(sizes), size)) + 1
            sizes = sizes[:k]
            sizes[-1] -= sizes.sum() - size
            inv = np.repeat(np.arange(k), sizes)
            j = np.arange(size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            # lines: the first from popularity, later ones from popularity, the partner
            # category of the first product's category, or the first product's partner
            first = rng.choice(N_PRODUCTS, k, p=popularity)
            prod = rng.choice(N_PRODUCTS, size, p=popularity)
            f = first[inv]
            prod[j == 0] = f[j == 0]
            target = partner_cat[prod_cat[f]]
            switch = (j > 0) & (target >= 0) & (rng.random(size) < P_CATEGORY)
            for cat in range(len(CATEGORIES)):
                sel = switch & (target == cat)
                prod[sel] = rng.choice(members[cat], int(sel.sum()), p=member_p[cat])
            bundle = (j == 1) & (partner[f] >= 0) & (rng.random(size) < P_PRODUCT)
            prod[bundle] = partner[f[bundle]]
            cust = rng.integers(0, n_cust, k)
            day = rng.integers(c * DAYS // n_chunks, (c + 1) * DAYS // n_chunks, k)
            ts = START + np.sort(day * 86400 + rng.integers(7 * 3600, 21 * 3600, k)).astype("timedelta64[s]")
            order_ids = pa.array([f"O{orders + x:09d}" for x in range(k)], pa.string())
            amount = np.maximum(np.round(rng.lognormal(np.log(15.0), 0.8, size), 2), 0.5)
            line_idx = pa.array(inv)
            table = pa.table({
                "order_id": order_ids.take(line_idx), "customer_id": cust_ids.take(pa.array(cust[inv])),
                "order_ts": pa.array(ts.astype("datetime64[us]")).take(line_idx),
                "category": cat_ids.take(pa.array(prod_cat[prod])), "product_id": code_ids.take(pa.array(prod)),
                "amount": pa.array(amount), "returned_order_id": pa.nulls(size, pa.string())}, schema=schema)
            writer.write_table(table, row_group_size=CHUNK)
            del table
            seen_cust[cust] = True
            seen_prod[prod] = True
            written += size
            orders += k
    return {"lines": written, "orders": orders, "customers": int(seen_cust.sum()), "products": int(seen_prod.sum()),
            "categories": len(CATEGORIES), "bytes": path.stat().st_size,
            "product_pairs": [[codes[a], codes[b]] for a, b in pairs],
            "category_pairs": [list(p) for p in CATEGORY_PAIRS]}


def make_sample(src: Path, dst: Path, fraction: float, seed: int) -> dict:
    """Write the lines of a seeded sample of ``fraction`` of the orders of ``src`` to ``dst``."""
    table = pq.read_table(src)
    orders = pc.unique(table["order_id"]).to_numpy(zero_copy_only=False)
    rng = np.random.default_rng([seed, 1])
    keep = np.sort(rng.choice(len(orders), round(len(orders) * fraction), replace=False))
    table = table.filter(pc.is_in(table["order_id"], value_set=pa.array(orders[keep], pa.string())))
    pq.write_table(table, dst, row_group_size=CHUNK)
    counts = {"lines": table.num_rows, "orders": len(keep),
              "customers": pc.count_distinct(table["customer_id"]).as_py(),
              "products": pc.count_distinct(table["product_id"]).as_py(),
              "categories": pc.count_distinct(table["category"]).as_py(), "bytes": dst.stat().st_size}
    return counts


# --------------------------------------------------------------------------- children
def _rules_frame(antecedent, consequent, rules: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"antecedent": list(antecedent), "consequent": list(consequent),
                         "support": rules["support"].to_numpy(float),
                         "confidence": rules["confidence"].to_numpy(float),
                         "lift": rules["lift"].to_numpy(float)})


def child_create(data: Path, db: Path) -> dict:
    from dbmlib.core.db import connect

    startup, steps = _hwm_gib(), []
    con = connect(db)
    _step("CREATE TABLE from Parquet", lambda: con.execute(
        f"CREATE OR REPLACE TABLE order_lines AS SELECT * FROM read_parquet('{data}')"), steps)
    peak = _process_peak(startup, steps)
    rows = con.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    con.close()
    return {"steps": steps, "process_peak_gib": peak, "rows": rows, "db_bytes": db.stat().st_size}


def child_ours(db: Path, level: str, by: str, out: Path) -> dict:
    from dbmlib.core.db import connect
    from dbmlib.segment.baskets import pair_rules_sql

    startup, steps = _hwm_gib(), []
    con = connect(db)
    min_support, min_lift = THRESHOLDS[level]
    rules = _step(f"pair_rules_sql {level}/{by}", lambda: pair_rules_sql(
        con, "order_lines", level=level, by=by, min_support=min_support, min_lift=min_lift), steps)
    peak = _process_peak(startup, steps)
    con.close()
    _rules_frame(rules["antecedent"], rules["consequent"], rules).to_parquet(out)
    return {"steps": steps, "process_peak_gib": peak, "rules": len(rules)}


def child_peer(data: Path, level: str, by: str, out: Path) -> dict:
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    startup, steps = _hwm_gib(), []
    key, col = KEYS[by], COLS[level]
    min_support, min_lift = THRESHOLDS[level]
    df = _step("read_parquet (pandas)", lambda: pd.read_parquet(data), steps)

    def matrix():
        sales = df[df["returned_order_id"].isna() & (df["amount"] > 0)]
        return sales.groupby([key, col]).size().unstack(fill_value=0) > 0

    basket = _step("basket matrix (groupby, unstack)", matrix, steps)
    shape = basket.shape

    def rules():
        itemsets = fpgrowth(basket, min_support=min_support, use_colnames=True, max_len=2)
        return association_rules(itemsets, num_itemsets=len(basket), metric="lift", min_threshold=min_lift)

    found = _step("fpgrowth + association_rules (mlxtend)", rules, steps)
    peak = _process_peak(startup, steps)
    one = lambda s: next(iter(s))  # noqa: E731 - two-item rules: one item a side
    _rules_frame(found["antecedents"].map(one), found["consequents"].map(one), found).to_parquet(out)
    return {"steps": steps, "process_peak_gib": peak, "rules": len(found), "matrix": list(shape)}


def child_mlx(data: Path, level: str, by: str, out: Path) -> dict:
    from dbmlib.segment.baskets import association_rules_table, basket_matrix

    startup, steps = _hwm_gib(), []
    min_support, min_lift = THRESHOLDS[level]
    df = _step("read_parquet (pandas)", lambda: pd.read_parquet(data), steps)
    basket = _step("basket_matrix", lambda: basket_matrix(df, level, by), steps)
    shape = basket.shape
    rules = _step("association_rules_table", lambda: association_rules_table(
        basket, min_support=min_support, min_lift=min_lift, max_len=2), steps)
    peak = _process_peak(startup, steps)
    _rules_frame(rules["antecedent"], rules["consequent"], rules).to_parquet(out)
    return {"steps": steps, "process_peak_gib": peak, "rules": len(rules), "matrix": list(shape)}


def _run_child(args: list[str], timeout: float) -> dict:
    return run_child(__file__, args, timeout)


# --------------------------------------------------------------------------- plan
def _cells(counts: dict, level: str, by: str) -> int:
    return counts["orders" if by == "order" else "customers"] * counts["products" if level == "product" else "categories"]


def _estimate(side: str, counts: dict, level: str, by: str, per_line: dict) -> tuple[float, float | None]:
    """(GiB, seconds) a matrix side would need on data with ``counts``: the matrix cells times
    the bytes per cell, plus about 1 GiB a 10M lines of the frame; seconds from the previous
    size's seconds per line (None when there was none)."""
    gib = _cells(counts, level, by) * BYTES_PER_CELL[side] / 2**30 + 0.3 + counts["lines"] / 1e7
    rate = per_line.get((side, level, by))
    return gib, (rate * counts["lines"] if rate is not None else None)


def _fits(est: tuple[float, float | None], side: str = "peer") -> bool:
    return est[0] <= (MAX_GIB if side == "peer" else HARD_GIB) and (est[1] is None or est[1] <= MAX_SECONDS)


def _sample_counts(full: dict, fraction: float) -> dict:
    """Expected counts of a sample of ``fraction`` of the orders (customers: Poisson orders)."""
    per_cust = full["orders"] / full["customers"]
    return full | {"lines": full["lines"] * fraction, "orders": full["orders"] * fraction,
                   "customers": full["customers"] * (1 - math.exp(-fraction * per_cust)) / (1 - math.exp(-per_cust))}


def plan(counts: dict, per_line: dict) -> tuple[dict, float | None]:
    """Which data each matrix side uses per config ("full" or "sample"), and the sample fraction."""
    where = {}
    for level, by in CONFIGS:
        peer = "full" if _fits(_estimate("peer", counts, level, by, per_line)) else "sample"
        mlx = peer if peer == "sample" or _fits(_estimate("mlx", counts, level, by, per_line), "mlx") else "sample"
        where[("peer", level, by)], where[("mlx", level, by)] = peer, mlx
    if "sample" not in where.values():
        return where, None
    for fraction in (0.5, 0.25, 0.2, 0.1, 0.05, 0.02, 0.01):
        sample = _sample_counts(counts, fraction)
        if all(_fits(_estimate(side, sample, level, by, per_line), side)
               for (side, level, by), data in where.items() if data == "sample"):
            return where, fraction
    return where, 0.005


# --------------------------------------------------------------------------- parent
def compare(a: Path, b: Path) -> dict:
    """Rules of two sides: same (antecedent, consequent) set, and the largest absolute
    difference of support, confidence and lift."""
    x = pd.read_parquet(a).set_index(["antecedent", "consequent"])
    y = pd.read_parquet(b).set_index(["antecedent", "consequent"])
    only_x, only_y = x.index.difference(y.index), y.index.difference(x.index)
    both = x.index.intersection(y.index)
    diff = (x.loc[both] - y.loc[both]).abs().max() if len(both) else pd.Series(0.0, index=x.columns)
    max_diff = float(diff.max()) if len(both) else 0.0
    ok = not len(only_x) and not len(only_y) and max_diff <= 1e-9
    return {"ok": ok, "max_diff": max_diff, "only_a": [list(i) for i in only_x[:5]], "n_only_a": len(only_x),
            "only_b": [list(i) for i in only_y[:5]], "n_only_b": len(only_y), "rules": len(both)}


def run(n: int, seed: int, timeout: float, tmpdir: str | None, per_line: dict) -> dict:
    with tempfile.TemporaryDirectory(dir=tmpdir) as tmp:
        tmp = Path(tmp)
        data = {"full": tmp / "order_lines.parquet"}
        reset = _reset_peak()
        t0 = time.perf_counter()
        counts = {"full": generate(data["full"], n, seed)}
        gen = {"seconds": time.perf_counter() - t0, "peak_gib": _hwm_gib() if reset else _maxrss_gib()}
        c = counts["full"]
        print(f"  generated {c['lines']:,} lines ({c['bytes'] / 2**20:,.0f} MiB Parquet, {c['orders']:,} orders, "
              f"{c['customers']:,} customers, {c['products']:,} products) in {gen['seconds']:.1f} s, "
              f"peak {gen['peak_gib']:.2f} GiB", flush=True)
        where, fraction = plan(counts["full"], per_line)
        if fraction is not None:
            data["sample"] = tmp / "sample.parquet"
            counts["sample"] = make_sample(data["full"], data["sample"], fraction, seed)
            s = counts["sample"]
            print(f"  sample: {fraction:.0%} of the orders (seed {seed}): {s['orders']:,} orders, {s['lines']:,} lines, "
                  f"{s['customers']:,} customers", flush=True)
        runs, created = {}, {}
        for name, path in data.items():
            db = tmp / f"{name}.duckdb"
            created[name] = _run_child(["--child", "create", "--data", str(path), "--db", str(db)], timeout)
            for level, by in CONFIGS:
                wanted = name == "full" or any(where[(side, level, by)] == name for side in ("peer", "mlx"))
                if wanted:
                    out = tmp / f"ours_{name}_{level}_{by}.parquet"
                    runs[("ours", name, level, by)] = _run_child(
                        ["--child", "ours", "--db", str(db), "--level", level, "--by", by, "--out", str(out)],
                        timeout) | {"out": str(out)}
            db.unlink(missing_ok=True)
        for (side, level, by), name in where.items():
            out = tmp / f"{side}_{name}_{level}_{by}.parquet"
            est = _estimate(side, counts[name], level, by, per_line)
            print(f"  {side} {level}/{by} on the {name} data: estimated {est[0]:.1f} GiB"
                  + (f", {est[1]:.0f} s" if est[1] is not None else ""), flush=True)
            runs[(side, name, level, by)] = _run_child(
                ["--child", side, "--data", str(data[name]), "--level", level, "--by", by, "--out", str(out)],
                timeout) | {"out": str(out)}
        checks = {}
        for (side, name, level, by), r in runs.items():
            ours = runs.get(("ours", name, level, by))
            if side != "ours" and "error" not in r and ours and "error" not in ours:
                checks[(side, name, level, by)] = compare(Path(ours["out"]), Path(r["out"]))
        truth = _planted(c, runs)
    for (side, name, level, by), r in runs.items():  # seconds per line, for the next size's plan
        if side != "ours" and "error" not in r:
            per_line[(side, level, by)] = _seconds(r) / counts[name]["lines"]
    return {"n": n, "counts": counts, "generate": gen, "fraction": fraction, "created": created,
            "runs": runs, "checks": checks, "planted": truth}


def _planted(counts: dict, runs: dict) -> str:
    """How many planted pairs (both directions) are among ours' full-data rules."""
    out = []
    for level, pairs in (("category", counts["category_pairs"]), ("product", counts["product_pairs"])):
        r = runs.get(("ours", "full", level, "order"), {})
        if "error" in r or "out" not in r or not Path(r["out"]).exists():
            continue
        rules = pd.read_parquet(r["out"])
        found = set(zip(rules["antecedent"], rules["consequent"]))
        want = {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}
        top = set(zip(rules["antecedent"].head(len(want)), rules["consequent"].head(len(want))))
        out.append(f"{level}: {len(want & found)} of {len(want)} planted directed pairs among the {len(rules):,} "
                   f"order-level rules, {len(want & top)} of them in the top {len(want)} by lift")
    return "; ".join(out)


def _seconds(r: dict) -> float:
    """The measured time of a side: the rule query (ours) or matrix + rules (the matrix sides),
    not the load (the table creation, the Parquet read), reported apart."""
    return sum(s["seconds"] for s in r["steps"] if not s["step"].startswith("read_parquet"))


def _peak(r: dict) -> float:
    return max(s["peak_gib"] for s in r["steps"])


def _fmt_s(s: float) -> str:
    return f"{s:.2f}" if s < 10 else f"{s:.1f}"


def _ratio(a, b) -> str:
    return f"{a / b:.1f}×" if a is not None and b else "—"


def table(results: list[dict]) -> list[str]:
    rows = ["| size | data | level | by | rules | ours s | peer s | peer/ours | mlxtend path s | mlxtend path/ours "
            "| peak GiB ours / peer / mlxtend path | max abs diff |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        size = f"{r['n']:,} lines"
        for name in r["counts"]:
            c = r["counts"][name]
            label = "full" if name == "full" else f"sample: {c['orders']:,} orders ({c['lines']:,} lines)"
            for level, by in CONFIGS:
                got = {side: r["runs"].get((side, name, level, by)) for side in SIDES}
                if name == "sample" and got["peer"] is None and got["mlx"] is None:
                    continue
                secs = {s: (_seconds(x) if x and "error" not in x else None) for s, x in got.items()}
                peaks = {s: (_peak(x) if x and "error" not in x else None) for s, x in got.items()}

                def cell(side, secs=secs, got=got, level=level, by=by):
                    if got[side] is None:
                        return "— (sample)" if side != "ours" and name == "full" else "—"
                    return _fmt_s(secs[side]) if secs[side] is not None else f"FAILED: {got[side]['error']}"

                diffs = [r["checks"][(s, name, level, by)] for s in ("peer", "mlx") if (s, name, level, by) in r["checks"]]
                diff = (("{:.1e}".format(max(d["max_diff"] for d in diffs))
                         + ("" if all(d["ok"] for d in diffs) else " NOT EQUAL")) if diffs else "—")
                n_rules = f"{got['ours']['rules']:,}" if got["ours"] and "rules" in got["ours"] else "—"
                peak_text = " / ".join(f"{peaks[s]:.2f}" if peaks[s] is not None else "—" for s in SIDES)
                rows.append(f"| {size} | {label} | {level} | {by} | {n_rules} | {cell('ours')} | {cell('peer')} | "
                            f"{_ratio(secs['peer'], secs['ours'])} | {cell('mlx')} | {_ratio(secs['mlx'], secs['ours'])} | "
                            f"{peak_text} | {diff} |")
    return rows


def notes(r: dict) -> list[str]:
    size = f"{r['n']:,} lines"
    out = [f"{size}: generated in {r['generate']['seconds']:.1f} s ({r['counts']['full']['bytes'] / 2**20:,.0f} MiB "
           f"Parquet; {r['counts']['full']['orders']:,} orders, {r['counts']['full']['customers']:,} customers)."]
    for name, cr in r["created"].items():
        reads = [x["steps"][0] for (side, d, *_), x in r["runs"].items()
                 if d == name and side != "ours" and "error" not in x]
        read = (f"; pandas.read_parquet {min(s['seconds'] for s in reads):.1f}-{max(s['seconds'] for s in reads):.1f} s, "
                f"peak {max(s['peak_gib'] for s in reads):.2f} GiB" if reads else "")
        made = (f"CREATE TABLE {cr['steps'][0]['seconds']:.1f} s, peak {cr['steps'][0]['peak_gib']:.2f} GiB "
                f"({cr['db_bytes'] / 2**20:,.0f} MiB database)" if "error" not in cr else f"CREATE TABLE FAILED: {cr['error']}")
        out.append(f"{size}, {name} data, loading (not in the seconds above): {made}{read}.")
    if r["fraction"] is not None:
        s = r["counts"]["sample"]
        sampled = sorted({f"{side} {lv}/{by}" for (side, d, lv, by) in r["runs"] if d == "sample" and side != "ours"})
        out.append(f"{size}: on the full data a basket matrix would need more than ~{MAX_GIB:g} GiB (peer; "
                   f"~{HARD_GIB:g} GiB for the mlxtend path) or more than ~{MAX_SECONDS / 60:g} min (estimated), so "
                   f"{', '.join(sampled)} ran on a seeded sample of "
                   f"{r['fraction']:.0%} of the orders ({s['orders']:,} orders, {s['lines']:,} lines, "
                   f"{s['customers']:,} customers), ours on it too for the comparison.")
    for (side, name, level, by), ch in r["checks"].items():
        if not ch["ok"]:
            out.append(f"{size}, {name}, {level}/{by}: {SIDES[side]} NOT EQUAL to pair_rules_sql: "
                       f"{ch['n_only_a']} rules only in ours (e.g. {ch['only_a']}), {ch['n_only_b']} only in "
                       f"{side} (e.g. {ch['only_b']}), max abs diff {ch['max_diff']:.1e}.")
    if r["checks"]:
        ok = all(ch["ok"] for ch in r["checks"].values())
        out.append(f"{size}: check: {len(r['checks'])} comparisons on the same data, rules "
                   f"{'equal' if ok else 'NOT EQUAL'} (max abs diff of support, confidence, lift "
                   f"{max(ch['max_diff'] for ch in r['checks'].values()):.1e}, tolerance 1e-9).")
    if r["planted"]:
        out.append(f"{size}: planted pairs found by pair_rules_sql: {r['planted']}.")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000], help="order lines generated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per subprocess before it is stopped")
    ap.add_argument("--tmpdir", default=None, help="where the Parquet files and databases go (default: the system's)")
    ap.add_argument("--write", action="store_true", help="write the section to benchmarks/RESULTS.md")
    ap.add_argument("--child", choices=["create", "ours", "peer", "mlx"], help=argparse.SUPPRESS)
    for flag in ("--data", "--db", "--level", "--by", "--out"):
        ap.add_argument(flag, help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    if args.child:
        if args.child == "create":
            out = child_create(Path(args.data), Path(args.db))
        elif args.child == "ours":
            out = child_ours(Path(args.db), args.level, args.by, Path(args.out))
        else:
            child = child_peer if args.child == "peer" else child_mlx
            out = child(Path(args.data), args.level, args.by, Path(args.out))
        print("RESULT " + json.dumps(out), flush=True)
        return
    import mlxtend

    from dbmlib.core import config

    about = (f"{machine()}, mlxtend {mlxtend.__version__}, pyarrow {pa.__version__}; "
             f"DuckDB memory limit {config.DUCKDB_MEMORY_LIMIT}")
    print(f"association rules; {about}", flush=True)
    results, per_line = [], {}
    for n in sorted(args.sizes):
        print(f"== {n:,} lines", flush=True)
        results.append(run(n, args.seed, args.timeout, args.tmpdir, per_line))
    rows = table(results)
    lines = [x for r in results for x in notes(r)]
    print("\n".join(["", *rows, "", *lines]))
    failed = [k for r in results for k, ch in r["checks"].items() if not ch["ok"]]
    errors = [k for r in results for k, x in [*r["runs"].items(), *r["created"].items()] if "error" in x]
    if failed:
        print(f"\nCHECK FAILED: rules differ from pair_rules_sql in {len(failed)} comparison(s): {failed}",
              file=sys.stderr)
    if args.write and not failed:
        thresholds = ", ".join(f"{lv}: min_support {s:g}, min_lift {li:g}" for lv, (s, li) in THRESHOLDS.items())
        write_section(TITLE, [
            f"Run on {dt.date.today()} — {about}.",
            ("Ours: `segment.baskets.pair_rules_sql(con, 'order_lines', level=..., by=...)` on a DuckDB table "
             "created from the Parquet file (creation timed apart, see the notes). Peer: what a notebook does "
             "without the workbench: `pandas.read_parquet`, `groupby([basket, item]).size().unstack(fill_value=0) "
             "> 0`, mlxtend `fpgrowth(max_len=2)` + `association_rules(metric='lift')`. mlxtend path: "
             "`association_rules_table(basket_matrix(...), max_len=2)`. Seconds: the rule query (ours), the "
             "matrix and the rules (the others), not the load. Each side runs in its own process; peak = that "
             f"process's resident set (VmHWM reset before each step). Thresholds: {thresholds}. Generated data "
             "(seeded): ~N/2.5 orders of 1-5 lines, N/10 customers, 2,000 products in 10 categories, three "
             "planted category pairs and 20 planted product pairs. Rules of two sides on the same data are "
             "checked equal (antecedent, consequent, support, confidence, lift; tolerance 1e-9)."),
            "", *rows, "", *(f"- {x}" for x in lines)])
    if failed or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
