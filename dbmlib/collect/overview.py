"""Read-only summaries of the raw layer for the collection notebook."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from ..core.db import read_frame, registered, table_exists
from ..core.privacy import mask_personal
from .conventions import parse_distinct
from .schemas import SOURCE_ORDER, SOURCES

__all__ = ["ParsedDistinct", "date_coverage", "orders_per_month", "preview", "previews", "rejects_summary"]

_DATE_COLUMNS = {
    "customers": "signup_date",
    "transactions": "order_ts",
    "campaigns": "start_date",
    "campaign_contacts": "contact_date",
}


class ParsedDistinct:
    """:func:`~dbmlib.collect.conventions.parse_distinct` of one connection's raw tables, each
    (table, column, kind) parsed once: the date coverage and the orders per month both read the
    order timestamps (1.2 million distinct texts at ten million lines, 2.7 s to parse). Make one
    per stage, after the load: it does not notice tables loaded after it parsed them."""

    def __init__(self, con):
        self.con = con
        self._parsed = {}

    def __call__(self, table: str, column: str, kind: str) -> pd.DataFrame:
        """The dictionary of ``column`` of ``table`` (``_source_file``, the text, ``value``);
        the same frame on every call, not to be changed."""
        key = (table, column, kind)
        if key not in self._parsed:
            self._parsed[key] = parse_distinct(self.con, table, column, kind)
        return self._parsed[key]


def date_coverage(con, parsed: ParsedDistinct | None = None) -> pd.DataFrame:
    """First and last date per source with dates (the product catalogue has none), each file's
    dates read the way its load decided (:mod:`dbmlib.collect.conventions`). ``parsed``: the
    stage's :class:`ParsedDistinct`, to share its parses with :func:`orders_per_month`."""
    parsed = parsed or ParsedDistinct(con)
    rows = []
    for name in SOURCE_ORDER:
        table, col = SOURCES[name].table, _DATE_COLUMNS.get(name)
        if col is None or not table_exists(con, table):
            continue
        n, present = con.execute(f'SELECT count(*), count("{col}") FROM {table}').fetchall()[0]
        d = parsed(table, col, "date")["value"]
        rows.append({"source": name, "column": col, "rows": n, "missing": n - present,
                     "first": d.min(), "last": d.max()})
    return pd.DataFrame(rows).set_index("source")


def _one_file(con) -> bool:
    """Whether every line of ``raw_transactions`` comes from one file (or none): the usual case,
    where the dictionaries of :func:`orders_per_month` hold that file only and the lines join them
    on their text alone, without hashing and comparing ten million long file names."""
    files = con.execute("SELECT count(DISTINCT _source_file) + (count(*) > count(_source_file))::INT "
                        "FROM raw_transactions").fetchall()[0][0]
    return files <= 1


def orders_per_month(con, parsed: ParsedDistinct | None = None) -> pd.DataFrame:
    """Orders (distinct order ids with a positive line; returns and cancellations excluded)
    per calendar month and channel, with their revenue (amount, or quantity × unit price),
    added as exact decimals (to the millionth): a sum of doubles on several threads differs in
    its last digits from run to run.

    Only the distinct texts are parsed in Python (:func:`~dbmlib.collect.conventions.parse_distinct`,
    through ``parsed``, the stage's :class:`ParsedDistinct`, when given); the lines are joined
    to them and counted in SQL."""
    parsed = parsed or ParsedDistinct(con)
    cols = set(read_frame(con, "SELECT column_name FROM information_schema.columns "
                               "WHERE table_name = 'raw_transactions'")["column_name"])
    parts = {k: parsed("raw_transactions", c, kind) for k, c, kind in (
        ("_om_ts", "order_ts", "date"), ("_om_amount", "amount", "money"),
        ("_om_price", "unit_price", "money"), ("_om_qty", "quantity", "integer")) if c in cols}
    by_file = "" if _one_file(con) else "{k}._source_file IS NOT DISTINCT FROM t._source_file AND "
    joins = " ".join(f'LEFT JOIN {k} ON {by_file.format(k=k)}{k}."{d.columns[1]}" = t."{d.columns[1]}"'
                     for k, d in parts.items())
    value = lambda k: f"{k}.value" if k in parts else "NULL::DOUBLE"  # noqa: E731 - an absent column
    with ExitStack() as stack:
        for k, d in parts.items():
            stack.enter_context(registered(con, k, d))
        return read_frame(con, f"""
            SELECT month, channel, count(DISTINCT order_id) AS orders,
                   sum(amount::DECIMAL(38, 6))::DOUBLE AS revenue FROM (
                SELECT t.order_id, coalesce(t.channel, '(unknown)') AS channel,
                       date_trunc('month', _om_ts.value) AS month,
                       coalesce({value("_om_amount")}, {value("_om_price")} * {value("_om_qty")}) AS amount
                FROM raw_transactions t {joins}
                WHERE t.returned_order_id IS NULL)
            WHERE amount > 0 AND month IS NOT NULL GROUP BY month, channel ORDER BY month, channel""")


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
