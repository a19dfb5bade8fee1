"""Cross-sell campaigns: each customer is offered the category whose offer is expected to pay
the most, and the campaign is measured like any other — against a random control group.

The next-best-offer model of stage 04 (the ``offers`` table) gives, for every customer and
every category they have not bought, P(buying it in the coming months) ``p``, the category's
order value and its margin rate. What the *offer* adds is not ``p`` itself — much of it would
happen anyway — but the extra purchases the contact causes. Before the first cross-sell
campaign that effect is an assumption: a relative lift ``L`` (the parameter ``offer_lift``), so
the incremental probability is ``min(L · p, 1 − p)``. Once a cross-sell campaign has been
measured (its contacts carry the offered category), the measured relative lift of the latest
one replaces the assumption — the test-and-learn loop — at the lower end of its 95 % interval:
a relative lift over a small control rate is noisy, and a plan should not bank on its point
estimate. The expected incremental margin of an
offer is ``incremental probability × order value × margin rate − contact cost``; each customer
gets their best offer, and the list is the customers with the highest positive value.

A response to a cross-sell campaign is a purchase *of the offered category* in the response
window, by a contacted customer or by a control customer who would have been offered it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.db import read_frame, table_exists
from ..core.lineage import StaleTableError, require_inputs
from ..models.next_offer import offer_item

__all__ = ["OFFER_LABEL", "attach_offers", "best_offers", "offer_lift", "offer_mix", "read_offers"]

#: The ``offer`` of a cross-sell campaign's ``campaigns`` row.
OFFER_LABEL = "next best offer (cross-sell)"


def read_offers(con, *, source: str) -> pd.DataFrame | None:
    """The ``offers`` table of stage 04, or ``None`` when the source has none (no categories) or
    the table was built from another source or older clean tables (04 skipped its offers this
    time)."""
    if not table_exists(con, "offers"):
        return None
    try:
        require_inputs(con, ["offers"], source=source, stage="05_campaigns")
    except StaleTableError:
        return None
    offers = read_frame(con, "SELECT * FROM offers")
    return offers if len(offers) else None


def offer_lift(results: pd.DataFrame, contacts: pd.DataFrame, *, prior: float) -> tuple[float, str]:
    """The relative lift in buying the offered category that a contact causes: measured on the
    latest evaluated cross-sell campaign (one whose contacts carry an ``offer``) — the lower end
    of its 95 % interval — else the ``prior`` assumption. Returns the lift (never below 0) and
    where it comes from, in words."""
    if "offer" not in contacts or results is None or not len(results):
        return prior, f"assumed ({prior:.0%}): no cross-sell campaign measured yet"
    ids = contacts.loc[contacts["offer"].notna(), "campaign_id"].astype(str).unique()
    measured = results[results.index.get_level_values("campaign_id").astype(str).isin(ids)]
    measured = measured[measured["rel_lift"].notna()]
    if measured.empty:
        return prior, f"assumed ({prior:.0%}): no cross-sell campaign measured yet"
    last = measured.index.get_level_values("campaign_id")[-1]
    row = measured.xs(last, level="campaign_id").iloc[0]
    low = row.get("rel_lift_lo", np.nan)
    use = float(row["rel_lift"] if pd.isna(low) else low)
    interval = "" if pd.isna(low) else f", 95 % interval {low:.0%} to {row['rel_lift_hi']:.0%}; planned at its lower end"
    return max(use, 0.0), f"measured on {last} ({row['rel_lift']:.0%}{interval})"


def best_offers(offers: pd.DataFrame, *, lift: float, contact_cost: float) -> pd.DataFrame:
    """Per customer (index), the offer with the highest expected incremental margin: ``offer``
    (the category), ``p_offer``, ``offer_value``, ``margin_rate``, ``incremental_probability``
    and ``profit_by_offer`` (expected incremental margin − ``contact_cost``). Ties go to the
    offer ranked first by probability."""
    item = offer_item(offers)
    p = offers["probability"].to_numpy(float)
    incremental = np.minimum(lift * p, 1.0 - p)
    out = pd.DataFrame({"customer_id": offers["customer_id"].to_numpy(), "offer": offers[item].to_numpy(),
                        "p_offer": p, "offer_value": offers["order_value"].to_numpy(float),
                        "margin_rate": offers["margin_rate"].to_numpy(float),
                        "incremental_probability": incremental, "_rank": offers["rank"].to_numpy()})
    out["profit_by_offer"] = incremental * out["offer_value"] * out["margin_rate"] - contact_cost
    out = out.sort_values(["customer_id", "profit_by_offer", "_rank"], ascending=[True, False, True], kind="stable")
    return out.drop_duplicates("customer_id").drop(columns="_rank").set_index("customer_id")


def attach_offers(groups: pd.DataFrame, plan: pd.DataFrame, rule: str) -> pd.DataFrame:
    """The groups of a cross-sell campaign (``rule == "offer"``) with each listed customer's
    ``offer`` — the control group included, so both sides are graded on the same category;
    other campaigns' groups unchanged."""
    if rule != "offer":
        return groups
    return groups.assign(offer=plan["offer"].reindex(groups.index).to_numpy())


def offer_mix(plan: pd.DataFrame, targets) -> pd.DataFrame:
    """The listed customers of a cross-sell plan by offered category: how many, their mean
    P(buying it) and incremental probability, and the expected incremental margin net of the
    contact cost (the sum of ``profit_by_offer``)."""
    listed = plan.reindex(pd.Index(targets)).dropna(subset=["offer"])
    return listed.groupby("offer").agg(customers=("p_offer", "size"), mean_p_offer=("p_offer", "mean"),
                                       mean_incremental_probability=("incremental_probability", "mean"),
                                       expected_incremental_margin=("profit_by_offer", "sum"),
                                       ).sort_values("customers", ascending=False)
