"""Products, categories and baskets: what sells, to whom, and what sells together.

* :func:`category_summary` — revenue, customers, penetration and repeat rate per category (or
  product) from the clean ``order_lines``;
* :func:`basket_matrix` — one row per order (or per customer), one boolean column per
  category (or product): the input of association analysis;
* :func:`association_rules_table` — frequent itemsets by FP-growth and association rules
  (support, confidence, lift, conviction) with mlxtend, the well-kept implementation;
* :func:`pair_rules` and :func:`pair_rules_sql` — the same two-item rules from pair counts
  (each basket's items as the bits of one integer, or a self-join in DuckDB), for logs too
  large to one-hot encode in memory.

Support is the share of baskets holding the items; confidence of A → B the share of baskets
with A that also hold B; lift the confidence divided by B's own support (1: independent;
above 1: bought together more than chance) — lift, not confidence, finds cross-sell pairs,
because a popular B has a high confidence after anything. Returns, cancellations and
unknown categories are left out of baskets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.db import read_frame, registered
from ..core.fast_text import positions
from ..core.grouping import TABLE_LIMIT, by_codes, distinct_codes

__all__ = ["adoption_sequence", "association_rules_table", "basket_counts", "basket_keys_sql", "basket_matrix",
           "basket_matrix_sql", "category_mix", "category_summary", "lift_matrix", "pair_rules", "pair_rules_sql",
           "read_order_lines",
           "sales_lines"]

_LEVELS = {"category": "category", "product": "product_id"}


def read_order_lines(con) -> pd.DataFrame:
    """The columns of the clean ``order_lines`` that product analysis uses (``product_id`` and
    ``product_name`` empty when the table lacks them)."""
    have = set(con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'order_lines'")
               .df()["column_name"])
    cols = ["order_id", "customer_id", "order_ts", "category", "product_id", "product_name", "amount",
            "returned_order_id"]
    return read_frame(con, "SELECT " + ", ".join(c if c in have else f"NULL::VARCHAR AS {c}" for c in cols)
                      + " FROM order_lines")


def sales_lines(order_lines: pd.DataFrame, level: str = "category") -> pd.DataFrame:
    """The sale lines (no returns or cancellations) with a known item at ``level``
    (``"category"`` or ``"product"``) in a column ``item``."""
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {list(_LEVELS)}, got {level!r}")
    col = _LEVELS[level]
    lines = order_lines[order_lines["returned_order_id"].isna() & (order_lines["amount"] > 0)]
    item = lines[col].astype("string")
    known = item.notna() & ~item.isin(["unknown", "mixed", ""])
    return lines.loc[known.to_numpy(bool)].assign(item=item[known])


def _as_codes(order_lines, level: str, extra=()):
    """The :class:`~dbmlib.segment.sale_codes.SaleCodes` of a DataFrame of order lines (or the
    codes themselves)."""
    from .sale_codes import SaleCodes, sale_codes

    return order_lines if isinstance(order_lines, SaleCodes) else sale_codes(order_lines, level, extra)


def _repeat_pairs(codes, both: np.ndarray, n_cust: int, n_ord: int) -> np.ndarray:
    """The sorted keys item × ``n_cust`` + customer of the (item, customer) pairs bought in more
    than one order, among the lines ``both`` (with a customer and an order id). When every
    order has one customer (the usual case), a pair's orders are its distinct (item, order)
    pairs: counted with marks and a bincount instead of a sort of (item, customer, order)."""
    item, customer, order = codes.item[both], codes.customer[both], codes.order[both]
    k = codes.n_items
    owner = np.full(n_ord, -1, np.int64)
    owner[order] = customer
    if k * n_cust <= TABLE_LIMIT and (owner[order] == customer).all():  # one customer per order
        orders = distinct_codes(item * n_ord + order, k * n_ord)
        per_pair = np.bincount((orders // n_ord) * n_cust + owner[orders % n_ord], minlength=k * n_cust)
        return np.flatnonzero(per_pair > 1)
    of_pair = distinct_codes((item * n_cust + customer) * n_ord + order) // n_ord
    first = np.r_[True, of_pair[1:] != of_pair[:-1]] if len(of_pair) else np.zeros(0, bool)
    return of_pair[first][np.bincount(np.cumsum(first) - 1) > 1]


def category_summary(order_lines, level: str = "category") -> pd.DataFrame:
    """Per category (or product): revenue and its share, customers and their share of all
    buyers (penetration), orders, and the repeat rate — the share of its customers who bought
    it in more than one order. Sorted by revenue. ``order_lines``: a DataFrame of order lines
    or their :class:`~dbmlib.segment.sale_codes.SaleCodes` at ``level``."""
    codes = _as_codes(order_lines, level)
    k, n_cust, n_ord = codes.n_items, max(codes.n_customers, 1), int(codes.order.max(initial=0)) + 1
    present = np.flatnonzero(np.bincount(codes.item, minlength=k))
    has_c, has_o = codes.customer >= 0, codes.order >= 0
    both = has_c & has_o

    def per_item(keys, width):  # distinct keys (item × width + …) per item present
        return np.bincount(keys // width, minlength=k)[present]

    pairs = distinct_codes(codes.item[has_c] * n_cust + codes.customer[has_c], k * n_cust)  # (item, customer)
    orders = distinct_codes(codes.item[has_o] * n_ord + codes.order[has_o], k * n_ord)  # (item, order)
    repeat = _repeat_pairs(codes, both, n_cust, n_ord)  # (item, customer) with 2+ orders
    per = pd.DataFrame({"revenue": codes.item_sums(codes.amount).to_numpy(), "customers": per_item(pairs, n_cust),
                        "orders": per_item(orders, n_ord)}, index=pd.Index(codes.items[present], name="item"))
    with np.errstate(invalid="ignore", divide="ignore"):  # an item bought only without a customer id: NaN
        per["repeat_rate"] = per_item(repeat, n_cust) / per["customers"].to_numpy()
    per["revenue_share"] = per["revenue"] / per["revenue"].sum()
    per["penetration"] = per["customers"] / codes.n_customers if codes.n_customers else np.nan
    return per.sort_values("revenue", ascending=False)[
        ["revenue", "revenue_share", "customers", "penetration", "orders", "repeat_rate"]]


def category_mix(order_lines, groups: pd.Series, level: str = "category") -> pd.DataFrame:
    """Share of each group's revenue per category: one row per group (``groups`` maps a
    customer id to its segment, region, age band …), one column per category; rows sum to 1.
    ``order_lines``: a DataFrame of order lines or their
    :class:`~dbmlib.segment.sale_codes.SaleCodes` at ``level``."""
    codes = _as_codes(order_lines, level)
    group, names = pd.factorize(groups, sort=True)  # the group of each customer id (Arrow's hash lookup)
    of_customer = positions(pd.Series(codes.customers.astype(str)), groups.index.astype(str))
    group = np.append(group, -1)[of_customer]  # −1: not in ``groups`` or no group
    line_group = np.where(codes.customer >= 0, np.append(group, -1)[codes.customer], -1)
    keep = line_group >= 0
    key = line_group[keep] * codes.n_items + codes.item[keep]
    sums = by_codes(codes.amount[keep], key, max(len(names), 1) * codes.n_items,  # pandas' sum in line order
                    observed=True).sum()
    cells = sums.index.to_numpy().astype(np.int64)
    small = pd.DataFrame({"group": names.take(cells // codes.n_items), "item": codes.items[cells % codes.n_items],
                          "amount": sums.to_numpy()})
    table = small.pivot_table(index="group", columns="item", values="amount", aggfunc="sum", fill_value=0.0)
    return table.div(table.sum(axis=1), axis=0).rename_axis(index=groups.name or "group", columns=None)


def adoption_sequence(order_lines, level: str = "category") -> pd.DataFrame:
    """Which category customers buy first, which new one they add next, and how long after:
    one row per (first, next) with the customers and the median days between the two first
    purchases; customers who never add a second category are counted with ``next`` = "(none)".
    ``order_lines``: a DataFrame of order lines or their
    :class:`~dbmlib.segment.sale_codes.SaleCodes` at ``level``."""
    codes = _as_codes(order_lines, level)
    has = codes.customer >= 0
    never = np.iinfo(np.int64).max  # a missing timestamp sorts last, as NaT does
    ts = np.where(np.isnat(codes.ts[has]), never, codes.ts[has].view(np.int64))
    key = codes.customer[has] * codes.n_items + codes.item[has]
    size = codes.n_customers * codes.n_items
    if size <= TABLE_LIMIT // 8:  # (customer, item): first purchase, in a table indexed by the key (≤ 128 MB)
        first_ts = np.full(size, never)
        np.minimum.at(first_ts, key, ts)
        key = distinct_codes(key, size)
        first_ts = first_ts[key]
    else:
        order = np.argsort(key, kind="stable")
        key, ts = key[order], ts[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
        first_ts = np.minimum.reduceat(ts, starts) if len(starts) else ts
        key = key[starts]
    cust, item = key // max(codes.n_items, 1), key % max(codes.n_items, 1)
    by_time = np.lexsort((item, first_ts, cust))  # by customer, first purchase, item
    cust, item, first_ts = cust[by_time], item[by_time], first_ts[by_time]
    a = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]]) if len(cust) else np.zeros(0, np.int64)
    has_b = np.r_[a[1:], len(cust)] - a > 1
    b = np.where(has_b, a + 1, a)
    known = has_b & (first_ts[a] != never) & (first_ts[b] != never)
    days = np.full(len(a), np.nan)
    days[known] = (first_ts[b][known] - first_ts[a][known]) // 86_400_000_000
    pairs = pd.DataFrame({"f": item[a], "n": np.where(has_b, item[b], -1), "days": days})
    agg = pairs.groupby(["f", "n"]).agg(customers=("days", "size"), median_days=("days", "median"))
    names = np.append(codes.items.to_numpy(object), "(none)")
    index = pd.MultiIndex.from_arrays([pd.array(names[agg.index.get_level_values(0)], dtype="string"),
                                       pd.array(names[agg.index.get_level_values(1)], dtype="string")],
                                      names=["first", "next"])
    out = agg.set_axis(index).sort_index()
    out["share_of_first"] = out["customers"] / out.groupby(level="first")["customers"].transform("sum")
    return out.sort_values(["customers"], ascending=False).reset_index()


_KEYS = {"order": "order_id", "customer": "customer_id"}


def _matrix(keys: pd.Series, items: pd.Series, name: str) -> pd.DataFrame:
    rows, row_ids = pd.factorize(keys, sort=True)
    cols, col_ids = pd.factorize(items, sort=True)
    matrix = np.zeros((len(row_ids), len(col_ids)), dtype=bool)  # no crosstab: 4-5× faster at 10M lines
    matrix[rows, cols] = True
    return pd.DataFrame(matrix, index=pd.Index(row_ids, name=name), columns=pd.Index(col_ids, name=None))


def basket_matrix(order_lines: pd.DataFrame, level: str = "category", by: str = "order") -> pd.DataFrame:
    """Boolean basket matrix: one row per order (``by="order"``) or customer
    (``by="customer"``), one column per item at ``level``; True where the basket holds it."""
    key = _KEYS.get(by)
    if key is None:
        raise ValueError(f"by must be 'order' or 'customer', got {by!r}")
    lines = sales_lines(order_lines, level)
    pairs = lines[[key, "item"]].dropna().drop_duplicates()
    return _matrix(pairs[key], pairs["item"], key)


def _sale_filter(level: str, by: str) -> tuple[str, str, str]:
    if level not in _LEVELS or by not in _KEYS:
        raise ValueError(f"level must be one of {list(_LEVELS)} and by 'order' or 'customer', got {level!r}, {by!r}")
    col, key = _LEVELS[level], _KEYS[by]
    where = (f"""returned_order_id IS NULL AND amount > 0 AND NOT isnan(amount) AND "{col}" IS NOT NULL
                 AND "{key}" IS NOT NULL AND CAST("{col}" AS VARCHAR) NOT IN ('unknown', 'mixed', '')""")
    return col, key, where


def basket_counts(order_lines, level: str = "category", by: str = "order") -> tuple[int, int]:
    """``(baskets, baskets holding more than one item)`` — the rows and the multi-item rows of
    :func:`basket_matrix` — counted on the codes of the lines (a DataFrame of order lines or
    their :class:`~dbmlib.segment.sale_codes.SaleCodes`) without building the matrix."""
    if by not in _KEYS:
        raise ValueError(f"by must be 'order' or 'customer', got {by!r}")
    codes = _as_codes(order_lines, level)
    pairs, n_keys = _basket_items(codes, by)
    items_per_basket = np.bincount(pairs // max(codes.n_items, 1), minlength=n_keys)
    return int((items_per_basket > 0).sum()), int((items_per_basket > 1).sum())


def _basket_items(codes, by: str) -> tuple[np.ndarray, int]:
    """The sorted distinct basket × ``n_items`` + item keys of the sale lines with a basket
    (order or customer), and the number of basket codes."""
    key = codes.order if by == "order" else codes.customer
    has = key >= 0
    n_keys = int(key.max(initial=-1)) + 1
    return distinct_codes(key[has] * codes.n_items + codes.item[has], n_keys * codes.n_items), n_keys


#: The most items :func:`pair_rules` holds as the bits of one integer.
MAX_BIT_ITEMS = 63


def pair_rules(codes, *, by: str = "order", min_support: float = 0.01, min_lift: float = 1.0) -> pd.DataFrame | None:
    """:func:`pair_rules_sql` from the lines' :class:`~dbmlib.segment.sale_codes.SaleCodes`:
    each basket's items become the bits of one integer, the few distinct item sets are counted
    and every pair's baskets added up from them — the same counts, so the same support,
    confidence, lift, conviction and order to the last bit (the same divisions of the same
    integers), in a fraction of the self-join's time. ``None`` above :data:`MAX_BIT_ITEMS`
    items (use :func:`pair_rules_sql`)."""
    if by not in _KEYS:
        raise ValueError(f"by must be 'order' or 'customer', got {by!r}")
    k = codes.n_items
    if k > MAX_BIT_ITEMS:
        return None
    keys, _ = _basket_items(codes, by)
    basket, item = keys // max(k, 1), (keys % max(k, 1)).astype(np.uint64)
    sets = np.left_shift(np.uint64(1), item)  # each key's item as a bit
    if len(keys):  # one set per basket: its distinct items' bits add up to their union
        sets = np.add.reduceat(sets, np.flatnonzero(np.r_[True, basket[1:] != basket[:-1]]))
    kinds, baskets = np.unique(sets, return_counts=True)
    has = ((kinds[:, None] >> np.arange(k, dtype=np.uint64)) & np.uint64(1)).astype(np.float64)
    single = (has * baskets[:, None]).sum(axis=0).astype(np.int64)
    together = np.rint((has * baskets[:, None]).T @ has).astype(np.int64)  # exact below 2**53 baskets
    np.fill_diagonal(together, 0)
    a, c = np.nonzero(together)
    n = len(sets)
    s, sa, sc = together[a, c] / n, single[a] / n, single[c] / n
    confidence = s / sa
    lift = s / (sa * sc)
    with np.errstate(divide="ignore"):
        conviction = np.where(confidence >= 1, np.inf, (1 - sc) / (1 - s / sa))
    keep = (sa >= min_support) & (sc >= min_support) & (s >= min_support) & (lift >= min_lift)
    order = np.lexsort((c[keep], a[keep], -s[keep], -lift[keep]))  # items are coded in text order
    pick = np.flatnonzero(keep)[order]
    names = np.asarray(codes.items, dtype=object)
    return pd.DataFrame({"antecedent": names[a[pick]], "consequent": names[c[pick]], "support": s[pick],
                         "confidence": confidence[pick], "lift": lift[pick], "conviction": conviction[pick],
                         "antecedent_support": sa[pick], "consequent_support": sc[pick]})


def basket_matrix_sql(con, table: str = "order_lines", *, level: str = "category", by: str = "order",
                      keys=None) -> pd.DataFrame:
    """:func:`basket_matrix` of the clean ``table``, from the distinct (basket, item) pairs
    DuckDB finds; ``keys`` (basket ids) keeps those baskets only, in that order."""
    col, key, where = _sale_filter(level, by)
    sql = f'SELECT DISTINCT "{key}" AS k, CAST("{col}" AS VARCHAR) AS item FROM "{table}" WHERE {where}'
    if keys is None:
        pairs = read_frame(con, sql)
    else:
        with registered(con, "_dbm_keys", pd.DataFrame({"k": pd.Series(keys)})):
            pairs = read_frame(con, sql + ' AND "' + key + '" IN (SELECT k FROM _dbm_keys)')
    matrix = _matrix(pairs["k"], pairs["item"].astype("string"), key)
    return matrix if keys is None else matrix.loc[list(keys)]


def basket_keys_sql(con, table: str = "order_lines", *, level: str = "category", by: str = "order") -> pd.Index:
    """The basket ids of :func:`basket_matrix` (its index, sorted), read from DuckDB."""
    col, key, where = _sale_filter(level, by)
    ids = read_frame(con, f'SELECT DISTINCT "{key}" AS k FROM "{table}" WHERE {where}')["k"]
    return pd.Index(pd.factorize(ids, sort=True)[1], name=key)


def _lift(single: np.ndarray, pair: np.ndarray, n: int, columns) -> pd.DataFrame:
    """Lift from basket counts: ``single`` baskets per item, ``pair`` per item pair, of ``n``."""
    support = single / n if n else np.zeros(len(single))
    pair = pair / max(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = pair / np.outer(support, support)
    lift = np.nan_to_num(lift, nan=0.0, posinf=0.0)
    np.fill_diagonal(lift, 0.0)
    return pd.DataFrame(lift, index=columns, columns=columns)


def lift_matrix(baskets) -> pd.DataFrame:
    """Lift of every item pair of a basket matrix (rows: antecedent, columns: consequent;
    the diagonal and pairs never seen together are 0): the whole picture behind the rules.
    Given :class:`~dbmlib.segment.sale_codes.SaleCodes` instead, the customer-level lift
    (customers as baskets), counted without building the matrix."""
    from .sale_codes import SaleCodes

    if isinstance(baskets, SaleCodes):
        from scipy.sparse import csr_matrix

        has = baskets.customer >= 0
        cols = np.flatnonzero(np.bincount(baskets.item[has], minlength=baskets.n_items))
        col_of = np.full(baskets.n_items, -1, np.int64)
        col_of[cols] = np.arange(len(cols))
        cells = np.unique(baskets.customer[has] * len(cols) + col_of[baskets.item[has]]) if len(cols) > 200 else \
            distinct_codes(baskets.customer[has] * len(cols) + col_of[baskets.item[has]], baskets.n_customers * len(cols))
        o = csr_matrix((np.ones(len(cells)), (cells // max(len(cols), 1), cells % max(len(cols), 1))),
                       shape=(baskets.n_customers, len(cols)))
        pair = (o.T @ o).toarray()
        return _lift(np.diag(pair).copy(), pair, baskets.n_customers, baskets.items[cols])
    o = baskets.to_numpy(float)
    return _lift(o.sum(axis=0), o.T @ o, len(o), baskets.columns)


def association_rules_table(baskets: pd.DataFrame, *, min_support: float = 0.01, min_lift: float = 1.0,
                            max_len: int = 2) -> pd.DataFrame:
    """Association rules of a basket matrix by FP-growth (mlxtend): one row per rule
    ``antecedent → consequent`` with support, confidence, lift and conviction, rules with a
    lift of at least ``min_lift``, strongest lift first. Itemsets are frozensets joined as
    text (``"home + toys"``) for a readable table."""
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    columns = ["antecedent", "consequent", "support", "confidence", "lift", "conviction",
               "antecedent_support", "consequent_support"]
    if baskets.empty or baskets.shape[1] < 2:
        return pd.DataFrame(columns=columns)
    itemsets = fpgrowth(baskets, min_support=min_support, use_colnames=True, max_len=max_len)
    if itemsets.empty or itemsets["itemsets"].map(len).max() < 2:
        return pd.DataFrame(columns=columns)
    rules = association_rules(itemsets, num_itemsets=len(baskets), metric="lift", min_threshold=min_lift)
    out = pd.DataFrame({
        "antecedent": rules["antecedents"].map(lambda s: " + ".join(sorted(map(str, s)))),
        "consequent": rules["consequents"].map(lambda s: " + ".join(sorted(map(str, s)))),
        "support": rules["support"], "confidence": rules["confidence"], "lift": rules["lift"],
        "conviction": rules["conviction"], "antecedent_support": rules["antecedent support"],
        "consequent_support": rules["consequent support"]})
    return out.sort_values(["lift", "support", "antecedent", "consequent"],
                           ascending=[False, False, True, True]).reset_index(drop=True)


def pair_rules_sql(con, table: str = "order_lines", *, level: str = "category", by: str = "order",
                   min_support: float = 0.01, min_lift: float = 1.0, multi_only: bool = False) -> pd.DataFrame:
    """Two-item rules (A → B) computed in DuckDB from pair counts over the clean ``table``:
    the same support, confidence, lift and conviction as :func:`association_rules_table` at
    ``max_len=2``, without building a basket matrix (for ten million lines). ``multi_only``
    pairs only the baskets holding more than one item (the same rules; faster where most
    baskets hold one, as orders do)."""
    col, key, where = _sale_filter(level, by)
    sql = f"""
        WITH b AS (SELECT DISTINCT "{key}" AS k, CAST("{col}" AS VARCHAR) AS item FROM "{table}" WHERE {where}),
             per AS (SELECT k, count(*) AS items FROM b GROUP BY k),
             n AS (SELECT count(*) AS n FROM per),
             single AS (SELECT item, count(*) / (SELECT n FROM n) AS s FROM b GROUP BY item),
             m AS ({"SELECT b.k, b.item FROM b JOIN per ON per.k = b.k WHERE per.items > 1" if multi_only else
                    "SELECT * FROM b"}),
             pair AS (SELECT x.item AS a, y.item AS c, count(*) / (SELECT n FROM n) AS s
                      FROM m x JOIN m y ON x.k = y.k AND x.item <> y.item GROUP BY ALL)
        SELECT p.a AS antecedent, p.c AS consequent, p.s AS support, p.s / sa.s AS confidence,
               p.s / (sa.s * sc.s) AS lift,
               CASE WHEN p.s / sa.s >= 1 THEN 'inf'::DOUBLE ELSE (1 - sc.s) / (1 - p.s / sa.s) END AS conviction,
               sa.s AS antecedent_support, sc.s AS consequent_support
        FROM pair p JOIN single sa ON sa.item = p.a JOIN single sc ON sc.item = p.c
        WHERE sa.s >= ? AND sc.s >= ? AND p.s >= ? AND p.s / (sa.s * sc.s) >= ?
        ORDER BY lift DESC, support DESC, antecedent, consequent"""
    return con.execute(sql, [min_support, min_support, min_support, min_lift]).df()
