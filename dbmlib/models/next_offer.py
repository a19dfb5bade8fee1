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
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ..core.db import table_exists
from ..core.grouping import by_codes
from ..segment.baskets import lift_matrix
from ..segment.margins import item_margin_rates, read_catalogue
from ..segment.sale_codes import SaleCodes, read_sale_codes, sale_codes
from .boosting import DistinctRowsClassifier
from .training_sets import code_positions

__all__ = ["FEATURES", "NextBestOffer", "OfferResult", "evaluate_next_offer", "next_best_offers", "offer_frame",
           "offer_hit_rates", "offer_item", "training_customers"]

FEATURES = ["recency_days", "orders", "revenue", "items_owned", "popularity", "max_lift", "last_lift"]


_NEVER = np.iinfo(np.int64).max  # a missing timestamp: never before a cutoff
_DAY_US = 86_400_000_000


class _IdColumn:
    """Ids (customers or items) as the offer rows hold them: the DataFrame constructor's
    inference from their Python values, done once over the distinct ids, so a text column of
    millions of rows is one Arrow take instead of a conversion of as many Python strings."""

    def __init__(self, ids: pd.Index):
        self.values = ids.to_numpy()
        self.inferred = pd.Series(self.values)

    def take(self, idx: np.ndarray, infer: bool = True):
        """The ids at ``idx``, for a DataFrame column; ``infer``: whether the constructor would
        see any value (else it keeps the empty array as it is)."""
        if infer and isinstance(self.inferred.dtype, pd.StringDtype):
            return self.inferred.array.take(idx)
        return self.values[idx]


class _OfferLines:
    """What the offer rows at any cutoff need from the sale lines, computed once: the
    :class:`~dbmlib.segment.sale_codes.SaleCodes`, which lines have a customer, the ids as
    columns (:class:`_IdColumn`), each customer's first purchase of each item (so what they own
    at a cutoff is one comparison) and each (customer, order) pair's first timestamp (so their
    order count at a cutoff is a count of pairs)."""

    def __init__(self, codes: SaleCodes):
        self.codes = codes
        self.sold = codes.customer >= 0
        self.customer_ids, self.item_ids = _IdColumn(codes.customers), _IdColumn(codes.items)
        ts = np.where(np.isnat(codes.ts), _NEVER, codes.ts.view(np.int64))  # NaT: never before a cutoff
        self.first_bought = np.full((codes.n_customers, codes.n_items), _NEVER)
        np.minimum.at(self.first_bought.reshape(-1), (codes.customer * codes.n_items + codes.item)[self.sold],
                      ts[self.sold])
        ok = self.sold & (codes.order >= 0)
        self.pair_customer, self.pair_first = _pair_first(codes.customer[ok], codes.order[ok], ts[ok])

    @classmethod
    def of(cls, lines, level: str) -> _OfferLines:
        if isinstance(lines, cls):
            return lines
        return cls(lines if isinstance(lines, SaleCodes) else sale_codes(lines, level))


