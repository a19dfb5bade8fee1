"""evaluate_ab: hand-checked numbers, interval coverage and p-value uniformity by simulation,
clear errors; sample_size_two_proportions against the closed form and by simulated power."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dbmlib.campaign.evaluation import evaluate_ab, evaluate_by, evaluate_campaigns
from dbmlib.campaign.planning import sample_size_two_proportions
from dbmlib.core.errors import InputError


def _experiment(rng, n_t, n_c, p_t, p_c):
    return pd.DataFrame({
        "group": ["treatment"] * n_t + ["control"] * n_c,
        "responded": np.r_[rng.random(n_t) < p_t, rng.random(n_c) < p_c],
    })


def test_evaluate_ab_by_hand():
    df = pd.DataFrame({
        "group": ["treatment"] * 10 + ["control"] * 10,
        "responded": [1] * 4 + [0] * 6 + [1] * 2 + [0] * 8,
        "revenue": [10.0] * 4 + [0.0] * 6 + [10.0] * 2 + [0.0] * 8,
        "cost": [1.0] * 10 + [0.0] * 10,
    })
    r = evaluate_ab(df, revenue_col="revenue", cost_col="cost", margin=0.5).loc["treatment"]
    assert (r["n"], r["responders"], r["control_n"], r["control_responders"]) == (10, 4, 10, 2)
    assert r["abs_lift"] == pytest.approx(0.2)
    se = np.sqrt(0.4 * 0.6 / 10 + 0.2 * 0.8 / 10)  # Wald interval of a difference
    assert r["abs_lift_lo"] == pytest.approx(0.2 - 1.959964 * se, abs=1e-6)
    assert r["abs_lift_hi"] == pytest.approx(0.2 + 1.959964 * se, abs=1e-6)
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(0.2 / se), rel=1e-6)
    assert r["rel_lift"] == pytest.approx(1.0)
    assert r["incremental_responders"] == pytest.approx(2.0)
    assert r["incremental_revenue"] == pytest.approx(20.0)  # (4 − 2) per 10 × 10 customers
    assert r["cost"] == 10.0 and r["incremental_profit"] == pytest.approx(0.0)  # 20 × 0.5 − 10
    assert r["roi"] == pytest.approx(0.0)


def test_interval_covers_true_lift_in_95_percent_of_experiments():
    rng = np.random.default_rng(2024)
    reps, p_c, p_t = 400, 0.10, 0.13
    hits = 0
    for _ in range(reps):
        r = evaluate_ab(_experiment(rng, 3000, 1000, p_t, p_c)).iloc[0]
        hits += r["abs_lift_lo"] <= p_t - p_c <= r["abs_lift_hi"]
    assert 0.93 <= hits / reps <= 0.97, hits / reps


def test_relative_lift_interval_covers_true_ratio():
    rng = np.random.default_rng(7)
    reps, p_c, p_t = 400, 0.10, 0.13
    hits = sum(r["rel_lift_lo"] <= p_t / p_c - 1 <= r["rel_lift_hi"]
               for r in (evaluate_ab(_experiment(rng, 3000, 1000, p_t, p_c)).iloc[0] for _ in range(reps)))
    assert 0.93 <= hits / reps <= 0.97, hits / reps


def test_p_values_uniform_without_effect():
    rng = np.random.default_rng(99)
    p = [evaluate_ab(_experiment(rng, 2000, 2000, 0.1, 0.1)).iloc[0]["p_value"] for _ in range(400)]
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.02 <= np.mean(np.array(p) < 0.05) <= 0.08  # false-positive rate near 5 %


def test_evaluate_ab_several_cells_and_by_segment():
    rng = np.random.default_rng(1)
    df = pd.concat([_experiment(rng, 500, 0, 0.2, 0).assign(group="offer A"),
                    _experiment(rng, 500, 0, 0.1, 0).assign(group="offer B"),
                    _experiment(rng, 0, 500, 0, 0.1)], ignore_index=True)
    r = evaluate_ab(df)
    assert list(r.index) == ["offer A", "offer B"] and (r["control_n"] == 500).all()
    assert r.loc["offer A", "abs_lift"] > 0.05 > abs(r.loc["offer B", "abs_lift"])
    df["segment"] = np.where(np.arange(len(df)) % 2, "x", "y")
    df.loc[(df["segment"] == "x") & (df["group"] == "control"), "segment"] = "z"  # z: control only
    by = evaluate_by(df, "segment")
    assert set(by.index.get_level_values(0)) == {"y"} and by.attrs["skipped"] == ["x", "z"]


@pytest.mark.parametrize("frame, fragment", [
    (pd.DataFrame({"group": ["treatment"] * 3, "responded": [1, 0, 1]}), "no control group"),
    (pd.DataFrame({"group": ["control"], "reply": [1]}), "column missing"),
])
def test_evaluate_ab_bad_input(frame, fragment):
    with pytest.raises(InputError, match=fragment):
        evaluate_ab(frame)


def test_evaluate_campaigns_skips_campaign_without_control():
    campaigns = pd.DataFrame({"campaign_id": ["A", "B"], "channel": ["email", "email"]})
    contacts = pd.DataFrame({"campaign_id": ["A"] * 4 + ["B"] * 2,
                             "group": ["treatment", "treatment", "control", "control", "treatment", "treatment"],
                             "responded": [1, 0, 0, 0, 1, 1], "response_revenue": [5.0, 0, 0, 0, 3, 3],
                             "contact_cost": [1.0, 1, 0, 0, 1, 1]})
    r = evaluate_campaigns(campaigns, contacts)
    assert list(r.index) == [("A", "treatment")] and r.attrs["skipped"] == {"B": "no control group"}


@pytest.mark.parametrize("p_c, lift, ratio", [(0.05, 0.01, 1.0), (0.10, 0.02, 1.0), (0.10, 0.03, 3.0),
                                              (0.30, 0.05, 0.5), (0.02, 0.005, 4.0)])
def test_sample_size_equals_closed_form(p_c, lift, ratio):
    h = 2 * np.arcsin(np.sqrt(p_c + lift)) - 2 * np.arcsin(np.sqrt(p_c))  # Cohen's h
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    expected = int(np.ceil((z / h) ** 2 * (1 + 1 / ratio)))
    assert sample_size_two_proportions(p_c, lift, ratio=ratio) == expected
    assert sample_size_two_proportions(p_c, lift / p_c, relative=True, ratio=ratio) == expected


def test_sample_size_gives_80_percent_power_by_simulation():
    n = sample_size_two_proportions(0.10, 0.03)
    rng = np.random.default_rng(5)
    power = np.mean([evaluate_ab(_experiment(rng, n, n, 0.13, 0.10)).iloc[0]["p_value"] < 0.05
                     for _ in range(400)])
    assert 0.75 <= power <= 0.85, (n, power)


def test_sample_size_rejects_impossible_rates():
    with pytest.raises(ValueError, match="differ"):
        sample_size_two_proportions(0.1, 0.0)
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        sample_size_two_proportions(0.95, 0.1)
