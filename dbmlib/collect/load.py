"""Collection: load sources into the marketing database, validated, with lineage.

Each source (customers, transactions, campaigns, campaign contacts) is read as text,
renamed to the canonical columns with an optional mapping, validated against its declared
schema (:mod:`dbmlib.collect.schemas`, pandera), checked against the sources it refers to, and
appended to its raw-layer table (``raw_customers`` …) with lineage columns
``_source_file``, ``_source_row`` (1-based data row), ``_load_id`` and ``_loaded_at``.

* ``errors="raise"`` (default): the first problem raises one
  :class:`~dbmlib.core.errors.InputError` naming file, column, rows and what was expected;
  nothing is written.
* ``errors="quarantine"``: offending rows go to the ``rejects`` table with their rule and
  reason, the rest loads.

Loads are idempotent and atomic: a file whose bytes were loaded before is skipped, a file
at the same path with new bytes replaces its earlier rows, and every load runs in one
database transaction (a failure leaves the database as it was). Raw files are only read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import yaml

from ..core.db import insert_rows, read_arrow, registered, table_exists, transaction
from ..core.errors import InputError, format_rows
from ..core.fast_text import fullmatch, isin
from ..core.io import sha256_file
from ..core.parsing import parse_dates, parse_money
from ..core.progress import bar
from .conventions import Reading, date_columns, resolve_reading
from .readers import (
    SUPPORTED_SUFFIXES,
    is_table_file,
    iter_table_chunks,
    read_database,
    read_table_file,
    table_suffix,
)
from .schemas import SOURCE_ORDER, SOURCES, SourceSpec, build_schema

__all__ = [
    "LINEAGE_COLUMNS",
    "LoadReport",
    "MAX_REJECT_SHARE",
    "find_source_files",
    "load_feedback",
    "load_file",
    "load_file_chunked",
    "load_folder",
    "load_frame",
    "load_query",
    "load_summary",
    "raw_table_counts",
    "read_mapping",
    "reset_raw_layer",
    "validate_frame",
]

log = logging.getLogger(__name__)

LINEAGE_COLUMNS = ["_source_file", "_source_row", "_load_id", "_loaded_at"]
REJECTS_DDL = """
CREATE TABLE IF NOT EXISTS rejects (
    stage VARCHAR, source_table VARCHAR, source_file VARCHAR, source_row BIGINT,
    column_name VARCHAR, rule VARCHAR, reason VARCHAR, value VARCHAR, record VARCHAR,
    load_id VARCHAR, rejected_at TIMESTAMP
)"""
LOAD_LOG_DDL = """
CREATE TABLE IF NOT EXISTS load_log (
    load_id VARCHAR, source VARCHAR, raw_table VARCHAR, source_file VARCHAR, sha256 VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT, columns_ignored VARCHAR,
    loaded_at TIMESTAMP, reading VARCHAR
)"""
#: Share of a file's rows that may be rejected before a quarantining load stops instead.
MAX_REJECT_SHARE = 0.01
_ID_COLUMNS = {"customer_id", "order_id", "returned_order_id", "campaign_id", "product_id"}
_NUMERIC_ID = r"-?\d+\.0+"

_CHECK_TEXT = {
    "not_nullable": "a value (the column may not be empty)",
    "field_uniqueness": "a value not used by an earlier row (the column is a unique key)",
    "multiple_fields_uniqueness": "a combination of key columns not used by an earlier row",
}


@dataclass
class LoadReport:
    """What one load did; ``status`` is ``loaded``, ``replaced`` or ``unchanged``."""

    source: str
    table: str
    file: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    columns_absent: list[str] = field(default_factory=list)
    columns_ignored: list[str] = field(default_factory=list)
    load_id: str = ""
    ids_normalised: int = 0
    dates: str = ""

    def as_dict(self) -> dict:
        """The report as a plain dict (JSON-ready)."""
        return asdict(self)


def read_mapping(path) -> dict | None:
    """A column mapping file (YAML ``{source: {their_column: canonical_column}}``); ``None``
    for an empty path."""
    if not path:
        return None
    mapping = yaml.safe_load(Path(path).read_text())
    if not isinstance(mapping, dict):
        raise InputError(str(path), problem="not a mapping",
                         expected="YAML {source: {their_column: canonical_column}}")
    return mapping


def load_summary(reports: list[LoadReport]) -> pd.DataFrame:
    """One row per loaded file: table, file name, status, rows read, loaded and rejected, ids
    written like ``1.0`` read as whole numbers, how the dates were read, absent columns.

    Raises
    ------
    RuntimeError
        If any file's rows read differ from rows loaded plus rows rejected (a row lost).
    """
    table = pd.DataFrame([r.as_dict() for r in reports]).set_index("source")
    if len(table) and not (table["rows_read"] == table["rows_loaded"] + table["rows_rejected"]).all():
        raise RuntimeError("rows read must equal rows loaded + rows rejected")
    table["file"] = table["file"].map(lambda f: Path(f).name)
    return table[["table", "file", "status", "rows_read", "rows_loaded", "rows_rejected", "ids_normalised",
                  "dates", "columns_absent"]]


def _ensure_tables(con, spec: SourceSpec) -> None:
    cols = ", ".join(f'"{c}" VARCHAR' for c in spec.column_names)
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {spec.table} ({cols}, _source_file VARCHAR, "
        "_source_row BIGINT, _load_id VARCHAR, _loaded_at TIMESTAMP)"
    )
    for c in spec.column_names:  # a raw table from an earlier version lacks the newer columns
        con.execute(f'ALTER TABLE {spec.table} ADD COLUMN IF NOT EXISTS "{c}" VARCHAR')
    con.execute(REJECTS_DDL)
    con.execute(LOAD_LOG_DDL)
    con.execute("ALTER TABLE load_log ADD COLUMN IF NOT EXISTS reading VARCHAR")  # databases from before


def _derived_amount(columns: dict | None) -> tuple[dict | None, bool]:
    """A mapping may declare ``"quantity * unit_price": amount``: the amount is then computed
    from the line's quantity and unit price (any column the file calls amount is ignored)."""
    if not columns:
        return columns, False
    exprs = [k for k, v in columns.items() if v == "amount" and "*" in str(k)]
    for k in exprs:
        if sorted(p.strip() for p in str(k).split("*")) != ["quantity", "unit_price"]:
            raise InputError("column mapping", column=str(k), problem="an amount expression other than "
                             "quantity * unit_price", expected="'quantity * unit_price': amount")
    return {k: v for k, v in columns.items() if k not in exprs}, bool(exprs)


