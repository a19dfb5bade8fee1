"""Fast maximum-likelihood fits of the BG/NBD and Pareto/NBD on compressed summaries.

Two ideas make the fits fast without changing their answer:

1. **Compression** — customers with the same ``(frequency, recency, T)`` contribute the same
   likelihood, so the fit runs on the distinct rows with their counts as weights (Fader &
   Hardie do the same in their spreadsheets). The memory of a fit no longer grows with the
   number of orders, only with the number of distinct summaries.
2. **BG/NBD: an analytic gradient**. Every term of the BG/NBD log-likelihood depends on the
   frequency, the recency or T alone (or on a log-sum of two of them), so the expensive
   special functions are evaluated once per distinct value and gathered; the gradient
   follows in closed form (digamma functions) and L-BFGS-B needs few evaluations.

The objective is lifetimes' (mean weighted negative log-likelihood plus
``penalizer × Σ params²``), so estimates equal ``lifetimes.BetaGeoFitter`` /
``ParetoNBDFitter`` at the same penalizer (tested to 1e-4 relative); the log-likelihood is
validated against lifetimes' own at the same parameters.

BG/NBD log-likelihood of one customer (Fader, Hardie & Lee 2005, eq. 6)::

    A1 = lnΓ(r+x) − lnΓ(r) + r ln α
    A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
    A3 = −(r+x) ln(α+T)
    A4 = ln a − ln(b+x−1) − (r+x) ln(α+tₓ)          (only when x > 0)
    ℓ  = A1 + A2 + ln(e^A3 + [x>0] e^A4)
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from .pnbd_gradient import pnbd_rows_with_gradient

__all__ = ["bgnbd_log_likelihood", "compress", "distinct_rows", "fit_bgnbd", "fit_gamma_gamma", "fit_mbgnbd", "fit_pnbd",
           "mbgnbd_log_likelihood_rows", "newton_refit", "pnbd_log_likelihood_rows"]


def distinct_rows(*columns) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of equal-length float columns and each original row's index into
    them: ``([column[first of each distinct row] ...], inverse)``, rows in sorted order."""
    import pandas as pd

    cols = [np.asarray(c, float) for c in columns]
    if _sorted_distinct(cols):  # e.g. a bootstrap's distinct rows, fitted again with new weights
        return [c.copy() for c in cols], np.arange(len(cols[0]))
    key = np.zeros(len(cols[0]), np.int64)
    for c in cols:
        codes, uniq = pd.factorize(c, sort=True)
        key = key * len(uniq) + codes
    inverse, _ = pd.factorize(key, sort=True)
    first = np.empty(inverse.max() + 1 if len(inverse) else 0, np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]  # first original row of each
    return [c[first] for c in cols], inverse


def _sorted_distinct(cols: list[np.ndarray]) -> bool:
    """Whether the rows are already distinct and in sorted order (each row above the one
    before, column by column; NaN never is): then they are their own distinct rows."""
    n = len(cols[0])
    if n < 2:
        return False
    above, tied = np.zeros(n - 1, bool), np.ones(n - 1, bool)
    for c in cols:
        above |= tied & (c[1:] > c[:-1])
        tied &= c[1:] == c[:-1]
    return bool(above.all())


