"""Stage 02, cleaning and integration: standardise formats, merge duplicate customers, net returns,
flag outliers, pseudonymise personal data; clean tables, a quality log and rejects.
"""

from __future__ import annotations

from .cleaning import (
    CLEAN_TABLES,
    CleanConfig,
    CleanResult,
    ReconciliationError,
    clean_database,
    quality_report,
)
from .dedupe import (
    MERGE_KEYS,
    match_keys,
    merge_duplicates,
    merge_precision_recall,
)
from .standardise import (
    AGE_BANDS,
    age_band,
    canonical_category,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_postcode,
    valid_email,
)

__all__ = [
    "AGE_BANDS",
    "CLEAN_TABLES",
    "CleanConfig",
    "CleanResult",
    "MERGE_KEYS",
    "ReconciliationError",
    "age_band",
    "canonical_category",
    "clean_database",
    "match_keys",
    "merge_duplicates",
    "merge_precision_recall",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "normalise_postcode",
    "quality_report",
    "valid_email",
]
