"""Named sources: which files a run loads, and where its written-back campaigns live.

``retail-demo`` (generated on first use, seeded), ``cdnow`` and ``cdnow-sample`` (the real
CDNOW log inside ``lifetimes``) or a folder of the user's own files. Choosing among them is the
run's business; :mod:`dbmlib.collect` itself only reads files and databases.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from ..collect.load import LoadReport, load_feedback, load_folder, load_frame, reset_raw_layer
from ..collect.schemas import SOURCE_ORDER, SOURCES
from ..core import config
from ..core.db import table_exists
from ..core.io import sha256_file
from ..core.lineage import StaleTableError, record_lineage, sources_of
from ..demo.datasets import cdnow_path, load_cdnow, retail_demo_dir
from ..demo.retail_demo import is_current, make_retail_demo

__all__ = ["database_for", "feedback_dir", "load_cdnow_source", "load_source", "source_key"]

log = logging.getLogger(__name__)


def load_cdnow_source(con, sample: bool = False) -> list[LoadReport]:
    """Load the real CDNOW log (from the installed ``lifetimes``) as the transactions source."""
    df = load_cdnow(sample=sample)
    text = pd.DataFrame({
        "customer_id": df["customer_id"],
        "order_ts": df["order_date"].dt.strftime("%Y-%m-%d"),
        "quantity": df["quantity"].astype(str),
        "amount": df["amount"].map("{:.2f}".format),
    }).astype("string")
    path = cdnow_path(sample)
    return [load_frame(con, "transactions", text, source_file=str(path), sha256=sha256_file(path))]


def source_key(source: str, seed: int = 0, n_customers: int = 20_000, purchase_rate: float = 1.0) -> str:
    """A short name that identifies a source: the retail-demo folder name (its size, seed and
    purchase rate in it), ``cdnow``/``cdnow-sample``, or a folder's name with a hash of its
    absolute path (two folders of the same name stay apart)."""
    if source == "retail-demo":
        return retail_demo_dir(seed, n_customers, purchase_rate).name
    if source in {"cdnow", "cdnow-sample"}:
        return source
    folder = Path(source).expanduser().resolve()
    return f"{folder.name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"


def database_for(source: str, seed: int = 0, n_customers: int = 20_000, purchase_rate: float = 1.0,
                 db_path: str | Path | None = "") -> Path:
    """The marketing database of a source: ``db_path`` when given, else its own file
    ``data/processed/<source key>.duckdb`` (:func:`source_key`), so two sources never share
    tables."""
    if db_path:
        return Path(db_path)
    return config.PROCESSED_DIR / f"{source_key(source, seed, n_customers, purchase_rate)}.duckdb"


def feedback_dir(db_path, source: str, seed: int = 0, n_customers: int = 20_000,
                 purchase_rate: float = 1.0) -> Path:
    """Where written-back campaigns of ``source`` live for the database ``db_path``
    (``<db>.feedback/<source key>/``, beside the database, one subfolder per campaign)."""
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.feedback" / source_key(source, seed, n_customers, purchase_rate)


def load_source(con, source: str = "retail-demo", *, seed: int = 0, n_customers: int = 20_000,
                purchase_rate: float = 1.0, rebuild: bool = True, feedback=None, **kwargs
                ) -> list[LoadReport]:
    """Load a named source: ``retail-demo`` (generated on first use), ``cdnow``,
    ``cdnow-sample`` or a folder of the user's own files; then the campaigns written back
    into ``feedback`` (a folder from :func:`feedback_dir`), if given.

    With ``rebuild=True`` the raw layer is emptied first, so it holds this source only.
    Other keyword arguments go to :func:`~dbmlib.collect.load.load_folder` (the CDNOW log is
    read as shipped, so they do not apply to it).
    """
    key = source_key(source, seed, n_customers, purchase_rate)
    held = sources_of(con, [SOURCES[name].table for name in SOURCE_ORDER]) - {key}
    if held and not rebuild:
        raise StaleTableError(f"the raw layer holds source {sorted(held)}; appending source {key!r} would "
                              "mix two sources: load with rebuild=True or use the source's own database")
    if rebuild:
        reset_raw_layer(con)
    if source == "retail-demo":
        folder = retail_demo_dir(seed, n_customers, purchase_rate)
        if not is_current(folder):  # missing, or written by another generator version
            log.info("generating retail-demo (n=%d, seed=%d, purchase rate ×%g) in %s", n_customers, seed,
                     purchase_rate, folder)
            make_retail_demo(folder, n_customers=n_customers, seed=seed, purchase_rate=purchase_rate)
        reports = load_folder(con, folder, **kwargs)
    elif source in {"cdnow", "cdnow-sample"}:
        reports = load_cdnow_source(con, sample=source == "cdnow-sample")
    else:
        reports = load_folder(con, Path(source).expanduser(), **kwargs)
    reports += load_feedback(con, feedback) if feedback is not None else []
    raw = [SOURCES[name].table for name in SOURCE_ORDER if table_exists(con, SOURCES[name].table)]
    record_lineage(con, raw, stage="01_collection", source=key)
    return reports
