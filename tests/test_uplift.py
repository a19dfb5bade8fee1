"""Qini and uplift curves by hand; uplift models rank customers by their true uplift."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from dbmlib.campaign.meta_learners import UpliftModel
from dbmlib.campaign.uplift import (
    UPLIFT_MODELS,
    auuc,
    campaign_uplift_model,
    evaluate_models,
    qini_coefficient,
    qini_curve,
    uplift_by_decile,
    uplift_curve,
)
from dbmlib.core.db import connect, read_clean
from dbmlib.demo.truth import read_truth, true_uplift_of
from dbmlib.models import training_sets

# six customers, best score first: T/C and outcome
Y = [1, 0, 1, 0, 0, 1]
T = [1, 0, 1, 1, 0, 0]
S = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]


def test_qini_curve_by_hand():
    q = qini_curve(Y, T, S)
    # k=1: Rt=1,Nt=1,Rc=0 → 1; k=2: Rt=1,Rc=0,Nc=1 → 1; k=3: Rt=2 → 2; k=4: Rt=2,Nt=3,Rc=0 → 2;
    # k=5: Nc=2, Rc=0 → 2; k=6: Rt=2,Nt=3,Rc=1,Nc=3 → 2 − 1·3/3 = 1
    assert q["qini"].tolist() == [0, 1, 1, 2, 2, 2, 1]
    assert q["share"].tolist() == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1])
    # area above the random line (0 → 1): trapezoids minus the triangle's 0.5, per customer
    area = np.trapezoid([0, 1, 1, 2, 2, 2, 1], q["share"]) - 0.5
    assert qini_coefficient(Y, T, S) == pytest.approx(area / 6)


def test_uplift_curve_by_hand():
    u = uplift_curve(Y, T, S)
    # k=1: (1/1 − 0)·1 = 1; k=2: (1 − 0/1)·2 = 2; k=3: (2/2 − 0)·3 = 3; k=4: (2/3 − 0)·4 = 8/3;
    # k=5: (2/3 − 0/2)·5 = 10/3; k=6: (2/3 − 1/3)·6 = 2
    assert u["uplift"].tolist() == pytest.approx([0, 1, 2, 3, 8 / 3, 10 / 3, 2])
    assert auuc(Y, T, S) == pytest.approx((np.trapezoid(u["uplift"], u["share"]) - 1.0) / 6)


def test_perfect_ranking_beats_reversed():
    rng = np.random.default_rng(0)
    n = 4000
    t = rng.integers(0, 2, n)
    true = rng.uniform(-0.05, 0.25, n)
    y = (rng.random(n) < 0.1 + t * true).astype(int)
    assert qini_coefficient(y, t, true) > 0 > qini_coefficient(y, t, -true)
    table = uplift_by_decile(y, t, true)
    assert table["observed_uplift"].iloc[0] > table["observed_uplift"].iloc[-1]
    assert table["customers"].sum() == n


def test_no_control_group_is_a_clear_error():
    with pytest.raises(ValueError, match="no control customers"):
        qini_curve([1, 0], [1, 1], [0.2, 0.1])


@pytest.fixture(scope="module")
def demo(default_demo):
    src, db = default_demo
    con = connect(db)
    customers, tx = read_clean(con)
    campaigns = con.execute("SELECT * FROM campaigns").df()
    contacts = con.execute("SELECT * FROM campaign_contacts").df()
    con.close()
    X, y = training_sets.campaign_training_set(customers, tx, campaigns, contacts, include_control=True)
    _, truth = read_truth(src)
    return X, y, truth


def test_uplift_models_rank_by_true_uplift(demo):
    X, y, truth = demo
    assert X["contacted"].sum() < len(X)  # both groups present
    fitted = {}
    table, curves, held = evaluate_models(X, X["contacted"], y, extra_categorical=["campaign_channel"], seed=0,
                                          fitted=fitted)
    assert list(fitted) == list(UPLIFT_MODELS) and all(m.max_rows is None for m in fitted.values())
    true = true_uplift_of(truth, held["campaign_id"], held.index)
    key = pd.MultiIndex.from_arrays([held["campaign_id"], held.index])
    np.testing.assert_array_equal(true, truth.set_index(["campaign_id", "customer_id"])["true_uplift"]
                                  .reindex(key).to_numpy())  # the lookup keeps the order asked for
    assert np.isfinite(true).mean() > 0.95
    corr = {m: spearmanr(held[m], true, nan_policy="omit").statistic for m in table.index}
    # measured on the default retail-demo (seed 0): two-model 0.185, X-learner 0.134, class
    # transformation 0.166, response model 0.071
    assert min(corr["two-model"], corr["X-learner"], corr["class transformation"]) > 0.1
    assert min(corr["two-model"], corr["X-learner"], corr["class transformation"]) > corr["response model"]
    assert list(table.columns) == ["qini_coefficient", "qini_normalized", "auuc", "uplift_at_30"]
    assert set(curves) == {"two-model", "X-learner", "class transformation", "response model"}


def test_uplift_estimators_follow_sklearn_conventions(demo):
    X, y, _ = demo
    for method in UPLIFT_MODELS.values():
        m = campaign_uplift_model(X, y, method=method, learner="logistic", seed=0)
        assert isinstance(m, UpliftModel) and m.arms_ == [1] and "campaign_channel" in m.categorical_
        u = m.predict_uplift(X.iloc[:50])
        assert u.shape == (50,) and np.all(np.abs(u) <= 1)
        np.testing.assert_array_equal(u, campaign_uplift_model(X, y, method=method, learner="logistic", seed=0)
                                      .predict_uplift(X.iloc[:50]))


def test_fit_best_reuses_the_evaluated_model_only_when_a_refit_would_learn_from_a_sample_as_large(demo):
    """Above the cap every base learner of the evaluated model already learnt from a seeded
    sample of max_rows rows, so fit_best returns it; at or below, it refits on every row."""
    from dbmlib.campaign.uplift import UpliftComparison

    X, y, _ = demo
    evaluated = campaign_uplift_model(X, y, method="t", seed=1, max_rows=300)
    comparison = UpliftComparison(X, y, pd.DataFrame(), {}, pd.DataFrame(), "two-model", {"two-model": evaluated}, 301)
    assert comparison.fit_best(seed=1, max_rows=300) is evaluated
    assert comparison.fit_best(seed=2, max_rows=300) is not evaluated  # another seed: refitted
    comparison.smallest_group = 300  # a group no larger than the cap: the refit sees more rows
    refit = comparison.fit_best(seed=1, max_rows=300)
    assert refit is not evaluated and refit.max_rows == 300
