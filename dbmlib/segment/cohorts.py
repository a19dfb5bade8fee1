"""Acquisition cohorts: retention and revenue by month since the first purchase."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.fast_text import factorize
from ..core.grouping import by_codes, distinct_codes

__all__ = ["cohort_retention"]


def cohort_retention(transactions: pd.DataFrame, *, customer_id_col: str = "customer_id",
                     datetime_col: str = "order_ts", amount_col: str = "net_amount",
                     max_months: int = 24) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly acquisition cohorts (month of first purchase).

    Returns ``(retention, revenue)``: share of each cohort buying in month 0, 1, … after
    acquisition (month 0 is 1.0 by construction), and the cohort's revenue per month;
    months after the last observed month are missing (NaN), not zero. Orders without a
    customer id count as one customer of their own (as they always have).

    Customers are integer codes (:func:`~dbmlib.core.fast_text.factorize`, shared with the other
    steps on the same orders), buyers per (cohort, month) a count of the distinct (customer,
    month) pairs; revenue is pandas' group-by sum over the orders in their order (the same last
    bits as a group-by on cohort and age).
    """
    ts = pd.to_datetime(transactions[datetime_col])
    month = (ts.dt.year * 12 + ts.dt.month - 1).to_numpy()
    cid, uniques = factorize(transactions[customer_id_col])
    n_ids = len(uniques) + 1  # the last code: the orders without a customer id
    cid = np.where(cid >= 0, cid, len(uniques))
    last = month.max() if len(month) else 0  # the last observed month, of every order
    first = np.full(n_ids, np.iinfo(month.dtype).max, dtype=month.dtype)
    np.minimum.at(first, cid, month)
    keep = month - first[cid] <= max_months
    cid, month = cid[keep].astype(np.int64), month[keep]
    cohort, amount = first[cid], transactions[amount_col].astype(float).to_numpy()[keep]
    low, width = (int(cohort.min()), int((month - cohort).max()) + 1) if len(cid) else (0, 1)
    start, span = (int(month.min()), int(month.max() - month.min()) + 1) if len(cid) else (0, 1)

    def cell(c, m):  # (cohort, age) as one integer, in the order of (cohort, age)
        return (first[c].astype(np.int64) - low) * width + (m - first[c])

    pairs = distinct_codes(cid * span + (month - start), n_ids * span)  # distinct (customer, month)
    pc, pm = pairs // span, pairs % span + start
    cells = cell(cid, month)
    n_cells = int(cells.max()) + 1 if len(cells) else 0
    buyers = np.bincount(cell(pc, pm), minlength=n_cells)
    sums = by_codes(amount, cells, n_cells).sum().to_numpy()
    seen = np.flatnonzero(np.bincount(cells, minlength=n_cells))
    index = pd.MultiIndex.from_arrays([(low + seen // width).astype(month.dtype), (seen % width).astype(month.dtype)],
                                      names=["cohort", "age"])
    active = pd.Series(buyers[seen], index=index).unstack(fill_value=0)
    revenue = pd.Series(sums[seen], index=index).unstack(fill_value=0.0)
    size = active[0].rename("cid")
    retention = active.div(size, axis=0)
    # months after the last observed month are unknown, not zero
    unseen = (retention.index.to_numpy()[:, None] + retention.columns.to_numpy()[None, :]) > last
    retention = retention.mask(unseen)
    revenue = revenue.mask(unseen)
    labels = [f"{c // 12}-{c % 12 + 1:02d}" for c in retention.index]
    retention.index = revenue.index = size.index = pd.Index(labels, name="cohort")
    retention.insert(0, "customers", size)
    return retention, revenue
