"""Buy-till-you-die simulation shared by the model checks and the demo generator.

The BG/NBD process (Fader, Hardie & Lee, 2005): while alive, a customer buys as a Poisson
process with rate ``lam ~ Gamma(r, alpha)``; after every *repeat* purchase the customer drops
out with probability ``p ~ Beta(a, b)``. Spend per transaction is ``Gamma(p_spend, nu)`` with
``nu ~ Gamma(q, gamma)`` (Fader & Hardie's Gamma-Gamma model). Every customer's latent traits
are drawn first and then all purchase times at once (no Python loop per customer), so it
scales to millions of customers. :mod:`dbmlib.demo.simulate` builds whole logs from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BGNBDTraits", "draw_bgnbd_traits", "draw_spend", "simulate_repeat_purchases", "truncate_at_dropout"]


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
    return truncate_at_dropout(cust[order], times[order], arrivals, arrivals, traits.lifetime_repeats)


def truncate_at_dropout(cust: np.ndarray, times: np.ndarray, counts: np.ndarray, arrivals: np.ndarray,
                        lifetime_repeats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The purchases made before each customer's dropout, from arrival times sorted by customer
    then time (``counts`` of them per customer; ``arrivals`` all the customer's Poisson
    arrivals): the kept customers and times, alive at the window's end, the dropout time (right
    after the ``lifetime_repeats``-th arrival; ``inf`` if alive)."""
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(cust.size) - starts[cust]  # 0-based position within customer
    keep = rank < lifetime_repeats[cust]
    alive = arrivals < lifetime_repeats
    death_time = np.full(arrivals.size, np.inf)
    dead = np.flatnonzero(~alive)
    death_time[dead] = times[starts[dead] + lifetime_repeats[dead] - 1]
    return cust[keep], times[keep], alive, death_time


def draw_spend(
    nu: np.ndarray, customer: np.ndarray, *, p_spend: float, rng: np.random.Generator
) -> np.ndarray:
    """Spend of each transaction: ``Gamma(p_spend, rate=nu[customer])``."""
    return rng.gamma(shape=p_spend, scale=1.0 / nu[customer])
