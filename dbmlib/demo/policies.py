"""Targeting policies side by side over several rounds of the same simulated world.

Each policy plays ``rounds`` campaign periods on the retail-demo world (:mod:`dbmlib.demo.world`),
learning from its own growing campaign history: ``random`` (eligible customers drawn at random),
``segment`` (the chosen RFM segments, most recent first), ``response`` (highest expected profit
from P(response | contacted)) and ``uplift`` (highest expected *incremental* profit from a
T-learner). All policies meet the same customers: the world's own purchases use the same random
numbers whatever the policy does, so the differences are the policies'.

For every round the table gives what the campaign's control group *measured* (incremental
profit with its 95 % interval, :func:`~dbmlib.campaign.evaluation.evaluate_ab`) and what it
*truly* earned in expectation (the generator's true uplift of each contacted customer × their
true mean spend × margin, less the contact costs) — the truth shows learners which policy really
earned more, and whether the measurement can tell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..campaign.evaluation import evaluate_ab
from ..campaign.planning import (
    assign_groups,
    eligibility,
    list_size,
    segment_rule_targets,
    select_targets,
)
from ..campaign.uplift import campaign_uplift_model
from ..models.propensity import PropensityModel
from ..models.training_sets import campaign_training_set, features_as_of, response_training_set
from ..segment.customer_table import customer_features
from .world import simulate_round, world_state

__all__ = ["POLICIES", "compare_policies", "policy_summary"]

POLICIES = ("random", "segment", "response", "uplift")


def _targets(policy, customers, tx, camps, contacts, start, eligible, *, size, value, margin, contact_cost,
             segments, seed, max_rows):
    """The list one policy draws for the campaign starting at ``start``."""
    ok = eligible[eligible].index
    if policy == "random":
        rng = np.random.default_rng(seed)
        return pd.Index(rng.choice(ok.to_numpy(), min(size, len(ok)), replace=False), name="customer_id")
    if policy == "segment":
        feat = customer_features(customers, tx, start - pd.Timedelta(days=1))
        return segment_rule_targets(feat, segments, eligible=eligible, max_size=size)
    now = features_as_of(customers, tx, start).assign(campaign_channel="email")
    if policy == "response":
        X, y = response_training_set(customers, tx, camps, contacts)
        model = PropensityModel("gbm", ["campaign_channel"], seed, max_rows).fit(X, y)
        prob = model.predict_proba(now)[:, 1]
    elif policy == "uplift":
        X, y = campaign_training_set(customers, tx, camps, contacts, include_control=True)
        prob = campaign_uplift_model(X, y, method="t", seed=seed, max_rows=max_rows).predict_uplift(now)
    else:
        raise ValueError(f"policy {policy!r}: expected one of {list(POLICIES)}")
    profit = pd.Series(prob, index=now.index) * value.reindex(now.index).fillna(0.0) * margin - contact_cost
    return select_targets(profit, contact_cost=contact_cost, max_size=size, eligible=eligible)


def compare_policies(folder, customers: pd.DataFrame, transactions: pd.DataFrame, campaigns: pd.DataFrame,
                     contacts: pd.DataFrame, *, id_map: pd.DataFrame | None = None, policies=POLICIES,
                     rounds: int = 3, budget: float = 250.0, contact_cost: float = 0.05,
                     control_share: float = 0.2, margin: float = 0.35, channel: str = "email",
                     period_days: int = 30, window_days: int = 30, frequency_cap_days: int = 60,
                     segments=("At risk", "Can't lose them", "About to sleep"), seed: int = 0,
                     max_rows: int | None = 20_000) -> pd.DataFrame:
    """Play ``rounds`` campaign periods per policy on the demo world of ``folder``, starting
    from the clean tables; one row per (policy, round): list size, measured incremental profit
    with its interval, expected true incremental profit."""
    truth = pd.read_csv(Path(folder) / "_truth" / "customers.csv").set_index("customer_id")
    mean_spend = truth["mean_spend"]
    alive0, _ = world_state(None, truth)
    to_clean = {} if id_map is None else dict(zip(id_map["source_id"], id_map["customer_id"]))
    first = pd.to_datetime(transactions["order_ts"]).max().normalize() + pd.Timedelta(days=1)
    size = list_size(budget, contact_cost, control_share)
    rows = []
    for policy in policies:
        tx, camps, hist, alive = transactions, campaigns, contacts, alive0
        for k in range(1, rounds + 1):
            start = first + pd.Timedelta(days=(k - 1) * period_days)
            eligible = eligibility(customers, channel=channel, as_of=start, contacts=hist,
                                   frequency_cap_days=frequency_cap_days)["eligible"]
            value = tx.groupby("customer_id")["net_amount"].mean()
            targets = _targets(policy, customers, tx, camps, hist, start, eligible, size=size, value=value,
                               margin=margin, contact_cost=contact_cost, segments=list(segments),
                               seed=seed + k, max_rows=max_rows)
            groups = assign_groups(targets, control_share=control_share, seed=seed + k)
            cid = f"P-{policy}-R{k}"
            out = simulate_round(folder, groups, customers, channel=channel, start=start, period_days=period_days,
                                 window_days=window_days, contact_cost=contact_cost, campaign_id=cid,
                                 seed=seed * 1000 + k, id_map=id_map, alive=alive)
            alive = out.alive
            measured = evaluate_ab(out.contacts, revenue_col="response_revenue", cost_col="contact_cost",
                                   margin=margin).iloc[0]
            treated = out.contacts[out.contacts["contacted"].astype(bool)]
            spend = mean_spend.reindex(treated["customer_id"].map(lambda c: c if c in mean_spend.index else None))
            true = float((treated["true_uplift"].to_numpy() * spend.fillna(mean_spend.mean()).to_numpy()).sum()
                         * margin - len(treated) * contact_cost)
            rows.append({"policy": policy, "round": k, "listed": len(groups), "contacted": len(treated),
                         "measured_profit": float(measured["incremental_profit"]),
                         "measured_lo": float(measured["incremental_profit_lo"]),
                         "measured_hi": float(measured["incremental_profit_hi"]), "true_profit": true})
            new_tx = out.purchases.assign(customer_id=out.purchases["customer_id"].map(lambda c: to_clean.get(c, c)),
                                          net_amount=out.purchases["amount"])
            tx = pd.concat([tx, new_tx[["customer_id", "order_ts", "net_amount", "channel"]]], ignore_index=True)
            camps = pd.concat([camps, pd.DataFrame([{"campaign_id": cid, "channel": channel, "start_date": start,
                                                     "response_window_days": window_days,
                                                     "contact_cost": contact_cost}])], ignore_index=True)
            hist = pd.concat([hist, out.contacts.assign(campaign_id=cid)], ignore_index=True)
    return pd.DataFrame(rows)


def policy_summary(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Cumulative measured and true incremental profit per policy, the measured one with an
    interval (round intervals combined as independent normal errors), best policy first."""
    from scipy.stats import norm

    z = norm.ppf(0.5 + level / 2)
    se = (table["measured_hi"] - table["measured_lo"]) / (2 * z)
    g = table.assign(var=se ** 2).groupby("policy", sort=False)
    out = pd.DataFrame({"rounds": g.size(), "contacted": g["contacted"].sum(),
                        "measured_profit": g["measured_profit"].sum(), "true_profit": g["true_profit"].sum()})
    half = z * np.sqrt(g["var"].sum())
    out["measured_lo"], out["measured_hi"] = out["measured_profit"] - half, out["measured_profit"] + half
    return out.sort_values("true_profit", ascending=False)
