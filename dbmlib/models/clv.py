"""Customer lifetime value: buy-till-you-die purchase models, Gamma-Gamma spend, discounted CLV.

Estimators follow scikit-learn conventions. They fit on the distinct ``(frequency,
recency, T)`` rows with weights (:mod:`dbmlib.models.btyd_fit`): BG/NBD and MBG/NBD with own
likelihoods and analytic gradients, Pareto/NBD with an own likelihood and a quasi-Newton
optimiser; predictions are our own code (:mod:`dbmlib.models.btyd_predict`,
:mod:`dbmlib.models.bgbb`), equal to lifetimes' formulas where those are right. Estimates equal
lifetimes' own fits (tested). Their input is a summary from :func:`dbmlib.segment.rfm.rfm_summary` with columns
``frequency, recency, T`` (and ``monetary_value`` for spend) in one stated time unit: days,
or weeks as days / 7 as the published CDNOW analyses use.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..core.errors import InputError
from .bgbb import bgbb_expected_purchases, bgbb_p_alive, bgbb_population_purchases, fit_bgbb
from .btyd_fit import compress, fit_bgnbd, fit_gamma_gamma, fit_mbgnbd, fit_pnbd
from .btyd_predict import (
    bgnbd_discounted_purchases,
    bgnbd_expected_purchases,
    bgnbd_p_alive,
    bgnbd_population_purchases,
    mbgnbd_expected_purchases,
    mbgnbd_p_alive,
    mbgnbd_population_purchases,
    pnbd_expected_purchases,
    pnbd_p_alive,
    pnbd_population_purchases,
)
from .purchase_counts import bgbb_count_pmf, bgnbd_count_pmf, mbgnbd_count_pmf, pnbd_count_pmf

__all__ = [
    "PUBLISHED_CDNOW",
    "ModelFitError",
    "PurchaseModel",
    "SpendModel",
    "check_summary",
    "customer_lifetime_value",
]

log = logging.getLogger(__name__)

#: Our own fit per continuous-time kind (:mod:`dbmlib.models.btyd_fit`): (fit function, parameter names).
_FITS = {"bgnbd": (fit_bgnbd, ["r", "alpha", "a", "b"]), "pnbd": (fit_pnbd, ["r", "alpha", "s", "beta"]),
         "mbgnbd": (fit_mbgnbd, ["r", "alpha", "a", "b"])}
_KINDS = sorted([*_FITS, "bgbb"])  # BG/BB: discrete time, our own code (dbmlib.models.bgbb)
#: lifetimes' class per kind, for :meth:`PurchaseModel.to_lifetimes` (imported only there).
_LIFETIMES = {"bgnbd": "BetaGeoFitter", "pnbd": "ParetoNBDFitter", "mbgnbd": "ModifiedBetaGeoFitter",
              "bgbb": "BetaGeoBetaBinomFitter"}
#: Our own prediction code per kind: (expected purchases, P(alive), a new customer's purchases).
_PREDICT = {"bgnbd": (bgnbd_expected_purchases, bgnbd_p_alive, bgnbd_population_purchases),
            "mbgnbd": (mbgnbd_expected_purchases, mbgnbd_p_alive, mbgnbd_population_purchases),
            "pnbd": (pnbd_expected_purchases, pnbd_p_alive, pnbd_population_purchases),
            "bgbb": (bgbb_expected_purchases, bgbb_p_alive, bgbb_population_purchases)}
_COUNT_PMF = {"bgnbd": bgnbd_count_pmf, "mbgnbd": mbgnbd_count_pmf, "pnbd": pnbd_count_pmf, "bgbb": bgbb_count_pmf}
#: Published estimates on the CDNOW 1/10 sample, 39-week calibration, time in weeks:
#: BG/NBD and Pareto/NBD from Fader, Hardie & Lee (2005), "Counting your customers the easy
#: way" (Marketing Science 24(2)); Gamma-Gamma from Fader & Hardie (2013), "The Gamma-Gamma
#: model of monetary value".
PUBLISHED_CDNOW = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "log_likelihood": -9582.4},
    "pnbd": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67, "log_likelihood": -9595.0},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44},
}
_PENALIZER_RETRIES = (0.001, 0.01, 0.1)
_NOT_FITTED = "this %(name)s is not fitted yet: call fit(summary) first"


class ModelFitError(RuntimeError):
    """A model could not be fitted; the message says why and what was tried."""


def check_summary(summary: pd.DataFrame, *, monetary: bool = False, name: str = "summary") -> None:
    """Raise :class:`InputError` unless the summary is usable by a BTYD model."""
    cols = ["frequency", "recency", "T"] + (["monetary_value"] if monetary else [])
    missing = [c for c in cols if c not in summary.columns]
    if missing:
        raise InputError(name, column=missing[0], problem="column missing",
                         expected=f"columns {cols} from dbmlib.segment.rfm.rfm_summary")
    if len(summary) == 0:
        raise InputError(name, problem="no customers", expected="at least one customer")
    for col in cols:
        bad = ~np.isfinite(summary[col].to_numpy(float))
        if bad.any():
            raise InputError(name, column=col, rows=np.flatnonzero(bad)[:5] + 1,
                             problem="missing or infinite values", expected="finite numbers")
    checks = [
        ("frequency", summary["frequency"] < 0, "frequency >= 0"),
        ("frequency", summary["frequency"] != np.round(summary["frequency"]), "whole repeat counts"),
        ("recency", summary["recency"] < 0, "recency >= 0"),
        ("recency", summary["recency"] > summary["T"], "recency <= T (last purchase before the end)"),
        ("recency", (summary["frequency"] == 0) & (summary["recency"] != 0),
         "recency 0 for customers without repeat purchases"),
    ]
    for col, bad, expected in checks:
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())
            raise InputError(name, column=col, rows=rows[:5] + 1, expected=expected,
                             values=summary[col].to_numpy()[rows[:5]].tolist(),
                             problem=f"{len(rows)} customer(s) violate it")
    if (summary["frequency"] == 0).all():
        raise InputError(name, column="frequency", problem="every customer bought only once",
                         expected="some repeat purchases: a BTYD model cannot be fitted without them")


class PurchaseModel(BaseEstimator):
    """BG/NBD, Pareto/NBD, MBG/NBD or BG/BB purchase model.

    Parameters
    ----------
    kind : {"bgnbd", "pnbd", "mbgnbd", "bgbb"}
        ``"bgbb"`` is the discrete-time model (:mod:`dbmlib.models.bgbb`): the summary's
        ``frequency``, ``recency`` and ``T`` count purchase opportunities (periods), and
        ``t`` in the predictions is a number of future opportunities.
    penalizer : float, default 0.0
        L2 penalty on the log parameters; if a fit fails the model retries with
        penalizers 0.001, 0.01 and 0.1 and records the one used in ``penalizer_``.

    Attributes
    ----------
    params_ : Series of the fitted parameters
    log_likelihood_ : float, total log-likelihood of the data at ``params_`` (unpenalised)
    penalizer_ : float actually used

    Fitting and prediction are our own code: lifetimes is not imported. :meth:`to_lifetimes`
    hands the parameters to a lifetimes fitter for its plots.
    """

    def __init__(self, kind: str = "bgnbd", penalizer: float = 0.0):
        self.kind = kind
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame, y=None, sample_weight=None, initial_params=None, newton=None):
        """Fit on the distinct ``(frequency, recency, T)`` rows of ``summary``;
        ``sample_weight`` (one per row, e.g. bootstrap counts) weights each customer;
        ``initial_params`` starts the BG/NBD and Pareto/NBD optimisers there (e.g. the
        full-data estimate for a bootstrap replicate); ``newton``, a dict the replicates of one
        bootstrap share, lets them refine that start by Newton steps with one Hessian
        (:func:`~dbmlib.models.btyd_fit.newton_refit`) before any L-BFGS-B."""
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        check_summary(summary)
        f, r, T, w = compress_weighted(summary, sample_weight)
        if self.kind == "bgbb":
            return self._fit_bgbb(summary, f, r, T, w, initial_params)
        errors = []
        for penalizer in (self.penalizer, *[p for p in _PENALIZER_RETRIES if p > self.penalizer]):
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    params, ll = self._fit_compressed(f, r, T, w, penalizer, initial_params, newton)
            except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
                errors.append(f"penalizer {penalizer}: {type(exc).__name__}: {str(exc).strip()[:120]}")
                continue
            if not np.all(np.isfinite(params.to_numpy())) or (params.to_numpy() <= 0).any():
                errors.append(f"penalizer {penalizer}: non-finite or non-positive parameters")
                continue
            if not np.isfinite(ll):
                errors.append(f"penalizer {penalizer}: the log-likelihood overflowed")
                continue
            self.penalizer_ = penalizer
            self.params_ = params.copy()
            self.log_likelihood_ = float(ll)
            if penalizer != self.penalizer:
                log.warning("%s fit needed penalizer %s (%s)", self.kind, penalizer, "; ".join(errors))
            self.n_customers_ = len(summary)
            self.n_distinct_ = len(f)
            return self
        raise ModelFitError(f"{self.kind} could not be fitted on {len(summary)} customers: "
                            + "; ".join(errors) + ". Check for extreme frequencies or a very "
                            "short observation window, or use another model kind.")

    def _fit_bgbb(self, summary, f, r, T, w, initial):
        whole = ~np.isclose(T, np.round(T))
        if whole.any():
            raise InputError("summary", column="T", problem=f"{int(whole.sum())} distinct T values are not whole numbers",
                             expected="BG/BB counts purchase opportunities: frequency, recency and T in whole periods")
        params, ll = fit_bgbb(f, r, T, w, initial)
        self.params_ = pd.Series(params, index=["alpha", "beta", "gamma", "delta"])
        self.log_likelihood_, self.penalizer_ = float(ll), 0.0
        self.n_customers_, self.n_distinct_ = len(summary), len(f)
        return self

    def _fit_compressed(self, f, r, T, w, penalizer, initial=None, newton=None):
        """Fit on distinct rows with weights: the parameters (a Series) and the total
        log-likelihood."""
        fit, names = _FITS[self.kind]
        params, ll, *_ = fit(f, r, T, w, penalizer=penalizer, initial=initial, newton=newton)
        return pd.Series(params, index=names), ll

    def to_lifetimes(self):
        """A lifetimes fitter holding these parameters (for lifetimes' plots and helpers;
        needs the ``lifetimes`` package, which nothing else here imports)."""
        self._check_fitted()
        import lifetimes

        fitter = getattr(lifetimes, _LIFETIMES[self.kind])(penalizer_coef=self.penalizer_)
        fitter.params_ = self.params_.copy()
        if hasattr(fitter, "conditional_expected_number_of_purchases_up_to_time"):
            fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time  # as its fit() sets
        return fitter

    def _check_fitted(self):
        check_is_fitted(self, "params_", msg=_NOT_FITTED)

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> pd.Series:
        """Expected purchases of each customer in the next ``t`` time units."""
        self._check_fitted()
        check_summary(summary)
        v = _PREDICT[self.kind][0](self.params_.to_numpy(), t, *_frt(summary))
        return pd.Series(np.asarray(v, float), index=summary.index, name="expected_purchases")

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still active at the end of the summary."""
        self._check_fitted()
        check_summary(summary)
        v = _PREDICT[self.kind][1](self.params_.to_numpy(), *_frt(summary))  # BG/BB: at the next opportunity
        return pd.Series(np.asarray(v, float), index=summary.index, name="p_alive")

    def expected_purchases_population(self, t) -> np.ndarray:
        """Expected repeat purchases of a new customer within ``t`` time units of the first."""
        self._check_fitted()
        return _PREDICT[self.kind][2](self.params_.to_numpy(), t)

    def purchase_count_probability(self, t: float, n) -> np.ndarray:
        """P(a new customer makes exactly ``n`` repeat purchases within ``t`` time units of the
        first; BG/BB: at ``n`` of their first ``t`` opportunities) — ``n`` a count or an array
        of counts (:mod:`dbmlib.models.purchase_counts`)."""
        self._check_fitted()
        return _COUNT_PMF[self.kind](self.params_.to_numpy(), t, n)


