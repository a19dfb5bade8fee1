"""Read a source (CSV, Parquet, Excel, a database table or query) as text, with clear errors.

Every reader returns a DataFrame of nullable strings (``string`` dtype): the raw layer
keeps what the source said, and parsing happens where it is validated and cleaned.
Problems with the file itself (missing, empty, undecodable, wrong delimiter, duplicate
header, ragged rows) raise :class:`~dbmlib.core.errors.InputError` naming the file, the row
and what was expected.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path

import pandas as pd

from ..core.errors import InputError

__all__ = ["SUPPORTED_SUFFIXES", "read_database", "read_table_file"]

SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".xlsx", ".xls")
_OTHER_DELIMITERS = [";", "\t", "|", ","]


def _as_text_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        out[col] = s.astype("string").str.strip().replace("", pd.NA)
    out.columns = [str(c).strip() for c in out.columns]
    return out.reset_index(drop=True)


def _check_header(header: list[str], path: Path, delimiter: str) -> None:
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


def _read_csv(path: Path, delimiter: str, encoding: str) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(path, problem="the file is empty",
                         expected="a header row naming the columns, then one row per record")
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            path, rows=[max(line - 1, 1)],
            problem=f"byte 0x{raw[exc.start]:02x} on line {line} is not valid {encoding}",
            expected=f"{encoding} text; for files saved by Excel or older systems pass "
                     "encoding='cp1252' (or 'latin-1')",
        ) from None
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    _check_header(header, path, delimiter)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                         na_values=[""], engine="c")
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            want, line, saw = (int(g) for g in m.groups())
            raise InputError(path, rows=[line - 1], problem=f"line {line} has {saw} fields",
                             expected=f"{want} fields per row, as in the header (check for an "
                                      "unquoted delimiter or a wrong delimiter)") from None
        raise InputError(path, problem=f"cannot be parsed as CSV ({exc})",
                         expected="comma-separated text with a header row") from None
    if df.empty:
        raise InputError(path, problem="the file has a header but no data rows",
                         expected="at least one data row below the header")
    return _as_text_frame(df)


def read_table_file(path, *, delimiter: str = ",", encoding: str = "utf-8", sheet_name=0) -> pd.DataFrame:
    """Read a CSV/TSV, Parquet or Excel file as a frame of strings.

    Parameters
    ----------
    path : path-like
    delimiter : str, default ","
        CSV field separator (``.tsv`` files default to a tab).
    encoding : str, default "utf-8"
        A UTF-8 byte-order mark is accepted and removed.
    sheet_name : str or int, default 0
        Excel sheet.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, problem="the file does not exist", expected="a readable file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(path, problem=f"unsupported file type {suffix!r}",
                         expected=f"one of {', '.join(SUPPORTED_SUFFIXES)}")
    if suffix == ".tsv" and delimiter == ",":
        delimiter = "\t"
    if suffix in {".csv", ".txt", ".tsv"}:
        return _read_csv(path, delimiter, encoding)
    try:
        if suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_excel(path, sheet_name=sheet_name, dtype=str)
    except Exception as exc:  # pyarrow/openpyxl raise many types for a corrupt file
        kind = "Parquet" if suffix == ".parquet" else "Excel"
        raise InputError(path, problem=f"cannot be read as {kind}: {exc}",
                         expected=f"a valid {kind} file") from None
    if df.empty:
        raise InputError(path, problem="the file has no data rows", expected="at least one row")
    _check_header([str(c) for c in df.columns], path, delimiter)
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
    except Exception as exc:
        raise InputError(label, problem=f"the query failed: {exc}",
                         expected="an existing table or a valid SELECT") from None
    if df.empty:
        raise InputError(label, problem="the query returned no rows", expected="at least one row")
    return _as_text_frame(df)


def iter_table_chunks(path, chunk_rows: int, *, delimiter: str = ",", encoding: str = "utf-8"):
    """Yield a CSV or Parquet file as text frames of at most ``chunk_rows`` rows (for files
    larger than memory: only one chunk is held at a time)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield _as_text_frame(batch.to_pandas())
    elif suffix in {".csv", ".txt", ".tsv"}:
        sep = "\t" if suffix == ".tsv" and delimiter == "," else delimiter
        for chunk in pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                                 encoding=encoding.replace("utf-8", "utf-8-sig"), chunksize=chunk_rows):
            yield chunk
    else:
        raise InputError(path, problem=f"chunked loading does not read {suffix} files",
                         expected="a CSV or Parquet file")
