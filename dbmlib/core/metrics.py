"""Record key figures from a notebook so a run can collect them into ``metrics.json``.

A notebook calls :func:`record` (``record("rows_loaded.transactions", 61591)``); the value is
emitted as a display output with the MIME type :data:`METRIC_MIME`, which
:func:`read_metrics` reads back from the executed notebook. Recording shows nothing: the
bundle's only other representation is an HTML comment, so neither JupyterLab nor the HTML
reports print ``name = value`` lines (the figures a reader needs are in the notebook's tables
and in the run's index page). No global state, no file side effects: the executed notebook
is the record.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["METRIC_MIME", "read_metrics", "record", "record_all", "record_each", "to_jsonable"]

METRIC_MIME = "application/vnd.dbm.metric+json"


def to_jsonable(value):
    """Convert numpy/pandas scalars and containers to plain JSON values (NaN → None)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(name: str, value, *, display: bool = True) -> dict:
    """Record one key figure of the running notebook; returns ``{name: value}``."""
    if not isinstance(name, str) or not name:
        raise ValueError("a metric needs a non-empty string name")
    payload = {"name": name, "value": to_jsonable(value)}
    json.dumps(payload)  # fail here, not in the report, if it is not serialisable
    if display:
        from IPython.display import display as _display

        _display({METRIC_MIME: payload, "text/html": f"<!-- metric {html.escape(name)} -->"}, raw=True)
    return {name: payload["value"]}


def record_all(metrics: dict, *, display: bool = True) -> dict:
    """Record every ``{name: value}`` of ``metrics`` in order; returns what was recorded."""
    out = {}
    for name, value in metrics.items():
        out |= record(name, value, display=display)
    return out


def record_each(template: str, values, cast=None, *, digits: int | None = None,
                display: bool = True) -> dict:
    """Record one metric per item of a Series or mapping, named by ``template``.

    Parameters
    ----------
    template : str
        A :meth:`str.format` pattern filled with the item's key; a tuple key (a MultiIndex row)
        fills one ``{}`` per level: ``"quality.{}.{}.{}"``.
    values : Series or dict
    cast : callable, optional
        Applied to each value first (``int``, ``float``, ``bool``).
    digits : int, optional
        Round each value with Python's :func:`round` to this many digits.

    Returns
    -------
    dict
        The recorded ``{name: value}``.
    """
    items = values.items() if hasattr(values, "items") else values
    out = {}
    for key, value in items:
        name = template.format(*key) if isinstance(key, tuple) else template.format(key)
        if cast is not None:
            value = cast(value)
        if digits is not None:
            value = round(float(value), digits)
        out |= record(name, value, display=display)
    return out


def read_metrics(notebook_path) -> dict:
    """All metrics recorded in an executed notebook, in order (a later value wins)."""
    nb = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    out = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if METRIC_MIME in data:
                payload = data[METRIC_MIME]
                out[payload["name"]] = payload["value"]
    return out
