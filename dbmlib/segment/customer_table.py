"""The `customer_features` table of the segmentation stage: one row per customer with RFM,
scores, named segment, lifecycle state and demographics, built from the clean tables."""

from __future__ import annotations

import pandas as pd

from ..core.db import table_exists
from .rfm import lifecycle, rfm_scores, rfm_table

__all__ = ["DEMOGRAPHICS", "contact_costs", "customer_features", "has_demographics", "segment_summary"]

DEMOGRAPHICS = ["gender", "age_band", "region", "income_band", "acquisition_channel"]


def customer_features(customers: pd.DataFrame, transactions: pd.DataFrame, as_of=None,
                      **lifecycle_thresholds) -> pd.DataFrame:
    """One row per customer (prospects included): RFM, scores, segment, lifecycle, demographics.

    Prospects (no purchase) have no RFM values and the segment ``"Prospect"``.
    """
    rfm = rfm_table(transactions, as_of)
    scores = rfm_scores(rfm)
    out = customers.reindex(customers.index.union(rfm.index))
    out.index.name = "customer_id"
    out = out.join(pd.concat([rfm, scores], axis=1))  # one alignment on the (shared) index of rfm
    out["lifecycle"] = lifecycle(out.index, out, **lifecycle_thresholds)  # out holds rfm reindexed to out.index
    out["segment"] = out["segment"].cat.add_categories(["Prospect"]).fillna("Prospect")
    out[["orders", "revenue"]] = out[["orders", "revenue"]].fillna(0)
    for col in ("r_score", "f_score", "m_score", "fm_score", "orders", "recency_days", "tenure_days"):
        out[col] = out[col].astype("Int64")
    for col in DEMOGRAPHICS:
        if col in out.columns:
            out[col] = out[col].astype("string").fillna("unknown")
        else:
            out[col] = "unknown"
    return out


def segment_summary(features: pd.DataFrame, by: str = "segment") -> pd.DataFrame:
    """Customers, revenue share and mean R/F/M per segment (or any grouping column)."""
    g = features.groupby(by, observed=True)
    out = pd.DataFrame({
        "customers": g.size(),
        "share_customers": g.size() / len(features),
        "revenue": g["revenue"].sum(),
        "share_revenue": g["revenue"].sum() / features["revenue"].sum(),
        "mean_recency_days": g["recency_days"].mean(),
        "mean_orders": g["orders"].mean(),
        "mean_revenue": g["revenue"].mean(),
    })
    out.index.name = by
    return out.sort_values("revenue", ascending=False)


def contact_costs(con) -> pd.Series | None:
    """Total contact cost per customer from ``campaign_contacts`` (None without campaigns), by
    customer id; added as exact decimals (to the millionth), so no run differs from another in
    the last digits as sums of doubles on several threads do."""
    if not table_exists(con, "campaign_contacts"):
        return None
    return con.execute("SELECT customer_id, sum(contact_cost::DECIMAL(38, 6))::DOUBLE AS cost "
                       "FROM campaign_contacts GROUP BY 1 ORDER BY 1").df().set_index("customer_id")["cost"]


def has_demographics(features: pd.DataFrame, columns=("region", "age_band", "income_band")) -> bool:
    """Whether any customer has a known value in any of the demographic ``columns`` (CDNOW has
    none: every value is ``"unknown"``)."""
    present = [c for c in columns if c in features.columns]
    return bool(present) and bool((features[present] != "unknown").any().any())
