"""read_frame gives DuckDB's .df() frame (through Arrow, faster on large text tables)."""

import pandas as pd

from dbmlib.core.db import connect, read_frame


def test_read_frame_equals_duckdb_df(default_demo):
    _, db = default_demo
    con = connect(db, read_only=True)
    try:
        for table in ("raw_transactions", "raw_customers", "customers", "transactions", "transactions_model",
                      "campaign_contacts", "customer_id_map"):
            sql = f"SELECT * FROM {table}"
            ours, theirs = read_frame(con, sql), con.execute(sql).df()
            empty = [c for c in theirs if theirs[c].isna().all()]  # all-NULL text: string dtype, not object
            assert all(ours[c].isna().all() for c in empty)
            pd.testing.assert_frame_equal(ours.drop(columns=empty), theirs.drop(columns=empty), obj=table)
        sql = "SELECT * FROM transactions WHERE channel = ? ORDER BY order_id"
        pd.testing.assert_frame_equal(read_frame(con, sql, ["web"]), con.execute(sql, ["web"]).df())
        assert read_frame(con, "SELECT * FROM transactions").shape[0] == con.execute(
            "SELECT count(*) FROM transactions").fetchone()[0]
    finally:
        con.close()


def test_clean_readers_name_the_missing_table(tmp_path):
    import pytest

    from dbmlib.core.db import connect, read_clean, read_customers

    con = connect(tmp_path / "m.duckdb")
    with pytest.raises(ValueError, match="'customers' is missing: run 02_cleaning first"):
        read_customers(con)
    con.execute("CREATE TABLE customers AS SELECT 'b' AS customer_id, 2 AS n UNION ALL SELECT 'a', 1")
    assert read_customers(con).index.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="'transactions' is missing"):
        read_clean(con)
