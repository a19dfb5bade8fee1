"""The demo world one round further: every customer continues their own buy-till-you-die
process, the contact's effect follows the hidden rules, state carries over; round 2 is as
good for BG/NBD as round 1, and round 1's campaign is measured within its truth."""

import shutil

import numpy as np
import pandas as pd
import pytest

from dbmlib import campaign
from dbmlib.clean import clean_database
from dbmlib.collect import load_feedback, load_folder
from dbmlib.core.db import connect, read_clean
from dbmlib.demo import (
    compare_policies,
    make_retail_demo,
    period_start,
    policy_summary,
    read_truth,
    simulate_round,
    true_campaign_effects,
    truth_recovery,
    world_state,
    write_round,
)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    src = make_retail_demo(tmp_path_factory.mktemp("world") / "demo", n_customers=4000, seed=1)
    truth = pd.read_csv(src / "_truth" / "customers.csv").set_index("customer_id")
    return src, truth


def _no_campaign(truth):
    return pd.DataFrame({"group": pd.Series(dtype=object), "contacted": pd.Series(dtype=bool)},
                        index=pd.Index([], name="customer_id"))


def test_every_alive_customer_continues_the_bgnbd_process(small):
    src, truth = small
    customers = pd.DataFrame({"income_band": "low"}, index=truth.index)
    out = simulate_round(src, _no_campaign(truth), customers, channel="email", start="2025-07-01",
                         period_days=180, window_days=30, contact_cost=0.05, campaign_id="K", seed=3)
    alive0 = truth["alive_at_end"].astype(bool) & truth["buyer"].astype(bool)
    lam, p = truth["lam_per_day"][alive0], truth["p_dropout"][alive0]
    expected = float(((1 - np.exp(-lam * p * 180)) / p).sum())  # BG/NBD: E[X(t) | alive at 0]
    assert abs(len(out.purchases) - expected) < 5 * np.sqrt(expected), (len(out.purchases), expected)
    assert set(out.purchases["customer_id"]) <= set(alive0[alive0].index)  # the dead stay dead
    survive = float(np.exp(-lam * p * 180).sum())  # P(still alive after t | alive at 0)
    assert abs(out.alive.sum() - survive) < 5 * np.sqrt(survive)
    assert not out.alive[~alive0].any()
    assert out.purchases["order_ts"].between(pd.Timestamp("2025-07-01"), pd.Timestamp("2025-12-28")).all()
    again = simulate_round(src, _no_campaign(truth), customers, channel="email", start="2025-07-01",
                           period_days=180, window_days=30, contact_cost=0.05, campaign_id="K", seed=3)
    pd.testing.assert_frame_equal(out.purchases, again.purchases)


def test_the_contact_persuades_and_puts_off_by_the_hidden_rules(small):
    src, truth = small
    ids = truth.index[truth["buyer"].astype(bool)]
    groups = campaign.assign_groups(ids, control_share=0.5, seed=0)
    customers = pd.DataFrame({"income_band": "low"}, index=truth.index)
    out = simulate_round(src, groups, customers, channel="email", start="2025-07-01", period_days=30,
                         window_days=30, contact_cost=0.05, campaign_id="K", seed=5)
    c = out.contacts.set_index("customer_id")
    assert len(c) == len(ids) and (c["contact_cost"] == c["contacted"] * 0.05).all()
    assert not c.loc[~c["contacted"], ["persuaded", "put_off"]].any().any()  # control: untouched
    assert c.loc[c["persuaded"], "responded"].all()
    treated = c[c["contacted"]]
    # persuaded − put off among the treated ≈ their summed true uplift
    diff = treated["persuaded"].sum() - treated["put_off"].sum()
    assert abs(diff - treated["true_uplift"].sum()) < 4 * np.sqrt(treated["persuaded"].sum() + treated["put_off"].sum() + 1)
    # and the control group measures it: the lift interval holds the true mean uplift
    res = campaign.evaluate_ab(out.contacts).iloc[0]
    assert res["abs_lift_lo"] <= treated["true_uplift"].mean() <= res["abs_lift_hi"]


