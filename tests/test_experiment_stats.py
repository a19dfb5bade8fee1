"""experiment_stats: the SRM test, CUPED, Cochran's Q and p-value adjustment against hand
computations and independent scipy/statsmodels calls."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from dbmlib.campaign.experiment_stats import (
    SRM_THRESHOLD,
    adjust_p_values,
    cochran_q,
    cuped_adjust,
    srm_test,
)


def test_srm_flags_5000_against_5400_of_a_50_50_plan():
    res = srm_test([5000, 5400], [0.5, 0.5])
    q = 2 * 200 ** 2 / 5200  # Σ (observed − expected)² / expected, expected 5,200 each
    assert res.statistic == pytest.approx(q, rel=1e-12) and res.df == 1
    assert res.p_value == pytest.approx(stats.chi2.sf(q, 1), rel=1e-12)
    assert res.p_value < SRM_THRESHOLD == 0.001 and res.warning


def test_srm_accepts_5000_against_5050_of_a_50_50_plan():
    res = srm_test([5000, 5050], [0.5, 0.5])
    q = 2 * 25 ** 2 / 5025
    assert res.statistic == pytest.approx(q, rel=1e-12)
    assert res.p_value == pytest.approx(stats.chi2.sf(q, 1), rel=1e-12)
    assert res.p_value > 0.5 and not res.warning


def test_srm_three_groups_and_shares_rescaled():
    observed, shares = [1000, 2100, 1900], [0.2, 0.4, 0.4]
    expected = np.array(shares) * 5000
    q = float(((np.array(observed) - expected) ** 2 / expected).sum())  # 0 + 5 + 5
    res = srm_test(observed, [1, 2, 2])  # the same plan, not summing to 1
    assert res.statistic == pytest.approx(q, rel=1e-12) == 10.0 and res.df == 2
    assert res.p_value == pytest.approx(np.exp(-q / 2), rel=1e-12)  # chi-square, 2 df
    assert 0.001 < res.p_value < 0.05 and not res.warning  # suspicious, not below the SRM threshold


@pytest.mark.parametrize("observed, shares", [([10, 10], [0.5]), ([10], [1.0]), ([5, 5], [0.0, 1.0])])
def test_srm_rejects_an_impossible_plan(observed, shares):
    with pytest.raises(ValueError):
        srm_test(observed, shares)


def test_cuped_by_hand():
    y = np.array([1.0, 0.0, 3.0, 2.0, 5.0, 0.0, 4.0])
    x = np.array([2.0, 1.0, 4.0, 2.0, 6.0, 0.0, 3.0])
    theta = np.cov(y, x)[0, 1] / np.var(x, ddof=1)
    res = cuped_adjust(y, x)
    assert res.theta == pytest.approx(theta, rel=1e-12)
    np.testing.assert_allclose(res.adjusted, y - theta * (x - x.mean()), rtol=0, atol=1e-12)
    assert res.adjusted.mean() == pytest.approx(y.mean(), abs=1e-12)  # the mean is unchanged
    # with θ from the same rows, the variance falls by the squared correlation
    assert res.variance_reduction == pytest.approx(np.corrcoef(y, x)[0, 1] ** 2, abs=1e-12)
    assert res.variance_reduction == pytest.approx(1 - res.adjusted.var() / y.var(), abs=1e-12)


def test_cuped_without_information():
    y = np.array([1.0, 0.0, 2.0])
    res = cuped_adjust(y, np.full(3, 7.0))  # constant covariate: nothing to adjust
    assert res.theta == 0.0 and res.variance_reduction == 0.0
    np.testing.assert_array_equal(res.adjusted, y)
    assert np.isnan(cuped_adjust(np.ones(3), np.array([1.0, 2.0, 4.0])).variance_reduction)
    with pytest.raises(ValueError):
        cuped_adjust(y, np.ones(4))


def test_cochran_q_matches_statsmodels_meta_analysis():
    d = np.array([0.05, 0.01, -0.02, 0.03, 0.0])
    v = np.array([0.0004, 0.0002, 0.0005, 0.0003, 0.0])  # the last stratum: no variance
    res = cochran_q(d, v)
    ref = combine_effects(d[:4], v[:4])
    w = 1 / v[:4]
    pooled = (w * d[:4]).sum() / w.sum()
    assert res["pooled"] == pytest.approx(pooled, abs=1e-12) == pytest.approx(ref.mean_effect_fe, abs=1e-12)
    q = (w * (d[:4] - pooled) ** 2).sum()
    assert res["statistic"] == pytest.approx(q, rel=1e-12) == pytest.approx(ref.q, rel=1e-12)
    assert res["df"] == 3 and res["strata"] == 4 and res["skipped_zero_variance"] == 1
    assert res["p_value"] == pytest.approx(ref.test_homogeneity().pvalue, rel=1e-12)
    assert res["p_value"] == pytest.approx(stats.chi2.sf(q, 3), rel=1e-12)


def test_cochran_q_needs_two_strata():
    one = cochran_q([0.1, 0.2], [0.01, 0.0])
    assert np.isnan(one["statistic"]) and np.isnan(one["p_value"]) and one["df"] == 0
    assert one["pooled"] == pytest.approx(0.1) and one["skipped_zero_variance"] == 1
    none = cochran_q([0.1], [np.nan])
    assert none["strata"] == 0 and np.isnan(none["pooled"])


def test_adjust_p_values_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # Holm on the four p-values, sorted 0.005, 0.01, 0.03, 0.04: × 4, 3, 2, 1, running maximum
    np.testing.assert_allclose(adjust_p_values(p, "holm"), [0.03, 0.06, 0.06, 0.02, np.nan], rtol=1e-12)
    # Benjamini–Hochberg: × 4/rank, running minimum from the largest
    np.testing.assert_allclose(adjust_p_values(p, "bh"), [0.02, 0.04, 0.04, 0.02, np.nan], rtol=1e-12)
    np.testing.assert_array_equal(adjust_p_values(p, None), p)
    assert adjust_p_values([0.5, 0.6], "holm").tolist() == [1.0, 1.0]  # capped at 1
    with pytest.raises(ValueError, match="holm"):
        adjust_p_values(p, "bonferroni")