def compress(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(frequency, recency, T)`` rows, their counts, and each customer's row.

    Returns ``(f, r, T, weights, inverse)`` with ``original = compressed[inverse]``.
    """
    (f, r, t), inverse = distinct_rows(frequency, recency, T)
    return f, r, t, np.bincount(inverse, minlength=len(f)).astype(float), inverse


def newton_refit(objective, x0: np.ndarray, cache: dict, key, *, tol: float = 1e-10,
                 max_iter: int = 40) -> np.ndarray | None:
    """Minimise a smooth ``objective`` (value and gradient of log-parameters) from ``x0`` by
    Newton steps with one fixed Hessian (the chord method), or None if that fails.

    For bootstrap replicates: each starts at the full-data estimate and its optimum lies within
    a few standard errors of it, where the Hessian hardly changes (by ~1/√n), so the Hessian of
    the first replicate (finite differences of the analytic gradient, kept in ``cache`` under
    ``key``) serves every one and each converges in a handful of gradient evaluations instead of
    L-BFGS-B's fifty to a hundred. Steps are halved while the objective rises; it stops when a
    step moves no log-parameter by more than ``tol``. None (the caller then runs L-BFGS-B): an
    objective that cannot be evaluated, a Hessian that is not positive definite, or no
    convergence in ``max_iter`` steps."""
    value, grad = objective(x0)
    if not np.isfinite(value) or value >= 1e299:
        return None
    hessian = cache.get(key)
    if hessian is None:
        h = 1e-4
        cols = [(objective(x0 + h * e)[1] - objective(x0 - h * e)[1]) / (2 * h) for e in np.eye(len(x0))]
        hessian = np.column_stack(cols)
        hessian = (hessian + hessian.T) / 2
        try:
            np.linalg.cholesky(hessian)
        except np.linalg.LinAlgError:
            hessian = False
        cache[key] = hessian
    if hessian is False or not np.all(np.isfinite(hessian)):
        return None
    x = np.asarray(x0, float)
    for _ in range(max_iter):
        step = np.linalg.solve(hessian, grad)
        for _ in range(30):
            new_value, new_grad = objective(x - step)
            if np.isfinite(new_value) and new_value < 1e299 and new_value <= value + 1e-13 * max(1.0, abs(value)):
                break
            step = step / 2
        else:
            return None
        x, value, grad = x - step, new_value, new_grad
        if np.max(np.abs(step)) < tol:
            return x
    return None


class _BGNBDData:
    """Distinct values of x with their total weights, and per-row arrays, so special
    functions run once per distinct frequency and the rest is a few vector operations."""

    def __init__(self, f, r, T, w):
        self.ux, self.ix = np.unique(f, return_inverse=True)
        self.ix = self.ix.ravel()
        self.x, self.rec, self.T, self.w = f, r, T, w
        self.Wx = np.bincount(self.ix, weights=w, minlength=len(self.ux))
        self.W = w.sum()


def _bgnbd_value(p, d: _BGNBDData, gradient: bool):
    """Total weighted log-likelihood and (optionally) its gradient in (r, alpha, a, b)."""
    from scipy.special import expit

    r, alpha, a, b = p
    ux, x, w = d.ux, d.x, d.w
    pos_u = ux > 0
    a12 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
           + gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux))
    with np.errstate(divide="ignore"):
        c4 = np.where(pos_u, np.log(a) - np.log(np.where(pos_u, b + ux - 1, 1.0)), -np.inf)
    rx = r + x
    lT = np.log(alpha + d.T)
    lR = np.log(alpha + d.rec)
    a3 = -rx * lT
    z = c4[d.ix] - rx * lR - a3  # A4 − A3 (−inf when x = 0)
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    value = float(np.dot(d.Wx, a12) + np.dot(w, a3 + softplus))
    if not gradient:
        return value, None
    q = expit(z)  # weight of the "dropped out after the last purchase" branch
    wq = w * q
    g_r = (np.dot(d.Wx, digamma(r + ux) - digamma(r) + np.log(alpha))
           - np.dot(w, lT) + np.dot(wq, lT - lR))
    g_alpha = (r / alpha * d.W
               - np.dot(w * rx, (1 - q) / (alpha + d.T) + q / (alpha + d.rec)))
    wq_x = np.bincount(d.ix, weights=wq, minlength=len(ux))
    g_a = np.dot(d.Wx, digamma(a + b) - digamma(a + b + ux)) + wq.sum() / a
    g_b = (np.dot(d.Wx, digamma(a + b) + digamma(b + ux) - digamma(b) - digamma(a + b + ux))
           - np.dot(wq_x[pos_u], 1.0 / (b + ux[pos_u] - 1)))
    return value, np.array([g_r, g_alpha, g_a, g_b])


def bgnbd_log_likelihood(params, frequency, recency, T, weights=None) -> float:
    """Total (weighted) BG/NBD log-likelihood at ``params = (r, alpha, a, b)``."""
    f = np.asarray(frequency, float)
    w = np.ones_like(f) if weights is None else np.asarray(weights, float)
    d = _BGNBDData(f, np.asarray(recency, float), np.asarray(T, float), w)
    return _bgnbd_value(np.asarray(params, float), d, gradient=False)[0]


def fit_bgnbd(frequency, recency, T, weights=None, *, penalizer: float = 0.0,
              initial=None, newton: dict | None = None) -> tuple[np.ndarray, float]:
    """Maximum-likelihood BG/NBD on (compressed) summaries: ``(params, total log-likelihood)``.

    Minimises lifetimes' objective (mean negative log-likelihood + ``penalizer × Σ p²``)
    over log-parameters with L-BFGS-B and the analytic gradient. With ``newton`` (a dict shared
    by bootstrap replicates) and ``initial``, Newton steps with a fixed Hessian come first
    (:func:`newton_refit`).
    """
    f = np.asarray(frequency, float)
    w = np.ones_like(f) if weights is None else np.asarray(weights, float)
    d = _BGNBDData(f, np.asarray(recency, float), np.asarray(T, float), w)

    def objective(logp):
        p = np.exp(logp)
        ll, g = _bgnbd_value(p, d, gradient=True)
        return -ll / d.W + penalizer * np.sum(p ** 2), -g / d.W * p + 2 * penalizer * p ** 2

    if initial is not None and newton is not None:
        with np.errstate(all="ignore"):
            x = newton_refit(objective, np.log(np.asarray(initial, float)), newton, ("bgnbd", penalizer))
        if x is not None:
            return np.exp(x), _bgnbd_value(np.exp(x), d, gradient=False)[0]
    if initial is not None:
        x0 = np.log(initial)
    elif len(f) > 5_000:
        # warm start: fit a seeded sample of a tenth of the customers (recursively), then polish
        # on all rows: L-BFGS-B then needs a dozen evaluations of the full likelihood
        pick = np.random.default_rng(0).choice(len(f), max(len(f) // 10, 2_000), p=w / d.W)
        x0 = np.log(fit_bgnbd(f[pick], np.asarray(recency, float)[pick], np.asarray(T, float)[pick],
                              penalizer=penalizer)[0])
    else:
        x0 = np.log([1.0, max(np.average(T, weights=w), 1.0), 1.0, 1.0])
    best = None
    for start in (x0, np.full(4, 0.1)):
        res = minimize(objective, start, jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun - 1e-12):
            best = res
        if best is not None and best.success:
            break
    if best is None or not np.isfinite(best.fun):
        raise FloatingPointError("the BG/NBD likelihood could not be evaluated")
    params = np.exp(best.x)
    return params, _bgnbd_value(params, d, gradient=False)[0]


def pnbd_log_likelihood_rows(params, frequency, recency, T) -> np.ndarray:
    """Pareto/NBD log-likelihood of each row (Fader & Hardie's 2005 note, eq. 18)::

        ℓ = lnΓ(r+x) − lnΓ(r) + r ln α + s ln β
            + ln( (α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · A₀ )
    """
    from .btyd_predict import pnbd_log_a0

    r, alpha, s, beta = (float(v) for v in params)
    x, T = np.asarray(frequency, float), np.asarray(T, float)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + pnbd_log_a0(params, frequency, recency, T)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(alive, died)


def mbgnbd_log_likelihood_rows(params, frequency, recency, T) -> np.ndarray:
    """MBG/NBD log-likelihood of each row (Batislam, Denizel & Filiztekin 2007): the BG/NBD's
    terms with ``b+x`` for ``b+x−1`` and the dropout term for every customer::

        ℓ = lnΓ(r+x) − lnΓ(r) + r ln α + lnΓ(a+b) + lnΓ(b+x+1) − lnΓ(b) − lnΓ(a+b+x+1)
            − (r+x) ln(α+T) + ln(1 + a/(b+x) ((α+T)/(α+tₓ))^(r+x))
    """
    r, alpha, a, b = (float(v) for v in params)
    x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
    head = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + x + 1) - gammaln(b)
            - gammaln(a + b + x + 1) - (r + x) * np.log(alpha + T))
    return head + np.logaddexp(0.0, np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)))


def fit_mbgnbd(frequency, recency, T, weights=None, *, penalizer: float = 0.0, initial=None,
               newton: dict | None = None) -> tuple[np.ndarray, float]:
    """Maximum-likelihood MBG/NBD on (compressed) summaries with lifetimes' objective (mean
    weighted negative log-likelihood + ``penalizer × Σ params²``), in lifetimes' rescaled time
    (``10 / max T``); returns ``(r, α, a, b)`` in the original unit and the total
    log-likelihood there. ``newton``: see :func:`fit_bgnbd`."""
    f = np.asarray(frequency, float)
    w = np.ones_like(f) if weights is None else np.asarray(weights, float)
    scale = 10.0 / np.max(np.asarray(T, float))
    rs, Ts = np.asarray(recency, float) * scale, np.asarray(T, float) * scale
    to_scaled = np.array([1.0, scale, 1.0, 1.0])

    W = w.sum()
    ux, ix = np.unique(f, return_inverse=True)  # the special functions of x run once per distinct x
    ix = ix.ravel()

    def objective(logp):
        p = np.exp(logp)
        r, alpha, a, b = p
        with np.errstate(all="ignore"):
            lat, ltx = np.log(alpha + Ts), np.log(alpha + rs)
            a4 = np.log(a) - np.log(b + f) + (r + f) * (lat - ltx)
            per_x = (gammaln(r + ux) + gammaln(b + ux + 1) - gammaln(a + b + ux + 1))[ix]
            ll = (per_x - gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b) - (r + f) * lat
                  + np.logaddexp(0.0, a4))
            value = -np.dot(w, ll) / W + penalizer * np.sum(p ** 2)
            sig = 1.0 / (1.0 + np.exp(-a4))  # the share of the likelihood from "dropped out after tₓ"
            d_r, d_bx, d_abx = digamma(r + ux)[ix], digamma(b + ux + 1)[ix], digamma(a + b + ux + 1)[ix]
            g = np.array([
                np.dot(w, d_r - digamma(r) + np.log(alpha) - lat + sig * (lat - ltx)),
                np.dot(w, r / alpha - (r + f) / (alpha + Ts) + sig * (r + f) * (1 / (alpha + Ts) - 1 / (alpha + rs))),
                np.dot(w, digamma(a + b) - d_abx + sig / a),
                np.dot(w, digamma(a + b) + d_bx - digamma(b) - d_abx - sig / (b + f)),
            ])
        grad = -g * p / W + 2 * penalizer * p ** 2
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros(4)
        return value, grad

    starts = [np.log(np.asarray(initial, float) * to_scaled)] if initial is not None else [np.zeros(4),
                                                                                            np.log([0.5, 1.0, 0.5, 1.0])]
    x = None if initial is None or newton is None else newton_refit(objective, starts[0], newton,
                                                                     ("mbgnbd", penalizer, scale))
    if x is not None:
        p = np.exp(x) / to_scaled
        return p, float(np.dot(w, mbgnbd_log_likelihood_rows(p, f, recency, T)))
    best = None
    for x0 in starts:  # the next start only when one fails
        res = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9})
        best = res if best is None or res.fun < best.fun else best
        if best.success and best.fun < 1e299:
            break
    if best.fun >= 1e299:
        raise FloatingPointError("the MBG/NBD likelihood could not be evaluated")
    p = np.exp(best.x) / to_scaled
    return p, float(np.dot(w, mbgnbd_log_likelihood_rows(p, f, recency, T)))


#: Upper bound of the Pareto/NBD's shape parameters r and s (see :func:`fit_pnbd`).
PNBD_SHAPE_CAP = 1e5


def fit_pnbd(frequency, recency, T, weights=None, *, penalizer: float = 0.0, initial=None,
             newton: dict | None = None) -> tuple[np.ndarray, float, float]:
    """Maximum-likelihood Pareto/NBD on (compressed) summaries.

    Uses our per-customer likelihood with its analytic gradient
    (:func:`dbmlib.models.pnbd_gradient.pnbd_rows_with_gradient`, equal to lifetimes' likelihood)
    in lifetimes' rescaled time (``scale = 10 / max T``), on distinct rows with weights, minimised
    with L-BFGS-B on log-parameters instead of lifetimes' Nelder-Mead, warm-started from a fit on
    a sample of a tenth of the customers. The shapes r and s stop at :data:`PNBD_SHAPE_CAP`
    (data whose dropout, or purchase rate, is the same for everyone push them to infinity).
    Returns ``(params, total log-likelihood in the original time, scale)``, params
    ``(r, alpha, s, beta)`` in the original time unit. ``newton``: see :func:`fit_bgnbd`.
    """
    f = np.asarray(frequency, float)
    w = np.ones_like(f) if weights is None else np.asarray(weights, float)
    rec, age = np.asarray(recency, float), np.asarray(T, float)
    scale = 10.0 / np.max(age)
    rs, Ts = rec * scale, age * scale
    W = w.sum()
    to_scaled = np.array([1.0, scale, 1.0, scale])

    def objective(logp):
        p = np.exp(logp)
        with np.errstate(all="ignore"):
            ll, *d = pnbd_rows_with_gradient(*p, f, rs, Ts)
        value = -np.dot(w, ll) / W + penalizer * np.sum(p ** 2)
        grad = -np.array([np.dot(w, dj) for dj in d]) * p / W + 2 * penalizer * p ** 2
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros(4)
        return value, grad

    if initial is not None and newton is not None:
        x = newton_refit(objective, np.log(np.asarray(initial, float) * to_scaled), newton, ("pnbd", penalizer, scale))
        if x is not None and np.all(x[[0, 2]] < np.log(PNBD_SHAPE_CAP)):
            p = np.exp(x)
            value = objective(x)[0]
            return p / to_scaled, float(-(value - penalizer * np.sum(p ** 2)) * W + np.dot(w, f) * np.log(scale)), scale
    if initial is not None:
        starts = [np.log(np.asarray(initial, float) * to_scaled)]
    elif len(f) > 5_000:
        pick = np.random.default_rng(0).choice(len(f), max(len(f) // 10, 2_000), p=w / W)
        warm = fit_pnbd(f[pick], rec[pick], age[pick], penalizer=penalizer)[0]
        starts = [np.log(warm * to_scaled), np.zeros(4)]
    else:
        starts = [np.zeros(4), np.full(4, 0.1), np.log([0.5, 1.0, 0.5, 1.0])]
    best = None
    # r and s are shape parameters: at 1e5 a rate's heterogeneity is gone (coefficient of variation
    # 0.3 %); data without heterogeneity push them to infinity, so they stop there (diagnose flags it)
    bounds = [(None, np.log(PNBD_SHAPE_CAP)), (None, None), (None, np.log(PNBD_SHAPE_CAP)), (None, None)]
    for start in starts:
        res = minimize(objective, np.minimum(start, np.log(PNBD_SHAPE_CAP)), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9})
        if best is None or res.fun < best.fun:
            best = res
        if best.fun < 1e299 and best.success:
            break
    if best is None or best.fun >= 1e299:
        raise FloatingPointError("the Pareto/NBD likelihood could not be evaluated")
    p = np.exp(best.x)
    ll_scaled = -(best.fun - penalizer * np.sum(p ** 2)) * W  # the objective at the optimum, unpenalised
    # the likelihood in rescaled time differs by scale**x per customer
    return p / to_scaled, float(ll_scaled + np.dot(w, f) * np.log(scale)), scale


class _GGData:
    """Gamma-Gamma data: distinct frequencies (the gamma functions run once per value) and
    the per-customer constants, so an evaluation is one log, one division and four dot
    products over the customers."""

    def __init__(self, x, m, w):
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.ix = self.ix.ravel()
        self.xm, self.w, self.wx = x * m, w, w * x
        self.Wx = np.bincount(self.ix, weights=w, minlength=len(self.ux))
        self.W = w.sum()
        self.const = float(np.dot(w, -np.log(m)))  # the "−1 · ln m" term
        self.wx_log = float(np.dot(self.wx, np.log(m) + np.log(x)))  # multiplies p


def _gg_value(p3, d: _GGData, gradient: bool):
    """Total weighted Gamma-Gamma log-likelihood (Fader & Hardie 2013) and its gradient in
    ``(p, q, v)``::

        ℓ = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(xm+v)
    """
    p, q, v = p3
    ux = d.ux
    a = gammaln(p * ux + q) - gammaln(p * ux) - gammaln(q)
    t = d.xm + v
    lxv = np.log(t)
    wx_l, w_l = np.dot(d.wx, lxv), np.dot(d.w, lxv)
    value = float(np.dot(d.Wx, a) + d.W * q * np.log(v) + d.const + p * d.wx_log - p * wx_l - q * w_l)
    if not gradient:
        return value, None
    np.reciprocal(t, out=t)
    dpx = digamma(p * ux + q)
    g_p = np.dot(d.Wx * ux, dpx - digamma(p * ux)) + d.wx_log - wx_l
    g_q = np.dot(d.Wx, dpx - digamma(q)) + d.W * np.log(v) - w_l
    g_v = d.W * q / v - p * np.dot(d.wx, t) - q * np.dot(d.w, t)
    return value, np.array([g_p, g_q, g_v])


def fit_gamma_gamma(frequency, monetary_value, weights=None, *, penalizer: float = 0.0, initial=None,
                    newton: dict | None = None) -> tuple[np.ndarray, float]:
    """Maximum-likelihood Gamma-Gamma spend model: ``(params (p, q, v), total log-likelihood)``.

    Repeat customers only (``frequency > 0``, ``monetary_value > 0``). Minimises lifetimes'
    objective (mean weighted negative log-likelihood + ``penalizer × Σ params²``) over
    log-parameters with L-BFGS-B and the analytic gradient (digamma functions once per
    distinct frequency); lifetimes differentiates through autograd and its BFGS sometimes
    stops with "precision loss" at a flat optimum. Starts from ``initial`` (e.g. the
    full-data estimate for a bootstrap replicate) or moment-like values, and from lifetimes'
    ``(1, 1, 1)`` if that fails to converge; the better optimum is kept. ``newton``: see
    :func:`fit_bgnbd`.
    """
    x = np.asarray(frequency, float)
    m = np.asarray(monetary_value, float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    keep = w > 0
    d = _GGData(x[keep], m[keep], w[keep])

    def objective(logp):
        p = np.exp(logp)
        with np.errstate(all="ignore"):
            ll, g = _gg_value(p, d, gradient=True)
        if not np.isfinite(ll) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros(3)
        return -ll / d.W + penalizer * np.sum(p ** 2), -g / d.W * p + 2 * penalizer * p ** 2

    if initial is not None and newton is not None:
        x = newton_refit(objective, np.log(np.asarray(initial, float)), newton, ("gamma_gamma", penalizer))
        if x is not None:
            return np.exp(x), _gg_value(np.exp(x), d, gradient=False)[0]
    mean_m = float(np.average(m[keep], weights=d.w))
    best = None
    first = np.log(initial) if initial is not None else np.log([2.0, 3.0, 2.0 * mean_m])
    for start in (first, np.zeros(3)):
        res = minimize(objective, start, jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
        if res.fun < 1e299 and (best is None or res.fun < best.fun):
            best = res
        if best is not None and best.success:
            break
    if best is None:
        raise FloatingPointError("the Gamma-Gamma likelihood could not be evaluated")
    params = np.exp(best.x)
    return params, _gg_value(params, d, gradient=False)[0]