def _normalise_ids(df: pd.DataFrame, file: str) -> int:
    """Numeric ids written as floats (``1.0``: a spreadsheet's doing) become ``1``, so that
    ``1.0`` in one file and ``1`` in another name the same customer; returns the cells changed."""
    changed = 0
    for col in _ID_COLUMNS & set(df.columns):
        text = df[col].astype("string")
        hit = fullmatch(text, _NUMERIC_ID)
        if hit.any():
            df.loc[hit, col] = text[hit].str.replace(r"\.0+$", "", regex=True)
            log.info("%s: %d %s value(s) written like 1.0 read as whole numbers", file, int(hit.sum()), col)
            changed += int(hit.sum())
    return changed


def _canonical(df: pd.DataFrame, spec: SourceSpec, file: str, columns: dict | None):
    """Rename with the mapping, check required columns, add absent optional ones, normalise
    numeric ids; returns the frame, absent and ignored columns and the ids normalised."""
    columns, derive = _derived_amount(columns)
    if columns:
        unknown = [c for c in columns if c not in df.columns]
        if unknown:
            raise InputError(file, column=unknown[0], problem="the column mapping names a column "
                             "the source does not have",
                             expected=f"one of the source's columns {list(df.columns)}")
        df = df.rename(columns=columns)
    if derive:
        df = df.drop(columns=[c for c in ("amount",) if c in df.columns])
    missing = [c for c in spec.required if c not in df.columns]
    if spec.name == "transactions" and "amount" not in df.columns and not {"quantity", "unit_price"} <= set(df.columns):
        missing.append("amount")
    if missing:
        need = spec.required + (["amount (or quantity and unit_price)"] if spec.name == "transactions" else [])
        raise InputError(file, column=missing[0],
                         problem=f"required column(s) {missing} missing",
                         expected=f"columns {need} (found {list(df.columns)}); map "
                                  "other names with columns={'their_name': 'canonical_name'}")
    absent = [c for c in spec.column_names if c not in df.columns]
    ignored = [c for c in df.columns if c not in spec.column_names]
    for c in absent:  # all missing, built in Arrow (a Series of NA cells takes seconds at ten million rows)
        df[c] = pd.Series(pd.arrays.ArrowStringArray(pa.nulls(len(df), pa.large_string())), index=df.index)
    if spec.name == "transactions" and "order_id" in absent:
        # sources without order ids (e.g. CDNOW): one order per line, id from lineage
        df["order_id"] = pd.Series(np.arange(1, len(df) + 1), index=df.index).astype("string")
    df = df[spec.column_names].astype("string")
    return df, absent, ignored, _normalise_ids(df, file)


