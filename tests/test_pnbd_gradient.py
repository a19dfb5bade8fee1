"""The Pareto/NBD likelihood by quadrature equals the hypergeometric closed form, its analytic
gradient equals finite differences, and it stays finite and continuous where the closed form
overflows (a dropout that is the same for everyone: s and β huge, s/β fixed)."""

import numpy as np
import pytest
from scipy.special import gammaln, hyp2f1, logsumexp

from dbmlib.models.btyd_predict import pnbd_log_a0
from dbmlib.models.pnbd_gradient import pnbd_rows_with_gradient


def _closed_form(params, x, tx, T):
    """Fader & Hardie (2005 note, eq. 18-20) with SciPy's hyp2f1, as lifetimes writes it."""
    r, alpha, s, beta = params
    low, high, second = (alpha, beta, r + x) if alpha < beta else (beta, alpha, np.full_like(x, s + 1.0))
    rsx = r + s + x
    first = np.log(hyp2f1(rsx, second, rsx + 1.0, (high - low) / (high + tx))) - rsx * np.log(high + tx)
    last = np.log(hyp2f1(rsx, second, rsx + 1.0, (high - low) / (high + T))) - rsx * np.log(high + T)
    with np.errstate(divide="ignore"):
        log_a0 = logsumexp(np.stack([first, last]), axis=0, b=np.array([1.0, -1.0])[:, None])
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(rsx) + log_a0
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(alive, died), log_a0


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(1)
    n = 4000
    x = rng.integers(0, 80, n).astype(float) * (rng.random(n) < 0.6)
    T = rng.uniform(0.1, 10, n)
    tx = np.where(x > 0, T * rng.random(n), 0.0)
    tx[:10], x[:10] = T[:10], 3.0  # bought at the very end: no time to have died since
    return x, tx, T


PARAMS = [(0.55, 1.36, 0.61, 1.5), (2.0, 5.0, 0.2, 0.1), (0.3, 0.2, 1.5, 4.0), (1.41, 0.33, 48.9, 55.1)]


@pytest.mark.parametrize("params", PARAMS)
def test_quadrature_equals_the_closed_form(rows, params):
    x, tx, T = rows
    ll = pnbd_rows_with_gradient(*params, x, tx, T)[0]
    ref, ref_a0 = _closed_form(params, x, tx, T)
    assert np.isfinite(ref).all()
    np.testing.assert_allclose(ll, ref, rtol=0, atol=1e-11)
    a0 = pnbd_log_a0(params, x, tx, T)
    assert np.array_equal(np.isinf(a0), tx == T)  # no integral when the last purchase is at T
    np.testing.assert_allclose(a0[tx < T], ref_a0[tx < T], rtol=0, atol=1e-11)


@pytest.mark.parametrize("params", PARAMS)
def test_analytic_gradient_equals_central_differences(rows, params):
    x, tx, T = rows
    _, *grad = pnbd_rows_with_gradient(*params, x, tx, T)
    for j in range(4):
        up, down = list(params), list(params)
        h = 1e-6 * params[j]
        up[j] += h
        down[j] -= h
        numeric = (pnbd_rows_with_gradient(*up, x, tx, T)[0] - pnbd_rows_with_gradient(*down, x, tx, T)[0]) / (2 * h)
        np.testing.assert_allclose(grad[j], numeric, rtol=2e-5, atol=2e-5 * np.abs(numeric).max())


def test_finite_and_continuous_where_the_closed_form_overflows(rows):
    """s → ∞ with s/β fixed is an exponential lifetime of rate s/β for everyone: the likelihood
    converges (the closed form's hypergeometric terms overflow long before)."""
    x, tx, T = rows
    values = [pnbd_rows_with_gradient(0.55, 1.36, s, s / 0.4, x, tx, T)[0].sum() for s in (1e6, 1e8, 1e10)]
    assert np.isfinite(values).all()
    assert abs(values[1] - values[2]) < 1e-4 * abs(values[2]) and abs(values[0] - values[1]) < 1e-2
    with np.errstate(all="ignore"):
        assert not np.isfinite(_closed_form((0.55, 1.36, 1e10, 1e10 / 0.4), x, tx, T)[0]).all()
    # P(alive) there too: finite, between 0 and 1, and 1 for customers who bought at T
    from dbmlib.models.btyd_predict import pnbd_p_alive

    alive = pnbd_p_alive((0.55, 1.36, 1e10, 1e10 / 0.4), x, tx, T)
    assert np.all((alive >= 0) & (alive <= 1)) and np.all(alive[tx == T] == 1.0)


def test_a_fit_whose_shape_runs_to_infinity_stops_at_the_cap_and_is_flagged():
    """BG/NBD customers (dropout after a purchase, not in continuous time): the Pareto/NBD's
    likelihood keeps rising as s and β grow together, and the fit used to run on for minutes.
    It now stops with s at most the cap, and says so."""
    from dbmlib.demo.simulate import transaction_log
    from dbmlib.models import PurchaseModel
    from dbmlib.models.btyd_fit import PNBD_SHAPE_CAP
    from dbmlib.models.diagnostics import parameter_flags
    from dbmlib.segment.rfm import rfm_summary

    log = transaction_log(20_000, seed=100)  # the benchmarks' daily BG/NBD customers, here in weeks
    summary = rfm_summary(log, "customer_id", "order_ts", None, "2024-12-31", freq_multiplier=7)
    params = PurchaseModel("pnbd").fit(summary).params_
    assert 1e3 < params["s"] <= PNBD_SHAPE_CAP * (1 + 1e-9)
    assert "runs to infinity" in parameter_flags(params)["s"]
