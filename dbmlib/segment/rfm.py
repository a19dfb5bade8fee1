"""RFM: the buy-till-you-die summary, the calibration/holdout split, scores and segments.

:func:`rfm_summary` and :func:`calibration_and_holdout` have exactly the semantics of
``lifetimes.utils.summary_data_from_transaction_data`` and ``calibration_and_holdout_data``
(same rows, same integer columns, money within 1e-9), computed with one vectorised
group-by instead of lifetimes' row-wise steps, and working under pandas 3 (where some of
lifetimes' paths fail). Semantics, as lifetimes defines them:

* dates are floored to periods of ``time_unit`` (``"D"`` days, ``"W"`` weeks, ``"h"``
  hours); several transactions in one period count as one, with their money summed;
* ``frequency`` = number of periods with a purchase − 1 (repeat purchases);
* ``recency`` = last − first purchase period, ``T`` = end − first purchase period, in
  ``time_unit`` / ``freq_multiplier``;
* ``monetary_value`` = mean money of the repeat periods (0 for customers without repeats);
* holdout: ``frequency_holdout`` = purchase periods after the calibration end,
  ``monetary_value_holdout`` = mean money per *transaction* in the holdout (lifetimes' own
  definition), ``duration_holdout`` = holdout length in periods.

:func:`rfm_scores` turns a marketing RFM table into 1–5 scores and :data:`SEGMENT_GRID`
names the segments; :func:`lifecycle` assigns lifecycle states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.errors import InputError

__all__ = [
    "LIFECYCLE_STATES",
    "SEGMENTS",
    "SEGMENT_GRID",
    "calibration_and_holdout",
    "lifecycle",
    "rfm_scores",
    "rfm_summary",
    "rfm_table",
    "segment_of",
]


def _check(transactions: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c and c not in transactions.columns]
    if missing:
        raise InputError("transactions", column=missing[0], problem="column missing",
                         expected=f"columns {[c for c in cols if c]} (found {list(transactions.columns)})")


_FAST_UNITS = {"D": "datetime64[D]", "h": "datetime64[h]", "W": "datetime64[D]"}


def _period_index(dates: pd.Series, time_unit: str) -> np.ndarray:
    """Each date's period as an int64 count of ``time_unit`` periods (days, hours, weeks
    starting on Monday as pandas' ``to_period("W")``; other units: pandas period ordinals)."""
    if time_unit in _FAST_UNITS:
        n = dates.to_numpy().astype("datetime64[ns]").astype(_FAST_UNITS[time_unit]).astype(np.int64)
        if time_unit == "W":  # 1970-01-01 is a Thursday; shift so weeks start on Mondays
            n = np.floor_divide(n + 3, 7)
        return n
    return dates.dt.to_period(time_unit).array.asi8.astype(np.int64)


def _end_index(end: pd.Timestamp, time_unit: str) -> int:
    return int(_period_index(pd.Series([pd.Timestamp(end)]), time_unit)[0])


def _periods(codes: np.ndarray, period: np.ndarray, money: np.ndarray | None):
    """Distinct (customer, period) pairs with their money summed, found by hashing (no sort:
    a log in arrival order, customers interleaved, costs no more than a sorted one).

    Returns ``(code, period, money_sum or None)`` of the pairs, in order of first appearance."""
    low = int(period.min()) if len(period) else 0
    span = int(period.max()) - low + 1 if len(period) else 1
    key = codes.astype(np.int64) * span + (period - low)
    pair, uniq = pd.factorize(key, sort=False)
    uniq = np.asarray(uniq, np.int64)
    total = np.bincount(pair, weights=money, minlength=len(uniq)) if money is not None else None
    return uniq // span, uniq % span + low, total


