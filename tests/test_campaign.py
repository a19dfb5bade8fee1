"""Campaign planning: eligibility, selection, control groups, the contact file, the what-if,
and the write-back that closes the loop."""

import numpy as np
import pandas as pd
import pytest

from dbmlib.campaign import planning as campaign
from dbmlib.campaign import writeback
from dbmlib.campaign.evaluation import evaluate_ab
from dbmlib.campaign.whatif import CampaignWhatIf, plan_outcome, what_if_table
from dbmlib.clean import cleaning as clean
from dbmlib.core import config
from dbmlib.core.db import read_clean
from dbmlib.demo import truth as demo_truth
from dbmlib.run import sources
from tests.conftest import build_clean_demo


def _customers():
    ids = [f"C{i:03d}" for i in range(10)]
    return pd.DataFrame({"email_opt_in": [True, False, True, True, None, True, True, False, True, True]},
                        index=pd.Index(ids, name="customer_id"))


def test_eligibility_reasons_in_order():
    cust = _customers()
    contacts = pd.DataFrame({"customer_id": ["C002", "C003", "C005"], "contacted": [True, False, True],
                             "contact_date": ["2025-06-20", "2025-06-25", "2025-01-01"]})
    e = campaign.eligibility(cust, channel="email", as_of="2025-07-01", suppression=["C000", "C001"],
                             contacts=contacts, frequency_cap_days=30)
    assert e["exclusion"].fillna("eligible").to_dict() == {
        "C000": "on suppression list", "C001": "on suppression list", "C002": "contacted in the last 30 days",
        "C003": "eligible", "C004": "no email consent", "C005": "eligible", "C006": "eligible",
        "C007": "no email consent", "C008": "eligible", "C009": "eligible"}
    assert list(e.index[e["eligible"]]) == ["C003", "C005", "C006", "C008", "C009"]
    assert e.loc["C004", "exclusion"] == "no email consent"  # missing consent is no consent
    mail = campaign.eligibility(cust, channel="direct_mail", as_of="2025-07-01")
    assert mail["eligible"].all()  # no e-mail consent needed for mail


def test_select_targets_budget_size_and_ties():
    profit = pd.Series([5.0, 1.0, -1.0, 5.0, 3.0, np.nan], index=list("edcbaf"))
    eligible = pd.Series(True, index=list("abcdef"))
    eligible["a"] = False
    assert list(campaign.select_targets(profit, contact_cost=1.0, eligible=eligible)) == ["b", "e", "d"]
    assert list(campaign.select_targets(profit, contact_cost=2.0, budget=4.0)) == ["b", "e"]
    assert list(campaign.select_targets(profit, contact_cost=1.0, max_size=1)) == ["b"]
    assert len(campaign.select_targets(profit, contact_cost=1.0, only_profitable=False)) == 5


def test_assign_groups_stratified_exact_and_seeded():
    ids = pd.Index([f"C{i:04d}" for i in range(1000)])
    strata = pd.Series(np.repeat(["a", "b", "c", "d"], [100, 200, 300, 400]), index=ids)
    g = campaign.assign_groups(ids, control_share=0.2, seed=3, strata=strata,
                               cells={"offer A": 0.5, "offer B": 0.5})
    share = g.groupby("stratum")["group"].apply(lambda s: (s == "control").mean())
    assert share.to_dict() == {"a": 0.2, "b": 0.2, "c": 0.2, "d": 0.2}
    assert g["group"].value_counts().to_dict() == {"offer A": 400, "offer B": 400, "control": 200}
    assert (g["contacted"] == (g["group"] != "control")).all()
    again = campaign.assign_groups(ids, control_share=0.2, seed=3, strata=strata,
                                   cells={"offer A": 0.5, "offer B": 0.5})
    pd.testing.assert_frame_equal(g, again)
    other = campaign.assign_groups(ids, control_share=0.2, seed=4, strata=strata)
    assert not other["contacted"].equals(g["contacted"])
    with pytest.raises(ValueError, match="add up to 1"):
        campaign.assign_groups(ids, control_share=0.2, seed=0, cells={"x": 0.5})