def _failures(exc: pandera.errors.SchemaErrors) -> pd.DataFrame:
    fc = exc.failure_cases.copy()
    frame_level = fc["schema_context"].eq("DataFrameSchema") & fc["index"].notna()
    fc.loc[frame_level, "column"] = fc.loc[frame_level, "check"].map(
        lambda c: "amount" if "unit_price" in str(c) else "(row)")
    fc = fc.drop_duplicates(subset=["column", "check", "index"])
    fc["expected"] = fc["check"].map(lambda c: _CHECK_TEXT.get(str(c), str(c)))
    return fc


def _known_keys(con, other: str, known: dict):
    """The key values of the referenced source ``other`` in the raw layer, as a pyarrow
    array (``None`` when that source is not loaded); kept in ``known`` across chunks."""
    if other not in known:
        table, key = SOURCES[other].table, SOURCES[other].key[0]
        loaded = table_exists(con, table) and con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        known[other] = read_arrow(con, f'SELECT DISTINCT "{key}"::VARCHAR FROM {table} WHERE "{key}" IS NOT NULL'
                                  ).column(0) if loaded else None
    return known[other]


def _reference_failures(df, spec, con, known: dict | None = None) -> pd.DataFrame:
    rows = []
    known = {} if known is None else known
    for col, other in spec.references.items():
        keys = _known_keys(con, other, known)
        if keys is None:
            continue
        bad = df[col].notna().to_numpy(bool) & ~isin(df[col], keys)
        other_spec = SOURCES[other]
        for i in np.flatnonzero(bad):
            rows.append({"column": col, "check": f"reference:{other}", "index": df.index[i],
                         "failure_case": df[col].iloc[i],
                         "expected": f"a {col} present in the {other} source ({other_spec.table})"})
    return pd.DataFrame(rows, columns=["column", "check", "index", "failure_case", "expected"])


def validate_frame(df: pd.DataFrame, spec: SourceSpec, file: str, *, con=None,
                   dayfirst: bool | None = True, decimal: str = ".",
                   date_format: str | None = None, known: dict | None = None) -> pd.DataFrame:
    """Validate a canonical text frame; return one row per (row, column) failure.

    Columns: ``row`` (1-based data row), ``column``, ``rule``, ``expected``, ``value``.
    Failures that are not tied to a row raise :class:`InputError` at once. With ``con``,
    references to other sources are checked against their raw tables; ``known`` (a dict)
    keeps those tables' keys between the chunks of one file.
    """
    schema = build_schema(spec, dayfirst=dayfirst, decimal=decimal, date_format=date_format)
    df.attrs["decimal"] = decimal
    parts = []
    try:
        schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        fc = _failures(exc)
        no_row = fc[fc["index"].isna()]
        if len(no_row):
            first = no_row.iloc[0]
            raise InputError(file, column=first["column"], problem=str(first["check"]),
                             expected="a table matching the declared schema") from None
        parts.append(fc[["column", "check", "index", "failure_case", "expected"]])
    if con is not None and spec.references:
        parts.append(_reference_failures(df, spec, con, known))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["row", "column", "rule", "expected", "value"])
    out = pd.concat(parts, ignore_index=True)
    out["row"] = out["index"].astype("int64") + 1
    out = out.rename(columns={"check": "rule", "failure_case": "value"})
    out["rule"] = out["rule"].astype(str).map(
        lambda r: "schema:" + ("format" if len(r) > 40 else r) if not r.startswith("reference")
        else r)
    return out.sort_values(["row", "column"]).reset_index(drop=True)[
        ["row", "column", "rule", "expected", "value"]]


