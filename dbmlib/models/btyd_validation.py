"""Validate purchase models on held-out data and bootstrap their uncertainty."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.fast_text import factorize
from ..core.progress import bar
from .btyd_fit import distinct_rows
from .clv import PurchaseModel, SpendModel, customer_lifetime_value

__all__ = [
    "DistinctRows",
    "bootstrap_clv",
    "bootstrap_params",
    "by_calibration_frequency",
    "calibration_summary",
    "compare_purchase_models",
    "cumulative_tracking",
    "holdout_errors",
    "holdout_split",
    "parameter_table",
]


def calibration_summary(ch: pd.DataFrame) -> pd.DataFrame:
    """The calibration-period summary (``frequency``, ``recency``, ``T``, ``monetary_value``)
    of a :func:`~dbmlib.segment.rfm.calibration_and_holdout` table."""
    cols = [c for c in ch.columns if c.endswith("_cal")]
    return ch[cols].rename(columns=lambda c: c.removesuffix("_cal"))


def holdout_errors(model: PurchaseModel, ch: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Predicted vs actual holdout purchases per customer, with MAE and RMSE."""
    duration = float(ch["duration_holdout"].iloc[0])
    pred = model.expected_purchases(duration, calibration_summary(ch))
    out = pd.DataFrame({"actual": ch["frequency_holdout"], "predicted": pred})
    err = out["predicted"] - out["actual"]
    return out, {"mae": float(err.abs().mean()), "rmse": float(np.sqrt((err ** 2).mean())),
                 "actual_total": float(out["actual"].sum()),
                 "predicted_total": float(out["predicted"].sum())}