class SpendModel(BaseEstimator):
    """Gamma-Gamma model of average spend per repeat transaction.

    Fitted on repeat customers (``frequency > 0`` and ``monetary_value > 0``).

    Attributes
    ----------
    params_ : Series ``p, q, v``
    correlation_ : Pearson correlation of frequency and monetary value among repeat
        customers (the model assumes they are independent; a warning is logged above 0.3)
    n_customers_ : repeat customers used
    """

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame, y=None, sample_weight=None, initial_params=None, newton=None):
        """Fit on the repeat customers of ``summary``; ``sample_weight`` (one per row, e.g.
        bootstrap counts) weights each customer's likelihood; ``initial_params`` (p, q, v)
        starts the optimiser there; ``newton``: see :meth:`PurchaseModel.fit`."""
        check_summary(summary, monetary=True)
        w = _weights(summary, sample_weight)
        keep = ((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).to_numpy() & (w > 0)
        if keep.sum() < 10:
            raise InputError("summary", column="monetary_value",
                             problem=f"only {keep.sum()} repeat customers with positive spend",
                             expected="at least 10 to fit the Gamma-Gamma spend model")
        x = summary["frequency"].to_numpy(float)[keep]
        m = summary["monetary_value"].to_numpy(float)[keep]
        self.correlation_ = float(np.cov(x, m, aweights=w[keep])[0, 1]
                                  / np.sqrt(np.cov(x, aweights=w[keep]) * np.cov(m, aweights=w[keep])))
        if abs(self.correlation_) > 0.3:
            log.warning("frequency and monetary value correlate (%.2f): the Gamma-Gamma "
                        "independence assumption is doubtful", self.correlation_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            params, self.log_likelihood_ = fit_gamma_gamma(x, m, w[keep], penalizer=self.penalizer,
                                                            initial=initial_params, newton=newton)
        self.params_ = pd.Series(params, index=["p", "q", "v"])
        self.n_customers_ = int(keep.sum())
        return self

    def to_lifetimes(self):
        """A lifetimes ``GammaGammaFitter`` holding these parameters (needs ``lifetimes``)."""
        check_is_fitted(self, "params_", msg=_NOT_FITTED)
        from lifetimes import GammaGammaFitter

        fitter = GammaGammaFitter(penalizer_coef=self.penalizer)
        fitter.params_ = self.params_.copy()
        return fitter

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Expected average spend per future transaction of each customer (Fader & Hardie's
        Gamma-Gamma, eq. 5): ``p(v + x·m̄) / (p·x + q − 1)``, the population mean ``pv/(q−1)``
        for a customer without repeat purchases."""
        check_is_fitted(self, "params_", msg=_NOT_FITTED)
        check_summary(summary, monetary=True)
        p, q, v_ = (float(self.params_[k]) for k in ("p", "q", "v"))
        x, m = summary["frequency"].to_numpy(float), summary["monetary_value"].to_numpy(float)
        v = p * (v_ + x * m) / (p * x + q - 1)
        return pd.Series(np.asarray(v, float), index=summary.index, name="expected_spend")


def customer_lifetime_value(purchase_model: PurchaseModel, spend_model: SpendModel,
                            summary: pd.DataFrame, horizon_months: int = 12,
                            discount_rate_annual: float = 0.10, margin: float = 1.0,
                            days_per_time_unit: float = 1.0) -> pd.Series:
    """Discounted CLV over ``horizon_months``.

    ``CLV = margin × E[spend] × Σ_m (E[N(t_m)] − E[N(t_{m−1})]) / (1 + d)^m`` with
    ``t_m`` the end of month m in the summary's time unit (``m × 30.4375 /
    days_per_time_unit``: 1 for daily summaries, 7 for weekly) and ``d`` the monthly rate
    equivalent to ``discount_rate_annual``. The time unit is explicit, unlike lifetimes'
    helper, which assumes daily data.
    """
    if horizon_months < 1:
        raise ValueError("horizon_months must be at least 1")
    if purchase_model.kind == "bgbb":
        raise ValueError("BG/BB counts purchase opportunities, not months: value its customers with "
                         "expected_purchases(n_periods, summary) × spend × margin per period")
    d = (1 + discount_rate_annual) ** (1 / 12) - 1
    spend = spend_model.expected_spend(summary)
    month = 30.4375 / days_per_time_unit
    months = np.arange(1, horizon_months + 1)
    discount = 1.0 / (1 + d) ** months
    if purchase_model.kind == "bgnbd":
        purchase_model._check_fitted()
        value = bgnbd_discounted_purchases(purchase_model.params_.to_numpy(), months * month,
                                           discount, *_frt(summary))
    else:  # lifetimes' formulas on the distinct (frequency, recency, T) rows
        f, r, T, _, inverse = compress(*_frt(summary))
        distinct = pd.DataFrame({"frequency": f, "recency": r, "T": T})
        cumulative = np.column_stack([purchase_model.expected_purchases(m * month, distinct).to_numpy()
                                      for m in months])
        increments = np.diff(np.column_stack([np.zeros(len(f)), cumulative]), axis=1)
        value = (increments @ discount)[inverse]
    return (margin * spend * pd.Series(value, index=summary.index)).rename("clv")


def _weights(summary: pd.DataFrame, sample_weight) -> np.ndarray:
    if sample_weight is None:
        return np.ones(len(summary))
    w = np.asarray(sample_weight, float)
    if w.shape != (len(summary),) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"sample_weight must hold {len(summary)} finite non-negative numbers, not all 0")
    return w


def compress_weighted(summary: pd.DataFrame, sample_weight=None):
    """Distinct ``(frequency, recency, T)`` rows of ``summary`` with their total weight
    (customer counts, or the sum of ``sample_weight``); rows of weight 0 are left out."""
    f, r, T, counts, inverse = compress(*_frt(summary))
    w = counts if sample_weight is None else np.bincount(inverse, weights=_weights(summary, sample_weight),
                                                         minlength=len(f))
    keep = w > 0
    return f[keep], r[keep], T[keep], w[keep]


def _frt(summary: pd.DataFrame):
    return tuple(summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
