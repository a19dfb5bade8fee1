"""The fast fitters equal lifetimes: same likelihood at the same parameters, same estimates."""

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from scipy.optimize import approx_fprime

from dbmlib.demo.datasets import load_cdnow
from dbmlib.demo.simulate import transaction_log
from dbmlib.models.btyd_fit import (
    _bgnbd_value,
    _BGNBDData,
    bgnbd_log_likelihood,
    compress,
    fit_bgnbd,
    fit_pnbd,
)
from dbmlib.models.clv import PurchaseModel
from dbmlib.segment.rfm import rfm_summary


@pytest.fixture(scope="module")
def daily():
    log = transaction_log(6_000, seed=11)
    return rfm_summary(log, "customer_id", "order_ts", None, "2024-12-31")


@pytest.fixture(scope="module")
def cdnow_weeks():
    return rfm_summary(load_cdnow(sample=True), "customer_id", "order_date", None, "1997-09-30",
                       freq_multiplier=7)


def _arrays(s):
    return [s[c].to_numpy(float) for c in ("frequency", "recency", "T")]


def test_compress_round_trip(daily):
    f, r, T = _arrays(daily)
    cf, cr, cT, w, inv = compress(f, r, T)
    assert w.sum() == len(f) and len(cf) < len(f)
    np.testing.assert_array_equal(np.column_stack([cf, cr, cT])[inv], np.column_stack([f, r, T]))
    assert len(np.unique(np.column_stack([cf, cr, cT]), axis=0)) == len(cf)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (0.75, 110.0, 0.8, 3.2), (2.0, 5.0, 0.1, 9.0)])
def test_bgnbd_log_likelihood_equals_lifetimes(daily, params):
    f, r, T = _arrays(daily)
    nll = BetaGeoFitter()._negative_log_likelihood(np.log(params), f, r, T, np.ones_like(f), 0.0)
    assert bgnbd_log_likelihood(params, f, r, T) == pytest.approx(-nll * len(f), rel=1e-12)
    cf, cr, cT, w, _ = compress(f, r, T)
    assert bgnbd_log_likelihood(params, cf, cr, cT, w) == pytest.approx(-nll * len(f), rel=1e-12)


def test_bgnbd_analytic_gradient_equals_numerical(cdnow_weeks):
    f, r, T = _arrays(cdnow_weeks)
    d = _BGNBDData(f, r, T, np.ones_like(f))
    p = np.array([0.3, 5.0, 0.7, 2.0])
    _, grad = _bgnbd_value(p, d, gradient=True)
    num = approx_fprime(p, lambda q: _bgnbd_value(q, d, gradient=False)[0], 1e-7)
    np.testing.assert_allclose(grad, num, rtol=1e-4)


@pytest.mark.parametrize("data, penalizer", [("daily", 0.0), ("cdnow_weeks", 0.0)])
def test_fit_bgnbd_equals_lifetimes(request, data, penalizer):
    f, r, T = _arrays(request.getfixturevalue(data))
    ref = BetaGeoFitter(penalizer_coef=penalizer).fit(f, r, T).params_.to_numpy()
    cf, cr, cT, w, _ = compress(f, r, T)
    ours, ll = fit_bgnbd(cf, cr, cT, w, penalizer=penalizer)
    np.testing.assert_allclose(ours, ref, rtol=1e-4)
    assert ll == pytest.approx(bgnbd_log_likelihood(ours, f, r, T), rel=1e-12)


@pytest.mark.parametrize("data", ["daily", "cdnow_weeks"])
def test_fit_bgnbd_finds_the_penalised_optimum_lifetimes_misses(request, data):
    """With a penalizer lifetimes' BFGS stops away from the optimum (on the daily data:
    objective 130.2 vs 14.79); ours reaches the point an independent Nelder-Mead polish
    confirms, with a lower objective."""
    from scipy.optimize import minimize

    f, r, T = _arrays(request.getfixturevalue(data))
    bg = BetaGeoFitter(penalizer_coef=0.01).fit(f, r, T)
    ours, _ = fit_bgnbd(f, r, T, penalizer=0.01)

    def objective(logp):
        return bg._negative_log_likelihood(logp, f, r, T, np.ones_like(f), 0.01)

    assert objective(np.log(ours)) < objective(np.log(bg.params_.to_numpy())) - 1e-3
    polish = minimize(objective, np.log(ours), method="Nelder-Mead",
                      options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000})
    np.testing.assert_allclose(ours, np.exp(polish.x), rtol=1e-5)


