"""Propensity models: who will respond to a campaign, who will lapse.

Trained on the as-of features of :mod:`dbmlib.models.training_sets`. Models are
scikit-learn pipelines (a ColumnTransformer for numeric and categorical features, then a
logistic regression or a histogram gradient-boosting classifier).
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..core.progress import bar as progress_bar
from .category_codes import CategoryCodes
from .training_sets import CATEGORICAL, NUMERIC

__all__ = [
    "PropensityModel",
    "compare_models",
    "gains_table",
    "load_model",
    "save_model",
    "training_rows",
]

def _inputs(X: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The model's input columns, with negative numeric values (net refunds) floored at 0."""
    return X[cols].assign(**{c: X[c].clip(lower=0) for c in NUMERIC})


class PropensityModel(ClassifierMixin, BaseEstimator):
    """A probability-of-event classifier on the features above.

    Parameters
    ----------
    kind : {"logistic", "gbm"}
    extra_categorical : list of str, extra categorical columns (e.g. ``campaign_channel``)
    random_state : int
    max_rows : int or None
        Train on a seeded sample of at most this many rows, stratified by the outcome
        (:func:`training_rows`); None trains on all rows.

    Attributes
    ----------
    pipeline_ : fitted scikit-learn Pipeline
    feature_names_in_ : list of input columns used
    classes_ : array([0, 1])
    n_train_rows_ : rows the model was trained on
    """

    def __init__(self, kind: str = "logistic", extra_categorical=(), random_state: int = 0,
                 max_rows: int | None = None):
        self.kind = kind
        self.extra_categorical = extra_categorical
        self.random_state = random_state
        self.max_rows = max_rows

    def _pipeline(self) -> Pipeline:
        cats = CATEGORICAL + list(self.extra_categorical)
        numeric = Pipeline([("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
                            ("scale", StandardScaler())])
        pre = ColumnTransformer([("num", numeric, NUMERIC),
                                 ("cat", Pipeline([("codes", CategoryCodes()),
                                                   ("onehot", OneHotEncoder(handle_unknown="ignore", min_frequency=20))]),
                                  cats)])
        if self.kind == "logistic":
            clf = LogisticRegression(max_iter=2000, C=1.0)
        elif self.kind == "gbm":
            clf = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                                 l2_regularization=1.0, random_state=self.random_state)
        else:
            raise ValueError(f"kind must be 'logistic' or 'gbm', got {self.kind!r}")
        return Pipeline([("features", pre), ("model", clf)])

    def fit(self, X: pd.DataFrame, y, sample_weight=None):
        """Fit the pipeline on ``X`` (the columns of :data:`~dbmlib.models.training_sets.NUMERIC`,
        :data:`~dbmlib.models.training_sets.CATEGORICAL` and ``extra_categorical``) and the
        binary outcome ``y``, on at most ``max_rows`` stratified rows."""
        cols = NUMERIC + CATEGORICAL + list(self.extra_categorical)
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise ValueError(f"feature columns missing: {missing}")
        self.feature_names_in_ = cols
        rows = training_rows(y, self.max_rows, self.random_state)
        extra = {} if sample_weight is None else {"model__sample_weight": np.asarray(sample_weight)[rows]}
        self.pipeline_ = self._pipeline().fit(_inputs(X.iloc[rows], cols), np.asarray(y)[rows], **extra)
        self.n_train_rows_ = len(rows)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of each class (columns ``classes_``) for every row of ``X``."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(_inputs(X, self.feature_names_in_))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The more probable class of every row of ``X``."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def permutation_importance(self, X, y, n_repeats: int = 5, max_rows: int = 4000) -> pd.Series:
        """Mean drop in ROC AUC when each input column is shuffled (seeded; on at most
        ``max_rows`` sampled rows)."""
        y = pd.Series(np.asarray(y), index=X.index)
        if len(X) > max_rows:
            keep = np.random.default_rng(self.random_state).choice(len(X), max_rows, replace=False)
            X, y = X.iloc[keep], y.iloc[keep]
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="openmp"):  # dozens of predictions of a few thousand rows:
            # one thread skips the per-tree synchronisation (the same predictions, row by row)
            r = permutation_importance(self.pipeline_, _inputs(X, self.feature_names_in_), y.to_numpy(),
                                       scoring="roc_auc", n_repeats=n_repeats, random_state=self.random_state)
        return pd.Series(r.importances_mean, index=self.feature_names_in_).sort_values(ascending=False)


