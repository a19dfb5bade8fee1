"""Show results in a notebook: several tables under headings, several figures, a short note;
and, in a scheduled run, tables formatted for a reader.

In a report written by ``dbm run`` (not in JupyterLab), every DataFrame a cell shows is
rendered by :func:`report_table_html`: whole numbers with thousands separators, shares and
rates as percentages, other decimals rounded, at most :data:`MAX_COLUMNS` columns and
:data:`MAX_ROWS` rows, with a note saying what was left out (the full table is in the
notebook and the database).
"""

from __future__ import annotations

import hashlib
import html

import numpy as np
import pandas as pd

from .progress import interactive

__all__ = ["MAX_COLUMNS", "MAX_ROWS", "note", "register_formatter", "report_table_html", "show_tables"]

MAX_ROWS = 20
MAX_COLUMNS = 10
_PERCENT_WORDS = ("share", "rate", "pct", "percent", "retention", "lift", "penetration", "probability")


def note(text: str):
    """A sentence for the report (Markdown), for the case where a section has nothing to show."""
    from IPython.display import Markdown

    return Markdown(text)


def show_tables(tables: dict, *, figure=None, empty: str | None = None) -> int:
    """Display each ``{title: table}`` under its title, with ``figure(table)`` after it if given.

    ``empty`` is shown instead when there is no table. Returns the number of tables shown.
    """
    from IPython.display import Markdown, display

    if not tables and empty:
        display(Markdown(empty))
    for title, table in tables.items():
        display(Markdown(f"**{title}**"), table)
        if figure is not None:
            display(figure(table))
    return len(tables)


def _is_percent(name) -> bool:
    text = " ".join(map(str, name)) if isinstance(name, tuple) else str(name)
    return any(w in text.lower() for w in _PERCENT_WORDS)


def _formatter(name, column: pd.Series):
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return None
    if pd.api.types.is_integer_dtype(column):
        return lambda v: "" if pd.isna(v) else f"{int(v):,}"
    values = column.to_numpy(dtype=float, na_value=np.nan)
    finite = values[np.isfinite(values)]
    if _is_percent(name) and len(finite) and np.abs(finite).max() <= 1.5:
        return lambda v: "" if pd.isna(v) else f"{v:.1%}"
    if len(finite) and np.all(finite == np.round(finite)) and np.abs(finite).max() >= 1000:
        return lambda v: "" if pd.isna(v) else f"{v:,.0f}"
    return lambda v: "" if pd.isna(v) else (f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.3g}" if abs(v) < 1 else f"{v:,.2f}")


def report_table_html(df: pd.DataFrame) -> str:
    """A DataFrame as a report table (see the module docstring)."""
    notes = []
    shown = df
    if df.shape[1] > MAX_COLUMNS:
        hidden = [str(c) for c in df.columns[MAX_COLUMNS:]]
        shown = shown.iloc[:, :MAX_COLUMNS]
        notes.append(f"{len(hidden)} more columns not shown: {', '.join(hidden[:8])}{' …' if len(hidden) > 8 else ''}")
    if len(df) > MAX_ROWS:
        shown = shown.head(MAX_ROWS)
        notes.append(f"the first {MAX_ROWS} of {len(df):,} rows")
    formats = {c: f for c in shown.columns if (f := _formatter(c, shown[c])) is not None}
    digest = hashlib.sha1(shown.to_json(orient="split", default_handler=str).encode()).hexdigest()[:8]
    table = (shown.style.format(formats, na_rep="").set_uuid(digest)
             .set_table_attributes('class="dataframe"').to_html())
    return table + (f"<p><em>{html.escape('; '.join(notes))}.</em></p>" if notes else "")


def _report_table_or_plain(df: pd.DataFrame) -> str:
    """The report table, or pandas' own HTML if formatting fails: showing a table must
    never stop an analysis."""
    try:
        return report_table_html(df)
    except Exception:  # noqa: BLE001 — any formatting problem falls back to the plain table
        return df.to_html()


def register_formatter(mime: str, cls: type, render) -> bool:
    """In IPython, show objects of ``cls`` as ``mime`` with ``render(obj)``; returns whether a
    shell was there to register with (no-op outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters[mime].for_type(cls, render)
    return True


if not interactive():  # in a scheduled run's kernel, DataFrames are report tables
    register_formatter("text/html", pd.DataFrame, _report_table_or_plain)
