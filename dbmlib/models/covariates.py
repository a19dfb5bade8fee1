"""BG/NBD and Pareto/NBD with customer covariates: who buys more often, who stays longer, and why.

Fader & Hardie's note "Incorporating time-invariant covariates into the Pareto/NBD and BG/NBD
models" (2007) lets each customer's attributes ``z`` (acquisition channel, region, age band …)
shift the two processes through exponential links::

    α_i = α₀ · exp(−γ_λ·z_i)      (purchase rate λ ~ Gamma(r, α_i): E[λ] = r/α_i rises with γ_λ·z)
    a_i = a₀ · exp(γ_a·z_i),  b_i = b₀ · exp(γ_b·z_i)   (dropout p ~ Beta(a_i, b_i))

so ``exp(γ_λ)`` is the multiplier of the mean purchase rate for a one-unit (or one-category)
change in ``z``, and ``γ_a``, ``γ_b`` move the mean dropout ``a/(a+b)``. In the Pareto/NBD
(``kind="pnbd"``) the dropout rate μ ~ Gamma(s, β_i) with ``β_i = β₀ · exp(−γ_μ·z_i)``, so
``exp(γ_μ)`` multiplies the mean dropout rate; its likelihood and analytic gradient are in
:mod:`dbmlib.models.pnbd_gradient`. The likelihood is the plain model's with these
per-customer parameters; :class:`CovariatePurchaseModel` maximises it on
the distinct ``(frequency, recency, T, z)`` rows with weights, with the analytic gradient
(digamma functions, chain rule through the links), and reports each coefficient with a
standard error from the observed information (the Hessian, by differencing the analytic
gradient). Categorical columns are one-hot encoded against their most frequent level; numeric
columns enter as they are. With no covariate columns it is the plain BG/NBD (or Pareto/NBD).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln
from scipy.stats import norm
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..core.errors import InputError
from .btyd_fit import distinct_rows, fit_bgnbd, fit_pnbd
from .btyd_predict import (
    bgnbd_expected_purchases,
    bgnbd_p_alive,
    pnbd_expected_purchases,
    pnbd_p_alive,
)
from .clv import ModelFitError, check_summary
from .pnbd_gradient import pnbd_rows_with_gradient

__all__ = ["CovariatePurchaseModel", "covariate_effects", "covariate_matrix"]

#: A fit whose optimiser stopped on precision loss is accepted when no gradient component of the
#: mean log-likelihood is above this (at the optimum they are 0; 1e-4 is a change of 0.0001 per
#: customer for a unit step in a log-parameter).
_GTOL = 1e-4


def covariate_matrix(covariates: pd.DataFrame, levels: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Numeric design matrix of ``covariates``: numeric columns as they are, each other column
    one-hot against its reference level (the most frequent, or the one in ``levels``). Returns
    the matrix and the levels used (to encode new data the same way)."""
    levels = dict(levels or {})
    parts = []
    for col in covariates.columns:
        s = covariates[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            if s.isna().any():
                raise InputError("covariates", column=col, rows=np.flatnonzero(s.isna().to_numpy())[:5] + 1,
                                 problem="missing values", expected="a number for every customer")
            parts.append(s.astype(float).rename(col))
            continue
        text = s.astype("string").fillna("(missing)")
        if col not in levels:
            counts = text.value_counts()
            levels[col] = {"reference": counts.index[0], "others": sorted(counts.index[1:])}
        for level in levels[col]["others"]:
            parts.append((text == level).astype(float).rename(f"{col}={level}"))
    Z = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=covariates.index)
    return Z, levels


def _bgnbd_parts(r, alpha, a, b, x, tx, T):
    """Per row: log-likelihood and its derivatives in r, α, a, b (BG/NBD, per-row α, a, b)."""
    A3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        A4 = np.where(x > 0, np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx), -np.inf)
    top = np.maximum(A3, A4)
    log_mix = top + np.log(np.exp(A3 - top) + np.exp(A4 - top))
    w3, w4 = np.exp(A3 - log_mix), np.exp(A4 - log_mix)
    ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + x) - gammaln(b)
          - gammaln(a + b + x) + log_mix)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - w4 * np.log(alpha + tx)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + tx)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 / np.where(x > 0, b + x - 1, 1.0)
    return ll, d_r, d_alpha, d_a, d_b


