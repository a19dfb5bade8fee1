"""dbmlib.collect.readers: compressed files, encodings from the byte-order mark, Excel sheets."""

import bz2
import datetime as dt
import gzip
import logging
import zipfile

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dbmlib.collect import readers
from dbmlib.collect.readers import is_table_file, iter_table_chunks, read_table_file, table_suffix
from dbmlib.core.errors import InputError

CSV = "customer_id,order_ts,amount\nA1,2024-01-02,10.50\nB2,2024-02-03,7\nC3,2024-03-04,\n"
TSV = CSV.replace(",", "\t")
NON_ASCII = "customer_id,city,amount\nA1,Zürich,10.50\nB2,Málaga,7\n"


def _expected(text=CSV, sep=","):
    rows = [line.split(sep) for line in text.strip().splitlines()]
    return pd.DataFrame(rows[1:], columns=rows[0]).astype("string").replace("", pd.NA)


@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "transactions.csv"
    path.write_text(CSV, encoding="utf-8")
    return read_table_file(path)


# --- table_suffix / is_table_file --------------------------------------------------------

@pytest.mark.parametrize("name,suffix", [
    ("transactions.csv", ".csv"),
    ("TRANSACTIONS.CSV", ".csv"),
    ("x.tsv", ".tsv"),
    ("x.txt", ".txt"),
    ("x.parquet", ".parquet"),
    ("x.xlsx", ".xlsx"),
    ("x.xls", ".xls"),
    ("x.csv.gz", ".csv"),
    ("x.csv.bz2", ".csv"),
    ("x.tsv.gz", ".tsv"),
    ("x.txt.gz", ".txt"),
    ("x.csv.zip", ".csv"),
    ("x.CSV.ZIP", ".csv"),
    ("x.zip", ".zip"),
    ("export.2024.zip", ".zip"),
    ("orders.2024.csv.gz", ".csv"),
    ("x.gz", None),
    ("x.tar.gz", None),
    ("x.bz2", None),
    ("x.pdf", None),
    ("x.json", None),
    ("transactions", None),
    ("x.csv.7z", None),
])
def test_table_suffix(name, suffix):
    assert table_suffix(name) == suffix
    assert is_table_file(name) is (suffix is not None)


def test_a_folder_is_not_a_table_file(tmp_path):
    folder = tmp_path / "transactions.csv"
    folder.mkdir()
    assert table_suffix(folder) == ".csv"
    assert is_table_file(folder) is False
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_table_file(folder)


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as info:
        read_table_file(tmp_path / "nope.csv.gz")
    assert info.value.problem == "the file does not exist"


def test_public_names_exported():
    from dbmlib import collect

    for name in ["table_suffix", "is_table_file", "COMPRESSION_SUFFIXES", "SUPPORTED_SUFFIXES"]:
        assert name in readers.__all__ and getattr(collect, name) is getattr(readers, name)
    assert readers.COMPRESSION_SUFFIXES == (".gz", ".bz2", ".zip")


# --- compressed files --------------------------------------------------------------------

def test_plain_csv_reads_as_strings(plain):
    assert_frame_equal(plain, _expected())
    assert plain.loc[0, "amount"] == "10.50" and pd.isna(plain.loc[2, "amount"])


@pytest.mark.parametrize("name,write", [
    ("transactions.csv.gz", lambda p, b: p.write_bytes(gzip.compress(b))),
    ("transactions.csv.bz2", lambda p, b: p.write_bytes(bz2.compress(b))),
    ("transactions.txt.gz", lambda p, b: p.write_bytes(gzip.compress(b))),
])
def test_compressed_csv_reads_like_plain(tmp_path, plain, name, write):
    path = tmp_path / name
    write(path, CSV.encode())
    assert_frame_equal(read_table_file(path), plain)


def test_tsv_gz_uses_tab(tmp_path, plain):
    path = tmp_path / "transactions.tsv.gz"
    path.write_bytes(gzip.compress(TSV.encode()))
    assert_frame_equal(read_table_file(path), plain)


