"""RFM: the buy-till-you-die summary, the calibration/holdout split, scores and segments.

:func:`rfm_summary` and :func:`calibration_and_holdout` have exactly the semantics of
``lifetimes.utils.summary_data_from_transaction_data`` and ``calibration_and_holdout_data``
(same rows, same numbers to the last bit: money is added in lifetimes' order with pandas'
summation), computed with a radix sort and vectorised steps instead of lifetimes' sort and
group-bys, and working under pandas 3 (where some of lifetimes' paths fail). Semantics, as
lifetimes defines them:

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

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.fast_text import arrow_text, factorize
from ..core.grouping import by_codes

__all__ = [
    "LIFECYCLE_STATES",
    "SEGMENTS",
    "SEGMENT_GRID",
    "calibration_and_holdout",
    "code_totals",
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


_FAST_UNITS = {"D": "D", "h": "h", "W": "D"}


def _period_index(dates: pd.Series, time_unit: str) -> np.ndarray:
    """Each date's period as an int64 count of ``time_unit`` periods (days, hours, weeks
    starting on Monday as pandas' ``to_period("W")``; other units: pandas period ordinals)."""
    if time_unit not in _FAST_UNITS:
        return dates.dt.to_period(time_unit).array.asi8.astype(np.int64)
    values, step = dates.to_numpy(), _FAST_UNITS[time_unit]
    unit = np.datetime_data(values.dtype)[0] if values.dtype.kind == "M" else None
    if unit in ("s", "ms", "us", "ns"):  # floor the integer ticks (no conversion to ns)
        n = values.view(np.int64) // (np.timedelta64(1, step) // np.timedelta64(1, unit))
    else:
        n = values.astype("datetime64[ns]").astype(f"datetime64[{step}]").view(np.int64)
    if time_unit == "W":  # 1970-01-01 is a Thursday; shift so weeks start on Mondays
        n = np.floor_divide(n + 3, 7)
    return n


def _dates(column: pd.Series) -> pd.Series:
    """The column as datetimes (as it is when it holds datetimes already: no copy)."""
    return column if pd.api.types.is_datetime64_any_dtype(column) else pd.to_datetime(column)


def _end_index(end: pd.Timestamp, time_unit: str) -> int:
    return int(_period_index(pd.Series([pd.Timestamp(end)]), time_unit)[0])


def _ticks(dates: pd.Series) -> np.ndarray:
    """The dates as int64 ticks, in their order (to order orders within a period)."""
    values = dates.to_numpy()
    return (values if values.dtype.kind == "M" else values.astype("datetime64[ns]")).view(np.int64)


