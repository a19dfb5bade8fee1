import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dbmlib.core.parsing import parse_dates, parse_flags, parse_integers, parse_money


def test_dates_all_supported_formats_and_dayfirst():
    s = pd.Series(["2024-01-31", "2024-01-31 10:15", "2024-01-31T10:15:30", "20240131",
                   "03/04/2024", "03/04/2024 10:15", None])
    d = parse_dates(s, dayfirst=True)
    assert d.iloc[0] == pd.Timestamp("2024-01-31")
    assert d.iloc[1] == pd.Timestamp("2024-01-31 10:15")
    assert d.iloc[2] == pd.Timestamp("2024-01-31 10:15:30")
    assert d.iloc[3] == pd.Timestamp("2024-01-31")
    assert d.iloc[4] == pd.Timestamp("2024-04-03")
    assert d.iloc[5] == pd.Timestamp("2024-04-03 10:15")
    assert pd.isna(d.iloc[6])
    assert parse_dates(s, dayfirst=False).iloc[4] == pd.Timestamp("2024-03-04")


@pytest.mark.parametrize("bad", ["31/02/2024", "2024-13-01", "next tuesday", "2024/01/31", ""])
def test_dates_invalid_give_nat(bad):
    assert pd.isna(parse_dates(pd.Series([bad])).iloc[0])


@pytest.mark.parametrize("text,value", [
    ("1234.50", 1234.5), ("-12", -12.0), ("1,234.50", 1234.5), ("£1,234.50", 1234.5),
    ("-£12.00", -12.0), ("$12", 12.0), ("€12", 12.0), ("12.00 GBP", 12.0), ("(5.00)", -5.0),
    ("¥12", np.nan), ("12,34", np.nan), ("1,2345", np.nan), ("abc", np.nan), ("12.3.4", np.nan),
])
def test_money(text, value):
    got = parse_money(pd.Series([text])).iloc[0]
    assert (np.isnan(value) and np.isnan(got)) or got == value


def test_money_decimal_comma():
    got = parse_money(pd.Series(["1.234,50", "12,5", "1,234.50"]), decimal=",")
    assert got.iloc[0] == 1234.5 and got.iloc[1] == 12.5 and np.isnan(got.iloc[2])


def test_flags_and_integers():
    assert parse_flags(pd.Series(["Y", "n", "TRUE", "0", "maybe"])).tolist()[:4] == [True, False, True, False]
    assert pd.isna(parse_flags(pd.Series(["maybe"])).iloc[0])
    ints = parse_integers(pd.Series(["3", "-1", "3.0", "3.5", "x"]))
    assert ints.iloc[:3].tolist() == [3, -1, 3] and ints.iloc[3:].isna().all()


@pytest.mark.parametrize("decimal", [".", ","])
def test_money_fast_path_equals_the_full_grammar(decimal):
    """Plain numbers skip the regex grammar; the answer must be the grammar's, cell by cell."""
    from dbmlib.core.parsing import _as_text, _parse_money_text

    rng = np.random.default_rng(0)
    plain = [f"{v:.2f}".replace(".", decimal) for v in rng.normal(50, 80, 300)] + ["0", "-0", "007", "12"]
    other = ["1,234.50", "1.234,50", "(4.00)", "£5", "5 GBP", "- 3", "1.", ".5", "", None, "abc", "12,5", "3,50"]
    s = pd.Series(plain + other)
    fast = parse_money(s, decimal=decimal)
    full = _parse_money_text(_as_text(s), decimal)
    pd.testing.assert_series_equal(fast, full, check_names=False)
    assert fast.notna().sum() >= 300


