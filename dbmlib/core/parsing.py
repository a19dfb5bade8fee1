"""Vectorised parsers for the text that raw exports contain: dates, money, flags.

Each parser returns a missing value (``NaT``/``NaN``/``<NA>``) where a cell cannot be
parsed, never a guess; validation (:mod:`dbmlib.collect.schemas`) and cleaning turn those into
named errors or reasoned rejects.

Supported date layouts (:data:`DATE_FORMATS_HELP`):

* ISO ``2024-01-31`` with an optional time ``10:15``, ``8:05`` or ``10:15:00[.123]``, a space or
  ``T`` separator, and an optional UTC offset (``Z``, ``+02:00``); times with an offset are
  converted to **UTC** and stored without zone (the workbench's one time zone);
* compact ``20240131``;
* day and month as numbers, ``31/01/2024``, ``1/31/24 8:26``, ``31.01.2024``, ``31-01-24``: one- or
  two-digit day, month and hour, a four- or two-digit year (two-digit years pivot like
  ``strftime``'s ``%y``: 69–99 are 1969–1999, 00–68 are 2000–2068), optional ``:ss``. Which
  field is the day is the explicit ``dayfirst`` argument — never guessed here; collection
  infers it per file only where the file decides it (:func:`date_order_evidence`).

Any other layout is read with an explicit ``date_format`` (``strftime`` codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .fast_text import arrow_text, factorize, fullmatch, to_numbers

__all__ = [
    "DATE_FORMATS_HELP",
    "DateOrder",
    "by_distinct",
    "date_order_evidence",
    "MONEY_HELP",
    "date_format_of",
    "parse_dates",
    "parse_flags",
    "parse_integers",
    "parse_money",
]

DATE_FORMATS_HELP = (
    "a date like 2024-01-31, 2024-01-31T10:15[:00][+01:00], 20240131, 31/01/2024, 1/31/24 8:26 "
    "or 31.01.2024 [10:15[:00]] (day/month order from the file or `dayfirst`; any other layout "
    "with `date_format`, e.g. '%d %b %Y')"
)
MONEY_HELP = (
    "a number like 1234.50, -12, 1,234.50, £1,234.50, $12, €12 or 12.00 GBP/USD/EUR"
)

# fast exact layouts (most cells of a machine-written export), then the lenient grammars
_ISO = [
    ("%Y-%m-%d %H:%M:%S", r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}"),
    ("%Y-%m-%d %H:%M", r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"),
    ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
    ("%Y%m%d", r"\d{8}"),
]
_ISO_LENIENT = (r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
                r"\s?(Z|[+-]\d{2}:?\d{2})?")
_NUMERIC = re.compile(r"^(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
                      r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$")
_NUMERIC_RE2_GROUPS = (r"^(?P<a>\d{1,2})(?P<s1>[/.-])(?P<b>\d{1,2})(?P<s2>[/.-])(?P<y>\d{4}|\d{2})"
                       r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$")
_NUMERIC_RE2 = (r"\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})([ T]\d{1,2}:\d{2}(:\d{2})?)?")


def _as_text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip()


def date_format_of(s: pd.Series) -> pd.Series:
    """Name of the recognised layout of each cell: ``iso``, ``compact``, ``slashed`` (day and
    month as numbers, any of ``/ . -``) or NA."""
    text = _as_text(s)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[fullmatch(text, _ISO_LENIENT)] = "iso"
    out[fullmatch(text, r"\d{8}")] = "compact"
    out[fullmatch(text, _NUMERIC_RE2)] = "slashed"
    return out


def _numeric_parts(text: pd.Series) -> pd.DataFrame:
    """``text.str.extract(_NUMERIC)`` (fields ``a``, ``sep``, ``b``, ``y``, ``H``, ``M``, ``S``
    as text, NA where absent), through Arrow's regex kernel on Arrow text: pandas runs Python's
    ``re`` cell by cell, seconds on the million distinct timestamps of a large export. RE2 has
    no back-references, so both separators are captured and must agree."""
    arrow = arrow_text(text)
    if arrow is None:
        return text.str.extract(_NUMERIC)
    parts = pc.extract_regex(arrow, _NUMERIC_RE2_GROUPS)
    same = pc.fill_null(pc.equal(pc.struct_field(parts, "s1"), pc.struct_field(parts, "s2")), False)
    out = {}
    for name, field in (("a", "a"), ("sep", "s1"), ("b", "b"), ("y", "y"), ("H", "H"), ("M", "M"), ("S", "S")):
        value = pc.struct_field(parts, field)
        value = pc.if_else(pc.and_(same, pc.not_equal(value, "")), value, pa.scalar(None, value.type))
        out[name] = pd.Series(pd.arrays.ArrowStringArray(value.cast(pa.large_string())), index=text.index)
    return pd.DataFrame(out, index=text.index)


def _numeric_fields(text: pd.Series) -> pd.DataFrame:
    """The numeric fields of day/month cells (``a``, ``b``, year, hour, minute, second) as
    numbers; NaN where a cell is not in that layout."""
    parts = _numeric_parts(text)
    out = pd.DataFrame(index=text.index)
    for col in ("a", "b", "y", "H", "M", "S"):
        out[col] = pd.to_numeric(parts[col], errors="coerce")
    two_digit = parts["y"].str.len() == 2
    out.loc[two_digit.fillna(False).to_numpy(bool), "y"] += np.where(
        out.loc[two_digit.fillna(False).to_numpy(bool), "y"] >= 69, 1900, 2000)
    return out


def _from_numeric(text: pd.Series, dayfirst: bool) -> pd.Series:
    parts = _numeric_parts(text)
    day, month = (parts["a"], parts["b"]) if dayfirst else (parts["b"], parts["a"])
    year = parts["y"].where(parts["y"].str.len() == 4,
                            np.where(pd.to_numeric(parts["y"], errors="coerce").ge(69).fillna(False).to_numpy(bool), "19", "20")
                            + parts["y"])  # NA (separators that differ: 1/2-2024) stays NA
    iso = (year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + " "
           + parts["H"].fillna("0").str.zfill(2) + ":" + parts["M"].fillna("00") + ":"
           + parts["S"].fillna("00"))
    return pd.to_datetime(iso, format="%Y-%m-%d %H:%M:%S", errors="coerce").astype("datetime64[us]")


def by_distinct(s: pd.Series, parse, *, min_rows: int = 50_000, distinct: bool = False) -> pd.Series:
    """``parse(s)`` computed on the distinct values of ``s`` only and spread back: an export
    repeats its dates and prices (every line of an invoice has the same timestamp), so a
    large column has far fewer distinct values than cells. Same result as ``parse(s)``.
    ``distinct``: the caller knows the values are distinct already (nothing to look for)."""
    if distinct or len(s) < min_rows:
        return parse(s)
    codes, uniques = factorize(s, sort=False)  # remembered: the load's checks and its reading look at the same cells
    if len(uniques) > len(s) // 2:
        return parse(s)
    parsed = parse(pd.Series(uniques, dtype=s.dtype))
    missing = np.array([np.datetime64("NaT")], dtype=parsed.dtype) if parsed.dtype.kind == "M" else [np.nan]
    values = np.concatenate([parsed.to_numpy(), np.asarray(missing, dtype=parsed.dtype)])
    return pd.Series(values[codes], index=s.index, dtype=parsed.dtype)  # code −1 reads the missing value


def parse_dates(s: pd.Series, *, dayfirst: bool | None = True, date_format: str | None = None,
                distinct: bool = False) -> pd.Series:
    """Parse text dates in any supported layout to ``datetime64[us]`` (UTC where a cell has
    an offset).

    Parameters
    ----------
    s : Series of str
    dayfirst : bool or None, default True
        How to read day/month cells: ``True`` reads ``03/04/2024`` as 3 April, ``False`` as
        4 March; ``None`` reads none of them (they give ``NaT``). ISO and compact dates are
        unaffected.
    date_format : str, optional
        An explicit ``strftime`` layout (e.g. ``"%d %b %Y %H:%M"``); when given, every cell
        is read with it and only with it.
    distinct : bool, default False
        The cells are distinct already (e.g. a ``SELECT DISTINCT``): they are parsed as they
        are, without first looking for repeated values.

    Returns
    -------
    Series of datetime64, ``NaT`` where the cell is empty or not a valid date in a
    supported layout (e.g. 31/02/2024 or 2024-13-01).
    """
    return by_distinct(s, lambda v: _parse_dates(v, dayfirst, date_format), distinct=distinct)


def _parse_dates(s: pd.Series, dayfirst: bool | None, date_format: str | None) -> pd.Series:
    text = _as_text(s)
    if date_format:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce", utc="%z" in date_format)
        return _naive_utc(parsed)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    done = np.zeros(len(s), bool)
    for fmt, pattern in _ISO:
        m = fullmatch(text, pattern)
        if m.any():
            out[m] = pd.to_datetime(text[m].str.replace("T", " ", regex=False), format=fmt,
                                    errors="coerce").astype("datetime64[us]")
            done |= m
    lenient = ~done & fullmatch(text, _ISO_LENIENT)
    if lenient.any():
        out[lenient] = _naive_utc(pd.to_datetime(text[lenient], format="ISO8601", utc=True,
                                                 errors="coerce"))
    numeric = ~done & ~lenient & fullmatch(text, _NUMERIC_RE2)
    if numeric.any() and dayfirst is not None:
        out[numeric] = _from_numeric(text[numeric], bool(dayfirst))
    return out


def _naive_utc(parsed: pd.Series) -> pd.Series:
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[us]")


@dataclass(frozen=True)
class DateOrder:
    """What a set of day/month cells says about their order.

    ``first_over_12``/``second_over_12``: cells whose first/second field is above 12 (so it
    must be the day); ``examples``: one such cell of each kind and one undecidable cell.
    ``dayfirst`` is the decision (``None`` when undecided or contradictory)."""

    cells: int
    first_over_12: int
    second_over_12: int
    examples: tuple

    @property
    def dayfirst(self) -> bool | None:
        if self.first_over_12 and not self.second_over_12:
            return True
        if self.second_over_12 and not self.first_over_12:
            return False
        return None

    @property
    def contradictory(self) -> bool:
        return bool(self.first_over_12 and self.second_over_12)

    def describe(self) -> str:
        """The evidence in words, for the load log."""
        if not self.cells:
            return "no day/month dates"
        if self.dayfirst is True:
            return f"day first: {self.first_over_12:,} of {self.cells:,} cells have a first field above 12 (e.g. {self.examples[0]!r})"
        if self.dayfirst is False:
            return f"month first: {self.second_over_12:,} of {self.cells:,} cells have a second field above 12 (e.g. {self.examples[1]!r})"
        if self.contradictory:
            return (f"contradictory: {self.first_over_12:,} cells read day first (e.g. {self.examples[0]!r}) "
                    f"and {self.second_over_12:,} month first (e.g. {self.examples[1]!r})")
        return f"undecidable: no field above 12 in {self.cells:,} cells (e.g. {self.examples[2]!r})"


def date_order_evidence(columns) -> DateOrder:
    """Count, over one or more text Series, the day/month cells whose first or second field
    can only be a day (above 12): the evidence a file gives about its day/month order."""
    cells = first = second = 0
    examples = [None, None, None]
    for s in columns:
        # distinct cells and how often each occurs, trimmed after counting (the column's codes are remembered)
        codes, uniques = factorize(s.astype("string"), sort=False)
        counts = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)))
        counts = counts.groupby(_as_text(pd.Series(uniques, dtype="string")).to_numpy(object), sort=False).sum()
        text = pd.Series(counts.index, dtype="string")
        m = fullmatch(text, _NUMERIC_RE2)
        if not m.any():
            continue
        f = _numeric_fields(text[m])
        weight = counts.to_numpy()[m]
        a_big, b_big = (f["a"] > 12).to_numpy(), (f["b"] > 12).to_numpy()
        cells += int(weight.sum())
        first, second = first + int(weight[a_big].sum()), second + int(weight[b_big].sum())
        vals = text[m].to_numpy(object)
        for k, hit in enumerate((a_big, b_big, ~a_big & ~b_big)):
            if examples[k] is None and hit.any():
                examples[k] = str(min(vals[hit]))
    return DateOrder(cells, first, second, tuple(examples))


_CURRENCY = re.compile(r"^(?P<neg1>-)?\s*(?P<sym>[£$€])?\s*(?P<neg2>-)?\s*(?P<num>[\d.,]+)\s*"
                       r"(?P<code>GBP|USD|EUR)?$", re.IGNORECASE)


def parse_money(s: pd.Series, *, decimal: str = ".", distinct: bool = False) -> pd.Series:
    """Parse amounts written as text to float.

    Accepts an optional leading minus or parentheses, one of the currency symbols
    ``£ $ €`` or a trailing ISO code ``GBP USD EUR``, and thousands separators
    (``,`` when ``decimal="."``; ``.`` or a space when ``decimal=","``). Anything else
    (an unknown currency, letters, two decimal marks) gives ``NaN``.
    """
    if decimal not in {".", ","}:
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    return by_distinct(s, lambda v: _parse_money(v, decimal), distinct=distinct)


def _parse_money(s: pd.Series, decimal: str) -> pd.Series:
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
