"""evaluate_ab: hand-checked numbers, interval coverage and p-value uniformity by simulation,
clear errors; sample_size_two_proportions against the closed form and by simulated power."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from dbmlib.campaign.evaluation import evaluate_ab, evaluate_by, evaluate_campaigns
from dbmlib.campaign.planning import sample_size_two_proportions
from dbmlib.core.errors import InputError, format_rows


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


# --- revenue per customer, cost per contact, SRM, CUPED, multi-arm labels, evaluate_by's
# adjusted p-values and heterogeneity test ---------------------------------------------------

def _welch_by_hand(a, b, level=0.95):
    """mean(a) − mean(b), Welch interval and p-value from the textbook formulas."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    d = a.mean() - b.mean()
    q = stats.t.ppf(0.5 + level / 2, df)
    return d, d - q * se, d + q * se, 2 * stats.t.sf(abs(d) / se, df)


def _holm_by_hand(p):
    p = np.asarray(p, float)
    order = np.argsort(p)
    adj = np.minimum(np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1)), 1)
    out = np.empty_like(p)
    out[order] = adj
    return out


def _bh_by_hand(p):
    p = np.asarray(p, float)
    order = np.argsort(p)
    m = len(p)
    adj = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = np.minimum(adj, 1)
    return out


def _small_experiment():
    """20 customers, 10 offered, 10 withheld, with a revenue and a pre-period revenue."""
    return pd.DataFrame({
        "group": ["treatment"] * 10 + ["control"] * 10,
        "responded": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0] + [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        "revenue": [12.0, 8.0, 15.0, 5.0, 0, 0, 0, 0, 0, 0] + [10.0, 6.0, 0, 0, 0, 0, 0, 0, 0, 0],
        "pre_revenue": [30.0, 10, 25, 0, 5, 0, 12, 0, 3, 0] + [20.0, 15, 0, 4, 0, 0, 9, 0, 0, 2],
        "cost": [1.0] * 10 + [0.0] * 10,
    })


def test_revenue_per_customer_by_hand():
    df = _small_experiment()
    r = evaluate_ab(df, revenue_col="revenue", level=0.9).loc["treatment"]
    assert r["revenue_per_customer"] == pytest.approx(4.0, abs=1e-12)  # 40 / 10
    assert r["control_revenue_per_customer"] == pytest.approx(1.6, abs=1e-12)  # 16 / 10
    d, lo, hi, p = _welch_by_hand(df["revenue"][:10], df["revenue"][10:], level=0.9)
    assert r["revenue_diff"] == pytest.approx(2.4, abs=1e-12) == pytest.approx(d, abs=1e-12)
    assert r["revenue_diff_lo"] == pytest.approx(lo, abs=1e-12)
    assert r["revenue_diff_hi"] == pytest.approx(hi, abs=1e-12)
    assert r["revenue_p_value"] == pytest.approx(p, abs=1e-12)
    assert r["significant_revenue"] == (p < 0.1)
    # the incremental revenue of the cell is the same difference times its 10 customers
    assert r["incremental_revenue"] == pytest.approx(10 * d, abs=1e-12)
    assert r["incremental_revenue_lo"] == pytest.approx(10 * lo, abs=1e-12)
    assert r["incremental_revenue_hi"] == pytest.approx(10 * hi, abs=1e-12)
    assert "revenue_diff" not in evaluate_ab(df).columns  # no revenue column, no revenue results