def _bgnbd_start(x, tx, T, w):
    return fit_bgnbd(x, tx, T, w)[0]


def _pnbd_start(x, tx, T, w):
    return fit_pnbd(x, tx, T, w)[0]


class _Kind(NamedTuple):
    """What the covariate model needs of a purchase model."""

    base: list  # the four base parameters
    links: dict  # position of a parameter carrying covariates → (coefficient name, sign): p₀·exp(sign·γ·z)
    timed: np.ndarray  # 1 for the parameters in time units (rescaled in the fit)
    parts: Callable  # per-row log-likelihood and its derivatives in the four parameters
    start: Callable  # the plain fit (where the covariate fit starts)
    expected: Callable  # expected purchases with per-customer parameters
    p_alive: Callable


_KINDS = {
    "bgnbd": _Kind(["r", "alpha0", "a0", "b0"], {1: ("gamma_rate", -1), 2: ("gamma_a", 1), 3: ("gamma_b", 1)},
                   np.array([0.0, 1.0, 0.0, 0.0]), _bgnbd_parts, _bgnbd_start, bgnbd_expected_purchases,
                   bgnbd_p_alive),
    "pnbd": _Kind(["r", "alpha0", "s", "beta0"], {1: ("gamma_rate", -1), 3: ("gamma_dropout", -1)},
                  np.array([0.0, 1.0, 0.0, 1.0]), pnbd_rows_with_gradient, _pnbd_start, pnbd_expected_purchases,
                  pnbd_p_alive),
}


