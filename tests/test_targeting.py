"""Stage 05's planning logic that used to live in the notebook: rule fallback, list size,
target lists, list comparison, strata, stored plan and results, per-campaign figures."""

import numpy as np
import pandas as pd
import pytest

from dbmlib import campaign
from dbmlib.campaign import history, targeting


@pytest.fixture
def plan():
    ids = pd.Index([f"C{i:02d}" for i in range(10)], name="customer_id")
    p = pd.DataFrame({"p_response": np.linspace(0.05, 0.5, 10), "expected_spend": 100.0,
                      "uplift": [0.2, -0.05, 0.1, 0.0, 0.3, 0.05, -0.1, 0.15, 0.01, 0.25]}, index=ids)
    p["profit_by_uplift"] = campaign.expected_profit(p, margin=0.5, contact_cost=1.0, probability_col="uplift")
    p["profit_by_response"] = campaign.expected_profit(p, margin=0.5, contact_cost=1.0)
    return p


def test_campaign_id_and_list_size():
    assert targeting.campaign_id_for(pd.Timestamp("2025-07-01"), "direct_mail") == "C2025-07-DI"
    assert targeting.campaign_id_for("2025-07-01", "email") == "C2025-07-EM"
    assert campaign.list_size(10.0, 1.0, 0.5) == 20
    assert campaign.list_size(250.0, 0.05, 0.2) == 6250  # 250 // 0.04 is 6249 in binary floating point
    assert campaign.list_size(0.03, 0.05, 0.2) == 0


def test_rule_falls_back_to_segments_without_history(plan, caplog):
    assert targeting.targeting_rule("uplift", plan) == "uplift"
    assert targeting.targeting_rule("segment", plan) == "segment"
    no_history = plan[["p_response", "expected_spend"]]
    assert targeting.targeting_rule("uplift", no_history) == "segment"
    assert "needs campaign history" in caplog.text
    with pytest.raises(ValueError, match="expected one of"):
        targeting.targeting_rule("upift", plan)


def test_target_list_by_profit_and_by_segment(plan):
    eligible = pd.Series(True, index=plan.index)
    eligible["C04"] = False  # the best uplift customer may not be contacted
    by_uplift = targeting.target_list("uplift", plan, None, eligible, max_size=3, contact_cost=1.0)
    assert list(by_uplift) == ["C09", "C00", "C07"]  # uplift 0.25, 0.2, 0.15 (C04 excluded)
    by_response = targeting.target_list("response", plan, None, eligible, max_size=2, contact_cost=1.0)
    assert list(by_response) == ["C09", "C08"]
    feat = pd.DataFrame({"segment": ["At risk", "Loyal"] * 5, "recency_days": range(10, 0, -1)}, index=plan.index)
    by_segment = targeting.target_list("segment", plan, feat, eligible, max_size=10, contact_cost=1.0,
                                       segments="At risk, Champions")
    assert list(by_segment) == ["C08", "C06", "C02", "C00"]  # most recent first, C04 not eligible


def test_compare_lists_overlap(plan):
    eligible = pd.Series(True, index=plan.index)
    table = targeting.compare_lists(plan, eligible, max_size=3, contact_cost=1.0)
    # response top 3: C09, C08, C07; uplift top 3 (profitable only): C04, C09, C00 → overlap 1/3
    assert table.attrs["overlap"] == pytest.approx(1 / 3)
    assert table.loc["by uplift", "uplift"] == pytest.approx((0.3 + 0.25 + 0.2) / 3)
    assert table["customers"].tolist() == [3, 3]
    assert targeting.compare_lists(plan.drop(columns="profit_by_uplift"), eligible, max_size=3,
                                   contact_cost=1.0) is None


def test_strata_pool_exclusions_and_plan_table(plan):
    strata = targeting.plan_strata(plan, None)
    assert sorted(strata.tolist()) == list(range(10))  # ten customers, ten uplift deciles
    feat = pd.DataFrame({"segment": ["A"] * 10}, index=plan.index)
    assert (targeting.plan_strata(plan.drop(columns="uplift"), feat) == "A").all()
    eligible = pd.DataFrame({"eligible": [True, False] * 5,
                             "exclusion": [None, "no consent"] * 4 + [None, "suppressed"]}, index=plan.index)
    assert list(targeting.eligible_pool(plan, eligible).index) == [f"C{i:02d}" for i in range(0, 10, 2)]
    assert targeting.exclusion_counts(eligible).to_dict() == {"eligible": 5, "no consent": 4, "suppressed": 1}
    groups = campaign.assign_groups(plan.index[:6], control_share=0.5, seed=0)
    table = targeting.plan_table(groups, plan, "C1")
    assert len(table) == 6 and table.index.name == "customer_id"
    assert (table["campaign_id"] == "C1").all() and "expected_spend" not in table
    assert table.loc["C04", "uplift"] == 0.3