def _likely_parameter(failures: pd.DataFrame, spec: SourceSpec, reading: Reading) -> str:
    """The parameter most likely to fix the largest group of failures, in words."""
    column, group = max(failures.groupby("column", sort=False), key=lambda kv: len(kv[1]))
    values = pd.Series(group["value"].dropna().astype("string").unique()[:200], dtype="string")
    if column in date_columns(spec) and len(values):
        if reading.date_format:
            return f"a date_format matching values like {values.iloc[0]!r} (now {reading.date_format!r})"
        for other in (True, False):
            if other != reading.dayfirst and parse_dates(values, dayfirst=other).notna().mean() > 0.5:
                return f"dayfirst={other}"
        return (f"date_format for values like {values.iloc[0]!r} (strftime codes, e.g. "
                "'%d %b %Y %H:%M')")
    kinds = {c.name: c.kind for c in spec.columns}
    if kinds.get(column, "").startswith("money") and len(values):
        other = "," if reading.decimal == "." else "."
        if parse_money(values, decimal=other).notna().mean() > 0.5:
            return f"decimal={other!r} (values like {values.iloc[0]!r})"
    if group["rule"].astype(str).str.startswith("reference").any():
        return (f"{column} values that exist in the referenced file: check the column mapping of "
                f"{column} and that the right file was exported (e.g. {values.iloc[0]!r} not found)")
    if group["rule"].astype(str).str.contains("not_nullable").any():
        return (f"a column mapping: {column} is empty in {group['row'].nunique():,} rows — is the right column mapped "
                f"to it? If these rows really have no {column} (e.g. guest orders), a max_reject_share above "
                f"their share of the file loads the rest and keeps them in rejects with their reason")
    return "the file's values fixed at the source, or errors='quarantine' with a higher max_reject_share"


def _guard(failures: pd.DataFrame, n_rows: int, spec: SourceSpec, file: str, reading: Reading,
           max_reject_share: float, n_bad: int | None = None) -> None:
    """Stop a load that would reject more than ``max_reject_share`` of a file's rows
    (``n_bad`` of them; by default the rows in ``failures``)."""
    if not len(failures) or not n_rows:
        return
    n_bad = failures["row"].nunique() if n_bad is None else n_bad
    if n_bad / n_rows <= max_reject_share:
        return
    top = (failures.groupby(["column", "expected"], sort=False)
           .agg(rows=("row", "nunique"), first=("row", "min"),
                values=("value", lambda v: list(dict.fromkeys(v.dropna().astype(str)))[:3]))
           .sort_values(["rows", "first"], ascending=[False, True]).reset_index())
    reasons = "; ".join(f"{r.column}: {r.rows:,} rows, expected {r.expected}"
                        + (f" (e.g. {r.values})" if r.values else "") for r in top.head(3).itertuples())
    first = failures[failures["column"] == top["column"].iloc[0]]
    raise InputError(file, column=top["column"].iloc[0], rows=first["row"].tolist(),
                     values=first["value"].tolist(),
                     problem=f"{n_bad:,} of {n_rows:,} rows ({n_bad / n_rows:.1%}) would be rejected, more "
                             f"than max_reject_share={max_reject_share:g}: {reasons}",
                     expected=f"most rows to load; likely fix: {_likely_parameter(failures, spec, reading)}")


def _raise_first(failures: pd.DataFrame, file: str, hint: str = "") -> None:
    groups = failures.groupby(["column", "expected"], sort=False)
    (column, expected), first = next(iter(groups))
    others = len(groups) - 1
    problem = f"{len(first)} bad value(s)" + (
        f" (and {others} other column problem(s): "
        + "; ".join(f"{c}: {format_rows(g['row'].tolist(), 3)}" for (c, _), g in list(groups)[1:4])
        + ")" if others else "")
    raise InputError(file, column=column, rows=first["row"].tolist(),
                     expected=expected + (f" (likely fix: {hint})" if hint else ""),
                     values=first["value"].tolist(), problem=problem)