def _pair_first(customer: np.ndarray, order: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct (customer, order) pair's customer and earliest ``ts``, in no particular
    order. An order of a single customer is a pair of its own (minima per order code, no sort);
    only the lines of orders shared by several customers are sorted into pairs."""
    n = int(order.max(initial=-1)) + 1
    low, first = np.full(n, _NEVER), np.full(n, _NEVER)
    np.minimum.at(low, order, customer)
    np.minimum.at(first, order, ts)
    mixed = np.zeros(n, bool)
    mixed[order[customer != low[order]]] = True  # an order with a second customer
    own, shared = np.flatnonzero(~mixed & (low < _NEVER)), mixed[order]  # orders with lines, of one customer
    if not shared.any():
        return low[own], first[own]
    key = customer[shared] * n + order[shared]
    sort = np.argsort(key, kind="stable")
    key, ts = key[sort], ts[shared][sort]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return np.r_[low[own], key[starts] // n], np.r_[first[own], np.minimum.reduceat(ts, starts)]


def _group_sum(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group code, the sum of ``values`` in line order: pandas' ``groupby().sum()`` (so the
    last bits equal a sum over text-keyed groups), keyed by a categorical to skip the hashing."""
    return by_codes(values, groups, n_groups).sum().to_numpy()


def _latest_items(codes: SaleCodes, idx: np.ndarray) -> np.ndarray:
    """Per customer code, the item of their latest line among the lines ``idx``: the latest
    timestamp, then the greatest order id, then the last line (the order of a stable sort by
    timestamp and order id); −1 for customers without lines."""
    c, t = codes.customer[idx], codes.ts.view(np.int64)[idx]
    top = np.full(codes.n_customers, np.iinfo(np.int64).min)
    np.maximum.at(top, c, t)
    cand = idx[t == top[c]]
    cc, oo = codes.customer[cand], codes.order[cand]
    low, high = np.full(codes.n_customers, _NEVER), np.full(codes.n_customers, -2)
    np.minimum.at(low, cc, oo)
    np.maximum.at(high, cc, oo)
    tied = (low != high)[cc]  # several orders (or lines without one beside an order) at the latest time
    out = np.full(codes.n_customers, -1, np.int64)
    single = cand[~tied]
    last = np.full(codes.n_customers, -1, np.int64)
    np.maximum.at(last, codes.customer[single], single)  # the last of the customer's latest lines
    has = last >= 0
    out[has] = codes.item[last[has]]
    if tied.any():  # several orders share the latest timestamp: the greatest order id
        pos = cand[tied]
        ties = pd.DataFrame({"c": codes.customer[pos], "oid": codes.order_id(pos), "pos": pos})
        chosen = ties.sort_values(["c", "oid", "pos"], kind="stable", na_position="last").groupby("c")["pos"].last()
        out[chosen.index.to_numpy()] = codes.item[chosen.to_numpy()]
    return out


def _member(chosen: np.ndarray, n: int) -> np.ndarray:
    """Per customer code below ``n``, whether it is one of ``chosen``; code −1 (no customer) is
    the last entry, False."""
    out = np.zeros(n + 1, bool)
    out[chosen] = True
    return out


def _owned(data: _OfferLines, cut_i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The customers who bought by the cutoff ``cut_i`` (µs; sorted codes = sorted ids, as a
    crosstab), the items bought by then (codes) and whether each of them owns each of those."""
    owned = data.first_bought <= cut_i
    rows, cols = np.flatnonzero(owned.any(axis=1)), np.flatnonzero(owned.any(axis=0))
    return rows, cols, owned[np.ix_(rows, cols)]


def _customer_figures(data: _OfferLines, lines: np.ndarray, cut_i: int, chosen: np.ndarray) -> dict:
    """Per customer of ``chosen`` (codes), from their ``lines`` before the cutoff ``cut_i``
    (µs): days since the last line, orders, revenue, and the item of the latest line."""
    codes = data.codes
    last = np.full(codes.n_customers, np.iinfo(np.int64).min)
    np.maximum.at(last, codes.customer[lines], codes.ts.view(np.int64)[lines])
    orders = np.bincount(data.pair_customer[data.pair_first <= cut_i], minlength=codes.n_customers)
    return {"recency_days": (cut_i - last[chosen]) // _DAY_US, "orders": orders[chosen],
            "revenue": _group_sum(codes.amount[lines], codes.customer[lines], codes.n_customers)[chosen],
            "latest": _latest_items(codes, lines)[chosen]}


def _bought(data: _OfferLines, who: np.ndarray, cut, horizon_days: int, chosen: np.ndarray, cols: np.ndarray
            ) -> np.ndarray:
    """Per customer of ``chosen`` (row) and item of ``cols`` (column), whether they bought it in
    the ``horizon_days`` after ``cut``; ``who``: per line, whether its customer may be chosen."""
    codes = data.codes
    after = np.flatnonzero(who & (codes.ts > cut) & (codes.ts <= cut + np.timedelta64(int(horizon_days), "D")))
    r = code_positions(chosen, codes.n_customers)[codes.customer[after]]
    c = code_positions(cols, codes.n_items)[codes.item[after]]
    out = np.zeros((len(chosen), len(cols)), bool)
    out[r[(r >= 0) & (c >= 0)], c[(r >= 0) & (c >= 0)]] = True
    return out


def _max_lift(o: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Per row of the ownership matrix ``o`` and item, the strongest lift to the item from an
    item the row owns (0 for none): a running maximum over the owned items, whole columns at a
    time, rather than a short maximum per row."""
    out = o[:, :1] * lift[:1]
    for i in range(1, len(lift)):
        np.maximum(out, o[:, i:i + 1] * lift[i:i + 1], out=out)
    return out


def _offer_cells(data: _OfferLines, cutoff, horizon_days: int, keep=None
                 ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """:func:`_offer_rows` and each row's item code. Lifts and popularity count every customer;
    the rest is computed for the customers kept only, and for the items they do not own."""
    codes = data.codes
    cut = np.datetime64(pd.Timestamp(cutoff).to_datetime64(), "us")
    cut_i = int(cut.astype(np.int64))
    rows, cols, o = _owned(data, cut_i)
    if not len(rows):
        empty = np.zeros(0, np.int64)
        return pd.DataFrame(columns=["customer_id", "item", *FEATURES, "bought"]), empty, empty
    lift = lift_matrix(pd.DataFrame(o, columns=codes.items[cols])).to_numpy()
    popularity = o.mean(axis=0)
    sel = slice(None) if keep is None else np.flatnonzero(np.isin(rows, keep))
    chosen, o = rows[sel], o[sel]
    who = data.sold if keep is None else _member(chosen, codes.n_customers)[codes.customer]  # lines to read
    per = _customer_figures(data, np.flatnonzero(who & (codes.ts <= cut)), cut_i, chosen)
    max_lift = _max_lift(o, lift)
    last_lift = lift[code_positions(cols, codes.n_items)[per.pop("latest")]]  # row: the lift from the latest category
    r, c = np.nonzero(~o)  # the items not owned, by customer, then item
    frame = pd.DataFrame({
        "customer_id": data.customer_ids.take(chosen[r], infer=o.size > 0),
        "item": data.item_ids.take(cols[c], infer=o.size > 0),
        "max_lift": max_lift[r, c], "last_lift": last_lift[r, c], "popularity": popularity[c],
        **{name: values[r] for name, values in per.items()},
        "items_owned": o.sum(axis=1)[r],
        "bought": _bought(data, who, cut, horizon_days, chosen, cols)[r, c],
    })
    return frame, chosen[r], cols[c]


def _offer_rows(data: _OfferLines, cutoff, horizon_days: int, keep=None) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`offer_frame` and each row's customer code; ``keep``: the customer codes to keep."""
    frame, customer, _ = _offer_cells(data, cutoff, horizon_days, keep)
    return frame, customer


def offer_frame(order_lines, cutoff, horizon_days: int = 90, level: str = "category",
                customers=None) -> pd.DataFrame:
    """One row per (customer, item not bought by ``cutoff``) for customers who bought before
    it, with the :data:`FEATURES` and ``bought`` (the item was bought in the ``horizon_days``
    after ``cutoff``; all False when the horizon lies beyond the data).

    ``order_lines`` is a DataFrame of clean order lines or their
    :class:`~dbmlib.segment.sale_codes.SaleCodes` (:func:`~dbmlib.segment.sale_codes.read_sale_codes`).
    ``customers`` (ids) keeps the rows of those customers only; every figure that describes
    the whole base (popularity, lifts) still counts every customer."""
    data = _OfferLines.of(order_lines, level)
    keep = None if customers is None else data.codes.customers.get_indexer(pd.Index(customers))
    return _offer_rows(data, cutoff, horizon_days, keep)[0]


class NextBestOffer(ClassifierMixin, BaseEstimator):
    """P(a customer buys a category they do not own yet within the horizon), from the
    :data:`FEATURES` of :func:`offer_frame` (gradient-boosted trees, seeded)."""

    def __init__(self, max_iter: int = 200, learning_rate: float = 0.05, random_state: int = 0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y) -> NextBestOffer:
        """Fit on offer rows; returns self."""
        self.model_ = DistinctRowsClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
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


def offer_hit_rates(frame: pd.DataFrame, score, customer_codes: np.ndarray | None = None) -> dict:
    """AUC of ``score`` for ``bought``, and among customers who bought at least one new item,
    the share whose top-scored (top-1) or top-three offers include one they bought. Ties are
    broken at random (seeded): rows are shuffled, then stably sorted by customer and score.
    ``customer_codes``: integer codes ordered as the customer ids, if the caller has them."""
    score = np.asarray(score, float)
    bought = frame["bought"].to_numpy(bool)
    if customer_codes is None:
        customer_codes = pd.factorize(frame["customer_id"], sort=True)[0]
    shuffle = np.random.RandomState(0).permutation(len(frame))  # DataFrame.sample(frac=1, random_state=0)
    order = shuffle[np.lexsort((-score[shuffle], customer_codes[shuffle]))]
    cust, hit = customer_codes[order], bought[order]
    start = np.r_[True, cust[1:] != cust[:-1]] if len(cust) else np.zeros(0, bool)
    first = np.flatnonzero(start)
    rank = np.arange(len(cust)) - first[np.cumsum(start) - 1]
    best = np.full(len(first), np.iinfo(np.int64).max)
    np.minimum.at(best, (np.cumsum(start) - 1)[hit], rank[hit])
    n = int((best < np.iinfo(np.int64).max).sum())
    auc = roc_auc_score(bought, score) if len(np.unique(bought)) == 2 else np.nan
    return {"auc": float(auc), "top1_hit_rate": float((best < 1).sum() / n) if n else np.nan,
            "top3_hit_rate": float((best < 3).sum() / n) if n else np.nan, "customers_with_new_item": n}


def _frames_at(data: _OfferLines, end, horizon_days, periods, keep=None) -> dict:
    """Offer rows (and their customer codes) at the cutoffs ``end − k·horizon`` for each ``k``
    of ``periods``, built once and shared by the evaluation and the final fit."""
    return {k: _offer_rows(data, end - pd.Timedelta(days=k * horizon_days), horizon_days, keep) for k in periods}


def training_customers(codes: SaleCodes, max_rows: int | None, random_state: int = 0, train_periods: int = 3
                       ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Customer codes to train and to grade the offer model on, capped by ``max_rows`` customer
    snapshots (a customer at one cutoff): a seeded sample of ``max_rows // train_periods``
    customers to train on and another, disjoint one of up to ``max_rows`` to grade on; ``(None,
    None)`` — every customer for both — when there are no more customers than the training
    sample would hold."""
    n, n_train = codes.n_customers, None if max_rows is None else max(1, max_rows // train_periods)
    if n_train is None or n <= n_train:
        return None, None
    pick = np.random.default_rng(random_state).permutation(n)
    return np.sort(pick[:n_train]), np.sort(pick[n_train:n_train + max_rows])


def _evaluate(frames: dict, periods, random_state: int, train_keep, test_keep) -> tuple[pd.DataFrame, NextBestOffer]:
    train = pd.concat([_only(*frames[k], train_keep)[0] for k in periods[1:]], ignore_index=True)
    test, test_codes = _only(*frames[1], test_keep)
    model = NextBestOffer(random_state=random_state).fit(train, train["bought"])
    scores = {"next best offer model": model.predict_proba(test)[:, 1],
              "most popular category": test["popularity"], "best association rule": test["max_lift"]}
    table = pd.DataFrame({name: offer_hit_rates(test, s, test_codes) for name, s in scores.items()}).T
    return table, model


def _only(frame: pd.DataFrame, row_codes: np.ndarray, keep) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of the customers ``keep`` (codes; None: every row)."""
    if keep is None:
        return frame, row_codes
    sel = np.isin(row_codes, keep)
    return frame[sel].reset_index(drop=True), row_codes[sel]


def evaluate_next_offer(order_lines, end=None, horizon_days: int = 90, level: str = "category",
                        random_state: int = 0, train_periods: int = 3,
                        max_rows: int | None = None) -> tuple[pd.DataFrame, NextBestOffer]:
    """Time split: fit on the offer rows at ``train_periods`` cutoffs ``end − k·horizon``
    (k = 2, 3, …; labels in the horizon after each), grade at ``end − horizon`` against the
    popularity and best-rule baselines. Returns the table (one row per method: AUC, top-1 and
    top-3 hit rate) and the model fitted on the training period. ``order_lines``: a DataFrame
    of order lines or their :class:`~dbmlib.segment.sale_codes.SaleCodes`. ``max_rows`` caps
    the customer snapshots the model trains on (:func:`training_customers`)."""
    data = _OfferLines.of(order_lines, level)
    if end is None:
        end = (order_lines["order_ts"] if isinstance(order_lines, pd.DataFrame) else pd.Series(data.codes.ts)).max()
    periods = range(1, 2 + train_periods)
    train_keep, test_keep = training_customers(data.codes, max_rows, random_state, train_periods)
    frames = _frames_at(data, pd.Timestamp(end), horizon_days, periods)
    return _evaluate(frames, periods, random_state, train_keep, test_keep)


def offer_item(offers: pd.DataFrame) -> str:
    """The column of an offers table that names the offered item: ``category`` or ``product``."""
    return "category" if "category" in offers else "product"


@dataclass
class OfferResult:
    """What 04 shows and stores: the time-split ``evaluation`` (one row per method), the
    ``offers`` (customer, item, probability, order value, expected revenue, margin rate and its
    source, expected margin, rank) at the end of the data, ``skipped``: why there are
    none, in words ("" when they exist), and ``training``: the sample the model was trained
    on, in words ("" when it learnt from every customer)."""

    evaluation: pd.DataFrame = field(default_factory=pd.DataFrame)
    offers: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: str = ""
    training: str = ""

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


def _ranked(block: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows in runs of equal ``block`` codes (non-decreasing) ordered by block, then falling
    ``score``, ties in row order — ``np.lexsort((-score, block))`` — and each row's rank in its
    block (1: the highest score), in that order. Blocks are short (at most one row per item):
    each is sorted as one row of a padded matrix instead of sorting every row globally."""
    start = np.flatnonzero(np.r_[True, block[1:] != block[:-1]]) if len(block) else np.zeros(0, np.int64)
    size = np.diff(np.r_[start, len(block)])
    which = np.repeat(np.arange(len(start)), size)
    pad = np.full((len(start), int(size.max(initial=0))), np.nan)  # NaN sorts last: padding after every score
    pad[which, np.arange(len(block)) - start[which]] = -score
    real = np.arange(pad.shape[1]) < size[:, None]
    return (start[:, None] + np.argsort(pad, axis=1, kind="stable"))[real], np.nonzero(real)[1] + 1


def _by_item(data: _OfferLines, per_item: pd.Series, items: np.ndarray) -> np.ndarray:
    """``per_item`` (indexed by item id) at the item codes ``items``, as ``Series.map`` gives it
    on a column of those items (float; NaN for items it lacks), looked up once per item."""
    return data.item_ids.inferred.map(per_item).astype("float64").to_numpy()[items]


def next_best_offers(con, *, horizon_days: int = 90, level: str = "category", random_state: int = 0,
                     train_periods: int = 3, margin: float = 0.35, max_rows: int | None = None) -> OfferResult:
    """Evaluate the model on a time split (:func:`evaluate_next_offer`), then refit it on the
    cutoffs up to the end of the data and score every customer's not-yet-bought items: the
    ``offers`` table (``order_value`` = the item's mean order-line amount, expected revenue =
    probability × order value, expected margin = expected revenue × the item's margin rate from
    the product catalogue, or ``margin`` where the source has none — ``margin_source`` says
    which; rank 1 = the item each customer is most likely to buy).

    ``max_rows`` caps the customer snapshots (a customer at one of the ``train_periods``
    cutoffs) both fits learn from: above ``max_rows // train_periods`` customers they train on
    a seeded sample of that many (``random_state``) and the evaluation grades another, disjoint
    sample of up to ``max_rows`` customers (:func:`training_customers`) — a million customers
    give five million offer rows per cutoff, far more than the model needs. Every customer is
    still scored; ``training`` says what the model learnt from."""
    if not table_exists(con, "order_lines"):
        return OfferResult(skipped="no order_lines table: run 02_cleaning of this version first")
    codes = read_sale_codes(con, level, extra=("product_id",) if level == "category" else ())
    if codes.n_items < 3:
        return OfferResult(skipped=f"the source has {codes.n_items} known {level} value(s): nothing to offer "
                                   "(a transactions file with a category or product column enables offers)")
    end = pd.Timestamp(con.execute("SELECT max(order_ts) FROM order_lines").fetchall()[0][0])
    data = _OfferLines(codes)
    train_keep, test_keep = training_customers(codes, max_rows, random_state, train_periods)
    periods = range(1, 2 + train_periods)
    frames = _frames_at(data, end, horizon_days, periods[1:], train_keep)
    graded = None if train_keep is None else np.union1d(train_keep, test_keep)
    frames[1] = _frames_at(data, end, horizon_days, [1], graded)[1]
    evaluation, _ = _evaluate(frames, periods, random_state, train_keep, test_keep)
    train = pd.concat([_only(*frames[k], train_keep)[0] for k in range(1, 1 + train_periods)], ignore_index=True)
    model = NextBestOffer(random_state=random_state).fit(train, train["bought"])
    now, now_codes, now_items = _offer_cells(data, end, horizon_days)
    probability = model.predict_proba(now)[:, 1]
    order, rank = _ranked(now_codes, probability)  # rank 1: the item the customer is most likely to buy
    items = now_items[order]
    value = pd.Series(codes.amount).groupby(codes.item).mean()
    value.index = codes.items[value.index.to_numpy()]
    rates = item_margin_rates(codes, read_catalogue(con), level)
    offers = pd.DataFrame({"customer_id": data.customer_ids.take(now_codes[order]),
                           "item": data.item_ids.take(items), "probability": probability[order]})
    offers["order_value"] = pd.Series(_by_item(data, value, items)).round(2)
    offers["expected_revenue"] = (offers["probability"] * offers["order_value"]).round(2)
    offers["margin_rate"] = _by_item(data, rates, items)
    offers["margin_source"] = _IdColumn(pd.Index(["margin parameter", "catalogue"])).take(  # text by an Arrow take
        offers["margin_rate"].notna().to_numpy(np.intp))
    offers["margin_rate"] = offers["margin_rate"].fillna(margin)
    offers["expected_margin"] = (offers["expected_revenue"] * offers["margin_rate"]).round(2)
    offers["rank"] = rank
    training = ("" if train_keep is None else
                f"The offer model was trained on a seeded sample of {len(train_keep):,} of {codes.n_customers:,} "
                f"customers ({len(train):,} offer rows at {train_periods} cutoffs) and graded on another "
                f"{len(test_keep):,}; it scores every customer.")
    return OfferResult(evaluation, offers.rename(columns={"item": level}), training=training)
