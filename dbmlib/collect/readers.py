"""Read a source (CSV, Parquet, Excel, a database table or query) as text, with clear errors.

Every reader returns a DataFrame of nullable strings (``string`` dtype): the raw layer
keeps what the source said, and parsing happens where it is validated and cleaned.
Problems with the file itself (missing, empty, undecodable, wrong delimiter, duplicate
header, ragged rows) raise :class:`~dbmlib.core.errors.InputError` naming the file, the row
and what was expected.

Files may be compressed: ``transactions.csv.gz``, ``.csv.bz2``, ``.tsv.gz`` or a ``.zip``
holding exactly one data file (the member's own suffix decides its format).
"""

from __future__ import annotations

import bz2
import codecs
import csv
import datetime as dt
import gzip
import io
import logging
import re
import sqlite3
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..core.errors import InputError
from ..core.fast_text import arrow_text

__all__ = [
    "COMPRESSION_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "is_table_file",
    "read_database",
    "read_table_file",
    "table_suffix",
]

log = logging.getLogger(__name__)

#: The data formats read (the suffix that decides how a file is parsed). A file name may add
#: one of :data:`COMPRESSION_SUFFIXES` after it (``orders.csv.gz``); a bare ``.zip`` is read
#: by the suffix of the one file inside it. :func:`table_suffix` tells a name's format.
SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".xlsx", ".xls")
#: Compressions read around a data format: gzip, bzip2, and a zip holding one file.
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip")
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_EXCEL_SUFFIXES = (".xlsx", ".xls")
_OTHER_DELIMITERS = [";", "\t", "|", ","]
# UTF-32 first: the UTF-32 LE mark FF FE 00 00 starts with the UTF-16 LE mark FF FE.
# (mark, codec reading the text after the mark, codec reading it with the mark, name)
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16", "UTF-16"),
]
_UNSET = object()
_TEXT = pd.StringDtype("pyarrow")  # what the "string" dtype is: text in Arrow, missing as NA
_SUPPORTED_TEXT = (f"one of {', '.join(SUPPORTED_SUFFIXES)}, optionally compressed as .gz or "
                   ".bz2 (orders.csv.gz), or a .zip holding one such file")


def table_suffix(path) -> str | None:
    """The data format a file name says: ``".csv"`` for ``x.csv``, ``x.csv.gz``, ``x.csv.bz2``
    and ``x.csv.zip``; ``".zip"`` for a bare ``x.zip`` (the format is the suffix of the file
    inside); ``None`` for a name that is not a supported table file (``x.pdf``, ``x.gz``,
    ``x.tar.gz``). Case-insensitive; only the name is looked at."""
    name = Path(path).name.lower()
    suffix = Path(name).suffix
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    if suffix not in COMPRESSION_SUFFIXES:
        return None
    inner = Path(name[: -len(suffix)]).suffix
    if inner in SUPPORTED_SUFFIXES:
        return inner
    return ".zip" if suffix == ".zip" else None


def is_table_file(path) -> bool:
    """Whether ``path`` names a file :func:`read_table_file` reads (by its name, see
    :func:`table_suffix`); an existing folder is never a table file."""
    return table_suffix(path) is not None and not Path(path).is_dir()


#: First or last bytes of a UTF-8 cell that may be (part of) white space ``str.strip`` removes:
#: the ASCII ones and every byte of a multi-byte character.
_EDGE_BYTES = np.zeros(256, bool)
_EDGE_BYTES[[*range(0x09, 0x0E), *range(0x1C, 0x21)]] = True
_EDGE_BYTES[0x80:] = True


def _chunks(col) -> list:
    return col.chunks if isinstance(col, pa.ChunkedArray) else [col]


def _offsets(chunk):
    """Where each cell of a large_string chunk starts and ends in its data buffer."""
    offsets = np.frombuffer(chunk.buffers()[1], np.int64)[chunk.offset: chunk.offset + len(chunk) + 1]
    return offsets[:-1], offsets[1:]


