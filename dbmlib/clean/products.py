"""The product catalogue, cleaned: one row per product with its category, list price and
margin rate — what the segmentation stage needs for per-product tables and the cross-sell
offers for their expected margin.

A catalogue is optional (``products.csv`` beside the transactions). Its category is written
the way the transactions' is (trimmed, lower case), so a product and its order lines agree.
"""

from __future__ import annotations

import pandas as pd

from ..collect.conventions import parse_by_file

__all__ = ["PRODUCT_COLUMNS", "clean_products"]

PRODUCT_COLUMNS = ["product_id", "product_name", "category", "list_price", "margin_rate"]


def clean_products(raw: pd.DataFrame | None, readings: dict, default) -> pd.DataFrame:
    """The clean ``products`` table from the raw catalogue rows (empty, with its columns, when
    the source has no catalogue). Prices and margin rates are read with each file's decimal
    convention (``readings`` by source file, else ``default``)."""
    if raw is None or not len(raw):
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("list_price", "margin_rate") else "string")
                             for c in PRODUCT_COLUMNS})
    return pd.DataFrame({
        "product_id": raw["product_id"].astype("string").str.strip(),
        "product_name": raw["product_name"].astype("string").str.strip(),
        "category": raw["category"].astype("string").str.strip().str.lower().fillna("unknown"),
        "list_price": parse_by_file(raw, "list_price", readings, "money", default).astype("float64"),
        "margin_rate": parse_by_file(raw, "margin_rate", readings, "money", default).astype("float64"),
    }).sort_values("product_id", kind="stable").reset_index(drop=True)
