"""How a file writes its dates and numbers: decided once per file, recorded, reused.

A shop system writes every date of an export the same way, but nothing in the file says
whether ``03/04/2024`` is 3 April or 4 March. Collection decides it per file
(:func:`resolve_reading`):

* ``date_format`` given: every date is read with it;
* ``dayfirst`` given: it is used, unless the file proves it wrong (a field above 12 where
  the month would be), which stops the load;
* otherwise the file decides where it can (a first field above 12 somewhere: day first; a
  second field above 12: month first), and the evidence is logged and recorded; where it
  cannot, or where it says both, the load stops with an error showing both readings.

The decision (with ``decimal``) is stored per file in ``load_log.reading``, and cleaning
and the overviews parse each raw row the way its file was read (:func:`parse_by_file`):
no stage re-guesses, and a parameter given to one notebook cannot disagree with another.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..core.db import read_frame, table_exists
from ..core.errors import InputError
from ..core.fast_text import fullmatch
from ..core.parsing import date_order_evidence, parse_dates, parse_money
from .schemas import SourceSpec

__all__ = ["Reading", "date_columns", "parse_by_file", "parse_distinct", "recorded_readings", "resolve_reading"]


@dataclass(frozen=True)
class Reading:
    """How one file's text is read: day/month order (``None``: the file has no day/month
    dates, or ``date_format`` decides), an explicit ``date_format``, the ``decimal`` mark,
    and the ``evidence`` for the decision in words."""

    dayfirst: bool | None = None
    date_format: str | None = None
    decimal: str = "."
    evidence: str = ""

    def to_json(self) -> str:
        """The reading as JSON (for ``load_log.reading``)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None, default: Reading) -> Reading:
        """A recorded reading; ``default`` where none was recorded."""
        if not text:
            return default
        return cls(**json.loads(text))

    @property
    def date_kwargs(self) -> dict:
        """Keyword arguments of :func:`~dbmlib.core.parsing.parse_dates`."""
        return {"dayfirst": self.dayfirst, "date_format": self.date_format}


def date_columns(spec: SourceSpec) -> list[str]:
    """The source's date columns."""
    return [c.name for c in spec.columns if c.kind in {"date", "date_any"}]


def _both_readings(example: str) -> str:
    s = pd.Series([example])
    day = parse_dates(s, dayfirst=True).iloc[0]
    month = parse_dates(s, dayfirst=False).iloc[0]
    fmt = "%d %B %Y"
    return (f"{example!r} is {day.strftime(fmt) if pd.notna(day) else 'invalid'} day first "
            f"or {month.strftime(fmt) if pd.notna(month) else 'invalid'} month first")


def resolve_reading(frame: pd.DataFrame, spec: SourceSpec, file: str, *, dayfirst: bool | None = None,
                    date_format: str | None = None, decimal: str = ".") -> Reading:
    """Decide how ``file`` writes its dates (see the module docstring).

    Raises
    ------
    InputError
        When the day/month order cannot be decided, contradicts ``dayfirst``, or differs
        between rows of the file.
    """
    if date_format:
        return Reading(None, date_format, decimal, f"date_format {date_format!r} given")
    cols = [c for c in date_columns(spec) if c in frame.columns]
    _one_zone_convention(frame, cols, file)
    ev = date_order_evidence([frame[c] for c in cols])
    if not ev.cells:
        return Reading(dayfirst, None, decimal, ev.describe())
    column = ", ".join(cols)
    if ev.contradictory:
        raise InputError(file, column=column,
                         problem=f"day/month order differs between rows: {ev.describe()}",
                         expected="one layout per file: pass date_format (e.g. '%d/%m/%Y %H:%M') to read "
                                  "one and reject the others, or fix the export")
    if dayfirst is not None:
        if ev.dayfirst is not None and ev.dayfirst != dayfirst:
            raise InputError(file, column=column,
                             problem=f"dayfirst={dayfirst} but the file says {ev.describe()}",
                             expected=f"dayfirst={ev.dayfirst} (or leave dayfirst unset to infer it)")
        return Reading(dayfirst, None, decimal, f"dayfirst={dayfirst} given; {ev.describe()}")
    if ev.dayfirst is None:
        raise InputError(file, column=column,
                         problem=f"the day/month order cannot be decided from the file ({ev.describe()}): "
                                 f"{_both_readings(ev.examples[2])}",
                         expected="dayfirst=True (31/01/2024) or dayfirst=False (01/31/2024), or "
                                  "date_format, e.g. '%m/%d/%y %H:%M'")
    return Reading(ev.dayfirst, None, decimal, ev.describe())