def test_gb_phone_fast_path_equals_libphonenumber():
    """The vectorised GB shape (0 or +44 and ten digits) gives libphonenumber's E.164 for
    every leading digit and the separators exports use; other shapes still go to it."""
    import phonenumbers

    from dbmlib.clean.standardise import normalise_phone

    rng = np.random.default_rng(1)
    nsn = [str(lead) + "".join(map(str, rng.integers(0, 10, 9))) for lead in range(1, 10) for _ in range(40)]
    shapes = [lambda n: "0" + n, lambda n: "+44" + n, lambda n: f"0{n[:4]} {n[4:]}",
              lambda n: f"(0{n[:4]}) {n[4:7]}-{n[7:]}", lambda n: f"+44 {n[:4]} {n[4:]}", lambda n: f"0{n[:3]}.{n[3:]}"]
    odd = ["+44 (0) 7700 900123", "0044 7700 900123", "447700900123", "07700 90012", "+1 212 555 0100",
           "020 7946 0958", "not a phone", "", None, "٠٧٧٠٠ ٩٠٠١٢٣"]  # the last: Arabic-Indic digits
    s = pd.Series([f(n) for n in nsn for f in shapes] + odd)

    def reference(v):
        try:
            num = phonenumbers.parse(v, "GB")
        except phonenumbers.NumberParseException:
            return pd.NA
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164) \
            if phonenumbers.is_possible_number(num) else pd.NA

    expected = [pd.NA if v is None or not str(v).strip() else reference(str(v).strip()) for v in s]
    for text in (s, s.astype(object)):  # Arrow text (Arrow's regex) and object text (Python's re)
        got = normalise_phone(text)
        assert got.isna().tolist() == pd.isna(pd.Series(expected, dtype="string")).tolist()
        assert got.dropna().tolist() == pd.Series(expected, dtype="string").dropna().tolist()
        assert got.iloc[0] == "+44" + nsn[0] and got.iloc[-1] == "+447700900123"


def test_arrow_isin_equals_pandas_isin():
    from dbmlib.core.fast_text import isin

    rng = np.random.default_rng(2)
    s = pd.Series([None if v % 17 == 0 else f"R{v:05d}" for v in rng.integers(0, 3000, 5000)], dtype="string")
    allowed = [f"R{v:05d}" for v in range(0, 3000, 3)] + [None]
    np.testing.assert_array_equal(isin(s, allowed), s.isin(allowed).fillna(False).to_numpy(bool) & s.notna().to_numpy())
    np.testing.assert_array_equal(isin(s, set(allowed[:10])), s.isin(allowed[:10]).fillna(False).to_numpy(bool))
    assert not isin(s, []).any()
    import pyarrow as pa  # keys read from DuckDB arrive as Arrow (large_string) arrays

    keys = pa.chunked_array([pa.array(allowed[:500], type=pa.large_string()), pa.array(allowed[500:], type=pa.large_string())])
    np.testing.assert_array_equal(isin(s, keys), isin(s, allowed))
    np.testing.assert_array_equal(isin(s.astype(object), keys), isin(s, allowed))


