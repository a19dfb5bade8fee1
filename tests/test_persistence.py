"""Saved CLV models score new data exactly as the fitted ones; the record names its data,
time unit and versions; a summary in another unit is refused."""

import json

import numpy as np
import pandas as pd
import pytest

from dbmlib.core.errors import InputError
from dbmlib.models import PurchaseModel, RetentionModel, SpendModel
from dbmlib.models.persistence import data_fingerprint, load_model_json, save_model_json
from dbmlib.models.retention import PUBLISHED_SBG
from tests.test_clv import _cal


@pytest.fixture(scope="module")
def weekly():
    return _cal(7)


@pytest.mark.parametrize("kind", ["bgnbd", "pnbd", "mbgnbd"])
def test_a_saved_purchase_model_predicts_exactly_like_the_fitted_one(weekly, kind, tmp_path):
    model = PurchaseModel(kind).fit(weekly)
    path = save_model_json(model, tmp_path / f"{kind}.json", time_unit="weeks", data=weekly)
    again = load_model_json(path, time_unit="weeks")
    new = weekly.sample(200, random_state=1)  # "new data": another summary in the same unit
    pd.testing.assert_series_equal(again.expected_purchases(39, new), model.expected_purchases(39, new), rtol=0, atol=0)
    pd.testing.assert_series_equal(again.p_alive(new), model.p_alive(new), rtol=0, atol=0)
    assert np.array_equal(again.expected_purchases_population([1, 10]), model.expected_purchases_population([1, 10]))
    record = json.loads(path.read_text())
    assert record["kind"] == kind and record["time_unit"] == "weeks" and record["n_customers"] == len(weekly)
    assert record["data_fingerprint"] == data_fingerprint(weekly, ["frequency", "recency", "T"])
    assert set(record["versions"]) >= {"dbmlib", "numpy", "pandas", "scipy"}
    with pytest.raises(InputError, match="fitted in weeks.*summary in weeks \\(this one is in days\\)"):
        load_model_json(path, time_unit="days")


def test_spend_retention_and_bgbb_round_trip_and_fingerprints_tell_data_apart(weekly, tmp_path):
    spend = SpendModel().fit(weekly)
    again = load_model_json(save_model_json(spend, tmp_path / "gg.json", time_unit="weeks", data=weekly))
    pd.testing.assert_series_equal(again.expected_spend(weekly), spend.expected_spend(weekly), rtol=0, atol=0)
    retention = RetentionModel().fit(PUBLISHED_SBG["regular"]["survivors"][:8])
    back = load_model_json(save_model_json(retention, tmp_path / "sbg.json", time_unit="years"))
    assert np.array_equal(back.survival(np.arange(13)), retention.survival(np.arange(13)))
    assert back.discounted_expected_residual_lifetime(3, 0.1) == retention.discounted_expected_residual_lifetime(3, 0.1)
    periods = pd.DataFrame({"frequency": [0, 1, 3, 2], "recency": [0, 2, 4, 3], "T": [5, 5, 5, 5]})
    bgbb = PurchaseModel("bgbb").fit(periods, sample_weight=[50, 20, 10, 15])
    loaded = load_model_json(save_model_json(bgbb, tmp_path / "bgbb.json", time_unit="years", data=periods))
    assert np.array_equal(loaded.p_alive(periods), bgbb.p_alive(periods))
    assert data_fingerprint(weekly, ["frequency"]) != data_fingerprint(weekly.iloc[::-1], ["frequency"])
    with pytest.raises(ValueError, match="not fitted"):
        save_model_json(PurchaseModel(), tmp_path / "x.json", time_unit="weeks")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="not a model saved"):
        load_model_json(tmp_path / "bad.json")


@pytest.mark.parametrize("kind", ["bgnbd", "pnbd", "mbgnbd"])
def test_our_predictions_equal_lifetimes_on_cdnow(weekly, kind):
    """No runtime prediction uses lifetimes' code any more; lifetimes stays the reference."""
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

    model = PurchaseModel(kind).fit(weekly)
    peer = {"bgnbd": BetaGeoFitter, "pnbd": ParetoNBDFitter, "mbgnbd": ModifiedBetaGeoFitter}[kind]()
    peer.params_ = model.params_.copy()
    f, r, T = (weekly[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    assert np.allclose(model.p_alive(weekly), peer.conditional_probability_alive(f, r, T), rtol=0, atol=1e-8)
    for t in (1, 39, 78):
        assert np.allclose(model.expected_purchases(t, weekly),
                           peer.conditional_expected_number_of_purchases_up_to_time(t, f, r, T), rtol=0, atol=1e-8)
    assert np.allclose(model.expected_purchases_population([1, 39, 78]),
                       peer.expected_number_of_purchases_up_to_time(np.array([1.0, 39.0, 78.0])), rtol=0, atol=1e-10)
    if kind == "bgnbd":  # and the spend model's
        from lifetimes import GammaGammaFitter

        spend = SpendModel().fit(weekly)
        gg = GammaGammaFitter()
        gg.params_ = spend.params_.copy()
        assert np.allclose(spend.expected_spend(weekly),
                           gg.conditional_expected_average_profit(weekly["frequency"], weekly["monetary_value"]),
                           rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["bgnbd", "pnbd"])
def test_a_saved_covariate_model_scores_new_customers_exactly(weekly, kind, tmp_path):
    from dbmlib.models import CovariatePurchaseModel

    region = pd.Series(np.where(np.arange(len(weekly)) % 3 == 0, "north", "south"), index=weekly.index)
    age = pd.Series(np.arange(len(weekly)) % 7 / 3.0, index=weekly.index)
    covariates = pd.DataFrame({"region": region, "age": age})
    model = CovariatePurchaseModel(kind).fit(weekly, covariates)
    again = load_model_json(save_model_json(model, tmp_path / "cov.json", time_unit="weeks", data=weekly),
                            time_unit="weeks")
    new = weekly.sample(300, random_state=2)
    who = covariates.loc[new.index].copy()
    who.iloc[::5, 0] = "west"  # a level the model never saw: scored as the reference
    pd.testing.assert_series_equal(again.expected_purchases(20, new, who), model.expected_purchases(20, new, who),
                                   rtol=0, atol=0)
    pd.testing.assert_series_equal(again.p_alive(new, who), model.p_alive(new, who), rtol=0, atol=0)
    pd.testing.assert_frame_equal(again.rate_effects(), model.rate_effects())
    assert again.levels_ == {"region": {"reference": "south", "others": ["north"]}} and again.kind == kind
