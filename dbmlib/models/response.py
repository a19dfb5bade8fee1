"""Stage 04's propensity scores: who will respond to the next campaign, who will lapse.

:func:`fit_response_model` learns from the treated customers of past campaigns (features as of
each campaign's start), picks the better of logistic regression and gradient boosting by
cross-validated ROC AUC, and scores every buyer for the next campaign on the last campaign's
channel; :func:`fit_churn_model` does the same for lapsing within ``churn_days``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .propensity import PropensityModel, compare_models, gains_table
from .training_sets import churn_training_set, response_training_set

__all__ = ["PropensityResult", "fit_churn_model", "fit_response_model"]


@dataclass
class PropensityResult:
    """A chosen propensity model with its evidence.

    Attributes
    ----------
    cv : cross-validated ROC AUC and average precision of both kinds
    kind : the chosen kind (highest ROC AUC)
    model : the chosen kind refitted on all training rows
    scores : P(event) per customer scored
    gains : gains table of the out-of-fold probabilities (response model only)
    oof : out-of-fold probabilities with the outcome ``y`` (response model only)
    importance : drop in ROC AUC when each input is shuffled (response model only)
    """

    cv: pd.DataFrame
    kind: str
    model: PropensityModel
    scores: pd.Series
    gains: pd.DataFrame | None = None
    oof: pd.DataFrame | None = None
    importance: pd.Series | None = None

    def metrics(self, name: str) -> dict:
        """``<name>.roc_auc.logistic``, ``<name>.roc_auc.gbm`` and, with a gains table,
        ``<name>.top_decile_lift``."""
        out = {f"{name}.roc_auc.{k}": self.cv.loc[k, "roc_auc"] for k in ("logistic", "gbm")}
        if self.gains is not None:
            out[f"{name}.top_decile_lift"] = self.gains.loc[1, "lift"]
        return out


def fit_response_model(customers: pd.DataFrame, transactions, campaigns: pd.DataFrame,
                       contacts: pd.DataFrame, now: pd.DataFrame, *, cv: int = 3, random_state: int = 0,
                       max_rows: int | None = None, progress: bool = False) -> PropensityResult | None:
    """P(response) for every row of ``now`` (features as of the next campaign), or ``None``
    when the source has no campaign history to learn from. ``transactions``: the orders, or
    their :class:`~dbmlib.models.training_sets.OrderCodes` (encoded once for several models)."""
    if not (len(campaigns) and len(contacts)):
        return None
    X, y = response_training_set(customers, transactions, campaigns, contacts)
    table, oof = compare_models(X, y, extra_categorical=["campaign_channel"], cv=cv, random_state=random_state,
                                max_rows=max_rows, out_of_fold=True, progress=progress)
    kind = table["roc_auc"].idxmax()
    model = PropensityModel(kind, ["campaign_channel"], random_state=random_state, max_rows=max_rows).fit(X, y)
    channel = campaigns["channel"].iloc[-1]
    scores = pd.Series(model.predict_proba(now.assign(campaign_channel=channel))[:, 1], index=now.index)
    return PropensityResult(table, kind, model, scores, gains_table(oof["y"], oof[kind]), oof,
                            model.permutation_importance(X, y, n_repeats=3))


def fit_churn_model(customers: pd.DataFrame, transactions, now: pd.DataFrame, *, end,
                    churn_days: int = 180, cv: int = 3, random_state: int = 0, max_rows: int | None = None,
                    progress: bool = False) -> PropensityResult:
    """P(no order in the next ``churn_days``) for every row of ``now``, learnt from who lapsed
    in the ``churn_days`` before ``end``; ``transactions`` as in :func:`fit_response_model`."""
    Xc, yc = churn_training_set(customers, transactions, pd.Timestamp(end) - pd.Timedelta(days=churn_days),
                                churn_days)
    table = compare_models(Xc, yc, cv=cv, random_state=random_state, max_rows=max_rows, progress=progress)
    kind = table["roc_auc"].idxmax()
    model = PropensityModel(kind, random_state=random_state, max_rows=max_rows).fit(Xc, yc)
    return PropensityResult(table, kind, model, pd.Series(model.predict_proba(now)[:, 1], index=now.index))
