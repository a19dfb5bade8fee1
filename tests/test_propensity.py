"""Response and churn propensity models on retail-demo, gains table by hand, model files."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from dbmlib.core.db import read_clean
from dbmlib.models import propensity, training_sets
from dbmlib.models.propensity import (
    PropensityModel,
    compare_models,
    gains_table,
    load_model,
    save_model,
)
from dbmlib.models.training_sets import churn_training_set, response_training_set
from tests.conftest import build_clean_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    _, con, _ = build_clean_demo(tmp_path_factory.mktemp("prop"), 8_000)
    customers, tx = read_clean(con)
    campaigns = con.execute("SELECT * FROM campaigns").df()
    contacts = con.execute("SELECT * FROM campaign_contacts").df()
    yield customers, tx, campaigns, contacts
    con.close()


def test_gains_table_by_hand():
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    g = gains_table(y, p, n_bins=5)
    assert g["customers"].tolist() == [2, 2, 2, 2, 2]
    assert g["responders"].tolist() == [1, 1, 0, 0, 1]
    assert g["lift"].iloc[0] == pytest.approx(0.5 / 0.3)
    assert g["cum_gain"].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3, 2 / 3, 1.0])


def test_response_model_on_held_out_customers(demo):
    customers, tx, campaigns, contacts = demo
    X, y = response_training_set(customers, tx, campaigns, contacts)
    assert set(X["campaign_id"]) == set(campaigns["campaign_id"])
    assert len(X) == contacts["contacted"].sum()  # every treated contact, no control
    ids = X.index.unique()
    test_ids = pd.Index(np.random.default_rng(0).choice(ids, len(ids) // 3, replace=False))
    test = X.index.isin(test_ids)
    model = PropensityModel("gbm", ["campaign_channel"], random_state=0).fit(X[~test], y[~test])
    p = model.predict_proba(X[test])[:, 1]
    auc = roc_auc_score(y[test], p)
    lift = gains_table(y[test], p).loc[1, "lift"]
    assert auc > 0.6 and lift > 1.5  # measured on 20,000 customers: AUC 0.68, top-decile lift 2.1
    again = PropensityModel("gbm", ["campaign_channel"], random_state=0).fit(X[~test], y[~test])
    np.testing.assert_array_equal(again.predict_proba(X[test]), model.predict_proba(X[test]))
    imp = model.permutation_importance(X[test], y[test], n_repeats=2)
    assert imp.index[0] in {"recency_days", "orders", "revenue", "tenure_days", "age_band"}


def test_compare_models_and_churn(demo):
    customers, tx, _, _ = demo
    X, y = churn_training_set(customers, tx, "2024-12-31", 180)
    assert 0.3 < y.mean() < 0.9
    buyers_before = tx.loc[tx["order_ts"] < "2024-12-31", "customer_id"].nunique()
    assert len(X) == buyers_before
    table = compare_models(X, y, cv=3)
    assert list(table.index) == ["logistic", "gbm"]
    assert (table["roc_auc"] > 0.65).all()  # measured 0.71 / 0.72 on 20,000 customers


def test_save_and_load_round_trip(demo, tmp_path):
    customers, tx, _, _ = demo
    X, y = churn_training_set(customers, tx, "2024-12-31", 180)
    model = PropensityModel("logistic").fit(X, y)
    path = save_model(model, tmp_path / "churn")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    meta = (tmp_path / "churn.json").read_text()
    assert '"recency_days"' in meta and '"kind": "logistic"' in meta


def test_no_campaign_history_is_a_clear_error(demo):
    customers, tx, campaigns, contacts = demo
    with pytest.raises(ValueError, match="needs campaign history"):
        response_training_set(customers, tx, campaigns.iloc[0:0], contacts)


def test_channel_shares_equal_a_normalised_crosstab():
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c", "c", "x"],
                       "channel": ["web", "web", "store", "phone", "store", "web", "web"]})
    index = pd.Index(["a", "b", "c", "d"], name="customer_id")  # d has no orders, x is not asked for
    shares = training_sets.channel_shares(tx, index)
    ref = pd.crosstab(tx["customer_id"], tx["channel"], normalize="index").reindex(index).fillna(0.0)
    assert list(shares.columns) == ["phone", "store", "web"]
    np.testing.assert_allclose(shares.to_numpy(), ref.to_numpy(), rtol=1e-15)
    assert shares.loc["a"].tolist() == pytest.approx([0, 1 / 3, 2 / 3])
    assert shares.loc["d"].sum() == 0


def test_training_rows_stratified_seeded_sample():
    y = np.r_[np.ones(300, int), np.zeros(700, int)]
    rows = propensity.training_rows(y, 100, random_state=4)
    assert len(rows) == 100 and y[rows].sum() == 30  # each class keeps its share
    assert np.all(np.diff(rows) > 0)  # original order, no repeats
    np.testing.assert_array_equal(rows, propensity.training_rows(y, 100, random_state=4))
    assert not np.array_equal(rows, propensity.training_rows(y, 100, random_state=5))
    np.testing.assert_array_equal(propensity.training_rows(y, None), np.arange(1000))
    np.testing.assert_array_equal(propensity.training_rows(y, 5000), np.arange(1000))


def test_compare_models_out_of_fold_equals_sklearn(demo):
    """One fold loop gives sklearn's cross_validate scores and cross_val_predict probabilities."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_validate

    customers, tx, _, _ = demo
    X, y = churn_training_set(customers, tx, "2024-12-31", 180)
    table, oof = compare_models(X, y, cv=3, random_state=2, out_of_fold=True)
    folds = StratifiedKFold(3, shuffle=True, random_state=2)
    cols = training_sets.NUMERIC + training_sets.CATEGORICAL
    for kind in ("logistic", "gbm"):
        pipe = PropensityModel(kind, random_state=2)._pipeline()
        ref = cross_val_predict(pipe, propensity._inputs(X, cols), y.to_numpy(), cv=folds, method="predict_proba")[:, 1]
        np.testing.assert_allclose(oof[kind].to_numpy(), ref, rtol=1e-12)
        scores = cross_validate(pipe, propensity._inputs(X, cols), y.to_numpy(), cv=folds, scoring="roc_auc")
        assert table.loc[kind, "roc_auc"] == pytest.approx(scores["test_score"].mean(), rel=1e-9)
    assert (oof["y"] == y).all() and table["rows"].tolist() == [len(X), len(X)]