class CovariatePurchaseModel(BaseEstimator):
    """BG/NBD or Pareto/NBD with covariates on the purchase rate and the dropout (module docstring).

    Parameters
    ----------
    kind : {"bgnbd", "pnbd"}

    Attributes
    ----------
    params_ : Series of ``r, alpha0, a0, b0`` and ``gamma_rate[<col>]``, ``gamma_a[<col>]``,
        ``gamma_b[<col>]`` per design column (BG/NBD); ``r, alpha0, s, beta0``, ``gamma_rate[<col>]``
        and ``gamma_dropout[<col>]`` (Pareto/NBD)
    coefficients_ : DataFrame per coefficient: estimate, standard error, 95 % interval, and for
        the rate coefficients the multiplier of the mean purchase rate ``exp(γ)``
    levels_ : the reference and other levels of each categorical covariate
    log_likelihood_ : float
    """

    def __init__(self, kind: str = "bgnbd"):
        self.kind = kind

    def fit(self, summary: pd.DataFrame, covariates: pd.DataFrame, sample_weight=None) -> CovariatePurchaseModel:
        """Fit on ``summary`` (``frequency, recency, T``) and the customers' ``covariates``
        (same index; categorical or numeric columns)."""
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {self.kind!r}")
        base, links, timed, parts, start, *_ = _KINDS[self.kind]
        check_summary(summary)
        if not covariates.index.equals(summary.index):
            raise InputError("covariates", problem="the index differs from the summary's",
                             expected="one row of covariates per summary row, same customer index")
        Z, self.levels_ = covariate_matrix(covariates)
        self.design_columns_ = list(Z.columns)
        self.covariate_columns_ = list(covariates.columns)
        w = np.ones(len(summary)) if sample_weight is None else np.asarray(sample_weight, float)
        cols = [summary[c].to_numpy(float) for c in ("frequency", "recency", "T")] + [Z[c].to_numpy() for c in Z]
        distinct, inverse = distinct_rows(*cols)
        weights = np.bincount(inverse, weights=w, minlength=len(distinct[0]))
        x, tx, T = distinct[:3]
        Zd = np.column_stack(distinct[3:]) if len(distinct) > 3 else np.zeros((len(x), 0))
        scale = 10.0 / T.max()  # lifetimes' rescaled time: rates in units of max T / 10
        k, W = Zd.shape[1], weights.sum()
        blocks = {j: slice(4 + i * k, 4 + (i + 1) * k) for i, j in enumerate(links)}

        def unpack(theta):
            p = list(np.exp(theta[:4]))
            for j, (_, sign) in links.items():
                p[j] = p[j] * np.exp(sign * (Zd @ theta[blocks[j]]))
            return p

        def objective(theta):
            p = unpack(theta)
            with np.errstate(all="ignore"):
                ll, *d = parts(*p, x, tx * scale, T * scale)
            value = -np.dot(weights, ll) / W
            dlog = [weights * d[j] * p[j] for j in range(4)]  # derivatives in the log-parameters, per row
            grad = np.concatenate([[g.sum() for g in dlog]] + [sign * (Zd.T @ dlog[j]) for j, (_, sign) in links.items()])
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return 1e300, np.zeros_like(theta)
            return value, -grad / W

        # start at the plain model (no covariate effects), in the rescaled time
        theta0 = np.r_[np.log(start(x, tx, T, weights) * np.where(timed > 0, scale, 1.0)), np.zeros(len(links) * k)]
        fit = None
        for method in ("L-BFGS-B", "BFGS"):  # BFGS when L-BFGS-B's line search stops short
            fit = minimize(objective, theta0 if fit is None else fit.x, jac=True, method=method,
                           options={"maxiter": 10_000, "gtol": 1e-8})
            if fit.fun < 1e299 and (fit.success or np.max(np.abs(fit.jac)) < _GTOL):
                break
        if fit.fun >= 1e299 or not (fit.success or np.max(np.abs(fit.jac)) < _GTOL):
            raise ModelFitError(f"the covariate {self.kind} did not converge ({fit.message}); largest gradient "
                                f"{np.max(np.abs(fit.jac)):.2g}: too many covariate levels for the data, or a level "
                                "whose customers never repeat")
        theta = fit.x.copy()
        theta[:4] -= timed * np.log(scale)  # rates back to the summary's time unit
        self.theta_ = theta
        self.log_likelihood_ = float(-fit.fun * W + np.dot(weights, x) * np.log(scale))
        names = base + [f"{links[j][0]}[{c}]" for j in links for c in Z]
        self.params_ = pd.Series(np.r_[np.exp(theta[:4]), theta[4:]], index=names)
        self.coefficients_ = self._coefficients(objective, fit.x, W, names, timed * np.log(scale))
        self.n_customers_ = len(summary)
        return self

    def _coefficients(self, objective, theta, W, names, shift) -> pd.DataFrame:
        """Standard errors from the observed information: the Hessian of the total negative
        log-likelihood by central differences of the analytic gradient."""
        h = 1e-5
        hess = np.empty((len(theta), len(theta)))
        for j in range(len(theta)):
            e = np.zeros(len(theta))
            e[j] = h
            hess[:, j] = (objective(theta + e)[1] - objective(theta - e)[1]) * W / (2 * h)
        cov = np.linalg.pinv((hess + hess.T) / 2)
        var = np.diag(cov)
        se = np.where(var > 1e-12, np.sqrt(np.clip(var, 0, None)), np.nan)  # 0: a direction the data do not identify
        est = theta.copy()
        est[:4] -= shift
        z = norm.ppf(0.975)
        out = pd.DataFrame({"estimate": est, "std_error": se, "ci_low": est - z * se, "ci_high": est + z * se},
                           index=[f"log {n}" if i < 4 else n for i, n in enumerate(names)])
        rate = out.index.str.startswith("gamma_rate")
        out["rate_multiplier"] = np.where(rate, np.exp(out["estimate"]), np.nan)
        return out

    def rate_effects(self) -> pd.DataFrame:
        """The purchase-rate effects as multipliers of the mean rate, with their 95 % intervals,
        whether the interval excludes 1, and whether the data identify the effect at all
        (``identified``: a finite standard error below 3 on the log scale). The dropout effects
        are in ``coefficients_``; they need many more customers to be pinned down."""
        check_is_fitted(self, "coefficients_")
        rate = self.coefficients_[self.coefficients_.index.str.startswith("gamma_rate")]
        out = pd.DataFrame({"rate_multiplier": np.exp(rate["estimate"]), "low": np.exp(rate["ci_low"]),
                            "high": np.exp(rate["ci_high"])})
        out["clear_effect"] = (out["low"] > 1) | (out["high"] < 1)
        # a level whose customers never repeat pushes its effect towards 0 without a finite estimate
        out["identified"] = (rate["std_error"] < 3).to_numpy()  # NaN or a log-scale s.e. above 3: not
        out.loc[~out["identified"], "clear_effect"] = False
        out.index = out.index.str.removeprefix("gamma_rate[").str.removesuffix("]")
        return out.rename_axis("covariate = level (against the reference)")

    def _customer_params(self, covariates: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.covariate_columns_ if c not in covariates.columns]
        if missing:
            raise InputError("covariates", column=missing[0], problem="column missing",
                             expected=f"the covariates the model was fitted on: {self.covariate_columns_}")
        Z, _ = covariate_matrix(covariates[self.covariate_columns_], self.levels_)
        Z = Z.reindex(columns=self.design_columns_, fill_value=0.0).to_numpy(float)  # a level not seen: reference
        k, t = Z.shape[1], self.theta_
        params = np.tile(np.exp(t[:4]), (len(Z), 1))
        for i, (j, (_, sign)) in enumerate(_KINDS[self.kind].links.items()):
            params[:, j] *= np.exp(sign * (Z @ t[4 + i * k:4 + (i + 1) * k]))
        return params

    def _by_pattern(self, fn, summary, covariates) -> np.ndarray:
        check_is_fitted(self, "theta_")
        check_summary(summary)
        params = self._customer_params(covariates)
        (_, *_), group = distinct_rows(*params.T)
        out = np.empty(len(summary))
        f, r, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        for g in np.unique(group):
            rows = group == g
            out[rows] = fn(params[rows][0], f[rows], r[rows], T[rows])
        return out

    def expected_purchases(self, t: float, summary: pd.DataFrame, covariates: pd.DataFrame) -> pd.Series:
        """Expected purchases of each customer in the next ``t``, with their own parameters."""
        predict = _KINDS[self.kind].expected
        v = self._by_pattern(lambda p, f, r, T: predict(p, t, f, r, T), summary, covariates)
        return pd.Series(v, index=summary.index, name="expected_purchases")

    def p_alive(self, summary: pd.DataFrame, covariates: pd.DataFrame) -> pd.Series:
        """P(alive) of each customer, with their own parameters."""
        return pd.Series(self._by_pattern(_KINDS[self.kind].p_alive, summary, covariates), index=summary.index,
                         name="p_alive")


