"""Fast tests on text columns through Arrow compute kernels.

pandas 3 stores text as Arrow strings, but some of its string methods pay a large overhead
around the Arrow kernels: ``Series.isin`` builds a Python object per value of the set (two
seconds for three million ids against a million) and ``str.fullmatch`` takes ten times
Arrow's ``match_substring_regex``. On the tens of millions of cells of a large export these
are the cost of collection and cleaning, so the hot paths call the kernels directly.
Results equal pandas' (tested); missing values never match.

Writing is the other way round: :func:`csv_bytes` gives the bytes ``DataFrame.to_csv(index=False)``
writes, built column by column with Arrow's kernels (pandas' writer passes every cell through
Python's ``csv`` module: a minute for the ten million rows of a large export).
"""

from __future__ import annotations

import csv
import io
import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SPACE", "arrow_text", "csv_bytes", "factorize", "float_text", "fullmatch", "isin", "lookup", "positions",
           "to_numbers"]

#: The characters Python's ``re`` matches with ``\s`` in text, for a character class: ``f"[{SPACE}]+"``
#: means ``\s+`` to Arrow's RE2 too (whose own ``\s`` is ASCII-only, so pandas runs any pattern
#: with ``\s`` through Python's ``re``, a cell at a time).
SPACE = "".join(chr(c) for c in (*range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                                 0x2028, 0x2029, 0x202F, 0x205F, 0x3000))


def arrow_text(values: pd.Series):
    """The Arrow array behind a text Series (zero-copy), or None if it is not Arrow text."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pa.array(values.array)
    return None


def _value_set(items: pd.Series, arrow_type) -> pa.Array:
    """``items`` (text, in order) as an Arrow array of ``arrow_type``: the set of a kernel
    (Arrow text is taken as it is, without a Python object per value)."""
    text = items.astype("string")
    arrow = arrow_text(text)
    return arrow.cast(arrow_type) if arrow is not None else pa.array(text.to_numpy(object), type=arrow_type)


def isin(values: pd.Series, allowed) -> np.ndarray:
    """Boolean array: which of ``values`` are in ``allowed`` (missing values never are);
    ``allowed`` may be an Arrow text array (e.g. keys read from DuckDB), used as it is."""
    arrow = arrow_text(values)
    if isinstance(allowed, pa.Array | pa.ChunkedArray):
        value_set = allowed.cast(arrow.type) if arrow is not None else None
        allowed = allowed.to_pandas() if arrow is None else allowed
    else:
        allowed = pd.Series(list(allowed) if not isinstance(allowed, (pd.Series, pd.Index, np.ndarray)) else allowed)
        value_set = _value_set(allowed.dropna(), arrow.type) if arrow is not None else None
    if arrow is None:
        return values.isin(allowed).fillna(False).to_numpy(bool)
    hit = pc.is_in(arrow, value_set=value_set, skip_nulls=True)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool)


def fullmatch(values: pd.Series, pattern: str) -> np.ndarray:
    """Boolean array: which values match the regular expression ``pattern`` entirely
    (RE2 syntax on Arrow text, Python's ``re`` otherwise; the patterns used here mean the
    same in both)."""
    arrow = arrow_text(values)
    if arrow is None:
        return values.astype("string").str.fullmatch(pattern).fillna(False).to_numpy(bool)
    hit = pc.match_substring_regex(arrow, f"^(?:{pattern})$")
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool)


def positions(values: pd.Series, keys) -> np.ndarray:
    """Position of each value among ``keys`` (unique), −1 where absent or missing: the hash
    lookup behind :func:`lookup`, for mapping to numbers too."""
    keys = pd.Series(keys)
    if keys.duplicated().any():
        raise ValueError("lookup keys must be unique")
    arrow = arrow_text(values)
    if arrow is None:
        return pd.Index(keys).get_indexer(values)
    position = pc.index_in(arrow, value_set=_value_set(keys, arrow.type))
    return pc.fill_null(position, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def lookup(values: pd.Series, keys, targets) -> pd.Series:
    """``values`` mapped through the pairs ``keys → targets`` (like ``values.map(dict(zip(keys,
    targets)))``; missing where a value has no key), with Arrow's hash lookup: pandas' map
    over ten million text values against a million keys takes twenty seconds."""
    pos = positions(values, keys)
    targets = np.append(np.asarray(targets, dtype=object), None)  # position −1 reads the None
    out = pd.Series(targets[pos], index=values.index, name=values.name).where(pos >= 0)
    return out.astype(values.dtype) if arrow_text(values) is not None else out


#: The factorizations :func:`factorize` remembers: id of the Arrow text → (a weak reference to
#: it, sort, codes, uniques); an entry leaves with its text.
_FACTORIZED: dict[tuple[int, bool], tuple] = {}


def factorize(values: pd.Series, *, sort: bool = True) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(values, sort=sort)`` — codes (−1 for missing) and the distinct values —
    remembered for the Arrow text behind ``values`` while that text lives.

    A stage factorizes the same ten million customer ids of its order table in one step after
    another (the calibration summary, the tracking plot, the RFM summary, the model features),
    two seconds each. Arrow arrays are immutable and pandas replaces, never edits, the one
    behind a column, so the same array means the same ids; the codes come back read-only, so
    no caller can change what the next one gets. Other input is factorized every time."""
    if not (isinstance(values, pd.Series) and arrow_text(values) is not None):
        return pd.factorize(values, sort=sort)
    arrow = values.array.__arrow_array__()
    key = (id(arrow), sort)
    hit = _FACTORIZED.get(key)
    if hit is not None and hit[0]() is arrow:
        return hit[2], hit[3]
    codes, uniques = pd.factorize(values, sort=sort)
    codes.flags.writeable = False
    _FACTORIZED[key] = (weakref.ref(arrow, lambda _, k=key: _FACTORIZED.pop(k, None)), sort, codes, uniques)
    return codes, uniques