@pytest.mark.parametrize("zip_name,member", [
    ("transactions.csv.zip", "transactions.csv"),
    ("transactions.zip", "export/orders.csv"),
    ("transactions.zip", "orders.tsv"),
])
def test_zip_with_one_member(tmp_path, plain, zip_name, member):
    path = tmp_path / zip_name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export/", "")  # a directory entry
        z.writestr("__MACOSX/export/._orders.csv", b"\x00\x05\x16\x07junk")
        z.writestr(member, TSV if member.endswith(".tsv") else CSV)
    assert_frame_equal(read_table_file(path), plain)


def test_zip_member_suffix_decides_format(tmp_path, plain):
    path = tmp_path / "transactions.zip"
    with zipfile.ZipFile(path, "w") as z, z.open("orders.parquet", "w") as f:
        plain.to_parquet(f)
    assert_frame_equal(read_table_file(path), plain)


def test_zip_holding_an_excel_file(tmp_path):
    xlsx = tmp_path / "orders.xlsx"
    pd.DataFrame({"id": ["a", "b"], "n": [1, 2]}).to_excel(xlsx, index=False)
    path = tmp_path / "orders.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.write(xlsx, "orders.xlsx")
    df = read_table_file(path)
    assert df.to_dict("list") == {"id": ["a", "b"], "n": ["1", "2"]}


def test_zip_with_two_members_names_both(tmp_path):
    path = tmp_path / "transactions.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("orders_2023.csv", CSV)
        z.writestr("orders_2024.csv", CSV)
    with pytest.raises(InputError) as info:
        read_table_file(path)
    msg = str(info.value)
    assert info.value.file == str(path)
    assert "holds 2 files" in msg and "'orders_2023.csv'" in msg and "'orders_2024.csv'" in msg
    assert "exactly one data file" in info.value.expected


def test_empty_zip_and_unsupported_member(tmp_path):
    empty = tmp_path / "a.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(InputError, match="holds 0 files"):
        read_table_file(empty)
    pdf = tmp_path / "b.zip"
    with zipfile.ZipFile(pdf, "w") as z:
        z.writestr("orders.pdf", b"%PDF")
    with pytest.raises(InputError, match=r"'orders.pdf', is of unsupported type '.pdf'"):
        read_table_file(pdf)


def test_corrupt_compressed_files(tmp_path):
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(CSV.encode())[:20])
    with pytest.raises(InputError, match="cannot be decompressed as gzip") as info:
        read_table_file(gz)
    assert info.value.file == str(gz)
    bad_zip = tmp_path / "t.csv.zip"
    bad_zip.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="cannot be opened as a zip archive"):
        read_table_file(bad_zip)


def test_csv_checks_apply_inside_compressed_files(tmp_path):
    ragged = tmp_path / "t.csv.gz"
    ragged.write_bytes(gzip.compress(b"a,b,c\n1,2,3\n4,5,6,7\n"))
    with pytest.raises(InputError) as info:
        read_table_file(ragged)
    assert info.value.problem == "line 3 has 4 fields" and info.value.rows == [2]
    assert info.value.file == str(ragged)

    semi = tmp_path / "t.csv.bz2"
    semi.write_bytes(bz2.compress(b"a;b;c\n1;2;3\n"))
    with pytest.raises(InputError, match="pass delimiter=';'"):
        read_table_file(semi)

    dup = tmp_path / "t.zip"
    with zipfile.ZipFile(dup, "w") as z:
        z.writestr("inner.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(InputError) as info:
        read_table_file(dup)
    assert info.value.column == "a" and info.value.file == f"{dup}::inner.csv"

    empty = tmp_path / "e.csv.gz"
    empty.write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match="the file is empty"):
        read_table_file(empty)


def test_unsupported_names(tmp_path):
    for name in ["t.tar.gz", "t.json"]:
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(InputError) as info:
            read_table_file(tmp_path / name)
        assert "unsupported file type" in info.value.problem and ".csv.gz" in info.value.expected