def test_state_carries_over_between_rounds(small, tmp_path):
    src, truth = small
    con = connect(tmp_path / "m.duckdb")
    load_folder(con, src)
    clean_database(con)
    customers, _ = read_clean(con)
    ids = customers.index[customers["email_opt_in"].astype(bool)][:500]
    groups = campaign.assign_groups(ids, control_share=0.2, seed=0)
    out = simulate_round(src, groups, customers, channel="email", start="2025-07-01", period_days=30,
                         window_days=30, contact_cost=0.05, campaign_id="R1", seed=1)
    fb = tmp_path / "fb"
    record = campaign.campaign_record("R1", "email", pd.Timestamp("2025-07-01"), 30, 0.05, "test")
    counts = write_round(con, out, record, fb)
    assert counts["transactions"] == len(out.purchases) and counts["contacts"] == 500
    alive, end = world_state(fb, truth)
    assert end == pd.Timestamp("2025-07-31") and (alive == out.alive.reindex(truth.index)).all()
    assert period_start(fb, "2030-01-01") == pd.Timestamp("2025-07-31")
    assert period_start(None, "2030-01-01") == pd.Timestamp("2030-01-01")
    _, camp_truth = read_truth(src, fb)
    assert set(camp_truth["campaign_id"]) == {"C2024-09-EM", "C2025-02-DM", "R1"}
    con.close()


def test_round_two_is_as_good_as_round_one(default_demo, tmp_path):
    """The loop's acceptance: after one simulated round, BG/NBD still recovers the truth (the
    95 % bootstrap interval holds every parameter, as in round 1), and the round-1 campaign's
    measured incremental responders' interval holds what the world really did."""
    src, db = default_demo
    shutil.copy(db, tmp_path / "m.duckdb")
    con = connect(tmp_path / "m.duckdb")
    customers, tx = read_clean(con)
    start = tx["order_ts"].max().normalize() + pd.Timedelta(days=1)
    eligible = campaign.eligibility(customers, channel="email", as_of=start)["eligible"]
    ids = eligible[eligible].index[::2]
    groups = campaign.assign_groups(ids, control_share=0.3, seed=2)
    out = simulate_round(src, groups, customers, channel="email", start=start, period_days=30, window_days=30,
                         contact_cost=0.05, campaign_id="C2025-07-EM-R1", seed=11,
                         id_map=con.execute("SELECT * FROM customer_id_map").df())
    fb = tmp_path / "fb"
    write_round(con, out, campaign.campaign_record("C2025-07-EM-R1", "email", start, 30, 0.05, "test"), fb)
    con.close()
    con = connect(tmp_path / "round2.duckdb")  # round 2 = 01 + 02 on the source and the feedback
    load_folder(con, src)
    load_feedback(con, fb)
    clean_database(con)
    tx2 = con.execute("SELECT customer_id, order_ts FROM transactions_model").df()
    campaigns = con.execute("SELECT * FROM campaigns").df()
    contacts = con.execute("SELECT * FROM campaign_contacts").df()
    params, camp_truth = read_truth(src, fb)
    assert tx2["order_ts"].max() > start + pd.Timedelta(days=25)  # everyone's new month, not only responders'
    rec = truth_recovery(tx2, campaigns, params, camp_truth, tx2["order_ts"].max(), days_per_time_unit=7,
                         n_boot=100, seed=0, variants=["natural purchases, hours"]).set_index("parameter")
    assert rec["truth_inside"].all(), rec[["truth", "fitted", "boot_lo", "boot_hi"]]
    results = campaign.evaluate_campaigns(campaigns, contacts, margin=0.35).reset_index("cell")
    r1 = results.loc["C2025-07-EM-R1"]
    true = true_campaign_effects(camp_truth, contacts).loc["C2025-07-EM-R1", "true_incremental_responders"]
    assert r1["incremental_responders_lo"] <= true <= r1["incremental_responders_hi"], (r1, true)
    con.close()


def test_policies_side_by_side_on_the_same_world(default_demo):
    """Three rounds of four policies on the default demo company, small models (3,000 rows)."""
    src, db = default_demo
    con = connect(db, read_only=True)
    customers, tx = read_clean(con)
    args = (con.execute("SELECT * FROM campaigns").df(), con.execute("SELECT * FROM campaign_contacts").df())
    table = compare_policies(src, customers, tx, *args, id_map=con.execute("SELECT * FROM customer_id_map").df(),
                             rounds=3, budget=100.0, seed=0, max_rows=3000)
    assert len(table) == 12 and list(table["policy"].unique()) == ["random", "segment", "response", "uplift"]
    assert (table["contacted"] <= table["listed"]).all() and (table["listed"] <= 2500).all()
    inside = table["measured_lo"].le(table["true_profit"]) & table["true_profit"].le(table["measured_hi"])
    assert inside.sum() >= 10  # 95 % intervals: at most two of twelve may miss
    summary = policy_summary(table)
    assert summary["true_profit"].is_monotonic_decreasing
    covered = (summary["measured_lo"] <= summary["true_profit"]) & (summary["true_profit"] <= summary["measured_hi"])
    assert covered.sum() >= 3  # four 95 % intervals: one may miss
    # the model policies earn more than the few customers of the chosen segments
    assert max(summary.loc["response", "true_profit"], summary.loc["uplift", "true_profit"]) > \
        summary.loc["segment", "true_profit"]
    con.close()


