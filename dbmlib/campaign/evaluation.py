"""Measure what a campaign really earned: lift against a random control group.

:func:`evaluate_ab` compares every test cell with the control group: response rates,
absolute lift (difference) and relative lift (ratio) with 95 % confidence intervals, the
p-value of a two-proportion test, incremental responders, revenue per customer and its
difference (Welch), incremental revenue and profit with intervals, and ROI; optionally a
sample-ratio-mismatch check of the planned split and CUPED-adjusted lifts that use a
pre-period covariate to narrow the intervals. The tests and intervals come from statsmodels
(``test_proportions_2indep``, ``confint_proportions_2indep``) and scipy (Welch's t for
revenue), not from hand-written formulas. :func:`evaluate_by` repeats it per stratum, with
p-values adjusted for the many comparisons and a test of whether the lift differs between
strata (:mod:`dbmlib.campaign.experiment_stats`).

Definitions (per test cell with ``n_t`` customers against the control):

* incremental responders = (rate_t − rate_c) × n_t
* revenue difference = mean revenue per customer_t − per customer_c
* incremental revenue = revenue difference × n_t
* incremental profit = incremental revenue × margin − contact cost of the cell
* ROI = incremental profit / contact cost
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..core.errors import InputError
from ..core.parsing import parse_flags
from .experiment_stats import adjust_p_values, cochran_q, cuped_adjust, srm_test

__all__ = ["binary_outcome", "evaluate_ab", "evaluate_by", "evaluate_campaigns"]

_SOURCE = "campaign contacts"


def _diff_means_ci(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float]:
    """Welch interval for mean(a) − mean(b)."""
    if len(a) < 2 or len(b) < 2 or (a.var() == 0 and b.var() == 0):
        d = float(a.mean() - b.mean()) if len(a) and len(b) else np.nan
        return d, d
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    return float(ci.low), float(ci.high)


def _welch(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float, float, float]:
    """mean(a) − mean(b), its Welch interval and the Welch t-test p-value.

    Fewer than two customers on a side: interval and p-value NaN. No variation on either
    side: the difference is exact (interval of width 0; p = 1 if it is 0, else 0)."""
    d = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return d, np.nan, np.nan, np.nan
    if a.var() == 0 and b.var() == 0:
        return d, d, d, 1.0 if d == 0 else 0.0
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(level)
    return d, float(ci.low), float(ci.high), float(res.pvalue)


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


def _numbers(contacts: pd.DataFrame, col: str, expected: str) -> np.ndarray:
    """A column as finite floats; text numbers ("12.5") are read, anything else is named."""
    s = contacts[col].reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        values = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    else:
        values = pd.to_numeric(s.astype("string"), errors="coerce").astype("Float64").to_numpy(
            dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(_SOURCE, column=col, rows=np.flatnonzero(bad) + 1, values=s[bad].head(5).tolist(),
                         problem="not a number", expected=expected)
    return values


def _same_label(a, b) -> bool:
    """Two group labels are the same if equal as values (``0`` and ``0.0``) or as text (the
    ``"0"`` of a CSV and ``control_label=0``)."""
    return bool(a == b) or str(a) == str(b)


def _split_groups(labels: pd.Series, control_label) -> tuple[np.ndarray, dict]:
    """The control rows and each test cell's rows (in label order), labels compared by
    :func:`_same_label`."""
    codes, uniques = pd.factorize(labels)
    control = {i for i, u in enumerate(uniques) if _same_label(u, control_label)}
    cells = {uniques[i]: codes == i for i in range(len(uniques)) if i not in control}
    return np.isin(codes, list(control)), {c: cells[c] for c in _sorted_cells(cells)}


def _group_labels(contacts: pd.DataFrame, group_col: str) -> pd.Series:
    """The group column as given (strings, numbers, categories), with missing labels named."""
    labels = contacts[group_col].reset_index(drop=True)
    missing = labels.isna().to_numpy()
    if missing.any():
        raise InputError(_SOURCE, column=group_col, rows=np.flatnonzero(missing) + 1,
                         problem="group missing", expected="the control or test cell of every customer")
    return labels


def _sorted_cells(values) -> list:
    try:
        return sorted(values)
    except TypeError:  # labels of mixed types
        return sorted(values, key=str)


@dataclass
class _Inputs:
    """The checked columns of an experiment, one entry per customer (row position): the
    control rows, each test cell's rows (in label order), outcome, revenue, cost, covariate."""

    is_c: np.ndarray
    cells: dict
    y: np.ndarray
    rev: np.ndarray | None
    cost: np.ndarray | None
    x: np.ndarray | None


