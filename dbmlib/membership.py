"""Fast membership tests on text columns.

pandas 3 stores text as Arrow strings, and ``Series.isin`` on them builds a Python object
per value of the set (two seconds for three million ids against a million); Arrow's own
``is_in`` kernel does the same test in a tenth of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["isin"]


def isin(values: pd.Series, allowed) -> np.ndarray:
    """Boolean array: which of ``values`` are in ``allowed`` (missing values never are)."""
    allowed = pd.Series(list(allowed) if not isinstance(allowed, (pd.Series, pd.Index, np.ndarray)) else allowed)
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return values.isin(allowed).fillna(False).to_numpy(bool)
    arrow = pa.array(values.array)  # zero-copy through the Arrow protocol
    value_set = pa.array(allowed.astype("string").dropna().to_numpy(object), type=arrow.type)
    hit = pc.is_in(arrow, value_set=value_set, skip_nulls=True)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool)