def test_fit_pnbd_at_least_as_good_as_lifetimes(cdnow_weeks):
    f, r, T = _arrays(cdnow_weeks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ParetoNBDFitter().fit(f, r, T)
    scale = ref._scale
    ll_ref = float(np.sum(ParetoNBDFitter._conditional_log_likelihood(
        ref.params_.to_numpy() * [1, scale, 1, scale], f, r * scale, T * scale)) + f.sum() * np.log(scale))
    cf, cr, cT, w, _ = compress(f, r, T)
    params, ll, _ = fit_pnbd(cf, cr, cT, w)
    assert ll >= ll_ref - 1e-6
    assert ll == pytest.approx(-9595.0, abs=0.05)  # Fader, Hardie & Lee (2005)
    np.testing.assert_allclose(params, ref.params_.to_numpy(), rtol=2e-3)


def test_mbgnbd_compressed_equals_lifetimes(daily):
    f, r, T = _arrays(daily)
    ref = ModifiedBetaGeoFitter().fit(f, r, T).params_.to_numpy()
    ours = PurchaseModel("mbgnbd").fit(daily)
    np.testing.assert_allclose(ours.params_.to_numpy(), ref, rtol=1e-4)
    assert ours.n_distinct_ < len(daily)


def test_purchase_model_predictions_match_lifetimes(daily):
    m = PurchaseModel("bgnbd").fit(daily)
    ref = BetaGeoFitter().fit(*_arrays(daily))
    f, r, T = _arrays(daily)
    np.testing.assert_allclose(m.p_alive(daily), ref.conditional_probability_alive(f, r, T), rtol=1e-4)
    np.testing.assert_allclose(m.expected_purchases(30, daily),
                               ref.conditional_expected_number_of_purchases_up_to_time(30, f, r, T),
                               rtol=1e-4)
    assert isinstance(m.params_, pd.Series) and list(m.params_.index) == ["r", "alpha", "a", "b"]


def test_fast_bgnbd_predictions_equal_lifetimes(daily):
    from dbmlib.models.btyd_predict import (
        bgnbd_discounted_purchases,
        bgnbd_expected_purchases,
        bgnbd_p_alive,
    )

    f, r, T = _arrays(daily)
    params = [0.75, 110.0, 0.8, 3.2]
    bg = BetaGeoFitter()
    bg.params_ = pd.Series(params, index=["r", "alpha", "a", "b"])
    for t in (1.0, 30.0, 365.0):
        np.testing.assert_allclose(bgnbd_expected_purchases(params, t, f, r, T),
                                   bg.conditional_expected_number_of_purchases_up_to_time(t, f, r, T),
                                   rtol=1e-10)
    np.testing.assert_allclose(bgnbd_p_alive(params, f, r, T), bg.conditional_probability_alive(f, r, T),
                               rtol=1e-12)
    horizons, disc = np.array([30.0, 60.0, 90.0]), np.array([0.99, 0.98, 0.97])
    many = bgnbd_expected_purchases(params, horizons, f, r, T)
    by_hand = (many[:, 0] * 0.99 + (many[:, 1] - many[:, 0]) * 0.98 + (many[:, 2] - many[:, 1]) * 0.97)
    np.testing.assert_allclose(bgnbd_discounted_purchases(params, horizons, disc, f, r, T), by_hand, rtol=1e-12)


def test_clv_of_other_kinds_uses_distinct_rows_correctly(cdnow_weeks):
    from dbmlib.models.clv import SpendModel, customer_lifetime_value

    s = rfm_summary(load_cdnow(sample=True), "customer_id", "order_date", "amount", "1997-09-30",
                    freq_multiplier=7)
    m, g = PurchaseModel("mbgnbd").fit(s), SpendModel().fit(s)
    clv = customer_lifetime_value(m, g, s, 6, 0.1, days_per_time_unit=7)
    month = 30.4375 / 7
    d = 1.1 ** (1 / 12) - 1
    cum = [m.expected_purchases(k * month, s) for k in range(7)]
    by_hand = sum((cum[k] - cum[k - 1]) / (1 + d) ** k for k in range(1, 7)) * g.expected_spend(s)
    np.testing.assert_allclose(clv, by_hand, rtol=1e-10)


def test_newton_refit_with_one_hessian_converges_or_declines():
    from dbmlib.models.btyd_fit import newton_refit

    a, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -2.0])
    quad = lambda x: (0.5 * x @ a @ x - b @ x, a @ x - b)  # noqa: E731
    cache = {}
    x = newton_refit(quad, np.zeros(2), cache, "q")
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-9)
    assert cache["q"].shape == (2, 2)
    # a second problem near the first reuses the Hessian (no new entry) and still converges
    quartic = lambda x: (quad(x)[0] + 0.01 * np.sum(x ** 4), quad(x)[1] + 0.04 * x ** 3)  # noqa: E731
    y = newton_refit(quartic, x, cache, "q")
    assert np.abs(quartic(y)[1]).max() < 1e-9 and list(cache) == ["q"]
    saddle = lambda x: (x[0] ** 2 - x[1] ** 2, np.array([2 * x[0], -2 * x[1]]))  # noqa: E731
    assert newton_refit(saddle, np.ones(2), {}, "s") is None  # not positive definite: the caller runs L-BFGS-B


def test_rows_already_distinct_and_sorted_are_their_own_distinct_rows(monkeypatch):
    """A bootstrap fits the same distinct rows again with new weights: they come back as they
    are (index = position), exactly what the factorizing path gives; ties, -0.0 and NaN take
    that path."""
    import importlib

    fit = importlib.import_module("dbmlib.models.btyd_fit")
    rng = np.random.default_rng(0)
    f, r, T = rng.integers(0, 5, 3000).astype(float), np.round(rng.random(3000) * 3, 1), rng.integers(0, 4, 3000) * 1.0
    rows, inverse = fit.distinct_rows(f, r, T)
    assert len(rows[0]) < 1000 and not fit._sorted_distinct([f, r, T])
    fast, fast_inverse = fit.distinct_rows(*rows)
    monkeypatch.setattr(fit, "_sorted_distinct", lambda cols: False)
    slow, slow_inverse = fit.distinct_rows(*rows)
    for a, b, c in zip(fast, slow, rows):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(fast_inverse, slow_inverse)
    monkeypatch.undo()
    assert fit._sorted_distinct([np.array([0.0, -0.0]), np.array([1.0, 2.0])])  # 0 and -0 tie, then 1 < 2
    assert not fit._sorted_distinct([np.array([0.0, -0.0]), np.array([1.0, 1.0])])  # the same row twice
    assert not fit._sorted_distinct([np.array([1.0, np.nan])]) and not fit._sorted_distinct([np.array([2.0, 1.0])])