def test_result_metrics_power_and_combined_results():
    idx = pd.MultiIndex.from_tuples([("K1", "treatment"), ("K2", "treatment")], names=["campaign_id", "cell"])
    results = pd.DataFrame({"abs_lift": [0.02, -0.01], "abs_lift_lo": [0.01, -0.03], "abs_lift_hi": [0.03, 0.01],
                            "rel_lift": [0.2, -0.1], "p_value": [0.001, 0.4], "incremental_profit": [50.0, -5.0],
                            "roi": [1.5, -0.2], "n": [8000, 4000], "control_n": [2000, 1000],
                            "control_rate": [0.1, 0.1]}, index=idx)
    m = history.result_metrics(results)
    assert len(m) == 14 and m["campaign.K1.abs_lift"] == 0.02 and m["campaign.K2.roi"] == -0.2
    power = history.control_power(results, 0.02)
    needed = campaign.sample_size_two_proportions(0.1, 0.02, ratio=4.0)
    assert power.loc["K1", "control_needed"] == needed and power.loc["K1", "enough"] == (2000 >= needed)
    new = pd.DataFrame({"abs_lift": [0.05]}, index=pd.Index(["treatment"], name="cell"))
    both = history.combine_results(results, new, campaign_id="K3", channel="email")
    assert both["campaign_id"].tolist() == ["K1", "K2", "K3"] and both["channel"].iloc[-1] == "email"
    assert len(history.combine_results(pd.DataFrame(), None, campaign_id="K3", channel="email")) == 0


def test_evaluate_by_campaign_splits_strata():
    rng = np.random.default_rng(0)
    n = 4000
    contacts = pd.DataFrame({"campaign_id": np.repeat(["K1", "K2"], n // 2), "customer_id": np.arange(n) % 2000,
                             "group": rng.choice(["treatment", "control"], n, p=[0.8, 0.2])})
    contacts["contacted"] = contacts["group"] == "treatment"
    contacts["responded"] = rng.random(n) < np.where(contacts["contacted"], 0.15, 0.1)
    contacts["response_revenue"] = contacts["responded"] * 40.0
    contacts["contact_cost"] = contacts["contacted"] * 0.5
    customers = pd.DataFrame({"age_band": np.where(np.arange(2000) < 1000, "18-34", "35+")},
                             index=pd.RangeIndex(2000, name="customer_id"))
    tables = history.evaluate_by_campaign(contacts, customers, "age_band", margin=0.5)
    assert sorted(tables) == ["K1", "K2"]
    k1 = tables["K1"]
    assert sorted(k1.index.get_level_values(0)) == ["18-34", "35+"]
    assert k1["n"].sum() + k1["control_n"].sum() == n // 2


def test_write_back_responses_books_purchases_on_the_sales_channel(monkeypatch):
    from dbmlib.campaign import writeback

    captured = {}

    def fake(con, camp, contacts, purchases, folder):
        captured.update(campaign=camp, purchases=purchases, folder=folder)
        return {"contacts": len(contacts), "transactions": len(purchases)}

    monkeypatch.setattr(writeback, "write_back", fake)
    contacts = pd.DataFrame({"customer_id": ["a", "b", "c"], "responded": [True, False, True],
                             "response_ts": pd.to_datetime(["2025-07-02", None, "2025-07-05"]),
                             "response_revenue": [10.0, 0.0, 20.0]})
    out = writeback.write_back_responses(None, contacts, campaign_id="K9", channel="email", start="2025-07-01",
                                         response_window_days=30, contact_cost=0.05, offer="by uplift",
                                         feedback_dir="fb")
    assert out == {"contacts": 3, "transactions": 2}
    assert captured["purchases"]["channel"].tolist() == ["web", "web"]
    assert captured["purchases"]["amount"].tolist() == [10.0, 20.0]
    assert captured["campaign"]["name"] == "Next email campaign" and captured["campaign"]["offer"] == "by uplift"


def test_responders_before_after_counts_the_new_order():
    before = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_ts": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-02-01"]),
                           "net_amount": [10.0, 20.0, 5.0]})
    after = pd.concat([before, pd.DataFrame({"customer_id": ["a"], "order_ts": pd.to_datetime(["2025-07-03"]),
                                             "net_amount": [30.0]})], ignore_index=True)
    contacts = pd.DataFrame({"customer_id": ["a", "b"], "responded": [True, False]})
    from dbmlib.campaign import responders_before_after

    table = responders_before_after(before, after, contacts, pd.Timestamp("2025-08-01"))
    assert table.loc["a", ("before", "orders")] == 2 and table.loc["a", ("after", "orders")] == 3
    assert table.loc["a", ("after", "revenue")] == 60.0
    assert list(table.index) == ["a"]


def test_expected_list_profit_sums_the_rules_profit_over_the_list():
    from dbmlib.campaign.targeting import expected_list_profit

    plan = pd.DataFrame({"profit_by_uplift": [3.0, -1.0, 2.5], "profit_by_response": [1.0, 1.0, 1.0]},
                        index=["A", "B", "C"])
    assert expected_list_profit(plan, ["A", "C"], "uplift") == 5.5
    assert expected_list_profit(plan, ["A", "B", "X"], "response") == 2.0  # X not in the plan: no profit
    assert expected_list_profit(plan, ["A"], "segment") is None