def test_check_cell_sizes_flags_small_cells(caplog):
    ids = pd.Index(range(1200))
    g = campaign.assign_groups(ids, control_share=0.25, seed=0, cells={"A": 0.5, "B": 0.5})
    table = campaign.check_cell_sizes(g, p_control=0.1, min_detectable_lift=0.03)
    assert table.loc["A", "customers"] == 450 and table.loc["A", "control"] == 300
    assert not table["enough"].any() and "cell 'A'" in caplog.text
    big = campaign.check_cell_sizes(g, p_control=0.1, min_detectable_lift=0.15)
    assert big["enough"].all()


def test_what_if_by_hand():
    uplift = pd.Series([0.2, 0.1, 0.05, 0.0], index=list("abcd"))
    value = pd.Series(100.0, index=list("abcd"))
    o = plan_outcome(uplift, value, budget=1.6, control_share=0.2, contact_cost=1.0, margin=0.5)
    # gains 9, 4, 1.5, −1 → 3 positive; budget 1.6 / (1 × 0.8) → a list of 2, 2 × 0.8 contacted
    assert (o["list_size"], o["contacted"], o["control"]) == (2, 2, 0)
    assert o["expected_incremental_profit"] == pytest.approx((9 + 4) / 2 * 2)
    t = what_if_table(uplift, value, budgets=[1.6, 100], control_shares=[0.2], contact_costs=[1.0], margin=0.5)
    assert t["list_size"].tolist() == [2, 3]
    w = CampaignWhatIf(uplift, value, margin=0.5, budget=100, control_share=0.2, contact_cost=1.0)
    w.budget.value = 1.6
    assert w.outcome() == o and "2</b> customers listed" in w.output.value


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loop")
    src, con, _ = build_clean_demo(folder, 3_000, seed=5)
    yield folder, src, con
    con.close()


def test_targeted_list_respects_consent_suppression_and_exports_only_contacted(loop, tmp_path):
    folder, src, con = loop
    customers, tx = read_clean(con)
    start = tx["order_ts"].max().normalize() + pd.Timedelta(days=1)
    suppressed = customers.index[::7]
    e = campaign.eligibility(customers, channel="email", as_of=start, suppression=suppressed)
    profit = pd.Series(np.random.default_rng(0).normal(1, 1, len(customers)), index=customers.index)
    targets = campaign.select_targets(profit, contact_cost=0.05, eligible=e["eligible"])
    assert len(targets) > 500
    assert not targets.isin(suppressed).any()
    assert customers.loc[targets, "email_opt_in"].astype(bool).all()
    groups = campaign.assign_groups(targets, control_share=0.2, seed=0)
    counts = campaign.export_contacts(con, groups, channel="email", path=tmp_path / "out.csv")
    written = pd.read_csv(tmp_path / "out.csv")
    assert counts["selected"] == groups["contacted"].sum() == counts["written"] + counts["no_email"]
    assert set(written["customer_id"]) <= set(groups.index[groups["contacted"]])
    assert list(written.columns) == ["customer_id", "email", "first_name", "group"]
    with pytest.raises(ValueError, match="personal data"):
        campaign.export_contacts(con, groups, channel="email", path=config.REPORTS_DIR / "x" / "c.csv")