def load_frame(con, source: str, df: pd.DataFrame, *, source_file: str, sha256: str | None = None,
               columns: dict | None = None, errors: str = "raise", dayfirst: bool | None = None,
               decimal: str = ".", date_format: str | None = None,
               max_reject_share: float = MAX_REJECT_SHARE) -> LoadReport:
    """Validate a frame of text and append it to the source's raw table (one transaction).

    The day/month order is inferred from the file unless ``dayfirst`` or ``date_format``
    says it (:func:`~dbmlib.collect.conventions.resolve_reading`); a quarantining load stops
    when more than ``max_reject_share`` of the rows would be rejected, naming the likely
    parameter."""
    spec = _spec(source, errors)
    _ensure_tables(con, spec)
    file = str(source_file)
    digest = sha256 or pd.util.hash_pandas_object(df, index=True).astype(str).str.cat()[:64]
    seen = _already_loaded(con, spec, digest)
    if seen:
        log.info("%s: unchanged since load %s, skipped", file, seen)
        return LoadReport(source, spec.table, file, "unchanged", load_id=seen)
    frame, absent, ignored, n_ids = _canonical(df.reset_index(drop=True), spec, file, columns)  # rows by position
    reading = resolve_reading(frame, spec, file, dayfirst=dayfirst, date_format=date_format, decimal=decimal)
    log.info("%s: dates %s", file, reading.evidence)
    failures = validate_frame(frame, spec, file, con=con, dayfirst=reading.dayfirst, decimal=decimal,
                              date_format=reading.date_format)
    if len(failures) and errors == "raise":
        _raise_first(failures, file, _likely_parameter(failures, spec, reading))
    _guard(failures, len(frame), spec, file, reading, max_reject_share)
    now = datetime.now(UTC).replace(tzinfo=None)
    load_id = f"{spec.table}:{digest[:12]}"
    rows, rejects, n_bad = _split_rows(frame, failures, spec, file, load_id, now)
    with transaction(con):
        previous = _drop_previous(con, spec, file)
        _append(con, spec, rows, rejects, file, load_id, now)
        _log_load(con, load_id, source, spec, file, digest, len(frame), len(frame) - n_bad, n_bad, ignored, now,
                  reading)
    status = "replaced" if previous else "loaded"
    log.info("%s -> %s: %d rows %s, %d rejected", file, spec.table, len(frame) - n_bad, status, n_bad)
    return LoadReport(source, spec.table, file, status, len(frame), len(frame) - n_bad, n_bad,
                      absent, ignored, load_id, n_ids, reading.evidence)


def _spec(source: str, errors: str) -> SourceSpec:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCE_ORDER}")
    if errors not in {"raise", "quarantine"}:
        raise ValueError(f"errors must be 'raise' or 'quarantine', got {errors!r}")
    return SOURCES[source]


def _already_loaded(con, spec, digest: str) -> str | None:
    """The load id of an earlier load of exactly this content, if any."""
    seen = con.execute("SELECT load_id FROM load_log WHERE raw_table = ? AND sha256 = ?",
                       [spec.table, digest]).fetchall()
    return seen[0][0] if seen else None


def _drop_previous(con, spec, file: str) -> int:
    """A new version of a file replaces its earlier rows, rejects and log entry; returns
    how many earlier loads of the file there were."""
    previous = con.execute("SELECT count(*) FROM load_log WHERE raw_table = ? AND source_file = ?",
                           [spec.table, file]).fetchall()[0][0]
    if previous:
        con.execute(f"DELETE FROM {spec.table} WHERE _source_file = ?", [file])
        con.execute("DELETE FROM rejects WHERE source_table = ? AND source_file = ? "
                    "AND stage = 'collect'", [spec.table, file])
        con.execute("DELETE FROM load_log WHERE raw_table = ? AND source_file = ?", [spec.table, file])
    return previous


