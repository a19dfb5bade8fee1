"""Cleaning stage: graded against the planted truth, reconciled, private, idempotent, and
clear on bad input."""

import numpy as np
import pandas as pd
import pytest

from dbmlib.clean import cleaning as clean
from dbmlib.collect import load as collect
from dbmlib.core.db import connect
from dbmlib.core.errors import InputError
from dbmlib.demo.grade import grade_cleaning
from tests.conftest import build_clean_demo

ANALYSIS_TABLES = ["customers", "customer_id_map", "transactions", "transactions_model",
                   "campaigns", "campaign_contacts", "quality_log"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default retail-demo (20,000 customers, seed 0) loaded and cleaned."""
    src, con, result = build_clean_demo(tmp_path_factory.mktemp("clean"), 20_000)
    yield src, con, result
    con.close()


def test_every_planted_problem_found(demo):
    src, _, result = demo
    grade, merges = grade_cleaning(result.quality_log, result.tables["customer_id_map"], src / "_truth")
    assert len(grade) == 8
    assert (grade["share_found"] >= 0.98).all(), grade
    assert merges["precision"] >= 0.99 and merges["recall"] >= 0.95, merges
    assert merges["planted_duplicates"] == 554


def test_reconciliation_balances_exactly(demo):
    src, con, result = demo
    r = result.reconciliation.set_index("table")
    assert r["balanced"].all()
    raw_tx = len(pd.read_csv(src / "transactions.csv"))
    assert r.loc["transactions", "rows_in"] == raw_tx
    rejected = con.execute("SELECT count(*) FROM rejects WHERE stage='clean' AND "
                           "source_table='raw_transactions'").fetchall()[0][0]
    assert r.loc["transactions", "rows_rejected"] == rejected
    assert r.loc["transactions", "rows_out"] == con.execute("SELECT count(*) FROM transactions").fetchall()[0][0]
    # 20,000 people + 554 duplicate records + 12 test accounts in; one master per person out
    assert r.loc["customers", "rows_in"] == 20_566
    assert r.loc["customers", "rows_rejected"] == 12
    assert 19_990 <= r.loc["customers", "rows_out"] <= 20_000


def test_returns_netted_and_outliers_capped_only_in_model_copy(demo):
    src, con, result = demo
    tx = result.tables["transactions"]
    raw = pd.read_csv(src / "transactions.csv", dtype=str)
    ret = raw[raw["returned_order_id"].notna()].drop_duplicates()
    order = ret["returned_order_id"].iloc[0]
    returned = -ret.loc[ret["returned_order_id"] == order, "amount"].str.replace(
        "[£,]", "", regex=True).astype(float).sum()
    row = tx.set_index("order_id").loc[order]
    assert row["returned_amount"] == pytest.approx(-returned)
    assert row["net_amount"] == pytest.approx(row["amount"] + row["returned_amount"])
    model = result.tables["transactions_model"].set_index("order_id")
    out = tx[tx["is_outlier"] & (tx["net_amount"] > model["net_amount"].max() - 1e-9)]
    assert len(out) > 0
    assert (tx["net_amount"] >= model.loc[tx["order_id"], "net_amount"].to_numpy() - 1e-9).all()
    assert tx["amount"].max() > model["net_amount"].max()  # the clean table keeps the raw value


def test_no_personal_data_in_analysis_tables(demo):
    src, con, _ = demo
    cust = pd.read_csv(src / "customers.csv", dtype=str)
    personal = set(cust["email"].dropna().str.strip().str.lower())
    personal |= set(cust["phone"].dropna()) | set(cust["street"].dropna())
    personal |= set(cust["first_name"].dropna().str.strip().str.title())
    personal |= set(cust["last_name"].dropna().str.strip().str.title())
    for table in ANALYSIS_TABLES:
        df = con.execute(f"SELECT * FROM {table}").df()
        assert not set(df.columns) & {"first_name", "last_name", "email", "phone", "street", "postcode"}
        for col in df.columns:
            values = set(df[col].dropna().astype(str).str.strip())
            assert not values & personal, (table, col)
    pii = con.execute("SELECT * FROM customer_pii").df()
    assert pii["email"].str.contains("@").mean() > 0.9  # personal data kept in its own table


def test_consent_and_opt_out(demo):
    _, con, _ = demo
    cust = con.execute("SELECT * FROM customers").df()
    pii = con.execute("SELECT customer_id, email FROM customer_pii").df()
    target = pii.merge(cust[cust["email_opt_in"]], on="customer_id").iloc[0]
    result = clean.clean_database(con, clean.CleanConfig(opt_out=(target["email"],)), write=False)
    after = result.tables["customers"].set_index("customer_id")
    assert not after.loc[target["customer_id"], "email_opt_in"]
    assert (result.quality_log["rule"] == "opt_out").sum() == 1


def test_idempotent(demo):
    _, con, _ = demo
    first = {t: con.execute(f"SELECT * FROM {t}").df() for t in ANALYSIS_TABLES}
    rejects = con.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
    clean.clean_database(con)
    for t in ANALYSIS_TABLES:
        pd.testing.assert_frame_equal(first[t], con.execute(f"SELECT * FROM {t}").df())
    assert con.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == rejects


# ---------------------------------------------------------------- bad input, one case each
CUST_COLS = ["customer_id", "first_name", "last_name", "email", "phone", "street", "postcode",
             "region", "birth_date", "gender", "income_band", "signup_date",
             "acquisition_channel", "email_opt_in"]


def _customers(**over):
    base = {"customer_id": ["C1", "C2"], "first_name": ["Ann", "Bob"], "last_name": ["Lee", "Ray"],
            "email": ["ann@example.com", "bob@example.com"], "phone": ["07700 900001", "07700 900002"],
            "street": ["1 High Street", "2 Mill Lane"], "postcode": ["AB1 2CD", "AB1 2CE"],
            "region": ["North", "London"], "birth_date": ["1980-01-01", "1970-05-05"],
            "gender": ["F", "M"], "income_band": ["low", "high"],
            "signup_date": ["2023-01-01", "2023-02-01"], "acquisition_channel": ["web", "store"],
            "email_opt_in": ["Y", "N"]}
    base.update(over)
    return pd.DataFrame(base).astype("string")


def _orders(rows):
    cols = ["order_id", "customer_id", "order_ts", "channel", "category", "quantity", "amount",
            "returned_order_id"]
    return pd.DataFrame(rows, columns=cols).astype("string")


OK_ORDERS = [["O1", "C1", "2024-01-05", "web", "home", "1", "10.00", None],
             ["O2", "C2", "2024-01-06", "store", "home", "2", "20.00", None]]


def _db(tmp_path, customers=None, orders=None):
    con = connect(tmp_path / "m.duckdb")
    collect.load_frame(con, "customers", _customers() if customers is None else customers,
                       source_file="customers.csv")
    collect.load_frame(con, "transactions", _orders(OK_ORDERS if orders is None else orders),
                       source_file="transactions.csv")
    return con


def _run(con, **cfg):
    result = clean.clean_database(con, clean.CleanConfig(**cfg))
    assert result.reconciliation["balanced"].all()
    return result


def _rule_rows(result, rule):
    return result.quality_log[result.quality_log["rule"] == rule]


def _clean_rejects(con):
    return con.execute("SELECT source_table, source_row, reason FROM rejects WHERE stage='clean' "
                       "ORDER BY 1, 2").fetchall()


def test_bad_orphan_return(tmp_path):
    con = _db(tmp_path, orders=OK_ORDERS + [["R1", "C1", "2024-01-09", "web", "home", "-1", "-5.00", "O99"]])
    _run(con)
    assert _clean_rejects(con) == [("raw_transactions", 3, "return references an order that is not in the data")]


def test_bad_exact_duplicate_row(tmp_path):
    con = _db(tmp_path, orders=OK_ORDERS + [OK_ORDERS[0]])
    result = _run(con)
    assert _clean_rejects(con) == [("raw_transactions", 3, "exact duplicate of an earlier row")]
    assert len(result.tables["transactions"]) == 2


def test_bad_test_account_and_its_orders(tmp_path):
    con = _db(tmp_path, customers=_customers(email=["qa+1@dbm-retail.example", "bob@example.com"]))
    result = _run(con)
    assert _clean_rejects(con) == [("raw_customers", 1, "internal or test account"),
                                   ("raw_transactions", 1, "order of a test/internal account")]
    assert result.tables["customers"]["customer_id"].tolist() == ["C2"]


def test_day_order_decided_at_load_and_followed_by_cleaning(tmp_path):
    orders = OK_ORDERS + [["O3", "C1", "31/01/2024", "web", "home", "1", "5", None],
                          ["O4", "C2", "03/02/2024", "web", "home", "1", "6", None]]
    with pytest.raises(InputError, match=r"dayfirst=False but the file says day first: 1 of 2 cells"):
        collect.load_frame(connect(tmp_path / "x.duckdb"), "transactions", _orders(orders),
                           source_file="t.csv", dayfirst=False)  # 31 cannot be a month: stop, not guess
    con = _db(tmp_path, orders=orders)  # dayfirst inferred from 31/01/2024 and recorded
    result = _run(con, dayfirst=False)  # the cleaning fallback does not override the file's reading
    ts = result.tables["transactions"].set_index("order_id")["order_ts"]
    assert ts["O4"] == pd.Timestamp("2024-02-03") and ts["O3"] == pd.Timestamp("2024-01-31")
    assert len(_rule_rows(result, "mixed_date_format")) == 2


def test_bad_unknown_currency_bypassing_validation(tmp_path):
    con = _db(tmp_path)
    con.execute("INSERT INTO raw_transactions (order_id, customer_id, order_ts, amount, _source_file, "
                "_source_row, _load_id, _loaded_at) VALUES ('O9', 'C1', '2024-02-01', 'CHF 12', "
                "'other.csv', 1, 'x', now())")
    _run(con)
    assert _clean_rejects(con) == [("raw_transactions", 1,
                                    "amount is not a number in a known currency format")]


def test_bad_email_and_phone(tmp_path):
    con = _db(tmp_path, customers=_customers(email=["ann@@example", "bob@example.com"],
                                             phone=["12", "07700 900002"]))
    result = _run(con)
    assert _rule_rows(result, "invalid_email")["key"].tolist() == ["C1"]
    assert _rule_rows(result, "invalid_phone")["key"].tolist() == ["C1"]
    pii = result.tables["customer_pii"].set_index("customer_id")
    assert pd.isna(pii.loc["C1", "email"]) and pd.isna(pii.loc["C1", "phone"])
    assert pii.loc["C2", "phone"] == "+447700900002"


def test_bad_conflicting_duplicate_ids(tmp_path):
    con = _db(tmp_path)
    collect.load_frame(con, "customers", _customers(customer_id=["C1", "C3"], first_name=["Anne", "Cy"],
                                                    email=["anne@example.org", "cy@example.org"],
                                                    phone=["07700 900005", "07700 900006"]),
                       source_file="customers_update.csv")
    result = _run(con)
    assert _clean_rejects(con) == [("raw_customers", 1,
                                    "duplicate customer_id (conflicting record); first kept")]
    assert sorted(result.tables["customers"]["customer_id"]) == ["C1", "C2", "C3"]


def test_bad_impossible_birth_date(tmp_path):
    con = _db(tmp_path, customers=_customers(birth_date=["1899-12-31", "2031-05-05"]))
    result = _run(con)
    assert sorted(_rule_rows(result, "impossible_birth_date")["key"]) == ["C1", "C2"]
    assert set(result.tables["customers"]["age_band"]) == {"unknown"}


def test_bad_all_missing_column(tmp_path):
    con = _db(tmp_path, customers=_customers(region=[None, None]))
    result = _run(con)
    fact = _rule_rows(result, "column_all_missing")  # one entry for the column, covering both rows
    assert fact[["table", "column", "rows"]].values.tolist() == [["customers", "region", 2]]
    assert clean.quality_report(result.quality_log).set_index("rule").loc["column_all_missing", "rows"] == 2
    assert set(result.tables["customers"]["region"]) == {"unknown"}


def test_bad_unknown_category_spelling(tmp_path):
    con = _db(tmp_path, customers=_customers(income_band=["medim", "High "], gender=["female", "m"]))
    result = _run(con)
    assert _rule_rows(result, "unknown_category")["key"].tolist() == ["C1"]
    cust = result.tables["customers"].set_index("customer_id")
    assert cust.loc["C1", "income_band"] == "unknown" and cust.loc["C2", "income_band"] == "high"
    assert cust["gender"].tolist() == ["F", "M"]


def test_bad_contact_for_unknown_customer(tmp_path):
    con = _db(tmp_path)
    collect.load_frame(con, "campaigns", pd.DataFrame({
        "campaign_id": ["K1"], "channel": ["email"], "start_date": ["2024-01-01"]}).astype("string"),
        source_file="campaigns.csv")
    con.execute("CREATE TABLE IF NOT EXISTS raw_campaign_contacts (campaign_id VARCHAR, customer_id VARCHAR, "
                "\"group\" VARCHAR, contacted VARCHAR, contact_date VARCHAR, contact_cost VARCHAR, "
                "responded VARCHAR, response_revenue VARCHAR, _source_file VARCHAR, _source_row BIGINT, "
                "_load_id VARCHAR, _loaded_at TIMESTAMP)")
    con.execute("INSERT INTO raw_campaign_contacts VALUES ('K1','C1','treatment','Y','2024-01-01','0.5','Y','10',"
                "'c.csv',1,'x',now()), ('K1','C404','control','N','2024-01-01','0','N','0','c.csv',2,'x',now())")
    result = _run(con)
    assert _clean_rejects(con) == [("raw_campaign_contacts", 2, "customer_id not in customers")]
    assert result.tables["campaign_contacts"]["customer_id"].tolist() == ["C1"]


def test_bad_no_transactions(tmp_path):
    con = connect(tmp_path / "m.duckdb")
    with pytest.raises(ValueError, match="no transactions: run 01_collection first"):
        clean.clean_database(con)


def test_merge_rule_is_a_parameter_and_explained(tmp_path):
    cust = _customers(customer_id=["C1", "C2"], first_name=["Ann", "ANN "], last_name=["Lee", " lee"],
                      email=["ann@example.com", "other@example.com"], phone=["07700 900001", "+44 7700 900001"],
                      postcode=["AB1 2CD", "ab12cd"])
    con = _db(tmp_path, customers=cust)
    by_phone = _run(con).tables["customer_id_map"]
    assert by_phone.set_index("source_id").loc["C2", "customer_id"] == "C1"
    assert by_phone.set_index("source_id").loc["C2", "match_key"] == "phone"
    only_email = _run(con, merge_keys=("email",)).tables["customer_id_map"]
    assert (only_email["source_id"] == only_email["customer_id"]).all()
    by_name = _run(con, merge_keys=("name_postcode",)).tables["customer_id_map"]
    assert by_name.set_index("source_id").loc["C2", "match_key"] == "name_postcode"
    assert np.array_equal(by_name["customer_id"], ["C1", "C1"])


def test_grade_counts_only_the_right_rule_and_column(demo):
    src, _, result = demo
    log = result.quality_log
    wrong_column = log.assign(column=log["column"].where(log["rule"] != "missing_value", "region"))
    grade, _ = grade_cleaning(wrong_column, result.tables["customer_id_map"], src / "_truth")
    g = grade.set_index("problem")
    planted = pd.read_csv(src / "_truth/problems.csv")
    region = ((planted["problem"] == "missing_value") & (planted["column"] == "region")).sum()
    assert g.loc["missing_value", "found"] == region  # only the region cells still match
    empty, merges = grade_cleaning(log.iloc[0:0], result.tables["customer_id_map"], src / "_truth")
    assert (empty["found"] == 0).all() and merges["recall"] == 1.0


def test_merge_precision_recall_by_hand():
    from dbmlib.clean.dedupe import merge_precision_recall

    id_map = pd.DataFrame({"source_id": ["a", "b", "c", "d", "e"], "customer_id": ["a", "a", "c", "c", "x"]},
                          dtype="string")
    # d is listed twice (the last pair counts); z is a planted duplicate the id map never saw
    truth = pd.DataFrame({"duplicate_id": ["b", "d", "d", "z"], "master_id": ["a", "q", "c", "e"]})
    got = merge_precision_recall(id_map, truth)
    assert got == {"merges": 3, "correct_merges": 2, "precision": 2 / 3, "planted_duplicates": 3, "recall": 2 / 3}
