"""The ground floor every stage stands on: paths, the marketing database (connect, read and
write tables), atomic files, errors, the run lock and checkpoints, metrics, progress bars,
privacy masking, notebook display helpers and the text-parsing kernels. Imports no stage.
"""

from __future__ import annotations

from .checkpoint import (
    begin_stage,
    end_stage,
    restore,
)
from .config import (
    DATA_DIR,
    DEFAULT_DB,
    DUCKDB_MEMORY_LIMIT,
    KERNEL_NAME,
    NOTEBOOKS_DIR,
    PROCESSED_DIR,
    PROJ_ROOT,
    RAW_DIR,
    REPORTS_DIR,
    database_path,
)
from .db import (
    connect,
    insert_rows,
    read_clean,
    read_frame,
    registered,
    replace_tables,
    table_exists,
    transaction,
)
from .display import (
    note,
    show_tables,
)
from .errors import (
    InputError,
    StageError,
    format_rows,
)
from .fast_text import (
    fullmatch,
    isin,
    lookup,
    positions,
    to_numbers,
)
from .io import (
    atomic_path,
    atomic_write_csv,
    atomic_write_text,
    sha256_file,
)
from .lock import (
    DatabaseBusyError,
    database_lock,
)
from .metrics import (
    METRIC_MIME,
    read_metrics,
    record,
    record_all,
    record_each,
    to_jsonable,
)
from .parsing import (
    DATE_FORMATS_HELP,
    MONEY_HELP,
    date_format_of,
    parse_dates,
    parse_flags,
    parse_integers,
    parse_money,
)
from .privacy import (
    PERSONAL_COLUMNS,
    mask_personal,
)
from .progress import (
    StepBar,
    bar,
)

__all__ = [
    "DATA_DIR",
    "DATE_FORMATS_HELP",
    "DEFAULT_DB",
    "DUCKDB_MEMORY_LIMIT",
    "DatabaseBusyError",
    "InputError",
    "KERNEL_NAME",
    "METRIC_MIME",
    "MONEY_HELP",
    "NOTEBOOKS_DIR",
    "PERSONAL_COLUMNS",
    "PROCESSED_DIR",
    "PROJ_ROOT",
    "RAW_DIR",
    "REPORTS_DIR",
    "StageError",
    "StepBar",
    "atomic_path",
    "atomic_write_csv",
    "atomic_write_text",
    "bar",
    "begin_stage",
    "connect",
    "database_lock",
    "database_path",
    "date_format_of",
    "end_stage",
    "format_rows",
    "fullmatch",
    "insert_rows",
    "isin",
    "lookup",
    "mask_personal",
    "note",
    "parse_dates",
    "parse_flags",
    "parse_integers",
    "parse_money",
    "positions",
    "read_clean",
    "read_frame",
    "read_metrics",
    "record",
    "record_all",
    "record_each",
    "registered",
    "replace_tables",
    "restore",
    "sha256_file",
    "show_tables",
    "table_exists",
    "to_jsonable",
    "to_numbers",
    "transaction",
]