def _offers():
    # C01: home p=0.10 (value 50, margin 0.5) ranks first by probability, but beauty p=0.08 at value
    # 100 and margin 0.6 earns more; C02 has one offer; C03's best offer does not pay the contact
    return pd.DataFrame({"customer_id": ["C01", "C01", "C02", "C03"], "category": ["home", "beauty", "toys", "home"],
                         "probability": [0.10, 0.08, 0.40, 0.001], "order_value": [50.0, 100.0, 20.0, 50.0],
                         "margin_rate": [0.5, 0.6, 0.4, 0.5], "rank": [1, 2, 1, 1]})


def test_best_offer_is_the_one_with_the_highest_expected_incremental_margin():
    best = campaign.best_offers(_offers(), lift=0.5, contact_cost=0.1)
    assert best.loc["C01", "offer"] == "beauty"
    assert best.loc["C01", "profit_by_offer"] == pytest.approx(0.5 * 0.08 * 100 * 0.6 - 0.1)  # 2.3
    # incremental probability min(L·p, 1 − p): 0.5 × 0.4 = 0.2 for C02; at L = 2, 1 − 0.4 = 0.6 caps 0.8
    assert best.loc["C02", "incremental_probability"] == pytest.approx(0.2)
    assert campaign.best_offers(_offers(), lift=2.0, contact_cost=0.1).loc["C02", "incremental_probability"] == \
        pytest.approx(0.6)
    ids = pd.Index(["C01", "C02", "C03", "C04"], name="customer_id")
    plan = pd.DataFrame({"p_response": 0.1, "expected_spend": 10.0}, index=ids).join(best)
    assert targeting.targeting_rule("offer", plan) == "offer"
    targets = targeting.target_list("offer", plan, pd.DataFrame(index=ids), pd.Series(True, index=ids),
                                    max_size=10, contact_cost=0.1)
    assert list(targets) == ["C01", "C02"]  # C03 loses money, C04 has no offer
    assert targeting.expected_list_profit(plan, targets, "offer") == round(2.3 + (0.2 * 20 * 0.4 - 0.1), 2)
    mix = campaign.offer_mix(plan, targets)
    assert mix["customers"].to_dict() == {"beauty": 1, "toys": 1}
    groups = campaign.assign_groups(targets, control_share=0.5, seed=0, strata=targeting.plan_strata(plan, None, "offer"))
    groups = campaign.attach_offers(groups, plan, "offer")
    assert groups["offer"].to_dict() == {"C01": "beauty", "C02": "toys"} and set(groups["stratum"]) == {"beauty", "toys"}
    assert "offer" not in campaign.attach_offers(groups.drop(columns="offer"), plan, "uplift")


def test_offer_lift_is_assumed_until_a_cross_sell_campaign_is_measured():
    contacts = pd.DataFrame({"campaign_id": ["A", "A", "X", "X"], "customer_id": ["C1", "C2", "C1", "C2"],
                             "offer": [None, None, "home", "home"]})
    results = pd.DataFrame({"rel_lift": [0.4, 2.0], "rel_lift_lo": [0.1, 0.8], "rel_lift_hi": [0.7, 4.0]},
                           index=pd.MultiIndex.from_tuples([("A", "treatment"), ("X", "treatment")],
                                                           names=["campaign_id", "cell"]))
    assert campaign.offer_lift(results.iloc[:1], contacts, prior=0.3)[0] == 0.3  # A is not a cross-sell
    lift, why = campaign.offer_lift(results, contacts, prior=0.3)
    assert lift == 0.8 and "measured on X (200%" in why and "lower end" in why
    assert campaign.offer_lift(results, contacts.drop(columns="offer"), prior=0.3)[0] == 0.3


def test_pre_period_revenue_sums_each_customers_orders_before_their_campaign():
    contacts = pd.DataFrame({"campaign_id": ["K1", "K1", "K2"], "customer_id": ["a", "b", "a"]})
    campaigns = pd.DataFrame({"campaign_id": ["K1", "K2"], "start_date": pd.to_datetime(["2024-04-01", "2024-06-01"])})
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
                       "order_ts": pd.to_datetime(["2024-01-01", "2024-03-15", "2024-05-20", "2024-04-01"]),
                       "net_amount": [100.0, 20.0, 5.0, 7.0]})
    got = history.pre_period_revenue(contacts, campaigns, tx, days=90)
    # K1 window 2024-01-02 … 2024-03-31: a's 20 (the 1 January order is 91 days before); b's order is on the start day
    # K2 window 2024-03-03 … 2024-05-31: a's 20 and 5
    assert got.tolist() == [20.0, 0.0, 25.0] and got.name == "revenue_90d_before"