def no_edge_space(col) -> bool:
    """Whether no cell of this Arrow large_string text starts or ends with a byte of white space
    (so ``str.strip`` leaves every cell as it is): a test of two bytes per cell, where
    stripping copies every cell."""
    for chunk in _chunks(col):
        start, end = _offsets(chunk)
        filled = end > start
        if not filled.any():
            continue
        data = np.frombuffer(chunk.buffers()[2], np.uint8)
        if _EDGE_BYTES[data[start[filled]]].any() or _EDGE_BYTES[data[end[filled] - 1]].any():
            return False
    return True


def _stripped_already(col) -> bool:
    """Whether stripping and emptying blank cells leaves this Arrow large_string text as it is:
    no cell is empty (missing cells are) and none has white space at an edge."""
    for chunk in _chunks(col):
        start, end = _offsets(chunk)
        empty = end == start
        if chunk.null_count:
            empty &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if empty.any():
            return False
    return no_edge_space(col)


def large_text(s: pd.Series):
    """The Arrow large_string text behind a ``string`` Series, or None."""
    arrow = arrow_text(s) if s.dtype == _TEXT else None
    return arrow if arrow is not None and pa.types.is_large_string(arrow.type) else None


def _as_text_column(s: pd.Series) -> pd.Series:
    """``s`` as text, stripped, blank cells missing."""
    arrow = large_text(s)
    if arrow is not None and _stripped_already(arrow):
        return s
    if pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.strftime("%Y-%m-%d %H:%M:%S")
    return s.astype("string").str.strip().replace("", pd.NA)


def _as_text_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        out[col] = _as_text_column(out[col])
    out.columns = [str(c).strip() for c in out.columns]
    return out.reset_index(drop=True)


def _check_header(header: list[str], path, delimiter: str) -> None:
    names = [h.strip() for h in header]
    if len(names) == 1:
        for d in _OTHER_DELIMITERS:
            if d != delimiter and d in names[0]:
                raise InputError(
                    path, problem=f"the header is a single column {names[0][:60]!r} containing {d!r}",
                    expected=f"columns separated by {delimiter!r}; this file looks {d!r}-separated: "
                             f"pass delimiter={d!r}",
                )
    blank = [i + 1 for i, h in enumerate(names) if not h]
    if blank:
        raise InputError(path, problem=f"header field(s) {blank} are blank",
                         expected="a name for every column in the header row")
    seen, dups = set(), []
    for h in names:
        if h in seen and h not in dups:
            dups.append(h)
        seen.add(h)
    if dups:
        raise InputError(path, column=dups[0], problem=f"the header names {dups} more than once",
                         expected="each column name once in the header row")


# --- opening: plain, gzip, bzip2, zip ------------------------------------------------------

def _decompress(path: Path, how: str) -> bytes:
    opener = gzip.decompress if how == ".gz" else bz2.decompress
    kind = "gzip" if how == ".gz" else "bzip2"
    try:
        return opener(path.read_bytes())
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise InputError(path, problem=f"cannot be decompressed as {kind} ({exc})",
                         expected=f"a complete {kind} file (its name ends {how})") from None


def _zip_members(archive: zipfile.ZipFile) -> list[str]:
    return [i.filename for i in archive.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/")
            and Path(i.filename).name != ".DS_Store"]