def _split_rows(frame, failures, spec, file, load_id, now, offset: int = 0):
    """The frame numbered in the file (``_source_row``) with ``_ok`` marking the rows without
    failures, the rejects table and the number of bad rows; ``offset`` is the number of file
    rows before ``frame`` (chunked loads number rows in the file)."""
    bad = failures["row"].unique() - 1 if len(failures) else np.array([], dtype=int)
    ok = np.ones(len(frame), dtype=bool)
    ok[bad] = False
    rows = frame.assign(_source_row=np.arange(offset + 1, offset + len(frame) + 1), _ok=ok)
    rejects = _rejects_frame(failures, frame, spec, file, load_id, now)
    if len(rejects):
        rejects["source_row"] = rejects["source_row"] + offset
    return rows, rejects, len(bad)


def _append(con, spec, rows: pd.DataFrame, rejects: pd.DataFrame, file: str, load_id: str, now) -> None:
    """Insert the ``_ok`` rows with their lineage (filtered in SQL: no copy of the frame) and
    the rejects. The frame goes in as an Arrow table (its text columns without a copy):
    DuckDB scans that a tenth faster than the DataFrame. (Combining the CSV reader's hundreds
    of chunks first saved 0.4–1.0 s of 6–8 s at 10.4M lines and raised 01's peak from 3.2 to
    4.1 GiB: not done.)"""
    with registered(con, "_dbm_rows", pa.Table.from_pandas(rows, preserve_index=False)):
        con.execute(f"INSERT INTO {spec.table} BY NAME SELECT * EXCLUDE (_ok), ? AS _source_file, ? AS _load_id, "
                    "?::TIMESTAMP AS _loaded_at FROM _dbm_rows WHERE _ok", [file, load_id, now])
    if len(rejects):
        insert_rows(con, "rejects", rejects)


def _log_load(con, load_id, source, spec, file, digest, read, loaded, rejected, ignored, now,
              reading: Reading) -> None:
    con.execute("INSERT INTO load_log (load_id, source, raw_table, source_file, sha256, rows_read, "
                "rows_loaded, rows_rejected, columns_ignored, loaded_at, reading) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [load_id, source, spec.table, file, digest, read, loaded, rejected,
                 json.dumps(ignored), now, reading.to_json()])


def _rejects_frame(failures, frame, spec, file, load_id, now) -> pd.DataFrame:
    if not len(failures):
        return pd.DataFrame()
    records = frame.iloc[failures["row"].to_numpy() - 1]
    return pd.DataFrame({
        "stage": "collect",
        "source_table": spec.table,
        "source_file": file,
        "source_row": failures["row"].to_numpy(),
        "column_name": failures["column"].astype(str).to_numpy(),
        "rule": failures["rule"].to_numpy(),
        "reason": ("expected " + failures["expected"].astype(str)).to_numpy(),
        "value": failures["value"].astype("string").to_numpy(),
        "record": [json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()})
                   for r in records.to_dict("records")],
        "load_id": load_id,
        "rejected_at": now,
    })


_CHUNKABLE = (".csv", ".tsv", ".txt", ".parquet")


def load_file(con, source: str, path, *, columns: dict | None = None, errors: str = "raise",
              dayfirst: bool | None = None, decimal: str = ".", date_format: str | None = None,
              delimiter: str = ",", encoding: str = "utf-8", sheet=None, chunk_rows: int | None = None,
              max_reject_share: float = MAX_REJECT_SHARE) -> LoadReport:
    """Read a file and load it as ``source`` (see :func:`load_frame`).

    ``sheet`` names the Excel sheet (``"all"``: every sheet, one after the other). With
    ``chunk_rows`` a CSV or Parquet file (compressed CSV too) is read, validated and inserted
    that many rows at a time inside one transaction (:func:`load_file_chunked`)."""
    path = Path(path).resolve()
    conventions = dict(columns=columns, errors=errors, dayfirst=dayfirst, decimal=decimal,
                       date_format=date_format, max_reject_share=max_reject_share)
    last = path.suffix.lower()
    streamable = last in _CHUNKABLE or (last in {".gz", ".bz2"} and table_suffix(path) in _CHUNKABLE[:3])
    if chunk_rows and streamable:
        return load_file_chunked(con, source, path, chunk_rows=chunk_rows, delimiter=delimiter,
                                 encoding=encoding, **conventions)
    df = read_table_file(path, delimiter=delimiter, encoding=encoding, sheet=sheet)
    return load_frame(con, source, df, source_file=str(path), sha256=sha256_file(path), **conventions)


