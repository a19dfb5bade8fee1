"""The BG/NBD fitter recovers the retail-demo generator's truth once campaigns and day
resolution are accounted for; and each of the two perturbations is visible."""

import numpy as np
import pandas as pd
import pytest

from dbmlib.core.db import connect
from dbmlib.core.errors import InputError
from dbmlib.demo.simulate import draw_bgnbd_traits, simulate_repeat_purchases
from dbmlib.demo.truth import natural_purchases, read_truth, truth_recovery
from dbmlib.models.btyd_validation import bootstrap_params
from dbmlib.models.clv import PurchaseModel

TRUTH = {"r": 0.75, "alpha": 110.0, "a": 0.8, "b": 3.2}


def test_simulator_output_recovers_truth_inside_bootstrap_interval():
    """Bare simulator, continuous time: the 95 % bootstrap interval covers every parameter."""
    rng = np.random.default_rng(0)
    n = 20_000
    traits = draw_bgnbd_traits(n, **TRUTH, q=4, gamma=30, rng=rng)
    horizon = rng.uniform(60, 900, n)
    cust, t, _, _ = simulate_repeat_purchases(traits, horizon, rng)
    recency = np.zeros(n)
    np.maximum.at(recency, cust, t)
    summary = pd.DataFrame({"frequency": np.bincount(cust, minlength=n).astype(float),
                            "recency": recency / 7, "T": horizon / 7})
    fitted = PurchaseModel("bgnbd").fit(summary).params_
    boot = bootstrap_params(summary, n_boot=40, seed=1)
    lo, hi = boot.quantile(0.025), boot.quantile(0.975)
    true = pd.Series(TRUTH) / pd.Series({"r": 1, "alpha": 7, "a": 1, "b": 1})
    assert ((lo <= true) & (true <= hi)).all(), pd.DataFrame({"lo": lo, "truth": true, "hi": hi})
    assert ((lo <= fitted) & (fitted <= hi)).all()


@pytest.fixture(scope="module")
def demo_tables(default_demo):
    src, db = default_demo
    con = connect(db)
    tx = con.execute("SELECT customer_id, order_ts FROM transactions_model").df()
    campaigns = con.execute("SELECT * FROM campaigns").df()
    con.close()
    params, camp_truth = read_truth(src)
    return tx, campaigns, params, camp_truth


def test_natural_purchases_removes_exactly_the_persuaded_orders(demo_tables):
    tx, campaigns, _, camp_truth = demo_tables
    kept, removed = natural_purchases(tx, campaigns, camp_truth)
    assert removed == int(camp_truth["persuaded"].sum()) == 620
    assert len(kept) == len(tx) - 620


def test_retail_demo_bgnbd_recovers_truth_and_shows_the_perturbations(demo_tables):
    tx, campaigns, params, camp_truth = demo_tables
    end = tx["order_ts"].max()
    # 100 replicates: alpha's truth (15.71/week) lies near the lower end of its interval
    # (fitted 16.25), so a 40-replicate percentile interval is too noisy to decide
    hourly = truth_recovery(tx, campaigns, params, camp_truth, end, days_per_time_unit=7,
                            n_boot=100, seed=0, variants=["natural purchases, hours"])
    hourly = hourly.set_index("parameter")
    assert hourly["truth_inside"].all(), hourly[["truth", "fitted", "boot_lo", "boot_hi"]]
    assert hourly.loc["alpha", "truth"] == pytest.approx(110 / 7)
    table = truth_recovery(tx, campaigns, params, camp_truth, end, n_boot=0)
    every = table.pivot(index="parameter", columns="variant", values="fitted")
    # campaign-caused purchases make the base look less heterogeneous (r up, alpha up) ...
    assert every.loc["r", "all orders, days"] > every.loc["r", "natural purchases, days"] + 0.03
    assert every.loc["r", "all orders, days"] > 0.75 + 0.05
    # ... and merging same-day repeat orders lowers the estimated purchase rate r/alpha
    rate = every.loc["r"] / every.loc["alpha"]
    assert rate["natural purchases, days"] < rate["natural purchases, hours"]


def test_truth_recovery_on_a_customer_sample(demo_tables):
    """A seeded sample of customers estimates the same population: close to the full fit,
    with the same seed the same numbers, and fewer campaign orders to remove."""
    tx, campaigns, params, camp_truth = demo_tables
    end = tx["order_ts"].max()
    variant = ["natural purchases, hours"]
    full = truth_recovery(tx, campaigns, params, camp_truth, end, n_boot=0, variants=variant)
    sample = truth_recovery(tx, campaigns, params, camp_truth, end, n_boot=0, variants=variant,
                            max_customers=8_000, seed=3)
    again = truth_recovery(tx, campaigns, params, camp_truth, end, n_boot=0, variants=variant,
                           max_customers=8_000, seed=3)
    pd.testing.assert_frame_equal(sample, again)
    np.testing.assert_allclose(sample["fitted"], full["fitted"], rtol=0.15)
    assert not np.allclose(sample["fitted"], full["fitted"], rtol=1e-6)  # it did sample
    assert 0 < sample["orders_removed"].iloc[0] < full["orders_removed"].iloc[0]


