"""Plots: functions that take data and return a matplotlib Figure (no pyplot state)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["orders_per_month", "problems_by_rule"]


def _figure(ax=None, figsize=(9, 4)):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def orders_per_month(monthly: pd.DataFrame, *, value: str = "orders", ax=None) -> Figure:
    """Stacked area of orders (or revenue) per month by channel.

    ``monthly`` has columns ``month``, ``channel`` and ``value`` (see
    :func:`dbmlib.overview.orders_per_month`).
    """
    fig, ax = _figure(ax)
    wide = monthly.pivot_table(index="month", columns="channel", values=value, aggfunc="sum",
                               fill_value=0).sort_index()
    ax.stackplot(wide.index, wide.T.to_numpy(), labels=[str(c) for c in wide.columns], alpha=0.85)
    ax.set_title(f"{value.capitalize()} per month by channel")
    ax.set_xlabel("month")
    ax.set_ylabel(value)
    ax.legend(loc="upper left", fontsize="small", ncols=min(4, len(wide.columns)))
    return fig


def problems_by_rule(report: pd.DataFrame, *, ax=None) -> Figure:
    """Horizontal bars: rows touched per cleaning rule, coloured by action.

    ``report`` is :func:`dbmlib.clean.quality_report` output (table, rule, action, rows).
    """
    fig, ax = _figure(ax, figsize=(9, max(3, 0.35 * len(report) + 1)))
    data = report.assign(label=report["table"] + " · " + report["rule"])
    wide = data.pivot_table(index="label", columns="action", values="rows", aggfunc="sum",
                            fill_value=0)
    wide = wide.loc[wide.sum(axis=1).sort_values().index]
    left = None
    for action in wide.columns:
        ax.barh(wide.index, wide[action], left=left, label=action)
        left = wide[action] if left is None else left + wide[action]
    ax.set_xscale("symlog")
    ax.set_xlabel("rows (log scale)")
    ax.set_title("Data-quality problems handled, by rule")
    ax.legend(loc="lower right", fontsize="small")
    return fig
