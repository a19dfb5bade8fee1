"""Measure what a campaign really earned: lift against a random control group.

:func:`evaluate_ab` compares every test cell with the control group: response rates,
absolute lift (difference) and relative lift (ratio) with 95 % confidence intervals, the
p-value of a two-proportion test, incremental responders, incremental revenue and profit
with intervals, and ROI. The tests and intervals come from statsmodels
(``test_proportions_2indep``, ``confint_proportions_2indep``) and scipy (Welch's t for
revenue), not from hand-written formulas.

Definitions (per test cell with ``n_t`` customers against the control):

* incremental responders = (rate_t − rate_c) × n_t
* incremental revenue = (mean revenue per customer_t − per customer_c) × n_t
* incremental profit = incremental revenue × margin − contact cost of the cell
* ROI = incremental profit / contact cost
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..core.errors import InputError
from ..core.parsing import parse_flags

__all__ = ["binary_outcome", "evaluate_ab", "evaluate_by", "evaluate_campaigns"]


def _diff_means_ci(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float]:
    """Welch interval for mean(a) − mean(b)."""
    if len(a) < 2 or len(b) < 2 or (a.var() == 0 and b.var() == 0):
        d = float(a.mean() - b.mean()) if len(a) and len(b) else np.nan
        return d, d
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    return float(ci.low), float(ci.high)


def binary_outcome(values, *, name: str = "responded", source: str = "campaign contacts") -> np.ndarray:
    """A yes/no outcome as 0.0/1.0: booleans, 0/1 numbers or yes/no, true/false, y/n text.

    Raises
    ------
    InputError
        Naming the rows with a missing value or a value that is not yes/no (``2``, ``0.5``).
    """
    s = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s.dtype):
        flags = s.astype("boolean")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        flags = s.map({0: False, 1: True}).astype("boolean")  # 0.0 and 1.0 hash as 0 and 1
    else:
        flags = parse_flags(s.astype("string"))
    bad = flags.isna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad) + 1
        raise InputError(source, column=name, rows=rows, values=s[bad].head(5).tolist(),
                         problem="not a yes/no outcome",
                         expected="1/0, true/false or yes/no on every row (a revenue goes in its own column)")
    return flags.to_numpy(dtype=bool).astype(float)


def _group_labels(contacts: pd.DataFrame, group_col: str) -> pd.Series:
    missing = contacts[group_col].isna().to_numpy()
    if missing.any():
        raise InputError("campaign contacts", column=group_col, rows=np.flatnonzero(missing) + 1,
                         problem="group missing", expected="the control or test cell of every customer")
    return contacts[group_col].astype(str)


def evaluate_ab(contacts: pd.DataFrame, group_col: str = "group", response_col: str = "responded",
                revenue_col: str | None = None, cost_col: str | None = None,
                control_label: str = "control", *, margin: float = 1.0, level: float = 0.95
                ) -> pd.DataFrame:
    """One row per test cell: n, responders, rates, lift with intervals, p-value, increments, ROI.

    Parameters
    ----------
    contacts : one row per customer of the experiment (contacted or withheld).
    revenue_col : response revenue per customer (0 for non-responders); enables the revenue,
        profit and ROI columns.
    cost_col : contact cost per customer (0 in the control group).
    margin : gross margin applied to incremental revenue for profit and ROI.

    Raises
    ------
    InputError
        Missing columns, no control group, or an empty cell.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    cols = [group_col, response_col] + [c for c in (revenue_col, cost_col) if c]
    missing = [c for c in cols if c not in contacts.columns]
    if missing:
        raise InputError("campaign contacts", column=missing[0], problem="column missing",
                         expected=f"columns {cols}")
    groups = _group_labels(contacts, group_col)
    if not (groups == control_label).any():
        raise InputError("campaign contacts", column=group_col, problem="no control group",
                         expected=f"some rows with {group_col} = {control_label!r} (customers "
                                  "withheld from contact): without them no lift can be measured")
    y = binary_outcome(contacts[response_col], name=response_col)
    is_c = (groups == control_label).to_numpy()
    n_c, x_c = int(is_c.sum()), float(y[is_c].sum())
    rev = contacts[revenue_col].astype(float).to_numpy() if revenue_col else None
    cost = contacts[cost_col].astype(float).to_numpy() if cost_col else None
    rows = []
    for cell in sorted(set(groups) - {control_label}):
        t = (groups == cell).to_numpy()
        n_t, x_t = int(t.sum()), float(y[t].sum())
        rate_t, rate_c = x_t / n_t, x_c / n_c
        row = {"cell": cell, "n": n_t, "responders": int(x_t), "response_rate": rate_t,
               "control_n": n_c, "control_responders": int(x_c), "control_rate": rate_c,
               "abs_lift": rate_t - rate_c}
        lo, hi = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="diff", method="wald",
                                            alpha=1 - level)
        row["abs_lift_lo"], row["abs_lift_hi"] = float(lo), float(hi)
        row["rel_lift"] = rate_t / rate_c - 1 if rate_c > 0 else np.nan
        if x_t > 0 and x_c > 0:
            lo, hi = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="ratio", method="log",
                                                alpha=1 - level)
            row["rel_lift_lo"], row["rel_lift_hi"] = float(lo) - 1, float(hi) - 1
        else:
            row["rel_lift_lo"] = row["rel_lift_hi"] = np.nan
        if 0 < x_t + x_c < n_t + n_c:
            with np.errstate(divide="ignore", invalid="ignore"):  # statsmodels also forms the
                # odds ratio, which is infinite when one group has no responders
                row["p_value"] = float(test_proportions_2indep(x_t, n_t, x_c, n_c, method="wald",
                                                               compare="diff").pvalue)
        else:
            row["p_value"] = 1.0  # no variation at all: no evidence of a difference
        row["incremental_responders"] = row["abs_lift"] * n_t
        row["incremental_responders_lo"] = row["abs_lift_lo"] * n_t
        row["incremental_responders_hi"] = row["abs_lift_hi"] * n_t
        if rev is not None:
            d = rev[t].mean() - rev[is_c].mean()
            lo, hi = _diff_means_ci(rev[t], rev[is_c], level)
            row.update(revenue=float(rev[t].sum()), incremental_revenue=float(d * n_t),
                       incremental_revenue_lo=lo * n_t, incremental_revenue_hi=hi * n_t)
        if cost is not None:
            row["cost"] = float(cost[t].sum())
        if rev is not None and cost is not None:
            row["incremental_profit"] = row["incremental_revenue"] * margin - row["cost"]
            row["incremental_profit_lo"] = row["incremental_revenue_lo"] * margin - row["cost"]
            row["incremental_profit_hi"] = row["incremental_revenue_hi"] * margin - row["cost"]
            row["roi"] = row["incremental_profit"] / row["cost"] if row["cost"] > 0 else np.nan
        row["significant"] = row["p_value"] < 1 - level
        rows.append(row)
    return pd.DataFrame(rows).set_index("cell")