_OFFSET = r".*\d(Z|[+-]\d{2}:?\d{2})"


def _one_zone_convention(frame: pd.DataFrame, cols: list[str], file: str) -> None:
    """Times with a UTC offset are converted to UTC; times without one are taken as written.
    A column mixing both would mix two clocks silently, so it stops the load."""
    for col in cols:
        distinct = pd.Series(frame[col].dropna().unique(), dtype="string").str.strip()
        if not fullmatch(distinct, _OFFSET).any():
            continue  # the usual case, decided on the distinct values alone
        text = frame[col].astype("string").str.strip()
        has_offset = fullmatch(text, _OFFSET)
        has_time = fullmatch(text, r".*\d{1,2}:\d{2}.*")
        naive = has_time & ~has_offset
        if has_offset.any() and naive.any():
            rows = (np.flatnonzero(has_offset) + 1).tolist()
            raise InputError(file, column=col, rows=rows, values=text[has_offset].tolist(),
                             problem=f"{int(has_offset.sum()):,} times carry a UTC offset and "
                                     f"{int(naive.sum()):,} do not (e.g. {text[naive].iloc[0]!r})",
                             expected="one convention per file: every time with its UTC offset (converted "
                                      "to UTC), or none (taken as written)")


def recorded_readings(con, raw_table: str) -> dict[str, Reading]:
    """The reading recorded for each source file of a raw table (by ``_source_file``)."""
    if not table_exists(con, "load_log"):
        return {}
    cols = set(con.execute("SELECT column_name FROM information_schema.columns "
                           "WHERE table_name = 'load_log'").df()["column_name"])
    if "reading" not in cols:
        return {}
    rows = con.execute("SELECT source_file, reading FROM load_log WHERE raw_table = ?",
                       [raw_table]).fetchall()
    return {f: Reading.from_json(r, Reading()) for f, r in rows if r}


def parse_by_file(frame: pd.DataFrame, column: str, readings: dict[str, Reading], kind: str,
                  default: Reading, *, distinct: bool = False) -> pd.Series:
    """Parse ``frame[column]`` (``kind`` ``"date"`` or ``"money"``) with the reading of each
    row's ``_source_file``; rows of files without a recorded reading use ``default``.
    ``distinct``: each file's values are distinct already (see :func:`parse_distinct`)."""
    def parse(s: pd.Series, r: Reading) -> pd.Series:
        return (parse_dates(s, **r.date_kwargs, distinct=distinct) if kind == "date"
                else parse_money(s, decimal=r.decimal, distinct=distinct))

    files = frame["_source_file"].astype("string") if "_source_file" in frame else None
    if files is None or not readings or not len(frame):
        return parse(frame[column], default)
    keys = files.fillna("")
    distinct = list(pd.unique(keys))
    if len(distinct) == 1:
        return parse(frame[column], readings.get(distinct[0], default))
    parts = [parse(frame.loc[(keys == f).to_numpy(bool), column], readings.get(f, default))
             for f in distinct]
    return pd.concat(parts).reindex(frame.index)


def parse_distinct(con, table: str, column: str, kind: str, readings: dict[str, Reading] | None = None,
                   default: Reading = Reading()) -> pd.DataFrame:
    """Each distinct non-missing (``_source_file``, ``column``) of a raw ``table`` with its
    parsed ``value`` (:func:`parse_by_file`; ``kind`` ``"date"``, ``"money"`` or ``"integer"``,
    the last independent of the file): a dictionary to join back in SQL, so that millions of
    rows are parsed as the few distinct texts they hold. ``readings``: by default those
    recorded for ``table``. A table without that column gives an empty dictionary."""
    from ..core.parsing import parse_integers

    present = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                          [table, column]).fetchall()[0][0]
    if not present:
        return pd.DataFrame({"_source_file": pd.Series(dtype="string"), column: pd.Series(dtype="string"),
                             "value": pd.Series(dtype="datetime64[us]" if kind == "date" else "float64")})
    d = read_frame(con, f'SELECT DISTINCT _source_file, "{column}" FROM {table} WHERE "{column}" IS NOT NULL')
    if kind == "integer":
        d["value"] = parse_integers(d[column]).astype("float64")
        return d
    readings = recorded_readings(con, table) if readings is None else readings
    d["value"] = parse_by_file(d, column, readings, kind, default, distinct=True)  # distinct within each file
    return d
