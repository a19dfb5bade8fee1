"""The simulation check: a model fitted to data from itself passes; a model that cannot
describe the data fails; the chart shows both histograms."""

import numpy as np
import pandas as pd
import pytest

from dbmlib.models import PurchaseModel
from dbmlib.models.model_check import frequency_check, simulate_frequencies
from dbmlib.plotting import frequency_check_chart
from tests.test_clv import _cal


@pytest.fixture(scope="module")
def weekly():
    return _cal(7)


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd", "pnbd"])
def test_a_model_describes_data_simulated_from_itself(weekly, kind):
    fitted = PurchaseModel(kind).fit(weekly)
    rng = np.random.default_rng(1)
    T = np.tile(weekly["T"].to_numpy(), 3)
    freq = simulate_frequencies(fitted, T, rng)
    # the simulated log's mean equals the model's own expectation for a new customer (eq. 9 / 27)
    expected = np.mean(fitted.expected_purchases_population(T))
    assert abs(freq.mean() - expected) < 4 * freq.std() / np.sqrt(len(freq)), (freq.mean(), expected)
    check = frequency_check(fitted, weekly, seed=0)
    assert check["observed"].sum() == len(weekly) and check["simulated"].sum() == pytest.approx(len(weekly))
    assert list(check.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"] and check.attrs["df"] == 7


def test_the_check_tells_a_misfit_and_the_chart_shows_it(weekly):
    fitted = PurchaseModel("bgnbd").fit(weekly)
    good = frequency_check(fitted, weekly, seed=0)
    # CDNOW under BG/NBD is the published good fit: the zero and one buckets within 5 %
    assert abs(good.loc["0", "simulated"] / good.loc["0", "observed"] - 1) < 0.05
    regular = weekly.assign(frequency=3.0, recency=weekly["T"] * 0.9)  # everyone bought exactly 3 times
    misfit = frequency_check(PurchaseModel("bgnbd").fit(regular), regular, seed=0)
    # measured: BG/NBD on CDNOW χ² 4.6 on 7 df (p 0.71); on the all-three-repeats data χ² 8,417 (p 0)
    assert good.attrs["p_value"] > 0.1 and misfit.attrs["p_value"] < 1e-10
    fig = frequency_check_chart(good)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights[:8] == good["observed"].tolist() and np.allclose(heights[8:], good["simulated"])
    assert "χ²" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="simulates bgnbd"):
        simulate_frequencies(PurchaseModel("bgbb").fit(pd.DataFrame({"frequency": [0, 1, 2], "recency": [0, 2, 3],
                                                                     "T": [4, 4, 4]}), sample_weight=[5, 3, 2]),
                             [4, 4], np.random.default_rng(0))


def test_simulated_counts_equal_the_purchase_time_simulator():
    """The count shortcut min(Poisson(λT), repeats) is the number of repeat purchases the full
    purchase-time simulator keeps: the same draws give the same counts."""
    from dbmlib.models.btyd_simulate import BGNBDTraits, simulate_repeat_purchases

    rng = np.random.default_rng(5)
    n = 50_000
    lam, drop = rng.gamma(0.8, 1 / 5.0, n), rng.beta(0.8, 3.0, n)
    repeats = rng.geometric(drop)
    T = rng.uniform(5, 80, n)
    state = rng.bit_generator.state
    cust, _, _, _ = simulate_repeat_purchases(BGNBDTraits(lam=lam, p=drop, nu=np.ones(n), lifetime_repeats=repeats),
                                              T, rng)
    rng.bit_generator.state = state
    assert np.array_equal(np.bincount(cust, minlength=n), np.minimum(rng.poisson(lam * T), repeats))
