"""Keep a fitted CLV model and score new data with it.

:func:`save_model_json` writes a fitted :class:`~dbmlib.models.clv.PurchaseModel`,
:class:`~dbmlib.models.clv.SpendModel`, :class:`~dbmlib.models.retention.RetentionModel` or
:class:`~dbmlib.models.covariates.CovariatePurchaseModel` (with its covariate levels) as
a small JSON file: the kind, the parameters, the log-likelihood, the time unit of the summary
it was fitted on, a fingerprint of that data (SHA-256 of its columns) and the package versions.
JSON rather than a pickle: a saved model is a handful of numbers, readable by anyone and safe
to load (a pickle runs code). :func:`load_model_json` rebuilds the estimator; scoring a new
summary needs the same time unit, which the loader checks when it is given.
"""

from __future__ import annotations

import hashlib
import json
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.io import atomic_write_text
from .clv import PurchaseModel, SpendModel
from .covariates import CovariatePurchaseModel
from .retention import RetentionModel

__all__ = ["data_fingerprint", "load_model_json", "save_model_json"]

_FORMAT = 1
_COLUMNS = {"PurchaseModel": ["frequency", "recency", "T"], "SpendModel": ["frequency", "monetary_value"],
            "RetentionModel": [], "CovariatePurchaseModel": ["frequency", "recency", "T"]}


def data_fingerprint(frame: pd.DataFrame | None, columns) -> str | None:
    """SHA-256 of the given columns' values (row order included), or None without data."""
    if frame is None or not columns:
        return None
    digest = hashlib.sha256()
    for c in columns:
        digest.update(c.encode())
        digest.update(np.ascontiguousarray(frame[c].to_numpy(float)).tobytes())
    return digest.hexdigest()


def _versions() -> dict:
    import scipy

    import dbmlib

    return {"dbmlib": dbmlib.__version__, "numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__}


def save_model_json(model, path, *, time_unit: str, data: pd.DataFrame | None = None) -> Path:
    """Write a fitted model to ``path`` (JSON, atomic) with its parameters, ``time_unit`` (e.g.
    ``"weeks"``, ``"days"``, ``"years"`` for periods), the fingerprint of the ``data`` it was
    fitted on and the package versions. Returns the path."""
    name = type(model).__name__
    if name not in _COLUMNS:
        raise TypeError(f"can save {', '.join(_COLUMNS)}, not {name}")
    if not hasattr(model, "params_"):
        raise ValueError(f"this {name} is not fitted: fit it before saving")
    record = {"format": _FORMAT, "model": name, "kind": getattr(model, "kind", None),
              "penalizer": getattr(model, "penalizer_", getattr(model, "penalizer", None)),
              "params": {k: float(v) for k, v in model.params_.items()},
              "log_likelihood": getattr(model, "log_likelihood_", None),
              "n_customers": getattr(model, "n_customers_", None), "time_unit": time_unit,
              "data_fingerprint": data_fingerprint(data, _COLUMNS[name]), "versions": _versions()}
    if name == "CovariatePurchaseModel":  # exact coefficients and how to encode new customers
        record |= {"theta": [float(v) for v in model.theta_], "design_columns": model.design_columns_,
                   "covariate_columns": model.covariate_columns_,
                   "levels": {c: {"reference": str(v["reference"]), "others": [str(o) for o in v["others"]]}
                              for c, v in model.levels_.items()},
                   "coefficients": json.loads(model.coefficients_.to_json(orient="split"))}
    path = Path(path)
    atomic_write_text(json.dumps(record, indent=2), path)
    return path


def load_model_json(path, *, time_unit: str | None = None):
    """The estimator saved by :func:`save_model_json`, ready to predict; with ``time_unit``,
    refuses a model fitted in another unit (its rates would be off by the unit's factor).
    The record is in ``model.saved_``."""
    path = Path(path)
    record = json.loads(path.read_text())
    if record.get("format") != _FORMAT or record.get("model") not in _COLUMNS:
        raise InputError(str(path), problem="not a model saved by dbmlib.models.save_model_json",
                         expected=f"a JSON record with format {_FORMAT}")
    if time_unit is not None and record["time_unit"] != time_unit:
        raise InputError(str(path), column="time_unit", problem=f"the model was fitted in {record['time_unit']}",
                         expected=f"a summary in {record['time_unit']} (this one is in {time_unit}): "
                                  "rebuild the summary in the model's unit, or refit")
    params = pd.Series(record["params"], dtype="float64")
    if record["model"] == "PurchaseModel":
        model = PurchaseModel(record["kind"], record["penalizer"] or 0.0)
        model.penalizer_ = record["penalizer"] or 0.0
    elif record["model"] == "SpendModel":
        model = SpendModel(record["penalizer"] or 0.0)
    elif record["model"] == "CovariatePurchaseModel":
        model = CovariatePurchaseModel(record["kind"])
        model.theta_ = np.asarray(record["theta"], float)
        model.design_columns_, model.covariate_columns_ = record["design_columns"], record["covariate_columns"]
        model.levels_ = record["levels"]
        model.coefficients_ = pd.read_json(StringIO(json.dumps(record["coefficients"])), orient="split")
    else:
        model = RetentionModel()
        model.alpha_, model.beta_ = float(params["alpha"]), float(params["beta"])
    model.params_ = params
    model.log_likelihood_ = record["log_likelihood"]
    model.n_customers_ = record["n_customers"]
    model.saved_ = record
    return model