def _read_inputs(contacts: pd.DataFrame, group_col: str, response_col: str, revenue_col: str | None,
                 cost_col: str | None, control_label, cost_per_contact: float | None,
                 covariate_col: str | None, *, need_both: bool = True) -> _Inputs:
    """Check every column :func:`evaluate_ab` uses; InputError naming column, rows and what
    was expected on the first problem. ``need_both=False`` accepts a table without a
    control group or without a test cell (:func:`evaluate_by` skips such strata)."""
    if cost_col is not None and cost_per_contact is not None:
        raise ValueError("give the contact cost either as a column (cost_col) or as one number "
                         "(cost_per_contact), not both")
    if cost_per_contact is not None and not (np.isfinite(cost_per_contact) and cost_per_contact >= 0):
        raise ValueError(f"cost_per_contact must be a number >= 0, got {cost_per_contact!r}")
    cols = [group_col, response_col] + [c for c in (revenue_col, cost_col, covariate_col) if c]
    missing = [c for c in cols if c not in contacts.columns]
    if missing:
        raise InputError(_SOURCE, column=missing[0], problem="column missing",
                         expected=f"columns {cols}; the contacts have {list(contacts.columns)}")
    labels = _group_labels(contacts, group_col)
    is_c, cells = _split_groups(labels, control_label)
    if need_both and not is_c.any():
        raise InputError(_SOURCE, column=group_col, problem="no control group",
                         expected=f"some rows with {group_col} = {control_label!r} (customers "
                                  "withheld from contact): without them no lift can be measured")
    if isinstance(labels.dtype, pd.CategoricalDtype):
        empty = [c for c in labels.cat.categories if not (labels == c).any()]
        if empty:
            raise InputError(_SOURCE, column=group_col, values=empty, problem="a cell without customers",
                             expected="customers in every category of the group column (drop unused "
                                      "categories with .cat.remove_unused_categories())")
    if need_both and not cells:
        raise InputError(_SOURCE, column=group_col, problem="no test cell",
                         expected=f"some rows in a test cell besides {group_col} = {control_label!r} "
                                  "(the contacted customers)")
    y = binary_outcome(contacts[response_col], name=response_col)
    rev = (_numbers(contacts, revenue_col, "a revenue on every row (0 for a customer who did not buy)")
           if revenue_col else None)
    if cost_col:
        cost = _numbers(contacts, cost_col, "a contact cost on every row (0 in the control group)")
    elif cost_per_contact is not None:
        cost = np.where(is_c, 0.0, float(cost_per_contact))
    else:
        cost = None
    x = (_numbers(contacts, covariate_col, "a pre-period number on every row (e.g. revenue in the "
                                           "90 days before the campaign, 0 for none)")
         if covariate_col else None)
    return _Inputs(is_c, cells, y, rev, cost, x)


