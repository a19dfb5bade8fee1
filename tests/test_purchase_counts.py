"""P(n purchases in t) for a new customer: equal to lifetimes where it has the formula
(BG/NBD, MBG/NBD), a distribution (sums to 1) whose mean is the model's expected purchases,
and the Pareto/NBD's equal to a simulation of the model."""

import numpy as np
import pandas as pd
import pytest

from dbmlib.models import PurchaseModel
from dbmlib.models.purchase_counts import bgbb_count_pmf, pnbd_count_pmf
from tests.test_clv import _cal


@pytest.fixture(scope="module")
def weekly():
    return _cal(7)


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd"])
def test_equal_to_lifetimes(weekly, kind):
    model = PurchaseModel(kind).fit(weekly)
    peer = model.to_lifetimes()
    n = np.arange(0, 12)
    ours = model.purchase_count_probability(39, n)
    theirs = np.array([peer.probability_of_n_purchases_up_to_time(39, int(k)) for k in n])
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)
    assert model.purchase_count_probability(39, 3) == pytest.approx(ours[3], rel=1e-15)


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd", "pnbd"])
def test_a_distribution_whose_mean_is_the_expected_purchases(weekly, kind):
    model = PurchaseModel(kind).fit(weekly)
    for t in (1.0, 39.0, 78.0):
        pmf = model.purchase_count_probability(t, np.arange(0, 400))
        assert pmf.min() >= 0 and pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert (np.arange(400) * pmf).sum() == pytest.approx(float(model.expected_purchases_population(t)), rel=1e-7)


def test_pareto_nbd_counts_match_a_simulation_of_the_model():
    """200,000 simulated new customers of the CDNOW Pareto/NBD (r .55, α 10.58, s .61, β 11.67):
    the share with each count over 39 weeks is within 4 binomial standard errors of the pmf."""
    params = (0.55, 10.58, 0.61, 11.67)
    rng = np.random.default_rng(0)
    n = 200_000
    lam, mu = rng.gamma(params[0], 1 / params[1], n), rng.gamma(params[2], 1 / params[3], n)
    counts = rng.poisson(lam * np.minimum(rng.exponential(1 / mu), 39.0))
    observed = np.bincount(counts, minlength=10)[:10] / n
    pmf = pnbd_count_pmf(params, 39.0, np.arange(10))
    assert np.all(np.abs(observed - pmf) < 4 * np.sqrt(pmf * (1 - pmf) / n)), (observed, pmf)


def test_bgbb_counts_sum_to_one_with_the_model_mean():
    """Donations (Fader, Hardie & Shang 2010): α 1.204, β 0.750, γ 0.657, δ 2.783; 6 opportunities."""
    params = (1.204, 0.750, 0.657, 2.783)
    pmf = bgbb_count_pmf(params, 6, np.arange(0, 7))
    model = PurchaseModel("bgbb")
    model.params_ = pd.Series(params, index=["alpha", "beta", "gamma", "delta"])
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert (np.arange(7) * pmf).sum() == pytest.approx(float(model.expected_purchases_population(6)), rel=1e-12)
    assert bgbb_count_pmf(params, 6, 7) == 0.0
    with pytest.raises(ValueError, match="whole numbers"):
        model.purchase_count_probability(6, -1)
    with pytest.raises(ValueError, match="whole opportunities"):
        bgbb_count_pmf(params, 2.5, 1)


def test_purchase_count_table_adds_up_to_one(weekly):
    from dbmlib.models import purchase_count_table

    model = PurchaseModel("bgnbd").fit(weekly)
    table = purchase_count_table(model, 52, max_count=5)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5 or more"]
    assert table["cumulative"].iloc[-1] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(table["probability"].iloc[:5], model.purchase_count_probability(52, np.arange(5)))
    # no repeat purchase in a year: P(0) = (α/(α+52))^r, 0.539 on CDNOW (a dropout needs a purchase first)
    r, alpha = model.params_["r"], model.params_["alpha"]
    assert table.loc["0", "probability"] == pytest.approx((alpha / (alpha + 52)) ** r, rel=1e-12)
    assert round(table.loc["0", "probability"], 3) == 0.539
