"""Segmentation and analysis: clusters, value concentration (80/20), penetration, cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = [
    "RFMClusterer",
    "cluster_profiles",
    "cohort_retention",
    "gini",
    "lorenz_curve",
    "penetration",
    "profitability",
    "top_share",
]


class RFMClusterer:
    """k-means on scaled log-RFM (plus optional one-hot demographics), k chosen by silhouette.

    Parameters
    ----------
    k_range : tuple of int, default (2, 6)
        Smallest and largest k tried (inclusive).
    demographics : list of str, optional
        Categorical columns of the input added (one-hot, scaled by ``demographic_weight``).
    demographic_weight : float, default 0.5
    silhouette_sample : int, default 4000
        Customers sampled (seeded) to compute each silhouette score.
    random_state : int, default 0

    Attributes
    ----------
    k_ : int, chosen number of clusters
    silhouette_ : dict k → silhouette score
    labels_ : ndarray of cluster labels (0 = the cluster with the highest mean revenue)
    model_ : fitted KMeans
    """

    def __init__(self, k_range=(2, 6), demographics=None, demographic_weight=0.5,
                 silhouette_sample=4000, random_state=0):
        self.k_range = k_range
        self.demographics = demographics
        self.demographic_weight = demographic_weight
        self.silhouette_sample = silhouette_sample
        self.random_state = random_state

    def _features(self, X: pd.DataFrame, fit: bool) -> np.ndarray:
        rfm = np.log1p(X[["recency_days", "orders", "revenue"]].clip(lower=0).astype(float))
        if fit:
            self.scaler_ = StandardScaler().fit(rfm)
        parts = [self.scaler_.transform(rfm)]
        if self.demographics:
            demo = X[list(self.demographics)].astype("string").fillna("unknown")
            if fit:
                self.encoder_ = OneHotEncoder(handle_unknown="ignore").fit(demo)
            parts.append(self.encoder_.transform(demo).toarray() * self.demographic_weight)
        return np.hstack(parts)

    def fit(self, X: pd.DataFrame, y=None):
        lo, hi = self.k_range
        if lo < 2 or hi < lo:
            raise ValueError(f"k_range must be (lo, hi) with 2 <= lo <= hi, got {self.k_range}")
        if len(X) <= hi:
            raise ValueError(f"need more customers ({len(X)}) than the largest k ({hi})")
        Z = self._features(X, fit=True)
        self.silhouette_, models = {}, {}
        sample = min(self.silhouette_sample, len(Z))
        for k in range(lo, hi + 1):
            km = KMeans(n_clusters=k, n_init=3, random_state=self.random_state).fit(Z)
            self.silhouette_[k] = float(silhouette_score(Z, km.labels_, sample_size=sample,
                                                         random_state=self.random_state))
            models[k] = km
        self.k_ = max(self.silhouette_, key=self.silhouette_.get)
        self.model_ = models[self.k_]
        revenue = pd.Series(X["revenue"].to_numpy()).groupby(self.model_.labels_).mean()
        self.order_ = revenue.sort_values(ascending=False).index.to_numpy()
        self.labels_ = self._relabel(self.model_.labels_)
        return self

    def _relabel(self, raw: np.ndarray) -> np.ndarray:
        rank = np.empty(len(self.order_), dtype=int)
        rank[self.order_] = np.arange(len(self.order_))
        return rank[raw]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._relabel(self.model_.predict(self._features(X, fit=False)))


def cluster_profiles(features: pd.DataFrame, labels, demographics=("region", "age_band",
                                                                    "income_band")) -> pd.DataFrame:
    """Size, share of customers and revenue, mean R/F/M and modal demographics per cluster,
    with a readable label (recent/lapsed · frequent/occasional · high/low spend, against the
    medians of the whole base)."""
    f = features.assign(cluster=np.asarray(labels))
    g = f.groupby("cluster")
    prof = pd.DataFrame({
        "customers": g.size(),
        "share_customers": g.size() / len(f),
        "share_revenue": g["revenue"].sum() / f["revenue"].sum(),
        "mean_recency_days": g["recency_days"].mean(),
        "mean_orders": g["orders"].mean(),
        "mean_revenue": g["revenue"].mean(),
    })
    for col in demographics:
        if col in f.columns and f[col].nunique() > 1:
            prof[f"top_{col}"] = g[col].agg(lambda s: s.value_counts().index[0])
    med = f[["recency_days", "orders", "revenue"]].median()
    prof["label"] = [
        " · ".join([
            "recent" if row.mean_recency_days <= med["recency_days"] else "lapsed",
            "frequent" if row.mean_orders > med["orders"] else "occasional",
            "high spend" if row.mean_revenue > med["revenue"] else "low spend",
        ]) for row in prof.itertuples()]
    return prof


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


def cohort_retention(transactions: pd.DataFrame, *, customer_id_col: str = "customer_id",
                     datetime_col: str = "order_ts", amount_col: str = "net_amount",
                     max_months: int = 24) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly acquisition cohorts (month of first purchase).

    Returns ``(retention, revenue)``: share of each cohort buying in month 0, 1, … after
    acquisition (month 0 is 1.0 by construction), and the cohort's revenue per month;
    months after the last observed month are missing (NaN), not zero.
    """
    ts = pd.to_datetime(transactions[datetime_col])
    month = (ts.dt.year * 12 + ts.dt.month - 1).to_numpy()
    cid, _ = pd.factorize(transactions[customer_id_col])  # integer codes: fast group-bys
    cohort = pd.Series(month).groupby(cid).transform("min").to_numpy()
    df = pd.DataFrame({"cohort": cohort, "age": month - cohort, "cid": cid,
                       "amount": transactions[amount_col].astype(float).to_numpy()})
    df = df[df["age"] <= max_months]
    size = df[df["age"] == 0].groupby("cohort")["cid"].nunique()
    active = (df.drop_duplicates(["cohort", "age", "cid"]).groupby(["cohort", "age"]).size()
              .unstack(fill_value=0))
    retention = active.div(size, axis=0)
    revenue = df.groupby(["cohort", "age"])["amount"].sum().unstack(fill_value=0.0)
    # months after the last observed month are unknown, not zero
    unseen = (retention.index.to_numpy()[:, None] + retention.columns.to_numpy()[None, :]) > month.max()
    retention = retention.mask(unseen)
    revenue = revenue.mask(unseen)
    labels = [f"{c // 12}-{c % 12 + 1:02d}" for c in retention.index]
    retention.index = revenue.index = size.index = pd.Index(labels, name="cohort")
    retention.insert(0, "customers", size)
    return retention, revenue
