"""Plots: functions that take data and return a matplotlib Figure (no pyplot state)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["orders_per_month"]


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
