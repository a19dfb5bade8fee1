"""Plots: functions that take data and return a matplotlib Figure (no pyplot state).

In IPython, a Figure shown as a cell's result carries alternative text (its titles) in the
output's metadata, which the report template puts on the image: charts are described for
screen readers, and nbconvert has no image without a description to warn about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .core.display import register_formatter

__all__ = [
    "alt_text",
    "calibration_plot",
    "clv_distribution",
    "cohort_heatmap",
    "frequency_check_chart",
    "frequency_recency_matrix",
    "gains_chart",
    "holdout_by_frequency",
    "lift_chart",
    "lift_charts",
    "lift_heatmap",
    "policy_comparison",
    "lorenz",
    "orders_per_month",
    "p_alive_heatmap",
    "penetration_index",
    "problems_by_rule",
    "qini_plot",
    "rfm_heatmap",
    "segment_bars",
    "tracking",
    "uplift_decile_chart",
]


def _finish(fig, ax, title: str, xlabel: str, ylabel: str) -> Figure:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def _thin(x, y, max_points: int = 4000):
    """At most ``max_points`` evenly spaced points of a long curve, the first and last kept: a
    figure a few hundred pixels wide draws the same line from them, where drawing every point of
    a million-customer curve takes a second or more."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) <= max_points:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(np.int64))
    return x[keep], y[keep]


