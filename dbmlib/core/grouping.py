"""Group-bys on integer codes.

Once text ids are integer codes (:func:`~dbmlib.core.fast_text.factorize`), pandas still
does the adding — its group sums are compensated, and the figures must equal those of a
group-by on the ids to the last bit — but grouping by categorical codes skips hashing ten
million text values again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["by_codes", "distinct_codes"]


def by_codes(values, codes: np.ndarray, n_groups: int, *, observed: bool = False):
    """pandas' group-by of ``values`` by integer ``codes`` in ``0 … n_groups − 1`` (as
    categorical codes: no hashing). Each group adds its values in row order, as a group-by on
    the ids does; ``observed=False`` keeps every group, a group without rows summing to 0."""
    groups = pd.Categorical.from_codes(codes, categories=pd.RangeIndex(n_groups), validate=False)
    return pd.Series(values).groupby(groups, observed=observed)


#: The largest code range :func:`distinct_codes` marks in a table (128 MB of flags); beyond, it sorts.
TABLE_LIMIT = 2**27


def distinct_codes(key: np.ndarray, size: int | None = None) -> np.ndarray:
    """The sorted distinct values of a non-negative integer ``key``: marks in a boolean table
    when its range ``size`` is known and at most :data:`TABLE_LIMIT`, else a sort — both far
    faster than hashing ten million keys."""
    if size is not None and size <= TABLE_LIMIT:
        seen = np.zeros(size, bool)
        seen[key] = True
        return np.flatnonzero(seen)
    key = np.sort(key)
    return key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
