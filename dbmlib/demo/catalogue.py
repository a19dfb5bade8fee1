"""The ``retail-demo`` company's product catalogue: fixed, with no randomness.

Every one of the demo's :data:`CATEGORIES` has 8 to 10 products. Each product has a
stock code (``CLO-0001``), a name, a list price and a margin rate. The invoice-line
export (:mod:`dbmlib.demo.line_export`) picks an order's products from its category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CATEGORIES", "CATEGORY_PAIRS", "CROSS_SELL_RESPONSE", "PAIR_STRENGTH", "PREFERRED_SHARE", "catalogue",
           "cross_sell_persuasion", "partner_of"]

#: The demo's product categories (each order of ``transactions.csv`` has one).
CATEGORIES = ["clothing", "home", "beauty", "electronics", "garden", "toys"]

#: Planted cross-sell structure: after an order in one category of a pair, a customer's next
#: order is in the other category with probability :data:`PAIR_STRENGTH` (instead of the usual
#: draw), so the pairs are bought by the same customers more than chance, in sequence.
CATEGORY_PAIRS = [("clothing", "beauty"), ("home", "garden"), ("electronics", "toys")]
PAIR_STRENGTH = 0.35

#: Planted per-customer category propensity: each customer has a preferred category (recorded
#: in ``_truth/customers.csv``); an order is in it with this probability, else in any category.
PREFERRED_SHARE = 0.6

#: The world's answer to a cross-sell offer (:mod:`dbmlib.demo.world`): an active customer
#: offered a category they would not have bought in the response window buys it with this
#: probability — higher when it is the planted partner of their preferred category.
CROSS_SELL_RESPONSE = {"partner of the preferred category": 0.15, "other category": 0.03}


def partner_of(category: str) -> str | None:
    """The planted cross-sell partner of ``category`` (:data:`CATEGORY_PAIRS`), if any."""
    return next((b if a == category else a for a, b in CATEGORY_PAIRS if category in (a, b)), None)


def cross_sell_persuasion(preferred, offered) -> np.ndarray:
    """P(a contact persuades a customer with ``preferred`` category to buy ``offered``), per
    customer (:data:`CROSS_SELL_RESPONSE`)."""
    partner = pd.Series(preferred, dtype=object).map(partner_of).to_numpy()
    hit = partner == np.asarray(offered, dtype=object)
    return np.where(hit, CROSS_SELL_RESPONSE["partner of the preferred category"],
                    CROSS_SELL_RESPONSE["other category"])

#: Per category: stock-code prefix and ``(product name, list price, margin rate)``.
_PRODUCTS: dict[str, tuple[str, list[tuple[str, float, float]]]] = {
    "clothing": ("CLO", [
        ("Linen shirt", 39.00, 0.55),
        ("Merino jumper", 69.00, 0.52),
        ("Slim chinos", 45.00, 0.50),
        ("Denim jacket", 79.00, 0.48),
        ("Cotton T-shirt 3-pack", 24.00, 0.60),
        ("Wool scarf", 29.00, 0.58),
        ("Rain jacket", 89.00, 0.45),
        ("Ankle socks 5-pack", 12.00, 0.60),
        ("Leather belt", 35.00, 0.56),
        ("Summer dress", 55.00, 0.54),
    ]),
    "home": ("HOM", [
        ("Cotton bath towel", 18.00, 0.45),
        ("Ceramic mug set", 22.00, 0.50),
        ("Scented candle", 14.00, 0.60),
        ("Cast-iron casserole", 85.00, 0.35),
        ("Linen cushion cover", 19.00, 0.55),
        ("Double duvet set", 65.00, 0.42),
        ("Table lamp", 49.00, 0.40),
        ("Chef's knife", 39.00, 0.38),
        ("Glass storage jars", 16.00, 0.48),
    ]),
    "beauty": ("BEA", [
        ("Hydrating face cream", 28.00, 0.58),
        ("Vitamin C serum", 32.00, 0.60),
        ("Mineral sunscreen", 18.00, 0.52),
        ("Shampoo and conditioner", 15.00, 0.55),
        ("Eau de parfum", 65.00, 0.50),
        ("Lip balm trio", 9.00, 0.60),
        ("Body lotion", 12.00, 0.56),
        ("Make-up brush set", 26.00, 0.48),
    ]),
    "electronics": ("ELE", [
        ("Wireless earbuds", 79.00, 0.25),
        ("Bluetooth speaker", 49.00, 0.28),
        ("USB-C charger", 25.00, 0.40),
        ("Smart light bulb", 19.00, 0.35),
        ("Fitness tracker", 59.00, 0.22),
        ("Power bank", 35.00, 0.32),
        ("Over-ear headphones", 129.00, 0.20),
        ("HDMI cable 2 m", 12.00, 0.45),
        ("Digital kitchen scale", 22.00, 0.38),
    ]),
    "garden": ("GAR", [
        ("Stainless trowel", 14.00, 0.45),
        ("Watering can", 19.00, 0.42),
        ("Bird feeder", 24.00, 0.50),
        ("Solar path lights", 35.00, 0.40),
        ("Pruning shears", 22.00, 0.44),
        ("Herb seed collection", 9.00, 0.60),
        ("Garden kneeler", 27.00, 0.46),
        ("Terracotta planter", 29.00, 0.48),
        ("Expanding hose", 39.00, 0.36),
        ("Peat-free compost 40 L", 11.00, 0.30),
    ]),
    "toys": ("TOY", [
        ("Wooden train set", 45.00, 0.45),
        ("Jigsaw puzzle 1000", 16.00, 0.50),
        ("Plush bear", 18.00, 0.55),
        ("Building bricks set", 39.00, 0.35),
        ("Family board game", 25.00, 0.42),
        ("Craft kit", 14.00, 0.52),
        ("Remote-control car", 49.00, 0.30),
        ("Picture book", 8.00, 0.40),
    ]),
}


def catalogue() -> pd.DataFrame:
    """The retail-demo product catalogue. It is the same on every call and uses no randomness.

    Returns
    -------
    DataFrame with one row per product, in category order (:data:`CATEGORIES`) and then by
    stock code, and these columns:

    ``product_id``
        Stock code: a category prefix and a 4-digit number, e.g. ``"CLO-0001"``.
    ``product_name``
        What the shop calls the product, e.g. ``"Linen shirt"``.
    ``category``
        One of :data:`CATEGORIES`.
    ``list_price``
        Catalogue price per unit in pounds.
    ``margin_rate``
        Gross margin as a share of the price, from 0.2 to 0.6.
    """
    rows = [
        {"product_id": f"{prefix}-{i:04d}", "product_name": name, "category": category,
         "list_price": price, "margin_rate": margin}
        for category in CATEGORIES
        for prefix, products in [_PRODUCTS[category]]
        for i, (name, price, margin) in enumerate(products, start=1)
    ]
    return pd.DataFrame(rows)
