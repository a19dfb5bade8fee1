"""Who gets the next campaign: the planning table, the targeting rule and the list.

:func:`build_plan` scores every buyer for the next campaign (response probability, uplift,
expected profit of a contact under each rule); :func:`targeting_rule` falls back to the RFM
segment rule when the asked-for rule needs campaign history the source lacks;
:func:`target_list` draws the list within the budget; :func:`compare_lists` shows how the
response and the uplift lists differ.
"""

from __future__ import annotations

import logging

import pandas as pd

from ..models.training_sets import features_as_of
from .cross_sell import best_offers
from .planning import expected_profit, segment_rule_targets, select_targets

__all__ = [
    "RULES",
    "build_plan",
    "campaign_id_for",
    "compare_lists",
    "empty_list_reason",
    "eligible_pool",
    "exclusion_counts",
    "expected_list_profit",
    "plan_strata",
    "plan_table",
    "target_list",
    "targeting_rule",
]

log = logging.getLogger(__name__)

#: Targeting rules: rank by incremental profit from uplift, by profit from response
#: probability, by the expected incremental margin of each customer's best cross-sell offer,
#: or take the chosen RFM segments.
RULES = ("uplift", "response", "offer", "segment")


def campaign_id_for(start, channel: str, round_no: int = 0) -> str:
    """The id of a campaign starting at ``start`` on ``channel``: ``C2025-07-EM``; in round
    *k* of the loop ``C2025-07-EM-R2`` (two rounds can start in one month)."""
    base = f"C{pd.Timestamp(start):%Y-%m}-{channel.upper().replace('_', '')[:2]}"
    return f"{base}-R{round_no}" if round_no else base


def exclusion_counts(eligible: pd.DataFrame) -> pd.Series:
    """Customers per exclusion reason of :func:`~dbmlib.campaign.planning.eligibility`
    (``eligible`` for those who may be contacted)."""
    counts = eligible["exclusion"].value_counts(dropna=False)
    counts.index = ["eligible" if pd.isna(r) else r for r in counts.index]
    return counts.rename_axis("reason").rename("customers")


def build_plan(customers: pd.DataFrame, transactions, scores: pd.DataFrame, start, *,
               channel: str, margin: float, contact_cost: float, uplift_model=None,
               offers: pd.DataFrame | None = None, offer_lift: float = 0.3) -> pd.DataFrame:
    """One row per buyer as of ``start``: ``p_response`` and ``expected_spend`` from the scores,
    and where the models exist ``uplift`` (from a fitted uplift model) and the expected profit
    of one contact under each rule (``profit_by_uplift``, ``profit_by_response``); with the
    ``offers`` of stage 04, each customer's best cross-sell offer and ``profit_by_offer``
    (:func:`~dbmlib.campaign.cross_sell.best_offers` at relative lift ``offer_lift``).
    ``transactions``: the orders, or their :class:`~dbmlib.models.training_sets.OrderCodes`."""
    now = features_as_of(customers, transactions, start)
    now["campaign_channel"] = channel
    plan = pd.DataFrame({"p_response": scores["p_response"].reindex(now.index) if "p_response" in scores else None,
                         "expected_spend": scores["expected_spend"].reindex(now.index)}, index=now.index)
    if uplift_model is not None:
        plan["uplift"] = uplift_model.predict_uplift(now)
        plan["profit_by_uplift"] = expected_profit(plan, margin=margin, contact_cost=contact_cost,
                                                   probability_col="uplift")
    if plan["p_response"].notna().any():
        plan["profit_by_response"] = expected_profit(plan, margin=margin, contact_cost=contact_cost)
    if offers is not None and len(offers):
        plan = plan.join(best_offers(offers, lift=offer_lift, contact_cost=contact_cost), how="left")
    return plan


def targeting_rule(target_by: str, plan: pd.DataFrame) -> str:
    """``target_by`` if the plan supports it, else ``"segment"`` (with a warning in the log).

    Raises
    ------
    ValueError
        For a rule that is not one of :data:`RULES`.
    """
    if target_by not in RULES:
        raise ValueError(f"target_by={target_by!r}: expected one of {list(RULES)}")
    if target_by == "segment" or f"profit_by_{target_by}" in plan:
        return target_by
    log.warning("target_by=%r needs %s; using the RFM segment rule instead", target_by,
                "the offers of 04 (a source with categories)" if target_by == "offer" else "campaign history")
    return "segment"


