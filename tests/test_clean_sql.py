"""The order-line rules of 02 in DuckDB SQL (the default engine) give the same clean tables as
the pandas implementation they replace (``engine="pandas"``): every table of the database,
the quality log, the rejects, the reconciliation and the outlier summary, value for value."""

import shutil

import pandas as pd
import pytest

from dbmlib.clean import cleaning as clean
from dbmlib.collect import load as collect
from dbmlib.core.db import connect
from dbmlib.demo import make_retail_demo
from dbmlib.run.sources import load_cdnow_source


def _snapshot(con, result) -> dict:
    tables = {name: con.execute(f"SELECT * FROM {name}").df() for name in clean.CLEAN_TABLES}
    tables["rejects"] = con.execute("SELECT * EXCLUDE (rejected_at) FROM rejects WHERE stage = 'clean' "
                                    "ORDER BY source_table, source_row").df()
    tables["types"] = pd.concat([con.execute(f"DESCRIBE {name}").df().assign(name=name)
                                 for name in clean.CLEAN_TABLES], ignore_index=True)
    tables["log"] = result.quality_log
    tables["rejected"] = result.rejects
    tables["reconciliation"] = result.reconciliation
    tables["summary"] = pd.DataFrame([{**result.outliers, **result.counts}])
    left = con.execute("SELECT table_name FROM information_schema.tables WHERE table_name LIKE '\\_clean%' "
                       "ESCAPE '\\'").fetchall()
    assert left == []  # no staging table left behind
    return tables


def _both_engines(raw_db, tmp_path, cfg=None) -> tuple[dict, dict]:
    out = []
    for engine in ("pandas", "duckdb"):
        path = tmp_path / f"{engine}.duckdb"
        shutil.copy(raw_db, path)
        con = connect(path)
        out.append(_snapshot(con, clean.clean_database(con, cfg, engine=engine)))
        con.close()
    return out[0], out[1]


def _assert_identical(pandas_tables: dict, sql_tables: dict) -> None:
    assert pandas_tables.keys() == sql_tables.keys()
    for name in pandas_tables:
        pd.testing.assert_frame_equal(pandas_tables[name], sql_tables[name], check_exact=True, obj=name)


def _raw(folder, db, **load_kwargs):
    con = connect(db)
    mapping = collect.read_mapping(folder / "mapping.yaml") if (folder / "mapping.yaml").exists() else None
    collect.load_folder(con, folder, mapping=mapping, **load_kwargs)
    con.close()
    return db


def test_demo_company_identical(small_demo, tmp_path):
    ref, sql = _both_engines(_raw(small_demo, tmp_path / "raw.duckdb"), tmp_path)
    _assert_identical(ref, sql)
    log = sql["log"].groupby("rule")["rows"].sum()
    # the planted problems are all there, so the comparison covers every rule that fires on lines
    for rule in ("exact_duplicate_row", "amount_as_text", "mixed_date_format", "return_netted", "rekeyed",
                 "test_account", "extreme_outlier"):
        assert log[rule] > 0, rule
    assert len(sql["order_lines"]) == sql["summary"]["order_lines"].iloc[0] > 5_000


@pytest.mark.parametrize("prefix", ["", "C"])
def test_line_item_export_identical(tmp_path, prefix):
    folder = make_retail_demo(tmp_path / "lines", n_customers=500, seed=12, layout="lines", line_format="csv")
    ref, sql = _both_engines(_raw(folder, tmp_path / "raw.duckdb"), tmp_path, clean.CleanConfig(cancel_prefix=prefix))
    _assert_identical(ref, sql)
    log = sql["log"].groupby("rule")["rows"].sum()
    assert log["amount_from_price"] == len(pd.read_csv(folder / "transactions.csv", dtype=str))
    assert log["return_netted"] > 0 and log["order_lines_grouped"] > 0
    assert sql["order_lines"]["product_id"].notna().all()


def test_raw_table_out_of_load_order_identical(small_demo, tmp_path):
    """Rows stored out of load order: both engines read them in (load time, file, row) order."""
    db = _raw(small_demo, tmp_path / "raw.duckdb")
    con = connect(db)
    con.execute("CREATE TABLE shuffled AS SELECT * FROM raw_transactions ORDER BY hash(_source_row)")
    con.execute("DROP TABLE raw_transactions")
    con.execute("ALTER TABLE shuffled RENAME TO raw_transactions")
    con.close()
    ref, sql = _both_engines(db, tmp_path)
    _assert_identical(ref, sql)
    assert sql["order_lines"]["source_row"].is_monotonic_increasing


def test_orders_without_customer_file_identical(tmp_path):
    """CDNOW: no customer file, customers derived from who bought."""
    con = connect(tmp_path / "raw.duckdb")
    load_cdnow_source(con, sample=True)
    con.close()
    ref, sql = _both_engines(tmp_path / "raw.duckdb", tmp_path)
    _assert_identical(ref, sql)
    assert sql["reconciliation"].set_index("table").loc["customers", "rows_derived"] == len(sql["customers"])


def test_engine_is_checked(con):
    with pytest.raises(ValueError, match="engine must be 'duckdb' or 'pandas'"):
        clean.clean_database(con, engine="spark")
