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

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BGNBDTraits",
    "draw_bgnbd_traits",
    "draw_spend",
    "pnbd_summary",
    "simulate_repeat_purchases",
    "transaction_log",
]


@dataclass(frozen=True)
class BGNBDTraits:
    """Latent traits of each customer: purchase rate, dropout probability, spend rate."""

    lam: np.ndarray
    p: np.ndarray
    nu: np.ndarray
    lifetime_repeats: np.ndarray  # repeat purchase after which the customer drops out


def draw_bgnbd_traits(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    q: float,
    gamma: float,
    rng: np.random.Generator,
) -> BGNBDTraits:
    """Draw latent traits for ``n`` customers.

    ``alpha`` and ``gamma`` are rate parameters (the conventions of the papers and of
    ``lifetimes``): ``E[lam] = r / alpha`` per time unit, ``E[p] = a / (a + b)``.
    """
    lam = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    nu = rng.gamma(shape=q, scale=1.0 / gamma, size=n)
    # number of repeat purchases until (and including) the one after which they drop out
    lifetime_repeats = rng.geometric(np.clip(p, 1e-12, 1.0))
    return BGNBDTraits(lam=lam, p=p, nu=nu, lifetime_repeats=lifetime_repeats)


def simulate_repeat_purchases(
    traits: BGNBDTraits, horizon: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Repeat-purchase times after each customer's first purchase.

    Parameters
    ----------
    traits : BGNBDTraits
    horizon : array of float
        Length of each customer's observation window after the first purchase (time units).
    rng : numpy Generator

    Returns
    -------
    customer : int array, index of the customer of each repeat purchase
    time : float array, time of each repeat purchase after the first purchase (sorted
        within customer)
    alive : bool array per customer, still alive at the end of its window
    death_time : float array per customer, time of dropout (``inf`` if alive)
    """
    horizon = np.asarray(horizon, dtype=float)
    n = horizon.size
    arrivals = rng.poisson(traits.lam * horizon)
    cust = np.repeat(np.arange(n), arrivals)
    times = rng.uniform(0.0, 1.0, size=cust.size) * horizon[cust]
    order = np.lexsort((times, cust))
    cust, times = cust[order], times[order]
    starts = np.concatenate(([0], np.cumsum(arrivals)[:-1]))
    rank = np.arange(cust.size) - starts[cust]  # 0-based position within customer
    keep = rank < traits.lifetime_repeats[cust]
    alive = arrivals < traits.lifetime_repeats
    death_time = np.full(n, np.inf)
    dead_idx = np.flatnonzero(~alive)
    # the dropout happens right after the lifetime_repeats-th arrival
    death_time[dead_idx] = times[starts[dead_idx] + traits.lifetime_repeats[dead_idx] - 1]
    return cust[keep], times[keep], alive, death_time


def draw_spend(
    nu: np.ndarray, customer: np.ndarray, *, p_spend: float, rng: np.random.Generator
) -> np.ndarray:
    """Spend of each transaction: ``Gamma(p_spend, rate=nu[customer])``."""
    return rng.gamma(shape=p_spend, scale=1.0 / nu[customer])


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