def test_write_back_is_idempotent_and_reaches_the_next_run(loop):
    folder, src, con = loop
    customers, tx = read_clean(con)
    start = tx["order_ts"].max().normalize() + pd.Timedelta(days=1)
    ids = customers.index[customers["email_opt_in"].astype(bool)][:600]
    groups = campaign.assign_groups(ids, control_share=0.25, seed=1)
    id_map = con.execute("SELECT * FROM customer_id_map").df()
    resp = demo_truth.simulate_responses(src, groups, customers, channel="email", start=start,
                                         window_days=30, seed=2, id_map=id_map)
    contacts = groups.join(resp).rename_axis("customer_id").reset_index()
    contacts["contact_date"], contacts["contact_cost"] = start, contacts["contacted"] * 0.05
    purchases = contacts[contacts["responded"]].rename(columns={"response_ts": "order_ts",
                                                                "response_revenue": "amount"})
    camp = {"campaign_id": "CNEXT", "name": "next", "channel": "email", "start_date": start,
            "response_window_days": 30, "contact_cost": 0.05, "offer": "test"}
    fb = sources.feedback_dir(folder / "m.duckdb", str(src))
    n_tx = con.execute("SELECT count(*) FROM transactions").fetchall()[0][0]
    first = writeback.write_back(con, camp, contacts, purchases, fb)
    files = {p.name: p.read_bytes() for p in (fb / "CNEXT").iterdir()}
    second = writeback.write_back(con, camp, contacts, purchases, fb)
    assert first["contacts"] == second["contacts"] == second["contacts_replaced"] == 600
    assert first["transactions"] == second["transactions_replaced"] == len(purchases) > 0
    assert {p.name: p.read_bytes() for p in (fb / "CNEXT").iterdir()} == files  # same bytes
    count = lambda q: con.execute(q).fetchall()[0][0]
    assert count("SELECT count(*) FROM transactions") == n_tx + len(purchases)
    assert count("SELECT count(*) FROM transactions_model") == n_tx + len(purchases)  # the modelling view sees them
    assert count("SELECT count(*) FROM campaign_contacts WHERE campaign_id = 'CNEXT'") == 600
    # the line level gets the response orders too, and the same net revenue as the order level
    assert count("SELECT round(sum(amount), 2) FROM order_lines") == count("SELECT round(sum(net_amount), 2) FROM transactions")
    # the next run: reload the source with the feedback folder and clean again
    sources.load_source(con, str(src), feedback=fb)
    clean.clean_database(con)
    assert count("SELECT count(*) FROM transactions") == n_tx + len(purchases)
    assert count("SELECT round(sum(amount), 2) FROM order_lines") == count("SELECT round(sum(net_amount), 2) FROM transactions")
    assert count("SELECT count(*) FROM campaign_contacts WHERE campaign_id = 'CNEXT'") == 600
    assert count("SELECT count(*) FROM campaigns WHERE campaign_id = 'CNEXT'") == 1
    back = con.execute("SELECT * FROM campaign_contacts WHERE campaign_id = 'CNEXT'").df()
    r = evaluate_ab(back, revenue_col="response_revenue").iloc[0]
    assert r["responders"] + r["control_responders"] == len(purchases)
    # the frequency cap of the next plan now sees the campaign
    e = campaign.eligibility(customers, channel="email", as_of=start + pd.Timedelta(days=10),
                             contacts=back, frequency_cap_days=30)
    assert (e.loc[groups.index[groups["contacted"]], "exclusion"] == "contacted in the last 30 days").all()


def test_write_back_bad_input(loop):
    _, _, con = loop
    with pytest.raises(Exception, match="start_date"):
        writeback.write_back(con, {"campaign_id": "X"}, pd.DataFrame(), pd.DataFrame(), "/tmp/unused")
    dup = pd.DataFrame({c: [1, 1] for c in writeback.CONTACT_COLUMNS[1:]})
    camp = {"campaign_id": "X", "name": "", "channel": "email", "start_date": "2025-01-01",
            "response_window_days": 30, "contact_cost": 0.1, "offer": ""}
    with pytest.raises(Exception, match="contacted twice"):
        writeback.write_back(con, camp, dup, pd.DataFrame(columns=["customer_id", "order_ts", "amount"]),
                             "/tmp/unused")
