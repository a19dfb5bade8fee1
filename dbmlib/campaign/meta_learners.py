"""Uplift on any randomised experiment: any features, two or more offers, binary or
continuous outcomes.

:class:`UpliftModel` estimates, for every customer and every offer ("arm") of an experiment,
the effect of that offer against the no-contact control — ``E[Y | arm, x] − E[Y | control, x]``
— where ``Y`` is a yes/no response (the effect is then a change in probability) or an amount
such as revenue (a change in money). Four standard meta-learners (Künzel et al., 2019;
Jaskowski & Jaroszewicz, 2012) on any scikit-learn base learner ("gbm": histogram gradient
boosting, "logistic": a logistic or ridge regression):

* ``"t"`` (two models): one model of ``Y`` per arm and one for the control; effect =
  difference of their predictions;
* ``"s"`` (single model): one model of ``Y`` on the features *and* the arm (one-hot);
  effect = its prediction with the arm switched on minus with the control;
* ``"x"`` (X-learner): the T-learner's models impute each customer's individual effect —
  ``Y − μ_control(x)`` for the treated, ``μ_arm(x) − Y`` for the controls — two regressions
  learn these, and their blend weighted by the arm's share ``e`` (``e·τ_control +
  (1 − e)·τ_arm``) is the effect; it is the learner of choice when an arm is much smaller
  than the control or the reverse;
* ``"class_transformation"``: for a yes/no response, one classifier on
  ``W = Y·T + (1 − Y)(1 − T)`` with the two groups weighted equally gives ``2·P(W=1) − 1``;
  for an amount, one regression on the transformed outcome ``Y·(T/e − (1 − T)/(1 − e))``,
  whose expectation is the effect.

Features: numeric columns are used as they are (gradient boosting; standardised for the
linear learners, missing values imputed by the median), every other column (text, category,
boolean) is categorical — one-hot for the linear learners (levels seen fewer than 20 times
pooled), native categories for gradient boosting (beyond 250 levels, e.g. a postcode, the
rarest are pooled); ``categorical=`` names them explicitly. The treatment may hold any labels; the one
named ``control_label`` is the no-contact group.

:meth:`UpliftModel.best_treatment` turns the effects into a decision: for each customer the
arm with the highest expected incremental profit ``effect × value_per_response −
cost_per_contact`` (value and cost may differ by arm), or no contact when none is positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..core.errors import InputError
from ..models.category_codes import CategoryCodes

__all__ = ["METHODS", "NO_CONTACT", "UpliftModel"]

#: The meta-learners of :class:`UpliftModel`.
METHODS = ("t", "s", "x", "class_transformation")
#: What :meth:`UpliftModel.best_treatment` returns for a customer no arm pays for.
NO_CONTACT = "no contact"
_ARM = "_arm_"  # prefix of the S-learner's arm indicator columns
_MAX_LEVELS = 250  # gradient boosting's native categories allow 255 levels: rarer ones are pooled


def _rows(mask) -> list[int]:
    return (np.flatnonzero(np.asarray(mask)) + 1)[:5].tolist()


def _outcome(y, n: int) -> tuple[np.ndarray, str]:
    """The outcome as floats and its type: "binary" (only 0/1 or booleans) or "continuous"."""
    s = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy())
    if len(s) != n:
        raise InputError("uplift data", column="outcome", problem=f"{len(s)} outcomes for {n} rows",
                         expected="one outcome per row of X")
    if s.dtype == bool or str(s.dtype) == "boolean":
        s = s.astype("float64")
    values = pd.to_numeric(s, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0.0))
    if bad.any():
        raise InputError("uplift data", column="outcome", rows=_rows(bad),
                         problem=f"{int(bad.sum())} missing or non-numeric outcomes (e.g. {s[bad].iloc[0]!r})",
                         expected="a yes/no response coded 0/1 or True/False, or an amount such as revenue")
    v = values.to_numpy(float)
    return v, "binary" if np.isin(v, (0.0, 1.0)).all() else "continuous"


def _treatment(treatment, n: int, control_label) -> tuple[np.ndarray, list]:
    """Treatment labels as an object array and the arms (labels other than the control, in
    sorted order), checked: no missing labels, a control group and at least one arm with rows."""
    t = pd.Series(np.asarray(treatment, dtype=object) if not isinstance(treatment, pd.Series)
                  else treatment.astype(object).to_numpy())
    if len(t) != n:
        raise InputError("uplift data", column="treatment", problem=f"{len(t)} labels for {n} rows",
                         expected="one treatment label per row of X")
    if t.isna().any():
        raise InputError("uplift data", column="treatment", rows=_rows(t.isna()),
                         problem=f"{int(t.isna().sum())} missing treatment labels",
                         expected=f"every row in an arm or in the control group ({control_label!r})")
    labels = sorted(t.unique(), key=str)
    if control_label not in labels:
        raise InputError("uplift data", column="treatment", problem=f"no control rows: labels {labels[:6]}",
                         expected=f"some rows labelled control_label={control_label!r} (customers not contacted); "
                                  "set control_label to your control group's label")
    arms = [a for a in labels if a != control_label]
    if not arms:
        raise InputError("uplift data", column="treatment", problem="only control rows",
                         expected="at least one treated arm beside the control group")
    return t.to_numpy(), arms


class UpliftModel(BaseEstimator):
    """Effect of each arm of a randomised experiment against its control, per customer.

    Parameters
    ----------
    method : {"t", "s", "x", "class_transformation"}
        The meta-learner (see the module docstring).
    learner : {"gbm", "logistic"}
        Base learner: histogram gradient boosting, or a logistic (binary) / ridge
        (continuous) regression on standardised, one-hot encoded features.
    control_label : the treatment label of the no-contact group (default 0).
    categorical : list of column names treated as categorical, or None to detect them
        (every non-numeric column).
    random_state : int
        Seed of the gradient-boosting learners and of the row cap.
    max_rows : int or None
        Each base learner trains on a seeded sample of at most this many rows.

    Attributes
    ----------
    arms_ : list of the treatment labels other than the control, sorted
    outcome_type_ : "binary" or "continuous"
    numeric_, categorical_ : the feature columns of each kind
    shares_ : dict arm → its share among the arm's and the control's rows (the randomisation)
    models_ : dict of fitted base learners
    n_rows_ : rows fitted on
    """

    def __init__(self, method: str = "t", learner: str = "gbm", control_label=0, categorical=None,
                 random_state: int = 0, max_rows: int | None = None):
        self.method = method
        self.learner = learner
        self.control_label = control_label
        self.categorical = categorical
        self.random_state = random_state
        self.max_rows = max_rows

    # --- base learners -------------------------------------------------------------------
    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.numeric_ + self.categorical_ if c not in X.columns]
        if missing:
            raise InputError("uplift data", column=missing[0], problem=f"feature columns missing: {missing}",
                             expected=f"the columns the model was fitted on: {self.numeric_ + self.categorical_}")
        out = X[self.numeric_ + self.categorical_].copy()
        for c in self.categorical_:
            out[c] = out[c].astype("string").fillna("(missing)")
        return out

    def _base(self, kind: str, extra_numeric=()) -> Pipeline:
        """A fresh base learner: ``kind`` "classifier" or "regressor"."""
        numeric = self.numeric_ + list(extra_numeric)
        if self.learner == "gbm":
            pre = ColumnTransformer([("num", "passthrough", numeric),
                                     ("cat", Pipeline([("codes", CategoryCodes()), ("ordinal", OrdinalEncoder(
                                         handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1,
                                         max_categories=_MAX_LEVELS))]), self.categorical_)])
            cats = np.arange(len(numeric), len(numeric) + len(self.categorical_)) if self.categorical_ else None
            params = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0,
                          categorical_features=cats, early_stopping=False, random_state=self.random_state)
            model = (HistGradientBoostingClassifier(**params) if kind == "classifier"
                     else HistGradientBoostingRegressor(**params))
        elif self.learner == "logistic":
            pre = ColumnTransformer([("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                                       ("scale", StandardScaler())]), numeric),
                                     ("cat", Pipeline([("codes", CategoryCodes()),
                                                       ("onehot", OneHotEncoder(handle_unknown="ignore", min_frequency=20))]),
                                      self.categorical_)])
            model = LogisticRegression(max_iter=2000) if kind == "classifier" else Ridge(alpha=1.0)
        else:
            raise ValueError(f"learner must be 'gbm' or 'logistic', got {self.learner!r}")
        return Pipeline([("features", pre), ("model", model)])

    def _sample(self, rows: np.ndarray) -> np.ndarray:
        if self.max_rows is None or len(rows) <= self.max_rows:
            return rows
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(rows, self.max_rows, replace=False))

    def _fit_outcome(self, F: pd.DataFrame, y: np.ndarray, rows: np.ndarray, weight=None, kind=None):
        """A base learner of ``y`` on ``rows`` of ``F``: a classifier for a binary outcome
        (both classes present), else a regressor."""
        rows = self._sample(rows)
        kind = kind or ("classifier" if self.outcome_type_ == "binary" and len(np.unique(y[rows])) == 2
                        else "regressor")
        extra = {} if weight is None else {"model__sample_weight": weight[rows]}
        return self._base(kind, [c for c in F.columns if c.startswith(_ARM)]).fit(F.iloc[rows], y[rows], **extra)

    @staticmethod
    def _predict(model: Pipeline, F: pd.DataFrame) -> np.ndarray:
        if hasattr(model, "predict_proba"):
            return model.predict_proba(F)[:, 1]
        return model.predict(F)

    # --- fit and predict -----------------------------------------------------------------
    def fit(self, X: pd.DataFrame, treatment, y, outcome_models: UpliftModel | None = None) -> UpliftModel:
        """Fit on a randomised experiment: ``X`` the customers' features (a DataFrame), their
        ``treatment`` labels and outcome ``y`` (0/1 or an amount). Returns self.

        ``outcome_models``: a T- or X-learner already fitted with the same settings on the same
        ``X``, ``treatment`` and ``y``; its outcome models of the control and of each arm —
        the first stage of the T- and X-learners, the same fits — are taken instead of fitted
        again."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {self.method!r}")
        if not isinstance(X, pd.DataFrame) or X.empty:
            raise InputError("uplift data", problem="X is not a non-empty DataFrame",
                             expected="one row per customer of the experiment, one column per feature")
        t, self.arms_ = _treatment(treatment, len(X), self.control_label)
        y, self.outcome_type_ = _outcome(y, len(X))
        cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]
        self.categorical_ = list(self.categorical) if self.categorical is not None else cats
        unknown = [c for c in self.categorical_ if c not in X.columns]
        if unknown:
            raise InputError("uplift data", column=unknown[0], problem="categorical column not in X",
                             expected=f"one of {list(X.columns)}")
        self.numeric_ = [c for c in X.columns if c not in self.categorical_]
        bad = [c for c in self.numeric_ if not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise InputError("uplift data", column=bad[0], problem="not numeric",
                             expected="a numeric column, or name it in categorical=")
        F = self._features(X)
        control = np.flatnonzero(t == self.control_label)
        self.shares_, self.models_ = {}, {}
        shared = self._shared_outcomes(outcome_models, len(X))
        if self.method == "s":
            S = self._with_arms(F, t)
            self.models_["s"] = self._fit_outcome(S, y, np.arange(len(F)))
        if self.method in ("t", "x"):
            self.models_["control"] = shared["control"] if shared else self._fit_outcome(F, y, control)
        for arm in self.arms_:
            rows = np.flatnonzero(t == arm)
            self.shares_[arm] = len(rows) / (len(rows) + len(control))
            if self.method in ("t", "x"):
                self.models_[arm] = shared[arm] if shared else self._fit_outcome(F, y, rows)
            if self.method == "x":
                # imputed effects only where the effect models learn: their (seeded) samples of the rows
                fit_rows, fit_control = self._sample(rows), self._sample(control)
                imputed = np.zeros(len(F))
                imputed[fit_rows] = y[fit_rows] - self._predict(self.models_["control"], F.iloc[fit_rows])
                imputed[fit_control] = self._predict(self.models_[arm], F.iloc[fit_control]) - y[fit_control]
                self.models_[(arm, "treated")] = self._fit_outcome(F, imputed, rows, kind="regressor")
                self.models_[(arm, "control")] = self._fit_outcome(F, imputed, control, kind="regressor")
            if self.method == "class_transformation":
                self.models_[arm] = self._fit_transformed(F, t, y, arm, rows, control)
        self.n_rows_ = len(X)
        return self

    def _shared_outcomes(self, other: UpliftModel | None, n_rows: int) -> dict | None:
        """The first-stage outcome models of ``other`` (see :meth:`fit`), checked to be fits of
        the same kind; None when there is no such model or this method has no first stage."""
        if other is None or self.method not in ("t", "x"):
            return None
        same = (other.method in ("t", "x") and getattr(other, "n_rows_", None) == n_rows
                and getattr(other, "outcome_type_", None) == self.outcome_type_ and other.arms_ == self.arms_
                and other.categorical_ == self.categorical_ and other.numeric_ == self.numeric_
                and (other.learner, other.random_state, other.max_rows, other.control_label)
                == (self.learner, self.random_state, self.max_rows, self.control_label))
        if not same:
            raise ValueError("outcome_models must be a T- or X-learner fitted with the same settings on the same data")
        return other.models_

    def _fit_transformed(self, F, t, y, arm, rows, control):
        both = np.sort(np.concatenate([rows, control]))
        treated = (t[both] == arm).astype(float)
        e = self.shares_[arm]
        if self.outcome_type_ == "binary":
            w = np.zeros(len(F))
            w[both] = y[both] * treated + (1 - y[both]) * (1 - treated)
            weight = np.zeros(len(F))
            weight[both] = np.where(treated == 1, 0.5 / e, 0.5 / (1 - e))  # the groups count equally
            return self._fit_outcome(F, w, both, weight=weight, kind="classifier")
        z = np.zeros(len(F))
        z[both] = y[both] * (treated / e - (1 - treated) / (1 - e))
        return self._fit_outcome(F, z, both, kind="regressor")

    def _with_arms(self, F: pd.DataFrame, arm_of) -> pd.DataFrame:
        """``F`` with one indicator column per arm (all 0 for the control)."""
        arm_of = np.asarray(arm_of, dtype=object)
        return F.assign(**{f"{_ARM}{i}": (arm_of == a).astype(float) for i, a in enumerate(self.arms_)})

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """The effect of each arm against the control for every row of ``X``: one column per
        arm (named by its label), indexed like ``X``; a change in probability for a binary
        outcome, in the outcome's unit for an amount."""
        check_is_fitted(self, "models_")
        F = self._features(X)
        out = {}
        control = self._predict(self.models_["control"], F) if self.method == "t" else None  # once for every arm
        for arm in self.arms_:
            if self.method == "t":
                out[arm] = self._predict(self.models_[arm], F) - control
            elif self.method == "s":
                on = self._predict(self.models_["s"], self._with_arms(F, np.full(len(F), arm, dtype=object)))
                off = self._predict(self.models_["s"], self._with_arms(F, np.full(len(F), self.control_label,
                                                                                    dtype=object)))
                out[arm] = on - off
            elif self.method == "x":
                e = self.shares_[arm]
                out[arm] = (e * self.models_[(arm, "control")].predict(F)
                            + (1 - e) * self.models_[(arm, "treated")].predict(F))
            else:
                p = self._predict(self.models_[arm], F)
                out[arm] = 2 * p - 1 if self.outcome_type_ == "binary" else p
        return pd.DataFrame(out, index=X.index)

    def predict_uplift(self, X: pd.DataFrame) -> np.ndarray:
        """The effect of the only arm (two-group experiments), as the campaign planner uses it."""
        check_is_fitted(self, "models_")
        if len(self.arms_) != 1:
            raise ValueError(f"predict_uplift is for one arm; this model has {len(self.arms_)}: use predict()")
        return self.predict(X)[self.arms_[0]].to_numpy()

    def expected_profit(self, X: pd.DataFrame, *, value_per_response=1.0, cost_per_contact=0.0) -> pd.DataFrame:
        """Expected incremental profit of sending each arm: ``effect × value − cost``, one column
        per arm. ``value_per_response`` and ``cost_per_contact`` are numbers, or dicts by arm
        (an amount outcome usually takes the margin as its value)."""
        effects = self.predict(X)
        value = {a: value_per_response.get(a, 0.0) if isinstance(value_per_response, dict) else value_per_response
                 for a in self.arms_}
        cost = {a: cost_per_contact.get(a, 0.0) if isinstance(cost_per_contact, dict) else cost_per_contact
                for a in self.arms_}
        return pd.DataFrame({a: effects[a] * value[a] - cost[a] for a in self.arms_}, index=X.index)

    def best_treatment(self, X: pd.DataFrame, *, value_per_response=1.0, cost_per_contact=0.0) -> pd.Series:
        """For each row of ``X`` the arm with the highest expected incremental profit
        (:meth:`expected_profit`), or :data:`NO_CONTACT` when no arm's is above zero."""
        profit = self.expected_profit(X, value_per_response=value_per_response, cost_per_contact=cost_per_contact)
        best = profit.to_numpy().argmax(axis=1)
        top = profit.to_numpy()[np.arange(len(profit)), best]
        arms = np.asarray(self.arms_, dtype=object)
        return pd.Series(np.where(top > 0, arms[best], NO_CONTACT), index=X.index, name="best_treatment",
                         dtype=object)

