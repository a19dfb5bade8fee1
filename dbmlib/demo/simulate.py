"""Vectorised simulation of buy-till-you-die purchase logs and Gamma-Gamma spend.

The generators draw every customer's latent traits first and then all purchase times
at once (no Python loop per customer), so they scale to millions of customers. They are
used by :func:`dbmlib.demo.retail_demo.make_retail_demo` and by the benchmarks.

The BG/NBD process (Fader, Hardie & Lee, 2005): while alive, a customer buys as a
Poisson process with rate ``lam ~ Gamma(r, alpha)``; after every *repeat* purchase the
customer drops out with probability ``p ~ Beta(a, b)``.  Spend per transaction is
``Gamma(p_spend, nu)`` with ``nu ~ Gamma(q, gamma)`` (Fader & Hardie's Gamma-Gamma model).
"""

from __future__ import annotations

import numpy as np

from ..models.btyd_simulate import (
    BGNBDTraits,
    draw_bgnbd_traits,
    draw_spend,
    simulate_repeat_purchases,
    truncate_at_dropout,
)

__all__ = [
    "BGNBDTraits",
    "draw_bgnbd_traits",
    "draw_repeat_purchases",
    "draw_spend",
    "pnbd_summary",
    "simulate_repeat_purchases",
    "transaction_log",
]


def transaction_log(n_customers: int, *, seed: int, start: str = "2023-01-01", days: int = 730,
                    r: float = 0.75, alpha: float = 110.0, a: float = 0.8, b: float = 3.2,
                    q: float = 4.0, gamma: float = 30.0, p_spend: float = 6.0,
                    first_id: int = 0):
    """A BG/NBD + Gamma-Gamma transaction log (``customer_id`` int64, ``order_ts``, ``amount``).

    Customers make their first purchase uniformly over the first half of ``days`` and then
    follow the process until ``start + days``. Used for benchmarks at millions of rows: the
    same ``seed`` gives the same log; ``first_id`` offsets ids so chunks can be concatenated.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    traits = draw_bgnbd_traits(n_customers, r=r, alpha=alpha, a=a, b=b, q=q, gamma=gamma, rng=rng)
    first = rng.uniform(0, days / 2, n_customers)
    cust, t, _, _ = simulate_repeat_purchases(traits, days - first, rng)
    idx = np.concatenate([np.arange(n_customers), cust])
    when = np.concatenate([first, first[cust] + t])
    order = np.lexsort((when, idx))
    idx, when = idx[order], when[order]
    ts = np.datetime64(start, "s") + (when * 86400).astype("timedelta64[s]")
    amount = np.round(np.maximum(draw_spend(traits.nu, idx, p_spend=p_spend, rng=rng), 1.0), 2)
    return pd.DataFrame({"customer_id": idx.astype(np.int64) + first_id, "order_ts": ts,
                         "amount": amount})


def pnbd_summary(n_customers: int, *, seed: int, r: float = 0.55, alpha: float = 10.58,
                 s: float = 0.61, beta: float = 11.67, max_T: float = 78.0, resolution: float = 1 / 7):
    """A Pareto/NBD summary (``frequency, recency, T``) drawn from the model itself.

    Defaults are the published CDNOW estimates (weeks). ``T`` is uniform on
    ``(1, max_T)``; times are floored to ``resolution`` (a day when the unit is weeks), as a
    daily transaction log would be. Used to benchmark and test Pareto/NBD fits where the
    truth is a proper interior optimum.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    mu = rng.gamma(s, 1.0 / beta, n_customers)
    T = np.floor(rng.uniform(1.0, max_T, n_customers) / resolution) * resolution
    life = np.minimum(rng.exponential(1.0 / np.maximum(mu, 1e-300)), T)
    x = rng.poisson(lam * life)
    # the last of x uniform arrival times on (0, life)
    last = np.where(x > 0, life * rng.random(n_customers) ** (1.0 / np.maximum(x, 1)), 0.0)
    recency = np.floor(last / resolution) * resolution
    return pd.DataFrame({"frequency": x.astype(float), "recency": recency, "T": T})


def draw_repeat_purchases(traits: BGNBDTraits, horizon: np.ndarray, rng: np.random.Generator
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`simulate_repeat_purchases` without sorting the purchases nobody makes: the same
    random draws and the same four results, in a fraction of the time when customers would buy
    far more often than they live (a high purchase rate).

    The Poisson arrivals after a customer's dropout are drawn (so the random stream stays
    aligned) but not sorted: only the arrivals below a per-customer time that holds, with
    overwhelming probability, the ``lifetime_repeats`` earliest are sorted, and a customer for
    whom it holds fewer is sorted whole. Arrivals kept are then exactly the earliest, in order.
    A customer's times are the same multiple of the uniform draws (multiples of 2**-53), so
    they sort as the draws' top bits do (ties, which would need the low bits, are sorted exactly).
    """
    horizon = np.asarray(horizon, dtype=float)
    n = horizon.size
    arrivals = rng.poisson(traits.lam * horizon)
    cust = np.repeat(np.arange(n), arrivals)
    u = rng.uniform(0.0, 1.0, size=cust.size)
    times = u * horizon[cust]
    keep_n = np.minimum(arrivals, traits.lifetime_repeats)  # purchases made, or up to the dropout
    share = (keep_n + 3.0 * np.sqrt(keep_n) + 4.0) / np.maximum(arrivals, 1)
    cut = np.where((share >= 1) | (keep_n == arrivals), np.inf, share * horizon)  # everything if it is close
    while True:
        pick = np.flatnonzero(times < cut[cust])  # a down-set of each customer's times
        short = np.bincount(cust[pick], minlength=n) < keep_n
        if not short.any():
            break
        cut[short] = np.inf
    c, t = cust[pick], times[pick]
    order = None
    if n < 2**23:  # sort on one integer: the customer, then the top 40 of the uniform's 53 bits
        key = (c << 40) | ((u[pick] * 2.0**53).astype(np.int64) >> 13)
        order = np.argsort(key, kind="stable")  # runs of one customer: fast
        if (np.diff(key[order]) == 0).any():  # two draws alike in 40 bits: sort exactly
            order = None
    if order is None:
        order = np.lexsort((t, c))
    c, t = c[order], t[order]
    return truncate_at_dropout(c, t, np.bincount(c, minlength=n), arrivals, traits.lifetime_repeats)
