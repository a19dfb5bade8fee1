"""BG/BB (discrete time): Fader, Hardie & Shang's (2010) published donations estimates
reproduced by our own fit; predictions equal lifetimes' and direct sums."""

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoBetaBinomFitter
from lifetimes.datasets import load_donations
from scipy.special import betaln

from dbmlib.core.errors import InputError
from dbmlib.models import PurchaseModel, customer_lifetime_value
from dbmlib.models.bgbb import PUBLISHED_DONATIONS, bgbb_log_likelihood


@pytest.fixture(scope="module")
def donations():
    d = load_donations()
    summary = pd.DataFrame({"frequency": d["frequency"], "recency": d["recency"], "T": d["periods"]})
    return summary, d["weights"].to_numpy(float)


def test_published_donations_estimates_are_reproduced(donations):
    summary, weights = donations
    model = PurchaseModel("bgbb").fit(summary, sample_weight=weights)
    assert model.params_.round(3).to_dict() == PUBLISHED_DONATIONS
    assert round(model.log_likelihood_, 1) == -33225.6 and model.n_customers_ == 22
    # lifetimes' own fit lands on the same optimum: equal estimates to 1e-4, and our likelihood at its
    # estimate is not above ours (ours is the maximum)
    peer = BetaGeoBetaBinomFitter().fit(summary["frequency"], summary["recency"], summary["T"], weights=weights)
    assert np.allclose(peer.params_.to_numpy(), model.params_.to_numpy(), rtol=1e-4)
    at_peer = bgbb_log_likelihood(peer.params_.to_numpy(), summary["frequency"], summary["recency"], summary["T"], weights)
    assert model.log_likelihood_ >= at_peer - 1e-6


def test_predictions_equal_lifetimes_and_direct_sums(donations):
    summary, weights = donations
    model = PurchaseModel("bgbb").fit(summary, sample_weight=weights)
    peer = BetaGeoBetaBinomFitter()
    peer.params_ = model.params_.copy()
    f, r, n = summary["frequency"], summary["recency"], summary["T"]
    assert np.allclose(model.p_alive(summary), peer.conditional_probability_alive(1, f, r, n), atol=1e-10)
    for n_star in (1, 5, 10):
        assert np.allclose(model.expected_purchases(n_star, summary),
                           peer.conditional_expected_number_of_purchases_up_to_time(n_star, f, r, n), atol=1e-10)
    a, b, g, d = model.params_.to_numpy()
    direct = [a / (a + b) * sum(np.exp(betaln(g, d + t) - betaln(g, d)) for t in range(1, k + 1)) for k in range(1, 7)]
    assert np.allclose(model.expected_purchases_population(np.arange(1, 7)), direct, atol=1e-12)
    # a donor who gave in all six years is surely alive; one who gave only in year 1 probably not
    alive = model.p_alive(summary)
    assert alive[(f == 6).to_numpy()].iloc[0] > 0.9 > 0.3 > alive[((f == 1) & (r == 1)).to_numpy()].iloc[0]


def test_bgbb_refuses_fractional_periods_and_monthly_clv(donations):
    summary, weights = donations
    with pytest.raises(InputError, match="T.*not whole numbers.*whole periods"):
        PurchaseModel("bgbb").fit(summary.assign(T=summary["T"] + 0.5), sample_weight=weights)
    model = PurchaseModel("bgbb").fit(summary, sample_weight=weights)
    with pytest.raises(ValueError, match="opportunities, not months"):
        customer_lifetime_value(model, None, summary)