def _summary_arrays(codes, uniques, period, money, end_idx: int, freq_multiplier: float,
                    include_first: bool, customer_id_col: str) -> pd.DataFrame:
    """The lifetimes summary from per-row customer codes and period indexes (rows after the
    end already removed); customers in ``uniques`` order (sorted), those without rows left out."""
    pc, pp, pm = _periods(codes, period, money)
    n_codes = len(uniques)
    count = np.bincount(pc, minlength=n_codes)
    first = np.full(n_codes, np.iinfo(np.int64).max)
    last = np.full(n_codes, np.iinfo(np.int64).min)
    np.minimum.at(first, pc, pp)
    np.maximum.at(last, pc, pp)
    present = count > 0
    out = pd.DataFrame(index=pd.Index(np.asarray(uniques)[present], name=customer_id_col))
    count, first, last = count[present], first[present], last[present]
    out["frequency"] = (count - (0 if include_first else 1)).astype(float)
    out["recency"] = ((last - first) / freq_multiplier).astype(float)
    out["T"] = ((end_idx - first) / freq_multiplier).astype(float)
    if money is not None:
        first_of_pair = np.full(n_codes, 0, np.int64)
        first_of_pair[present] = first
        repeat = pm if include_first else np.where(pp == first_of_pair[pc], 0.0, pm)  # not the first period's money
        n = count - (0 if include_first else 1)
        sums = np.bincount(pc, weights=repeat, minlength=n_codes)[present]
        out["monetary_value"] = np.divide(sums, n, out=np.zeros(len(n)), where=n > 0)
    return out


def _factorize(ids) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(pd.Series(ids), sort=True)
    return codes, np.asarray(uniques)


def rfm_summary(transactions: pd.DataFrame, customer_id_col: str = "customer_id",
                datetime_col: str = "order_date", monetary_value_col: str | None = "amount",
                observation_period_end=None, time_unit: str = "D", freq_multiplier: float = 1,
                include_first_transaction: bool = False, *, engine: str = "numpy", con=None):
    """Frequency, recency, T (and monetary value) per customer; see the module docstring.

    Parameters
    ----------
    transactions : DataFrame (``engine="numpy"``), a Parquet/CSV path or a table name
        (``engine="duckdb"``), or a PySpark DataFrame (``engine="spark"``).
    engine : {"numpy", "duckdb", "spark"}
        ``numpy`` (default) is a vectorised in-memory computation; ``duckdb`` runs SQL in
        DuckDB and never needs the whole log in pandas (files larger than memory, see
        :mod:`dbmlib.segment.rfm_sql`); ``spark`` runs Spark SQL on a cluster and returns a PySpark
        DataFrame. All three give the same numbers.

    Returns
    -------
    DataFrame indexed by customer id (sorted), float columns ``frequency, recency, T``
    and ``monetary_value`` when ``monetary_value_col`` is given.
    """
    if engine != "numpy":
        from . import rfm_sql

        return rfm_sql.summary(transactions, customer_id_col, datetime_col, monetary_value_col,
                               observation_period_end, time_unit, freq_multiplier,
                               include_first_transaction, engine=engine, con=con)
    _check(transactions, [customer_id_col, datetime_col, monetary_value_col])
    dates = pd.to_datetime(transactions[datetime_col])
    end = dates.max() if observation_period_end is None else pd.Timestamp(observation_period_end)
    period = _period_index(dates, time_unit)
    end_idx = _end_index(end, time_unit)
    keep = period <= end_idx
    codes, uniques = _factorize(transactions[customer_id_col].to_numpy()[keep])
    money = (transactions[monetary_value_col].to_numpy(dtype=float)[keep]
             if monetary_value_col else None)
    return _summary_arrays(codes, uniques, period[keep], money, end_idx, freq_multiplier,
                           include_first_transaction, customer_id_col)