def load_file_chunked(con, source: str, path, *, chunk_rows: int = 1_000_000,
                      columns: dict | None = None, errors: str = "raise", dayfirst: bool | None = None,
                      decimal: str = ".", date_format: str | None = None, delimiter: str = ",",
                      encoding: str = "utf-8", max_reject_share: float = MAX_REJECT_SHARE) -> LoadReport:
    """Load a CSV or Parquet file ``chunk_rows`` rows at a time, never holding it whole.

    Each chunk gets the row-level checks of :func:`load_frame` (rows numbered in the file);
    the day/month order is decided on the first chunk; uniqueness of key columns is checked
    across chunks in SQL afterwards and the reject guard on the whole file; everything runs
    in one transaction, so a failure leaves the raw layer as it was.
    """
    spec = _spec(source, errors)
    _ensure_tables(con, spec)
    path = Path(path).resolve()
    file, digest = str(path), sha256_file(path)
    seen = _already_loaded(con, spec, digest)
    if seen:
        return LoadReport(source, spec.table, file, "unchanged", load_id=seen)
    now = datetime.now(UTC).replace(tzinfo=None)
    load_id = f"{spec.table}:{digest[:12]}"
    read = loaded = rejected = n_ids = 0
    absent, ignored, reading, kept, known = [], [], None, [], {}
    with transaction(con):
        previous = _drop_previous(con, spec, file)
        for chunk in iter_table_chunks(path, chunk_rows, delimiter=delimiter, encoding=encoding):
            frame, absent, ignored, n = _canonical(chunk.reset_index(drop=True), spec, file, columns)
            reading = reading or resolve_reading(frame, spec, file, dayfirst=dayfirst,
                                                 date_format=date_format, decimal=decimal)
            failures = validate_frame(frame, spec, file, con=con, dayfirst=reading.dayfirst,
                                      decimal=decimal, date_format=reading.date_format, known=known)
            if len(failures) and errors == "raise":
                _raise_first(failures.assign(row=failures["row"] + read), file,
                             _likely_parameter(failures, spec, reading))
            rows, rejects, n_bad = _split_rows(frame, failures, spec, file, load_id, now, offset=read)
            _append(con, spec, rows, rejects, file, load_id, now)
            kept.append(failures.assign(row=failures["row"] + read).head(1000))
            read, loaded, rejected, n_ids = read + len(frame), loaded + len(frame) - n_bad, rejected + n_bad, n_ids + n
        if read == 0:
            raise InputError(file, problem="the file has no data rows", expected="at least one row")
        _guard(pd.concat(kept, ignore_index=True), read, spec, file, reading, max_reject_share, rejected)
        for col in [c.name for c in spec.columns if c.unique]:
            dup = con.execute(f"SELECT _source_row FROM (SELECT _source_row, row_number() OVER "
                              f"(PARTITION BY {col} ORDER BY _source_row) AS k FROM {spec.table} "
                              f"WHERE _source_file = ?) WHERE k > 1 ORDER BY 1 LIMIT 5", [file]).fetchall()
            if dup:
                raise InputError(file, column=col, rows=[r[0] for r in dup],
                                 problem="duplicate values across the file",
                                 expected=f"each {col} once")
        _log_load(con, load_id, source, spec, file, digest, read, loaded, rejected, ignored, now, reading)
    return LoadReport(source, spec.table, file, "replaced" if previous else "loaded", read, loaded,
                      rejected, absent, ignored, load_id, n_ids, reading.evidence)


def load_query(con, source: str, query_or_table: str, url: str, **kwargs) -> LoadReport:
    """Load a table or query from another database as ``source``."""
    df = read_database(query_or_table, url)
    return load_frame(con, source, df, source_file=f"{url}::{query_or_table}", **kwargs)


