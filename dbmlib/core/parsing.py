"""Vectorised parsers for the text that raw exports contain: dates, money, flags.

Each parser returns a missing value (``NaT``/``NaN``/``<NA>``) where a cell cannot be
parsed, never a guess; validation (:mod:`dbmlib.collect.schemas`) and cleaning turn those into
named errors or reasoned rejects.

Supported date formats: ISO ``2024-01-31`` with optional ``10:15`` or ``10:15:00``
(and a ``T`` separator), compact ``20240131``, and slashed ``31/01/2024`` or
``01/31/2024`` with optional time, where the order of day and month is the explicit
``dayfirst`` argument (ambiguous dates are never guessed).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .fast_text import fullmatch, to_numbers

__all__ = [
    "DATE_FORMATS_HELP",
    "MONEY_HELP",
    "date_format_of",
    "parse_dates",
    "parse_flags",
    "parse_integers",
    "parse_money",
]

DATE_FORMATS_HELP = (
    "a date like 2024-01-31, 2024-01-31 10:15[:00], 20240131 or 31/01/2024 [10:15] "
    "(day/month order set by `dayfirst`)"
)
MONEY_HELP = (
    "a number like 1234.50, -12, 1,234.50, £1,234.50, $12, €12 or 12.00 GBP/USD/EUR"
)

# layouts as whole-cell patterns (they exclude each other, so each cell has at most one)
_ISO = [
    ("%Y-%m-%d %H:%M:%S", r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}"),
    ("%Y-%m-%d %H:%M", r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"),
    ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
    ("%Y%m%d", r"\d{8}"),
]
_SLASHED = [
    ("%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", r"\d{1,2}/\d{1,2}/\d{4} \d{2}:\d{2}:\d{2}"),
    ("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", r"\d{1,2}/\d{1,2}/\d{4} \d{2}:\d{2}"),
    ("%d/%m/%Y", "%m/%d/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
]


def _as_text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip()


def date_format_of(s: pd.Series) -> pd.Series:
    """Name of the recognised layout of each cell: ``iso``, ``compact``, ``slashed`` or NA."""
    text = _as_text(s)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[fullmatch(text, r"\d{4}-\d{2}-\d{2}.*")] = "iso"
    out[fullmatch(text, r"\d{8}")] = "compact"
    out[fullmatch(text, r"\d{1,2}/\d{1,2}/\d{4}.*")] = "slashed"
    return out


def parse_dates(s: pd.Series, *, dayfirst: bool = True) -> pd.Series:
    """Parse text dates in any supported format to ``datetime64[us]``.

    Parameters
    ----------
    s : Series of str
    dayfirst : bool, default True
        How to read slashed dates: ``True`` reads ``03/04/2024`` as 3 April,
        ``False`` as 4 March. ISO and compact dates are unaffected.

    Returns
    -------
    Series of datetime64, ``NaT`` where the cell is empty or not a valid date in a
    supported format (e.g. 31/02/2024 or 2024-13-01).
    """
    text = _as_text(s).str.replace("T", " ", regex=False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    for fmt, pattern in _ISO:
        m = fullmatch(text, pattern)
        if m.any():
            out[m] = pd.to_datetime(text[m], format=fmt, errors="coerce").astype("datetime64[us]")
    for dmy, mdy, pattern in _SLASHED:
        m = fullmatch(text, pattern)
        if m.any():
            fmt = dmy if dayfirst else mdy
            out[m] = pd.to_datetime(text[m], format=fmt, errors="coerce").astype("datetime64[us]")
    return out


_CURRENCY = re.compile(r"^(?P<neg1>-)?\s*(?P<sym>[£$€])?\s*(?P<neg2>-)?\s*(?P<num>[\d.,]+)\s*"
                       r"(?P<code>GBP|USD|EUR)?$", re.IGNORECASE)


def parse_money(s: pd.Series, *, decimal: str = ".") -> pd.Series:
    """Parse amounts written as text to float.

    Accepts an optional leading minus or parentheses, one of the currency symbols
    ``£ $ €`` or a trailing ISO code ``GBP USD EUR``, and thousands separators
    (``,`` when ``decimal="."``; ``.`` or a space when ``decimal=","``). Anything else
    (an unknown currency, letters, two decimal marks) gives ``NaN``.
    """
    if decimal not in {".", ","}:
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    text = _as_text(s)
    # plain numbers (most cells of a clean export) convert in one vectorised step
    plain = fullmatch(text, rf"-?\d+({re.escape(decimal)}\d+)?")
    value = pd.Series(np.nan, index=s.index, dtype="float64")
    if plain.any():
        digits = text[plain] if decimal == "." else text[plain].str.replace(",", ".", regex=False)
        value[plain] = to_numbers(digits, "float64")
    if (~plain).any():
        value[~plain] = _parse_money_text(text[~plain], decimal)
    return value


def _parse_money_text(text: pd.Series, decimal: str) -> pd.Series:
    """The full grammar of :func:`parse_money` (symbols, codes, parentheses, separators)."""
    neg_paren = text.str.match(r"^\(.*\)$", na=False)
    text = text.mask(neg_paren, text.str.slice(1, -1))
    parts = text.str.extract(_CURRENCY)
    num = parts["num"].astype("string")
    thousands = "," if decimal == "." else "."
    # a thousands separator must group by three digits; the decimal mark appears once
    ok = num.str.fullmatch(
        rf"\d{{1,3}}(\{thousands}\d{{3}})*(\{decimal}\d+)?|\d+(\{decimal}\d+)?", na=False
    )
    clean = num.str.replace(thousands, "", regex=False)
    if decimal == ",":
        clean = clean.str.replace(",", ".", regex=False)
    value = pd.to_numeric(clean.where(ok), errors="coerce").astype("float64")
    negative = parts["neg1"].notna() | parts["neg2"].notna() | neg_paren
    value = value.where(~negative.to_numpy(), -value)
    return value.astype("float64")


_TRUE = {"y", "yes", "true", "t", "1", "1.0"}
_FALSE = {"n", "no", "false", "f", "0", "0.0"}


def parse_flags(s: pd.Series) -> pd.Series:
    """Parse yes/no flags (Y/N, yes/no, true/false, 1/0; any case) to nullable boolean."""
    text = _as_text(s).str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).astype(bool)] = True
    out[text.isin(_FALSE).fillna(False).astype(bool)] = False
    return out


def parse_integers(s: pd.Series) -> pd.Series:
    """Parse whole numbers (``3``, ``-1``, ``3.0``) to nullable Int64; others NA."""
    text = _as_text(s)
    # plain digit strings (nearly every cell) convert in one vectorised step
    plain = fullmatch(text, r"-?\d{1,15}")
    out = pd.Series(pd.NA, index=s.index, dtype="Int64")
    if plain.any():
        out[plain] = to_numbers(text[plain], "int64")
    if (~plain).any():
        value = pd.to_numeric(text[~plain], errors="coerce")
        whole = value.notna() & np.isfinite(value) & (value == np.round(value))
        whole &= value.abs() < 2**53
        out[~plain] = value.where(whole).astype("Int64")
    return out