@pytest.mark.parametrize("name,compress", [
    ("t.csv", lambda b: b), ("t.csv.gz", gzip.compress), ("t.csv.bz2", bz2.compress),
])
def test_chunks_of_compressed_csv(tmp_path, name, compress):
    path = tmp_path / name
    path.write_bytes(compress(CSV.encode("utf-8-sig")))
    chunks = list(iter_table_chunks(path, 2))
    assert [len(c) for c in chunks] == [2, 1]
    whole = pd.concat(chunks, ignore_index=True)
    assert list(whole.columns) == ["customer_id", "order_ts", "amount"]
    assert whole["customer_id"].tolist() == ["A1", "B2", "C3"]


def test_chunks_of_utf16_csv_with_bom(tmp_path):
    path = tmp_path / "t.tsv.gz"
    path.write_bytes(gzip.compress(TSV.encode("utf-16")))
    whole = pd.concat(iter_table_chunks(path, 2), ignore_index=True)
    assert whole["customer_id"].tolist() == ["A1", "B2", "C3"]


@pytest.mark.parametrize("name", ["t.csv.zip", "t.xlsx", "t.parquet.gz"])
def test_chunks_refuse_other_files(tmp_path, name):
    (tmp_path / name).write_bytes(b"x")
    with pytest.raises(InputError) as info:
        next(iter_table_chunks(tmp_path / name, 10))
    assert "chunked loading does not read" in info.value.problem
    assert ".csv.gz" in info.value.expected


# --- encodings ---------------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                                   "utf-32-be", "utf-8-sig"])
def test_byte_order_mark_decides_the_codec(tmp_path, codec):
    bom = {"utf-16-le": "\ufeff", "utf-16-be": "\ufeff", "utf-32-le": "\ufeff",
           "utf-32-be": "\ufeff"}.get(codec, "")
    path = tmp_path / "t.csv"
    path.write_bytes((bom + NON_ASCII).encode(codec))
    expected = _expected(NON_ASCII)
    assert_frame_equal(read_table_file(path), expected)
    # whatever encoding= says
    assert_frame_equal(read_table_file(path, encoding="cp1252"), expected)


def test_utf32_le_is_not_mistaken_for_utf16(tmp_path):
    raw = ("\ufeff" + NON_ASCII).encode("utf-32-le")
    assert raw.startswith(b"\xff\xfe\x00\x00")
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    assert read_table_file(path)["city"].tolist() == ["Zürich", "Málaga"]


def test_utf16_bom_in_a_compressed_file(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(NON_ASCII.encode("utf-16")))
    assert read_table_file(path)["city"].tolist() == ["Zürich", "Málaga"]


