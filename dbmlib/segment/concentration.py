"""Where the business comes from: value concentration (Lorenz, Gini, 80/20), profitability
after contact costs, and penetration by region, age band or income band."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["gini", "lorenz_curve", "penetration", "penetration_tables", "profitability", "top_share"]


def lorenz_curve(values) -> pd.DataFrame:
    """Cumulative share of customers (poorest first) vs cumulative share of value, from (0, 0)."""
    v = np.sort(np.clip(np.asarray(values, dtype=float), 0, None))
    total = v.sum()
    if total <= 0:
        raise ValueError("the values sum to zero: no concentration to measure")
    cum = np.concatenate([[0.0], np.cumsum(v) / total])
    return pd.DataFrame({"customer_share": np.linspace(0, 1, len(v) + 1), "value_share": cum})


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal, → 1 = one customer has everything).

    ``G = sum_i (2i - n - 1) x_(i) / (n * sum x)`` over sorted values (i = 1..n).
    """
    v = np.sort(np.clip(np.asarray(values, dtype=float), 0, None))
    n, total = len(v), v.sum()
    if n == 0 or total <= 0:
        raise ValueError("gini needs at least one positive value")
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * v) / (n * total))


def top_share(values, top: float = 0.2) -> float:
    """Share of the total held by the top ``top`` fraction of customers (ceil of the count)."""
    v = np.sort(np.clip(np.asarray(values, dtype=float), 0, None))[::-1]
    k = int(np.ceil(top * len(v)))
    return float(v[:k].sum() / v.sum())


def profitability(revenue: pd.Series, costs: pd.Series | None = None, margin: float = 0.35
                  ) -> pd.DataFrame:
    """Profit per customer = revenue × margin − costs (e.g. contact costs)."""
    costs = costs.reindex(revenue.index).fillna(0.0) if costs is not None else 0.0
    profit = revenue * margin - costs
    return pd.DataFrame({"revenue": revenue, "costs": costs, "profit": profit,
                         "unprofitable": profit < 0})


def penetration(features: pd.DataFrame, by: str, population: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    """Customers, revenue and revenue per customer by ``by``, with an index against the base.

    ``index_value`` = revenue per customer of the group / that of the whole base × 100.
    With a ``population`` frame (``by`` and ``population`` columns), also the penetration
    (customers / population) and its index against the overall penetration.
    """
    g = features.groupby(by, observed=True)
    out = pd.DataFrame({"customers": g.size(), "revenue": g["revenue"].sum()})
    out["share_customers"] = out["customers"] / out["customers"].sum()
    out["share_revenue"] = out["revenue"] / out["revenue"].sum()
    out["revenue_per_customer"] = out["revenue"] / out["customers"]
    base = out["revenue"].sum() / out["customers"].sum()
    out["index_value"] = (out["revenue_per_customer"] / base * 100).round(1)
    if population is not None:
        pop = population.set_index(by)["population"]
        out["population"] = pop.reindex(out.index)
        out["penetration"] = out["customers"] / out["population"]
        overall = out["customers"].sum() / out["population"].sum()
        out["index_penetration"] = (out["penetration"] / overall * 100).round(1)
    return out.sort_values("index_value", ascending=False)


def penetration_tables(features: pd.DataFrame, population: pd.DataFrame | None = None,
                       columns=("region", "age_band", "income_band")) -> dict[str, pd.DataFrame]:
    """:func:`penetration` by each demographic column the features know something about
    (``population`` applies to ``region``); empty for a source without demographics."""
    out = {}
    for col in columns:
        if col in features.columns and (features[col] != "unknown").any():
            out[col] = penetration(features, col, population if col == "region" else None)
    return out