def test_missing_truth_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="params.json"):
        read_truth(tmp_path)


def test_planted_channel_effects_are_recovered_by_both_covariate_models(tmp_path):
    """``covariate_effects=True`` multiplies each customer's rate by exp(γ) of their acquisition
    channel. Fitted on the orders the generator wrote (in weeks), the covariate BG/NBD — the
    generator's own process — holds every planted multiplier inside its 95 % interval; the
    Pareto/NBD, misspecified here (its dropout is in continuous time), comes within 8 %."""
    from dbmlib.demo import make_retail_demo
    from dbmlib.demo.retail_demo import RATE_EFFECTS
    from dbmlib.demo.truth import planted_rate_effects
    from dbmlib.models.covariates import CovariatePurchaseModel
    from dbmlib.segment.rfm import rfm_summary

    folder = make_retail_demo(tmp_path / "co", n_customers=20_000, seed=4, covariate_effects=True)
    orders = pd.read_csv(folder / "_truth" / "orders.csv", parse_dates=["order_ts"])
    summary = rfm_summary(orders, "customer_id", "order_ts", None, observation_period_end="2025-06-30 23:59:59",
                          freq_multiplier=7)
    channel = pd.read_csv(folder / "customers.csv").drop_duplicates("customer_id").set_index("customer_id")
    covariates = channel.loc[summary.index, ["acquisition_channel"]]
    assert json_rate_effects(folder) == RATE_EFFECTS
    for kind in ("bgnbd", "pnbd"):
        model = CovariatePurchaseModel(kind).fit(summary, covariates)
        effects = model.rate_effects()
        planted = planted_rate_effects(folder, model.levels_)
        assert len(planted) == 4 and set(planted.index) == set(effects.index)
        inside = (effects["low"] <= planted) & (planted <= effects["high"])
        close = (effects["rate_multiplier"] / planted - 1).abs() < 0.08
        assert (inside if kind == "bgnbd" else close).all(), (kind, effects.assign(planted=planted))
        # referral ×1.49 and social ×0.67 are clear effects; catalogue ×1.22 at least in the right direction
        assert effects.loc["acquisition_channel=referral", "low"] > 1.2
        assert effects.loc["acquisition_channel=social", "high"] < 0.8
    assert planted_rate_effects(tmp_path, {}) is None  # no _truth: real data


def json_rate_effects(folder):
    import json

    return json.loads((folder / "_truth" / "params.json").read_text())["rate_effects"]


def test_rate_effects_with_truth_marks_levels_without_a_planted_value(tmp_path):
    """A level the generator did not plant (pooled "other", "unknown") gets NA, not False."""
    import json

    from dbmlib.demo.truth import rate_effects_with_truth

    (tmp_path / "_truth").mkdir()
    (tmp_path / "_truth" / "params.json").write_text(json.dumps({"rate_effects": {"ch": {"web": 0.0, "social": -0.4}}}))

    class Fitted:
        levels_ = {"ch": {"reference": "web", "others": ["other", "social"]}}

        def rate_effects(self):
            return pd.DataFrame({"rate_multiplier": [1.1, 0.7], "low": [0.9, 0.6], "high": [1.3, 0.8]},
                                index=["ch=other", "ch=social"])

    table = rate_effects_with_truth(Fitted(), tmp_path)
    assert table["planted"].round(4).tolist()[1] == round(float(np.exp(-0.4)), 4) and np.isnan(table["planted"].iloc[0])
    assert table["planted_inside"].iloc[1] == True and pd.isna(table["planted_inside"].iloc[0])  # noqa: E712
    assert list(rate_effects_with_truth(Fitted(), None).columns) == ["rate_multiplier", "low", "high"]


def test_customer_sample_draws_from_the_sorted_ids_as_text():
    """The seeded sample of customers is drawn from the distinct ids as sorted text — read
    from the remembered codes for Arrow text, sorted afresh for other ids or a missing one."""
    from dbmlib.core.fast_text import isin
    from dbmlib.demo.truth import _customer_sample

    rng = np.random.default_rng(5)
    raw = rng.integers(0, 300, 3000)
    for ids in (pd.Series([f"C{i}" for i in raw], dtype="str"), pd.Series(raw), pd.Series([f"C{i}" for i in raw], dtype=object),
                pd.Series([None if i == 7 else f"C{i}" for i in raw], dtype="str")):
        tx = pd.DataFrame({"customer_id": ids, "x": np.arange(len(ids))})
        text = np.sort(pd.unique(tx["customer_id"].dropna()).astype(str))  # the draw as it always was, on the text
        picked = np.random.default_rng(2).choice(text, 50, replace=False)
        want = tx[isin(tx["customer_id"].astype(str), picked)]
        got = _customer_sample(tx, "customer_id", 50, seed=2)
        pd.testing.assert_frame_equal(got, want)
        assert got["customer_id"].nunique() == 50  # integer ids too (none before); a missing id is no customer
        assert _customer_sample(tx, "customer_id", 10_000, seed=2) is tx  # no more customers than that: all