def _planned_shares(inp: _Inputs, group_col: str, control_label, intended_split) -> tuple[list, list]:
    """Observed customers and planned shares per group, from ``intended_split``."""
    n_c = int(inp.is_c.sum())
    if not isinstance(intended_split, dict):
        share = float(intended_split)
        if not 0 < share < 1:
            raise ValueError(f"intended_split (the planned control share) must be in (0, 1), got {share!r}")
        return [n_c, len(inp.is_c) - n_c], [share, 1 - share]
    shares = np.array(list(intended_split.values()), dtype=float)
    if not (np.isfinite(shares).all() and (shares > 0).all() and abs(shares.sum() - 1) < 1e-6):
        raise ValueError(f"intended_split shares must be positive and sum to 1, got {intended_split!r}")
    groups = [control_label, *inp.cells]
    masks = [inp.is_c, *inp.cells.values()]
    planned = {i: [k for k in intended_split if _same_label(g, k)] for i, g in enumerate(groups)}
    unplanned = [i for i, keys in planned.items() if not keys]
    if unplanned:
        g = groups[unplanned[0]]
        raise InputError(_SOURCE, column=group_col, rows=np.flatnonzero(masks[unplanned[0]]) + 1,
                         values=[g], problem=f"group {g!r} has no share in intended_split",
                         expected=f"a planned share for every group {groups}; intended_split "
                                  f"has {list(intended_split)}")
    used = {k for keys in planned.values() for k in keys}
    observed = [int(m.sum()) for m in masks] + [0] * sum(k not in used for k in intended_split)
    planned_share = ([sum(intended_split[k] for k in planned[i]) for i in range(len(groups))]
                     + [intended_split[k] for k in intended_split if k not in used])
    return observed, planned_share


