import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dbmlib.collect import load as collect
from dbmlib.core.errors import InputError
from dbmlib.core.io import sha256_file
from dbmlib.run import sources

BAD = Path(__file__).parent / "data" / "bad"

# file, source, message fragments of the raise-mode error, rows named (None: not row-level)
CASES = [
    ("tx_missing_amount_column.csv", "transactions", ["column 'amount'", "required column(s) ['amount'] missing"], None),
    ("tx_unparseable_dates.csv", "transactions", ["column 'order_ts'", "expected a date like"], [2, 3]),
    ("tx_text_in_amount.csv", "transactions", ["column 'amount'", "expected a number like", "'ten pounds'"], [2]),
    ("tx_empty.csv", "transactions", ["tx_empty.csv", "the file is empty"], None),
    ("tx_header_only.csv", "transactions", ["header but no data rows"], None),
    ("tx_semicolon_delimited.csv", "transactions", ["looks ';'-separated", "delimiter=';'"], None),
    ("tx_duplicate_header.csv", "transactions", ["column 'amount'", "more than once"], None),
    ("tx_latin1_bytes.csv", "transactions", ["byte 0xe9 on line 3", "not valid utf-8", "cp1252"], [2]),
    ("tx_ragged_row.csv", "transactions", ["line 3 has 9 fields", "8 fields per row"], [2]),
    ("tx_date_out_of_range.csv", "transactions", ["column 'order_ts'", "between 1900 and 2099", "'2999-01-05'"], [1]),
    ("tx_huge_amount.csv", "transactions", ["column 'amount'", "below 10^12"], [1]),
    ("tx_unknown_currency.csv", "transactions", ["column 'amount'", "'¥1200'"], [1]),
    ("tx_fractional_quantity.csv", "transactions", ["column 'quantity'", "a whole number"], [1]),
    ("customers_duplicate_id_conflict.csv", "customers", ["column 'customer_id'", "not used by an earlier row"], [3]),
    ("customers_bad_flag.csv", "customers", ["column 'email_opt_in'", "yes/no flag", "'maybe'"], [1]),
    ("customers_blank_id.csv", "customers", ["column 'customer_id'", "may not be empty"], [1]),
    ("campaigns_negative_window.csv", "campaigns", ["column 'response_window_days'", "whole number >= 0"], [1]),
    ("contacts_missing_responded.csv", "campaign_contacts", ["column 'responded'", "may not be empty"], [1]),
]


def _checksums():
    return {p.name: sha256_file(p) for p in sorted(BAD.iterdir())}


