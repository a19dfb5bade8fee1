"""The integer-code paths of 03 (RFM table, cohorts, repeat rates, basket counts) equal the
plain pandas group-bys they replaced, on small frames with ties, missing values, one-order
customers and orders shared by customers."""

import numpy as np
import pandas as pd

from dbmlib.segment import basket_counts, category_summary, cohort_retention, rfm_table
from dbmlib.segment.sale_codes import sale_codes


def _orders(seed=0, n=400):
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    frame = pd.DataFrame({"customer_id": pd.array([f"C{i:03d}" for i in rng.integers(0, 60, n)], dtype="str"),
                          "order_ts": ts, "net_amount": rng.choice([0.1, 0.2, 19.99, 5.0], n)})
    frame.loc[n - 1, "customer_id"] = "Z-single"  # a customer with one order, on the last day
    frame.loc[n - 1, "order_ts"] = ts.max()
    return frame.sort_values(["order_ts"], kind="stable", ignore_index=True)


def _reference_rfm(tx, as_of):
    df = pd.DataFrame({"cid": tx["customer_id"].to_numpy(), "ts": tx["order_ts"].to_numpy(),
                       "amount": tx["net_amount"].astype(float).to_numpy()})
    df = df[df["ts"] <= as_of]
    g = df.groupby("cid", sort=True)
    out = pd.DataFrame({"first_purchase": g["ts"].min(), "last_purchase": g["ts"].max(),
                        "orders": g.size().astype("int64"), "revenue": g["amount"].sum().round(2)})
    out.index.name = "customer_id"
    out["recency_days"] = (as_of.normalize() - out["last_purchase"].dt.normalize()).dt.days
    out["tenure_days"] = (as_of.normalize() - out["first_purchase"].dt.normalize()).dt.days
    out["avg_order_value"] = (out["revenue"] / out["orders"]).round(2)
    return out


def _reference_cohorts(tx, max_months=24):
    ts = pd.to_datetime(tx["order_ts"])
    month = (ts.dt.year * 12 + ts.dt.month - 1).to_numpy()
    cid, _ = pd.factorize(tx["customer_id"])
    cohort = pd.Series(month).groupby(cid).transform("min").to_numpy()
    df = pd.DataFrame({"cohort": cohort, "age": month - cohort, "cid": cid, "amount": tx["net_amount"].to_numpy(float)})
    df = df[df["age"] <= max_months]
    size = df[df["age"] == 0].groupby("cohort")["cid"].nunique()
    active = df.drop_duplicates(["cohort", "age", "cid"]).groupby(["cohort", "age"]).size().unstack(fill_value=0)
    retention = active.div(size, axis=0)
    revenue = df.groupby(["cohort", "age"])["amount"].sum().unstack(fill_value=0.0)
    unseen = (retention.index.to_numpy()[:, None] + retention.columns.to_numpy()[None, :]) > month.max()
    retention, revenue = retention.mask(unseen), revenue.mask(unseen)
    labels = [f"{c // 12}-{c % 12 + 1:02d}" for c in retention.index]
    retention.index = revenue.index = size.index = pd.Index(labels, name="cohort")
    retention.insert(0, "customers", size)
    return retention, revenue


def test_rfm_table_equals_the_group_by_on_ids():
    tx = _orders()
    for as_of in (None, "2021-03-31"):
        end = tx["order_ts"].max() if as_of is None else pd.Timestamp(as_of)
        pd.testing.assert_frame_equal(rfm_table(tx, as_of), _reference_rfm(tx, end), check_exact=True)


def test_cohorts_equal_the_group_by_on_ids():
    tx = _orders(1)
    tx.loc[[4, 9], "customer_id"] = None  # orders without a customer id: one customer of their own
    for months in (24, 3, 0):  # the last month bought only by customers older than ``months``, too
        for got, want in zip(cohort_retention(tx, max_months=months), _reference_cohorts(tx, months)):
            pd.testing.assert_frame_equal(got, want, check_exact=True)


def _lines(shared: bool):
    rng = np.random.default_rng(2)
    n = 300
    order = rng.integers(0, 90, n)
    customer = order % 25 if not shared else rng.integers(0, 25, n)  # shared: an order of several customers
    lines = pd.DataFrame({"order_id": [f"O{o:03d}" for o in order],
                          "customer_id": pd.array([f"C{c:02d}" for c in customer], dtype="str"),
                          "order_ts": pd.Timestamp("2021-01-01") + pd.to_timedelta(order, unit="D"),
                          "category": rng.choice(["a", "b", "c", "unknown"], n), "product_id": None,
                          "product_name": None, "amount": rng.choice([1.0, 2.5, -1.0], n), "returned_order_id": None})
    lines.loc[[3, 7], "customer_id"] = None  # lines without a customer
    return lines


def test_repeat_rates_and_basket_counts_equal_a_count_of_distinct_rows():
    for shared in (False, True):
        lines = _lines(shared)
        sales = lines[(lines["amount"] > 0) & (lines["category"] != "unknown")]
        summary = category_summary(sale_codes(lines), "category")
        with_c = sales.dropna(subset=["customer_id"])
        per = with_c.drop_duplicates(["category", "customer_id", "order_id"]).groupby(["category", "customer_id"]).size()
        repeat = (per > 1).groupby(level=0).sum() / per.groupby(level=0).size()
        assert summary["repeat_rate"].sort_index().to_dict() == repeat.sort_index().to_dict()
        assert summary["orders"].sort_index().to_dict() == sales.groupby("category")["order_id"].nunique().to_dict()
        for by, key in (("order", "order_id"), ("customer", "customer_id")):
            items = sales.dropna(subset=[key]).groupby(key)["category"].nunique()
            assert basket_counts(sale_codes(lines), "category", by) == (len(items), int((items > 1).sum()))