def _unzip(path: Path) -> tuple[str, str, bytes]:
    """The one data file in a zip: (label, format suffix, bytes)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = _zip_members(archive)
            if len(members) != 1:
                raise InputError(
                    path, problem=f"the zip archive holds {len(members)} files: {members}",
                    expected="exactly one data file in the archive (or unzip it and load the "
                             "files one by one)")
            member = members[0]
            suffix = Path(member).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                raise InputError(path, problem=f"the file in the zip archive, {member!r}, is of "
                                 f"unsupported type {suffix!r}",
                                 expected=f"a file inside ending {', '.join(SUPPORTED_SUFFIXES)}")
            return f"{path}::{member}", suffix, archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise InputError(path, problem=f"cannot be opened as a zip archive ({exc})",
                         expected="a valid .zip file") from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or e.g. deflate64
        raise InputError(path, problem=f"the zip archive cannot be unpacked ({exc})",
                         expected="an unencrypted zip made with standard (deflate) compression, "
                                  "or a .csv.gz") from None


def _open_source(path: Path, suffix: str):
    """(label for errors, data format suffix, the data: a Path or bytes)."""
    last = path.suffix.lower()
    if last in SUPPORTED_SUFFIXES:
        return str(path), suffix, path
    if last == ".zip":
        return _unzip(path)
    return str(path), suffix, _decompress(path, last)


# --- text: decoding and CSV ----------------------------------------------------------------

def _bom(raw: bytes):
    """(the byte-order mark, codec after it, codec with it, name), or ``None``."""
    return next((entry for entry in _BOMS if raw.startswith(entry[0])), None)


def _utf16_without_bom(raw: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when every other byte is zero (text in UTF-16)."""
    sample = raw[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 2:
        return None
    zero_even, zero_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zero_odd >= 0.4 and zero_even < 0.05:
        return "utf-16-le"
    if zero_even >= 0.4 and zero_odd < 0.05:
        return "utf-16-be"
    return None


def _decode_hint(raw: bytes, encoding: str) -> str:
    """What to do about bytes that are not valid ``encoding``."""
    utf16 = _utf16_without_bom(raw)
    if utf16:
        return (f"this looks like UTF-16 without a byte-order mark: pass encoding={utf16!r}")
    if b"\x00" not in raw:
        try:
            raw.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            return ("for files saved by Excel or older systems pass encoding='cp1252' "
                    "(or 'latin-1')")
    return (f"the file is not {encoding} text: check it is the text export you meant (not a "
            "binary file or a renamed workbook) and pass its encoding=")


def _bom_hint(bom_name: str) -> str:
    return (f"{bom_name} text throughout (the byte-order mark decides the encoding, whatever "
            f"encoding= says): re-save the file as {bom_name}, or without the byte-order mark "
            "and pass its encoding=")


def _decode(raw: bytes, label: str, encoding: str) -> str:
    """The text of ``raw``: a byte-order mark decides the codec, else ``encoding``."""
    mark, codec, _, bom_name = _bom(raw) or (b"", encoding, None, None)
    named = f"{bom_name} (the file starts with a {bom_name} byte-order mark)" if mark else encoding
    try:
        text = raw[len(mark):].decode(codec)
    except UnicodeDecodeError as exc:
        at = exc.start + len(mark)
        line = raw[:at].count(b"\n") + 1
        raise InputError(
            label, rows=[max(line - 1, 1)],
            problem=f"byte 0x{raw[at]:02x} on line {line} is not valid {named}",
            expected=_bom_hint(bom_name) if bom_name else f"{encoding} text; {_decode_hint(raw, encoding)}",
        ) from None
    if "\x00" in text and _utf16_without_bom(raw):
        raise InputError(label, problem=f"the text read as {named} is full of NUL characters",
                         expected=f"{encoding} text; {_decode_hint(raw, encoding)}")
    return text


def _parse_csv_arrow(data: bytes, n_columns: int, delimiter: str) -> pd.DataFrame | None:
    """The data rows of UTF-8 CSV bytes read by pyarrow's multi-threaded reader (ten times
    pandas' on large files), every column as text; ``None`` when pyarrow refuses the file (a
    ragged row, a stray quote …), so that pandas' reader reads it or names the problem."""
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(n_columns)]
    try:  # large_string: pandas' text, so no column is cast on the way
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.large_string()),
                                                 null_values=[""], strings_can_be_null=True))
    except (pa.ArrowInvalid, ValueError):
        return None
    return table.to_pandas(types_mapper={pa.large_string(): _TEXT}.get)


def _parse_csv(text: str, label: str, delimiter: str) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                           na_values=[""], engine="c")
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            want, line, saw = (int(g) for g in m.groups())
            raise InputError(label, rows=[line - 1], problem=f"line {line} has {saw} fields",
                             expected=f"{want} fields per row, as in the header (check for an "
                                      "unquoted delimiter or a wrong delimiter)") from None
        raise InputError(label, problem=f"cannot be parsed as CSV ({exc})",
                         expected="comma-separated text with a header row") from None


