"""sBG retention: Fader & Hardie's (2007) published estimates reproduced; survival,
retention and residual lifetime against direct computations; named errors."""

import numpy as np
import pytest
from sklearn.base import clone

from dbmlib.core.errors import InputError
from dbmlib.models.retention import PUBLISHED_SBG, RetentionModel


@pytest.mark.parametrize("cohort", ["regular", "high end"])
def test_published_estimates_are_reproduced_to_the_printed_precision(cohort):
    pub = PUBLISHED_SBG[cohort]
    model = RetentionModel().fit(pub["survivors"][:8])  # the paper fits years 0-7
    assert (round(model.alpha_, 3), round(model.beta_, 3)) == (pub["alpha"], pub["beta"])
    assert model.n_periods_ == 7 and list(model.params_.index) == ["alpha", "beta"]
    # the projection of years 8-12 stays within 5 % of what the cohort really did (the paper's point:
    # regular 1.3-1.7 %, high end 1.6-4.1 % under)
    projected = model.projected_survivors(1000, 12).to_numpy()
    observed = np.asarray(pub["survivors"], float)
    assert np.max(np.abs(projected[8:] / observed[8:] - 1)) < 0.05
    # survival is the product of the retention rates; retention rises with tenure
    r = model.retention_rate(np.arange(1, 13))
    assert np.allclose(np.cumprod(r), model.survival(np.arange(1, 13))) and np.all(np.diff(r) > 0)


def test_residual_lifetime_equals_the_direct_sums():
    model = RetentionModel().fit(PUBLISHED_SBG["regular"]["survivors"][:8])
    for renewals, d in ((0, 0.1), (4, 0.1), (9, 0.25)):
        n = renewals + 1
        t = np.arange(n, n + 5000)
        direct = (model.survival(t) / model.survival(n - 1) / (1 + d) ** (t - n)).sum()
        assert model.discounted_expected_residual_lifetime(renewals, d) == pytest.approx(direct, rel=1e-10)
    assert np.isinf(model.expected_residual_lifetime(3))  # α = 0.704 ≤ 1: a heavy tail of stayers
    steady = clone(model)
    steady.alpha_, steady.beta_, steady.params_ = 2.5, 3.0, None
    t = np.arange(4, 2_000_000)
    assert steady.expected_residual_lifetime(3) == pytest.approx((steady.survival(t) / steady.survival(3)).sum(), rel=1e-5)
    with pytest.raises(ValueError, match="discount_rate"):
        model.discounted_expected_residual_lifetime(1, 0.0)


def test_bad_survivor_counts_get_named_errors():
    with pytest.raises(InputError, match="row 3: not a non-increasing.*never grow.*700"):
        RetentionModel().fit([1000, 600, 700, 500])
    with pytest.raises(InputError, match="nobody left"):
        RetentionModel().fit([500, 500, 500])
    with pytest.raises(InputError, match="at least two periods"):
        RetentionModel().fit([1000])
