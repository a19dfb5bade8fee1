"""Gradient boosting that scores each distinct binned row once equals scikit-learn's own."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from dbmlib.models.boosting import DistinctRowsClassifier, DistinctRowsRegressor, distinct_rows


def _data(n=6000, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"visits": rng.integers(0, 6, n).astype(float),
                      "spend": rng.gamma(2.0, 30.0, n).round(0),
                      "channel": rng.integers(0, 4, n).astype(float)})
    X.loc[rng.random(n) < 0.1, "spend"] = np.nan
    y = (X["visits"] + X["spend"].fillna(0) / 40 + rng.normal(size=n) > 3.5).astype(int)
    return X, y.to_numpy(), rng


@pytest.mark.parametrize("categorical", [None, [2]])
def test_predictions_equal_scikit_learn_to_the_last_bit(categorical):
    X, y, rng = _data()
    new = X.copy()
    new.loc[:40, "channel"] = 9  # a category never seen in training
    new.loc[40:80, "channel"] = -1  # negative: missing, for the trees
    new.loc[80:90, "spend"] = 1e9  # beyond the last bin edge
    three = np.digitize(X["visits"], [1.5, 3.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "X does not have valid feature names"
        for stock, ours, target in [(HistGradientBoostingClassifier, DistinctRowsClassifier, y),
                                    (HistGradientBoostingClassifier, DistinctRowsClassifier, three),
                                    (HistGradientBoostingRegressor, DistinctRowsRegressor, X["spend"].fillna(0) * y)]:
            for train, test in [(X, new), (X.to_numpy(), new.to_numpy())]:
                a = stock(categorical_features=categorical, random_state=0).fit(train, target)
                b = ours(categorical_features=categorical, random_state=0).fit(train, target)
                for method in ["predict", "predict_proba", "decision_function"]:
                    if hasattr(a, method):
                        assert np.array_equal(getattr(a, method)(test), getattr(b, method)(test)), (stock, method)


def _rows_walked(model, X) -> int:
    walked = []
    original = model._predict_iterations

    def spy(Xs, *args):
        walked.append(len(Xs))
        return original(Xs, *args)

    model._predict_iterations = spy
    model.predict_proba(X)
    return sum(walked)


def test_each_distinct_row_walks_the_trees_once():
    X, y, _ = _data()
    X = X.assign(spend=(X["spend"] // 50).clip(upper=7))  # 9 levels with the missing one
    model = DistinctRowsClassifier(random_state=0).fit(X, y)
    distinct = len(X.drop_duplicates())  # each value its own bin: distinct rows = distinct bin rows
    assert distinct < len(X) / 10
    assert _rows_walked(model, X) == distinct


def test_mostly_distinct_rows_are_scored_row_by_row():
    X, y, rng = _data()
    X = X.assign(spend=rng.normal(size=len(X)))  # every row its own bin combination, nearly
    model = DistinctRowsClassifier(random_state=0).fit(X, y)
    assert _rows_walked(model, X) == len(X)


def test_distinct_rows_groups_exactly_across_many_packed_columns():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(300, 20)).astype(np.uint8)  # 20 bytes: codes re-numbered twice
    keys = base[rng.integers(0, 300, 5000)]
    categorical = np.zeros(20, bool)
    first, inverse = distinct_rows(keys, categorical)
    expected = pd.DataFrame(keys).groupby(list(range(20)), sort=False).ngroup().to_numpy()
    assert len(first) == len(np.unique(expected)) == len(pd.DataFrame(base).drop_duplicates())
    assert np.array_equal(inverse, expected)  # both number groups by first appearance
    assert np.array_equal(keys[first][inverse], keys)
    assert distinct_rows(keys, categorical, max_share=0.01) is None


def test_categorical_columns_group_by_value_with_missing_as_one():
    keys = np.array([[1.0, 0], [np.nan, 0], [1.0, 0], [np.nan, 0], [2.0, 1]])
    first, inverse = distinct_rows(keys, np.array([True, False]), max_share=1.0)
    assert first.tolist() == [0, 1, 4] and inverse.tolist() == [0, 1, 0, 1, 2]