def evaluate_ab(contacts: pd.DataFrame, group_col: str = "group", response_col: str = "responded",
                revenue_col: str | None = None, cost_col: str | None = None,
                control_label: str = "control", *, margin: float = 1.0, level: float = 0.95,
                cost_per_contact: float | None = None, intended_split: float | dict | None = None,
                covariate_col: str | None = None) -> pd.DataFrame:
    """One row per test cell: n, responders, rates, lift with intervals, p-value, increments, ROI.

    Parameters
    ----------
    contacts : one row per customer of the experiment (contacted or withheld), with any
        other customer attributes.
    group_col, control_label : the cell of each customer and the label of the withheld
        control; labels may be text ("offer A") or numbers (``control_label=0``). Every
        other label is a test cell, each compared with the control.
    response_col : yes/no response (1/0, true/false, yes/no).
    revenue_col : response revenue per customer (0 for non-responders); enables the revenue,
        revenue-per-customer, profit and ROI columns.
    cost_col : contact cost per customer (0 in the control group).
    cost_per_contact : instead of ``cost_col``, one cost per contacted (test-cell) customer.
    margin : gross margin applied to incremental revenue for profit and ROI.
    level : confidence level of the intervals; a p-value below ``1 − level`` is significant.
    intended_split : the planned split, to check for a sample-ratio mismatch (SRM): the
        control group's planned share (a number) or a share per group label (a dict summing
        to 1). Adds ``srm_p_value`` (chi-square goodness of fit of the group sizes) and
        ``srm_warning``, True when ``srm_p_value < 0.001`` (the usual SRM threshold,
        :data:`~dbmlib.campaign.experiment_stats.SRM_THRESHOLD`): the groups are not the
        sizes the randomisation should give, so customers were lost or moved and the lift
        may be biased.
    covariate_col : a pre-period covariate, measured before randomisation (e.g. revenue in
        the 90 days before the campaign). Adds CUPED-adjusted lifts (Deng et al. 2013):
        ``Y_adj = Y − θ (X − mean X)`` with ``θ = cov(Y, X) / var(X)`` pooled over all rows
        of the experiment, intervals by Welch on the adjusted values;
        ``variance_reduction_*`` is ``1 − var(Y_adj) / var(Y)``.

    Returns
    -------
    DataFrame indexed by ``cell`` with, besides the counts, rates, lifts, ``p_value``,
    incremental responders/revenue/profit, ``cost``, ``roi`` and ``significant``:

    * with revenue: ``revenue_per_customer``, ``control_revenue_per_customer``,
      ``revenue_diff`` (their difference) with ``revenue_diff_lo``/``_hi`` (Welch) and
      ``revenue_p_value`` (Welch t-test), ``significant_revenue``;
    * with a covariate: ``abs_lift_cuped`` (+ ``_lo``/``_hi``), ``p_value_cuped``,
      ``variance_reduction_response`` and, with revenue, ``revenue_diff_cuped``
      (+ ``_lo``/``_hi``), ``revenue_p_value_cuped``, ``variance_reduction_revenue``; θ of
      each outcome in ``attrs["cuped_theta"]``;
    * with a planned split: ``srm_p_value``, ``srm_warning`` (the same on every row).

    Raises
    ------
    InputError
        Naming the column, the rows (1-based positions) and what was expected: a missing
        column, missing group labels, no control group or no test cell, a category of the
        group column without customers, missing or non-yes/no responses, non-numbers in the
        revenue, cost or covariate column, a group without a share in ``intended_split``.
    ValueError
        Both ``cost_col`` and ``cost_per_contact``; an impossible ``intended_split``.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    inp = _read_inputs(contacts, group_col, response_col, revenue_col, cost_col, control_label,
                       cost_per_contact, covariate_col)
    is_c, y, rev, cost = inp.is_c, inp.y, inp.rev, inp.cost
    n_c, x_c = int(is_c.sum()), float(y[is_c].sum())
    alpha = 1 - level
    cuped_y = cuped_rev = srm = None
    if inp.x is not None:
        cuped_y = cuped_adjust(y, inp.x)
        cuped_rev = cuped_adjust(rev, inp.x) if rev is not None else None
    if intended_split is not None:
        srm = srm_test(*_planned_shares(inp, group_col, control_label, intended_split))
    rows = []
    for cell, t in inp.cells.items():
        n_t, x_t = int(t.sum()), float(y[t].sum())
        rate_t, rate_c = x_t / n_t, x_c / n_c
        row = {"n": n_t, "responders": int(x_t), "response_rate": rate_t,
               "control_n": n_c, "control_responders": int(x_c), "control_rate": rate_c,
               "abs_lift": rate_t - rate_c}
        lo, hi = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="diff", method="wald",
                                            alpha=alpha)
        row["abs_lift_lo"], row["abs_lift_hi"] = float(lo), float(hi)
        row["rel_lift"] = rate_t / rate_c - 1 if rate_c > 0 else np.nan
        if x_t > 0 and x_c > 0:
            lo, hi = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="ratio", method="log",
                                                alpha=alpha)
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
        row["significant"] = row["p_value"] < alpha
        if rev is not None:
            d, lo, hi, p = _welch(rev[t], rev[is_c], level)
            row.update(revenue_per_customer=float(rev[t].mean()),
                       control_revenue_per_customer=float(rev[is_c].mean()),
                       revenue_diff=d, revenue_diff_lo=lo, revenue_diff_hi=hi, revenue_p_value=p,
                       significant_revenue=bool(p < alpha))
        if cuped_y is not None:
            adj = cuped_y.adjusted
            d, lo, hi, p = _welch(adj[t], adj[is_c], level)
            row.update(abs_lift_cuped=d, abs_lift_cuped_lo=lo, abs_lift_cuped_hi=hi, p_value_cuped=p,
                       variance_reduction_response=cuped_y.variance_reduction)
        if cuped_rev is not None:
            adj = cuped_rev.adjusted
            d, lo, hi, p = _welch(adj[t], adj[is_c], level)
            row.update(revenue_diff_cuped=d, revenue_diff_cuped_lo=lo, revenue_diff_cuped_hi=hi,
                       revenue_p_value_cuped=p, variance_reduction_revenue=cuped_rev.variance_reduction)
        if srm is not None:
            row.update(srm_p_value=srm.p_value, srm_warning=srm.warning)
        rows.append(row)
    out = pd.DataFrame(rows, index=pd.Index(list(inp.cells), name="cell"))
    if cuped_y is not None:
        out.attrs["cuped_theta"] = {"response": cuped_y.theta,
                                    "revenue": cuped_rev.theta if cuped_rev is not None else None}
    return out


def _lift_variance(table: pd.DataFrame) -> np.ndarray:
    """Wald variance of each row's absolute lift (the variance behind ``abs_lift_lo/hi``)."""
    p_t, p_c, n_t, n_c = (table[c].to_numpy(float)
                          for c in ("response_rate", "control_rate", "n", "control_n"))
    return p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c