def _figure(ax=None, figsize=(9, 4)):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def orders_per_month(monthly: pd.DataFrame, *, value: str = "orders", ax=None) -> Figure:
    """Stacked area of orders (or revenue) per month by channel.

    ``monthly`` has columns ``month``, ``channel`` and ``value`` (see
    :func:`dbmlib.collect.overview.orders_per_month`).
    """
    fig, ax = _figure(ax)
    if not len(monthly):
        ax.text(0.5, 0.5, "no orders loaded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
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


def rfm_heatmap(scores: pd.DataFrame, values: pd.Series | None = None, *, ax=None) -> Figure:
    """Customers (or mean of ``values``) per R score × F score cell."""
    import seaborn as sns

    fig, ax = _figure(ax, figsize=(6, 4.5))
    df = scores[["r_score", "f_score"]].copy()
    if values is None:
        grid = df.value_counts().unstack(fill_value=0)
        fmt, title = "d", "Customers by R and F score"
    else:
        grid = df.assign(v=values).pivot_table(index="r_score", columns="f_score", values="v",
                                                aggfunc="mean")
        fmt, title = ".0f", f"Mean {values.name or 'value'} by R and F score"
    sns.heatmap(grid.sort_index(ascending=False), annot=True, fmt=fmt, cmap="YlGnBu", ax=ax)
    ax.set_title(title)
    ax.set_ylabel("R score (5 = most recent)")
    ax.set_xlabel("F score (5 = most orders)")
    return fig


def segment_bars(summary: pd.DataFrame, *, ax=None) -> Figure:
    """Share of customers vs share of revenue per segment (``segment_summary`` output)."""
    fig, ax = _figure(ax, figsize=(9, 4.5))
    s = summary.sort_values("share_revenue")
    y = range(len(s))
    ax.barh([i + 0.2 for i in y], s["share_customers"], height=0.4, label="share of customers")
    ax.barh([i - 0.2 for i in y], s["share_revenue"], height=0.4, label="share of revenue")
    ax.set_yticks(list(y), [str(i) for i in s.index])
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title("Segments: size and value")
    ax.legend(loc="lower right")
    return fig


def lorenz(curve: pd.DataFrame, gini_value: float, *, ax=None) -> Figure:
    """Lorenz curve with the line of equality, annotated with the Gini coefficient."""
    fig, ax = _figure(ax, figsize=(5.5, 5))
    ax.plot(*_thin(curve["customer_share"], curve["value_share"]), label=f"customers (Gini {gini_value:.2f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="equality")
    ax.axvline(0.8, color="grey", lw=0.5)
    ax.set_xlabel("share of customers (lowest value first)")
    ax.set_ylabel("share of revenue")
    ax.set_title("Value concentration (Lorenz curve)")
    ax.legend(loc="upper left")
    return fig


def penetration_index(table: pd.DataFrame, *, column: str = "index_value", ax=None) -> Figure:
    """Index bars (100 = the whole base) for a ``segment.penetration`` table."""
    fig, ax = _figure(ax, figsize=(7, max(2.5, 0.4 * len(table) + 1)))
    t = table.sort_values(column)
    colors = ["tab:green" if v >= 100 else "tab:red" for v in t[column]]
    ax.barh([str(i) for i in t.index], t[column] - 100, left=100, color=colors)
    ax.axvline(100, color="black", lw=0.8)
    ax.set_xlabel(f"{column} (100 = whole base)")
    ax.set_title(f"{column.replace('_', ' ')} by {t.index.name}")
    return fig


def cohort_heatmap(retention: pd.DataFrame, *, max_age: int = 12, ax=None) -> Figure:
    """Share of each acquisition cohort buying n months after acquisition."""
    import seaborn as sns

    fig, ax = _figure(ax, figsize=(10, max(3, 0.25 * len(retention) + 1)))
    cols = [c for c in retention.columns if c != "customers" and int(c) <= max_age]
    sns.heatmap(retention[cols], cmap="rocket_r", vmin=0, vmax=max(0.3, float(retention[cols[1:]].max().max())
                if len(cols) > 1 else 1), ax=ax, cbar_kws={"label": "share active"})
    ax.set_xlabel("months since first purchase")
    ax.set_ylabel("acquisition cohort")
    ax.set_title("Cohort retention")
    return fig


def lift_heatmap(lift: pd.DataFrame, *, title: str = "Lift between categories (bought by the same customer)",
                 ax=None) -> Figure:
    """Heatmap of a lift matrix (see :func:`dbmlib.segment.baskets.lift_matrix`), centred on 1
    (independent): warm cells go together more than chance, cool ones less."""
    import seaborn as sns

    fig, ax = _figure(ax, figsize=(max(5, 0.7 * len(lift) + 2), max(4, 0.6 * len(lift) + 1.5)))
    shown = lift.mask(lift == 0)  # the diagonal and pairs never bought together
    sns.heatmap(shown, cmap="vlag", center=1.0, annot=len(lift) <= 12, fmt=".2f", ax=ax,
                cbar_kws={"label": "lift (1 = independent)"})
    ax.set_xlabel("then buys (consequent)")
    ax.set_ylabel("customers who bought (antecedent)")
    ax.set_title(title)
    return fig


def tracking(track: pd.DataFrame, *, ax=None) -> Figure:
    """Cumulative repeat purchases, actual vs model, with the calibration end marked."""
    fig, ax = _figure(ax)
    ax.plot(track["date"], track["actual"], label="actual")
    ax.plot(track["date"], track["expected"], ls="--", label="model")
    cal = track.loc[track["period"] == "calibration", "date"]
    if len(cal):
        ax.axvline(cal.max(), color="grey", lw=0.8, label="end of calibration")
    ax.set_ylabel("cumulative repeat purchases")
    ax.set_title("Tracking cumulative repeat purchases")
    ax.legend(loc="upper left")
    return fig


def holdout_by_frequency(table: pd.DataFrame, *, ax=None) -> Figure:
    """Mean actual vs predicted holdout purchases by calibration frequency."""
    fig, ax = _figure(ax, figsize=(7, 4))
    ax.plot(table.index, table["actual"], marker="o", label="actual")
    ax.plot(table.index, table["predicted"], marker="s", ls="--", label="predicted")
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.set_title("Calibration vs holdout")
    ax.legend()
    return fig


def _frequency_recency_grid(max_frequency: int, max_T: float):
    import numpy as np

    f = np.arange(0, max_frequency + 1)
    r = np.linspace(0, max_T, 40)
    F, R = np.meshgrid(f, r)
    grid = pd.DataFrame({"frequency": F.ravel().astype(float), "recency": R.ravel(),
                         "T": float(max_T)})
    grid.loc[grid["frequency"] == 0, "recency"] = 0.0
    return grid, R.shape, [f.min(), f.max(), r.min(), r.max()]


def _frequency_recency_image(values: pd.Series, shape, extent, label: str, title: str, ax,
                             **imshow) -> Figure:
    fig, ax = _figure(ax, figsize=(7, 5))
    im = ax.imshow(values.to_numpy().reshape(shape), origin="lower", aspect="auto", cmap="viridis",
                   extent=extent, **imshow)
    fig.colorbar(im, ax=ax, label=label)
    return _finish(fig, ax, title, "repeat purchases (frequency)", "time of last purchase (recency)")


def p_alive_heatmap(model, max_frequency: int, max_T: float, *, ax=None) -> Figure:
    """P(alive) of a customer with frequency x and recency r observed for ``max_T``."""
    grid, shape, extent = _frequency_recency_grid(max_frequency, max_T)
    return _frequency_recency_image(model.p_alive(grid), shape, extent, "P(alive)",
                                    "Probability a customer is still active", ax, vmin=0, vmax=1)


def frequency_recency_matrix(model, t: float, max_frequency: int, max_T: float, *, ax=None) -> Figure:
    """Expected purchases in the next ``t`` time units by frequency and recency (observed for
    ``max_T``): the best customers sit top right — many purchases, the last one recent."""
    grid, shape, extent = _frequency_recency_grid(max_frequency, max_T)
    return _frequency_recency_image(model.expected_purchases(t, grid), shape, extent,
                                    f"expected purchases in the next {t:g} units",
                                    "Expected purchases by frequency and recency", ax)


def calibration_plot(y_true, p_pred, *, n_bins: int = 10, ax=None) -> Figure:
    """Observed response rate against mean predicted probability, in quantile bins
    (``sklearn.calibration.calibration_curve``); the diagonal is perfect calibration."""
    from sklearn.calibration import calibration_curve

    fig, ax = _figure(ax, figsize=(5.5, 5))
    observed, predicted = calibration_curve(y_true, p_pred, n_bins=n_bins, strategy="quantile")
    top = max(float(max(observed.max(), predicted.max())), 1e-9) * 1.05
    ax.plot([0, top], [0, top], ls="--", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", label="model")
    ax.legend()
    return _finish(fig, ax, "Calibration", "mean predicted probability", "observed rate")


def clv_distribution(clv: pd.Series, *, ax=None) -> Figure:
    """Histogram of customer lifetime value (log-spaced bins)."""
    import numpy as np

    fig, ax = _figure(ax, figsize=(7, 4))
    v = clv[clv > 0]
    ax.hist(v, bins=np.logspace(np.log10(max(v.min(), 1e-2)), np.log10(v.max()), 40))
    ax.set_xscale("log")
    return _finish(fig, ax, "Distribution of customer lifetime value", "CLV (log scale)", "customers")


def gains_chart(gains: pd.DataFrame, *, ax=None) -> Figure:
    """Cumulative gains by decile against random targeting (``propensity.gains_table``)."""
    fig, ax = _figure(ax, figsize=(6, 4.5))
    share = gains["customers"].cumsum() / gains["customers"].sum()
    ax.plot([0, *share], [0, *gains["cum_gain"]], marker="o", label="model")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="random")
    ax.set_xlabel("share of customers targeted (highest scores first)")
    ax.set_ylabel("share of responders reached")
    ax.set_title("Cumulative gains")
    ax.legend()
    return fig


def lift_chart(results: pd.DataFrame, *, label: str | None = None, ax=None) -> Figure:
    """Absolute lift in response rate with its confidence interval, one bar per row of an
    ``evaluation.evaluate_ab``/``evaluate_by`` result (zero line = no effect)."""
    fig, ax = _figure(ax, figsize=(8, 0.5 + 0.45 * len(results)))
    names = [" / ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in results.index]
    y = range(len(results))
    lift = results["abs_lift"] * 100
    err = [lift - results["abs_lift_lo"] * 100, results["abs_lift_hi"] * 100 - lift]
    ax.barh(list(y), lift, xerr=err, color="tab:blue", alpha=0.7, capsize=3)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    return _finish(fig, ax, "Lift over the control group" + (f" — {label}" if label else ""),
                   "response rate, treated − control (percentage points, 95 % interval)", "")


def lift_charts(tables: dict[str, pd.DataFrame], *, label: str = "{}") -> Figure:
    """:func:`lift_chart` of several results (e.g. each campaign by age band) stacked in one
    Figure; ``label`` formats each key into its title."""
    heights = [0.5 + 0.45 * max(len(t), 1) for t in tables.values()] or [1.0]
    fig = Figure(figsize=(8, sum(heights) + 0.6 * len(heights)), layout="constrained")
    axes = fig.subplots(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (key, table) in zip(axes, tables.items()):
        lift_chart(table, label=label.format(key), ax=ax)
    return fig


def policy_comparison(table: pd.DataFrame, *, ax=None) -> Figure:
    """Cumulative incremental profit per targeting policy over the rounds of
    :func:`dbmlib.demo.policies.compare_policies`: the truth as a line, the control-group
    measurement as points with their 95 % interval."""
    fig, ax = _figure(ax, figsize=(8, 4.5))
    for i, (policy, rows) in enumerate(table.groupby("policy", sort=False)):
        rows = rows.sort_values("round")
        se = (rows["measured_hi"] - rows["measured_lo"]) / (2 * 1.959964)
        cum, half = rows["measured_profit"].cumsum(), 1.959964 * (se ** 2).cumsum() ** 0.5
        x = rows["round"].to_numpy() + (i - 1.5) * 0.06
        line = ax.plot(rows["round"], rows["true_profit"].cumsum(), marker="o", label=f"{policy}: true")[0]
        ax.errorbar(x, cum, yerr=half, fmt="s", mfc="none", color=line.get_color(), capsize=3,
                    label=f"{policy}: measured")
    ax.axhline(0, color="grey", lw=1)
    ax.set_xticks(sorted(table["round"].unique()))
    ax.legend(ncol=2, fontsize="small")
    return _finish(fig, ax, "Targeting policies on the same simulated customers",
                   "round", "cumulative incremental profit")


def qini_plot(curves: dict[str, pd.DataFrame], *, ax=None) -> Figure:
    """Qini curves (``uplift.qini_curve``) of several scores against random targeting."""
    fig, ax = _figure(ax, figsize=(6.5, 4.5))
    last = None
    for name, c in curves.items():
        ax.plot(*_thin(c["share"], c["qini"]), label=name)
        last = c
    if last is not None:
        ax.plot([0, 1], [0, last["qini"].iloc[-1]], ls="--", color="grey", label="random")
    ax.legend()
    return _finish(fig, ax, "Qini curve: incremental responders by share targeted",
                   "share of customers targeted (highest score first)", "incremental responders")


def frequency_check_chart(table: pd.DataFrame, *, ax=None) -> Figure:
    """Observed customers per repeat count against the fitted model's simulation
    (``models.frequency_check``), with the chi-square statistic in the title."""
    fig, ax = _figure(ax, figsize=(7, 4))
    x = range(len(table))
    ax.bar([i - 0.2 for i in x], table["observed"], width=0.4, label="observed")
    ax.bar([i + 0.2 for i in x], table["simulated"], width=0.4, label="simulated from the fitted model")
    ax.set_xticks(list(x), table.index)
    ax.legend()
    a = table.attrs
    title = "Repeat purchases: data against the model"
    if "chi2" in a:
        title += f" (χ² {a['chi2']:.1f} on {a['df']} df, p = {a['p_value']:.3g})"
    return _finish(fig, ax, title, "repeat purchases in the observation period", "customers")


def uplift_decile_chart(table: pd.DataFrame, *, ax=None) -> Figure:
    """Observed uplift (treated minus control rate, or mean amount) by decile of predicted
    uplift (``uplift.uplift_by_decile``; decile 1 = highest), with the predicted uplift: a model
    that ranks well falls from left to right."""
    fig, ax = _figure(ax, figsize=(7, 4))
    x = table.index.to_numpy()
    ax.bar(x, table["observed_uplift"].fillna(0.0), color="#4C72B0", label="observed (treated − control)")
    ax.plot(x, table["predicted_uplift"], marker="o", color="#DD8452", label="predicted")
    ax.axhline(0, color="grey", lw=1)
    ax.set_xticks(x)
    ax.legend()
    return _finish(fig, ax, "Uplift by decile of predicted uplift", "decile (1 = highest predicted uplift)",
                   "uplift")


def alt_text(fig: Figure) -> str:
    """A chart's description for screen readers: its title(s)."""
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    return "Chart: " + "; ".join(t for t in titles if t) if any(titles) else "Chart"


def _png_with_alt(fig: Figure):
    from IPython.core.pylabtools import print_figure

    return print_figure(fig, "png", bbox_inches="tight"), {"alt": alt_text(fig)}


register_formatter("image/png", Figure, _png_with_alt)  # Figures show with their alt text in IPython
