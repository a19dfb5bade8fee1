"""Can a fitted purchase model be trusted? Identifiability and prediction checks, in words.

A BG/NBD or Pareto/NBD fit can converge and still say nothing: on a short history the dropout
process is not identified — ``a`` runs to zero or ``b`` to infinity, the bootstrap interval of
a parameter spans orders of magnitude — and every customer then looks alive. A model can also
predict infinite or missing values (MBG/NBD on some data). These functions flag such fits so
the notebook says so and chooses another model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["choose_model", "diagnose", "parameter_flags"]

#: A parameter below ``LOW`` or above ``HIGH`` sits at the edge of what the data can tell.
LOW, HIGH = 1e-3, 1e3
#: A bootstrap interval whose ends differ by more than this factor does not identify the parameter.
SPREAD = 100.0


def parameter_flags(params: pd.Series) -> dict[str, str]:
    """``{parameter: reason}`` for each parameter at a bound (→ 0 or → ∞)."""
    flags = {}
    for name, value in params.items():
        if not np.isfinite(value):
            flags[name] = f"{name} is not finite"
        elif value < LOW:
            flags[name] = f"{name} = {value:.2g} runs to zero"
        elif value > HIGH:
            flags[name] = f"{name} = {value:,.0f} runs to infinity"
    return flags


def diagnose(params: pd.Series, boot: pd.DataFrame | None = None, predictions=None,
             level: float = 0.95) -> pd.DataFrame:
    """One row per parameter: fitted value, bootstrap interval, and a ``flag`` naming what is
    wrong (empty when nothing is); ``attrs["trusted"]`` and ``attrs["verdict"]`` sum it up.

    Parameters
    ----------
    params : the fitted parameters (``model.params_``)
    boot : bootstrap replicates, one column per parameter (e.g. from ``bootstrap_clv``)
    predictions : values the model predicted (expected purchases, P(alive)); any infinite or
        missing value is flagged
    """
    tail = (1 - level) / 2
    table = pd.DataFrame({"fitted": params.astype(float)})
    if boot is not None:
        cols = [c for c in params.index if c in boot.columns]
        table.loc[cols, "boot_lo"] = boot[cols].quantile(tail)
        table.loc[cols, "boot_hi"] = boot[cols].quantile(1 - tail)
    flags = parameter_flags(params)
    if boot is not None:
        for name in table.index[table.get("boot_lo", pd.Series(dtype=float)).notna()]:
            lo, hi = table.loc[name, "boot_lo"], table.loc[name, "boot_hi"]
            if name not in flags and (lo <= 0 or hi / lo > SPREAD):
                flags[name] = f"{name}'s bootstrap interval {lo:.3g}–{hi:,.3g} spans orders of magnitude"
    table["flag"] = [flags.get(name, "") for name in table.index]
    problems = list(flags.values())
    if predictions is not None:
        bad = ~np.isfinite(np.asarray(predictions, dtype=float))
        if bad.any():
            problems.append(f"{int(bad.sum()):,} predictions are infinite or missing")
    table.attrs["trusted"] = not problems
    table.attrs["verdict"] = ("The fit identifies every parameter and predicts finite values."
                              if not problems else
                              "Do not trust this model's P(alive) and predictions: " + "; ".join(problems) +
                              ". The data cannot tell how customers drop out (a short or sparse history); "
                              "prefer another model, a longer history or coarser time units.")
    return table


def choose_model(comparison: pd.DataFrame, fitted: dict) -> tuple[str, str]:
    """The model a run should use: the lowest holdout RMSE among models with finite errors and
    no parameter at a bound, and a sentence saying why (and what was passed over).

    Returns
    -------
    (kind, reason)
    """
    usable, passed = [], []
    for kind, row in comparison.iterrows():
        issues = list(parameter_flags(fitted[kind].params_).values())
        if not (np.isfinite(row["mae"]) and np.isfinite(row["rmse"])):
            issues.append("its holdout errors are infinite")
        if issues:
            passed.append(f"{kind} ({'; '.join(issues)})")
        else:
            usable.append(kind)
    if usable:
        best = comparison.loc[usable, "rmse"].idxmin()
        reason = f"{best}: the lowest holdout RMSE" + (
            f" among the trustworthy fits; passed over: {', '.join(passed)}" if passed else "")
        return best, reason
    finite = comparison[np.isfinite(comparison["rmse"])]
    best = finite["rmse"].idxmin() if len(finite) else comparison.index[0]
    return best, (f"{best}, although no model fits trustworthily ({', '.join(passed)}): read its "
                  "predictions with care")