def expected_list_profit(plan: pd.DataFrame, targets, rule: str) -> float | None:
    """Expected incremental profit of contacting ``targets`` under ``rule``: the sum of the
    rule's per-contact expected profit (``profit_by_uplift`` / ``profit_by_response``);
    ``None`` for a rule without a profit model (the RFM segment rule)."""
    column = {"uplift": "profit_by_uplift", "response": "profit_by_response", "offer": "profit_by_offer"}.get(rule)
    if column is None or column not in plan:
        return None
    return round(float(plan[column].reindex(pd.Index(targets)).fillna(0.0).sum()), 2)


def target_list(rule: str, plan: pd.DataFrame, features: pd.DataFrame, eligible: pd.Series, *,
                max_size: int, contact_cost: float, segments: str = "") -> pd.Index:
    """Customer ids to list under ``rule``: the most profitable eligible customers by the rule's
    expected profit, or for ``"segment"`` the eligible members of the comma-separated RFM
    ``segments``."""
    if rule == "segment":
        chosen = [s.strip() for s in segments.split(",")]
        return segment_rule_targets(features, chosen, eligible=eligible, max_size=max_size)
    return select_targets(plan[f"profit_by_{rule}"], contact_cost=contact_cost, max_size=max_size,
                          eligible=eligible)


def empty_list_reason(exclusions: pd.Series, rule: str) -> str:
    """Why a target list came out empty, in one sentence for the report: nobody may be contacted
    (the exclusion counts of :func:`exclusion_counts`), or nobody eligible was worth a contact."""
    eligible = int(exclusions.get("eligible", 0))
    if eligible == 0:
        reasons = ", ".join(f"{n:,} {r}" for r, n in exclusions.items())
        return f"No customer can be contacted, so the list is empty: {reasons}."
    return (f"None of the {eligible:,} eligible customers is worth a contact under the {rule!r} rule "
            "(expected profit at or below zero, or not in the chosen segments), so the list is empty.")


def compare_lists(plan: pd.DataFrame, eligible: pd.Series, *, max_size: int,
                  contact_cost: float) -> pd.DataFrame | None:
    """The response list against the uplift list of the same size: mean response probability,
    uplift and expected spend of each, their sizes, and ``attrs["overlap"]`` (share of the
    uplift list also on the response list). ``None`` unless the plan has both rules."""
    if not {"profit_by_uplift", "profit_by_response"} <= set(plan.columns):
        return None
    lists = {rule: select_targets(plan[f"profit_by_{rule}"], contact_cost=contact_cost, max_size=max_size,
                                  eligible=eligible) for rule in ("response", "uplift")}
    cols = ["p_response", "uplift", "expected_spend"]
    out = pd.DataFrame({f"by {rule}": plan.loc[ids, cols].mean() for rule, ids in lists.items()}).T
    out["customers"] = [len(ids) for ids in lists.values()]
    out.attrs["overlap"] = len(lists["response"].intersection(lists["uplift"])) / max(len(lists["uplift"]), 1)
    return out


def plan_strata(plan: pd.DataFrame, features: pd.DataFrame, rule: str = "") -> pd.Series:
    """Strata of the control-group draw: the offered category of a cross-sell campaign
    (``rule == "offer"``: every offer is measured against its own controls), uplift deciles when
    the plan has uplift, else the RFM segment."""
    if rule == "offer":
        return plan["offer"]
    if "uplift" in plan:
        return pd.qcut(plan["uplift"].rank(method="first"), 10, labels=False)
    return features["segment"]


def eligible_pool(plan: pd.DataFrame, eligible: pd.DataFrame) -> pd.DataFrame:
    """The plan's rows of the customers who may be contacted."""
    return plan[eligible["eligible"].reindex(plan.index).fillna(False).astype(bool)]


def plan_table(groups: pd.DataFrame, plan: pd.DataFrame, campaign_id: str) -> pd.DataFrame:
    """The stored ``campaign_plan``: each listed customer's group and scores, by customer id."""
    out = groups.join(plan.drop(columns=[c for c in plan if c == "expected_spend" or c in groups]), how="left")
    out.insert(0, "campaign_id", campaign_id)
    return out.rename_axis("customer_id")
