"""CLV models: published CDNOW estimates reproduced, CLV time units, bad input, robust fits."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from dbmlib.core.errors import InputError
from dbmlib.demo.datasets import load_cdnow
from dbmlib.models.clv import (
    PUBLISHED_CDNOW,
    ModelFitError,
    PurchaseModel,
    SpendModel,
    customer_lifetime_value,
)
from dbmlib.segment.rfm import calibration_and_holdout


def _cal(freq_multiplier):
    tx = load_cdnow(sample=True)
    ch = calibration_and_holdout(tx, "customer_id", "order_date", "1997-09-30", "1998-06-30",
                                 time_unit="D", freq_multiplier=freq_multiplier,
                                 monetary_value_col="amount")
    cols = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]
    return ch[cols].rename(columns=lambda c: c.removesuffix("_cal"))


@pytest.fixture(scope="module")
def weekly():
    """CDNOW sample, 39-week calibration, time in weeks as days / 7 (the papers' convention)."""
    return _cal(7)


@pytest.mark.parametrize("kind", ["bgnbd", "pnbd"])
def test_published_purchase_model_parameters(weekly, kind):
    m = PurchaseModel(kind).fit(weekly)
    published = PUBLISHED_CDNOW[kind]
    for name, value in published.items():
        if name == "log_likelihood":
            assert round(m.log_likelihood_, 1) == value
        else:  # to the precision printed in the paper
            decimals = len(str(value).split(".")[1])
            assert round(m.params_[name], decimals) == value, (name, m.params_[name])
    assert m.penalizer_ == 0.0


def test_published_conditional_expectation(weekly):
    # Fader, Hardie & Lee (2005): a customer with x=2, t_x=30.43, T=38.86 makes 1.226
    # expected purchases in the next 39 weeks
    m = PurchaseModel("bgnbd").fit(weekly)
    one = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86]})
    assert round(m.expected_purchases(39, one).iloc[0], 3) == 1.226
    # population: E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
    from scipy.special import hyp2f1
    r, alpha, a, b = m.params_[["r", "alpha", "a", "b"]]
    t = 39.0
    by_hand = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    assert m.expected_purchases_population([t])[0] == pytest.approx(by_hand, rel=1e-10)


def test_published_gamma_gamma(weekly):
    s = SpendModel().fit(weekly)
    assert s.n_customers_ == 946  # repeat customers in the calibration period
    assert s.params_.round(2).to_dict() == PUBLISHED_CDNOW["gamma_gamma"]
    assert round(s.correlation_, 2) == 0.11  # as reported by Fader & Hardie
    spend = s.expected_spend(weekly)
    assert spend.notna().all() and (spend > 0).all()


def test_p_alive_bounds_and_order(weekly):
    m = PurchaseModel("bgnbd").fit(weekly)
    p = m.p_alive(weekly)
    assert ((p > 0) & (p <= 1)).all()
    assert (p[weekly["frequency"] == 0] == 1).all()  # BG/NBD: no repeat, cannot have dropped out
    recent = pd.DataFrame({"frequency": [5.0, 5.0], "recency": [38.0, 5.0], "T": [38.86, 38.86]})
    a, b = m.p_alive(recent)
    assert a > 0.85 and b < 0.5  # same history, last purchase long ago: probably gone


def test_clv_time_unit_explicit_and_equal_to_lifetimes_on_daily_data(weekly):
    daily = _cal(1)
    bw, bd = PurchaseModel("bgnbd").fit(weekly), PurchaseModel("bgnbd").fit(daily)
    sw, sd = SpendModel().fit(weekly), SpendModel().fit(daily)
    clv_w = customer_lifetime_value(bw, sw, weekly, 12, 0.10, days_per_time_unit=7)
    clv_d = customer_lifetime_value(bd, sd, daily, 12, 0.10, days_per_time_unit=1)
    # the same customers valued from weekly or daily summaries: within 1 % in total
    assert clv_w.sum() == pytest.approx(clv_d.sum(), rel=0.01)
    # lifetimes' own helper assumes daily data and a monthly discount rate of 30-day months
    d = (1.10) ** (1 / 12) - 1
    ref = sd.to_lifetimes().customer_lifetime_value(bd.to_lifetimes(), daily["frequency"], daily["recency"],
                                             daily["T"], daily["monetary_value"], time=12,
                                             discount_rate=d, freq="D")
    ours = customer_lifetime_value(bd, sd, daily, 12, 0.10, days_per_time_unit=30.4375 / 30)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-6)
    assert customer_lifetime_value(bd, sd, daily, 12, 0.10, margin=0.3).sum() == \
        pytest.approx(0.3 * clv_d.sum())


