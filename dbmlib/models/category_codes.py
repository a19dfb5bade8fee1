"""Text categories as numbers before scikit-learn's encoders.

scikit-learn's ``OneHotEncoder`` and ``OrdinalEncoder`` handle text (object) columns in
Python, value by value: with ``min_frequency`` or ``max_categories`` they count every cell
in a ``collections.Counter``, and every transform looks each cell up in a dict. On the
hundreds of thousands of rows of a large base's campaign history that is most of a model's
fit and scoring time. Numeric columns take their vectorised path instead.

:class:`CategoryCodes` goes first in a categorical branch: it learns each column's levels in
the order scikit-learn itself sorts them and replaces every cell by its level's rank, so the
encoder after it learns the same categories in the same order, pools the same rare ones and
outputs exactly the same numbers as on the text (tested) — in a fraction of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..core.fast_text import arrow_text, positions

__all__ = ["CategoryCodes"]


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Each categorical cell as the rank of its level among the levels seen in ``fit``.

    Levels are sorted as scikit-learn sorts an object column's categories (Python's order of
    the values); a missing cell becomes ``NaN`` (the encoders' missing category, sorted last
    as on text) and a level not seen in ``fit`` ``-1`` (unknown to the encoder after it, as
    the text was).

    Attributes
    ----------
    levels_ : list of lists, the sorted levels of each column
    n_features_in_ : int
    """

    def fit(self, X, y=None):
        frame = pd.DataFrame(X)
        self.levels_ = [sorted(_levels(frame[c])) for c in frame.columns]
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        check_is_fitted(self, "levels_")
        frame = pd.DataFrame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} columns; CategoryCodes was fitted on {self.n_features_in_}")
        out = np.empty(frame.shape, dtype=float)
        for j, (c, levels) in enumerate(zip(frame.columns, self.levels_)):
            values = frame[c]
            if arrow_text(values) is not None and all(isinstance(v, str) for v in levels):
                codes = positions(values, levels).astype(float)  # Arrow's hash lookup, as the Categorical's
            else:
                codes = pd.Categorical(values, categories=levels).codes.astype(float)
            codes[values.isna().to_numpy(bool)] = np.nan
            out[:, j] = codes
        return out

    def get_feature_names_out(self, input_features=None):
        """The input column names (one number per column)."""
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        return names if names is not None else np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)


def _levels(values: pd.Series) -> list:
    """The distinct non-missing values of a column (Arrow's hash for Arrow text)."""
    arrow = arrow_text(values)
    if arrow is not None:
        return pc.unique(arrow).drop_null().to_pylist()
    return list(pd.unique(values.dropna().to_numpy(object)))
