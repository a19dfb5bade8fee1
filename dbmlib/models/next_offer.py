"""Next best offer: for each customer and each category not bought yet, the probability of
buying it in the next ``horizon_days``.

One model over customer × category rows (:func:`offer_frame`): the customer's recency,
orders and revenue, how many categories they already own, the category's popularity, and
the strongest association-rule lift from a category they own to this one and the lift from
the category of their latest order (rules mined on the same history, customer level). Evaluated on a time split (:func:`evaluate_next_offer`):
fitted on the period before one cutoff, scored at a later cutoff, graded by AUC and by
the top-1/top-3 hit rate — among customers who did add a category, how often the offer
ranked first (or in the first three) was one of them — against the two baselines a
marketer would use without a model: the most popular category not owned, and the category
with the best rule from what the customer owns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ..core.db import table_exists
from ..segment.baskets import lift_matrix, read_order_lines, sales_lines
from ..segment.margins import item_margin_rates, read_catalogue

__all__ = ["FEATURES", "NextBestOffer", "OfferResult", "evaluate_next_offer", "next_best_offers", "offer_frame",
           "offer_hit_rates", "offer_item"]

FEATURES = ["recency_days", "orders", "revenue", "items_owned", "popularity", "max_lift", "last_lift"]


def offer_frame(order_lines: pd.DataFrame, cutoff, horizon_days: int = 90, level: str = "category") -> pd.DataFrame:
    """One row per (customer, item not bought by ``cutoff``) for customers who bought before
    it, with the :data:`FEATURES` and ``bought`` (the item was bought in the ``horizon_days``
    after ``cutoff``; all False when the horizon lies beyond the data)."""
    cutoff = pd.Timestamp(cutoff)
    lines = sales_lines(order_lines, level)
    before = lines[lines["order_ts"] <= cutoff]
    after = lines[(lines["order_ts"] > cutoff) & (lines["order_ts"] <= cutoff + pd.Timedelta(days=horizon_days))]
    owned = pd.crosstab(before["customer_id"], before["item"]).gt(0)
    if owned.empty:
        return pd.DataFrame(columns=["customer_id", "item", *FEATURES, "bought"])
    lift = lift_matrix(owned)
    o = owned.to_numpy(bool)
    max_lift = np.stack([(o * lift[item].to_numpy()).max(axis=1) for item in owned.columns], axis=1)
    per = before.groupby("customer_id").agg(last=("order_ts", "max"), orders=("order_id", "nunique"),
                                            revenue=("amount", "sum")).reindex(owned.index)
    latest = before.sort_values(["order_ts", "order_id"], kind="stable").groupby("customer_id")["item"].last()
    last_pos = pd.Index(owned.columns).get_indexer(latest.reindex(owned.index))
    last_lift = lift.to_numpy()[last_pos]  # row: the lift from the customer's latest category
    grid = pd.DataFrame({
        "customer_id": np.repeat(owned.index.to_numpy(), owned.shape[1]),
        "item": np.tile(owned.columns.to_numpy(), len(owned)),
        "owned": o.ravel(), "max_lift": max_lift.ravel(), "last_lift": last_lift.ravel(),
        "popularity": np.tile(o.mean(axis=0), len(owned)),
        "recency_days": np.repeat((cutoff - per["last"]).dt.days.to_numpy(), owned.shape[1]),
        "orders": np.repeat(per["orders"].to_numpy(), owned.shape[1]),
        "revenue": np.repeat(per["revenue"].to_numpy(), owned.shape[1]),
        "items_owned": np.repeat(o.sum(axis=1), owned.shape[1]),
    })
    new = pd.MultiIndex.from_frame(after[["customer_id", "item"]].astype(str))
    grid["bought"] = pd.MultiIndex.from_arrays([grid["customer_id"].astype(str), grid["item"].astype(str)]).isin(new)
    return grid[~grid["owned"]].drop(columns="owned").reset_index(drop=True)


class NextBestOffer(ClassifierMixin, BaseEstimator):
    """P(a customer buys a category they do not own yet within the horizon), from the
    :data:`FEATURES` of :func:`offer_frame` (gradient-boosted trees, seeded)."""

    def __init__(self, max_iter: int = 200, learning_rate: float = 0.05, random_state: int = 0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y) -> NextBestOffer:
        """Fit on offer rows; returns self."""
        self.model_ = HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                                     random_state=self.random_state).fit(X[FEATURES], np.asarray(y))
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities of offer rows (column 1: buys)."""
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(X[FEATURES])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Most likely class of offer rows."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def offer_hit_rates(frame: pd.DataFrame, score: pd.Series) -> dict:
    """AUC of ``score`` for ``bought``, and among customers who bought at least one new item,
    the share whose top-scored (top-1) or top-three offers include one they bought."""
    f = frame.assign(_score=np.asarray(score, float))
    f = f.sample(frac=1.0, random_state=0).sort_values(["customer_id", "_score"], ascending=[True, False],
                                                       kind="stable")  # ties broken at random, seeded
    f["_rank"] = f.groupby("customer_id").cumcount()
    buyers = f.groupby("customer_id")["bought"].any()
    hits = f[f["bought"]].groupby("customer_id")["_rank"].min()
    n = int(buyers.sum())
    auc = roc_auc_score(f["bought"], f["_score"]) if f["bought"].nunique() == 2 else np.nan
    return {"auc": float(auc), "top1_hit_rate": float((hits < 1).sum() / n) if n else np.nan,
            "top3_hit_rate": float((hits < 3).sum() / n) if n else np.nan, "customers_with_new_item": n}


