"""The fast paths of collection give what the plain ones give, on small odd inputs."""

import csv
import io

import pandas as pd
import pyarrow as pa
import pytest

from dbmlib.collect.load import _canonical
from dbmlib.collect.readers import _as_text_column, _first_record, _read_csv
from dbmlib.collect.schemas import SOURCES, _not_blank

ODD_CELLS = ["a", " a", "a ", "\ta", "a\n", "", None, "  ", "é", "aé", "\u00a0a", "a\u2003", "a\u3000",
             "x\x1fy", "\x1c", "1,5", "O0001"]


def _plain(s: pd.Series) -> pd.Series:
    """What every column went through before the fast path."""
    return s.astype("string").str.strip().replace("", pd.NA)


@pytest.mark.parametrize("cells", [ODD_CELLS, ["a", "b", None], ["a", "b"], [None, None], ["ab", "é"],
                                   ["", "a"], ["a", " "], []])
def test_as_text_column_equals_strip(cells):
    s = pd.Series(cells, dtype=pd.StringDtype("pyarrow"))
    pd.testing.assert_series_equal(_as_text_column(s), _plain(s), check_exact=True)
    chunked = pa.chunked_array([pa.array(cells[:3], pa.large_string()), pa.array(cells[3:], pa.large_string())])
    s = pd.Series(pd.arrays.ArrowStringArray(chunked))
    pd.testing.assert_series_equal(_as_text_column(s), _plain(s), check_exact=True)


def test_as_text_column_sliced_and_other_types():
    s = pd.Series(["x ", "a", "b", "c "], dtype=pd.StringDtype("pyarrow")).iloc[1:3]
    pd.testing.assert_series_equal(_as_text_column(s), _plain(s), check_exact=True)
    for s in (pd.Series(["a ", None], dtype="str"), pd.Series([" a", "b"], dtype=object),
              pd.Series([1.5, None]), pd.Series(["a", "b"], dtype="str")):
        pd.testing.assert_series_equal(_as_text_column(s), _plain(s), check_exact=True)


@pytest.mark.parametrize("text", ["a,b", "a,b\n1,2", 'a,"b\nc",d\r\nx', '"' + "x" * 100_000 + '",y\nz',
                                  'a,"open' + "x" * 70_000, "a,b\r", "a\r\nb", "", "\n\n", "a;b\n1;2",
                                  "x" * 65_535 + "\r\n1", "x" * 65_536 + "\n1"])
def test_first_record_equals_reader_over_all(text):
    whole = next(csv.reader(io.StringIO(text, newline=""), delimiter=","), [])
    assert _first_record(text, ",") == whole


def test_read_csv_strips_as_before():
    raw = "id, name ,amount\n1, Ann ,1.50\n2,é,\n3,,  \n 4 ,\u00a0Bo,2\n".encode()
    df = _read_csv(raw, "x.csv", ",", "utf-8")
    assert list(df.columns) == ["id", "name", "amount"]
    assert df["id"].tolist() == ["1", "2", "3", "4"]
    assert df["name"].tolist() == ["Ann", "é", pd.NA, "Bo"]
    assert df["amount"].tolist() == ["1.50", pd.NA, pd.NA, "2"]
    assert all(dtype == "string" for dtype in df.dtypes)


@pytest.mark.parametrize("cells", [ODD_CELLS, ["a", "b", None], ["a", " "], [None]])
@pytest.mark.parametrize("dtype", [pd.StringDtype("pyarrow"), "str", object])
def test_not_blank_equals_strip(cells, dtype):
    s = pd.Series(cells, dtype=dtype)
    pd.testing.assert_series_equal(_not_blank(s), s.astype("string").str.strip().str.len() > 0, check_exact=True)


def test_absent_columns_are_missing_text():
    frame, absent, _, _ = _canonical(pd.DataFrame({"customer_id": ["1", "2"]}, dtype="string"),
                                     SOURCES["customers"], "x.csv", None)
    for c in absent:
        pd.testing.assert_series_equal(frame[c], pd.Series(pd.NA, index=frame.index, dtype="string", name=c))


@pytest.mark.parametrize("files", [["a.csv"], ["a.csv", "b.csv"]])
def test_orders_per_month_one_file_join_equals_join_by_file(tmp_path, monkeypatch, files):
    """The lines of a single file join the parsed texts on their text alone; the same result as
    joining on (file, text)."""
    import duckdb

    from dbmlib.collect import load, overview

    text = ("order_id,customer_id,order_ts,amount,quantity,unit_price,channel,returned_order_id\n"
            "1,A,13/01/2024 10:00,1.50,,,web,\n2,B,02/02/2024,,3,2.50,,\n3,A,02/02/2024,-5,,,web,\n"
            "4,C,31/03/2024,10,,,store,1\n5,C,31/03/2024,7,,,store,\n5,C,31/03/2024,1,,,store,\n"
            "6,D,2024-04-30 23:59,2.25,,,web,\n")
    con = duckdb.connect()
    for i, name in enumerate(files):
        (tmp_path / name).write_text(text.replace("\n5,C", f"\n5{i},C"))
        load.load_file(con, "transactions", tmp_path / name, dayfirst=True)
    assert overview._one_file(con) == (len(files) == 1)
    got = overview.orders_per_month(con)
    monkeypatch.setattr(overview, "_one_file", lambda con: False)
    pd.testing.assert_frame_equal(got, overview.orders_per_month(con), check_exact=True)
    assert got["orders"].sum() == {1: 4, 2: 5}[len(files)]  # ids 1, 2 and 6 are in both files
