"""BG/NBD with covariates: planted effects of a channel and an age on the purchase rate and
the dropout are recovered within their intervals; without covariates it is the plain BG/NBD."""

import numpy as np
import pandas as pd
import pytest

from dbmlib.core.errors import InputError
from dbmlib.demo.simulate import BGNBDTraits, simulate_repeat_purchases
from dbmlib.models import PurchaseModel
from dbmlib.models.covariates import CovariatePurchaseModel

TRUTH = {"r": 0.75, "alpha0": 8.0, "a0": 0.8, "b0": 3.2,
         "gamma_rate[channel=web]": 0.5, "gamma_a[channel=web]": 0.6, "gamma_b[channel=web]": 0.0,
         "gamma_rate[age]": -0.2, "gamma_a[age]": 0.0, "gamma_b[age]": 0.3}


def _simulate(n: int, seed: int):
    rng = np.random.default_rng(seed)
    web = (rng.random(n) < 0.4).astype(float)
    age = rng.normal(size=n)
    alpha = TRUTH["alpha0"] * np.exp(-(TRUTH["gamma_rate[channel=web]"] * web + TRUTH["gamma_rate[age]"] * age))
    a = TRUTH["a0"] * np.exp(TRUTH["gamma_a[channel=web]"] * web + TRUTH["gamma_a[age]"] * age)
    b = TRUTH["b0"] * np.exp(TRUTH["gamma_b[channel=web]"] * web + TRUTH["gamma_b[age]"] * age)
    lam = rng.gamma(TRUTH["r"], 1 / alpha)
    p = rng.beta(a, b)
    traits = BGNBDTraits(lam=lam, p=p, nu=np.ones(n), lifetime_repeats=rng.geometric(p))
    T = np.floor(rng.uniform(26, 78, n))  # weeks since the first purchase
    cust, t, _, _ = simulate_repeat_purchases(traits, T, rng)
    freq = np.bincount(cust, minlength=n).astype(float)
    last = np.zeros(n)
    np.maximum.at(last, cust, t)
    summary = pd.DataFrame({"frequency": freq, "recency": np.round(last, 4), "T": T})
    covariates = pd.DataFrame({"channel": np.where(web == 1, "web", "store"), "age": np.round(age, 1)})
    return summary, covariates


def test_planted_covariate_effects_are_recovered_within_their_intervals():
    summary, covariates = _simulate(20_000, seed=3)
    model = CovariatePurchaseModel().fit(summary, covariates)
    coef = model.coefficients_
    assert model.levels_["channel"] == {"reference": "store", "others": ["web"]}
    for name, truth in TRUTH.items():
        row = coef.loc[f"log {name}" if name in ("r", "alpha0", "a0", "b0") else name]
        value = np.log(truth) if name in ("r", "alpha0", "a0", "b0") else truth
        assert row["ci_low"] <= value <= row["ci_high"], (name, value, row.to_dict())
    # web customers buy exp(0.5) = 1.65 times as often: the interval of the multiplier says so
    web = coef.loc["gamma_rate[channel=web]"]
    assert np.exp(web["ci_low"]) < np.exp(0.5) < np.exp(web["ci_high"]) and web["rate_multiplier"] > 1.3
    # predictions use each customer's own parameters: the BG/NBD formulas at α₀e^(−γ·z), a₀e^(γ·z), b₀e^(γ·z)
    from dbmlib.models.btyd_predict import bgnbd_expected_purchases

    same = pd.DataFrame({"frequency": [2.0, 2.0], "recency": [30.0, 30.0], "T": [52.0, 52.0]})
    who = pd.DataFrame({"channel": ["web", "store"], "age": [1.0, 0.0]})
    p = model.params_
    web_params = [p["r"], p["alpha0"] * np.exp(-p["gamma_rate[channel=web]"] - p["gamma_rate[age]"]),
                  p["a0"] * np.exp(p["gamma_a[channel=web]"] + p["gamma_a[age]"]),
                  p["b0"] * np.exp(p["gamma_b[channel=web]"] + p["gamma_b[age]"])]
    e = model.expected_purchases(26, same, who)
    assert e.iloc[0] == pytest.approx(bgnbd_expected_purchases(web_params, 26, [2.0], [30.0], [52.0])[0], rel=1e-12)
    assert e.iloc[1] == pytest.approx(bgnbd_expected_purchases(p[["r", "alpha0", "a0", "b0"]].to_numpy(), 26, [2.0],
                                                               [30.0], [52.0])[0], rel=1e-12)
    effects = model.rate_effects()
    assert effects.loc["channel=web", "clear_effect"] and effects.loc["channel=web", "low"] < np.exp(0.5) < \
        effects.loc["channel=web", "high"]
    with pytest.raises(InputError, match="age.*column missing"):
        model.p_alive(same, who.drop(columns="age"))


