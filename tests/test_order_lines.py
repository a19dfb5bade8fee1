"""Real exports in, right numbers out: the line level, cancellations, dates as systems write
them, the reject guard, files as they arrive, outliers that fit the business (issue 16)."""

import bz2
import gzip
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dbmlib.clean import cleaning as clean
from dbmlib.clean.orders import cap_warning
from dbmlib.collect import load as collect
from dbmlib.collect.load import find_source_files
from dbmlib.core.db import connect
from dbmlib.core.errors import InputError
from dbmlib.demo import make_retail_demo
from dbmlib.run.cli import parse_params

TX_COMPARED = ["order_id", "customer_id", "order_ts", "amount", "returned_amount", "net_amount"]


def _clean(folder, tmp_path, name, **load_kwargs):
    con = connect(tmp_path / f"{name}.duckdb")
    mapping = collect.read_mapping(folder / "mapping.yaml") if (folder / "mapping.yaml").exists() else None
    collect.load_folder(con, folder, mapping=mapping, **load_kwargs)
    return con, clean.clean_database(con)


def _truth_orders(folder: Path) -> pd.DataFrame:
    t = pd.read_csv(folder / "_truth" / "orders.csv", dtype={"order_id": str, "customer_id": str})
    t["order_ts"] = pd.to_datetime(t["order_ts"])
    return t.sort_values("order_id").reset_index(drop=True)


def _as_compared(tx: pd.DataFrame) -> pd.DataFrame:
    out = tx[TX_COMPARED].copy()
    out["order_id"] = out["order_id"].astype(str)
    out["customer_id"] = out["customer_id"].astype(str)
    out["order_ts"] = out["order_ts"].astype("datetime64[us]")
    return out.sort_values("order_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def both_layouts(tmp_path_factory):
    base = tmp_path_factory.mktemp("layouts")
    orders = make_retail_demo(base / "orders", n_customers=600, seed=11)
    lines = make_retail_demo(base / "lines", n_customers=600, seed=11, layout="lines", line_format="xlsx")
    _, by_order = _clean(orders, base, "orders")
    con, by_line = _clean(lines, base, "lines", sheet="all")
    by_line.order_lines = con.execute("SELECT * FROM order_lines").df()  # written, not held in memory
    return orders, lines, by_order, by_line


def test_line_export_and_order_export_give_the_truth(both_layouts):
    orders, lines, by_order, by_line = both_layouts
    truth = _truth_orders(orders)
    assert truth.equals(_truth_orders(lines))
    got_lines = _as_compared(by_line.tables["transactions"])
    got_orders = _as_compared(by_order.tables["transactions"])
    expected = truth[TX_COMPARED].assign(order_ts=truth["order_ts"].astype("datetime64[us]"))
    pd.testing.assert_frame_equal(got_lines, expected, check_dtype=False)
    pd.testing.assert_frame_equal(got_orders, expected, check_dtype=False)
    per_customer = got_lines.groupby("customer_id")["net_amount"].sum().round(2)
    assert per_customer.equals(expected.groupby("customer_id")["net_amount"].sum().round(2))
    # the line level is kept, products included, and more lines than orders
    ol = by_line.order_lines
    assert len(ol) == by_line.counts["order_lines"]
    assert ol["product_id"].notna().all() and len(ol) > 1.3 * len(got_lines)
    assert by_line.reconciliation["balanced"].all()


def test_line_export_counts(both_layouts):
    _, lines, _, by_line = both_layouts
    log = by_line.quality_log
    count = log.groupby("rule")["rows"].sum()
    raw = pd.concat(pd.read_excel(lines / "transactions.xlsx", sheet_name=None, dtype=str).values())
    cancels = raw["InvoiceNo"].str.startswith("C")
    duplicated = raw.duplicated()
    # every cancellation line matched (none rejected) and netted, every exact duplicate caught
    assert count["return_netted"] == int((cancels & ~duplicated).sum())
    assert "unmatched_cancellation" not in count
    assert count["exact_duplicate_row"] == int(duplicated.sum())
    assert count["amount_from_price"] == len(raw)  # no line total in the export: every amount computed


def test_cancellation_matching_rule(tmp_path):
    rows = [  # order_id, customer, ts, product, qty, unit price
        ["1001", "A", "2024-01-02 10:00", "P1", "2", "5.00"],
        ["1001", "A", "2024-01-02 10:00", "P2", "1", "3.00"],
        ["1002", "A", "2024-01-05 09:00", "P1", "1", "5.00"],
        ["C9001", "A", "2024-01-06 12:00", "P1", "-1", "5.00"],  # latest earlier P1 of A: 1002
        ["C9002", "A", "2024-01-03 12:00", "P2", "-1", "3.00"],  # P2 of A before Jan 3: 1001
        ["C9003", "B", "2024-01-06 12:00", "P1", "-1", "5.00"],  # B never bought P1: unmatched
        ["1003", "B", "2024-01-07 08:00", "P3", "4", "2.50"],
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_ts", "product_id", "quantity",
                                     "unit_price"])
    con = connect(tmp_path / "c.duckdb")
    collect.load_frame(con, "transactions", df, source_file="lines.csv", max_reject_share=1.0)
    result = clean.clean_database(con, clean.CleanConfig(cancel_prefix="C"))
    tx = result.tables["transactions"].set_index("order_id")
    assert tx.loc["1001", ["amount", "returned_amount", "net_amount"]].tolist() == [13.0, -3.0, 10.0]
    assert tx.loc["1002", ["amount", "returned_amount", "net_amount"]].tolist() == [5.0, -5.0, 0.0]
    assert tx.loc["1003", "net_amount"] == 10.0 and tx.loc["1001", "quantity"] == 3
    assert sorted(tx.index) == ["1001", "1002", "1003"]
    rej = con.execute("SELECT source_row, reason FROM rejects WHERE stage = 'clean'").fetchall()
    assert rej == [(6, "cancellation without an earlier purchase of the same product by the same customer")]
    lines = con.execute("SELECT * FROM order_lines").df().set_index("order_id")
    assert lines.loc["C9001", "returned_order_id"] == "1002" and lines.loc["C9002", "returned_order_id"] == "1001"
    recon = result.reconciliation.set_index("table").loc["transactions"]
    assert (recon["rows_in"], recon["rows_out"], recon["rows_rejected"], recon["rows_merged"]) == (7, 3, 1, 3)


