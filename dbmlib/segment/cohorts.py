"""Acquisition cohorts: retention and revenue by month since the first purchase."""

from __future__ import annotations

import pandas as pd

__all__ = ["cohort_retention"]


def cohort_retention(transactions: pd.DataFrame, *, customer_id_col: str = "customer_id",
                     datetime_col: str = "order_ts", amount_col: str = "net_amount",
                     max_months: int = 24) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly acquisition cohorts (month of first purchase).

    Returns ``(retention, revenue)``: share of each cohort buying in month 0, 1, … after
    acquisition (month 0 is 1.0 by construction), and the cohort's revenue per month;
    months after the last observed month are missing (NaN), not zero.
    """
    ts = pd.to_datetime(transactions[datetime_col])
    month = (ts.dt.year * 12 + ts.dt.month - 1).to_numpy()
    cid, _ = pd.factorize(transactions[customer_id_col])  # integer codes: fast group-bys
    cohort = pd.Series(month).groupby(cid).transform("min").to_numpy()
    df = pd.DataFrame({"cohort": cohort, "age": month - cohort, "cid": cid,
                       "amount": transactions[amount_col].astype(float).to_numpy()})
    df = df[df["age"] <= max_months]
    size = df[df["age"] == 0].groupby("cohort")["cid"].nunique()
    active = (df.drop_duplicates(["cohort", "age", "cid"]).groupby(["cohort", "age"]).size()
              .unstack(fill_value=0))
    retention = active.div(size, axis=0)
    revenue = df.groupby(["cohort", "age"])["amount"].sum().unstack(fill_value=0.0)
    # months after the last observed month are unknown, not zero
    unseen = (retention.index.to_numpy()[:, None] + retention.columns.to_numpy()[None, :]) > month.max()
    retention = retention.mask(unseen)
    revenue = revenue.mask(unseen)
    labels = [f"{c // 12}-{c % 12 + 1:02d}" for c in retention.index]
    retention.index = revenue.index = size.index = pd.Index(labels, name="cohort")
    retention.insert(0, "customers", size)
    return retention, revenue