@pytest.mark.parametrize("name,source,fragments,rows", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_named_error(con, name, source, fragments, rows):
    before = _checksums()
    with pytest.raises(InputError) as info:
        collect.load_file(con, source, BAD / name)
    msg = str(info.value)
    assert name in msg
    for fragment in fragments:
        assert fragment in msg, msg
    if rows is not None:
        assert info.value.rows == rows
    assert _checksums() == before  # raw files never modified
    # nothing was written
    tables = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    if "raw_" + source in tables:
        assert con.execute(f"SELECT count(*) FROM raw_{source}").fetchall()[0][0] == 0


ROW_LEVEL = [c for c in CASES if c[3] is not None and not c[0].startswith(("tx_latin1", "tx_ragged"))]


@pytest.mark.parametrize("name,source,fragments,rows", ROW_LEVEL, ids=[c[0] for c in ROW_LEVEL])
def test_bad_rows_quarantined_with_reason(con, name, source, fragments, rows):
    report = collect.load_file(con, source, BAD / name, errors="quarantine", max_reject_share=1.0)
    assert report.rows_rejected == len(rows)
    assert report.rows_loaded + report.rows_rejected == report.rows_read
    rej = con.execute("SELECT * FROM rejects ORDER BY source_row").df()
    assert sorted(rej["source_row"].unique().tolist()) == rows
    assert rej["reason"].str.startswith("expected ").all()
    assert rej["source_file"].str.endswith(name).all()
    loaded_rows = con.execute(f"SELECT _source_row FROM raw_{source}").df()["_source_row"]
    assert set(loaded_rows).isdisjoint(rows)


def test_unknown_customer_and_campaign_references(con):
    collect.load_file(con, "customers", BAD / "customers_ok.csv")
    with pytest.raises(InputError, match=r"column 'customer_id': row 2: .*present in the customers"):
        collect.load_file(con, "transactions", BAD / "tx_unknown_customer.csv")
    rep = collect.load_file(con, "transactions", BAD / "tx_unknown_customer.csv", errors="quarantine",
                            max_reject_share=0.5)
    assert (rep.rows_loaded, rep.rows_rejected) == (1, 1)
    reason = con.execute("SELECT rule, value FROM rejects").fetchall()
    assert reason == [("reference:customers", "C999")]
    collect.load_file(con, "campaigns", BAD / "campaigns_ok.csv")
    with pytest.raises(InputError, match="present in the campaigns source"):
        collect.load_file(con, "campaign_contacts", BAD / "contacts_unknown_campaign.csv")


def test_bom_and_quoted_newline_load(con):
    rep = collect.load_file(con, "transactions", BAD / "tx_utf8_bom_ok.csv")
    assert rep.rows_loaded == 1
    cols = con.execute("SELECT * FROM raw_transactions").df().columns
    assert "order_id" in cols  # the BOM did not stick to the first column name
    rep = collect.load_file(con, "transactions", BAD / "tx_quoted_newline_ok.csv")
    assert rep.rows_loaded == 2
    cat = con.execute("SELECT category FROM raw_transactions WHERE order_id='O1' "
                      "AND _source_file LIKE '%newline%'").fetchall()[0][0]
    assert cat == "home\nand garden"


def test_latin1_loads_with_declared_encoding(con):
    rep = collect.load_file(con, "transactions", BAD / "tx_latin1_bytes.csv", encoding="cp1252")
    assert rep.rows_loaded == 2
    assert con.execute("SELECT category FROM raw_transactions WHERE order_id='O2'").fetchall()[0][0] == "café"


def test_load_folder_counts_lineage_and_idempotent(con, small_demo):
    before = {p.name: sha256_file(p) for p in small_demo.glob("*.csv")}
    reports = collect.load_folder(con, small_demo)
    tx_rows = sum(1 for _ in open(small_demo / "transactions.csv", encoding="utf-8")) - 1
    by = {r.source: r for r in reports}
    assert by["transactions"].rows_loaded == tx_rows
    counts = collect.raw_table_counts(con)
    assert counts.loc["customers", "rows"] == len(pd.read_csv(small_demo / "customers.csv"))
    lineage = con.execute("SELECT min(_source_row), max(_source_row), count(DISTINCT _source_row), "
                          "any_value(_source_file) FROM raw_transactions").fetchall()[0]
    assert lineage[:3] == (1, tx_rows, tx_rows)
    assert lineage[3].endswith("transactions.csv")
    # row 5 of the raw table is line 6 of the file, byte for byte
    line6 = open(small_demo / "transactions.csv", encoding="utf-8").read().splitlines()[5]
    row5 = con.execute("SELECT order_id, customer_id FROM raw_transactions WHERE _source_row = 5").fetchall()[0]
    assert line6.startswith(f"{row5[0]},{row5[1]},")
    again = collect.load_folder(con, small_demo)
    assert [r.status for r in again] == ["unchanged"] * 5  # customers, transactions, campaigns, contacts, products
    assert collect.raw_table_counts(con).equals(counts)
    assert {p.name: sha256_file(p) for p in small_demo.glob("*.csv")} == before


def test_changed_file_replaces_its_rows(con, tmp_path):
    f = tmp_path / "transactions.csv"
    f.write_text((BAD / "tx_quoted_newline_ok.csv").read_text())
    collect.load_file(con, "transactions", f)
    f.write_text("order_id,customer_id,order_ts,amount\nO9,C9,2024-03-01,5.00\n")
    rep = collect.load_file(con, "transactions", f)
    assert rep.status == "replaced"
    assert con.execute("SELECT order_id FROM raw_transactions").fetchall() == [("O9",)]
    assert con.execute("SELECT count(*) FROM load_log").fetchall()[0][0] == 1


def test_failed_load_leaves_database_unchanged(con, tmp_path, monkeypatch):
    collect.load_file(con, "transactions", BAD / "tx_utf8_bom_ok.csv")
    snapshot = con.execute("SELECT * FROM raw_transactions").df()
    original = collect._rejects_frame

    def broken(*args, **kwargs):  # the insert of rejects fails after the rows were staged
        frame = original(*args, **kwargs)
        return frame.assign(rejected_at="not a timestamp")

    monkeypatch.setattr(collect, "_rejects_frame", broken)
    with pytest.raises(duckdb.Error):
        collect.load_file(con, "transactions", BAD / "tx_text_in_amount.csv", errors="quarantine",
                          max_reject_share=1.0)
    assert con.execute("SELECT * FROM raw_transactions").df().equals(snapshot)
    assert con.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM load_log").fetchall()[0][0] == 1


def test_column_mapping_and_absent_optional_columns(con, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_text("Cust,When,Value\nA1,2024-01-02,3.50\nA2,05/01/2024,4\n")
    rep = collect.load_file(con, "transactions", f, dayfirst=True,
                            columns={"Cust": "customer_id", "When": "order_ts", "Value": "amount"})
    assert rep.rows_loaded == 2
    assert "channel" in rep.columns_absent
    got = con.execute("SELECT order_id, customer_id, amount FROM raw_transactions ORDER BY 1").fetchall()
    assert got == [("1", "A1", "3.50"), ("2", "A2", "4")]
    g = tmp_path / "orders2.csv"
    g.write_text("Cust,When,Value\nA3,2024-01-02,3.50\n")
    with pytest.raises(InputError, match="mapping names a column the source does not have"):
        collect.load_file(con, "transactions", g, columns={"Nope": "customer_id"})


def test_parquet_excel_sqlite_duckdb_sources(con, tmp_path):
    df = pd.DataFrame({"customer_id": ["A", "B"], "order_ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                       "amount": [1.5, 2.0]})
    df.to_parquet(tmp_path / "t.parquet")
    df.to_excel(tmp_path / "t.xlsx", index=False)
    with sqlite3.connect(tmp_path / "shop.sqlite") as s:
        df.assign(order_ts=df["order_ts"].astype(str)).to_sql("orders", s, index=False)
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as d:
        d.execute("CREATE TABLE orders AS SELECT * FROM df")
    assert collect.load_file(con, "transactions", tmp_path / "t.parquet").rows_loaded == 2
    assert collect.load_file(con, "transactions", tmp_path / "t.xlsx").rows_loaded == 2
    assert collect.load_query(con, "transactions", "orders", str(tmp_path / "shop.sqlite")).rows_loaded == 2
    rep = collect.load_query(con, "transactions", "SELECT * FROM orders WHERE amount > 1.7",
                             str(tmp_path / "shop.duckdb"))
    assert rep.rows_loaded == 1
    assert con.execute("SELECT count(*) FROM raw_transactions").fetchall()[0][0] == 7


def test_cdnow_source_and_rebuild(con, small_demo):
    collect.load_folder(con, small_demo)
    reports = sources.load_source(con, "cdnow-sample")
    assert reports[0].rows_loaded == 6_919
    counts = collect.raw_table_counts(con)
    assert counts.loc["transactions", "rows"] == 6_919
    assert counts.loc["customers", "rows"] == 0


def test_monthly_orders_and_coverage_read_each_file_its_own_way(tmp_path):
    """orders_per_month and date_coverage parse distinct texts and count in SQL; the result
    equals parsing every row with its file's reading (the pandas formula they replaced)."""
    import numpy as np

    from dbmlib.collect import overview
    from dbmlib.collect.conventions import Reading, parse_by_file, recorded_readings
    from dbmlib.core.parsing import parse_integers

    day_first = ("order_id,customer_id,order_ts,amount,quantity,unit_price,channel,returned_order_id\n"
                 "1,A,13/01/2024 10:00,\"1.234,50\",,,web,\n2,B,02/02/2024,,3,\"2,50\",,\n"
                 "3,A,02/02/2024,\"-5,00\",,,web,\n4,C,31/03/2024,\"10,00\",,,store,1\n"
                 "5,C,31/03/2024,\"7,00\",,,store,\n5,C,31/03/2024,\"1,00\",,,store,\n")
    month_first = ("order_id,customer_id,order_ts,amount,channel\n"
                   "6,D,01/13/2024,12.00,phone\n7,E,3/1/2024 8:05,4.50,web\n8,F,,9.00,web\n")
    (tmp_path / "eu.csv").write_text(day_first)
    (tmp_path / "us.csv").write_text(month_first)
    con = duckdb.connect()
    collect.load_file(con, "transactions", tmp_path / "eu.csv", dayfirst=True, decimal=",")
    collect.load_file(con, "transactions", tmp_path / "us.csv", dayfirst=False, errors="quarantine",
                      max_reject_share=0.5)
    tx = con.execute("SELECT * FROM raw_transactions WHERE returned_order_id IS NULL").df()
    readings = recorded_readings(con, "raw_transactions")
    amount = parse_by_file(tx, "amount", readings, "money", Reading()).fillna(
        parse_by_file(tx, "unit_price", readings, "money", Reading()) * parse_integers(tx["quantity"]).astype(float))
    want = pd.DataFrame({"order_id": tx["order_id"], "channel": tx["channel"].fillna("(unknown)").astype(str),
                         "month": parse_by_file(tx, "order_ts", readings, "date", Reading()).dt.to_period("M")
                         .dt.to_timestamp(), "amount": amount})
    want = (want[want["amount"] > 0].groupby(["month", "channel"], as_index=False)
            .agg(orders=("order_id", "nunique"), revenue=("amount", "sum")))
    got = overview.orders_per_month(con)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    assert got["orders"].sum() == 5 and np.isclose(got["revenue"].sum(), 1234.5 + 7.5 + 8.0 + 12.0 + 4.5)
    cov = overview.date_coverage(con).loc["transactions"]
    assert (cov["rows"], cov["missing"]) == (8, 0)  # the row without a date was rejected at load
    assert (cov["first"], cov["last"]) == (pd.Timestamp("2024-01-13"), pd.Timestamp("2024-03-31"))  # 01/13/2024, us.csv


def test_shared_parses_give_the_same_summaries_and_parse_each_column_once(tmp_path, monkeypatch):
    from dbmlib.collect import overview

    (tmp_path / "t.csv").write_text("order_id,customer_id,order_ts,amount,channel\n"
                                    "1,A,2024-01-13,12.00,web\n2,B,2024-02-02 10:00,4.50,\n3,A,2024-02-20,9.00,web\n")
    con = duckdb.connect()
    collect.load_file(con, "transactions", tmp_path / "t.csv")
    alone = overview.date_coverage(con), overview.orders_per_month(con)
    calls = []
    real = overview.parse_distinct
    monkeypatch.setattr(overview, "parse_distinct", lambda con, *key: calls.append(key) or real(con, *key))
    parsed = overview.ParsedDistinct(con)
    pd.testing.assert_frame_equal(overview.date_coverage(con, parsed), alone[0], check_exact=True)
    pd.testing.assert_frame_equal(overview.orders_per_month(con, parsed), alone[1], check_exact=True)
    assert calls.count(("raw_transactions", "order_ts", "date")) == 1
    assert sorted(calls) == sorted(set(calls))  # nothing parsed twice
    assert alone[1]["orders"].tolist() == [1, 1, 1] and alone[1]["revenue"].sum() == 25.5


def test_load_frame_numbers_rows_by_position_whatever_the_index():
    con = duckdb.connect()
    df = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["A", "B", "C"],
                       "order_ts": ["2024-01-01", "not a date", "2024-01-03"], "amount": ["1", "2", "3"]},
                      index=[10, 20, 30])
    rep = collect.load_frame(con, "transactions", df, source_file="frame", errors="quarantine", max_reject_share=0.5)
    assert (rep.rows_loaded, rep.rows_rejected) == (2, 1)
    assert con.execute("SELECT order_id, _source_row FROM raw_transactions ORDER BY 2").fetchall() == [("1", 1), ("3", 3)]
    assert con.execute("SELECT source_row, column_name FROM rejects").fetchall() == [(2, "order_ts")]
