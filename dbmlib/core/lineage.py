"""What every table of the marketing database was built from.

Each stage that writes tables records, per table, the source it holds (``retail-demo``,
``cdnow``, a folder key), the stage that built it, a build id, and the build ids of the tables
it was built from (``_lineage``). Before a stage reads its inputs it calls
:func:`require_inputs`, which refuses a table built from another source, or built from an
input that has been rebuilt since (an older upstream run), with an error that names both
builds and the stage to rerun. So no stage ever mixes two sources or two runs silently.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from .db import table_exists

__all__ = ["StaleTableError", "lineage_of", "record_lineage", "require_inputs", "sources_of", "touch"]

_DDL = ("CREATE TABLE IF NOT EXISTS _lineage (table_name VARCHAR PRIMARY KEY, source VARCHAR, "
        "stage VARCHAR, build_id VARCHAR, built_at TIMESTAMP, inputs VARCHAR)")


class StaleTableError(RuntimeError):
    """A stage's input was built from another source or from an input rebuilt since."""


def _build_id(stage: str) -> str:
    return f"{stage}:{datetime.now(UTC):%Y%m%dT%H%M%S}:{uuid.uuid4().hex[:8]}"


def lineage_of(con, tables=None) -> dict[str, dict]:
    """``{table: {source, stage, build_id, built_at, inputs}}`` of the recorded tables (all, or
    those named)."""
    if not table_exists(con, "_lineage"):
        return {}
    rows = con.execute("SELECT table_name, source, stage, build_id, built_at, inputs FROM _lineage").fetchall()
    out = {r[0]: {"source": r[1], "stage": r[2], "build_id": r[3], "built_at": r[4],
                  "inputs": json.loads(r[5] or "{}")} for r in rows}
    return out if tables is None else {t: out[t] for t in tables if t in out}


def sources_of(con, tables) -> set[str]:
    """The sources the recorded ``tables`` hold."""
    return {row["source"] for row in lineage_of(con, tables).values()}


def record_lineage(con, tables, *, stage: str, source: str | None = None, inputs=()) -> str:
    """Record that ``stage`` built ``tables`` from ``inputs`` (tables of this database).

    ``source`` defaults to the inputs' one source (a stage inherits it).

    Returns
    -------
    str
        The build id given to the tables.

    Raises
    ------
    StaleTableError
        When the inputs hold more than one source, or no source is known.
    """
    known = lineage_of(con, inputs)
    if source is None:
        found = {row["source"] for row in known.values()} or {"unrecorded"}  # loaded outside a named source
        if len(found) != 1:
            raise StaleTableError(f"{stage}: its inputs {sorted(inputs)} hold the sources {sorted(found)}; "
                                  "expected exactly one (rerun 01_collection for one source)")
        source = found.pop()
    build = _build_id(stage)
    ins = json.dumps({t: known[t]["build_id"] for t in sorted(known)})
    tables = list(tables)
    if tables:  # one statement: all of the tables' rows or none
        con.execute(_DDL)
        now = datetime.now(UTC).replace(tzinfo=None)
        values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(tables))
        con.execute(f"INSERT OR REPLACE INTO _lineage VALUES {values}",
                    [v for t in tables for v in (t, source, stage, build, now, ins)])
    return build


def touch(con, tables, *, stage: str) -> str:
    """Give ``tables`` a new build id after ``stage`` changed them in place (same source and
    inputs), so the tables built from them are known to be stale."""
    info = lineage_of(con, tables)
    build = _build_id(stage)
    for t in info:
        con.execute("UPDATE _lineage SET build_id = ?, stage = ?, built_at = ? WHERE table_name = ?",
                    [build, stage, datetime.now(UTC).replace(tzinfo=None), t])
    return build


def require_inputs(con, tables, *, source: str, stage: str) -> dict[str, dict]:
    """Check that ``stage`` may read ``tables`` for ``source``: each exists, holds ``source``,
    and was built from the current builds of its own inputs.

    Raises
    ------
    StaleTableError
        Naming the table, the two sources or builds, and the stage to rerun.
    """
    info = lineage_of(con)
    for t in tables:
        if not table_exists(con, t):
            raise StaleTableError(f"{stage}: the table {t!r} is missing; run the stage that builds it first")
        row = info.get(t)
        if row is None:
            raise StaleTableError(f"{stage}: the table {t!r} has no recorded lineage (built by an older "
                                  "version or outside the workbench); rerun the stage that builds it")
        if row["source"] != source:
            raise StaleTableError(f"{stage}: the table {t!r} holds source {row['source']!r} (built by "
                                  f"{row['stage']}), not this run's source {source!r}: rerun {row['stage']} "
                                  f"with source {source!r}, or use that source's own database")
        for upstream, build in row["inputs"].items():
            now = info.get(upstream, {}).get("build_id")
            if now != build:
                raise StaleTableError(
                    f"{stage}: the table {t!r} was built by {row['stage']} from {upstream!r} build {build}, "
                    f"but {upstream!r} is now build {now} (rebuilt by {info.get(upstream, {}).get('stage')}): "
                    f"rerun {row['stage']} first")
    return {t: info[t] for t in tables}