def test_a_cross_sell_offer_works_on_the_offered_category_by_the_planted_rule(small):
    """Every contacted customer is offered the planted partner of their preferred category or
    another one; the world persuades them at the two planted rates, a response is a purchase of
    the offered category, natural purchases follow each customer's mix, and the control group
    measures the truth."""
    from dbmlib.demo.catalogue import CATEGORIES, CROSS_SELL_RESPONSE, PREFERRED_SHARE, partner_of

    src, truth = small
    ids = truth.index[truth["buyer"].astype(bool) & truth["alive_at_end"].astype(bool)]
    groups = campaign.assign_groups(ids, control_share=0.5, seed=0)
    pref = truth.loc[ids, "preferred_category"]
    partner = pref.map(partner_of)
    other = pref.map(lambda c: next(x for x in CATEGORIES if x not in (c, partner_of(c))))
    half = np.arange(len(ids)) % 2 == 0
    groups["offer"] = np.where(half, partner.to_numpy(), other.to_numpy())
    customers = pd.DataFrame({"income_band": "low"}, index=truth.index)
    out = simulate_round(src, groups, customers, channel="email", start="2025-07-01", period_days=60,
                         window_days=30, contact_cost=0.05, campaign_id="X", seed=9)
    c = out.contacts.set_index("customer_id")
    assert not c["put_off"].any() and not c.loc[~c["contacted"], "persuaded"].any()
    # persuasion rates among contacted customers who were alive and had no natural purchase of the offer
    p = out.purchases.merge(c["offer"], left_on="customer_id", right_index=True)
    natural = set(p.loc[(p["category"] == p["offer"]) & (p["order_ts"] < pd.Timestamp("2025-07-31"))
                        & ~p["customer_id"].isin(c.index[c["persuaded"]]), "customer_id"])
    at_risk = c[c["contacted"] & ~c.index.isin(natural)]
    for is_partner, rate in ((True, CROSS_SELL_RESPONSE["partner of the preferred category"]),
                             (False, CROSS_SELL_RESPONSE["other category"])):
        sub = at_risk[(at_risk["offer"] == partner.reindex(at_risk.index)) == is_partner]
        n = len(sub)
        assert abs(sub["persuaded"].mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / n), (is_partner, sub["persuaded"].mean(), n)
    # a response is a purchase of the offered category in the window
    first = p[(p["category"] == p["offer"]) & (p["order_ts"] < pd.Timestamp("2025-07-31"))]
    assert set(first["customer_id"]) == set(c.index[c["responded"]])
    # natural purchases follow the customer's mix: a customer's first purchase of the period is in
    # their preferred category with probability 0.6 + 0.4 / 6 (later ones may switch to the partner)
    mix = out.purchases.assign(pref=out.purchases["customer_id"].map(truth["preferred_category"]))
    first_of_period = mix.sort_values("order_ts").drop_duplicates("customer_id")
    first_of_period = first_of_period[~first_of_period["customer_id"].isin(c.index[c["persuaded"]])]
    share, n = (first_of_period["category"] == first_of_period["pref"]).mean(), len(first_of_period)
    expected = PREFERRED_SHARE + (1 - PREFERRED_SHARE) / len(CATEGORIES)
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / n), (share, expected, n)
    # the control group measures the truth: the lift interval holds the realised incremental responders
    res = campaign.evaluate_ab(out.contacts).iloc[0]
    treated = c[c["contacted"]]
    assert res["incremental_responders_lo"] <= treated["persuaded"].sum() <= res["incremental_responders_hi"]
    assert res["incremental_responders_lo"] <= treated["true_uplift"].sum() <= res["incremental_responders_hi"]