def test_cp1252_bytes_give_the_cp1252_hint(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(NON_ASCII.encode("cp1252"))
    with pytest.raises(InputError) as info:
        read_table_file(path)
    err = info.value
    assert err.problem == "byte 0xfc on line 2 is not valid utf-8"
    assert err.rows == [1]
    assert "pass encoding='cp1252'" in err.expected and "UTF-16" not in str(err)
    assert read_table_file(path, encoding="cp1252")["city"].tolist() == ["Zürich", "Málaga"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("ascii_only", [False, True])
def test_utf16_without_bom_gets_the_utf16_hint(tmp_path, codec, ascii_only):
    """Pure ASCII UTF-16 decodes as UTF-8 (NULs are valid): caught all the same."""
    path = tmp_path / "t.csv"
    path.write_bytes((CSV if ascii_only else NON_ASCII).encode(codec))
    with pytest.raises(InputError) as info:
        read_table_file(path)
    msg = str(info.value)
    assert f"pass encoding='{codec}'" in info.value.expected and "cp1252" not in msg
    if not ascii_only:
        assert f"this looks like UTF-16 without a byte-order mark: pass encoding='{codec}'" in msg
        assert read_table_file(path, encoding=codec)["city"].tolist() == ["Zürich", "Málaga"]
    assert "cp1252" not in str(info.value)
    with pytest.raises(InputError, match=f"pass encoding='{codec}'"):
        read_table_file(path, encoding="cp1252")


def test_binary_bytes_get_no_cp1252_hint(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,\x81\x00\x9d\xff\x00\x00\x01\x02\x03\n")
    with pytest.raises(InputError) as info:
        read_table_file(path)
    err = info.value
    assert err.problem == "byte 0x81 on line 2 is not valid utf-8"
    assert "the file is not utf-8 text" in err.expected
    assert "cp1252" not in str(err) and "UTF-16" not in str(err)


def test_undecodable_after_a_bom_names_the_bom(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,\xff\n")
    with pytest.raises(InputError) as info:
        read_table_file(path, encoding="latin-1")
    err = info.value
    assert err.problem == ("byte 0xff on line 2 is not valid UTF-8 (the file starts with a UTF-8 "
                           "byte-order mark)")
    assert err.expected.startswith("UTF-8 text throughout") and "cp1252" not in str(err)


def test_bom_only_file_is_empty(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="the file is empty"):
        read_table_file(path)


# --- Excel ---------------------------------------------------------------------------------

def _workbook(path, sheets: dict):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


HEAD = ["customer_id", "amount"]


@pytest.fixture
def two_sheets(tmp_path):
    return _workbook(tmp_path / "t.xlsx", {
        "Notes": [["exported from the shop"]],
        "2023": [HEAD, ["A", 1], ["B", 2], ["C", 3]],
        "2024": [HEAD, ["D", 4], ["E", 5]],
    })


def test_several_sheets_with_data_need_a_choice(two_sheets):
    with pytest.raises(InputError) as info:
        read_table_file(two_sheets)
    err = info.value
    assert err.problem == ("2 sheets hold data: 'Notes' (0 data rows), '2023' (3 data rows), "
                           "'2024' (2 data rows)")
    assert "sheet='2023' or sheet='2024'" in err.expected and "sheet='all'" in err.expected


def test_one_sheet_with_data_is_read(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"Notes": [["read me"]], "Data": [HEAD, ["A", 1]],
                                           "Empty": []})
    assert read_table_file(path).to_dict("list") == {"customer_id": ["A"], "amount": ["1"]}


def test_named_and_numbered_sheet(two_sheets):
    assert read_table_file(two_sheets, sheet="2024")["customer_id"].tolist() == ["D", "E"]
    assert read_table_file(two_sheets, sheet=1)["customer_id"].tolist() == ["A", "B", "C"]
    assert read_table_file(two_sheets, sheet=2024)["customer_id"].tolist() == ["D", "E"]


def test_sheet_name_still_works_deprecated(two_sheets):
    with pytest.warns(DeprecationWarning, match="pass sheet="):
        df = read_table_file(two_sheets, sheet_name="2023")
    assert df["customer_id"].tolist() == ["A", "B", "C"]
    with pytest.warns(DeprecationWarning), pytest.raises(InputError, match="no data rows in sheet 'Notes'"):
        read_table_file(two_sheets, sheet_name=0)


def test_all_sheets_stacked_in_order(two_sheets, caplog):
    with caplog.at_level(logging.INFO, logger="dbmlib.collect.readers"):
        df = read_table_file(two_sheets, sheet="all")
    assert len(df) == 3 + 2
    assert df.to_dict("list") == {"customer_id": ["A", "B", "C", "D", "E"],
                                  "amount": ["1", "2", "3", "4", "5"]}
    assert "read sheets '2023' (3 data rows), '2024' (2 data rows)" in caplog.text


def test_all_sheets_need_one_header(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"2023": [HEAD, ["A", 1]],
                                           "2024": [["customer_id", "net"], ["B", 2]]})
    with pytest.raises(InputError) as info:
        read_table_file(path, sheet="all")
    assert info.value.problem == ("sheet '2024' has columns ['customer_id', 'net'], sheet '2023' "
                                  "has ['customer_id', 'amount']")


def test_missing_sheet_lists_the_sheets(two_sheets):
    for sheet in ["2025", 7]:
        with pytest.raises(InputError) as info:
            read_table_file(two_sheets, sheet=sheet)
        assert info.value.problem == f"the workbook has no sheet {sheet!r}; its sheets are " \
                                     "['Notes', '2023', '2024']"


def test_no_sheet_with_data(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"a": [HEAD], "b": []})
    with pytest.raises(InputError) as info:
        read_table_file(path)
    assert info.value.problem == "the file has no data rows (sheets: 'a' (0 data rows), 'b' (0 data rows))"


def test_excel_cells_as_text(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"s": [
        ["id", "n", "x", "when", "code", "flag", "typed"],
        [1, 3.0, 2.5, dt.datetime(2024, 1, 2, 3, 4, 5), "007", True, "3.0"],
        [2, 3, -0.25, dt.datetime(2024, 12, 31), " x ", False, None],
    ]})
    df = read_table_file(path)
    expected = pd.DataFrame({
        "id": ["1", "2"],
        "n": ["3", "3"],
        "x": ["2.5", "-0.25"],
        "when": ["2024-01-02 03:04:05", "2024-12-31 00:00:00"],
        "code": ["007", "x"],
        "flag": ["True", "False"],
        "typed": ["3.0", pd.NA],
    }, dtype="string")
    assert_frame_equal(df, expected)


