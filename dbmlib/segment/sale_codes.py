"""Sale lines as integer codes: what the product tables of 03 and the offer rows of 04
aggregate, read once instead of handled as text.

At ten million order lines, pandas spends most of its time on text: filtering the sale lines,
grouping by customer, order and category ids, crosstabs. :func:`read_sale_codes` lets DuckDB
pick the sale lines (no returns or cancellations, a known item) and hands them over as numbers:
sorted customer and item codes, an order code, the timestamp and the amount, in the table's own
row order. :func:`sale_codes` builds the same from a DataFrame of order lines, so every figure
computed from the codes equals the one pandas computed from the text (sums of amounts are
pandas' own ``groupby().sum()`` over the lines in their original order, so even their last bits
agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.db import read_frame

__all__ = ["SaleCodes", "read_sale_codes", "sale_codes"]

_LEVELS = {"category": "category", "product": "product_id"}
_UNKNOWN = ("unknown", "mixed", "")


@dataclass
class SaleCodes:
    """The sale lines at one ``level`` (``"category"`` or ``"product"``), one array entry per line
    in the order of the table.

    Attributes
    ----------
    customer : int64 codes into ``customers`` (−1: no customer id)
    item : int64 codes into ``items``
    order : int64 codes, equal for lines of the same order id (−1: no order id); not sorted
    ts : datetime64[us] order timestamps (NaT where missing)
    amount : float64 line amounts
    customers, items : the sorted distinct ids (``items`` as pandas ``string``, as
        :func:`~dbmlib.segment.baskets.sales_lines` gives them)
    extra : per-line DataFrame of the other columns asked for (e.g. ``product_id``)
    order_id : function from line positions to their order ids (the text, for tie-breaks)
    """

    level: str
    customer: np.ndarray
    item: np.ndarray
    order: np.ndarray
    ts: np.ndarray
    amount: np.ndarray
    customers: pd.Index
    items: pd.Index
    extra: pd.DataFrame
    order_id: object

    def __len__(self) -> int:
        return len(self.item)

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def item_sums(self, values: np.ndarray, mask: np.ndarray | None = None) -> pd.Series:
        """Per item code, the sum of ``values`` over the (masked) lines, in line order — pandas'
        ``groupby().sum()``, so equal to its sum over the text-keyed lines to the last bit."""
        m = slice(None) if mask is None else mask
        return pd.Series(values[m]).groupby(self.item[m]).sum()


def _codes(values: pd.Series, sort: bool = True) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(values, sort=sort)
    return codes.astype(np.int64), pd.Index(uniques)


def _run_codes(hashes: np.ndarray, no_order: np.ndarray, distinct: int, distinct_hashes: int) -> np.ndarray | None:
    """Order codes by runs of equal hashes — the codes ``pd.factorize(hashes, sort=False)``
    gives, without hashing ten million keys again — when they are exact: every line has an
    order id, no two ids share a hash and each hash forms one run (an order's lines are
    together, as exports write them). ``None`` otherwise."""
    if no_order.any() or distinct != distinct_hashes or not len(hashes):
        return None
    codes = np.cumsum(np.r_[True, hashes[1:] != hashes[:-1]]) - 1
    return codes if codes[-1] + 1 == distinct_hashes else None


def _build(level, frame: pd.DataFrame, order_codes, order_id, extra_cols) -> SaleCodes:
    customer, customers = _codes(frame["customer_id"])
    item, items = _codes(frame["item"])
    return SaleCodes(level=level, customer=customer, item=item, order=order_codes,
                     ts=frame["order_ts"].to_numpy("datetime64[us]"), amount=frame["amount"].to_numpy(float),
                     customers=customers, items=items.astype("string"),
                     extra=frame[list(extra_cols)].reset_index(drop=True), order_id=order_id)


def sale_codes(order_lines: pd.DataFrame, level: str = "category", extra=()) -> SaleCodes:
    """The :class:`SaleCodes` of a DataFrame of order lines (the columns of
    :func:`~dbmlib.segment.baskets.read_order_lines`): the lines
    :func:`~dbmlib.segment.baskets.sales_lines` keeps."""
    from .baskets import sales_lines

    lines = sales_lines(order_lines, level)
    if "order_ts" not in lines:
        lines = lines.assign(order_ts=pd.NaT)
    order, _ = _codes(lines["order_id"], sort=False)
    ids = lines["order_id"].to_numpy(object)
    return _build(level, lines, order, lambda pos: ids[pos], extra)


def read_sale_codes(con, level: str = "category", table: str = "order_lines", extra=()) -> SaleCodes:
    """The :class:`SaleCodes` of the clean ``table`` in DuckDB, with the columns ``extra`` (e.g.
    ``product_id``) alongside. Orders are coded by DuckDB's 64-bit hash of the order id; if two
    ids of the table ever shared a hash (checked against an exact distinct count), the ids
    themselves are coded instead."""
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {list(_LEVELS)}, got {level!r}")
    col = _LEVELS[level]
    have = set(con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])
               .df()["column_name"])
    if col not in have:
        return sale_codes(pd.DataFrame(columns=["order_id", "customer_id", "order_ts", "category", "product_id",
                                                "amount", "returned_order_id", *extra]), level, extra)
    extras = "".join(f", {c}" if c in have else f", NULL::VARCHAR AS {c}" for c in extra)
    ts = "order_ts" if "order_ts" in have else "NULL::TIMESTAMP AS order_ts"
    where = (f"""returned_order_id IS NULL AND amount > 0 AND NOT isnan(amount) AND "{col}" IS NOT NULL
                 AND CAST("{col}" AS VARCHAR) NOT IN {_UNKNOWN!r}""")
    frame = read_frame(con, f"""SELECT customer_id, hash(order_id) AS order_hash, order_id IS NULL AS no_order,
                                       {ts}, amount, CAST("{col}" AS VARCHAR) AS item{extras}
                                FROM "{table}" WHERE {where}""")
    distinct, distinct_hashes = con.execute(f'SELECT count(DISTINCT order_id), count(DISTINCT hash(order_id)) '
                                            f'FILTER (order_id IS NOT NULL) FROM "{table}" WHERE {where}').fetchall()[0]
    hashed = _run_codes(frame["order_hash"].to_numpy(), frame["no_order"].to_numpy(bool), distinct, distinct_hashes)
    collided = False
    if hashed is None:
        hashed, uniques = _codes(frame["order_hash"], sort=False)
        hashed[frame["no_order"].to_numpy(bool)] = -1
        collided = distinct != int((np.bincount(hashed[hashed >= 0], minlength=len(uniques)) > 0).sum())
    if collided:
        ids = read_frame(con, f'SELECT order_id FROM "{table}" WHERE {where}')["order_id"]  # a hash collision
        codes, _ = _codes(ids, sort=False)
        texts = ids.to_numpy(object)
        return _build(level, frame, codes, lambda pos: texts[pos], extra)
    hashes = frame["order_hash"].to_numpy()

    def order_id(pos):
        """The order ids of the lines at ``pos`` (looked up in DuckDB by their hashes)."""
        wanted = pd.DataFrame({"h": np.unique(hashes[pos])})
        con.register("_dbm_hashes", wanted)
        try:
            found = con.execute(f"""SELECT DISTINCT hash(order_id) AS h, order_id FROM "{table}"
                                    WHERE hash(order_id) IN (SELECT h FROM _dbm_hashes)""").df()
        finally:
            con.unregister("_dbm_hashes")
        return found.set_index("h")["order_id"].reindex(hashes[pos]).to_numpy(object)

    return _build(level, frame, hashed, order_id, extra)
