"""Assemble the per-customer ``scores`` table of the modelling stage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .clv import PUBLISHED_CDNOW, PurchaseModel, SpendModel

__all__ = ["assemble_scores", "deciles", "published_comparison", "truth_comparison"]


def published_comparison(purchase: dict[str, PurchaseModel], spend: SpendModel) -> pd.DataFrame:
    """Fitted vs published CDNOW estimates, one row per model parameter."""
    rows = []
    for kind, model in purchase.items():
        for name, value in PUBLISHED_CDNOW[kind].items():
            fitted = model.log_likelihood_ if name == "log_likelihood" else model.params_[name]
            rows.append({"model": kind, "parameter": name, "published": value, "fitted": fitted})
    for name, value in PUBLISHED_CDNOW["gamma_gamma"].items():
        rows.append({"model": "gamma_gamma", "parameter": name, "published": value,
                     "fitted": spend.params_[name]})
    out = pd.DataFrame(rows)
    out["difference"] = out["fitted"] - out["published"]
    return out


def truth_comparison(model: PurchaseModel, boot_params: pd.DataFrame, truth: dict,
                     days_per_time_unit: float, level: float = 0.95) -> pd.DataFrame:
    """BG/NBD estimates vs the generator's truth (rates converted to the model's time unit)."""
    true = {"r": truth["r"], "alpha": truth["alpha"] / days_per_time_unit, "a": truth["a"],
            "b": truth["b"]}
    tail = (1 - level) / 2
    rows = []
    for name, value in true.items():
        lo, hi = boot_params[name].quantile([tail, 1 - tail])
        rows.append({"parameter": name, "truth": value, "fitted": model.params_[name],
                     "boot_lo": lo, "boot_hi": hi, "truth_inside": bool(lo <= value <= hi)})
    return pd.DataFrame(rows).set_index("parameter")


def deciles(values: pd.Series) -> pd.Series:
    """Decile 1 = the highest values."""
    rank = values.rank(method="first", ascending=False)
    return np.ceil(rank / len(values) * 10).clip(1, 10).astype("int64")


def assemble_scores(summary, purchase: PurchaseModel, spend: SpendModel, clv: pd.Series,
                    interval: pd.DataFrame, horizon: float, p_response=None, p_churn=None
                    ) -> pd.DataFrame:
    """P(alive), expected purchases over ``horizon``, expected spend, CLV with interval,
    propensities (when given) and deciles, per customer."""
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = purchase.p_alive(summary)
    out["expected_purchases"] = purchase.expected_purchases(horizon, summary)
    out["expected_spend"] = spend.expected_spend(summary)
    out["clv"] = clv
    out = out.join(interval)
    out["clv_decile"] = deciles(out["clv"])
    for name, p in (("p_response", p_response), ("p_churn", p_churn)):
        if p is not None:
            out[name] = p.reindex(out.index)
            out[f"{name}_decile"] = deciles(out[name].fillna(-1))
    out.index.name = "customer_id"
    return out