def test_without_covariates_it_is_the_plain_bgnbd():
    summary, _ = _simulate(5_000, seed=4)
    plain = PurchaseModel("bgnbd").fit(summary)
    model = CovariatePurchaseModel().fit(summary, pd.DataFrame(index=summary.index))
    got = model.params_[["r", "alpha0", "a0", "b0"]].to_numpy()
    assert np.allclose(got, plain.params_.to_numpy(), rtol=1e-4)
    assert model.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-7)
    np.testing.assert_allclose(model.p_alive(summary, pd.DataFrame(index=summary.index)), plain.p_alive(summary),
                               rtol=1e-4, atol=1e-9)


def test_covariate_effects_uses_informative_columns_and_pools_rare_levels():
    from dbmlib.models.covariates import covariate_effects

    summary, covariates = _simulate(6_000, seed=8)
    customers = pd.DataFrame({"channel": covariates["channel"], "region": "unknown",
                              "age_band": np.where(np.arange(6_000) < 10, "100+", covariates["age"].gt(0).map({True: "50+",
                                                                                                           False: "<50"}))},
                             index=summary.index)
    model, note = covariate_effects(summary, customers, ["channel", "region", "age_band", "gender"])
    assert note == "No usable region, gender (missing, or one value only)"
    assert model.covariate_columns_ == ["channel", "age_band"]
    assert "gamma_rate[age_band=other]" in model.params_ and "gamma_rate[age_band=100+]" not in model.params_
    assert covariate_effects(summary, customers, ["region"]) == (None, "No usable region (missing, or one value only): "
                                                                       "the purchase model has no covariates")
    assert covariate_effects(summary, customers, []) == (None, "The purchase model has no covariates")


def test_a_level_whose_customers_never_repeat_is_flagged_not_reported_as_an_effect():
    from dbmlib.models.covariates import covariate_effects

    summary, covariates = _simulate(3_000, seed=9)
    customers = pd.DataFrame({"channel": covariates["channel"]}, index=summary.index)
    never = summary.index[:200]
    summary.loc[never, ["frequency", "recency"]] = 0.0
    customers.loc[never, "channel"] = "kiosk"
    model, note = covariate_effects(summary, customers, ["channel"])
    effects = model.rate_effects()
    assert note == "" and not effects.loc["channel=kiosk", "identified"] and not effects.loc["channel=kiosk", "clear_effect"]
    assert effects.loc["channel=web", "identified"] and effects.loc["channel=web", "clear_effect"]


PNBD_TRUTH = {"r": 0.55, "alpha0": 10.0, "s": 0.6, "beta0": 12.0,
              "gamma_rate[channel=web]": 0.5, "gamma_dropout[channel=web]": -0.7,
              "gamma_rate[age]": -0.2, "gamma_dropout[age]": 0.3}


def _simulate_pnbd(n: int, seed: int):
    """Pareto/NBD customers with planted effects: λ ~ Gamma(r, α₀e^(−γ_rate·z)), μ ~ Gamma(s, β₀e^(−γ_dropout·z))."""
    rng = np.random.default_rng(seed)
    web = (rng.random(n) < 0.4).astype(float)
    age = np.round(rng.normal(size=n), 1)
    t = PNBD_TRUTH
    alpha = t["alpha0"] * np.exp(-(t["gamma_rate[channel=web]"] * web + t["gamma_rate[age]"] * age))
    beta = t["beta0"] * np.exp(-(t["gamma_dropout[channel=web]"] * web + t["gamma_dropout[age]"] * age))
    lam, mu = rng.gamma(t["r"], 1 / alpha), rng.gamma(t["s"], 1 / beta)
    T = np.floor(rng.uniform(26, 78, n))
    active = np.minimum(rng.exponential(1 / mu), T)  # purchases happen until death or the end
    x = rng.poisson(lam * active).astype(float)
    tx = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1), 0.0)  # the last of x uniform times
    summary = pd.DataFrame({"frequency": x, "recency": np.round(tx, 4), "T": T})
    return summary, pd.DataFrame({"channel": np.where(web == 1, "web", "store"), "age": age})