def _first_record(text: str, delimiter: str) -> list[str]:
    """The first CSV record of ``text`` (the header), read from a prefix that holds it: a
    reader over the whole text would first copy all of it."""
    size = 1 << 16
    while True:
        part = text[:size]
        buf = io.StringIO(part, newline="")
        whole = len(part) == len(text)
        try:
            row = next(csv.reader(buf, delimiter=delimiter), [])
        except csv.Error:
            if whole:
                raise
        else:
            if whole or buf.tell() < len(part):  # the record ended inside the prefix
                return row
        size *= 8


def _read_csv(raw: bytes, label: str, delimiter: str, encoding: str) -> pd.DataFrame:
    """Decode, check the header and parse CSV bytes (from a plain or decompressed file)."""
    empty = InputError(label, problem="the file is empty",
                       expected="a header row naming the columns, then one row per record")
    if not raw or raw.isspace():  # (no stripped copy of a large file)
        raise empty
    text = _decode(raw, label, encoding)
    if not text or text.isspace():
        raise empty
    header = _first_record(text, delimiter)
    _check_header(header, label, delimiter)
    df = None
    if len(delimiter) == 1 and delimiter not in "\r\n\"":
        mark, codec, _, _ = _bom(raw) or (b"", encoding, None, None)
        utf8 = codecs.lookup(codec).name == "utf-8"
        df = _parse_csv_arrow(raw[len(mark):] if utf8 else text.encode("utf-8"), len(header), delimiter)
    if df is None:
        df = _parse_csv(text, label, delimiter)
    else:
        df.columns = header
    if df.empty:
        raise InputError(label, problem="the file has a header but no data rows",
                         expected="at least one data row below the header")
    return _as_text_frame(df)


# --- Excel ---------------------------------------------------------------------------------

def _excel_cell_text(value):
    """A cell as text: whole numbers stored as floats (3.0) → "3", dates → "YYYY-MM-DD HH:MM:SS"."""
    if not isinstance(value, str) and pd.isna(value):
        return pd.NA
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _data_rows(df: pd.DataFrame) -> int:
    return int(df.notna().any(axis=1).sum())


def _sheet_list(counts: dict) -> str:
    return ", ".join(f"{name!r} ({n} data row{'' if n == 1 else 's'})" for name, n in counts.items())


def _open_workbook(source, label: str) -> pd.ExcelFile:
    try:
        return pd.ExcelFile(source if isinstance(source, Path) else io.BytesIO(source))
    except Exception as exc:  # noqa: BLE001 - openpyxl/xlrd raise many types for a corrupt file
        raise InputError(label, problem=f"cannot be read as Excel: {exc}",
                         expected="a valid Excel file") from None


def _parse_sheet(book: pd.ExcelFile, name: str, label: str) -> pd.DataFrame:
    try:
        return pd.read_excel(book, sheet_name=name, dtype=object)
    except Exception as exc:  # noqa: BLE001 - as above
        raise InputError(label, problem=f"sheet {name!r} cannot be read as Excel: {exc}",
                         expected="a valid Excel file") from None


def _named_sheet(book: pd.ExcelFile, sheet, label: str) -> str:
    names = book.sheet_names
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
        if str(sheet) in names:  # sheet: 2024 from a config file means the sheet "2024"
            return str(sheet)
    elif sheet in names:
        return sheet
    raise InputError(label, problem=f"the workbook has no sheet {sheet!r}; its sheets are {names}",
                     expected=f"sheet= one of {names} (or a 0-based sheet number), or sheet='all'")


def _stack_sheets(frames: dict, label: str) -> pd.DataFrame:
    """Every sheet's rows in workbook order; all must have the same header."""
    first, *_ = frames
    want = [str(c).strip() for c in frames[first].columns]
    for name, df in frames.items():
        got = [str(c).strip() for c in df.columns]
        if got != want:
            raise InputError(label, problem=f"sheet {name!r} has columns {got}, sheet {first!r} "
                             f"has {want}",
                             expected="the same header row on every sheet for sheet='all' (or "
                                      f"read one sheet: sheet={first!r})")
    log.info("%s: read sheets %s", label, _sheet_list({n: len(df) for n, df in frames.items()}))
    return pd.concat(list(frames.values()), ignore_index=True)


