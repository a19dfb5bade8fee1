"""Discrete-time buy-till-you-die: the BG/BB model (beta-geometric/beta-Bernoulli).

Some businesses give a customer one chance to buy per period — a charity's yearly appeal, an
annual event, a weekly box. Fader, Hardie & Shang (2010, "Customer-base analysis in a
discrete-time noncontractual setting", Marketing Science 29(6)) model each customer as buying
with probability ``p ~ Beta(α, β)`` in each period while alive and dying at the start of each
period with probability ``θ ~ Beta(γ, δ)``. A customer's history is ``x`` purchases in ``n``
opportunities, the last at opportunity ``t_x`` (the summary's ``frequency``, ``recency``, ``T``
counted in periods). With ``B`` the beta function (eq. 5, 7, 11, 13 of the paper)::

    L(x, t_x, n) = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
                 + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)
    P(alive at n+1)   = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / L
    E[X(n, n+n*)]     = B(α+x+1, β+n−x)/B(α,β) · δ/(γ−1) · Γ(γ+δ)/Γ(1+δ)
                        · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)] / L
    E[X(n)] (new customer) = α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ)Γ(1+δ+n) / (Γ(γ+δ+n)Γ(1+δ))]

The fit maximises the weighted log-likelihood on the distinct ``(x, t_x, n)`` rows (the
donations data of the paper has 22 of them for 11,104 donors).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, logsumexp

__all__ = ["PUBLISHED_DONATIONS", "bgbb_expected_purchases", "bgbb_log_likelihood", "bgbb_p_alive",
           "bgbb_population_purchases", "fit_bgbb"]

#: Fader, Hardie & Shang (2010): BG/BB on the 1995 donor cohort, six annual opportunities.
PUBLISHED_DONATIONS = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def _log_terms(params, x, tx, n) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the log of the "alive through n" term of L and the log of L."""
    a, b, g, d = params
    x, tx, n = (np.asarray(v, float) for v in (x, tx, n))
    alive = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d)
    width = int(np.max(n - tx)) if len(n) else 0
    i = np.arange(max(width, 1))[None, :]
    died = (betaln(a + x[:, None], b + tx[:, None] - x[:, None] + i) - betaln(a, b)
            + betaln(g + 1, d + tx[:, None] + i) - betaln(g, d))
    died = np.where(i < (n - tx)[:, None], died, -np.inf)
    return alive, logsumexp(np.column_stack([alive, died]), axis=1)


def bgbb_log_likelihood(params, x, tx, n, weights=None) -> float:
    """Total (weighted) log-likelihood of the rows at ``params = (α, β, γ, δ)``."""
    _, log_l = _log_terms(params, x, tx, n)
    w = np.ones(len(log_l)) if weights is None else np.asarray(weights, float)
    return float(w @ log_l)


def fit_bgbb(x, tx, n, weights=None, initial=None) -> tuple[np.ndarray, float]:
    """Maximum-likelihood ``(α, β, γ, δ)`` and the log-likelihood at them."""
    w = np.ones(len(np.asarray(x))) if weights is None else np.asarray(weights, float)
    scale = w.sum()

    def nll(log_params):
        return -bgbb_log_likelihood(np.exp(log_params), x, tx, n, w) / scale

    start = np.log(np.asarray(initial, float)) if initial is not None else np.zeros(4)
    fit = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20_000})
    fit = minimize(nll, fit.x, method="L-BFGS-B")
    params = np.exp(fit.x)
    return params, bgbb_log_likelihood(params, x, tx, n, w)


def bgbb_p_alive(params, x, tx, n) -> np.ndarray:
    """P(alive at opportunity ``n + 1``) of each customer."""
    a, b, g, d = params
    alive, log_l = _log_terms(params, x, tx, n)
    return np.exp(alive + betaln(g, d + np.asarray(n, float) + 1) - betaln(g, d + np.asarray(n, float)) - log_l)


def bgbb_expected_purchases(params, n_star, x, tx, n) -> np.ndarray:
    """Expected purchases of each customer in the next ``n_star`` opportunities."""
    a, b, g, d = params
    x, n = np.asarray(x, float), np.asarray(n, float)
    _, log_l = _log_terms(params, x, tx, n)
    head = betaln(a + x + 1, b + n - x) - betaln(a, b) + gammaln(g + d) - gammaln(1 + d)
    tail = (np.exp(gammaln(1 + d + n) - gammaln(g + d + n))
            - np.exp(gammaln(1 + d + n + n_star) - gammaln(g + d + n + n_star)))
    return np.exp(head - log_l) * (d / (g - 1)) * tail  # both factors change sign with γ − 1


def bgbb_population_purchases(params, n) -> np.ndarray:
    """Expected purchases of a new customer in their first ``n`` opportunities."""
    a, b, g, d = params
    n = np.asarray(n, float)
    return a / (a + b) * d / (g - 1) * (1 - np.exp(gammaln(g + d) + gammaln(1 + d + n) - gammaln(g + d + n)
                                                   - gammaln(1 + d)))