def test_duplicates_compare_products_and_amount_from_price(tmp_path):
    df = pd.DataFrame({"order_id": ["1", "1", "1"], "customer_id": ["A", "A", "A"],
                       "order_ts": ["2024-01-02"] * 3, "product_id": ["P1", "P2", "P2"],
                       "quantity": ["2", "2", "2"], "unit_price": ["1.50", "1.50", "1.50"]})
    con = connect(tmp_path / "d.duckdb")
    collect.load_frame(con, "transactions", df, source_file="t.csv")
    result = clean.clean_database(con)
    tx = result.tables["transactions"]
    assert len(tx) == 1 and tx["amount"].iloc[0] == 6.0 and tx["quantity"].iloc[0] == 4
    assert (result.quality_log["rule"] == "exact_duplicate_row").sum() == 1  # P2 twice, not P1 vs P2


def test_mapping_declares_amount_from_quantity_and_price(tmp_path):
    f = tmp_path / "transactions.csv"
    f.write_text("Inv,Cust,When,Qty,Price,Total\n1,A,2024-01-02,3,2.00,2.00\n2,A,2024-01-09,1,4.50,4.50\n")
    con = connect(tmp_path / "m.duckdb")
    collect.load_file(con, "transactions", f, columns={
        "Inv": "order_id", "Cust": "customer_id", "When": "order_ts", "Qty": "quantity",
        "Price": "unit_price", "Total": "amount", "quantity * unit_price": "amount"})
    assert clean.clean_database(con).tables["transactions"]["amount"].tolist() == [6.0, 4.5]


