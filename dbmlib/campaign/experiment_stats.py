"""Small statistics for randomised campaigns, used by :mod:`dbmlib.campaign.evaluation`.

* :func:`srm_test` — sample-ratio mismatch: do the group sizes fit the planned split?
  (chi-square goodness of fit, scipy).
* :func:`cuped_adjust` — CUPED (Deng, Xu, Kohavi & Walker 2013): an outcome adjusted by a
  pre-period covariate, same expected lift, smaller variance.
* :func:`cochran_q` — Cochran's Q test that one effect is the same in every stratum
  (inverse-variance weights).
* :func:`adjust_p_values` — Holm or Benjamini–Hochberg adjustment of many p-values
  (statsmodels ``multipletests``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

__all__ = [
    "SRM_THRESHOLD",
    "CupedResult",
    "SRMResult",
    "adjust_p_values",
    "cochran_q",
    "cuped_adjust",
    "srm_test",
]

#: p-value below which a sample-ratio mismatch is flagged. 0.001 rather than 0.05 because
#: the check runs on every experiment and a real mismatch gives tiny p-values at campaign
#: sizes (the usual threshold in the online-experiment literature, e.g. Fabijan et al. 2019).
SRM_THRESHOLD = 0.001

#: ``adjust`` names and their statsmodels ``multipletests`` methods.
_METHODS = {"holm": "holm", "bh": "fdr_bh"}


class SRMResult(NamedTuple):
    """A sample-ratio-mismatch check: chi-square ``statistic`` with ``df`` degrees of
    freedom, its ``p_value`` and ``warning`` (``p_value < SRM_THRESHOLD``)."""

    statistic: float
    df: int
    p_value: float
    warning: bool


class CupedResult(NamedTuple):
    """A CUPED adjustment: the ``adjusted`` outcome, the coefficient ``theta`` and the
    ``variance_reduction`` 1 − var(adjusted)/var(outcome)."""

    adjusted: np.ndarray
    theta: float
    variance_reduction: float


def srm_test(observed, planned_shares, *, threshold: float = SRM_THRESHOLD) -> SRMResult:
    """Chi-square goodness-of-fit test of group sizes against the planned split.

    Parameters
    ----------
    observed : customers per group.
    planned_shares : the planned share of each group, in the same order (positive; they are
        rescaled to sum to 1).
    threshold : flag a mismatch when the p-value is below it (default 0.001).

    A mismatch means the randomisation or the data collection went wrong (customers lost or
    moved between groups), so the measured lift may be biased whatever its p-value.
    """
    obs = np.asarray(observed, dtype=float)
    shares = np.asarray(planned_shares, dtype=float)
    if obs.shape != shares.shape or obs.size < 2:
        raise ValueError("srm_test needs a count and a planned share for each of two or more groups")
    if not (np.isfinite(shares).all() and (shares > 0).all()):
        raise ValueError(f"planned shares must be positive numbers, got {shares.tolist()}")
    expected = shares / shares.sum() * obs.sum()
    res = stats.chisquare(obs, expected)
    p = float(res.pvalue)
    return SRMResult(float(res.statistic), obs.size - 1, p, bool(p < threshold))


def cuped_adjust(y, x) -> CupedResult:
    """CUPED: ``y − θ (x − mean x)`` with ``θ = cov(y, x) / var(x)``.

    ``y`` and ``x`` hold every customer of the experiment (all cells and the control), so
    θ is pooled and the adjustment does not depend on the group: each cell's mean changes
    by θ times its difference in mean ``x``, which is zero in expectation when ``x`` was
    measured before randomisation. Differences of adjusted means are therefore unbiased
    for the lift, with variance reduced by the share ``corr(y, x)²``.

    A constant ``x`` gives θ = 0 (no adjustment); a constant ``y`` a NaN variance reduction.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if y.shape != x.shape or y.ndim != 1:
        raise ValueError("cuped_adjust needs an outcome and a covariate of the same length")
    xc = x - x.mean()
    var_x = float(xc @ xc)
    theta = float((y - y.mean()) @ xc / var_x) if var_x > 0 else 0.0
    adjusted = y - theta * xc
    var_y = y.var()
    reduction = float(1 - adjusted.var() / var_y) if var_y > 0 else np.nan
    return CupedResult(adjusted, theta, reduction)


def cochran_q(estimates, variances) -> dict:
    """Cochran's Q test of homogeneity: is the effect the same in every stratum?

    ``Q = Σ w_i (d_i − d̄)²`` with inverse-variance weights ``w_i = 1 / variance_i`` and the
    weighted mean ``d̄``; under homogeneity Q is chi-square with k − 1 degrees of freedom
    (k strata). Strata whose variance is zero or missing cannot be weighted: they are left
    out and counted.

    Returns
    -------
    dict with ``statistic``, ``df``, ``p_value`` (NaN with fewer than two usable strata),
    ``pooled`` (d̄), ``strata`` (used) and ``skipped_zero_variance``.
    """
    d = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    if d.shape != v.shape:
        raise ValueError("cochran_q needs one variance per estimate")
    ok = np.isfinite(d) & np.isfinite(v) & (v > 0)
    k = int(ok.sum())
    out = {"statistic": np.nan, "df": max(k - 1, 0), "p_value": np.nan, "pooled": np.nan,
           "strata": k, "skipped_zero_variance": int(d.size - k)}
    if k == 0:
        return out
    w = 1 / v[ok]
    pooled = float(w @ d[ok] / w.sum())
    out["pooled"] = pooled
    if k >= 2:
        q = float(w @ (d[ok] - pooled) ** 2)
        out.update(statistic=q, p_value=float(stats.chi2.sf(q, k - 1)))
    return out


def adjust_p_values(p_values, method: str | None = "holm") -> np.ndarray:
    """p-values adjusted for multiple comparisons.

    ``"holm"`` (Holm's step-down, controls the family-wise error rate: the chance of any
    false positive), ``"bh"`` (Benjamini–Hochberg, controls the false discovery rate: the
    expected share of false positives among the significant results) or ``None`` (no
    adjustment, a copy). Missing p-values stay missing and do not count as tests.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float).copy()
    if method is None:
        return p
    if method not in _METHODS:
        raise ValueError(f"adjust must be 'holm', 'bh' or None, got {method!r}")
    ok = ~np.isnan(p)
    if ok.any():
        p[ok] = multipletests(p[ok], method=_METHODS[method])[1]
    return p
