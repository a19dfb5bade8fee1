"""Property-based tests (hypothesis): the RFM summary and the calibration/holdout split keep
their invariants and equal lifetimes on random transaction logs."""

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbmlib.segment.rfm import calibration_and_holdout, rfm_summary

START = pd.Timestamp("2024-01-01")


@st.composite
def logs(draw):
    """1–40 transactions of up to 8 customers over 60 days, several per day possible."""
    n = draw(st.integers(1, 40))
    cust = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 60 * 24 * 60 - 1), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-500, 50_000), min_size=n, max_size=n))
    return pd.DataFrame({"customer_id": [f"C{c}" for c in cust],
                         "ts": START + pd.to_timedelta(minutes, unit="min"),
                         "amount": np.array(cents) / 100})


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(logs(), st.sampled_from(["D", "W", "h"]), st.sampled_from([1, 7]), st.integers(0, 30))
def test_summary_invariants_and_equality_with_lifetimes(log, unit, mult, extra_days):
    from lifetimes.utils import summary_data_from_transaction_data

    end = log["ts"].max() + pd.Timedelta(days=extra_days)
    s = rfm_summary(log, "customer_id", "ts", "amount", end, time_unit=unit, freq_multiplier=mult)
    assert set(s.index) == set(log["customer_id"])
    assert (s["frequency"] >= 0).all() and (s["frequency"] == np.floor(s["frequency"])).all()
    assert ((0 <= s["recency"]) & (s["recency"] <= s["T"])).all()
    assert (s.loc[s["frequency"] == 0, ["recency", "monetary_value"]] == 0).all().all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = summary_data_from_transaction_data(log, "customer_id", "ts", "amount",
                                                 observation_period_end=end, freq=unit,
                                                 freq_multiplier=mult)
    pd.testing.assert_frame_equal(s, ref[s.columns], check_dtype=False, check_names=False,
                                  check_index_type=False, rtol=1e-9)


@SETTINGS
@given(logs(), st.integers(5, 50), st.sampled_from(["D", "W"]))
def test_split_invariants_and_equality_with_lifetimes(log, cal_day, unit):
    from lifetimes.utils import calibration_and_holdout_data

    cal_end = START + pd.Timedelta(days=cal_day)
    obs_end = START + pd.Timedelta(days=60)
    has_cal = (log["ts"] <= cal_end).any()
    has_hold = ((log["ts"] > cal_end) & (log["ts"] <= obs_end)).any()
    if not (has_cal and has_hold):
        return  # both sides of the split needed (an empty side is a clear ValueError, tested elsewhere)
    ch = calibration_and_holdout(log, "customer_id", "ts", cal_end, obs_end, time_unit=unit,
                                 monetary_value_col="amount")
    assert ((0 <= ch["recency_cal"]) & (ch["recency_cal"] <= ch["T_cal"])).all()
    assert (ch["frequency_holdout"] >= 0).all() and (ch["frequency_cal"] >= 0).all()
    assert set(ch.index) == set(log.loc[log["ts"] <= cal_end, "customer_id"])
    ref = calibration_and_holdout_data(log, "customer_id", "ts", cal_end, obs_end, freq=unit,
                                       monetary_value_col="amount")
    pd.testing.assert_frame_equal(ch, ref[ch.columns], check_dtype=False, check_names=False,
                                  check_index_type=False, rtol=1e-9)