def to_numbers(values: pd.Series, dtype: str = "float64") -> np.ndarray:
    """Numbers from text cells already known to be plain numbers (e.g. by :func:`fullmatch`):
    Arrow's cast, forty times ``pd.to_numeric`` on Arrow text. ``dtype`` "int64" or "float64"."""
    arrow = arrow_text(values)
    if arrow is None:
        return pd.to_numeric(values).to_numpy(dtype)
    return pc.cast(arrow, pa.int64() if dtype == "int64" else pa.float64()).to_numpy(zero_copy_only=False)


_STR = pa.large_string()


#: The fraction of a whole-cent amount as ``repr`` writes it (``.0``, ``.5``, ``.05``) and as ``%.2f`` does.
_REPR_CENTS = pa.array(["0" if c == 0 else str(c // 10) if c % 10 == 0 else f"{c:02d}" for c in range(100)], _STR)
_FIXED_CENTS = pa.array([f"{c:02d}" for c in range(100)], _STR)


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, _STR)


def float_text(values, two_decimals: bool = False) -> pa.Array:
    """Floats as text, vectorised: ``repr(v)`` (numpy's ``astype(str)``: what ``to_csv`` writes)
    or ``"%.2f" % v`` (``two_decimals``); missing values as ``""``. Each result equals Python's
    own formatting (tested): whole-cent values (the double nearest to ``k / 100``, as
    ``np.round(v, 2)`` gives) are built from their integer cents, other values between 1e-4 and
    1e9 by Arrow's shortest round-trip formatting (the same digits; it writes other magnitudes
    differently), and the rest by numpy or Python."""
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        k = np.rint(v * 100)
        exact = np.isfinite(v) & (np.abs(v) < 1e13) & (k / 100 == v)
        size = np.abs(v)
    shortest = ~exact & (not two_decimals) & (size >= 1e-4) & (size < 1e9) & (v != np.trunc(v))
    text = None
    if exact.any():
        cents = np.abs(np.where(exact, k, 0)).astype(np.int64)
        sign = pa.array(["", "-"], _STR).take(pa.array(np.signbit(v).astype(np.int8)))
        whole = pc.cast(pa.array(cents // 100), _STR)
        frac = (_FIXED_CENTS if two_decimals else _REPR_CENTS).take(pa.array(cents % 100))
        text = pc.binary_join_element_wise(sign, whole, _lit("."), frac, _lit(""))
    if shortest.any():
        arrow = pc.cast(pa.array(v), _STR)
        text = arrow if text is None else pc.if_else(pa.array(shortest), arrow, text)
    odd = np.flatnonzero(~exact & ~shortest)
    if odd.size == 0:
        return text if text is not None else pa.array([], _STR)
    out = np.empty(len(v), dtype=object) if text is None else text.to_numpy(zero_copy_only=False).astype(object)
    rest = v[odd]
    out[odd] = np.where(np.isnan(rest), "",
                        np.array(["%.2f" % x for x in rest] if two_decimals else rest.astype(str), dtype=object))
    return pa.array(out, _STR)


def _has_special(col: pa.Array) -> bool:
    """Whether any cell of a text column holds a comma, a double quote or a newline (a scan of
    its bytes: the exact test runs only on the columns that do)."""
    data = col.buffers()[2]
    if data is None:
        return False
    b = np.frombuffer(data, np.uint8)
    return bool(((b == 44) | (b == 34) | (b == 10)).any())


def _kernel_writes(dtype) -> bool:
    """Whether :func:`csv_bytes` writes a column of this type itself (else pandas does)."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "fiubMO"
    return isinstance(dtype, (pd.StringDtype, pd.BooleanDtype)) or pd.api.types.is_integer_dtype(dtype)


def _csv_column(values: pd.Series, float_format: str | None) -> pa.Array:
    """One column as ``to_csv`` writes its cells (before quoting): text, missing as ``""``."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M":  # the column's resolution decides the format
        return pa.array(values.array._format_native_types(na_rep=""), _STR)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        if float_format not in (None, "%.2f"):
            raise ValueError(f"float_format must be None or '%.2f', got {float_format!r}")
        return float_text(values.to_numpy(), two_decimals=float_format == "%.2f")
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pc.cast(pa.array(values.to_numpy()), _STR)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return pa.array(["False", "True"], _STR).take(pa.array(values.to_numpy().view(np.int8)))
    arrow = arrow_text(values)
    if arrow is not None:
        return pc.fill_null(pc.cast(arrow, _STR), _lit(""))
    if dtype == object:
        try:
            return pc.fill_null(pa.array(values.to_numpy(), _STR, from_pandas=True), _lit(""))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            pass  # not text only: Python's str of each cell, as the csv module writes it
    cells = np.asarray(values.astype(object))
    miss = pd.isna(values).to_numpy()
    return pa.array(["" if m else str(c) for c, m in zip(cells, miss)], _STR)


def csv_bytes(frame: pd.DataFrame, header: bool = True, float_format: str | None = None) -> bytes:
    """The bytes of ``frame.to_csv(index=False, header=header, float_format=float_format)``
    (``float_format`` None or ``"%.2f"``; lines end in ``\\n``), built with Arrow's kernels.

    Cells are written as pandas writes them: numbers as ``str`` (floats as their shortest
    ``repr``), booleans ``True``/``False``, timestamps in the column's own resolution, missing
    values empty; a cell holding a comma, a double quote or a newline is quoted, its quotes
    doubled (the ``csv`` module's minimal quoting). Equal to pandas' output byte for byte
    (tested); a frame of one column (whose empty cells pandas quotes), or with a column of another
    type (time zones, periods, categories, durations), is written by pandas."""
    if frame.shape[1] < 2 or not all(_kernel_writes(dtype) for dtype in frame.dtypes):
        return frame.to_csv(index=False, header=header, float_format=float_format, lineterminator="\n").encode()
    head = b""
    if header:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([str(c) for c in frame.columns])
        head = buf.getvalue().encode()
    if len(frame) == 0:
        return head
    columns = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j]
        col = _csv_column(values, float_format)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if not pa.types.is_large_string(col.type):
            col = pc.cast(col, _STR)
        numeric = isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiubM"
        if not numeric and _has_special(col):
            special = pc.match_substring_regex(col, '[,"\n]')
            quoted = pc.binary_join_element_wise(_lit('"'), pc.replace_substring(col, '"', '""'), _lit('"'), _lit(""))
            col = pc.if_else(special, quoted, col)
        columns.append(col)
    lines = pc.binary_join_element_wise(*columns, _lit(""), _lit(","))  # a trailing "," ...
    lines = pc.binary_replace_slice(lines, -1, 2**31 - 1, "\n")  # ... becomes the line end
    offsets = np.frombuffer(lines.buffers()[1], np.int64)[lines.offset: lines.offset + len(lines) + 1]
    return head + memoryview(lines.buffers()[2])[offsets[0]: offsets[-1]].tobytes()
