import numpy as np
import pandas as pd
import pytest

from dbmlib.parsing import parse_dates, parse_flags, parse_integers, parse_money


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