def _stable_order(key: np.ndarray) -> np.ndarray | None:
    """Stable argsort of non-negative integer keys, or None when they are already sorted (a log
    sorted by customer). A radix sort: ``np.lexsort`` of the keys' 16-bit digits sorts each digit
    by counting (O(n) a digit), where ``np.argsort`` of the keys would compare (O(n log n))."""
    if len(key) < 2 or (key[1:] >= key[:-1]).all():
        return None
    bits = int(key.max()).bit_length()
    width = -(-bits // -(-bits // 16))  # equal digits of at most 16 bits
    mask = (1 << width) - 1
    digits = [((key >> shift) & mask).astype(np.uint16) for shift in range(0, bits, width)]
    return np.lexsort(digits)  # the last (highest) digit is the primary key


def _run_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Index of the first element of each run of equal values."""
    new = np.empty(len(sorted_values), bool)
    new[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    return np.flatnonzero(new)


def _kahan_sums(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per group, the sum of ``values[start:start + length]`` added in order with the compensated
    (Kahan) summation of pandas' group-by kernels, so the sums are bit-identical to theirs.

    Vectorised across groups: step ``j`` adds the ``j``-th value of every group longer than ``j``
    (groups sorted longest first, so those are a prefix); a loop of the longest group's length."""
    shortfall = lengths.max(initial=0) - lengths
    if shortfall.max(initial=0) < 2**16:
        shortfall = shortfall.astype(np.uint16)  # numpy's radix sort
    by_length = np.argsort(shortfall, kind="stable")
    first = starts[by_length]
    live = np.bincount(lengths)[::-1].cumsum()[::-1]  # live[j]: number of groups of length >= j
    total, comp = np.zeros(len(starts)), np.zeros(len(starts))
    for j in range(1, len(live)):
        s, c = total[:live[j]], comp[:live[j]]  # the groups still adding
        y = values[j - 1:].take(first[:live[j]])
        y -= c
        t = s + y
        np.subtract(t, s, out=c)  # c = (t - s) - y, the rounding error of s + y
        c -= y
        s[...] = t
    comp[by_length] = total  # back in the groups' order
    return comp


class _Pairs(NamedTuple):
    """The distinct (customer, period) pairs of a log, sorted by customer then period."""

    money: np.ndarray | None  # each pair's money, summed as lifetimes sums it
    customer: np.ndarray  # per customer present: its code,
    starts: np.ndarray  # its first pair,
    count: np.ndarray  # its number of pairs,
    first: np.ndarray  # its first period
    last: np.ndarray  # and its last


def _distinct_pairs(codes: np.ndarray, period: np.ndarray, money: np.ndarray | None = None,
                    ticks: np.ndarray | None = None) -> _Pairs:
    """The :class:`_Pairs` of rows with customer ``codes``, ``period`` indexes, ``money`` and
    ``ticks``. Rows are sorted by (customer, period); a period's money is added as lifetimes adds
    it: by time, then amount. Full-length arrays are freed as soon as they are used: at a million
    rows, fresh memory (page faults) costs as much as the arithmetic."""
    low = int(period.min()) if len(period) else 0
    span = int(period.max()) - low + 1 if len(period) else 1
    key = codes.astype(np.int64, copy=False) * span
    key += period
    key -= low
    if len(key) and key.max() < 2**32:
        key = key.astype(np.uint32)  # half the memory traffic in the gathers below
    order = _stable_order(key)
    if order is not None:
        key = key[order]
    starts = _run_starts(key)  # pair i is sorted rows starts[i] to starts[i + 1]
    in_big = np.flatnonzero(key[2:] == key[:-2])  # rows with two more of their pair after them
    big = np.unique(np.searchsorted(starts, in_big, side="right") - 1)  # the pairs of 3+ rows
    big_ends = np.searchsorted(key, key[starts[big]], side="right")
    pair_key = key[starts]
    del key
    pair_money = None
    if money is not None:
        m = money if order is None else money[order]
        if len(big):  # three or more orders in a period (rare): by time, then amount
            n_rows = big_ends - starts[big]
            rows = np.repeat(big_ends - np.cumsum(n_rows), n_rows) + np.arange(n_rows.sum())
            pair = np.repeat(np.arange(len(big)), n_rows)
            when = ticks[rows if order is None else order[rows]]
            rows = rows[np.lexsort((m[rows], when, pair))]
            big_money = by_codes(m[rows], pair, len(big)).sum().to_numpy()
        order = None  # freed before the sums are allocated
        pair_money = np.add.reduceat(m, starts) if len(m) else m.copy()  # 1 or 2 rows: any order
        if len(big):
            pair_money[big] = big_money
        del m
    del order, starts
    customer = pair_key // span
    cstarts = _run_starts(customer)
    count = np.diff(cstarts, append=len(customer))
    first = (pair_key[cstarts] % span).astype(np.int64) + low
    last = (pair_key[cstarts + count - 1] % span).astype(np.int64) + low
    return _Pairs(pair_money, customer[cstarts], cstarts, count, first, last)


def _summary_table(p: _Pairs, uniques, end_idx: int, freq_multiplier: float, include_first: bool,
                   customer_id_col: str) -> pd.DataFrame:
    """The lifetimes summary from the pairs of the rows (none after the end); customers in
    ``uniques`` order (sorted), those without rows left out. Money is averaged as lifetimes does,
    so it is bit-identical: the customer's periods in order, the first left out unless
    ``include_first``."""
    frequency = p.count - (0 if include_first else 1)
    names = ["frequency", "recency", "T"] + ([] if p.money is None else ["monetary_value"])
    table = np.empty((len(p.customer), len(names)), order="F")  # the frame's block, filled in place
    table[:, 0] = frequency
    np.divide(p.last - p.first, freq_multiplier, out=table[:, 1])
    np.divide(end_idx - p.first, freq_multiplier, out=table[:, 2])
    if p.money is not None:
        if include_first:  # no blanks: pandas' group-by sum picks its own summation
            pair_customer = np.repeat(np.arange(len(p.customer)), p.count)
            sums = by_codes(p.money, pair_customer, len(p.customer)).sum().to_numpy()
        else:  # the first period blanked (NaN): pandas' compensated kernel, done here
            sums = _kahan_sums(p.money, p.starts + 1, frequency)  # 0 without repeats
        np.divide(sums, np.maximum(frequency, 1), out=table[:, 3])
    index = uniques if len(p.customer) == len(uniques) else np.asarray(uniques)[p.customer]
    return pd.DataFrame(table, index=pd.Index(index, name=customer_id_col), columns=names, copy=False)


def _factorize(ids) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the ids and the sorted distinct ids. Integer ids in a compact range are coded
    through a table indexed by id (no hashing, no sort); a text column through
    :func:`~dbmlib.core.fast_text.factorize` (remembered for the next step on the same orders)."""
    if isinstance(ids, pd.Series) and arrow_text(ids) is not None:
        codes, uniques = factorize(ids, sort=True)
        return codes, np.asarray(uniques)
    ids = np.asarray(ids)
    if ids.dtype.kind in "iu" and len(ids):
        low, high = int(ids.min()), int(ids.max())
        if high - low < 2 * len(ids) + 65_536 and -2**62 < low and high < 2**62:
            offset = ids.astype(np.int64, copy=False) - low
            seen = np.zeros(high - low + 1, bool)
            seen[offset] = True
            return (np.cumsum(seen) - 1)[offset], (np.flatnonzero(seen) + low).astype(ids.dtype)
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
    dates = _dates(transactions[datetime_col])
    end = dates.max() if observation_period_end is None else pd.Timestamp(observation_period_end)
    period = _period_index(dates, time_unit)
    end_idx = _end_index(end, time_unit)
    codes, uniques = _factorize(transactions[customer_id_col])  # all rows: sorted codes keep their order in a subset
    rows = [codes, period, _ticks(dates),
            transactions[monetary_value_col].to_numpy(dtype=float) if monetary_value_col else None]
    keep = (period <= end_idx) & dates.notna().to_numpy()  # lifetimes: none after the end or undated
    if not keep.all():
        rows = [None if x is None else x[keep] for x in rows]
    codes, period, ticks, money = rows
    pairs = _distinct_pairs(codes, period, money, ticks)
    del rows, keep, codes, period, ticks, money  # freed now: fresh memory costs page faults
    return _summary_table(pairs, uniques, end_idx, freq_multiplier, include_first_transaction,
                          customer_id_col)


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
    dates = _dates(transactions[datetime_col])
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
    codes, uniques = _factorize(transactions[customer_id_col])
    money = transactions[monetary_value_col].to_numpy(dtype=float) if monetary_value_col else None
    cal_end_idx = _end_index(cal_end, time_unit)
    pairs = _distinct_pairs(codes[in_cal], period[in_cal], None if money is None else money[in_cal],
                            _ticks(dates)[in_cal])
    cal = _summary_table(pairs, uniques, cal_end_idx, freq_multiplier, include_first_transaction,
                         customer_id_col)
    cal.columns = [c + "_cal" for c in cal.columns]
    hold = _distinct_pairs(codes[hold_mask], period[hold_mask])
    n_codes = len(uniques)
    freq_h = np.zeros(n_codes)
    freq_h[hold.customer] = hold.count
    cal_codes = pairs.customer  # cal's rows: the calibration customers, in code order
    out = cal.copy()
    out["frequency_holdout"] = freq_h[cal_codes]
    if money is not None:
        mean = by_codes(money[hold_mask], codes[hold_mask], n_codes).mean().to_numpy()[cal_codes]
        out["monetary_value_holdout"] = np.where(np.isnan(mean), 0.0, mean)  # as lifetimes
    periods = (pd.Period(obs_end, time_unit) - pd.Period(cal_end, time_unit)).n
    out["duration_holdout"] = float(periods / freq_multiplier)
    return out


# ----------------------------------------------------------------- marketing RFM and segments
def code_totals(code: np.ndarray, ticks: np.ndarray, amount: np.ndarray, n: int):
    """Per customer code below ``n``, over the rows ``code`` with int64 ``ticks`` and
    ``amount``: ``(first, last, rows, sum)`` — the first and last tick (the int64 maximum and
    minimum for a code without rows), the number of rows and the sum of the amounts, pandas'
    group-by sum in row order (equal to a group-by on the ids to the last bit)."""
    first, last = np.full(n, np.iinfo(np.int64).max), np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, code, ticks)
    np.maximum.at(last, code, ticks)
    return first, last, np.bincount(code, minlength=n), by_codes(amount, code, n).sum().to_numpy()


def rfm_table(transactions: pd.DataFrame, as_of=None, *, customer_id_col: str = "customer_id",
              datetime_col: str = "order_ts", amount_col: str = "net_amount") -> pd.DataFrame:
    """The marketing RFM view: days since last order, number of orders, revenue, per customer.

    Grouped by integer codes of the ids (:func:`~dbmlib.core.fast_text.factorize`, shared with
    the other steps on the same orders); revenue is pandas' group-by sum over the orders in
    their order, so it equals a group-by on the ids to the last bit."""
    _check(transactions, [customer_id_col, datetime_col, amount_col])
    ts = pd.to_datetime(transactions[datetime_col])
    as_of = ts.max() if as_of is None else pd.Timestamp(as_of)
    codes, uniques = factorize(transactions[customer_id_col], sort=True)
    keep = ((ts <= as_of).to_numpy() & (codes >= 0))
    ticks = ts.to_numpy()[keep]
    first, last, orders, revenue = code_totals(codes[keep], ticks.view(np.int64),
                                               transactions[amount_col].astype(float).to_numpy()[keep], len(uniques))
    present = orders > 0  # the customers with orders up to as_of
    out = pd.DataFrame({
        "first_purchase": first[present].view(ticks.dtype),
        "last_purchase": last[present].view(ticks.dtype),
        "orders": orders[present].astype("int64"),
        "revenue": revenue[present].round(2),
    }, index=pd.Index(pd.Index(uniques)[present], name=customer_id_col))
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