def training_rows(y, max_rows: int | None, random_state: int = 0) -> np.ndarray:
    """Positions of the rows to train on: all of them, or — when there are more than
    ``max_rows`` — a seeded sample of ``max_rows`` stratified by the outcome (each class
    keeps its share), in their original order.

    Models on millions of rows learn little from the rows beyond a few hundred thousand but
    take minutes per fit; the sample bounds that time while every customer is still scored.
    """
    y = np.asarray(y)
    if max_rows is None or len(y) <= max_rows:
        return np.arange(len(y))
    rng = np.random.default_rng(random_state)
    picks = []
    for value in np.unique(y):
        rows = np.flatnonzero(y == value)
        picks.append(rng.choice(rows, max(1, int(round(max_rows * len(rows) / len(y)))), replace=False))
    return np.sort(np.concatenate(picks))


def compare_models(X, y, *, extra_categorical=(), cv: int = 5, random_state: int = 0,
                   max_rows: int | None = None, out_of_fold: bool = False, progress: bool = False):
    """Cross-validated ROC AUC and average precision of the logistic and GBM models.

    One stratified, seeded set of folds serves both models. ``max_rows`` cross-validates on
    a stratified sample of that many rows (:func:`training_rows`). With ``out_of_fold`` the
    out-of-fold probabilities come back too — ``(table, oof)`` with ``oof`` indexed like
    the rows used, columns ``y``, ``logistic``, ``gbm`` — for honest gains charts without a
    second cross-validation. ``progress`` shows a tqdm bar over the fits.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    rows = training_rows(y, max_rows, random_state)
    cols = NUMERIC + CATEGORICAL + list(extra_categorical)
    Xs, ys = _inputs(X.iloc[rows], cols), np.asarray(y)[rows]
    folds = list(StratifiedKFold(cv, shuffle=True, random_state=random_state).split(Xs, ys))
    kinds = ("logistic", "gbm")
    oof = pd.DataFrame({"y": ys}, index=X.index[rows])
    table = {}
    bar = progress_bar(total=len(kinds) * cv, desc="cross-validation", enabled=progress)
    for kind in kinds:
        p, auc, ap = np.empty(len(ys)), [], []
        for train, test in folds:
            pipe = PropensityModel(kind, extra_categorical, random_state)._pipeline().fit(Xs.iloc[train], ys[train])
            p[test] = pipe.predict_proba(Xs.iloc[test])[:, 1]
            auc.append(roc_auc_score(ys[test], p[test]))
            ap.append(average_precision_score(ys[test], p[test]))
            bar.update()
        oof[kind] = p
        table[kind] = {"roc_auc": np.mean(auc), "roc_auc_sd": np.std(auc), "average_precision": np.mean(ap)}
    bar.close()
    table = pd.DataFrame(table).T
    table["rows"] = len(ys)
    return (table, oof) if out_of_fold else table


def gains_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Gains and lift by decile of predicted probability (decile 1 = highest scores).

    ``lift`` = response rate of the decile / overall rate; ``cum_gain`` = share of all
    responders captured down to that decile.
    """
    df = pd.DataFrame({"y": np.asarray(y, float), "p": np.asarray(p, float)})
    rank = df["p"].rank(method="first", ascending=False)
    df["decile"] = np.ceil(rank / len(df) * n_bins).astype(int).clip(1, n_bins)
    g = df.groupby("decile").agg(customers=("y", "size"), responders=("y", "sum"),
                                 mean_score=("p", "mean"))
    g["response_rate"] = g["responders"] / g["customers"]
    g["lift"] = g["response_rate"] / df["y"].mean()
    g["cum_gain"] = g["responders"].cumsum() / df["y"].sum()
    g["cum_lift"] = g["cum_gain"] / (g["customers"].cumsum() / len(df))
    return g


def save_model(model: PropensityModel, path) -> Path:
    """Save a fitted model with its feature list and versions (``.joblib`` + ``.json``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path.with_suffix(".joblib"))
    meta = {"kind": model.kind, "features": model.feature_names_in_,
            "sklearn": sklearn.__version__, "dbmlib": __import__("dbmlib").__version__}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    return path.with_suffix(".joblib")


def load_model(path) -> PropensityModel:
    """Load a model saved by :func:`save_model`; refuses one saved with another scikit-learn."""
    path = Path(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    if meta["sklearn"] != sklearn.__version__:
        raise RuntimeError(f"{path}: saved with scikit-learn {meta['sklearn']}, this is "
                           f"{sklearn.__version__}; retrain the model")
    return joblib.load(path.with_suffix(".joblib"))