def test_pareto_nbd_with_covariates_recovers_planted_effects():
    summary, covariates = _simulate_pnbd(20_000, seed=3)
    model = CovariatePurchaseModel("pnbd").fit(summary, covariates)
    coef = model.coefficients_
    assert list(model.params_.index) == ["r", "alpha0", "s", "beta0", "gamma_rate[channel=web]", "gamma_rate[age]",
                                         "gamma_dropout[channel=web]", "gamma_dropout[age]"]
    for name, truth in PNBD_TRUTH.items():
        row = coef.loc[f"log {name}" if name in ("r", "alpha0", "s", "beta0") else name]
        value = np.log(truth) if name in ("r", "alpha0", "s", "beta0") else truth
        assert row["ci_low"] <= value <= row["ci_high"], (name, value, row.to_dict())
    # the web channel: 1.65 times the purchase rate, half the dropout rate; both intervals exclude 0
    assert coef.loc["gamma_rate[channel=web]", "ci_low"] > 0 and coef.loc["gamma_dropout[channel=web]", "ci_high"] < 0
    # predictions are the Pareto/NBD's at each customer's own α and β
    from dbmlib.models.btyd_predict import pnbd_expected_purchases, pnbd_p_alive

    p = model.params_
    one = pd.DataFrame({"frequency": [3.0], "recency": [20.0], "T": [52.0]})
    own = [p["r"], p["alpha0"] * np.exp(-p["gamma_rate[channel=web]"] - 0.5 * p["gamma_rate[age]"]), p["s"],
           p["beta0"] * np.exp(-p["gamma_dropout[channel=web]"] - 0.5 * p["gamma_dropout[age]"])]
    who = pd.DataFrame({"channel": ["web"], "age": [0.5]})
    assert model.expected_purchases(10, one, who).iloc[0] == pytest.approx(
        pnbd_expected_purchases(own, 10, [3.0], [20.0], [52.0])[0], rel=1e-12)
    assert model.p_alive(one, who).iloc[0] == pytest.approx(pnbd_p_alive(own, [3.0], [20.0], [52.0])[0], rel=1e-12)


def test_pareto_nbd_without_covariates_is_the_plain_pareto_nbd():
    summary, _ = _simulate_pnbd(5_000, seed=2)
    plain = PurchaseModel("pnbd").fit(summary)
    model = CovariatePurchaseModel("pnbd").fit(summary, pd.DataFrame(index=summary.index))
    np.testing.assert_allclose(model.params_.to_numpy(), plain.params_.to_numpy(), rtol=2e-4)
    assert model.log_likelihood_ == pytest.approx(plain.log_likelihood_, abs=1e-4)
    with pytest.raises(ValueError, match="kind must be one of"):
        CovariatePurchaseModel("bgbb").fit(summary, pd.DataFrame(index=summary.index))


def test_covariate_effects_on_a_large_base_fits_a_seeded_sample():
    from dbmlib.models.covariates import covariate_effects

    summary, covariates = _simulate(6_000, seed=8)
    customers = covariates.assign(channel=covariates["channel"])
    model, note = covariate_effects(summary, customers, ["channel"], max_customers=2_000, random_state=4)
    again, _ = covariate_effects(summary, customers, ["channel"], max_customers=2_000, random_state=4)
    assert model.n_customers_ == 2_000 and note == "Fitted on a seeded sample of 2,000 customers"
    pd.testing.assert_series_equal(model.params_, again.params_)  # the same sample, the same fit
    full, full_note = covariate_effects(summary, customers, ["channel"])
    assert full.n_customers_ == 6_000 and full_note == ""
    # the sample's interval is wider and still holds the planted web effect (×1.65)
    assert model.rate_effects().loc["channel=web", "low"] < np.exp(0.5) < model.rate_effects().loc["channel=web", "high"]
