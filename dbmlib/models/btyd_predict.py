"""Fast BG/NBD predictions for millions of customers.

The conditional expectation of the BG/NBD (Fader, Hardie & Lee 2005, eq. 10)::

    E[Y(t) | x, tₓ, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
                         ─────────────────────────────────────────────────────────────────────
                                  1 + [x>0] · a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x)

Its only expensive part, the hypergeometric function, depends on ``(x, T, t)`` but not on
``tₓ``; customers share few distinct ``(x, T)`` pairs, so it is evaluated once per pair (and
per horizon) and gathered. The values equal ``lifetimes.BetaGeoFitter``'s to rounding
(tested to 1e-10).
"""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1

from .btyd_fit import distinct_rows

__all__ = ["bgnbd_discounted_purchases", "bgnbd_expected_purchases", "bgnbd_p_alive"]


def _parts(params, ts, frequency, recency, T):
    """Numerator per distinct (x, T) pair and horizon, the pair of each customer, and each
    customer's denominator."""
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(frequency, float)
    tx = np.asarray(recency, float)
    T = np.asarray(T, float)
    (px, pT), k = distinct_rows(x, T)
    z = ts[None, :] / (alpha + pT[:, None] + ts[None, :])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        bracket = 1.0 - ((alpha + pT[:, None]) / (alpha + pT[:, None] + ts[None, :])) ** (r + px[:, None]) \
            * hyp2f1(r + px[:, None], b + px[:, None], a + b + px[:, None] - 1.0, z)
        numerator = (a + b + px[:, None] - 1.0) / (a - 1.0) * bracket
        dropped = np.where(x > 0, a / np.where(x > 0, b + x - 1.0, 1.0)
                           * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
    return numerator, k, 1.0 + dropped


def bgnbd_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """E[purchases in the next ``t``] per customer; ``t`` a scalar or a 1-d array of horizons
    (then the result has one column per horizon)."""
    ts = np.atleast_1d(np.asarray(t, float))
    numerator, k, denominator = _parts(params, ts, frequency, recency, T)
    out = numerator[k] / denominator[:, None]
    return out[:, 0] if np.ndim(t) == 0 else out


def bgnbd_discounted_purchases(params, horizons, discount, frequency, recency, T) -> np.ndarray:
    """``Σₘ (E[Y(tₘ)] − E[Y(tₘ₋₁)]) · discount[m]`` per customer (``t₀ = 0``).

    The sum is linear in the E[Y(tₘ)], so it is formed per (x, T) pair and divided by each
    customer's denominator once: the cost does not grow with the number of horizons times
    customers."""
    ts = np.asarray(horizons, float)
    dsc = np.asarray(discount, float)
    # Σ (Eₘ − Eₘ₋₁) Dₘ = Σₘ<M Eₘ (Dₘ − Dₘ₊₁) + E_M D_M
    coef = np.r_[dsc[:-1] - dsc[1:], dsc[-1]]
    numerator, k, denominator = _parts(params, ts, frequency, recency, T)
    return (numerator @ coef)[k] / denominator


def bgnbd_p_alive(params, frequency, recency, T) -> np.ndarray:
    """P(alive) per customer: ``1 / (1 + [x>0] a/(b+x−1) ((α+T)/(α+tₓ))^(r+x))``."""
    r, alpha, a, b = (float(v) for v in params)
    x, tx, T = (np.asarray(v, float) for v in (frequency, recency, T))
    with np.errstate(over="ignore"):
        dropped = np.where(x > 0, a / np.where(x > 0, b + x - 1.0, 1.0)
                           * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
    return 1.0 / (1.0 + dropped)
