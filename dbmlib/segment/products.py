"""What 03 shows of products: one call (:func:`product_analysis`) that reads the clean
``order_lines`` (and the ``products`` catalogue when the source has one) and assembles the
category and product tables, the category mix per customer group, the adoption sequence and
the association rules at order and customer level — skipping, with the reason in words,
whatever the source cannot support.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.db import table_exists
from .baskets import (
    adoption_sequence,
    association_rules_table,
    basket_counts,
    basket_keys_sql,
    basket_matrix_sql,
    category_mix,
    category_summary,
    lift_matrix,
    pair_rules,
    pair_rules_sql,
)
from .margins import item_margin_rates, product_summary, read_catalogue, with_margins
from .sale_codes import read_sale_codes

__all__ = ["ProductAnalysis", "product_analysis"]


@dataclass
class ProductAnalysis:
    """What 03 shows of products: the ``categories`` table (with margin rate and gross margin
    when the source has a catalogue), the ``products`` table (where the lines carry product
    ids), the rules at order level
    (``order_rules``: bought in the same order) and customer level (``customer_rules``: bought
    by the same customer), and ``skipped``: why a part could not run, in words."""

    categories: pd.DataFrame = field(default_factory=pd.DataFrame)
    products: pd.DataFrame = field(default_factory=pd.DataFrame)
    order_rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    customer_rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    mixes: dict = field(default_factory=dict)
    customer_lift: pd.DataFrame = field(default_factory=pd.DataFrame)
    adoption: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: list = field(default_factory=list)
    top: int = 15

    def tables(self) -> dict:
        """The non-empty tables under report titles (rules: the ``top`` strongest by lift)."""
        named = {"Categories: revenue, penetration and repeat rate": self.categories,
                 f"Products: the {self.top} with the most revenue": self.products.head(self.top),
                 **{f"Category mix by {by.replace('_', ' ')} (share of each group's revenue)": mix
                    for by, mix in self.mixes.items()},
                 "Adoption: first category → the next new one": self.adoption.head(self.top),
                 "Rules — bought in the same order": self.order_rules.head(self.top),
                 "Rules — bought by the same customer": self.customer_rules.head(self.top)}
        return {title: table for title, table in named.items() if len(table)}

    def stored(self) -> dict:
        """``{"association_rules": …}`` — the rules of both basket levels in one table (column
        ``basket``: order or customer) — or ``{}`` when no rule was found."""
        rules = [r.assign(basket=by) for by, r in (("order", self.order_rules), ("customer", self.customer_rules))
                 if len(r)]
        return {"association_rules": pd.concat(rules).set_index(["basket", "antecedent", "consequent"])} if rules else {}

    def summary(self) -> str:
        """What could not be analysed, in one sentence ("" when everything ran)."""
        return ("; ".join(self.skipped) + ".").capitalize() if self.skipped else ""


def _rules(con, codes, n_baskets: int, multi: int, *, level: str, by: str, min_support: float, min_lift: float,
           max_len: int, max_baskets: int, seed: int) -> pd.DataFrame:
    """Rules of one basket level, with their ``basis``: mlxtend on every basket up to
    ``max_baskets``; beyond, the two-item rules exactly from pair counts (:func:`pair_rules` on
    the lines' ``codes``, or DuckDB's for more items than it holds) and the longer
    ones (``max_len`` > 2) from mlxtend on a seeded sample of ``max_baskets`` baskets. ``multi``: the
    baskets holding more than one item (where they are the minority, only they are paired)."""
    if n_baskets <= max_baskets:
        rules = association_rules_table(basket_matrix_sql(con, level=level, by=by), min_support=min_support,
                                        min_lift=min_lift, max_len=max_len)
        return rules.assign(basis=f"all {n_baskets:,} {by}s")
    pairs = pair_rules(codes, by=by, min_support=min_support, min_lift=min_lift)
    if pairs is None:  # too many items to hold a basket in one integer
        pairs = pair_rules_sql(con, level=level, by=by, min_support=min_support, min_lift=min_lift,
                               multi_only=2 * multi < n_baskets)
    pairs = pairs.assign(basis=f"all {n_baskets:,} {by}s (pair counts)")
    if max_len <= 2:
        return pairs
    keys = basket_keys_sql(con, level=level, by=by)  # the rows DataFrame.sample(n, random_state=seed) draws
    picked = keys[np.random.RandomState(seed).choice(len(keys), max_baskets, replace=False)]
    sample = basket_matrix_sql(con, level=level, by=by, keys=picked)
    longer = association_rules_table(sample, min_support=min_support, min_lift=min_lift, max_len=max_len)
    longer = longer[(longer["antecedent"] + " + " + longer["consequent"]).str.count(r" \+ ") >= 2]
    rules = pd.concat([pairs, longer.assign(basis=f"sample of {max_baskets:,} {by}s")], ignore_index=True)
    return rules.sort_values(["lift", "support", "antecedent", "consequent"], ascending=[False, False, True, True],
                             ignore_index=True)


def product_analysis(con, *, min_support: float = 0.01, min_lift: float = 1.2, level: str = "category",
                     groups: pd.DataFrame | None = None, max_len: int = 2, max_baskets: int = 500_000,
                     seed: int = 0) -> ProductAnalysis:
    """Categories and market baskets of the clean ``order_lines`` (see the module docstring),
    the category mix of each grouping in ``groups`` (customer id → segment, region, age band …;
    columns with one value only, or all "unknown", are skipped) and the adoption sequence;
    parts the source cannot support are skipped with the reason (CDNOW has no categories; an
    order-level export has one category per order, so only customer-level rules exist; without
    a catalogue there are no margins). Rules hold up to ``max_len`` items; above
    ``max_baskets`` baskets the pairs come from DuckDB and longer rules from a seeded sample
    (:func:`_rules`; the ``basis`` column says which).

    The lines are read once as integer codes (:func:`~dbmlib.segment.sale_codes.read_sale_codes`)
    and the baskets counted in DuckDB, so ten million lines take seconds; every table equals
    the one computed from the lines as text."""
    out = ProductAnalysis()
    if not table_exists(con, "order_lines"):
        out.skipped.append("no order_lines table: run 02_cleaning of this version first")
        return out
    catalogue = read_catalogue(con)
    codes = read_sale_codes(con, level, extra=("product_id",) if level == "category" else ())
    out.categories = with_margins(category_summary(codes, level), item_margin_rates(codes, catalogue, level))
    out.products = product_summary(read_sale_codes(con, "product", extra=("product_name", "category")), catalogue)
    if catalogue is None:
        out.skipped.append("no product catalogue (products.csv with margin rates): no margins")
    if len(out.categories) < 2:
        out.skipped.append(f"the source has {len(out.categories)} known {level} value(s): no {level} analysis "
                           "or baskets (a transactions file with a category or product column enables them)")
        return out
    for by in ([] if groups is None else groups.columns):
        if groups[by].astype(str).replace("unknown", pd.NA).nunique() > 1:
            out.mixes[by] = category_mix(codes, groups[by], level)
    out.adoption = adoption_sequence(codes, level)
    out.customer_lift = lift_matrix(codes)
    for by in ("order", "customer"):
        n_baskets, multi = basket_counts(codes, level, by)
        rules = _rules(con, codes, n_baskets, multi, level=level, by=by, min_support=min_support, min_lift=min_lift,
                       max_len=max_len, max_baskets=max_baskets, seed=seed)
        setattr(out, f"{by}_rules", rules)
        if rules.empty:
            out.skipped.append(f"no {by}-level rules with support ≥ {min_support:g} and lift ≥ {min_lift:g} "
                               f"({multi:,} of {n_baskets:,} {by}s hold more than one {level})")
    return out
