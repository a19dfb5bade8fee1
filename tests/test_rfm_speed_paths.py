"""The numpy RFM summary is exactly lifetimes' (issue 21), whatever order the log arrives in: sorted
by customer (no sort needed), by time or shuffled (the radix sort), with several orders in one
period (added by time, then amount) and customers with many repeat periods (compensated sums)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

from dbmlib.demo.simulate import transaction_log
from dbmlib.segment.rfm import _stable_order, calibration_and_holdout, rfm_summary

ARGS = ("customer_id", "order_ts", "amount")
END = "2024-12-31"


def _log(ids: str) -> pd.DataFrame:
    """A simulated log (times of day) plus a busy day: 3-5 more orders of 300 customers on the day
    of one of their orders, so periods hold several orders in every unit."""
    d = transaction_log(3_000, seed=21)
    rng = np.random.default_rng(21)
    busy = d.drop_duplicates("customer_id").sample(300, random_state=21)
    extra = busy.loc[busy.index.repeat(rng.integers(3, 6, len(busy)))].copy()
    seconds = pd.to_timedelta(rng.integers(0, 86_400, len(extra)), "s")
    extra["order_ts"] = extra["order_ts"].dt.floor("D") + seconds
    extra["amount"] = np.round(rng.gamma(2, 25, len(extra)), 2)
    d = pd.concat([d, extra]).sort_values(["customer_id", "order_ts"], kind="stable",
                                          ignore_index=True)
    if ids == "str":
        d["customer_id"] = "C" + d["customer_id"].astype(str).str.zfill(6)
    elif ids == "sparse":  # far apart integers: hashed, not looked up in a table
        d["customer_id"] = d["customer_id"] * 1_000_003 - 7
    return d


LOGS = {ids: _log(ids) for ids in ("int", "str", "sparse")}


def _ordered(log: pd.DataFrame, order: str) -> pd.DataFrame:
    if order == "by time":
        return log.sort_values("order_ts", kind="stable", ignore_index=True)
    if order == "shuffled":
        return log.sample(frac=1.0, random_state=5, ignore_index=True)
    return log


@pytest.mark.parametrize("order", ["by customer", "by time", "shuffled"])
@pytest.mark.parametrize("unit, first", [("D", False), ("W", False), ("D", True), ("W", True)])
@pytest.mark.parametrize("ids", ["int", "str", "sparse"])
def test_summary_is_exactly_lifetimes_in_any_row_order(order, unit, first, ids):
    log = _ordered(LOGS[ids], order)
    got = rfm_summary(log, *ARGS, END, time_unit=unit, include_first_transaction=first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' pandas notices
        want = summary_data_from_transaction_data(log, *ARGS, observation_period_end=END, freq=unit,
                                                  include_first_transaction=first)
    busy_days = log.groupby(["customer_id", log["order_ts"].dt.date]).size()
    assert got["frequency"].max() >= 20 and (busy_days >= 3).any()  # long sums, busy periods
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True, check_names=False)


@pytest.mark.parametrize("order", ["by time", "shuffled"])
def test_hourly_summary_and_split_are_exactly_lifetimes_in_arrival_order(order):
    log = _ordered(LOGS["int"], order)
    got = rfm_summary(log, *ARGS, END, time_unit="h", freq_multiplier=24)
    kw = dict(calibration_period_end="2024-06-30", observation_period_end=END,
              monetary_value_col="amount")
    split = calibration_and_holdout(log, *ARGS[:2], **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = summary_data_from_transaction_data(log, *ARGS, observation_period_end=END, freq="h",
                                                  freq_multiplier=24)
        want_split = calibration_and_holdout_data(log, *ARGS[:2], **kw)
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True, check_names=False)
    pd.testing.assert_frame_equal(split, want_split[split.columns], check_exact=True,
                                  check_dtype=False, check_names=False)  # lifetimes: int holdout counts


@pytest.mark.parametrize("high", [3, 2**12, 2**20, 2**31, 2**40])
def test_radix_order_is_numpys_stable_argsort(high):
    key = np.random.default_rng(high).integers(0, high, 50_000)
    order = _stable_order(key)
    np.testing.assert_array_equal(order, np.argsort(key, kind="stable"))
    assert _stable_order(np.sort(key)) is None  # a sorted log is used as it is


def test_undated_orders_are_left_out_as_lifetimes_does():
    log = _ordered(LOGS["int"], "shuffled").head(2_000)
    log.loc[::50, "order_ts"] = pd.NaT
    got = rfm_summary(log, *ARGS, END)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = summary_data_from_transaction_data(log, *ARGS, observation_period_end=END)
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True, check_names=False)


@pytest.mark.parametrize("ids", ["str", "int"])
def test_summary_and_split_ending_inside_the_log_are_exactly_lifetimes(ids):
    """Ids coded on every row (text remembered for the next step), the rows after the end left
    out afterwards: the customers who buy only later are not in the summary."""
    log = _ordered(LOGS[ids], "shuffled")
    end = "2023-06-30"
    got = rfm_summary(log, *ARGS, end)
    again = rfm_summary(log, *ARGS, end)  # the second call reuses the first call's codes
    split = calibration_and_holdout(log, *ARGS[:2], calibration_period_end="2023-03-31", observation_period_end=end,
                                    monetary_value_col="amount")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = summary_data_from_transaction_data(log, *ARGS, observation_period_end=end)
        want_split = calibration_and_holdout_data(log, *ARGS[:2], calibration_period_end="2023-03-31",
                                                  observation_period_end=end, monetary_value_col="amount")
    assert log.loc[log["order_ts"] > end, "customer_id"].nunique() > 100  # rows after the end
    assert len(got) < log["customer_id"].nunique()  # customers who buy only later left out
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True, check_names=False)
    pd.testing.assert_frame_equal(again, got, check_exact=True)
    pd.testing.assert_frame_equal(split, want_split[split.columns], check_exact=True,
                                  check_dtype=False, check_names=False)