TRUTH_TS = pd.to_datetime(["2023-01-04 08:59", "2023-12-31 17:05", "2024-02-13 00:00", "2024-07-01 09:30"])
LAYOUTS = {
    "month_first_short": (lambda t: f"{t.month}/{t.day}/{t.year % 100:02d} {t.hour}:{t.minute:02d}", {}),
    "day_first_dotted": (lambda t: f"{t.day:02d}.{t.month:02d}.{t.year} {t.hour:02d}:{t.minute:02d}", {}),
    "iso_t_offset": (lambda t: (t + pd.Timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"), {}),
    "iso_one_digit_hour": (lambda t: f"{t:%Y-%m-%d} {t.hour}:{t.minute:02d}", {}),
    "explicit_format": (lambda t: t.strftime("%d %b %Y %H:%M"), {"date_format": "%d %b %Y %H:%M"}),
    "undecidable_given": (lambda t: f"{t.month}/{t.month}/{t.year} {t.hour}:{t.minute:02d}", None),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_date_layouts_parse_to_the_truth(tmp_path, layout):
    write, kwargs = LAYOUTS[layout]
    df = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "amount": ["1", "2", "3", "4"],
                       "order_ts": [write(t) for t in TRUTH_TS]})
    con = connect(tmp_path / "t.duckdb")
    if kwargs is None:  # same month as day: no field above 12, so the order must be given
        with pytest.raises(InputError) as info:
            collect.load_frame(con, "transactions", df, source_file="t.csv")
        assert "cannot be decided" in str(info.value) and "day first or" in str(info.value)
        collect.load_frame(con, "transactions", df, source_file="t.csv", dayfirst=False)
        truth = pd.Series([t.replace(day=t.month) for t in TRUTH_TS]).astype("datetime64[us]")
    else:
        collect.load_frame(con, "transactions", df, source_file="t.csv", **kwargs)
        truth = pd.Series(TRUTH_TS).astype("datetime64[us]")
    got = clean.clean_database(con).tables["transactions"].sort_values("customer_id")["order_ts"]
    assert got.reset_index(drop=True).equals(truth)


def test_undecidable_file_shows_both_readings(tmp_path):
    df = pd.DataFrame({"customer_id": ["A", "B"], "amount": ["1", "2"], "order_ts": ["03/04/2024", "05/06/2024"]})
    with pytest.raises(InputError) as info:
        collect.load_frame(connect(tmp_path / "u.duckdb"), "transactions", df, source_file="u.csv")
    msg = str(info.value)
    assert "'03/04/2024' is 03 April 2024 day first or 04 March 2024 month first" in msg
    assert "dayfirst=True" in msg and "date_format" in msg


def test_contradictory_file_stops(tmp_path):
    df = pd.DataFrame({"customer_id": ["A", "B"], "amount": ["1", "2"], "order_ts": ["31/01/2024", "01/31/2024"]})
    with pytest.raises(InputError, match="day/month order differs between rows"):
        collect.load_frame(connect(tmp_path / "x.duckdb"), "transactions", df, source_file="x.csv")


def test_reject_guard_names_decimal(tmp_path):
    f = tmp_path / "transactions.csv"
    f.write_text("customer_id;order_ts;amount\n" + "".join(f"C{i};2024-01-{i % 28 + 1:02d};{i},50\n"
                                                          for i in range(1, 200)), encoding="utf-8")
    con = connect(tmp_path / "g.duckdb")
    with pytest.raises(InputError) as info:
        collect.load_file(con, "transactions", f, delimiter=";", errors="quarantine")
    msg = str(info.value)
    assert "199 of 199 rows (100.0%) would be rejected" in msg and "likely fix: decimal=','" in msg
    assert con.execute("SELECT count(*) FROM raw_transactions").fetchall()[0][0] == 0
    rep = collect.load_file(con, "transactions", f, delimiter=";", decimal=",", errors="quarantine")
    assert (rep.rows_loaded, rep.rows_rejected) == (199, 0)


def test_reject_guard_lets_a_small_share_through(tmp_path):
    rows = [f"C{i},2024-01-{i % 28 + 1:02d},{i}.00" for i in range(1, 201)] + ["C999,2024-01-05,ten"]
    f = tmp_path / "transactions.csv"
    f.write_text("customer_id,order_ts,amount\n" + "\n".join(rows) + "\n")
    rep = collect.load_file(connect(tmp_path / "s.duckdb"), "transactions", f, errors="quarantine")
    assert (rep.rows_loaded, rep.rows_rejected) == (200, 1)  # 1 of 201 = 0.5 % <= 1 %


def test_all_rejected_gives_named_error(tmp_path):
    f = tmp_path / "transactions.csv"
    f.write_text("customer_id,order_ts,amount\nA,next week,1\nB,someday,2\n")
    with pytest.raises(InputError) as info:
        collect.load_file(connect(tmp_path / "a.duckdb"), "transactions", f, errors="quarantine")
    assert "2 of 2 rows (100.0%)" in str(info.value) and "column 'order_ts'" in str(info.value)
    assert "date_format for values like 'next week'" in str(info.value)


def test_wrong_dayfirst_is_refused_with_evidence(tmp_path):
    df = pd.DataFrame({"customer_id": ["A", "B"], "amount": ["1", "2"], "order_ts": ["12/1/10 8:26", "12/13/10 9:00"]})
    with pytest.raises(InputError, match=r"dayfirst=True but the file says month first.*'12/13/10 9:00'"):
        collect.load_frame(connect(tmp_path / "w.duckdb"), "transactions", df, source_file="w.csv", dayfirst=True)


def test_compressed_files_are_found_and_loaded(tmp_path):
    text = "customer_id,order_ts,amount\nA,2024-01-02,5.00\nB,2024-01-03,6.00\n"
    for name, write in {"gz": lambda p: p.write_bytes(gzip.compress(text.encode())),
                        "bz2": lambda p: p.write_bytes(bz2.compress(text.encode())),
                        "zip": None}.items():
        folder = tmp_path / name
        folder.mkdir()
        if write:
            write(folder / f"transactions.csv.{name}")
        else:
            with zipfile.ZipFile(folder / "transactions.zip", "w") as z:
                z.writestr("export_2024.csv", text)
        assert list(find_source_files(folder)) == ["transactions"]
        rep = collect.load_folder(connect(tmp_path / f"{name}.duckdb"), folder)
        assert rep[0].rows_loaded == 2


def test_excel_with_several_sheets_needs_a_sheet(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    with pd.ExcelWriter(folder / "transactions.xlsx") as w:
        pd.DataFrame({"customer_id": ["A"], "order_ts": ["2023-05-01"], "amount": ["1"]}).to_excel(w, sheet_name="2023", index=False)
        pd.DataFrame({"customer_id": ["B", "C"], "order_ts": ["2024-05-01", "2024-06-01"], "amount": ["2", "3"]}).to_excel(w, sheet_name="2024", index=False)
    with pytest.raises(InputError, match="sheet='all'"):
        collect.load_folder(connect(tmp_path / "e1.duckdb"), folder)
    assert collect.load_folder(connect(tmp_path / "e2.duckdb"), folder, sheet="all")[0].rows_loaded == 3
    assert collect.load_folder(connect(tmp_path / "e3.duckdb"), folder, sheet="2024")[0].rows_loaded == 2


def test_float_written_ids_match_across_files(tmp_path):
    con = connect(tmp_path / "i.duckdb")
    collect.load_frame(con, "customers", pd.DataFrame({"customer_id": ["1", "2"]}), source_file="customers.csv")
    rep = collect.load_frame(con, "transactions", pd.DataFrame(
        {"customer_id": ["1.0", "2.0"], "order_ts": ["2024-01-02", "2024-01-03"], "amount": ["1", "2"]}),
        source_file="transactions.csv")
    assert (rep.rows_loaded, rep.rows_rejected, rep.ids_normalised) == (2, 0, 2)


def test_cli_takes_string_parameters_literally():
    declared = {"01": {"decimal": "str", "sheet": "str", "seed": "int", "dayfirst": "bool | None"},
                "02": {"cancel_prefix": "str"}}
    common, per_stage = parse_params(["decimal=,", "sheet=2024", "seed=3", "dayfirst=null",
                                      "02.cancel_prefix=C", "date_format=%d/%m/%Y"], declared)
    assert common == {"decimal": ",", "sheet": "2024", "seed": 3, "dayfirst": None, "date_format": "%d/%m/%Y"}
    assert per_stage == {"02": {"cancel_prefix": "C"}}


def _heavy_tail(tmp_path, **cfg):
    rng = np.random.default_rng(5)
    amounts = np.round(np.exp(rng.normal(3, 0.4, 400)), 2).tolist() + [0.38, 0.5] + [4000.0, 5200.0]
    df = pd.DataFrame({"customer_id": [f"C{i % 50}" for i in range(len(amounts))],
                       "order_ts": pd.date_range("2024-01-01", periods=len(amounts), freq="h").strftime("%Y-%m-%d %H:%M"),
                       "amount": [f"{a:.2f}" for a in amounts]})
    con = connect(tmp_path / "o.duckdb")
    collect.load_frame(con, "transactions", df, source_file="t.csv")
    return clean.clean_database(con, clean.CleanConfig(**cfg)), sum(amounts)


def test_outliers_one_sided_and_cap_reported(tmp_path):
    result, revenue = _heavy_tail(tmp_path)
    tx = result.tables["transactions"]
    flagged = tx.loc[tx["is_outlier"], "amount"].sort_values().tolist()
    assert flagged == [4000.0, 5200.0]  # the small orders are not "extreme"
    o = result.outliers
    assert o["orders_flagged"] == 2 and o["orders_capped"] == 2
    assert o["revenue_share_flagged"] == pytest.approx(9200.0 / revenue)
    removed = (tx["net_amount"] - result.tables["transactions_model"]["net_amount"]).sum()
    assert o["revenue_share_removed_by_cap"] == pytest.approx(removed / revenue)
    assert "removes" in cap_warning(o)
    both, _ = _heavy_tail(tmp_path / "b", outlier_side="both")
    assert both.outliers["orders_flagged"] == 4
    none, _ = _heavy_tail(tmp_path / "n", model_cap="none")
    assert none.outliers["revenue_share_removed_by_cap"] == 0.0 and cap_warning(none.outliers) == ""
    pd.testing.assert_series_equal(none.tables["transactions_model"]["net_amount"],
                                   none.tables["transactions"]["net_amount"])


def test_model_copy_is_a_view_capping_at_the_exact_cap(tmp_path):
    """transactions_model is transactions with net amounts capped at the robust cap, to the
    last bit; a database an earlier version cleaned (a table of that name) gets the view, and
    orders written later (the campaign write-back) are capped too."""
    from dbmlib.core.db import is_view

    result, _ = _heavy_tail(tmp_path)
    con = result.tables._con
    cap = result.outliers["cap"]
    tx, model = result.tables["transactions"], result.tables["transactions_model"]
    assert is_view(con, "transactions_model") and 0 < cap < 4000.0
    assert model["net_amount"].tolist() == [min(v, cap) for v in tx["net_amount"]]
    assert (model["net_amount"] == cap).sum() == 2  # the two large orders, at the cap itself
    pd.testing.assert_frame_equal(model.drop(columns="net_amount"), tx.drop(columns="net_amount"))
    con.execute("DROP VIEW transactions_model")
    con.execute("CREATE TABLE transactions_model AS SELECT * FROM transactions")  # as an earlier version left it
    clean.clean_database(con)
    assert is_view(con, "transactions_model")
    con.execute("INSERT INTO transactions (order_id, customer_id, order_ts, amount, net_amount) "
                "VALUES ('R1', 'C1', TIMESTAMP '2024-03-01', 9000, 9000)")
    assert con.execute("SELECT net_amount FROM transactions_model WHERE order_id = 'R1'").fetchall() == [(cap,)]


def test_cancellation_without_products_nets_into_latest_order_and_flags_excess(tmp_path):
    bad = Path(__file__).parent / "data" / "bad" / "tx_negative_quantity_not_return.csv"
    con = connect(tmp_path / "n.duckdb")
    assert collect.load_file(con, "transactions", bad).rows_loaded == 3
    result = clean.clean_database(con)
    tx = result.tables["transactions"].set_index("order_id")
    assert list(tx.index) == ["O1"] and tx.loc["O1", "returned_amount"] == -34.0 and tx.loc["O1", "net_amount"] == -24.0
    flagged = result.quality_log[result.quality_log["rule"] == "returns_exceed_sale"]
    assert flagged["key"].tolist() == ["O1"]
