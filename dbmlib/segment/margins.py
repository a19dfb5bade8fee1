"""What each category and product earns: margin rates from the product catalogue.

A source may carry a catalogue (``products.csv``: product id, name, category, list price,
margin rate; cleaned into the ``products`` table). :func:`item_margin_rates` turns it into
a margin rate per category or product — for a category, the revenue-weighted rate of the
products its order lines sold (or, when the lines carry no product ids, the plain mean of the
catalogue's products in the category) — and :func:`product_summary` adds names, categories
and gross margin to the per-product sales table. Without a catalogue there are no rates, and
the callers fall back to the one margin the user gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.db import read_frame, table_exists
from .baskets import category_summary
from .sale_codes import SaleCodes, sale_codes

__all__ = ["item_margin_rates", "product_summary", "read_catalogue", "with_margins"]


def read_catalogue(con) -> pd.DataFrame | None:
    """The clean ``products`` table, or ``None`` when the source has no catalogue."""
    if not table_exists(con, "products"):
        return None
    products = read_frame(con, "SELECT * FROM products")
    return products if len(products) else None


def item_margin_rates(order_lines, catalogue: pd.DataFrame | None, level: str = "category") -> pd.Series:
    """Gross margin as a share of revenue per item at ``level`` (``"category"`` or
    ``"product"``); empty without a catalogue, NaN-free (items without a rate are left out).
    ``order_lines``: a DataFrame of order lines, or their category-level
    :class:`~dbmlib.segment.sale_codes.SaleCodes` read with the ``product_id`` column."""
    if catalogue is None or not len(catalogue):
        return pd.Series(dtype="float64", name="margin_rate")
    rate = catalogue.dropna(subset=["margin_rate"]).set_index(catalogue["product_id"].astype(str))["margin_rate"]
    if level == "product":
        return rate.rename_axis("item").rename("margin_rate")
    codes = order_lines if isinstance(order_lines, SaleCodes) else sale_codes(order_lines, "category", ["product_id"])
    product, products = pd.factorize(codes.extra["product_id"].astype("string"))
    product_rate = np.append(pd.Series(products).map(rate).astype("float64").to_numpy(), np.nan)[product]
    sold = ~np.isnan(product_rate)
    margin = codes.item_sums(codes.amount * product_rate, sold)
    weighted = margin / codes.item_sums(codes.amount, sold)
    weighted.index = codes.items[weighted.index.to_numpy()].rename("item")
    plain = catalogue.dropna(subset=["margin_rate"]).groupby("category")["margin_rate"].mean()
    out = weighted.combine_first(plain.rename_axis("item"))
    return out.replace([np.inf, -np.inf], np.nan).dropna().rename("margin_rate")


def with_margins(summary: pd.DataFrame, rates: pd.Series) -> pd.DataFrame:
    """A per-item sales table (:func:`~dbmlib.segment.baskets.category_summary`) with each
    item's ``margin_rate`` and ``gross_margin`` (revenue × rate) when ``rates`` has them."""
    if rates.empty:
        return summary
    out = summary.assign(margin_rate=rates.reindex(summary.index))
    out["gross_margin"] = out["revenue"] * out["margin_rate"]
    return out


def product_summary(order_lines, catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per product: name and category (from the catalogue, else from the lines), revenue,
    customers, penetration, orders, repeat rate and, with a catalogue, margin rate and gross
    margin. Empty when the lines carry no product ids. ``order_lines``: a DataFrame of order
    lines, or their product-level :class:`~dbmlib.segment.sale_codes.SaleCodes` read with the
    ``product_name`` and ``category`` columns."""
    codes = order_lines if isinstance(order_lines, SaleCodes) else sale_codes(
        order_lines, "product", ["product_name", "category"])
    summary = category_summary(codes, "product")
    if summary.empty:
        return summary
    names = codes.extra[["product_name", "category"]].groupby(codes.item).first()
    names.index = codes.items[names.index.to_numpy()].rename("item")
    if catalogue is not None and len(catalogue):
        names = catalogue.set_index(catalogue["product_id"].astype(str))[["product_name", "category"]].combine_first(names)
    out = names.reindex(summary.index).join(summary)
    return with_margins(out, item_margin_rates(codes, catalogue, "product")).rename_axis("product_id")