def find_source_files(folder) -> dict[str, Path]:
    """The source files in a folder: ``customers.csv``, ``transactions.parquet``,
    ``transactions.csv.gz``, ``transactions.xlsx`` …"""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, problem="the source folder does not exist",
                         expected="a folder with transactions.csv (and optionally customers, "
                                  "campaigns, campaign_contacts)")
    found = {}
    for name in SOURCE_ORDER:
        hits = [p for p in sorted(folder.glob(f"{name}.*")) if is_table_file(p)]
        if len(hits) > 1:
            raise InputError(folder, problem=f"several files for source {name!r}: "
                             f"{[h.name for h in hits]}", expected="one file per source")
        if hits:
            found[name] = hits[0]
    if "transactions" not in found:
        raise InputError(folder, problem="no transactions file",
                         expected=f"transactions with one of {', '.join(SUPPORTED_SUFFIXES)}, "
                                  "optionally compressed (.gz, .bz2, .zip)")
    return found


def load_folder(con, folder, *, mapping: dict | None = None, errors: str = "raise",
                dayfirst: bool | None = None, decimal: str = ".", date_format: str | None = None,
                delimiter: str = ",", encoding: str = "utf-8", sheet=None, progress: bool = False,
                chunk_rows: int | None = None, max_reject_share: float = MAX_REJECT_SHARE) -> list[LoadReport]:
    """Load every source file found in ``folder`` (referenced sources first); with
    ``chunk_rows``, CSV and Parquet files are loaded in chunks (:func:`load_file_chunked`).

    ``mapping`` maps a source name to its column mapping, e.g.
    ``{"transactions": {"Date": "order_ts", "Cust": "customer_id"}}``; the other keywords are
    those of :func:`load_file` and apply to every file.
    """
    files = find_source_files(folder)
    reports = []
    for name, path in bar(list(files.items()), desc="load", enabled=progress):
        reports.append(load_file(con, name, path, columns=(mapping or {}).get(name), errors=errors,
                                 dayfirst=dayfirst, decimal=decimal, date_format=date_format,
                                 delimiter=delimiter, encoding=encoding, sheet=sheet,
                                 chunk_rows=chunk_rows, max_reject_share=max_reject_share))
    return reports


def raw_table_counts(con) -> pd.DataFrame:
    """Rows per raw table, with rejects and distinct source files."""
    rows = []
    for name in SOURCE_ORDER:
        t = SOURCES[name].table
        n = files = rej = 0
        if table_exists(con, t):
            n, files = con.execute(
                f"SELECT count(*), count(DISTINCT _source_file) FROM {t}").fetchall()[0]
            rej = con.execute("SELECT count(DISTINCT (source_file, source_row)) FROM rejects "
                              "WHERE source_table = ? AND stage = 'collect'", [t]).fetchall()[0][0]
        rows.append({"source": name, "table": t, "rows": n, "rejected_rows": rej, "files": files})
    return pd.DataFrame(rows).set_index("source")


def reset_raw_layer(con) -> list[str]:
    """Drop the raw-layer tables, their rejects and the load log (one transaction).

    Used when a run switches to another source: the raw layer then holds exactly one
    source's exports. Raw files are not touched. Returns the dropped tables.
    """
    existing = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    dropped = [t for t in [SOURCES[n].table for n in SOURCE_ORDER] + ["load_log"] if t in existing]
    with transaction(con):
        for t in dropped:
            con.execute(f"DROP TABLE {t}")
        if "rejects" in existing:
            con.execute("DELETE FROM rejects WHERE stage = 'collect'")
    return dropped


def load_feedback(con, folder) -> list[LoadReport]:
    """Load every written-back campaign in ``folder`` (see :mod:`dbmlib.campaign.writeback`), in
    campaign-id order, each file as the source it is named after."""
    reports = []
    folder = Path(folder)
    if not folder.is_dir():
        return reports
    for campaign in sorted(p for p in folder.iterdir() if p.is_dir()):
        for name in SOURCE_ORDER:
            path = campaign / f"{name}.csv"
            if path.exists():
                reports.append(load_file(con, name, path))
    return reports