def test_revenue_difference_significant_when_revenue_differs():
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"group": ["offer"] * 2000 + ["control"] * 2000, "responded": rng.random(4000) < 0.1,
                       "revenue": np.r_[rng.gamma(2, 6, 2000), rng.gamma(2, 5, 2000)]})  # 12 against 10
    r = evaluate_ab(df, revenue_col="revenue").loc["offer"]
    d, lo, hi, p = _welch_by_hand(df["revenue"][:2000], df["revenue"][2000:])
    assert (r["revenue_diff_lo"], r["revenue_diff_hi"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert r["revenue_p_value"] == pytest.approx(p, abs=1e-12) and p < 1e-6 and r["significant_revenue"]
    assert lo < 2.0 < hi


def test_cost_per_contact_equals_a_cost_column():
    df = _small_experiment()
    by_column = evaluate_ab(df, revenue_col="revenue", cost_col="cost", margin=0.5)
    by_number = evaluate_ab(df.drop(columns="cost"), revenue_col="revenue", cost_per_contact=1.0, margin=0.5)
    pd.testing.assert_frame_equal(by_column, by_number, rtol=1e-12, atol=1e-12)
    r = by_number.loc["treatment"]
    assert r["cost"] == pytest.approx(10.0, abs=1e-12)  # 10 contacts at 1.0; the control costs nothing
    assert r["incremental_profit"] == pytest.approx(24.0 * 0.5 - 10.0, abs=1e-12)
    assert r["incremental_profit_lo"] == pytest.approx(r["incremental_revenue_lo"] * 0.5 - 10.0, abs=1e-12)
    assert r["roi"] == pytest.approx((24.0 * 0.5 - 10.0) / 10.0, abs=1e-12)
    cost_only = evaluate_ab(df, cost_per_contact=0.25).loc["treatment"]
    assert cost_only["cost"] == pytest.approx(2.5, abs=1e-12) and "roi" not in cost_only.index
    with pytest.raises(ValueError, match="not both"):
        evaluate_ab(df, cost_col="cost", cost_per_contact=1.0)
    with pytest.raises(ValueError, match="cost_per_contact"):
        evaluate_ab(df, cost_per_contact=-1.0)


def _sized(**sizes):
    rng = np.random.default_rng(0)
    groups = np.concatenate([[g.replace("_", " ")] * n for g, n in sizes.items()])
    return pd.DataFrame({"group": groups, "responded": rng.random(len(groups)) < 0.1})


def test_srm_warning_for_5000_against_5400():
    df = _sized(control=5000, treatment=5400)
    q = 2 * 200 ** 2 / 5200
    r = evaluate_ab(df, intended_split=0.5).loc["treatment"]
    assert r["srm_p_value"] == pytest.approx(stats.chi2.sf(q, 1), rel=1e-12) and r["srm_p_value"] < 0.001
    assert r["srm_warning"]
    as_dict = evaluate_ab(df, intended_split={"control": 0.5, "treatment": 0.5})
    assert as_dict.loc["treatment", "srm_p_value"] == pytest.approx(r["srm_p_value"], rel=1e-12)


def test_no_srm_warning_for_5000_against_5050():
    r = evaluate_ab(_sized(control=5000, treatment=5050), intended_split=0.5).loc["treatment"]
    assert r["srm_p_value"] == pytest.approx(stats.chi2.sf(2 * 25 ** 2 / 5025, 1), rel=1e-12)
    assert r["srm_p_value"] > 0.5 and not r["srm_warning"]
    assert "srm_p_value" not in evaluate_ab(_sized(control=5000, treatment=5050)).columns


def test_srm_with_several_offers():
    df = _sized(control=1000, offer_A=2100, offer_B=1900)  # planned 20 / 40 / 40 %
    r = evaluate_ab(df, intended_split={"control": 0.2, "offer A": 0.4, "offer B": 0.4})
    assert list(r.index) == ["offer A", "offer B"]
    assert r["srm_p_value"].tolist() == pytest.approx([np.exp(-10 / 2)] * 2, rel=1e-12)  # Q = 5 + 5, 2 df
    assert not r["srm_warning"].any()
    # the control's planned share alone: 1,000 of 5,000 is exactly 20 %
    assert evaluate_ab(df, intended_split=0.2)["srm_p_value"].tolist() == pytest.approx([1.0, 1.0])
    # a planned group nobody was assigned to is the largest mismatch of all
    lost = evaluate_ab(df, intended_split={"control": 0.1, "offer A": 0.3, "offer B": 0.3, "offer C": 0.3})
    assert lost["srm_warning"].all()
    with pytest.raises(InputError, match=r"column 'group'.*'offer B' has no share.*expected") as info:
        evaluate_ab(df, intended_split={"control": 0.2, "offer A": 0.8})
    assert info.value.rows[:3] == [3101, 3102, 3103]
    with pytest.raises(ValueError, match="sum to 1"):
        evaluate_ab(df, intended_split={"control": 0.2, "offer A": 0.4, "offer B": 0.5})
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        evaluate_ab(df, intended_split=1.2)


def test_cuped_by_hand():
    df = _small_experiment()
    r = evaluate_ab(df, revenue_col="revenue", covariate_col="pre_revenue")
    row = r.loc["treatment"]
    x = df["pre_revenue"].to_numpy()
    t = np.arange(20) < 10
    for outcome, names in [("responded", ("abs_lift_cuped", "p_value_cuped", "variance_reduction_response")),
                           ("revenue", ("revenue_diff_cuped", "revenue_p_value_cuped",
                                        "variance_reduction_revenue"))]:
        y = df[outcome].to_numpy(float)
        theta = np.cov(y, x)[0, 1] / np.var(x, ddof=1)  # pooled over all 20 customers
        adj = y - theta * (x - x.mean())
        d, lo, hi, p = _welch_by_hand(adj[t], adj[~t])
        est, p_name, vr_name = names
        assert row[est] == pytest.approx(d, abs=1e-12)
        assert row[f"{est}_lo"] == pytest.approx(lo, abs=1e-12)
        assert row[f"{est}_hi"] == pytest.approx(hi, abs=1e-12)
        assert row[p_name] == pytest.approx(p, abs=1e-12)
        assert row[vr_name] == pytest.approx(1 - adj.var(ddof=1) / y.var(ddof=1), abs=1e-12)
        assert r.attrs["cuped_theta"]["revenue" if outcome == "revenue" else "response"] == \
            pytest.approx(theta, abs=1e-12)
    # the plain results are unchanged by the covariate
    plain = evaluate_ab(df, revenue_col="revenue")
    pd.testing.assert_frame_equal(r[plain.columns], plain)
    only_response = evaluate_ab(df, covariate_col="pre_revenue")
    assert "abs_lift_cuped" in only_response.columns and "revenue_diff_cuped" not in only_response.columns


def test_cuped_narrows_intervals_and_keeps_coverage():
    """300 simulated experiments of 2,000 customers (1,000 offered), seed 2013. A latent
    activity a drives the pre-period revenue (100 + 30a), the revenue (corr. 0.60 with the
    pre-period revenue; true lift 3.0 per customer) and the response (P = 0.02 + 0.9 Φ(2a − 1.5),
    corr. ≈ 0.58; true lift 0.03). Observed with this seed: CUPED coverage 95.0 % (revenue)
    and 94.7 % (response), interval width / plain width 0.80 and 0.81 on average, narrower
    in all 300 experiments (2,000 experiments with seed 2: 94.8 % and 94.9 %)."""
    reps, n, lift_rev, lift_resp = 300, 2000, 3.0, 0.03
    rng = np.random.default_rng(2013)
    a = rng.standard_normal((reps, n))
    treated = np.arange(n) < n // 2
    pre = 100 + 30 * a
    revenue = 60 + 25 * (0.6 * a + 0.8 * rng.standard_normal((reps, n))) + lift_rev * treated
    responded = rng.random((reps, n)) < 0.02 + 0.9 * stats.norm.cdf(2 * a - 1.5) + lift_resp * treated
    assert np.corrcoef(pre.ravel(), revenue.ravel())[0, 1] == pytest.approx(0.6, abs=0.01)
    group = np.where(treated, "offer", "control")
    r = pd.DataFrame([evaluate_ab(pd.DataFrame({"group": group, "responded": responded[i], "revenue": revenue[i],
                                                "pre_revenue": pre[i]}),
                                  revenue_col="revenue", covariate_col="pre_revenue").iloc[0]
                      for i in range(reps)])
    for est, plain, true in [("revenue_diff_cuped", "revenue_diff", lift_rev),
                             ("abs_lift_cuped", "abs_lift", lift_resp)]:
        width = (r[f"{est}_hi"] - r[f"{est}_lo"]) / (r[f"{plain}_hi"] - r[f"{plain}_lo"])
        assert (width < 1).mean() >= 0.99, (est, (width < 1).mean())
        assert 0.75 <= width.mean() <= 0.86, (est, width.mean())  # √(1 − corr²) ≈ 0.8
        coverage = ((r[f"{est}_lo"] <= true) & (true <= r[f"{est}_hi"])).mean()
        assert 0.93 <= coverage <= 0.97, (est, coverage)
    assert r["variance_reduction_revenue"].mean() == pytest.approx(0.36, abs=0.02)


def test_labels_of_any_type_give_the_same_numbers():
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 3, 3000)
    df = pd.DataFrame({"arm": codes, "y": rng.random(3000) < 0.1 + 0.02 * codes,
                       "rev": rng.gamma(1, 10, 3000)})
    by_int = evaluate_ab(df, "arm", "y", "rev", control_label=0)
    assert list(by_int.index) == [1, 2] and (by_int["control_n"] == (codes == 0).sum()).all()
    names = {0: "control", 1: "offer A", 2: "offer B"}
    by_name = evaluate_ab(df.assign(arm=df["arm"].map(names)), "arm", "y", "rev")
    assert list(by_name.index) == ["offer A", "offer B"]
    np.testing.assert_array_equal(by_int.to_numpy(), by_name.to_numpy())
    as_text = evaluate_ab(df.assign(arm=df["arm"].astype(str)), "arm", "y", "rev", control_label=0)
    assert list(as_text.index) == ["1", "2"]  # "0" read from a file is the control label 0
    np.testing.assert_array_equal(as_text.to_numpy(), by_int.to_numpy())
    cat = df.assign(arm=pd.Categorical(df["arm"].map(names), categories=["offer B", "control", "offer A"]))
    np.testing.assert_array_equal(evaluate_ab(cat, "arm", "y", "rev").to_numpy(), by_name.to_numpy())
    r = by_name.loc["offer B"]
    assert r["abs_lift"] == pytest.approx(df["y"][codes == 2].mean() - df["y"][codes == 0].mean(), abs=1e-12)


def _bad(column, rows, values):
    df = _small_experiment()
    df[column] = df[column].astype(object)
    df.loc[rows, column] = values
    return df


@pytest.mark.parametrize("frame, kwargs, column, rows", [
    (_bad("group", [2, 5], None), {}, "group", [3, 6]),  # missing labels
    (_bad("responded", [4], None), {}, "responded", [5]),  # a missing response
    (_bad("responded", [0, 11], 2), {}, "responded", [1, 12]),  # 0/2 codes are not yes/no
    (_bad("responded", [7, 8, 9, 12, 13, 14, 15], "maybe"), {}, "responded", [8, 9, 10, 13, 14, 15, 16]),
    (_small_experiment(), {"covariate_col": "pre_period"}, "pre_period", []),  # column missing
    (_small_experiment(), {"response_col": "reply"}, "reply", []),
    (_bad("revenue", [1], "n/a"), {"revenue_col": "revenue"}, "revenue", [2]),
    (_bad("pre_revenue", [0, 19], np.nan), {"covariate_col": "pre_revenue"}, "pre_revenue", [1, 20]),
    (_small_experiment().assign(group=pd.Categorical(["treatment"] * 10 + ["control"] * 10,
                                                     categories=["control", "treatment", "offer C"])),
     {}, "group", []),  # a cell without customers
    (_small_experiment().assign(group="control"), {}, "group", []),  # nobody offered anything
])
def test_bad_experiments_name_column_rows_and_expectation(frame, kwargs, column, rows):
    with pytest.raises(InputError, match=rf"column '{column}'.*expected") as info:
        evaluate_ab(frame, **kwargs)
    assert info.value.column == column and info.value.rows == rows and info.value.expected
    if rows:  # the first five rows, 1-based, in the message
        assert format_rows(rows) in str(info.value)


def test_evaluate_by_names_rows_of_the_whole_table():
    df = pd.concat([_small_experiment().assign(region="north"), _small_experiment().assign(region="south")],
                   ignore_index=True)
    df["responded"] = df["responded"].astype(object)
    df.loc[25, "responded"] = "maybe"  # the 6th customer of the second stratum
    with pytest.raises(InputError, match=r"column 'responded': row 26: not a yes/no outcome.*expected"):
        evaluate_by(df, "region")


def _strata_experiment(rng, lifts, n=4000, p_c=0.10):
    """One stratum per lift: n customers each, half offered; response p_c + lift if offered."""
    parts = []
    for name, lift in lifts.items():
        treated = rng.random(n) < 0.5
        parts.append(pd.DataFrame({"segment": name, "group": np.where(treated, "offer", "control"),
                                   "responded": rng.random(n) < p_c + lift * treated}))
    return pd.concat(parts, ignore_index=True)


def test_evaluate_by_adjusted_p_values_by_hand():
    rng = np.random.default_rng(4)
    df = _strata_experiment(rng, {"a": 0.0, "b": 0.02, "c": 0.04, "d": 0.0}, n=1500)
    df["group"] = np.where(df["group"].eq("offer") & (rng.random(len(df)) < 0.5), "offer 2", df["group"])
    holm = evaluate_by(df, "segment")
    assert len(holm) == 8 and holm.attrs["adjust"] == "holm"
    np.testing.assert_allclose(holm["p_value_adjusted"], _holm_by_hand(holm["p_value"]), rtol=1e-12, atol=1e-15)
    assert (holm["significant_adjusted"] == (holm["p_value_adjusted"] < 0.05)).all()
    assert (holm["p_value_adjusted"] >= holm["p_value"]).all()
    bh = evaluate_by(df, "segment", adjust="bh", level=0.9)
    np.testing.assert_allclose(bh["p_value_adjusted"], _bh_by_hand(bh["p_value"]), rtol=1e-12, atol=1e-15)
    assert (bh["significant_adjusted"] == (bh["p_value_adjusted"] < 0.1)).all()
    plain = evaluate_by(df, "segment", adjust=None)
    assert "p_value_adjusted" not in plain.columns
    pd.testing.assert_frame_equal(plain, holm[plain.columns])
    with pytest.raises(ValueError, match="adjust"):
        evaluate_by(df, "segment", adjust="bonferroni")


def test_evaluate_by_heterogeneity_by_hand():
    rng = np.random.default_rng(6)
    df = _strata_experiment(rng, {"a": 0.0, "b": 0.03, "c": 0.06}, n=2000)
    zero = pd.DataFrame({"segment": "z", "group": ["offer"] * 50 + ["control"] * 50, "responded": False})
    by = evaluate_by(pd.concat([df, zero], ignore_index=True), "segment")
    het = by.attrs["heterogeneity"]["offer"]
    rows = by.xs("offer", level="cell").drop(index="z")  # nobody responded in z: no variance
    var = (rows["response_rate"] * (1 - rows["response_rate"]) / rows["n"]
           + rows["control_rate"] * (1 - rows["control_rate"]) / rows["control_n"])
    # the same variance as behind each stratum's Wald interval
    np.testing.assert_allclose(rows["abs_lift_hi"] - rows["abs_lift"], stats.norm.ppf(0.975) * np.sqrt(var),
                               rtol=1e-9)
    ref = combine_effects(rows["abs_lift"].to_numpy(), var.to_numpy())
    w = 1 / var
    pooled = (w * rows["abs_lift"]).sum() / w.sum()
    q = (w * (rows["abs_lift"] - pooled) ** 2).sum()
    assert het["statistic"] == pytest.approx(q, rel=1e-12) == pytest.approx(ref.q, rel=1e-12)
    assert het["p_value"] == pytest.approx(stats.chi2.sf(q, 2), rel=1e-12)
    assert het["df"] == 2 and het["strata"] == 3 and het["skipped_zero_variance"] == 1
    assert het["pooled"] == pytest.approx(ref.mean_effect_fe, abs=1e-12)


def test_heterogeneity_found_when_the_lift_differs_between_strata():
    """Seed 17: lifts of −2, +2, +6 and +10 points in four strata of 4,000 give Q = 111 on
    3 df, p ≈ 6e-24; then the same +3 points everywhere gives Q = 0.53, p = 0.91. (Over 300
    homogeneous experiments of other seeds, 5.3 % had p < 0.05: the test holds its level.)"""
    rng = np.random.default_rng(17)
    het = evaluate_by(_strata_experiment(rng, {"a": -0.02, "b": 0.02, "c": 0.06, "d": 0.10}), "segment")
    p_het = het.attrs["heterogeneity"]["offer"]["p_value"]
    assert p_het < 0.001, p_het
    hom = evaluate_by(_strata_experiment(rng, {"a": 0.03, "b": 0.03, "c": 0.03, "d": 0.03}), "segment")
    p_hom = hom.attrs["heterogeneity"]["offer"]["p_value"]
    assert p_hom > 0.05, p_hom


def test_holm_keeps_the_family_wise_error_rate_over_null_experiments(monkeypatch):
    """500 experiments without any effect (seed 31), each 2,000 customers split into five
    strata of 400, half offered, response 10 % everywhere. Observed with this seed: a false
    positive in some stratum in 23.2 % of the experiments unadjusted (1 − 0.95⁵ = 22.6 %
    expected), in 5.8 % after Holm's adjustment (29 of 500; the bound 0.05 + 2 SE is 6.95 %)."""
    import gc

    # statsmodels' Holm runs a full garbage collection on every call (about 0.1 s with pandas,
    # scipy and statsmodels loaded: 50 s over 500 calls); it changes no number, so it is
    # skipped here for speed
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    reps, n = 500, 2000
    rng = np.random.default_rng(31)
    group = np.where(rng.random((reps, n)) < 0.5, "offer", "control")
    responded = rng.random((reps, n)) < 0.10
    stratum = np.repeat(["s1", "s2", "s3", "s4", "s5"], n // 5)
    raw = np.zeros(reps, bool)
    holm = np.zeros(reps, bool)
    for i in range(reps):
        r = evaluate_by(pd.DataFrame({"group": group[i], "responded": responded[i], "stratum": stratum}), "stratum")
        assert len(r) == 5
        raw[i], holm[i] = (r["p_value"] < 0.05).any(), (r["p_value_adjusted"] < 0.05).any()
    se = np.sqrt(0.05 * 0.95 / reps)
    assert holm.mean() <= 0.05 + 2 * se, holm.mean()
    assert 0.15 <= raw.mean() <= 0.30, raw.mean()