def test_arrow_fullmatch_equals_python_re():
    import re

    from dbmlib.core.fast_text import fullmatch

    cells = ["2024-01-31", "2024-01-31 10:15", "2024-1-31", "31/01/2024", "20240131", "12.50", "-3", "1,234.5",
             "", None, " 12", "12 ", "x12", "2024-01-31T10:15:00"]
    s = pd.Series(cells, dtype="string")
    for pattern in [r"\d{4}-\d{2}-\d{2}", r"\d{4}-\d{2}-\d{2}.*", r"\d{8}", r"-?\d+(\.\d+)?",
                    r"\d{1,2}/\d{1,2}/\d{4}", r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?"]:
        expected = [c is not None and re.fullmatch(pattern, c) is not None for c in cells]
        assert fullmatch(s, pattern).tolist() == expected, pattern
        assert fullmatch(s.astype(object), pattern).tolist() == expected, pattern  # non-Arrow path


def test_arrow_lookup_equals_map():
    from dbmlib.core.fast_text import lookup

    values = pd.Series(["a", "b", None, "c", "a", "z"], dtype="str", index=[5, 4, 3, 2, 1, 0], name="customer_id")
    mapped = lookup(values, ["a", "b", "c"], ["A", "B", "a"])
    pd.testing.assert_series_equal(mapped, values.map({"a": "A", "b": "B", "c": "a"}))
    assert mapped.loc[1] == "A" and pd.isna(mapped.loc[0])  # positions kept, unknown key missing
    pd.testing.assert_series_equal(lookup(values.astype(object), ["a"], ["A"]),
                                   values.astype(object).map({"a": "A"}))
    with pytest.raises(ValueError, match="unique"):
        lookup(values, ["a", "a"], ["A", "B"])


def test_factorize_equals_pandas_and_is_remembered_for_the_same_text_only():
    import gc

    from dbmlib.core import fast_text

    tx = pd.DataFrame({"customer_id": pd.Series(["c", "a", None, "b", "a", "é", "c"], dtype="str")})
    for sort in (True, False):
        codes, uniques = fast_text.factorize(tx["customer_id"], sort=sort)
        want_codes, want_uniques = pd.factorize(tx["customer_id"], sort=sort)
        np.testing.assert_array_equal(codes, want_codes)
        pd.testing.assert_index_equal(uniques, want_uniques)
    first = fast_text.factorize(tx["customer_id"])[0]
    assert fast_text.factorize(tx["customer_id"])[0] is first  # the same column: remembered
    assert not first.flags.writeable  # no caller can change what the next one gets
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 5
    tx.loc[1, "customer_id"] = "z"  # pandas puts new text behind the column: factorized again
    codes, uniques = fast_text.factorize(tx["customer_id"])
    assert codes is not first and list(uniques) == ["a", "b", "c", "z", "é"] and codes.tolist() == [2, 3, -1, 1, 0, 4, 2]
    part = tx["customer_id"].iloc[2:]  # other text (a slice): its own codes
    assert fast_text.factorize(part)[0].tolist() == [-1, 1, 0, 3, 2]
    n = len(fast_text._FACTORIZED)
    del tx, part, codes, first
    gc.collect()
    assert len(fast_text._FACTORIZED) < n  # an entry leaves with its text
    obj = pd.Series(["b", "a", "b"], dtype=object)
    assert fast_text.factorize(obj)[0] is not fast_text.factorize(obj)[0]  # not Arrow text: not remembered


def test_positions_and_empty_lookup():
    from dbmlib.core.fast_text import lookup, positions

    values = pd.Series(["b", None, "a", "q"], dtype="str")
    assert positions(values, ["a", "b"]).tolist() == [1, -1, 0, -1]
    assert positions(values.astype(object), ["a", "b"]).tolist() == [1, -1, 0, -1]
    assert lookup(values, [], []).isna().all()


def test_integer_and_number_fast_paths_equal_to_numeric():
    """Plain digit cells go through Arrow's cast; the values equal pandas' to_numeric."""
    from dbmlib.core.fast_text import to_numbers

    cells = ["3", "-1", "007", "-0", "3.0", "2.5", "+4", "1e3", "", None, "x", "123456789012345", " 5 "]
    s = pd.Series(cells, dtype="string")
    got = parse_integers(s)
    expected = pd.to_numeric(s.str.strip(), errors="coerce")
    expected = expected.where(expected.notna() & (expected == np.round(expected))).astype("Int64")
    pd.testing.assert_series_equal(got, expected, check_names=False)
    rng = np.random.default_rng(4)
    money = pd.Series([f"{v:.2f}" for v in rng.normal(40, 60, 20_000)], dtype="str")
    np.testing.assert_array_equal(to_numbers(money), pd.to_numeric(money).to_numpy())
    np.testing.assert_array_equal(to_numbers(money.astype(object)), pd.to_numeric(money).to_numpy())


def test_parsing_distinct_values_equals_parsing_every_cell():
    from dbmlib.core.parsing import _parse_dates, _parse_money

    rng = np.random.default_rng(3)
    dates = pd.Series(rng.choice(["1/31/24 8:05", "12/1/10 17:26", "2024-02-30", None, "2024-01-31T10:15:00+02:00",
                                  "31/12/2024", "garbage"], 120_000), dtype="string")
    for dayfirst in (True, False, None):
        assert parse_dates(dates, dayfirst=dayfirst).equals(_parse_dates(dates, dayfirst, None))
    money = pd.Series(rng.choice(["1,234.50", "£3", None, "x", "-2.5"], 120_000), dtype="string")
    got = parse_money(money)
    assert got.equals(_parse_money(money, ".")) and got.isna().sum() == (money.isna() | (money == "x")).sum()


def test_day_month_cells_with_two_different_separators_are_not_dates():
    # 1/2-2024 passes the loose layout test but is no supported layout: NaT (it used to raise
    # a TypeError from inside the parser)
    got = parse_dates(pd.Series(["1/2-2024", "1/2/2024", "13.1.24 10:00"], dtype="string"), dayfirst=True)
    assert got.isna().tolist() == [True, False, False]
    assert got.iloc[1] == pd.Timestamp("2024-02-01") and got.iloc[2] == pd.Timestamp("2024-01-13 10:00")


def test_numeric_date_fields_through_arrow_equal_pandas_extract():
    from dbmlib.core import parsing

    rng = np.random.default_rng(5)
    pick = lambda options, n: np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]  # noqa: E731
    n = 50_000
    nums = ["1", "01", "12", "13", "31", "7", "123", "x", ""]
    text = (pick(nums, n) + pick(list("/.-"), n) + pick(nums, n) + pick(list("/.-,"), n)
            + pick(["2024", "24", "99", "202"], n)
            + pick(["", "", " 8:05", "T10:59", "  10:05", " 123:05", " 8:05:09", " 8:05:9"], n))
    s = pd.Series(text, dtype="string")
    got = parsing._numeric_parts(s)
    assert_frame_equal(got, s.str.extract(parsing._NUMERIC), check_dtype=False)
    assert got["a"].notna().sum() > 2_000 and got["S"].notna().sum() > 200  # both kinds really occur


