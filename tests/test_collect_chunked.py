"""Chunked collection: a file is read, validated and inserted a chunk at a time, with the same
result as a whole-file load; errors name rows of the file; keys are checked across chunks."""

from pathlib import Path

import pandas as pd
import pytest

from dbmlib.collect import load as collect
from dbmlib.core.db import connect
from dbmlib.core.errors import InputError
from dbmlib.demo.simulate import transaction_log

BAD = Path(__file__).parent / "data" / "bad"


@pytest.fixture
def log_files(tmp_path):
    d = transaction_log(3_000, seed=4)
    d = pd.DataFrame({"order_id": "O" + pd.Series(range(len(d))).astype(str),
                      "customer_id": "C" + d["customer_id"].astype(str),
                      "order_ts": d["order_ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                      "amount": d["amount"].map("{:.2f}".format)})
    d.loc[[5, 2500, 7000], "amount"] = ["ten", "12,5,0", "abc"]  # three bad rows in different chunks
    csv, parquet = tmp_path / "transactions.csv", tmp_path / "transactions.parquet"
    d.to_csv(csv, index=False)
    d.to_parquet(parquet, index=False)
    return d, csv, parquet


def _table(con):
    return con.execute("SELECT * EXCLUDE (_loaded_at, _source_file, _load_id) FROM raw_transactions "
                       "ORDER BY _source_row").df()


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_chunked_equals_whole_file(tmp_path, log_files, kind):
    d, csv, parquet = log_files
    path = csv if kind == "csv" else parquet
    whole = connect(tmp_path / "a.duckdb")
    chunked = connect(tmp_path / "b.duckdb")
    r1 = collect.load_file(whole, "transactions", path, errors="quarantine")
    r2 = collect.load_file(chunked, "transactions", path, errors="quarantine", chunk_rows=1_000)
    assert (r2.rows_read, r2.rows_loaded, r2.rows_rejected) == (r1.rows_read, r1.rows_loaded, 3) == \
        (len(d), len(d) - 3, 3)
    pd.testing.assert_frame_equal(_table(whole), _table(chunked))
    rows = chunked.execute("SELECT source_row FROM rejects ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == [6, 2501, 7001]  # file rows, not chunk rows
    with pytest.raises(InputError) as info:
        collect.load_file(connect(tmp_path / "c.duckdb"), "transactions", path, chunk_rows=1_000)
    assert info.value.rows == [6] and info.value.column == "amount"
    whole.close()
    chunked.close()


def test_duplicate_keys_across_chunks_are_caught_and_rolled_back(tmp_path, con):
    src = pd.read_csv(BAD / "customers_ok.csv", dtype=str)
    rows = pd.concat([src, src.assign(customer_id=["C3", "C1"])], ignore_index=True)  # C1 again at row 4
    path = tmp_path / "customers.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(InputError, match="duplicate values across the file") as info:
        collect.load_file(con, "customers", path, chunk_rows=2)
    assert info.value.rows == [4]
    assert con.execute("SELECT count(*) FROM raw_customers").fetchall()[0][0] == 0  # rolled back


def test_chunked_load_under_a_small_memory_limit(tmp_path, log_files):
    _, _, parquet = log_files
    con = connect(tmp_path / "m.duckdb")
    con.execute("SET memory_limit = '64MB'")
    rep = collect.load_file(con, "transactions", parquet, errors="quarantine", chunk_rows=2_000)
    assert rep.rows_loaded == rep.rows_read - 3
    again = collect.load_file(con, "transactions", parquet, errors="quarantine", chunk_rows=2_000)
    assert again.status == "unchanged"
    con.close()


def test_chunked_load_trims_cells_like_a_whole_file_load(tmp_path):
    import duckdb

    from dbmlib.collect import load

    path = tmp_path / "transactions.csv"
    path.write_text("order_id,customer_id,order_ts,amount,channel\n1, A ,2024-01-01, 5 , web \n2,B,2024-01-02,6,   \n")
    got = []
    for chunk_rows in (None, 1):
        con = duckdb.connect()
        load.load_file(con, "transactions", path, chunk_rows=chunk_rows)
        got.append(con.execute("SELECT customer_id, amount, channel FROM raw_transactions ORDER BY _source_row").fetchall())
    assert got[0] == got[1] == [("A", "5", "web"), ("B", "6", None)]