def test_row_cap_trains_on_the_stratified_sample(demo):
    customers, tx, _, _ = demo
    X, y = churn_training_set(customers, tx, "2024-12-31", 180)
    capped = PropensityModel("logistic", max_rows=2_000, random_state=1).fit(X, y)
    assert capped.n_train_rows_ == 2_000
    rows = propensity.training_rows(y, 2_000, 1)
    manual = PropensityModel("logistic", random_state=1).fit(X.iloc[rows], y.iloc[rows])
    np.testing.assert_array_equal(capped.predict_proba(X), manual.predict_proba(X))
    table = compare_models(X, y, cv=3, max_rows=2_000)
    assert table["rows"].tolist() == [2_000, 2_000] and (table["roc_auc"] > 0.6).all()


def test_features_from_codes_equal_rfm_table_and_channel_shares():
    """features_as_of on integer codes (OrderCodes, encoded once for several dates) equals the
    pandas computation it replaced — rfm_table of the orders before the date, channel_shares,
    demographics — exactly, with missing customers, dates and channels among the orders."""
    from dbmlib.models.training_sets import CATEGORICAL, OrderCodes, channel_shares, features_as_of
    from dbmlib.segment.rfm import rfm_table

    def reference(customers, transactions, as_of):
        as_of = pd.Timestamp(as_of)
        past = transactions[pd.to_datetime(transactions["order_ts"]) < as_of]
        rfm = rfm_table(past, as_of)
        mix = channel_shares(past, rfm.index)
        for ch in ("web", "store", "catalogue", "phone"):
            rfm[f"share_{ch}"] = mix[ch] if ch in mix else 0.0
        demo = customers.reindex(rfm.index)
        for col in CATEGORICAL:
            rfm[col] = demo[col].astype("string").fillna("unknown") if col in demo else "unknown"
        return rfm

    rng = np.random.default_rng(3)
    n = 4000
    tx = pd.DataFrame({"customer_id": pd.array([f"c{i:03d}" for i in rng.integers(0, 600, n)], dtype="str"),
                       "order_ts": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="min"),
                       "net_amount": np.round(rng.gamma(2.0, 21.7, n), 2) * rng.choice([1, -1], n, p=[0.95, 0.05]),
                       "channel": rng.choice(["web", "store", "phone", "kiosk"], n)})
    tx.loc[rng.random(n) < 0.01, "customer_id"] = None
    tx.loc[rng.random(n) < 0.01, "order_ts"] = pd.NaT
    tx.loc[rng.random(n) < 0.02, "channel"] = None
    customers = pd.DataFrame({"region": rng.choice(["north", "south"], 500), "age_band": "35-44"},
                             index=pd.Index([f"c{i:03d}" for i in range(500)], name="customer_id"))
    codes = OrderCodes(tx)
    for as_of in ("2023-06-01", "2023-12-31 17:30", "2024-12-01"):
        expected = reference(customers, tx, as_of)
        pd.testing.assert_frame_equal(features_as_of(customers, tx, as_of), expected, check_exact=True)
        pd.testing.assert_frame_equal(features_as_of(customers, codes, as_of), expected, check_exact=True)
    # the codes remember the customers' rows of the last table asked: another table is looked up afresh
    other = customers.iloc[::-1].assign(region="west").iloc[:300]
    for as_of in ("2023-12-31 17:30", "2024-12-01"):
        expected = reference(other, tx, as_of)
        assert (expected["region"] == "west").sum() == expected.index.isin(other.index).sum() > 0
        pd.testing.assert_frame_equal(features_as_of(other, codes, as_of), expected, check_exact=True)
        pd.testing.assert_frame_equal(features_as_of(customers, codes, as_of), reference(customers, tx, as_of),
                                      check_exact=True)