def covariate_effects(summary: pd.DataFrame, customers: pd.DataFrame, columns, *, min_customers: int = 30,
                      kind: str = "bgnbd", max_customers: int | None = None, random_state: int = 0,
                      ) -> tuple[CovariatePurchaseModel | None, str]:
    """Fit :class:`CovariatePurchaseModel` (``kind``) on the attributes ``columns`` of ``customers`` that
    carry information (present, more than one known value); levels held by fewer than
    ``min_customers`` customers are pooled as "other". With ``max_customers``, a larger base is
    fitted on a seeded sample of that many customers (the intervals say how much it costs).
    Returns the model (or None) and what was skipped or sampled, in words ("" when nothing was)."""
    sampled = ""
    if max_customers is not None and len(summary) > max_customers:
        summary = summary.sample(max_customers, random_state=random_state).sort_index()
        sampled = f"fitted on a seeded sample of {max_customers:,} customers"
    usable, skipped = [], []
    for col in columns:
        values = customers[col].astype("string").reindex(summary.index) if col in customers else None
        if values is None or values.replace("unknown", pd.NA).nunique() < 2:
            skipped.append(col)
            continue
        counts = values.fillna("unknown").value_counts()
        rare = counts.index[counts < min_customers]
        usable.append(values.fillna("unknown").where(~values.isin(rare), "other").rename(col))
    note = "; ".join(filter(None, [f"no usable {', '.join(skipped)} (missing, or one value only)" if skipped else "",
                                   sampled]))
    if not usable:
        return None, _sentence(": ".join(filter(None, [note, "the purchase model has no covariates"])))
    try:
        model = CovariatePurchaseModel(kind).fit(summary, pd.concat(usable, axis=1))
    except ModelFitError as exc:  # said in words; the rest of the stage runs
        return None, _sentence("; ".join(filter(None, [note, f"covariates not estimated: {exc}"])))
    return model, _sentence(note)


def _sentence(text: str) -> str:
    """``text`` with a capital first letter (and nothing else changed)."""
    return text[:1].upper() + text[1:]