def _frames_at(order_lines, end, horizon_days, level, periods) -> dict:
    """Offer rows at the cutoffs ``end − k·horizon`` for each ``k`` of ``periods`` (built once,
    shared by the evaluation and the final fit)."""
    return {k: offer_frame(order_lines, end - pd.Timedelta(days=k * horizon_days), horizon_days, level)
            for k in periods}


def evaluate_next_offer(order_lines: pd.DataFrame, end=None, horizon_days: int = 90, level: str = "category",
                        random_state: int = 0, train_periods: int = 3,
                        frames: dict | None = None) -> tuple[pd.DataFrame, NextBestOffer]:
    """Time split: fit on the offer rows at ``train_periods`` cutoffs ``end − k·horizon``
    (k = 2, 3, …; labels in the horizon after each), grade at ``end − horizon`` against the
    popularity and best-rule baselines. Returns the table (one row per method: AUC, top-1 and
    top-3 hit rate) and the model fitted on the training period. ``frames`` may hold offer
    rows already built, by ``k``."""
    end = pd.Timestamp(end) if end is not None else pd.Timestamp(order_lines["order_ts"].max())
    periods = range(1, 2 + train_periods)
    frames = frames if frames is not None else _frames_at(order_lines, end, horizon_days, level, periods)
    train = pd.concat([frames[k] for k in periods[1:]], ignore_index=True)
    test = frames[1]
    model = NextBestOffer(random_state=random_state).fit(train, train["bought"])
    scores = {"next best offer model": model.predict_proba(test)[:, 1],
              "most popular category": test["popularity"], "best association rule": test["max_lift"]}
    table = pd.DataFrame({name: offer_hit_rates(test, s) for name, s in scores.items()}).T
    return table, model


def offer_item(offers: pd.DataFrame) -> str:
    """The column of an offers table that names the offered item: ``category`` or ``product``."""
    return "category" if "category" in offers else "product"


@dataclass
class OfferResult:
    """What 04 shows and stores: the time-split ``evaluation`` (one row per method), the
    ``offers`` (customer, item, probability, order value, expected revenue, margin rate and its
    source, expected margin, rank) at the end of the data, and ``skipped``: why there are
    none, in words ("" when they exist)."""

    evaluation: pd.DataFrame = field(default_factory=pd.DataFrame)
    offers: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: str = ""

    def stored(self) -> dict:
        """``{"offers": …}`` keyed by customer and item, for the database (``{}`` when skipped)."""
        if self.offers.empty:
            return {}
        return {"offers": self.offers.set_index(["customer_id", offer_item(self.offers)])}

    def by_item(self) -> pd.DataFrame:
        """Per offered item: the customers whose best offer (rank 1) it is, their mean
        probability of buying it, and the margin rate and expected margin of those offers."""
        if self.offers.empty:
            return pd.DataFrame()
        item = offer_item(self.offers)
        best = self.offers[self.offers["rank"] == 1]
        return best.groupby(item).agg(customers=("customer_id", "size"), mean_probability=("probability", "mean"),
                                      margin_rate=("margin_rate", "mean"), expected_margin=("expected_margin", "sum"),
                                      ).sort_values("customers", ascending=False)


def next_best_offers(con, *, horizon_days: int = 90, level: str = "category", random_state: int = 0,
                     train_periods: int = 3, margin: float = 0.35) -> OfferResult:
    """Evaluate the model on a time split (:func:`evaluate_next_offer`), then refit it on the
    cutoffs up to the end of the data and score every customer's not-yet-bought items: the
    ``offers`` table (``order_value`` = the item's mean order-line amount, expected revenue =
    probability × order value, expected margin = expected revenue × the item's margin rate from
    the product catalogue, or ``margin`` where the source has none — ``margin_source`` says
    which; rank 1 = the item each customer is most likely to buy)."""
    if not table_exists(con, "order_lines"):
        return OfferResult(skipped="no order_lines table: run 02_cleaning of this version first")
    lines = read_order_lines(con)
    items = sales_lines(lines, level)["item"].nunique()
    if items < 3:
        return OfferResult(skipped=f"the source has {items} known {level} value(s): nothing to offer "
                                   "(a transactions file with a category or product column enables offers)")
    end = pd.Timestamp(lines["order_ts"].max())
    frames = _frames_at(lines, end, horizon_days, level, range(1, 2 + train_periods))
    evaluation, _ = evaluate_next_offer(lines, end, horizon_days, level, random_state, train_periods, frames)
    train = pd.concat([frames[k] for k in range(1, 1 + train_periods)], ignore_index=True)
    model = NextBestOffer(random_state=random_state).fit(train, train["bought"])
    now = offer_frame(lines, end, horizon_days, level)
    value = sales_lines(lines, level).groupby("item")["amount"].mean()
    rates = item_margin_rates(lines, read_catalogue(con), level)
    offers = now[["customer_id", "item"]].assign(probability=model.predict_proba(now)[:, 1])
    offers["order_value"] = offers["item"].map(value).round(2)
    offers["expected_revenue"] = (offers["probability"] * offers["order_value"]).round(2)
    offers["margin_rate"] = offers["item"].map(rates).astype("float64")
    offers["margin_source"] = np.where(offers["margin_rate"].notna(), "catalogue", "margin parameter")
    offers["margin_rate"] = offers["margin_rate"].fillna(margin)
    offers["expected_margin"] = (offers["expected_revenue"] * offers["margin_rate"]).round(2)
    offers = offers.sort_values(["customer_id", "probability", "item"], ascending=[True, False, True], kind="stable")
    offers["rank"] = offers.groupby("customer_id").cumcount() + 1
    return OfferResult(evaluation, offers.rename(columns={"item": level}).reset_index(drop=True))