def calibration_and_holdout(transactions: pd.DataFrame, customer_id_col: str = "customer_id",
                            datetime_col: str = "order_date", calibration_period_end=None,
                            observation_period_end=None, time_unit: str = "D",
                            freq_multiplier: float = 1, monetary_value_col: str | None = None,
                            include_first_transaction: bool = False, *, engine: str = "numpy",
                            con=None):
    """Calibration summary (``*_cal``) and holdout counts of each calibration customer.

    ``engine`` as in :func:`rfm_summary`.
    """
    if calibration_period_end is None:
        raise ValueError("calibration_period_end is required")
    if engine != "numpy":
        from . import rfm_sql

        return rfm_sql.calibration_and_holdout(
            transactions, customer_id_col, datetime_col, calibration_period_end,
            observation_period_end, time_unit, freq_multiplier, monetary_value_col,
            include_first_transaction, engine=engine, con=con)
    _check(transactions, [customer_id_col, datetime_col, monetary_value_col])
    dates = pd.to_datetime(transactions[datetime_col])
    obs_end = dates.max() if observation_period_end is None else pd.Timestamp(observation_period_end)
    cal_end = pd.Timestamp(calibration_period_end)
    if cal_end >= obs_end:
        raise ValueError(f"calibration_period_end {cal_end.date()} must be before the observation "
                         f"end {pd.Timestamp(obs_end).date()}")
    # lifetimes compares the raw dates with the ends (not the periods)
    in_cal = (dates <= cal_end).to_numpy()
    if not in_cal.any():
        raise InputError("transactions", column=datetime_col,
                         problem=f"no order on or before calibration_period_end {cal_end.date()}: the calibration "
                         f"period is empty (orders from {dates.min().date()} to {dates.max().date()})",
                         expected="a calibration end after the first order (in 04: a smaller holdout_days)")
    hold_mask = ((dates > cal_end) & (dates <= obs_end)).to_numpy()
    if not hold_mask.any():
        raise InputError("transactions", column=datetime_col,
                         problem=f"no order between the calibration end {cal_end.date()} and the observation end "
                         f"{pd.Timestamp(obs_end).date()}: the holdout period is empty",
                         expected="a shorter holdout or a later observation end")
    period = _period_index(dates, time_unit)
    codes, uniques = _factorize(transactions[customer_id_col].to_numpy())
    money = transactions[monetary_value_col].to_numpy(dtype=float) if monetary_value_col else None
    cal_end_idx = _end_index(cal_end, time_unit)
    cal = _summary_arrays(codes[in_cal], uniques, period[in_cal],
                          None if money is None else money[in_cal], cal_end_idx, freq_multiplier,
                          include_first_transaction, customer_id_col)
    cal.columns = [c + "_cal" for c in cal.columns]
    hc, _, _ = _periods(codes[hold_mask], period[hold_mask], None)
    n_codes = len(uniques)
    freq_h = np.bincount(hc, minlength=n_codes).astype(float)
    cal_codes = pd.Index(uniques).get_indexer(cal.index)
    out = cal.copy()
    out["frequency_holdout"] = freq_h[cal_codes]
    if money is not None:
        hcodes = codes[hold_mask]
        s = np.bincount(hcodes, weights=money[hold_mask], minlength=n_codes)
        n = np.bincount(hcodes, minlength=n_codes)
        out["monetary_value_holdout"] = np.divide(s, n, out=np.zeros(n_codes), where=n > 0)[cal_codes]
    periods = (pd.Period(obs_end, time_unit) - pd.Period(cal_end, time_unit)).n
    out["duration_holdout"] = float(periods / freq_multiplier)
    return out


# ----------------------------------------------------------------- marketing RFM and segments
def rfm_table(transactions: pd.DataFrame, as_of=None, *, customer_id_col: str = "customer_id",
              datetime_col: str = "order_ts", amount_col: str = "net_amount") -> pd.DataFrame:
    """The marketing RFM view: days since last order, number of orders, revenue, per customer."""
    _check(transactions, [customer_id_col, datetime_col, amount_col])
    ts = pd.to_datetime(transactions[datetime_col])
    as_of = ts.max() if as_of is None else pd.Timestamp(as_of)
    df = pd.DataFrame({"cid": transactions[customer_id_col].to_numpy(), "ts": ts.to_numpy(),
                       "amount": transactions[amount_col].astype(float).to_numpy()})
    df = df[df["ts"] <= as_of]
    g = df.groupby("cid", sort=True)
    out = pd.DataFrame({
        "first_purchase": g["ts"].min(),
        "last_purchase": g["ts"].max(),
        "orders": g.size().astype("int64"),
        "revenue": g["amount"].sum().round(2),
    })
    out.index.name = customer_id_col
    out["recency_days"] = (as_of.normalize() - out["last_purchase"].dt.normalize()).dt.days
    out["tenure_days"] = (as_of.normalize() - out["first_purchase"].dt.normalize()).dt.days
    out["avg_order_value"] = (out["revenue"] / out["orders"]).round(2)
    return out