def test_space_class_is_pythons_whitespace_and_keeps_arrow_path():
    import re
    import sys

    from dbmlib.core.fast_text import SPACE

    assert SPACE == "".join(chr(i) for i in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(i)))
    rng = np.random.default_rng(8)
    alphabet = np.array(list(SPACE) + list("abAB09 ()-._+é中\n"), dtype=object)
    vals = ["".join(alphabet[rng.integers(0, len(alphabet), rng.integers(0, 12))]) for _ in range(20_000)]
    s = pd.Series(vals, dtype="string")
    assert not s.array._needs_python_regex(f"[{SPACE}]+")  # pandas keeps it in Arrow's RE2
    got = s.str.replace(f"[{SPACE}().\\-]+", " ", regex=True)
    assert got.tolist() == [re.sub(r"[\s().\-]+", " ", v) for v in vals]


def test_distinct_cells_are_parsed_as_they_are_with_the_same_result():
    """``distinct=True`` (a SELECT DISTINCT's cells) skips the look for repeated values; the
    parsed values are those of the default path, which looks (60,000 cells: above its threshold)."""
    rng = np.random.default_rng(8)
    stamps = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.choice(10**8, 60_000, replace=False), unit="s")
    text = pd.Series(stamps.strftime("%d/%m/%Y %H:%M:%S"), dtype="str")
    text.iloc[::1000] = "31/02/2024"  # invalid (and now repeated: not distinct, the default path still looks)
    distinct = text.drop_duplicates()
    pd.testing.assert_series_equal(parse_dates(distinct, distinct=True), parse_dates(distinct))
    assert parse_dates(distinct, distinct=True).notna().sum() == len(distinct) - 1
    money = pd.Series([f"£{v:,.2f}" for v in rng.choice(10**7, 60_000, replace=False) / 100], dtype="str")
    pd.testing.assert_series_equal(parse_money(money, distinct=True), parse_money(money))
