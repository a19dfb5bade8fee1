"""Read-only summaries of the raw layer for the collection notebook."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.db import read_frame, table_exists
from ..core.parsing import parse_integers
from ..core.privacy import mask_personal
from .conventions import Reading, parse_by_file, recorded_readings
from .schemas import SOURCE_ORDER, SOURCES

__all__ = ["date_coverage", "orders_per_month", "preview", "previews", "rejects_summary"]

_DATE_COLUMNS = {
    "customers": "signup_date",
    "transactions": "order_ts",
    "campaigns": "start_date",
    "campaign_contacts": "contact_date",
}


def date_coverage(con) -> pd.DataFrame:
    """First and last date per source with dates (the product catalogue has none), each file's
    dates read the way its load decided (:mod:`dbmlib.collect.conventions`)."""
    rows = []
    for name in SOURCE_ORDER:
        table, col = SOURCES[name].table, _DATE_COLUMNS.get(name)
        if col is None or not table_exists(con, table):
            continue
        raw = read_frame(con, f'SELECT "{col}", _source_file FROM {table}')
        d = parse_by_file(raw, col, recorded_readings(con, table), "date", Reading())
        rows.append({"source": name, "column": col, "rows": len(raw), "missing": int(raw[col].isna().sum()),
                     "first": d.min(), "last": d.max()})
    return pd.DataFrame(rows).set_index("source")


def orders_per_month(con) -> pd.DataFrame:
    """Orders (distinct order ids with a positive line; returns and cancellations excluded)
    per calendar month and channel, with their revenue (amount, or quantity × unit price)."""
    tx = read_frame(con, "SELECT order_id, order_ts, channel, amount, quantity, unit_price, _source_file "
                         "FROM raw_transactions WHERE returned_order_id IS NULL")
    readings = recorded_readings(con, "raw_transactions")
    amount = parse_by_file(tx, "amount", readings, "money", Reading())
    price = parse_by_file(tx, "unit_price", readings, "money", Reading())
    amount = amount.fillna(price * parse_integers(tx["quantity"]).astype("float64"))
    out = pd.DataFrame({
        "order_id": tx["order_id"],
        "month": parse_by_file(tx, "order_ts", readings, "date", Reading()).dt.to_period("M").dt.to_timestamp(),
        "channel": tx["channel"].fillna("(unknown)").astype(str),
        "amount": amount,
    })
    out = out[out["amount"] > 0]
    return (out.groupby(["month", "channel"], as_index=False)
               .agg(orders=("order_id", "nunique"), revenue=("amount", "sum")))


def preview(con, table: str, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows of a table with personal columns masked."""
    df = mask_personal(con.execute(f"SELECT * FROM {table} ORDER BY _source_row LIMIT {int(n)}").df())
    if "_source_file" in df:  # the file's name, not where it sits on this machine
        df["_source_file"] = df["_source_file"].map(lambda p: Path(str(p)).name)
    return df


def previews(con, counts: pd.DataFrame, n: int = 5) -> dict[str, pd.DataFrame]:
    """``{"<table> (<rows> rows)": first rows}`` of every non-empty raw table in ``counts``
    (from :func:`~dbmlib.collect.load.raw_table_counts`), personal columns masked."""
    return {f"{row['table']}  ({row['rows']:,} rows)": preview(con, row["table"], n=n)
            for _, row in counts.iterrows() if row["rows"]}


def rejects_summary(con, stage: str | None = None) -> pd.DataFrame:
    """Rejected rows per table, column and rule; of one ``stage`` only (``"collect"``,
    ``"clean"``) when given, so each stage reports its own rejects."""
    if not table_exists(con, "rejects"):
        return pd.DataFrame(columns=["stage", "source_table", "column_name", "rule", "rows"])
    where = "WHERE stage = ? " if stage else ""
    return con.execute(
        "SELECT stage, source_table, column_name, rule, count(DISTINCT source_row) AS rows "
        f"FROM rejects {where}GROUP BY ALL ORDER BY rows DESC", [stage] if stage else []).df()