def _score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1-5 quintile score from the average-rank percentile: tied values share a score, so
    each score holds 20 % of customers up to the size of the tie groups at the boundaries."""
    pct = values.rank(method="average", pct=True, ascending=higher_is_better)
    return np.ceil(pct * 5).clip(1, 5).astype("int64")


def rfm_scores(rfm: pd.DataFrame) -> pd.DataFrame:
    """R, F, M scores (5 = best: most recent, most orders, most revenue), the RFM cell
    (e.g. ``"545"``), the FM score (rounded mean of F and M) and the named segment."""
    out = pd.DataFrame(index=rfm.index)
    out["r_score"] = _score(rfm["recency_days"], higher_is_better=False)
    out["f_score"] = _score(rfm["orders"])
    out["m_score"] = _score(rfm["revenue"])
    out["rfm_cell"] = (out["r_score"].astype(str) + out["f_score"].astype(str)
                       + out["m_score"].astype(str))
    out["fm_score"] = np.floor((out["f_score"] + out["m_score"]) / 2 + 0.5).astype("int64")
    out["segment"] = segment_of(out["r_score"], out["fm_score"])
    return out


#: Named segment for each (R score, FM score): rows R = 5..1, columns FM = 1..5.
SEGMENT_GRID = {
    5: ["New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential loyalists", "Loyal", "Champions", "Champions"],
    3: ["About to sleep", "Need attention", "Need attention", "Loyal", "Loyal"],
    2: ["Hibernating", "About to sleep", "At risk", "At risk", "Can't lose them"],
    1: ["Lost", "Hibernating", "At risk", "Can't lose them", "Can't lose them"],
}
SEGMENTS = ["Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention",
            "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost"]


def segment_of(r_score: pd.Series, fm_score: pd.Series) -> pd.Series:
    """The named segment of each customer (the map is total over scores 1-5)."""
    grid = np.array([SEGMENT_GRID[r] for r in (1, 2, 3, 4, 5)], dtype=object)
    names = grid[r_score.to_numpy() - 1, fm_score.to_numpy() - 1]
    return pd.Series(pd.Categorical(names, categories=SEGMENTS), index=r_score.index)


LIFECYCLE_STATES = ["prospect", "new", "active", "loyal", "at risk", "lapsed"]


def lifecycle(customers: pd.Index, rfm: pd.DataFrame, *, new_days: int = 90, active_days: int = 180,
              lapsed_days: int = 365, loyal_orders: int = 4) -> pd.Series:
    """Lifecycle state of every customer (buyers and prospects).

    * ``prospect``: no purchase yet;
    * ``new``: first purchase within ``new_days``;
    * ``loyal``: last purchase within ``active_days`` and at least ``loyal_orders`` orders;
    * ``active``: last purchase within ``active_days``;
    * ``at risk``: last purchase ``active_days``–``lapsed_days`` ago;
    * ``lapsed``: no purchase for more than ``lapsed_days``.
    """
    if not new_days <= active_days < lapsed_days:
        raise ValueError("thresholds must satisfy new_days <= active_days < lapsed_days")
    r = rfm.reindex(customers)
    state = np.select(
        [r["orders"].isna(), r["tenure_days"] <= new_days,
         (r["recency_days"] <= active_days) & (r["orders"] >= loyal_orders),
         r["recency_days"] <= active_days, r["recency_days"] <= lapsed_days],
        ["prospect", "new", "loyal", "active", "at risk"], "lapsed")
    return pd.Series(pd.Categorical(state, categories=LIFECYCLE_STATES), index=customers)
