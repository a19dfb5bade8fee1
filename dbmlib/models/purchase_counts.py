"""P(n purchases in t): the distribution of a new customer's repeat purchases, per model.

* **BG/NBD** (Fader, Hardie & Lee 2005, eq. 8)::

      P(X(t)=x) = B(a, b+x)/B(a, b) · NB(x; r, α/(α+t))
                  + [x>0] · B(a+1, b+x−1)/B(a, b) · P(NB(r, α/(α+t)) ≥ x)

  (alive throughout, or dropped out after the x-th repeat purchase, before t);
* **MBG/NBD** (Batislam, Denizel & Filiztekin 2007): the same with ``B(a, b+x+1)`` and
  ``B(a+1, b+x)·P(NB ≥ x+1)``, so a customer may also drop out at the first purchase;
* **Pareto/NBD**: given the death time τ the count is Poisson(λ·min(τ, t)); integrating λ
  and μ out::

      P(X(t)=x) = NB(x; r, α/(α+t)) · (β/(β+t))^s + ∫₀ᵗ NB(x; r, α/(α+τ)) dF(τ),
      F(τ) = 1 − (β/(β+τ))^s

  evaluated by Gauss-Legendre quadrature in ``u = F(τ)`` (the integrand is then smooth);
* **BG/BB** (Fader, Hardie & Shang 2010, eq. 8), ``t`` opportunities::

      P(X(t)=x) = C(t, x) B(α+x, β+t−x)/B(α, β) · B(γ, δ+t)/B(γ, δ)
                  + Σ_{i=x}^{t−1} C(i, x) B(α+x, β+i−x)/B(α, β) · B(γ+1, δ+i)/B(γ, δ)

``NB(x; r, p)`` is the negative binomial ``Γ(r+x)/(Γ(r) x!) p^r (1−p)^x``. Each sums to 1 over
x and has the model's expected purchases as its mean (tested); the BG/NBD and MBG/NBD equal
lifetimes' ``probability_of_n_purchases_up_to_time``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln
from scipy.stats import nbinom

__all__ = ["bgbb_count_pmf", "bgnbd_count_pmf", "mbgnbd_count_pmf", "pnbd_count_pmf", "purchase_count_table"]

_GX, _GW = np.polynomial.legendre.leggauss(64)


def _counts(n) -> np.ndarray:
    n = np.asarray(n)
    if np.any(n < 0) or np.any(n != np.round(n)):
        raise ValueError(f"purchase counts must be whole numbers >= 0, got {n}")
    return n.astype(float)


def bgnbd_count_pmf(params, t: float, n) -> np.ndarray:
    """BG/NBD: P(a new customer makes exactly ``n`` repeat purchases by ``t``)."""
    r, alpha, a, b = (float(v) for v in params)
    x = _counts(n)
    p = alpha / (alpha + t)
    alive = np.exp(betaln(a, b + x) - betaln(a, b)) * nbinom.pmf(x, r, p)
    with np.errstate(invalid="ignore"):
        died = np.where(x > 0, np.exp(betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b)) * nbinom.sf(x - 1, r, p), 0)
    return alive + died


def mbgnbd_count_pmf(params, t: float, n) -> np.ndarray:
    """MBG/NBD: P(a new customer makes exactly ``n`` repeat purchases by ``t``)."""
    r, alpha, a, b = (float(v) for v in params)
    x = _counts(n)
    p = alpha / (alpha + t)
    return (np.exp(betaln(a, b + x + 1) - betaln(a, b)) * nbinom.pmf(x, r, p)
            + np.exp(betaln(a + 1, b + x) - betaln(a, b)) * nbinom.sf(x - 1, r, p))


def pnbd_count_pmf(params, t: float, n) -> np.ndarray:
    """Pareto/NBD: P(a new customer makes exactly ``n`` repeat purchases by ``t``)."""
    r, alpha, s, beta = (float(v) for v in params)
    x = _counts(n)
    dead_by_t = -np.expm1(-s * np.log1p(t / beta))  # F(t)
    u = dead_by_t * (_GX + 1) / 2  # nodes in [0, F(t)]
    tau = beta * np.expm1(-np.log1p(-u) / s)  # F⁻¹(u)
    died = (nbinom.pmf(x[..., None], r, alpha / (alpha + tau)) * _GW).sum(-1) * dead_by_t / 2
    return nbinom.pmf(x, r, alpha / (alpha + t)) * (1 - dead_by_t) + died


def bgbb_count_pmf(params, t: int, n) -> np.ndarray:
    """BG/BB: P(a new customer buys at exactly ``n`` of their first ``t`` opportunities)."""
    a, b, g, d = (float(v) for v in params)
    if t != int(t) or t < 0:
        raise ValueError(f"BG/BB counts whole opportunities: t must be a whole number >= 0, got {t}")
    x = _counts(n)
    t = int(t)

    def log_choose(m, k):
        return gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1)

    x_flat = np.atleast_1d(x)
    out = np.zeros(x_flat.shape)
    for k, xk in enumerate(x_flat):
        if xk > t:
            continue
        alive = np.exp(log_choose(t, xk) + betaln(a + xk, b + t - xk) - betaln(a, b) + betaln(g, d + t) - betaln(g, d))
        i = np.arange(xk, t, dtype=float)
        died = np.exp(log_choose(i, xk) + betaln(a + xk, b + i - xk) - betaln(a, b)
                      + betaln(g + 1, d + i) - betaln(g, d)).sum()
        out[k] = alive + died
    return out.reshape(np.shape(x))


def purchase_count_table(model, t: float, max_count: int = 7) -> pd.DataFrame:
    """A fitted purchase model's distribution of a new customer's repeat purchases within
    ``t``: one row per count 0 … ``max_count − 1`` and a last row "``max_count`` or more",
    with the probability and the cumulative probability."""
    p = np.asarray(model.purchase_count_probability(t, np.arange(max_count)), float)
    probability = np.append(p, max(0.0, 1.0 - p.sum()))
    labels = [str(k) for k in range(max_count)] + [f"{max_count} or more"]
    return pd.DataFrame({"probability": probability, "cumulative": np.cumsum(probability)},
                        index=pd.Index(labels, name="repeat purchases"))
