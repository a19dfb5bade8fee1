"""The transaction rules of 02 as DuckDB SQL over ``raw_transactions``: memory that does not
grow with the number of order lines.

The same rules, in the same order, as the pandas implementation in
:mod:`dbmlib.clean.cleaning` (kept as ``engine="pandas"``, the reference the tests compare
against, table for table): exact duplicate rows, dates and amounts read the way each file was
read, amounts from quantity × unit price, missing values by policy, test and unknown
customers, cancellations matched to their purchase (ASOF join), orphan returns, returns
netted, re-keying to the master customer.

Only **distinct values** go through Python: each distinct (file, date text), (file, amount
text), quantity, category … is parsed once by the same parsers as the pandas path (so every
value is read identically) and joined back in SQL. A ten-million-line export has a few
hundred thousand distinct timestamps and a few thousand distinct prices. Every per-line step
runs in DuckDB under its memory limit (spilling to disk beyond it); pandas receives only the
rows a rule touched (for the quality log and the rejects) and the per-order table.

The clean lines are left in the staging table :data:`LINES_TABLE` (in load order, with
``_source_row``), which :func:`dbmlib.clean.cleaning.clean_database` renames to
``order_lines`` when it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..collect.conventions import parse_distinct
from ..collect.schemas import SOURCES
from ..core.db import drop_relation, read_frame, replace_tables
from ..core.fast_text import fullmatch
from ..core.parsing import date_format_of, parse_integers

__all__ = ["LINES_TABLE", "SqlLines", "clean_lines_sql", "drop_staging", "parse_line_values", "region_from_lines"]

#: The staging table of the clean lines (renamed ``order_lines`` on write).
LINES_TABLE = "_clean_lines"
_STAGE = "_clean_stage"
_ROWS = "_clean_rows"  # a view: the stage with the cancellation and return rules applied
_PLAIN_NUMBER = r"-?\d+(\.\d+)?"

# reason codes, in the order the rules apply (the first that fires is the row's reason)
_REASONS = [  # (rule, column, reason, condition on the stage; the last two are set after matching)
    ("exact_duplicate_row", "*", "exact duplicate of an earlier row", "dup"),
    ("unparseable_date", "order_ts", "order_ts is not a valid date in its file's layout", "ts IS NULL"),
    ("unparseable_amount", "amount", "amount is not a number in a known currency format", "amount IS NULL"),
    ("test_account", "*", "order of a test/internal account", "test"),
    ("unknown_customer", "customer_id", "customer_id not in the customers table", "unknown"),
    ("unmatched_cancellation", "*",
     "cancellation without an earlier purchase of the same product by the same customer", None),
    ("orphan_return", "*", "return references an order that is not in the data", None),
]


@dataclass
class SqlLines:
    """What the SQL rules produced besides the staging table: rows in, the rejected rows (as
    the pandas path's frame, for :func:`~dbmlib.clean.cleaning._rejects`), return and
    cancellation lines netted."""

    n_raw: int
    rejected: pd.DataFrame
    n_netted: int


def drop_staging(con) -> None:
    """Remove every staging table and view of the cleaning (named ``_clean_…``), whichever
    step created it."""
    for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_name LIKE '\\_clean\\_%' ESCAPE '\\' GROUP BY ALL ORDER BY max(table_type) DESC").fetchall():
        drop_relation(con, name)  # views first


def _quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _raw_columns(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'raw_transactions' "
        "ORDER BY ordinal_position").fetchall()]


def _store(con, name: str, frame: pd.DataFrame) -> None:
    replace_tables(con, {name: frame}, index=False)


def _distinct(con, columns: list[str], present: bool) -> pd.DataFrame:
    """The distinct non-missing values of ``columns`` of the raw lines (the last one tested
    for missing); an empty frame when the export has no such column."""
    if not present:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    return read_frame(con, f"SELECT DISTINCT {', '.join(columns)} FROM raw_transactions "
                           f"WHERE {columns[-1]} IS NOT NULL")


def _dictionaries(con, cfg, readings, has) -> None:
    """Each text column's distinct values parsed by the pandas path's own parsers."""
    ts = parse_distinct(con, "raw_transactions", "order_ts", "date", readings, cfg.reading)
    ts["ts"] = ts.pop("value").astype("datetime64[us]")
    ts["layout"] = date_format_of(ts["order_ts"])
    _store(con, "_clean_ts", ts)
    for name, col in (("_clean_amount", "amount"), ("_clean_price", "unit_price")):
        d = parse_distinct(con, "raw_transactions", col, "money", readings, cfg.reading)
        d["value"] = d["value"].astype("float64")
        d["plain"] = fullmatch(d[col].astype("string").str.strip(), _PLAIN_NUMBER)
        _store(con, name, d)
    q = _distinct(con, ["quantity"], has["quantity"])
    q["value"] = parse_integers(q["quantity"])
    _store(con, "_clean_qty", q)
    for name, col in (("_clean_cat", "category"), ("_clean_chan", "channel")):
        d = _distinct(con, [col], has[col])
        d["value"] = d[col].astype("string").str.strip().str.lower()
        _store(con, name, d)


def _positions(con) -> str:
    """The SQL of each raw row's position in load order (``_loaded_at``, file, row): ``rowid``
    when the table is in that order — a raw table is appended in load order, so nearly always
    — else a mapping table, ordered by numpy's stable sort as the pandas path does."""
    t = read_frame(con, "SELECT rowid AS rid, _loaded_at, _source_file, _source_row FROM raw_transactions",
                   categorical=("_source_file",))
    files = t["_source_file"].cat.set_categories(sorted(t["_source_file"].cat.categories)).cat.codes
    order = np.lexsort((t["_source_row"].to_numpy(), files.to_numpy(), t["_loaded_at"].to_numpy()))
    rid = t["rid"].to_numpy()
    if (order == np.arange(len(order))).all() and (rid == np.arange(len(rid))).all():
        return "r.rowid"
    _store(con, "_clean_pos", pd.DataFrame({"rid": rid[order], "pos": np.arange(len(order))}))
    return "(SELECT pos FROM _clean_pos WHERE rid = r.rowid)"


def _stage(con, cfg, raw_cols, has, test_ids, known_ids) -> None:
    """One row per raw line: load position, parsed values, the first rejecting rule of those
    that need no other line, the cancellation sign."""
    def col(c):
        return f"r.{c}" if has[c] else "NULL::VARCHAR"

    pos = _positions(con)
    hashed = ", ".join(f'r."{c}"' for c in SOURCES["transactions"].column_names if has[c])
    ids = pd.DataFrame({"id": pd.Series(sorted(set(test_ids)), dtype="string"), "kind": "test"})
    if known_ids is not None:
        ids = pd.concat([ids, pd.DataFrame({"id": pd.Series(known_ids, dtype="string").drop_duplicates(),
                                            "kind": "known"})], ignore_index=True)
    _store(con, "_clean_ids", ids)
    # exact duplicates: rows sharing a hash, then compared on their values (a collision never rejects)
    con.execute(f"""
        CREATE OR REPLACE TABLE _clean_dup AS
        WITH twice AS (SELECT hash({hashed}) AS h FROM raw_transactions r GROUP BY ALL HAVING count(*) > 1)
        SELECT rid FROM (
            SELECT r.rowid AS rid, row_number() OVER (PARTITION BY {hashed} ORDER BY {pos}) AS k
            FROM raw_transactions r WHERE hash({hashed}) IN (SELECT h FROM twice))
        WHERE k > 1""")
    marker = f"coalesce(starts_with(r.order_id, {_quote(cfg.cancel_prefix)}), false)" if cfg.cancel_prefix else "false"
    unknown = "k.id IS NULL" if known_ids is not None else "false"
    reasons = " ".join(f"WHEN {r[3]} THEN {i + 1}" for i, r in enumerate(_REASONS) if r[3])
    # amounts from quantity × unit price rounded half to even at the cent, as numpy's round(2)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_STAGE} AS
        WITH s AS (
            SELECT {pos} AS pos, r.rowid AS rid, r._source_row, r.order_id, r.customer_id, t.ts, t.layout,
                   {col('amount')} IS NULL AND q.value IS NOT NULL AND pr.value IS NOT NULL AS derived,
                   CASE WHEN {col('amount')} IS NULL AND q.value IS NOT NULL AND pr.value IS NOT NULL
                        THEN round_even((q.value::DOUBLE * pr.value) * 100.0, 0) / 100.0 ELSE a.value END AS amount,
                   coalesce(a.plain, false) AS amount_plain,
                   {col('quantity')} IS NULL AS qty_missing, coalesce(q.value, 1) AS quantity, pr.value AS price,
                   {col('category')} IS NULL AS cat_missing, coalesce(ca.value, 'unknown') AS category,
                   {col('channel')} IS NULL AS chan_missing, coalesce(ch.value, 'unknown') AS channel,
                   {col('returned_order_id')} AS returned_order_id, {col('product_id')} AS product_id,
                   {col('product_name')} AS product_name, {col('country')} AS country, {col('region')} AS region,
                   d.rid IS NOT NULL AS dup, te.id IS NOT NULL AS test, {unknown} AS unknown, {marker} AS marker
            FROM raw_transactions r
            LEFT JOIN _clean_dup d ON d.rid = r.rowid
            LEFT JOIN _clean_ts t ON t._source_file = r._source_file AND t.order_ts = r.order_ts
            LEFT JOIN _clean_amount a ON a._source_file = r._source_file AND a.amount = {col('amount')}
            LEFT JOIN _clean_price pr ON pr._source_file = r._source_file AND pr.unit_price = {col('unit_price')}
            LEFT JOIN _clean_qty q ON q.quantity = {col('quantity')}
            LEFT JOIN _clean_cat ca ON ca.category = {col('category')}
            LEFT JOIN _clean_chan ch ON ch.channel = {col('channel')}
            LEFT JOIN (SELECT id FROM _clean_ids WHERE kind = 'test') te ON te.id = r.customer_id
            LEFT JOIN (SELECT id FROM _clean_ids WHERE kind = 'known') k ON k.id = r.customer_id),
        c AS (SELECT *, CASE {reasons} ELSE 0 END AS reason FROM s),
        k AS (SELECT *, returned_order_id IS NULL AND (coalesce(amount < 0, false) OR quantity < 0 OR marker)
                        AND reason = 0 AS cancel FROM c)
        SELECT * EXCLUDE (amount, quantity), cancel AND coalesce(amount > 0, false) AS flip,
               CASE WHEN cancel AND amount > 0 THEN -amount ELSE amount END AS amount,
               CASE WHEN cancel THEN -abs(quantity) ELSE quantity END AS quantity
        FROM k""")


def _match_and_net(con) -> None:
    """Cancellations matched to the same customer's latest purchase of the same product at or
    before their time (the pandas path's ASOF join, on the same candidates), unmatched ones
    and orphan returns rejected, the returned order id set; :data:`_ROWS` is the result."""
    con.execute(f"""
        CREATE OR REPLACE TABLE _clean_match AS
        WITH c AS (SELECT pos, customer_id, coalesce(product_id, '') AS product, ts FROM {_STAGE} WHERE cancel),
             s AS (SELECT customer_id, coalesce(product_id, '') AS product, ts, max(order_id) AS order_id
                   FROM {_STAGE}
                   WHERE NOT cancel AND returned_order_id IS NULL AND coalesce(amount >= 0, false)
                     AND customer_id IN (SELECT customer_id FROM c WHERE customer_id IS NOT NULL)
                   GROUP BY ALL)
        SELECT c.pos, s.order_id FROM c ASOF JOIN s ON c.customer_id = s.customer_id AND c.product = s.product
                                                  AND c.ts >= s.ts""")
    # the rows whose return target or reason changes: cancellations and returns (a small share)
    con.execute(f"""
        CREATE OR REPLACE TABLE _clean_fix AS
        WITH b AS (SELECT s.pos, s.cancel, CASE WHEN s.cancel THEN m.order_id ELSE s.returned_order_id END AS ret
                   FROM {_STAGE} s LEFT JOIN _clean_match m USING (pos)
                   WHERE s.reason = 0 AND (s.cancel OR s.returned_order_id IS NOT NULL)),
             kept AS (SELECT DISTINCT order_id FROM {_STAGE}
                      WHERE reason = 0 AND NOT cancel AND returned_order_id IS NULL
                        AND order_id IN (SELECT ret FROM b WHERE ret IS NOT NULL))
        SELECT b.pos, b.ret, CASE WHEN b.cancel AND b.ret IS NULL THEN 6 WHEN k.order_id IS NULL THEN 7 ELSE 0 END
                             AS reason
        FROM b LEFT JOIN kept k ON k.order_id = b.ret""")
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {_ROWS} AS
        SELECT s.* EXCLUDE (returned_order_id, reason),
               CASE WHEN f.pos IS NULL THEN s.returned_order_id ELSE f.ret END AS returned_order_id,
               CASE WHEN f.pos IS NULL THEN s.reason ELSE f.reason END AS reason
        FROM {_STAGE} s LEFT JOIN _clean_fix f USING (pos)""")


def _log(con, lg, cfg, has) -> None:
    """The quality log's transaction entries, in the pandas path's order."""
    n, layouts, n_derived, n_cat, n_chan = con.execute(
        f"SELECT count(*), count(DISTINCT layout), count(*) FILTER (derived), count(*) FILTER (cat_missing), "
        f"count(*) FILTER (chan_missing) FROM {_ROWS}").fetchall()[0]

    entries, facts = [], {}  # (rule, action, column, where, detail, detail_sql) in the log's order: one query
    # reads the rows of them all; a fact (a whole column's rule) keeps its place among them

    def add(rule, action, column, where, detail="", detail_sql=None):
        entries.append((rule, action, column, where, detail, detail_sql))

    def fact(*args):
        facts.setdefault(len(entries), []).append(args)

    def reject(code):
        rule, column, reason, _ = _REASONS[code - 1]
        add(rule, "rejected", column, f"reason = {code}", reason)

    reject(1)
    if layouts > 1:
        add("mixed_date_format", "changed", "order_ts", "coalesce(layout = 'slashed', false)",
            "day/month date among other layouts, read the way its file was read (load_log)")
    reject(2)
    if n_derived == n:
        fact("transactions", "amount_from_price", "filled", "amount", n, "no amount column: every "
             "line's amount is quantity × unit_price")
    else:
        add("amount_from_price", "filled", "amount", "derived", "quantity × unit_price")
    add("amount_as_text", "changed", "amount", "NOT amount_plain AND NOT derived AND amount IS NOT NULL",
        "currency symbol or separators removed")
    reject(3)
    add("missing_value", "filled", "quantity", "qty_missing", "policy: 1")
    for column, missing, count in (("category", "cat_missing", n_cat), ("channel", "chan_missing", n_chan)):
        if count == n:
            fact("transactions", "column_all_missing", "filled", column, n, "policy: unknown (no value in the source)")
        else:
            add("missing_value", "filled", column, missing, "policy: unknown")
    reject(4)
    if has["known"]:
        reject(5)
    add("cancellation_sign", "changed", "amount", "flip",
        f"order id starts with {cfg.cancel_prefix!r}: a cancellation, amount made negative")
    reject(6)
    reject(7)
    add("return_netted", "merged", "amount", "reason = 0 AND returned_order_id IS NOT NULL",
        detail_sql="'into order ' || returned_order_id")
    flags = ", ".join(f"coalesce({e[3]}, false) AS _f{i}" for i, e in enumerate(entries))
    details = "".join(f", {e[5]} AS _d{i}" for i, e in enumerate(entries) if e[5])
    rows = read_frame(con, f"SELECT order_id AS key, _source_row AS source_row, {flags}{details} FROM {_ROWS} "
                           f"WHERE {' OR '.join(f'coalesce({e[3]}, false)' for e in entries)} ORDER BY pos")
    for i, (rule, action, column, _, detail, detail_sql) in enumerate(entries):
        for args in facts.get(i, []):
            lg.add_fact(*args)
        hit = rows[rows[f"_f{i}"].to_numpy(bool)]
        lg.add_rows("transactions", rule, action, column, hit, hit[f"_d{i}"].to_numpy() if detail_sql else detail)
    for args in facts.get(len(entries), []):
        lg.add_fact(*args)


def _rejected_rows(con, raw_cols: list[str]) -> pd.DataFrame:
    """The rejected rows as the pandas path holds them at the end of its rules: the raw
    columns with the parsed and normalised values in place, and the reason."""
    replaced = {"order_ts": "s.ts", "amount": "s.amount", "quantity": "s.quantity", "unit_price": "s.price",
                "category": "s.category", "channel": "s.channel", "returned_order_id": "s.returned_order_id"}
    source = SOURCES["transactions"].column_names
    cols = [c for c in raw_cols if c != "_loaded_at"] + [c for c in source if c not in raw_cols]
    select = ", ".join(f'{replaced.get(c, "r." + chr(34) + c + chr(34) if c in raw_cols else "NULL::VARCHAR")} '
                       f'AS "{c}"' for c in cols)
    reasons = "CASE s.reason " + " ".join(f"WHEN {i + 1} THEN {_quote(r[2])}" for i, r in enumerate(_REASONS)) + " END"
    frame = read_frame(con, f"SELECT {select}, {reasons} AS _reason FROM {_ROWS} s "
                            f"JOIN raw_transactions r ON r.rowid = s.rid WHERE s.reason > 0 ORDER BY s.pos")
    for c in frame.columns:
        if c in ("order_ts",):
            frame[c] = frame[c].astype("datetime64[us]")
        elif c in ("amount", "unit_price"):
            frame[c] = frame[c].astype("float64")
        elif c == "quantity":
            frame[c] = frame[c].astype("Int64")
        elif c != "_source_row":
            frame[c] = frame[c].astype("string")
    return frame


def parse_line_values(con, cfg, readings) -> pd.Timestamp:
    """Parse the distinct values of the raw lines' text columns (first step of
    :func:`clean_lines_sql`); returns the latest order time of any raw line, the reference
    date of the customer rules (impossible birth dates, age bands)."""
    raw_cols = _raw_columns(con)
    _dictionaries(con, cfg, readings, {c: c in raw_cols for c in SOURCES["transactions"].column_names})
    reference = con.execute("SELECT max(ts) FROM _clean_ts").fetchall()[0][0]
    return pd.Timestamp(reference) if reference is not None else pd.NaT


def clean_lines_sql(con, cfg, lg, test_ids, known_ids, id_map) -> SqlLines:
    """Apply the transaction rules in DuckDB after :func:`parse_line_values`; the kept lines
    end in :data:`LINES_TABLE`."""
    raw_cols = _raw_columns(con)
    has = {c: c in raw_cols for c in SOURCES["transactions"].column_names}
    _stage(con, cfg, raw_cols, has, test_ids, known_ids)
    _match_and_net(con)
    has["known"] = known_ids is not None
    _log(con, lg, cfg, has)
    rejected = _rejected_rows(con, raw_cols)
    n_raw, n_netted = con.execute(f"SELECT count(*), count(*) FILTER (reason = 0 AND returned_order_id IS NOT NULL) "
                                  f"FROM {_ROWS}").fetchall()[0]
    _lines(con, lg, id_map)
    return SqlLines(int(n_raw), rejected, int(n_netted))


def _lines(con, lg, id_map) -> None:
    """The kept lines in load order, customer ids re-keyed to their master (logged)."""
    if id_map is not None:
        _store(con, "_clean_ids", id_map[["source_id", "customer_id"]].astype("string"))
        rows = read_frame(con, f"SELECT s.order_id AS key, s._source_row AS source_row FROM {_ROWS} s "
                               f"LEFT JOIN _clean_ids m ON m.source_id = s.customer_id WHERE s.reason = 0 "
                               f"AND m.customer_id IS DISTINCT FROM s.customer_id ORDER BY s.pos")
        lg.add_rows("transactions", "rekeyed", "changed", "customer_id", rows, "re-keyed to the master customer")
        customer = "m.customer_id"
        join = "LEFT JOIN _clean_ids m ON m.source_id = s.customer_id"
    else:
        customer, join = "s.customer_id", ""
    con.execute(f"""
        CREATE OR REPLACE TABLE {LINES_TABLE} AS
        SELECT s.order_id, {customer} AS customer_id, s.ts AS order_ts, s.channel, s.category, s.product_id,
               s.product_name, s.quantity::BIGINT AS quantity, s.price AS unit_price, s.amount,
               s.returned_order_id, s.country, s.region, s._source_row
        FROM {_ROWS} s {join} WHERE s.reason = 0 ORDER BY s.pos""")


def region_from_lines(con, customer_ids: pd.Series) -> np.ndarray:
    """:func:`dbmlib.clean.cleaning._region_from_lines` on the staging table: each customer's
    region, or else country, of their latest order line (the later line on a tie)."""
    latest = read_frame(con, f"""
        SELECT customer_id, place FROM (
            SELECT customer_id, coalesce(region, country) AS place,
                   row_number() OVER (PARTITION BY customer_id ORDER BY order_ts DESC, rn DESC) AS k
            FROM (SELECT *, rowid AS rn FROM {LINES_TABLE}) WHERE coalesce(region, country) IS NOT NULL)
        WHERE k = 1""")
    if not len(latest):
        return np.full(len(customer_ids), "unknown", dtype=object)
    place = latest.set_index("customer_id")["place"].astype("string").str.strip()
    return customer_ids.map(place).fillna("unknown").to_numpy(object)
