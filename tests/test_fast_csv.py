"""``fast_text.csv_bytes`` and ``float_text``: pandas' CSV text, byte for byte, built with Arrow."""

import numpy as np
import pandas as pd
import pytest

from dbmlib.core.fast_text import csv_bytes, float_text


def _frame(n: int = 6_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    money = np.round(rng.gamma(2, 50, n) * rng.choice([-1, 1], n), 2)
    money[:12] = [0.0, -0.0, 0.01, 1e-5, np.nan, np.inf, 1e16, 123.456, 5.0, 1e13, -np.inf, 2e9]
    noise = np.concatenate([rng.random(n // 3), 10 ** rng.uniform(-8, 18, n // 3),
                            rng.gamma(0.75, 1 / 110, n - 2 * (n // 3))])
    noise[:5] = [np.nan, 1.0, -3.0, 1e-4, 1e9]
    df = pd.DataFrame({
        "text": pd.Series(rng.choice(["a", 'q"x', "p,q", "  A ", "l\nm", "r\rs", None, "£1,234.50"], n), dtype="str"),
        "obj": np.array(rng.choice(["x", None, "y,z"], n), dtype=object),
        "money": money, "noise": noise, "int": rng.integers(-5, 10**12, n), "flag": rng.random(n) < 0.5,
        "ts": pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.random(n) * 500, unit="D"),
        "day": pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(-9000, 500, n), unit="D"),
        "mixed": np.array([True, "x", 3, None, 2.5, np.nan] * (n // 6), dtype=object),
        "nullable": pd.array([True, None] * (n // 2), dtype="boolean"),
        "small": rng.integers(0, 5, n).astype(np.uint8),
    })
    df.loc[5, "ts"] = pd.NaT
    return df


@pytest.mark.parametrize("float_format", [None, "%.2f"])
@pytest.mark.parametrize("cols", [None, ["money", "int"], ["text", "obj"], ["noise", "money"], ["ts", "flag"]])
def test_csv_bytes_equal_pandas(cols, float_format):
    df = _frame() if cols is None else _frame()[cols]
    assert csv_bytes(df, float_format=float_format) == df.to_csv(index=False, float_format=float_format).encode()
    assert csv_bytes(df, header=False) == df.to_csv(index=False, header=False).encode()
    assert csv_bytes(df.iloc[:0]) == df.iloc[:0].to_csv(index=False).encode()
    assert csv_bytes(df.iloc[3:40]) == df.iloc[3:40].to_csv(index=False).encode()  # a slice of Arrow columns


def test_one_column_frames_are_left_to_pandas():
    df = pd.DataFrame({"a": ["x", None, ""]})
    assert csv_bytes(df) == df.to_csv(index=False).encode()


def test_float_text_equals_python():
    rng = np.random.default_rng(3)
    v = np.concatenate([np.round(rng.gamma(2, 50, 5_000) * rng.choice([-1, 1], 5_000), 2), rng.random(500),
                        [0.0, -0.0, 0.01, -0.01, 0.1, 99.9, 100.0, 123456789012.34, 1e12, 1e16, 1e-5, np.nan]])
    text = float_text(v).to_numpy(zero_copy_only=False)
    assert text.tolist() == ["" if np.isnan(x) else str(x) for x in v.tolist()]
    fixed = float_text(v, two_decimals=True).to_numpy(zero_copy_only=False)
    assert fixed.tolist() == ["" if np.isnan(x) else "%.2f" % x for x in v.tolist()]
    assert len(float_text(np.array([]))) == 0


def test_other_column_types_are_left_to_pandas():
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3, tz="Europe/London"),
                       "kind": pd.Categorical(["a", "b", "a"]), "wait": pd.to_timedelta([1, 2, 3], unit="h"),
                       "n": pd.array([1, None, 3], dtype="Int64")})
    assert csv_bytes(df) == df.to_csv(index=False).encode()
    assert csv_bytes(df[["n", "kind"]]) == df[["n", "kind"]].to_csv(index=False).encode()
    assert csv_bytes(df[["n", "n"]]) == df[["n", "n"]].to_csv(index=False).encode()
