"""Every plotting function returns a matplotlib Figure with the data drawn, no pyplot state."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from dbmlib import plotting, segment
from dbmlib.models.clv import PurchaseModel
from dbmlib.models.propensity import gains_table
from dbmlib.segment.rfm import rfm_scores

matplotlib.use("Agg")


def test_plots_return_figures():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    rng = np.random.default_rng(0)
    monthly = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]),
                            "channel": ["web", "store", "web"], "orders": [3, 4, 5]})
    rfm = pd.DataFrame({"recency_days": rng.integers(0, 300, 200), "orders": rng.integers(1, 9, 200),
                        "revenue": rng.gamma(2, 50, 200)})
    scores = rfm_scores(rfm)
    curve = segment.lorenz_curve(rfm["revenue"])
    pen = segment.penetration(rfm.assign(region=rng.choice(["A", "B"], 200)), "region")
    summary = pd.DataFrame({"frequency": rng.poisson(1, 300).astype(float), "T": 50.0})
    summary["recency"] = np.where(summary["frequency"] > 0, rng.uniform(0, 50, 300), 0.0)
    model = PurchaseModel().fit(summary)
    track = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=5, freq="7D"),
                          "actual": [1, 2, 4, 5, 7], "expected": [1, 2.5, 3.5, 5, 6.5],
                          "period": ["calibration"] * 3 + ["holdout"] * 2})
    figs = [
        plotting.orders_per_month(monthly),
        plotting.problems_by_rule(pd.DataFrame({"table": ["t", "t"], "rule": ["a", "b"],
                                                "action": ["changed", "rejected"], "rows": [5, 2]})),
        plotting.rfm_heatmap(scores),
        plotting.segment_bars(pd.DataFrame({"share_customers": [0.6, 0.4], "share_revenue": [0.2, 0.8]},
                                           index=["x", "y"])),
        plotting.lorenz(curve, segment.gini(rfm["revenue"])),
        plotting.penetration_index(pen),
        plotting.tracking(track),
        plotting.holdout_by_frequency(pd.DataFrame({"actual": [0.1, 0.5], "predicted": [0.2, 0.4]},
                                                   index=["0", "1+"])),
        plotting.p_alive_heatmap(model, 5, 50.0),
        plotting.frequency_recency_matrix(model, 10.0, 5, 50.0),
        plotting.calibration_plot(rng.integers(0, 2, 200), rng.random(200)),
        plotting.clv_distribution(pd.Series(rng.gamma(2, 50, 100))),
        plotting.gains_chart(gains_table(rng.integers(0, 2, 100), rng.random(100))),
    ]
    for fig in figs:
        assert isinstance(fig, Figure) and fig.axes and fig.axes[0].has_data()
    assert plt.get_fignums() == before  # nothing left in pyplot's global state


def test_calibration_plot_points_are_binned_rates():
    """Quantile bins of 0.1/0.9 scores: observed rates equal the hand-counted ones."""
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9])
    fig = plotting.calibration_plot(y, p, n_bins=2)
    xs, ys = fig.axes[0].lines[1].get_data()
    assert list(np.round(xs, 6)) == [0.1, 0.9] and list(ys) == [0.25, 0.75]


def test_frequency_recency_matrix_values_are_model_expectations():
    summary = pd.DataFrame({"frequency": [0, 1, 2, 5, 3, 0, 1], "recency": [0, 10, 20, 40, 35, 0, 5],
                            "T": [50.0] * 7})
    model = PurchaseModel().fit(summary)
    fig = plotting.frequency_recency_matrix(model, 10.0, 3, 50.0)
    z = fig.axes[0].images[0].get_array()
    one = model.expected_purchases(10.0, pd.DataFrame({"frequency": [3.0], "recency": [50.0], "T": [50.0]}))
    assert z.shape == (40, 4) and z[-1, 3] == pytest.approx(one.iloc[0])


def test_uplift_decile_chart_draws_observed_bars_and_the_predicted_line():
    from dbmlib.campaign.uplift import uplift_by_decile
    from dbmlib.plotting import uplift_decile_chart

    rng = np.random.default_rng(0)
    score = rng.random(2000)
    t = rng.integers(0, 2, 2000)
    y = (rng.random(2000) < 0.1 + 0.2 * score * t).astype(int)
    table = uplift_by_decile(y, t, score)
    fig = uplift_decile_chart(table)
    ax = fig.axes[0]
    assert [round(p.get_height(), 12) for p in ax.patches] == table["observed_uplift"].round(12).tolist()
    assert np.allclose(ax.lines[0].get_ydata(), table["predicted_uplift"])
    assert table["observed_uplift"].iloc[0] > table["observed_uplift"].iloc[-1]


def test_long_curves_are_drawn_from_at_most_4000_points_with_both_ends():
    """A million-customer Lorenz or Qini curve is drawn from evenly spaced points (first and
    last kept, every drawn point on the curve); short curves keep every point."""
    from dbmlib.campaign.uplift import qini_curve

    rng = np.random.default_rng(0)
    values = rng.gamma(0.5, 100.0, 250_000)
    curve = segment.lorenz_curve(values)
    line = plotting.lorenz(curve, segment.gini(values)).axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert len(x) == 4000 and (x[0], y[0]) == (0.0, 0.0) and (x[-1], y[-1]) == (1.0, curve["value_share"].iloc[-1])
    np.testing.assert_array_equal(np.interp(x, curve["customer_share"], curve["value_share"]), y)  # points of the curve
    n = 20_000
    qini = {"model": qini_curve(rng.random(n) < 0.2, rng.integers(0, 2, n), rng.random(n))}
    drawn = plotting.qini_plot(qini).axes[0].lines[0]
    assert len(drawn.get_xdata()) == 4000 and drawn.get_ydata()[-1] == qini["model"]["qini"].iloc[-1]
    small = {"model": qini["model"].head(1000)}
    assert len(plotting.qini_plot(small).axes[0].lines[0].get_xdata()) == 1000
