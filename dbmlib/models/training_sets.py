"""Training sets of the propensity and uplift models, with features *as of* a decision date.

Features are computed from orders strictly before the decision date (a campaign's start, a
churn cut-off), so nothing from the future leaks into training: recency, frequency, revenue,
tenure, the channel mix of past orders and the customer's demographics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.fast_text import factorize, positions
from ..segment.rfm import code_totals

__all__ = [
    "CATEGORICAL",
    "NUMERIC",
    "OrderCodes",
    "campaign_training_set",
    "channel_shares",
    "churn_training_set",
    "code_positions",
    "features_as_of",
    "response_training_set",
]

NUMERIC = ["recency_days", "orders", "revenue", "avg_order_value", "tenure_days",
           "share_web", "share_store", "share_catalogue", "share_phone"]
CATEGORICAL = ["region", "age_band", "income_band", "gender"]


class OrderCodes:
    """Orders as numbers — customer codes in sorted id order, channel codes, timestamps and
    amounts — encoded once, so the features as of each date (:func:`features_as_of`) are a few
    array operations instead of grouping ten million text ids again."""

    def __init__(self, transactions: pd.DataFrame):
        customer, self.customers = factorize(transactions["customer_id"], sort=True)  # shared with the summaries
        channel, self.channels = pd.factorize(transactions["channel"], sort=True)
        self.customer, self.channel = customer.astype(np.int64), channel.astype(np.int64)
        ts = pd.to_datetime(transactions["order_ts"])
        self.ts, self.amount = ts.to_numpy(), transactions["net_amount"].astype(float).to_numpy()

    @classmethod
    def of(cls, transactions) -> OrderCodes:
        return transactions if isinstance(transactions, cls) else cls(transactions)

    def rows_in(self, index: pd.Index) -> np.ndarray:
        """Each customer code's row in the unique ``index`` of the customers (−1: none),
        remembered for the last index asked: every as-of date looks up the same customers
        (a hash lookup of a million ids, 0.4 s)."""
        if getattr(self, "_rows_for", None) is not index:
            self._rows, self._rows_for = _rows_of(pd.Index(self.customers), index), index
        return self._rows


_DAY_NS = 86_400 * 10**9


def features_as_of(customers: pd.DataFrame, transactions, as_of) -> pd.DataFrame:
    """RFM, channel mix and demographics of buyers, from orders strictly before ``as_of``
    (``transactions``: the orders, or their :class:`OrderCodes` when several dates share
    them). The same table as :func:`~dbmlib.segment.rfm.rfm_table` of those orders with
    :func:`channel_shares` and the demographics, computed on integer codes."""
    as_of = pd.Timestamp(as_of)
    orders = OrderCodes.of(transactions)
    past = np.flatnonzero((orders.ts < as_of.to_datetime64()) & (orders.customer >= 0))
    cust, n = orders.customer[past], len(orders.customers)
    first, last, count, revenue = code_totals(cust, orders.ts[past].view(np.int64), orders.amount[past], n)
    buyers = np.flatnonzero(count)
    unit = np.datetime_data(orders.ts.dtype)[0]
    per_ns = int(np.timedelta64(1, unit).astype("timedelta64[ns]").astype(np.int64))
    day = _DAY_NS // per_ns if per_ns <= _DAY_NS else 1
    rfm = pd.DataFrame({
        "first_purchase": first[buyers].view(orders.ts.dtype), "last_purchase": last[buyers].view(orders.ts.dtype),
        "orders": count[buyers].astype("int64"), "revenue": revenue[buyers].round(2),
    }, index=pd.Index(orders.customers[buyers], name="customer_id"))
    today = np.datetime64(as_of.normalize().to_datetime64(), unit).astype(np.int64)
    rfm["recency_days"] = (today - (last[buyers] // day) * day) // day
    rfm["tenure_days"] = (today - (first[buyers] // day) * day) // day
    rfm["avg_order_value"] = (rfm["revenue"] / rfm["orders"]).round(2)
    chan = orders.channel[past]
    ok = chan >= 0
    present = np.flatnonzero(np.bincount(chan[ok], minlength=len(orders.channels)))
    pos, col = code_positions(buyers, n), code_positions(present, len(orders.channels))
    shares = _row_shares(pos[cust[ok]], col[chan[ok]], len(buyers), len(present))
    names = [str(c) for c in orders.channels[present]]
    for ch in ("web", "store", "catalogue", "phone"):
        rfm[f"share_{ch}"] = shares[:, names.index(ch)] if ch in names else 0.0
    row = orders.rows_in(customers.index)[buyers]  # each buyer's row of the customers (−1: none)
    for col_name in CATEGORICAL:
        rfm[col_name] = (pd.Series(customers[col_name].astype("string").array.take(row, allow_fill=True), index=rfm.index)
                         .fillna("unknown") if col_name in customers else "unknown")
    return rfm


def _rows_of(ids: pd.Index, index: pd.Index) -> np.ndarray:
    """Position of each of ``ids`` in the unique ``index`` (−1: absent), as ``reindex`` finds
    them (Arrow's hash for text)."""
    if not index.is_unique:
        raise ValueError("cannot reindex on an axis with duplicate labels: the customers' ids must be unique")
    return positions(ids.to_series(), index)


def channel_shares(transactions: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Share of each customer's orders per channel (rows of ``index``, columns the channels;
    a row sums to 1, or 0 for a customer without orders). A vectorised row-normalised
    crosstab: ``pd.crosstab(normalize="index")`` aggregates in Python, a second per 70k
    customers."""
    cust = positions(transactions["customer_id"], index)
    chan, names = pd.factorize(transactions["channel"], sort=True)
    ok = (cust >= 0) & (chan >= 0)
    shares = _row_shares(cust[ok], chan[ok], len(index), len(names))
    return pd.DataFrame(shares, index=index, columns=[str(n) for n in names])


def code_positions(subset: np.ndarray, n: int) -> np.ndarray:
    """Per code below ``n``, its position in ``subset`` (−1: not in it)."""
    pos = np.full(n, -1, np.int64)
    pos[subset] = np.arange(len(subset))
    return pos


def _row_shares(row: np.ndarray, col: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """The ``n_rows × n_cols`` counts of the (row, column) code pairs, each row divided by its
    total (a row without pairs stays 0): a row-normalised crosstab by one ``bincount``."""
    k = max(n_cols, 1)
    counts = np.bincount(row * k + col, minlength=n_rows * k).reshape(n_rows, k)[:, :n_cols]
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)


def campaign_training_set(customers, transactions, campaigns, contacts, *,
                          include_control: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Customers of past campaigns, features as of each campaign's start, y = responded.

    Only the treated (contacted) customers by default — the response model; with
    ``include_control`` the withheld control group too — the uplift models' data, where the
    ``contacted`` column is the treatment.
    """
    parts = []
    orders = OrderCodes.of(transactions)  # encoded once for every campaign
    for camp in campaigns.itertuples():
        rows = contacts[contacts["campaign_id"] == camp.campaign_id]
        if not include_control:
            rows = rows[rows["contacted"].astype(bool)]
        f = _with_outcomes(features_as_of(customers, orders, camp.start_date), rows)
        f["campaign_channel"] = camp.channel
        f["campaign_id"] = camp.campaign_id
        parts.append(f)
    if not parts:
        raise ValueError("no past campaigns: a response model needs campaign history")
    data = pd.concat(parts)
    y = data.pop("responded").astype(int)
    data["contacted"] = data["contacted"].astype(bool)
    if y.nunique() < 2:
        raise ValueError("past campaigns have only one outcome (all or no responses)")
    return data, y


def _with_outcomes(features: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The buyers among a campaign's contact ``rows``, in the features' order, with the rows'
    ``responded`` and ``contacted``: ``features.join(rows.set_index("customer_id"), how="inner")``,
    through Arrow's hash lookup when each customer is contacted once (as they are)."""
    outcomes = rows.set_index("customer_id")[["responded", "contacted"]]
    if outcomes.index.has_duplicates:
        return features.join(outcomes, how="inner")
    pos = positions(features.index.to_series(), outcomes.index)
    keep = pos >= 0
    out = features[keep]
    for col in outcomes:
        out[col] = outcomes[col].iloc[pos[keep]].array
    return out


def response_training_set(customers, transactions, campaigns, contacts) -> tuple[pd.DataFrame, pd.Series]:
    """Treated customers of past campaigns, features as of each campaign's start, y = responded."""
    return campaign_training_set(customers, transactions, campaigns, contacts)


def churn_training_set(customers, transactions, cut_off, horizon_days: int = 180
                       ) -> tuple[pd.DataFrame, pd.Series]:
    """Buyers before ``cut_off``; y = 1 if they make no purchase in the next ``horizon_days``
    (``transactions``: the orders, or their :class:`OrderCodes`)."""
    cut_off = pd.Timestamp(cut_off)
    orders = OrderCodes.of(transactions)
    f = features_as_of(customers, orders, cut_off)
    start, stop = np.datetime64(cut_off), np.datetime64(cut_off + pd.Timedelta(days=horizon_days))
    window = (orders.ts >= start) & (orders.ts < stop) & (orders.customer >= 0)
    bought_code = np.zeros(len(orders.customers), bool)
    bought_code[orders.customer[window]] = True
    bought = bought_code[orders.customers.get_indexer(f.index)]  # every row of f is a buyer: a known code
    return f, pd.Series((~bought).astype(int), index=f.index, name="churned")