def test_campaign_rows_equal_the_inner_join_of_features_and_contacts(demo):
    """The features of each campaign's contacted buyers, looked up by Arrow's hash, equal the
    inner join they replaced — and a customer listed twice in one campaign still gets the
    join's two rows."""
    from dbmlib.models.training_sets import campaign_training_set, features_as_of

    customers, tx, campaigns, contacts = demo

    def reference(contacts):
        parts = []
        for camp in campaigns.itertuples():
            rows = contacts[contacts["campaign_id"] == camp.campaign_id]
            f = features_as_of(customers, tx, camp.start_date).join(
                rows.set_index("customer_id")[["responded", "contacted"]], how="inner")
            parts.append(f.assign(campaign_channel=camp.channel, campaign_id=camp.campaign_id))
        data = pd.concat(parts)
        y = data.pop("responded").astype(int)
        return data.assign(contacted=data["contacted"].astype(bool)), y

    twice = pd.concat([contacts, contacts[contacts["campaign_id"] == campaigns["campaign_id"].iloc[0]].head(7)],
                      ignore_index=True)
    sizes = []
    for frame in (contacts, twice):
        X, y = campaign_training_set(customers, tx, campaigns, frame, include_control=True)
        want_X, want_y = reference(frame)
        pd.testing.assert_frame_equal(X, want_X, check_exact=True)
        pd.testing.assert_series_equal(y, want_y, check_exact=True)
        assert len(X) > 1000 and (~X["contacted"]).sum() > 100  # treated and control rows
        sizes.append(len(X))
    assert 0 < sizes[1] - sizes[0] <= 7  # the repeated contacts who had bought: one more row each