def evaluate_by(contacts: pd.DataFrame, by: str, **kwargs) -> pd.DataFrame:
    """:func:`evaluate_ab` within each value of ``by`` (segment, decile); strata without a
    control group or a test cell are skipped and counted in the ``skipped`` attribute."""
    if by not in contacts.columns:
        raise InputError("campaign contacts", column=by, problem="column missing",
                         expected=f"a column to split the evaluation by; the contacts have {list(contacts.columns)}")
    parts, skipped = [], []
    group_col = kwargs.get("group_col", "group")
    control = kwargs.get("control_label", "control")
    for value, sub in contacts.groupby(by, observed=True, sort=True):
        g = sub[group_col].astype(str)
        if not (g == control).any() or (g == control).all():
            skipped.append(value)
            continue
        parts.append(evaluate_ab(sub, **kwargs).assign(**{by: value}).reset_index())
    out = pd.concat(parts, ignore_index=True).set_index([by, "cell"]) if parts else pd.DataFrame()
    out.attrs["skipped"] = skipped
    return out


def evaluate_campaigns(campaigns: pd.DataFrame, contacts: pd.DataFrame, *, margin: float = 1.0,
                       level: float = 0.95) -> pd.DataFrame:
    """:func:`evaluate_ab` for every campaign of the contact history (revenue and cost
    columns of ``campaign_contacts``), one row per (campaign, cell).

    Campaigns without a control group cannot be evaluated; they are listed in the result's
    ``attrs["skipped"]`` with the reason instead of failing the whole table.
    """
    parts, skipped = [], {}
    for camp in campaigns.itertuples():
        sub = contacts[contacts["campaign_id"] == camp.campaign_id]
        if sub.empty:
            skipped[camp.campaign_id] = "no contacts"
            continue
        try:
            r = evaluate_ab(sub, revenue_col="response_revenue", cost_col="contact_cost",
                            margin=margin, level=level)
        except InputError as e:
            skipped[camp.campaign_id] = e.problem
            continue
        parts.append(r.assign(campaign_id=camp.campaign_id, channel=camp.channel).reset_index())
    out = (pd.concat(parts, ignore_index=True).set_index(["campaign_id", "cell"]) if parts
           else pd.DataFrame())
    out.attrs["skipped"] = skipped
    return out