@pytest.mark.parametrize("value,text", [
    (3.0, "3"), (2.5, "2.5"), (3, "3"), (-0.0, "0"), (1e20, "100000000000000000000"),
    ("3.0", "3.0"), ("abc", "abc"), (None, pd.NA), (float("nan"), pd.NA), (True, "True"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 600), "2024-01-02 03:04:05"),
    (dt.date(2024, 1, 2), "2024-01-02 00:00:00"), (dt.time(3, 4, 5), "03:04:05"),
])
def test_excel_cell_text(value, text):
    assert readers._excel_cell_text(value) is text if text is pd.NA else \
        readers._excel_cell_text(value) == text


def test_corrupt_excel(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="cannot be read as Excel"):
        read_table_file(path)


# Large CSVs are parsed by pyarrow's reader; pandas' reader remains for the files pyarrow
# refuses (it names ragged rows). Both must give the same frame on every kind of file.
_LAYOUTS = {
    "quoted newline": ("a,b\n1,\"x\ny\"\n2,z\n", {}, True),
    "quoted delimiter, doubled quotes": ("a,b\n1,\"x, \"\"y\"\"\"\n", {}, True),
    "empty and quoted empty": ("a,b\n1,\"\"\n,2\n", {}, True),
    "CRLF and trailing blank lines": ("a,b\r\n1,2\r\n\r\n\r\n", {}, True),
    "lone CR line ends": ("a,b\r1,2\r3,4\r", {}, True),
    "blank line inside": ("a,b\n1,2\n\n3,4\n", {}, True),
    "blank-padded cells": ("a , b\n 1 , \n", {}, True),
    "ids with zeros and 20 digits, NA text": ("a,b\n007,12345678901234567890\nNA,null\n", {}, True),
    "non-ASCII": ("a,b\n1,Zoë\n", {}, True),
    "semicolons and decimal commas": ("a;b\n1;2,5\n", {"delimiter": ";"}, True),
    "short row (pandas pads it)": ("a,b,c\n1,2\n3,4,5\n", {}, False),
    "no final newline": ("a,b\n1,2", {}, True),
}


@pytest.mark.parametrize("name", list(_LAYOUTS))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_fast_csv_reader_equals_pandas_reader(tmp_path, monkeypatch, name, encoding):
    text, kwargs, fast = _LAYOUTS[name]
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    read = dict(kwargs, encoding="utf-8" if encoding == "utf-8-sig" else encoding)
    calls = []
    arrow = readers._parse_csv_arrow
    monkeypatch.setattr(readers, "_parse_csv_arrow", lambda *a: calls.append(arrow(*a)) or calls[-1])
    got = read_table_file(path, **read)
    assert (calls[0] is not None) == fast  # pyarrow read it, or refused and pandas did
    monkeypatch.setattr(readers, "_parse_csv_arrow", lambda *a: None)
    assert_frame_equal(got, read_table_file(path, **read))
    assert got.dtypes.eq("string").all()


def test_ragged_row_still_named_by_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(InputError, match=r"line 3 has 3 fields"):
        read_table_file(path)