def holdout_split(order_ts: pd.Series, holdout_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(end, calibration_end)``: the day of the last order and the day ``holdout_days``
    before it, where the calibration period ends and the holdout begins."""
    end = pd.Timestamp(order_ts.max()).normalize()
    first = pd.Timestamp(order_ts.min()).normalize()
    span = (end - first).days
    if holdout_days <= 0 or end - pd.Timedelta(days=holdout_days) <= first:
        hint = f"holdout_days={max(span // 3, 1)} (a third of them)" if span >= 3 else \
            "a longer order history: the models need repeat purchases over time"
        raise InputError("transactions", column="order_ts",
                         problem=f"the orders span {span} days ({first.date()} to {end.date()}), so a "
                         f"holdout of holdout_days={holdout_days} leaves no calibration period",
                         expected=f"a holdout shorter than the history; try {hint}")
    return end, end - pd.Timedelta(days=holdout_days)


def compare_purchase_models(ch: pd.DataFrame, kinds) -> tuple[dict, pd.DataFrame]:
    """Fit each purchase model ``kind`` on the calibration columns of ``ch`` (from
    :func:`~dbmlib.segment.rfm.calibration_and_holdout`) and score it on the holdout.

    Returns
    -------
    fitted : dict of kind to fitted :class:`~dbmlib.models.clv.PurchaseModel`
    comparison : DataFrame indexed by kind
        MAE, RMSE, actual and predicted holdout totals, and the calibration log-likelihood.
    """
    fitted, errors = {}, {}
    for kind in kinds:
        fitted[kind] = PurchaseModel(kind).fit(calibration_summary(ch))
        _, errors[kind] = holdout_errors(fitted[kind], ch)
    loglik = pd.Series({k: m.log_likelihood_ for k, m in fitted.items()}, name="log_likelihood")
    return fitted, pd.DataFrame(errors).T.join(loglik)


def parameter_table(purchase: PurchaseModel, spend: SpendModel, boot: pd.DataFrame | None = None,
                    level: float = 0.9) -> pd.DataFrame:
    """Fitted parameters of the purchase and spend models (spend ones prefixed ``gg_``), with
    the bootstrap's central ``level`` interval when replicates ``boot`` are given."""
    fitted = pd.concat([purchase.params_, spend.params_.add_prefix("gg_")])
    out = pd.DataFrame({"fitted": fitted})
    if boot is not None:
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        out[f"boot {lo:.0%}"] = boot.quantile(lo)
        out[f"boot {hi:.0%}"] = boot.quantile(hi)
    return out


def by_calibration_frequency(ch: pd.DataFrame, predicted: pd.Series, max_bucket: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency (last bucket = max+)."""
    bucket = ch["frequency_cal"].clip(upper=max_bucket).astype(int)
    df = pd.DataFrame({"bucket": bucket, "actual": ch["frequency_holdout"], "predicted": predicted})
    out = df.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                   predicted=("predicted", "mean"))
    out.index = [f"{i}+" if i == max_bucket else str(i) for i in out.index]
    out.index.name = "calibration frequency"
    return out


def cumulative_tracking(model: PurchaseModel, transactions: pd.DataFrame, *, customer_id_col: str,
                        datetime_col: str, calibration_end, observation_end,
                        days_per_time_unit: float = 1.0, step_days: int = 7) -> pd.DataFrame:
    """Cumulative repeat purchases of the cohort, actual vs model, every ``step_days``.

    Expected = Σ over customers of E[X(t − first purchase)] (the model's population curve);
    actual counts repeat purchase days (several orders on one day count once, as the summary).
    """
    day = pd.to_datetime(transactions[datetime_col]).dt.normalize().to_numpy()
    cid, ids = factorize(transactions[customer_id_col])
    code = cid.astype(np.int64) + 1  # 0: the orders without an id, one customer of their own (as a group-by)
    dated, ticks = ~np.isnat(day), day.view(np.int64)
    first = np.full(len(ids) + 1, np.iinfo(np.int64).max)  # each customer's first day (none: never)
    np.minimum.at(first, code[dated], ticks[dated])
    cal = np.datetime64(pd.Timestamp(calibration_end)).astype(day.dtype).view(np.int64)
    later = np.flatnonzero(dated & (ticks > first[code]) & (first[code] <= cal))  # the cohort's later days
    day_code, _ = pd.factorize(ticks[later])
    once = ~pd.Series(code[later] * (int(day_code.max(initial=0)) + 1) + day_code).duplicated().to_numpy()
    repeats = np.sort(day[later][once])  # each (customer, day) once
    born, n_born = np.unique(first[first <= cal], return_counts=True)
    births = pd.Series(n_born, index=pd.DatetimeIndex(born.view(day.dtype)))
    start = births.index.min()
    grid = pd.date_range(start + pd.Timedelta(days=step_days), pd.Timestamp(observation_end),
                         freq=f"{step_days}D")
    if grid[-1] != pd.Timestamp(observation_end):  # always end on the last observed day
        grid = grid.append(pd.DatetimeIndex([pd.Timestamp(observation_end)]))
    rows = []
    for day in grid:
        age = ((day - births.index).days / days_per_time_unit).to_numpy(float)
        alive = age > 0
        expected = math.fsum(births.to_numpy()[alive] * model.expected_purchases_population(age[alive]))  # any order
        rows.append({"date": day, "actual": int(np.searchsorted(repeats, day.to_datetime64(), side="right")),
                     "expected": expected})
    out = pd.DataFrame(rows)
    out["period"] = np.where(out["date"] <= pd.Timestamp(calibration_end), "calibration", "holdout")
    return out


def bootstrap_params(summary: pd.DataFrame, *, kind: str = "bgnbd", n_boot: int = 30,
                     seed: int = 0, progress: bool = False, estimate: PurchaseModel | None = None
                     ) -> pd.DataFrame:
    """Purchase-model parameters refitted on ``n_boot`` resamples of customers (seeded);
    replicates start at ``estimate`` (the model fitted on ``summary``; fitted here if not
    given) and are weighted fits on the distinct rows (:class:`DistinctRows`). ``progress``
    shows a tqdm bar."""
    rng = np.random.default_rng(seed)
    start = _start(estimate, PurchaseModel(kind), summary)
    rows, newton = DistinctRows(summary), {}
    fits = (PurchaseModel(kind).fit(rows.frt, sample_weight=rows.frt_weights(_resample_counts(rng, len(summary))),
                                    initial_params=start, newton=newton)
            for _ in bar(range(n_boot), desc="bootstrap", enabled=progress))
    return pd.DataFrame([fit.params_ for fit in fits]).reset_index(drop=True)


class DistinctRows:
    """The distinct rows of a summary, so that a bootstrap replicate is a weighted fit on them.

    A resample of n customers with replacement is a multinomial draw of how often each customer
    is drawn; customers with the same ``(frequency, recency, T)`` (and ``monetary_value``) have
    the same likelihood, so summing their counts gives a multinomial draw over the distinct rows
    (probabilities: their shares of the customers) and the same likelihood as the resample —
    exact, not an approximation — while the fit and the CLV run once per distinct row. The
    draw itself stays one of customers (:func:`_resample_counts`), so a seed gives the
    replicates it always gave.

    Attributes
    ----------
    frt : DataFrame of the distinct ``(frequency, recency, T)`` rows (sorted)
    full : the distinct rows with ``monetary_value`` too (when the summary has it)
    """

    def __init__(self, summary: pd.DataFrame):
        cols = ["frequency", "recency", "T"]
        values, self._frt_of = distinct_rows(*(summary[c] for c in cols))
        self.frt = pd.DataFrame(dict(zip(cols, values)))
        self.full = self._full_of = None
        if "monetary_value" in summary:
            cols = [*cols, "monetary_value"]
            values, self._full_of = distinct_rows(*(summary[c] for c in cols))
            self.full = pd.DataFrame(dict(zip(cols, values)))

    def frt_weights(self, counts: np.ndarray) -> np.ndarray:
        """Per-customer counts summed over each distinct ``(frequency, recency, T)`` row."""
        return np.bincount(self._frt_of, weights=counts, minlength=len(self.frt))

    def full_weights(self, counts: np.ndarray) -> np.ndarray:
        """Per-customer counts summed over each distinct row with ``monetary_value``."""
        return np.bincount(self._full_of, weights=counts, minlength=len(self.full))

    def per_customer(self, values: np.ndarray) -> np.ndarray:
        """Values of the distinct rows with ``monetary_value`` (last axis) for every customer."""
        return values[..., self._full_of]


def _start(estimate, blank, summary: pd.DataFrame) -> np.ndarray:
    """Where replicates start: the caller's full-data estimate, or ``blank`` fitted now."""
    if estimate is None:
        return blank.fit(summary).params_.to_numpy()
    if getattr(estimate, "kind", None) != getattr(blank, "kind", None):
        raise ValueError(f"the estimate is a {estimate.kind} model, the bootstrap fits {blank.kind}")
    return estimate.params_.to_numpy()


def _resample_counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """How often each of ``n`` customers is drawn in a resample with replacement: the same
    draw as ``rng.integers(0, n, n)``, kept as counts, so a replicate is a weighted fit on
    the original rows instead of a copy of them (same estimates, no n-row copy)."""
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(float)


def bootstrap_clv(summary: pd.DataFrame, *, kind: str = "bgnbd", n_boot: int = 30, seed: int = 0,
                  horizon_months: int = 12, discount_rate_annual: float = 0.10, margin: float = 1.0,
                  days_per_time_unit: float = 1.0, level: float = 0.9, progress: bool = False,
                  estimate: tuple[PurchaseModel, SpendModel] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bootstrap over customers (seeded): parameter draws and each customer's CLV interval.

    Each replicate refits both models on a resample of customers (with replacement), started at
    the full-data estimate, and values *every* customer with the refitted models. The resample
    is kept as counts on the summary's distinct rows (:class:`DistinctRows`: the same
    likelihood as the resampled customers, exactly), and each refit takes Newton steps with
    one Hessian shared by the replicates (:func:`~dbmlib.models.btyd_fit.newton_refit`), so a
    replicate costs a few likelihood evaluations on the distinct rows. ``estimate`` is the
    (purchase, spend) pair fitted on ``summary``, if the caller has it (else both are fitted
    here).

    Returns ``(params, clv_interval)``: one row of parameters per replicate, and per customer
    ``clv_lo, clv_hi`` (the ``level`` central interval).
    """
    rng = np.random.default_rng(seed)
    purchase, spend = estimate if estimate is not None else (None, None)
    start_pm = _start(purchase, PurchaseModel(kind), summary)  # replicates start at the estimate
    start_sm = _start(spend, SpendModel(), summary)
    rows, newton_pm, newton_sm = DistinctRows(summary), {}, {}
    params, values = [], []
    for _ in bar(range(n_boot), desc="bootstrap CLV", enabled=progress):
        counts = _resample_counts(rng, len(summary))
        pm = PurchaseModel(kind).fit(rows.frt, sample_weight=rows.frt_weights(counts), initial_params=start_pm,
                                     newton=newton_pm)
        sm = SpendModel().fit(rows.full, sample_weight=rows.full_weights(counts), initial_params=start_sm,
                              newton=newton_sm)
        params.append(pd.concat([pm.params_, sm.params_.add_prefix("gg_")]))
        values.append(customer_lifetime_value(pm, sm, rows.full, horizon_months, discount_rate_annual,
                                              margin, days_per_time_unit).to_numpy())
    v = np.vstack(values)
    tail = (1 - level) / 2
    interval = pd.DataFrame({"clv_lo": rows.per_customer(np.quantile(v, tail, axis=0)),
                             "clv_hi": rows.per_customer(np.quantile(v, 1 - tail, axis=0))}, index=summary.index)
    return pd.DataFrame(params).reset_index(drop=True), interval