def evaluate_by(contacts: pd.DataFrame, by: str, *, adjust: str | None = "holm", **kwargs) -> pd.DataFrame:
    """:func:`evaluate_ab` within each value of ``by`` (segment, decile); strata without a
    control group or a test cell are skipped and counted in the ``skipped`` attribute.

    ``kwargs`` go to :func:`evaluate_ab` (``intended_split`` and ``covariate_col`` apply
    within each stratum: use a planned control share rather than a dict when strata hold
    different cells). The inputs are checked on the whole table first, so an error names
    the rows of ``contacts``.

    Many strata mean many tests, some significant by chance; the result adds:

    * ``p_value_adjusted`` and ``significant_adjusted`` (``p_value_adjusted < 1 − level``):
      the response p-values adjusted over all (stratum, cell) rows, by Holm (``adjust="holm"``,
      the chance of any false positive stays below ``1 − level``) or Benjamini–Hochberg
      (``"bh"``, the expected share of false positives among the significant rows); no such
      columns with ``adjust=None``;
    * ``attrs["heterogeneity"]``: per cell, Cochran's Q test that the absolute lift is the
      same in every stratum (inverse-variance weights from each stratum's Wald variance):
      ``statistic``, ``df``, ``p_value``, ``pooled`` lift, ``strata`` used and
      ``skipped_zero_variance`` (strata where nobody or everybody responded). A small
      p-value means the lift really differs between strata (an interaction), which a
      single overall lift hides.
    """
    if adjust not in ("holm", "bh", None):
        raise ValueError(f"adjust must be 'holm', 'bh' or None, got {adjust!r}")
    if by not in contacts.columns:
        raise InputError(_SOURCE, column=by, problem="column missing",
                         expected=f"a column to split the evaluation by; the contacts have {list(contacts.columns)}")
    args = inspect.signature(evaluate_ab).bind(contacts, **kwargs)
    args.apply_defaults()
    a = args.arguments
    _read_inputs(contacts, a["group_col"], a["response_col"], a["revenue_col"], a["cost_col"],
                 a["control_label"], a["cost_per_contact"], a["covariate_col"], need_both=False)
    group_col, control = a["group_col"], a["control_label"]
    parts, keys, skipped = [], [], []
    for value, sub in contacts.groupby(by, observed=True, sort=True):
        c = _split_groups(sub[group_col], control)[0]
        if not c.any() or c.all():
            skipped.append(value)
            continue
        if isinstance(sub[group_col].dtype, pd.CategoricalDtype):  # cells absent from this stratum
            sub = sub.assign(**{group_col: sub[group_col].cat.remove_unused_categories()})
        parts.append(evaluate_ab(sub, **kwargs))
        keys.append(value)
    out = pd.concat(parts, keys=keys, names=[by, "cell"]) if parts else pd.DataFrame()
    out.attrs = {}
    heterogeneity = {}
    if len(out):
        if adjust is not None:
            out["p_value_adjusted"] = adjust_p_values(out["p_value"], adjust)
            out["significant_adjusted"] = out["p_value_adjusted"] < 1 - a["level"]
        for cell, table in out.groupby(level="cell", sort=False):
            heterogeneity[cell] = cochran_q(table["abs_lift"], _lift_variance(table))
    out.attrs["skipped"] = skipped
    out.attrs["heterogeneity"] = heterogeneity
    out.attrs["adjust"] = adjust
    return out


def evaluate_campaigns(campaigns: pd.DataFrame, contacts: pd.DataFrame, *, margin: float = 1.0,
                       level: float = 0.95, covariate_col: str | None = None) -> pd.DataFrame:
    """:func:`evaluate_ab` for every campaign of the contact history (revenue and cost
    columns of ``campaign_contacts``; ``covariate_col`` a pre-period covariate for CUPED),
    one row per (campaign, cell).

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
                            margin=margin, level=level, covariate_col=covariate_col)
        except InputError as e:
            skipped[camp.campaign_id] = e.problem
            continue
        parts.append(r.assign(campaign_id=camp.campaign_id, channel=camp.channel).reset_index())
    out = (pd.concat(parts, ignore_index=True).set_index(["campaign_id", "cell"]) if parts
           else pd.DataFrame())
    out.attrs["skipped"] = skipped
    return out