@pytest.mark.parametrize("frame,column,fragment", [
    (pd.DataFrame({"frequency": [1.0], "recency": [-1.0], "T": [5.0]}), "recency", "recency >= 0"),
    (pd.DataFrame({"frequency": [1.0], "recency": [6.0], "T": [5.0]}), "recency", "recency <= T"),
    (pd.DataFrame({"frequency": [1.0], "T": [5.0]}), "recency", "column missing"),
    (pd.DataFrame({"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [5.0, 9.0]}), "frequency",
     "every customer bought only once"),
    (pd.DataFrame({"frequency": [1.5], "recency": [2.0], "T": [5.0]}), "frequency", "whole repeat counts"),
])
def test_bad_summaries_give_clear_errors(frame, column, fragment):
    with pytest.raises(InputError) as info:
        PurchaseModel("bgnbd").fit(frame)
    assert info.value.column == column and fragment in str(info.value)


def test_unfittable_model_raises_model_fit_error(monkeypatch):
    from dbmlib.models import clv

    def broken(*a, **k):
        raise FloatingPointError("the BG/NBD likelihood could not be evaluated")

    monkeypatch.setitem(clv._FITS, "bgnbd", (broken, ["r", "alpha", "a", "b"]))
    s = pd.DataFrame({"frequency": [1.0, 2.0], "recency": [3.0, 4.0], "T": [5.0, 6.0]})
    with pytest.raises(ModelFitError, match=r"penalizer 0.0: .*penalizer 0.1: FloatingPointError"):
        PurchaseModel("bgnbd").fit(s)


def test_extreme_frequencies_fit_without_nan():
    rng = np.random.default_rng(0)
    n = 3000
    f = rng.poisson(0.5, n).astype(float)
    f[:20] = 400.0  # a few customers with enormous frequencies and long histories
    T = rng.uniform(300, 3000, n)
    r = np.where(f > 0, T * rng.uniform(0.5, 1, n), 0.0)
    s = pd.DataFrame({"frequency": f, "recency": r, "T": T})
    m = PurchaseModel("bgnbd").fit(s)
    assert np.isfinite(m.params_).all() and np.isfinite(m.log_likelihood_)
    assert np.isfinite(m.expected_purchases(30, s)).all() and np.isfinite(m.p_alive(s)).all()


def test_unfitted_model_is_a_clear_error(weekly):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        PurchaseModel().p_alive(weekly)


def test_gamma_gamma_equals_lifetimes_fit_and_likelihood(weekly):
    """The own Gamma-Gamma fitter (analytic gradient) lands on lifetimes' estimates, and its
    log-likelihood is lifetimes' objective at the same parameters."""
    from lifetimes import GammaGammaFitter

    rep = weekly[(weekly["frequency"] > 0) & (weekly["monetary_value"] > 0)]
    x, m = rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(float)
    ref = GammaGammaFitter().fit(x, m)
    ours = SpendModel().fit(weekly)
    np.testing.assert_allclose(ours.params_.to_numpy(), ref.params_.to_numpy(), rtol=1e-6)
    nll = GammaGammaFitter._negative_log_likelihood(np.log(ours.params_.to_numpy()), x, m, np.ones_like(x), 0.0)
    assert ours.log_likelihood_ == pytest.approx(-nll * len(x), rel=1e-12)
    penalised = SpendModel(penalizer=0.01).fit(weekly)
    ref_pen = GammaGammaFitter(penalizer_coef=0.01).fit(x, m)
    np.testing.assert_allclose(penalised.params_.to_numpy(), ref_pen.params_.to_numpy(), rtol=1e-4)


def test_sample_weights_equal_repeated_rows(weekly):
    """Integer weights (bootstrap counts) give the fit on the rows repeated that often."""
    counts = np.random.default_rng(3).integers(0, 4, len(weekly)).astype(float)
    repeated = weekly.loc[weekly.index.repeat(counts.astype(int))]
    for make in (lambda: PurchaseModel("bgnbd"), SpendModel):
        weighted = make().fit(weekly, sample_weight=counts)
        expanded = make().fit(repeated)
        np.testing.assert_allclose(weighted.params_.to_numpy(), expanded.params_.to_numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="sample_weight"):
        SpendModel().fit(weekly, sample_weight=-counts)
