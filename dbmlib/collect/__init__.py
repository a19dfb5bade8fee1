"""Stage 01, collection: read customer, transaction and campaign exports (files or a database),
validate them against their schemas and load them into the raw layer with lineage and rejects.
"""

from __future__ import annotations

from .load import (
    LINEAGE_COLUMNS,
    LoadReport,
    find_source_files,
    load_feedback,
    load_file,
    load_file_chunked,
    load_folder,
    load_frame,
    load_query,
    load_summary,
    raw_table_counts,
    read_mapping,
    reset_raw_layer,
    validate_frame,
)
from .overview import (
    date_coverage,
    orders_per_month,
    preview,
    previews,
    rejects_summary,
)
from .readers import (
    SUPPORTED_SUFFIXES,
    read_database,
    read_table_file,
)
from .schemas import (
    SOURCE_ORDER,
    SOURCES,
    SourceSpec,
    build_schema,
)

__all__ = [
    "LINEAGE_COLUMNS",
    "LoadReport",
    "SOURCES",
    "SOURCE_ORDER",
    "SUPPORTED_SUFFIXES",
    "SourceSpec",
    "build_schema",
    "date_coverage",
    "find_source_files",
    "load_feedback",
    "load_file",
    "load_file_chunked",
    "load_folder",
    "load_frame",
    "load_query",
    "load_summary",
    "orders_per_month",
    "preview",
    "previews",
    "raw_table_counts",
    "read_database",
    "read_mapping",
    "read_table_file",
    "rejects_summary",
    "reset_raw_layer",
    "validate_frame",
]
