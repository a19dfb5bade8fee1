"""The bad-input corpus beyond collection: each later-stage input gives a named error or a
reasoned outcome, and no raw file is modified (checksums before and after)."""

from pathlib import Path

import pandas as pd
import pytest

from dbmlib.campaign import planning as campaign
from dbmlib.campaign.evaluation import evaluate_ab, evaluate_campaigns
from dbmlib.collect import load as collect
from dbmlib.core.errors import InputError
from dbmlib.core.io import sha256_file
from dbmlib.models.clv import PurchaseModel, check_summary
from dbmlib.segment.rfm import rfm_summary

BAD = Path(__file__).parent / "data" / "bad"


@pytest.fixture(autouse=True)
def raw_files_untouched():
    before = {p.name: sha256_file(p) for p in sorted(BAD.iterdir())}
    yield
    assert {p.name: sha256_file(p) for p in sorted(BAD.iterdir())} == before


def test_corpus_has_at_least_30_inputs():
    assert len([p for p in BAD.iterdir() if p.suffix == ".csv"]) >= 30


def test_mixed_time_zones_are_named_rows(con):
    with pytest.raises(InputError) as info:
        collect.load_file(con, "transactions", BAD / "tx_mixed_timezones.csv")
    assert info.value.column == "order_ts" and info.value.rows == [2, 3]
    assert "2 times carry a UTC offset and 1 do not" in str(info.value) and "+01:00" in str(info.value)
    with pytest.raises(InputError, match="one convention per file"):  # a file-level problem: no quarantine
        collect.load_file(con, "transactions", BAD / "tx_mixed_timezones.csv", errors="quarantine")


def test_all_one_time_buyers_cannot_fit_a_purchase_model():
    tx = pd.read_csv(BAD / "tx_all_one_time_buyers.csv")
    s = rfm_summary(tx, "customer_id", "order_ts", "amount")
    with pytest.raises(InputError, match="every customer bought only once") as info:
        PurchaseModel().fit(s)
    assert info.value.column == "frequency"


def test_summary_file_with_recency_after_T_names_file_and_row():
    path = BAD / "summary_recency_after_T.csv"
    with pytest.raises(InputError) as info:
        check_summary(pd.read_csv(path, index_col="customer_id"), name=str(path))
    msg = str(info.value)
    assert "summary_recency_after_T.csv" in msg and info.value.column == "recency"
    assert "recency <= T" in msg and info.value.rows == [2] and "55" in msg


def test_campaign_without_control_group_is_a_clear_error():
    contacts = pd.read_csv(BAD / "contacts_no_control.csv")
    with pytest.raises(InputError, match="no control group") as info:
        evaluate_ab(contacts)
    assert info.value.column == "group" and "withheld from contact" in str(info.value)


def test_empty_campaign_is_skipped_with_its_reason():
    campaigns = pd.read_csv(BAD / "campaigns_two.csv")
    contacts = pd.read_csv(BAD / "contacts_empty_campaign.csv")
    contacts["responded"] = contacts["responded"].eq("Y")
    r = evaluate_campaigns(campaigns, contacts)
    assert list(r.index.get_level_values(0)) == ["C-EM"]
    assert r.attrs["skipped"] == {"C-EMPTY": "no contacts"}


def test_all_customers_opted_out_leaves_no_email_targets():
    customers = pd.read_csv(BAD / "customers_all_opted_out.csv").set_index("customer_id")
    customers["email_opt_in"] = customers["email_opt_in"].map({"Y": True, "N": False, "no": False})
    e = campaign.eligibility(customers, channel="email", as_of="2024-06-01")
    assert not e["eligible"].any()
    assert e["exclusion"].value_counts().to_dict() == {"no email consent": 3}
    profit = pd.Series(1.0, index=customers.index)
    assert len(campaign.select_targets(profit, contact_cost=0.1, eligible=e["eligible"])) == 0


def test_suppression_file_without_id_column_is_named():
    with pytest.raises(InputError) as info:
        campaign.read_suppression(BAD / "suppression_no_id_column.csv")
    assert info.value.column == "customer_id" and "suppression_no_id_column.csv" in str(info.value)
    assert "['client', 'reason']" in str(info.value)
    with pytest.raises(InputError, match="not found"):
        campaign.read_suppression(BAD / "nope.csv")