def _read_excel(source, label: str, sheet) -> pd.DataFrame:
    """The rows of one sheet (``sheet=None``: the one sheet holding data) or all sheets."""
    with _open_workbook(source, label) as book:
        if sheet is not None and not (isinstance(sheet, str) and sheet.lower() == "all"):
            name = _named_sheet(book, sheet, label)
            df = _parse_sheet(book, name, label)
            if not _data_rows(df):
                raise InputError(label, problem=f"the file has no data rows in sheet {name!r}",
                                 expected="at least one row below the header")
            return df.map(_excel_cell_text)
        frames = {name: _parse_sheet(book, name, label) for name in book.sheet_names}
    counts = {name: _data_rows(df) for name, df in frames.items()}
    with_data = {name: df for name, df in frames.items() if counts[name]}
    if not with_data:
        raise InputError(label, problem=f"the file has no data rows (sheets: {_sheet_list(counts)})",
                         expected="at least one row below the header on a sheet")
    if len(with_data) > 1 and sheet is None:
        choices = " or ".join(f"sheet={n!r}" for n in with_data)
        raise InputError(label, problem=f"{len(with_data)} sheets hold data: {_sheet_list(counts)}",
                         expected=f"one sheet named: {choices}; or sheet='all' to stack them "
                                  "(same header on each)")
    return _stack_sheets(with_data, label).map(_excel_cell_text)


# --- the public reader ---------------------------------------------------------------------

