"""Order lines into orders: cancellations matched to their purchase, lines grouped and
netted in DuckDB, robust outlier flags and the modelling cap.

Cancellation rule (documented in the README's input contract): a line without
``returned_order_id`` whose quantity or amount is negative, or whose order id starts with the
configured ``cancel_prefix``, cancels the same customer's **latest purchase of the same
product at or before its own time** (any product when the export has no product ids; the
larger order id on a tie). Unmatched cancellations are rejected with their reason and
counted, never netted into a guess.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..core.db import read_frame
from ..core.fast_text import isin

__all__ = ["ORDERS_TABLE", "cap_warning", "mark_cancellations", "match_cancellations", "orders_from_lines",
           "orders_summary", "outliers"]


def mark_cancellations(t, cfg, rejected, lg):
    """Cancellation lines: negative quantity or amount, or an order id with the configured
    marker (``cancel_prefix``), and no ``returned_order_id``. Their amount is made negative."""
    marker = (t["order_id"].astype("string").str.startswith(cfg.cancel_prefix).fillna(False).to_numpy(bool)
              if cfg.cancel_prefix else np.zeros(len(t), bool))
    negative = ((t["amount"] < 0) | (t["quantity"] < 0)).fillna(False).to_numpy(bool)
    cancel = t["returned_order_id"].isna().to_numpy() & (negative | marker) & ~rejected
    flip = cancel & (t["amount"] > 0).fillna(False).to_numpy(bool)
    lg.add("transactions", "cancellation_sign", "changed", t, flip, "amount",
           f"order id starts with {cfg.cancel_prefix!r}: a cancellation, amount made negative")
    t = t.assign(amount=t["amount"].mask(flip, -t["amount"]),
                 quantity=t["quantity"].mask(cancel, -t["quantity"].abs()))
    return t, cancel


def match_cancellations(t, cancel) -> pd.Series:
    """The order each cancellation line cancels: the same customer's latest purchase of the
    same product (any product when the source has no product ids) at or before the
    cancellation's time (DuckDB's ASOF join); missing where there is none."""
    out = pd.Series(pd.NA, index=t.index, dtype="string")
    if not cancel.any():
        return out
    sale = ~cancel & t["returned_order_id"].isna().to_numpy() & (t["amount"] >= 0).to_numpy()
    # only the purchases of customers who cancelled something can match: a small share of lines
    sale &= isin(t["customer_id"], t.loc[cancel, "customer_id"].dropna().unique())
    rows = np.flatnonzero(cancel | sale)
    part = t.iloc[rows]
    frame = pd.DataFrame({"customer_id": part["customer_id"].to_numpy(),
                          "product": part["product_id"].astype("string").fillna("").to_numpy(),
                          "ts": part["order_ts"].to_numpy(), "order_id": part["order_id"].to_numpy(),
                          "row": rows})
    cancel, sale = cancel[rows], sale[rows]
    con = duckdb.connect()
    try:
        con.register("c", frame[cancel])
        con.register("s_all", frame[sale])
        # one candidate per customer, product and time (the larger order id on a tie): deterministic
        con.execute("CREATE TEMP VIEW s AS SELECT customer_id, product, ts, max(order_id) AS order_id "
                    "FROM s_all GROUP BY ALL")
        hit = con.execute("SELECT c.row, s.order_id FROM c ASOF JOIN s ON c.customer_id = s.customer_id "
                          "AND c.product = s.product AND c.ts >= s.ts ORDER BY c.row").fetchnumpy()
    finally:
        con.close()
    out.iloc[hit["row"]] = hit["order_id"]
    return out


#: The staging table of :func:`orders_from_lines` (one row per order, ``n_lines`` included).
ORDERS_TABLE = "_clean_orders"


def orders_from_lines(con, lines: str, lg) -> tuple[int, int]:
    """One row per order from the sale lines of table ``lines``, returns and cancellations
    netted, into :data:`ORDERS_TABLE` (DuckDB): first customer, channel and time, the category
    if the order has one (else ``mixed``), quantities and amounts summed, the net amount
    rounded to the cent half to even (numpy's ``round(2)``). Logs orders whose returns exceed
    the sale and lines grouped; returns the number of orders and of lines merged into them."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {ORDERS_TABLE} AS
        WITH sale AS (SELECT * FROM {lines} WHERE returned_order_id IS NULL),
             back AS (SELECT returned_order_id AS order_id, sum(amount) AS returned_amount
                      FROM {lines} WHERE returned_order_id IS NOT NULL GROUP BY ALL),
             o AS (
                SELECT s.order_id, arg_min(customer_id, _source_row) AS customer_id,
                       min(order_ts) AS order_ts, arg_min(channel, _source_row) AS channel,
                       CASE WHEN min(category) = max(category) THEN min(category) ELSE 'mixed' END AS category,
                       sum(quantity)::BIGINT AS quantity, round(sum(amount), 2) AS amount,
                       round(coalesce(any_value(b.returned_amount), 0), 2) AS returned_amount,
                       count(*) AS n_lines, min(_source_row) AS _source_row
                FROM sale s LEFT JOIN back b USING (order_id)
                GROUP BY s.order_id)
        SELECT * EXCLUDE (n_lines), round_even((amount + returned_amount) * 100.0, 0) / 100.0 AS net_amount, n_lines
        FROM o""")
    def flagged(where, detail="NULL"):
        return read_frame(con, f"SELECT order_id AS key, _source_row AS source_row, {detail} AS detail "
                               f"FROM {ORDERS_TABLE} WHERE {where} ORDER BY _source_row, order_id")

    lg.add_rows("transactions", "returns_exceed_sale", "flagged", "net_amount", flagged("net_amount < 0"),
                "returns and cancellations netted into the order exceed its sale amount")
    multi = flagged("n_lines > 1", "n_lines::VARCHAR || ' lines into one order'")
    lg.add_rows("transactions", "order_lines_grouped", "merged", "order_id", multi, multi["detail"].to_numpy())
    n_orders, grouped = con.execute(f"SELECT count(*), coalesce(sum(n_lines - 1), 0) FROM {ORDERS_TABLE}").fetchall()[0]
    return int(n_orders), int(grouped)


def outliers(orders: pd.DataFrame, cfg, lg) -> tuple[pd.Series, float, dict]:
    """Robust outlier flags on the order amounts (z of the log amount by median and MAD; only
    unusually large orders unless ``outlier_side="both"``), the modelling copy's cap
    (``model_cap``: "robust" — the flag threshold —, "none", or an amount) and a summary of
    what both do to revenue."""
    positive = orders["amount"] > 0
    logs = np.log(orders.loc[positive, "amount"])
    med = float(np.median(logs)) if len(logs) else 0.0
    mad = float(np.median(np.abs(logs - med))) if len(logs) else 0.0
    z = 0.6745 * (np.log(orders["amount"].where(positive)) - med) / (mad if mad > 0 else np.inf)
    flag = z.abs() > cfg.outlier_z if cfg.outlier_side == "both" else z > cfg.outlier_z
    flag = flag.fillna(False).astype(bool)
    robust = float(np.exp(med + cfg.outlier_z * mad / 0.6745)) if mad > 0 else np.inf
    cap = {"robust": robust, "none": np.inf}.get(str(cfg.model_cap).lower())
    cap = float(cfg.model_cap) if cap is None else cap
    revenue = float(orders["net_amount"].sum())
    removed = float((orders["net_amount"] - orders["net_amount"].clip(upper=cap)).sum())
    summary = {"orders_flagged": int(flag.sum()),
               "revenue_share_flagged": float(orders.loc[flag, "net_amount"].sum() / revenue) if revenue else 0.0,
               "cap": cap, "orders_capped": int((orders["net_amount"] > cap).sum()),
               "revenue_share_removed_by_cap": removed / revenue if revenue else 0.0}
    lg.add("transactions", "extreme_outlier", "flagged", orders.assign(_key=orders["order_id"]),
           flag.to_numpy(), "amount",
           f"robust z of log amount {'beyond ±' if cfg.outlier_side == 'both' else 'above '}{cfg.outlier_z} "
           f"(model copy cap {cap:,.2f})")
    return flag, cap, summary


def orders_summary(result) -> pd.DataFrame:
    """From a :class:`~dbmlib.clean.cleaning.CleanResult`: lines, orders, returns and
    cancellations netted or rejected, gross and net revenue, and what the outlier rule and the
    modelling cap do to revenue — one row per figure, for the report."""
    n = result.counts
    log = result.quality_log
    count = log[log["table"] == "transactions"].groupby("rule")["rows"].sum()
    o = result.outliers
    rows = [
        ("order lines kept", f"{n['order_lines']:,}"),
        ("orders", f"{n['orders']:,}"),
        ("lines per order (mean)", f"{n['sale_lines'] / max(n['orders'], 1):.2f}"),
        ("returns and cancellations netted", f"{int(count.get('return_netted', 0)):,}"),
        ("cancellations without a matching purchase (rejected)", f"{int(count.get('unmatched_cancellation', 0)):,}"),
        ("amounts computed as quantity × unit price", f"{int(count.get('amount_from_price', 0)):,}"),
        ("gross revenue", f"{n['gross_revenue']:,.2f}"),
        ("net revenue (returns netted)", f"{n['net_revenue']:,.2f}"),
        ("orders flagged as unusually large", f"{o.get('orders_flagged', 0):,} "
                                              f"({o.get('revenue_share_flagged', 0):.1%} of net revenue)"),
        ("modelling copy: cap per order", "none" if not np.isfinite(o.get("cap", np.inf)) else f"{o['cap']:,.2f}"),
        ("modelling copy: revenue removed by the cap", f"{o.get('revenue_share_removed_by_cap', 0):.1%} "
                                                       f"({o.get('orders_capped', 0):,} orders)"),
    ]
    return pd.DataFrame(rows, columns=["figure", "value"]).set_index("figure")


def cap_warning(outlier_summary: dict, threshold: float = 0.02) -> str:
    """A sentence when the modelling cap removes more than ``threshold`` of revenue, else ""."""
    share = outlier_summary.get("revenue_share_removed_by_cap", 0.0)
    if share <= threshold:
        return ""
    return (f"The modelling copy's cap removes {share:.1%} of net revenue ({outlier_summary['orders_capped']:,} "
            f"orders above {outlier_summary['cap']:,.2f}). If these are real orders (wholesale, B2B), set "
            "model_cap='none' or a higher amount; if they are data errors, keep it.")
