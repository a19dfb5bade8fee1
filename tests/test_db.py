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
            pd.testing.assert_frame_equal(read_frame(con, sql), con.execute(sql).df(), obj=table)
        sql = "SELECT * FROM transactions WHERE channel = ? ORDER BY order_id"
        pd.testing.assert_frame_equal(read_frame(con, sql, ["web"]), con.execute(sql, ["web"]).df())
        assert read_frame(con, "SELECT * FROM transactions").shape[0] == con.execute(
            "SELECT count(*) FROM transactions").fetchone()[0]
    finally:
        con.close()