def _read_parquet(source, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(source if isinstance(source, Path) else io.BytesIO(source))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
        raise InputError(label, problem=f"cannot be read as Parquet: {exc}",
                         expected="a valid Parquet file") from None


def _resolve_sheet(sheet, sheet_name):
    if sheet_name is _UNSET:
        return sheet
    warnings.warn("read_table_file(sheet_name=...) is deprecated: pass sheet=...",
                  DeprecationWarning, stacklevel=3)
    if sheet is not None and sheet != sheet_name:
        raise TypeError(f"pass sheet= or sheet_name=, not both ({sheet!r} vs {sheet_name!r})")
    return sheet_name


def read_table_file(path, *, delimiter: str = ",", encoding: str = "utf-8", sheet=None,
                    sheet_name=_UNSET) -> pd.DataFrame:
    """Read a CSV/TSV, Parquet or Excel file, plain or compressed, as a frame of strings.

    Parameters
    ----------
    path : path-like
        ``.csv``/``.tsv``/``.txt``/``.parquet``/``.xlsx``/``.xls``, optionally compressed
        (``.csv.gz``, ``.csv.bz2``), or a ``.zip`` holding exactly one such file (the
        member's suffix decides its format); see :func:`table_suffix`.
    delimiter : str, default ","
        CSV field separator (``.tsv`` files default to a tab).
    encoding : str, default "utf-8"
        Text encoding of CSV files. A byte-order mark (UTF-8, UTF-16 or UTF-32, either byte
        order) decides the codec whatever this says.
    sheet : str, int or None, default None
        Excel sheet: ``None`` reads the one sheet holding data rows (several such sheets are
        an error listing them); a name or a 0-based number reads that sheet; ``"all"`` stacks
        every sheet holding data, in workbook order (they must share one header).
    sheet_name : str or int, optional
        Deprecated alias of ``sheet``.

    Raises
    ------
    InputError
        The file is missing, of an unsupported type, empty, undecodable or malformed; the
        message names the file, the problem and what was expected.
    """
    path = Path(path)
    sheet = _resolve_sheet(sheet, sheet_name)
    if not path.exists():
        raise InputError(path, problem="the file does not exist", expected="a readable file")
    if path.is_dir():
        raise InputError(path, problem="is a folder, not a file", expected=_SUPPORTED_TEXT)
    suffix = table_suffix(path)
    if suffix is None:
        raise InputError(path, problem=f"unsupported file type {path.suffix.lower()!r}",
                         expected=_SUPPORTED_TEXT)
    label, suffix, data = _open_source(path, suffix)
    if suffix == ".tsv" and delimiter == ",":
        delimiter = "\t"
    if suffix in _TEXT_SUFFIXES:
        raw = data.read_bytes() if isinstance(data, Path) else data
        return _read_csv(raw, label, delimiter, encoding)
    if suffix == ".parquet":
        df = _read_parquet(data, label)
        if df.empty:
            raise InputError(label, problem="the file has no data rows", expected="at least one row")
    else:
        df = _read_excel(data, label, sheet)
    _check_header([str(c) for c in df.columns], label, delimiter)
    return _as_text_frame(df)


def read_database(query_or_table: str, url: str) -> pd.DataFrame:
    """Read a table or a SQL query from a database, as text.

    ``url`` is a DuckDB file (``*.duckdb``, attached read-only), a SQLite file
    (``sqlite:///path`` or ``*.sqlite``/``*.db``, read with the standard library), or any
    SQLAlchemy URL (needs SQLAlchemy and the database's driver installed).
    """
    is_query = bool(re.match(r"^\s*(select|with)\b", query_or_table, re.IGNORECASE))
    sql = query_or_table if is_query else f'SELECT * FROM "{query_or_table}"'
    label = f"{url} [{query_or_table[:60]}]"
    try:
        if url.endswith(".duckdb"):
            import duckdb

            with duckdb.connect(url, read_only=True) as con:
                df = con.execute(sql).df()
        elif url.startswith("sqlite:///") or url.endswith((".sqlite", ".db")):
            path = url.removeprefix("sqlite:///")
            if not Path(path).exists():
                raise InputError(path, problem="the database file does not exist",
                                 expected="an existing SQLite file")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                df = pd.read_sql_query(sql, con)
        else:
            try:
                import sqlalchemy
            except ImportError:
                raise InputError(label, problem="SQLAlchemy is not installed",
                                 expected="`pip install sqlalchemy` plus the database driver") from None
            engine = sqlalchemy.create_engine(url)
            with engine.connect() as con:
                df = pd.read_sql_query(sqlalchemy.text(sql), con)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - each database driver has its own errors
        raise InputError(label, problem=f"the query failed: {exc}",
                         expected="an existing table or a valid SELECT") from None
    if df.empty:
        raise InputError(label, problem="the query returned no rows", expected="at least one row")
    return _as_text_frame(df)


def _chunk_encoding(path: Path, compression: str | None, encoding: str) -> str:
    """The codec for streaming a CSV: its byte-order mark decides, else ``encoding``."""
    opener = {"gzip": gzip.open, "bz2": bz2.open}.get(compression, open)
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
    except (OSError, EOFError) as exc:
        raise InputError(path, problem=f"cannot be read ({exc})",
                         expected="a readable (and, if compressed, complete) file") from None
    mark = _bom(head)
    return mark[2] if mark else encoding.replace("utf-8", "utf-8-sig")


def iter_table_chunks(path, chunk_rows: int, *, delimiter: str = ",", encoding: str = "utf-8"):
    """Yield a CSV or Parquet file as text frames of at most ``chunk_rows`` rows (for files
    larger than memory: only one chunk is held at a time). CSVs may be gzip or bzip2
    compressed (``.csv.gz``, ``.csv.bz2``); a byte-order mark decides the text encoding."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, problem="the file does not exist", expected="a readable file")
    suffix, last = table_suffix(path), path.suffix.lower()
    compression = {".gz": "gzip", ".bz2": "bz2"}.get(last)
    if suffix == ".parquet" and last == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield _as_text_frame(batch.to_pandas())
    elif suffix in _TEXT_SUFFIXES and (last in _TEXT_SUFFIXES or compression):
        sep = "\t" if suffix == ".tsv" and delimiter == "," else delimiter
        codec = _chunk_encoding(path, compression, encoding)
        for chunk in pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                                 encoding=codec, compression=compression, chunksize=chunk_rows):
            yield _as_text_frame(chunk)  # trimmed, blanks missing: as a whole-file read
    else:
        wrapped = last in COMPRESSION_SUFFIXES and suffix not in (None, ".zip")
        shown = f"{suffix}{last}" if wrapped else (last or path.name)
        raise InputError(path, problem=f"chunked loading does not read {shown} files",
                         expected="a CSV or Parquet file (CSV also as .csv.gz or .csv.bz2)")
