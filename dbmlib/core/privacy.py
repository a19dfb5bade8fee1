"""Personal data: which columns hold it and how they are masked in anything shown."""

from __future__ import annotations

import pandas as pd

__all__ = ["PERSONAL_COLUMNS", "mask_personal"]

#: Columns that identify a person. They never reach a report.
PERSONAL_COLUMNS = ("first_name", "last_name", "email", "phone", "street", "postcode",
                    "birth_date")


def mask_personal(df: pd.DataFrame, mask: str = "•••") -> pd.DataFrame:
    """A copy of ``df`` with personal columns replaced by ``mask`` (missing stays missing)."""
    out = df.copy()
    for col in out.columns:
        if col in PERSONAL_COLUMNS:
            out[col] = out[col].astype("string").where(out[col].isna(), mask)
    return out
