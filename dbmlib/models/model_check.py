"""Does the fitted model describe the data? Simulate from it and compare.

A posterior-predictive-style check for the continuous-time purchase models: with the fitted
population parameters, :func:`simulate_frequencies` draws a new customer for every observed one
— their own purchase rate and dropout from the fitted distributions — over the observed
customer's own ``T``, and counts the repeat purchases. :func:`frequency_check` compares the
histogram of those simulated counts (averaged over ``n_sims`` replicates) with the observed
histogram, repeat counts 0, 1, …, ``max_count − 1`` and ``max_count`` or more, by Pearson's
chi-square; a small p-value says the model's frequency distribution is not the data's (with
thousands of customers even small misfits are "significant": read the table, not only the
p-value).

Per model, after the first purchase at time 0:

* BG/NBD: ``λ ~ Gamma(r, α)``, ``p ~ Beta(a, b)``; purchases at Poisson rate λ; after each
  repeat purchase the customer drops out with probability ``p``;
* MBG/NBD: the same, but the dropout can also happen right after the first purchase;
* Pareto/NBD: ``λ ~ Gamma(r, α)``, ``μ ~ Gamma(s, β)``; the lifetime is exponential with rate μ,
  purchases at Poisson rate λ while alive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

from .clv import PurchaseModel, check_summary

__all__ = ["frequency_check", "simulate_frequencies"]


def simulate_frequencies(model: PurchaseModel, T, rng: np.random.Generator) -> np.ndarray:
    """Repeat purchases of one simulated customer per entry of ``T`` (their observation
    length), drawn from the fitted ``model`` (BG/NBD, MBG/NBD or Pareto/NBD)."""
    T = np.asarray(T, float)
    n = len(T)
    p = model.params_
    if model.kind in ("bgnbd", "mbgnbd"):
        lam = rng.gamma(p["r"], 1.0 / p["alpha"], n)
        drop = rng.beta(p["a"], p["b"], n)
        repeats = rng.geometric(np.clip(drop, 1e-12, 1.0))  # repeat purchase after which they leave
        if model.kind == "mbgnbd":  # the first chance to leave is right after the first purchase
            lam = np.where(rng.random(n) < drop, 0.0, lam)
        # purchases arrive at rate λ until the dropout after the `repeats`-th: the count by T is
        # min(Poisson(λT), repeats) — the count simulate_repeat_purchases gives, without the times
        return np.minimum(rng.poisson(lam * T), repeats)
    if model.kind == "pnbd":
        lam = rng.gamma(p["r"], 1.0 / p["alpha"], n)
        mu = rng.gamma(p["s"], 1.0 / p["beta"], n)
        life = np.minimum(rng.exponential(1.0 / np.maximum(mu, 1e-300)), T)
        return rng.poisson(lam * life)
    raise ValueError(f"the frequency check simulates bgnbd, mbgnbd and pnbd, not {model.kind!r}")


def frequency_check(model: PurchaseModel, summary: pd.DataFrame, *, max_count: int = 7, n_sims: int = 20,
                    seed: int = 0) -> pd.DataFrame:
    """Observed and simulated customers per repeat count (``max_count`` means that many or
    more), with Pearson's chi-square in ``attrs``: ``chi2``, ``df`` (buckets − 1), ``p_value``."""
    check_summary(summary)
    rng = np.random.default_rng(seed)
    T = summary["T"].to_numpy(float)
    bucket = np.arange(max_count + 1)
    observed = np.bincount(np.minimum(summary["frequency"].to_numpy(int), max_count), minlength=max_count + 1)
    simulated = np.zeros(max_count + 1)
    for _ in range(n_sims):
        simulated += np.bincount(np.minimum(simulate_frequencies(model, T, rng), max_count), minlength=max_count + 1)
    expected = simulated / n_sims
    ok = expected > 0
    stat = float((((observed - expected) ** 2)[ok] / expected[ok]).sum())
    df = int(ok.sum()) - 1
    labels = [str(k) for k in bucket[:-1]] + [f"{max_count}+"]
    out = pd.DataFrame({"observed": observed, "simulated": expected}, index=pd.Index(labels, name="repeat purchases"))
    out.attrs.update(chi2=stat, df=df, p_value=float(chi2.sf(stat, df)) if df > 0 else np.nan, n_sims=n_sims)
    return out
