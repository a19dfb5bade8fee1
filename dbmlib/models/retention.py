"""Contractual customers: the shifted-beta-geometric (sBG) retention model.

In a subscription business every customer renews or leaves at the end of each period, and
the company sees it. Fader & Hardie (2007, "How to project customer retention", Journal of
Interactive Marketing 21(1)) model each customer's churn probability θ as constant over time
and heterogeneous across customers, ``θ ~ Beta(α, β)``. Then, for a cohort,

* ``P(T = t) = B(α + 1, β + t − 1) / B(α, β)`` — the share lost in period ``t``;
* ``S(t) = B(α, β + t) / B(α, β)`` — the share still active after ``t`` periods, computed by
  the recursion ``S(t) = S(t − 1) · (β + t − 1) / (α + β + t − 1)``;
* ``r(t) = (β + t − 1) / (α + β + t − 1)`` — the retention rate from period ``t − 1`` to ``t``,
  which *rises* over time although no customer changes: the customers who churn easily leave
  first.

:class:`RetentionModel` fits ``α, β`` by maximum likelihood to the number of customers still
active at the start of each period (``survivors``, the first entry the cohort's size), projects
survival and retention, and values a customer who has renewed ``n − 1`` times (Fader & Hardie
2010, "Customer-base valuation in a contractual setting", Marketing Science 29(1), eq. 6):
the **discounted expected residual lifetime**

    DERL(d | α, β, n) = (β + n − 1) / (α + β + n − 1) · ₂F₁(1, β + n; α + β + n; 1 / (1 + d))

in periods (times the margin per period it is the discounted expected residual value); with
``d = 0`` the hypergeometric series diverges for ``α ≤ 1``, so the undiscounted expected residual
lifetime is finite only for ``α > 1``: ``(β + n − 1) / (α − 1)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..core.errors import InputError

__all__ = ["PUBLISHED_SBG", "RetentionModel"]

#: Fader & Hardie (2007): customers active at the start of years 0-12 of two cohorts of 1,000;
#: the paper fits years 0-7 and projects the rest. Published estimates of the first eight.
PUBLISHED_SBG = {
    "regular": {"survivors": [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173],
                "alpha": 0.704, "beta": 1.182},
    "high end": {"survivors": [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394],
                 "alpha": 0.668, "beta": 3.806},
}


def _survivors(values) -> np.ndarray:
    s = np.asarray(values, float)
    if s.ndim != 1 or len(s) < 2:
        raise InputError("survivors", problem=f"{s.size} value(s)",
                         expected="the customers active at the start of each period, the cohort size first "
                                  "(at least two periods)")
    bad = ~np.isfinite(s) | (s < 0) | (np.diff(s, prepend=s[0]) > 0)
    if bad.any():
        raise InputError("survivors", rows=np.flatnonzero(bad) + 1, values=s[bad][:5].tolist(),
                         problem="not a non-increasing series of counts",
                         expected="counts that never grow: a cohort only loses customers")
    if s[0] <= 0 or s[-1] == s[0]:
        raise InputError("survivors", problem="nobody left the cohort" if s[0] > 0 else "an empty cohort",
                         expected="a cohort that lost some customers: without churn α and β are not identified")
    return s


class RetentionModel(BaseEstimator):
    """The sBG model of a contractual cohort (see the module docstring).

    Attributes
    ----------
    alpha_, beta_ : fitted parameters of the Beta distribution of churn probabilities
    params_ : Series ``alpha, beta``
    log_likelihood_ : log-likelihood at the estimate
    n_periods_ : periods observed (survivor counts minus one)
    """

    def fit(self, survivors, y=None) -> RetentionModel:
        """Fit ``α, β`` to the customers active at the start of each period (the cohort size
        first). Returns self."""
        s = _survivors(survivors)
        lost, t = -np.diff(s), np.arange(1, len(s))

        def nll(log_params):
            a, b = np.exp(log_params)
            p_churn = np.exp(betaln(a + 1, b + t - 1) - betaln(a, b))
            survive = np.exp(betaln(a, b + t[-1]) - betaln(a, b))
            return -(lost @ np.log(p_churn) + s[-1] * np.log(survive))

        fit = minimize(nll, np.log([1.0, 1.0]), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 5000})
        self.alpha_, self.beta_ = (float(v) for v in np.exp(fit.x))
        self.params_ = pd.Series({"alpha": self.alpha_, "beta": self.beta_})
        self.log_likelihood_ = float(-fit.fun)
        self.n_periods_ = len(s) - 1
        return self

    def survival(self, periods) -> np.ndarray:
        """``S(t)``: the share of the cohort still active after each of ``periods``."""
        check_is_fitted(self, "params_")
        t = np.asarray(periods, float)
        return np.exp(betaln(self.alpha_, self.beta_ + t) - betaln(self.alpha_, self.beta_))

    def retention_rate(self, periods) -> np.ndarray:
        """``r(t)``: the share of those active at ``t − 1`` still active at ``t``."""
        check_is_fitted(self, "params_")
        t = np.asarray(periods, float)
        return (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)

    def projected_survivors(self, cohort_size: float, periods: int) -> pd.Series:
        """Expected customers active at the start of periods ``0 … periods``."""
        t = np.arange(periods + 1)
        return pd.Series(cohort_size * self.survival(t), index=pd.Index(t, name="period"), name="survivors")

    def discounted_expected_residual_lifetime(self, renewals, discount_rate: float) -> np.ndarray:
        """DERL in periods of a customer who has renewed ``renewals`` (``n − 1``) times, at a
        ``discount_rate`` per period (> 0); times the margin per period it is the customer's
        discounted expected residual value."""
        check_is_fitted(self, "params_")
        if discount_rate <= 0:
            raise ValueError("discount_rate must be above 0 (without discounting use expected_residual_lifetime)")
        n = np.asarray(renewals, float) + 1
        a, b = self.alpha_, self.beta_
        return (b + n - 1) / (a + b + n - 1) * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount_rate))

    def expected_residual_lifetime(self, renewals) -> np.ndarray:
        """Undiscounted expected further periods of a customer who has renewed ``renewals``
        times: ``(β + n − 1) / (α − 1)``, infinite when ``α ≤ 1`` (a heavy tail of customers
        who almost never leave)."""
        check_is_fitted(self, "params_")
        n = np.asarray(renewals, float) + 1
        return np.where(self.alpha_ > 1, (self.beta_ + n - 1) / max(self.alpha_ - 1, 1e-300), np.inf)
