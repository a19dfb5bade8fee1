"""What past campaigns earned: the stage's inputs, per-campaign results and their power.

Reads what 05 needs from the marketing database, turns :func:`evaluate_campaigns` results into
recorded figures, evaluates each campaign within strata (e.g. age bands), checks whether each
control group was big enough, and combines past and new results into one stored table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.db import read_clean, read_frame
from ..core.fast_text import factorize, positions
from ..core.grouping import by_codes
from .evaluation import evaluate_by
from .planning import sample_size_two_proportions

__all__ = [
    "CUPED_COLUMNS",
    "RESULT_COLUMNS",
    "REVENUE_COLUMNS",
    "combine_results",
    "control_power",
    "evaluate_by_campaign",
    "heterogeneity_table",
    "pre_period_revenue",
    "read_inputs",
    "result_metrics",
]

#: The columns of a campaign-results table a reader needs, in reading order.
RESULT_COLUMNS = ["n", "response_rate", "control_n", "control_rate", "abs_lift", "abs_lift_lo", "abs_lift_hi",
                  "p_value", "incremental_responders", "incremental_revenue", "cost", "incremental_profit",
                  "incremental_profit_lo", "incremental_profit_hi", "roi"]

#: Revenue per customer in each group and its difference, with interval and p-value.
REVENUE_COLUMNS = ["revenue_per_customer", "control_revenue_per_customer", "revenue_diff", "revenue_diff_lo",
                   "revenue_diff_hi", "revenue_p_value", "significant_revenue"]
#: The lift and revenue difference after CUPED, and how much variance the covariate removed.
CUPED_COLUMNS = ["abs_lift", "abs_lift_cuped", "abs_lift_cuped_lo", "abs_lift_cuped_hi", "variance_reduction_response",
                 "revenue_diff_cuped", "revenue_diff_cuped_lo", "revenue_diff_cuped_hi", "variance_reduction_revenue"]

_RECORDED = ("abs_lift", "abs_lift_lo", "abs_lift_hi", "rel_lift", "p_value", "incremental_profit", "roi")


def read_inputs(con) -> tuple[pd.DataFrame, ...]:
    """The tables stage 05 works on.

    Returns
    -------
    tuple
        ``(customers, transactions, features, scores, campaigns, contacts)``: clean customers
        (indexed by id) and orders (customer, time, net amount, channel), ``customer_features``
        and ``scores`` (indexed by id), and the campaign history (campaigns by start date,
        every contact row).
    """
    customers, tx = read_clean(con, ["customer_id", "order_ts", "net_amount", "channel"])  # what 05 uses
    feat = read_frame(con, "SELECT * FROM customer_features").set_index("customer_id")
    scores = read_frame(con, "SELECT * FROM scores").set_index("customer_id")
    campaigns = con.execute("SELECT * FROM campaigns ORDER BY start_date, campaign_id").df()
    contacts = read_frame(con, "SELECT * FROM campaign_contacts")
    return customers, tx, feat, scores, campaigns, contacts


def result_metrics(results: pd.DataFrame) -> dict:
    """``campaign.<id>.<figure>`` for lift, its interval, p-value, incremental profit and ROI of
    every campaign of a results table indexed by (campaign, cell); a later cell overwrites."""
    out = {}
    for (cid, _cell), row in results.iterrows():
        for name in _RECORDED:
            out[f"campaign.{cid}.{name}"] = float(row[name])
    return out


def evaluate_by_campaign(contacts: pd.DataFrame, customers: pd.DataFrame, by: str, *,
                         margin: float) -> dict[str, pd.DataFrame]:
    """:func:`~dbmlib.campaign.evaluation.evaluate_by` within each campaign, strata from the
    customers' column ``by`` (e.g. ``age_band``); campaigns without a usable stratum left out."""
    rows = contacts.merge(customers[[by]], left_on="customer_id", right_index=True)
    out = {}
    for cid, sub in rows.groupby("campaign_id"):
        table = evaluate_by(sub, by, revenue_col="response_revenue", cost_col="contact_cost", margin=margin)
        if len(table):
            out[cid] = table
    return out


def pre_period_revenue(contacts: pd.DataFrame, campaigns: pd.DataFrame, transactions: pd.DataFrame, *,
                       days: int = 90) -> pd.Series:
    """Each contact row's customer revenue (net of returns) in the ``days`` before its
    campaign's start — the pre-period covariate that CUPED uses to narrow a campaign's
    intervals (it cannot be changed by the campaign). Aligned with ``contacts``' rows."""
    start = contacts["campaign_id"].map(campaigns.set_index("campaign_id")["start_date"]).pipe(pd.to_datetime)
    amount = transactions["net_amount" if "net_amount" in transactions else "amount"].to_numpy(float)
    codes, ids = factorize(transactions["customer_id"])  # shared with the stage's other steps on these orders
    ts = transactions["order_ts"]
    contact_code = positions(contacts["customer_id"], ids)
    out = pd.Series(0.0, index=contacts.index, name=f"revenue_{days}d_before")
    for when in start.dropna().unique():
        rows = (start == when).to_numpy()
        window = ((ts >= when - pd.Timedelta(days=days)) & (ts < when)).to_numpy() & (codes >= 0)
        spent = np.append(by_codes(amount[window], codes[window], len(ids)).sum().to_numpy(), 0.0)  # [-1]: unknown id
        out[rows] = spent[contact_code[rows]]
    return out


def heterogeneity_table(by_campaign: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per campaign and cell of :func:`evaluate_by_campaign`'s tables: Cochran's Q test that the
    lift is the same in every stratum (statistic, degrees of freedom, p-value, strata used)."""
    rows = [{"campaign_id": cid, "cell": cell, "q_statistic": h["statistic"], "df": h["df"], "p_value": h["p_value"],
             "strata": h["strata"]}
            for cid, table in by_campaign.items() for cell, h in table.attrs.get("heterogeneity", {}).items()]
    return pd.DataFrame(rows).set_index(["campaign_id", "cell"]) if rows else pd.DataFrame()


def control_power(results: pd.DataFrame, min_detectable_lift: float) -> pd.DataFrame:
    """Per campaign: control size, the size needed to detect ``min_detectable_lift`` at the
    observed control rate and list/control ratio, and whether it was enough."""
    power = pd.DataFrame({
        cid: {"control_rate": row["control_rate"], "control_n": row["control_n"],
              "control_needed": sample_size_two_proportions(
                  row["control_rate"], min_detectable_lift, ratio=row["n"] / row["control_n"])}
        for (cid, _cell), row in results.iterrows()}).T
    power["enough"] = power["control_n"] >= power["control_needed"]
    return power


def combine_results(past: pd.DataFrame, new: pd.DataFrame | None, *, campaign_id: str,
                    channel: str) -> pd.DataFrame:
    """Past campaigns' results and the new campaign's (if it was measured), one flat table."""
    out = past.reset_index() if len(past) else pd.DataFrame()
    if new is not None:
        out = pd.concat([out, new.reset_index().assign(campaign_id=campaign_id, channel=channel)],
                        ignore_index=True)
    return out
