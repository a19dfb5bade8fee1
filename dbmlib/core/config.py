"""Paths of the project: the only place they are defined (no side effects at import)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DATA_DIR",
    "DEFAULT_DB",
    "DUCKDB_MEMORY_LIMIT",
    "KERNEL_NAME",
    "NOTEBOOKS_DIR",
    "PROCESSED_DIR",
    "PROJ_ROOT",
    "RAW_DIR",
    "REPORTS_DIR",
]

PROJ_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJ_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
REPORTS_DIR = PROJ_ROOT / "reports"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
DEFAULT_DB = PROCESSED_DIR / "marketing.duckdb"
#: DuckDB's buffer pool per connection (``DBM_DUCKDB_MEMORY``; DuckDB's own default is 80 % of
#: RAM, which it keeps once used). Beyond it, sorts, joins and windows spill to disk, so the
#: notebook kernel's pandas frames and DuckDB together stay within a laptop's memory.
DUCKDB_MEMORY_LIMIT = os.environ.get("DBM_DUCKDB_MEMORY", "2GB")
#: Name of the Jupyter kernel that `make` registers inside .venv.
KERNEL_NAME = "dbm-workbench"
