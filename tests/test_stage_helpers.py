"""Logic moved out of notebooks 01–04 into the library: metric recording, load summaries,
cleaning parameters, demographics and penetration, model comparison and propensity results,
and the demo's truth checks."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dbmlib import clean, collect, demo, models, segment
from dbmlib.core import record_all, record_each, replace_tables
from dbmlib.core.db import connect, read_frame
from dbmlib.core.errors import InputError


def test_record_each_names_casts_and_rounds():
    s = pd.Series({"a": np.int64(3), "b": np.int64(5)})
    assert record_each("rows.{}", s, int, display=False) == {"rows.a": 3, "rows.b": 5}
    multi = pd.Series([1.23456789, 2.0], index=pd.MultiIndex.from_tuples([("x", "y"), ("x", "z")]))
    out = record_each("p.{}.{}.fitted", multi, digits=4, display=False)
    assert out == {"p.x.y.fitted": 1.2346, "p.x.z.fitted": 2.0}
    assert type(record_each("f.{}", pd.Series({"k": np.bool_(True)}), bool, display=False)["f.k"]) is bool
    assert record_all({"a": 1, "b": np.float64(0.5)}, display=False) == {"a": 1, "b": 0.5}


def test_replace_tables_is_one_transaction(tmp_path):
    con = connect(tmp_path / "m.duckdb")
    good = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["a", "b"], name="customer_id"))
    replace_tables(con, {"t1": good})
    import duckdb

    with pytest.raises(duckdb.ParserException):  # the second table's name is not SQL: nothing changes
        replace_tables(con, {"t1": good.assign(v=[7, 8]), "t 2": good})
    assert read_frame(con, "SELECT * FROM t1 ORDER BY customer_id")["v"].tolist() == [1, 2]
    con.close()


def test_read_mapping_and_load_summary(tmp_path):
    f = tmp_path / "map.yaml"
    f.write_text("transactions:\n  InvoiceNo: order_id\n")
    assert collect.read_mapping(str(f)) == {"transactions": {"InvoiceNo": "order_id"}}
    assert collect.read_mapping("") is None
    f.write_text("- just\n- a list\n")
    with pytest.raises(InputError, match="map.yaml"):
        collect.read_mapping(str(f))
    reports = [collect.LoadReport("transactions", "raw_transactions", "/x/y/transactions.csv", "loaded", 10, 8, 2)]
    table = collect.load_summary(reports)
    assert table.loc["transactions", "file"] == "transactions.csv" and table.loc["transactions", "rows_rejected"] == 2
    reports[0].rows_loaded = 7
    with pytest.raises(RuntimeError, match="rows read must equal"):
        collect.load_summary(reports)


def test_clean_config_from_notebook_parameters(tmp_path):
    opt = tmp_path / "opt_out.txt"
    opt.write_text("a@x.org\nC00012\n")
    cfg = clean.CleanConfig.from_parameters(dayfirst=False, decimal=",", merge_keys="email,phone", outlier_z=4.0,
                                            internal_domains="a.example,b.example", opt_out_file=str(opt))
    assert cfg.merge_keys == ("email", "phone") and cfg.internal_domains == ("a.example", "b.example")
    assert cfg.opt_out == ("a@x.org", "C00012") and cfg.dayfirst is False and cfg.outlier_z == 4.0
    assert clean.CleanConfig.from_parameters().opt_out == ()


def test_demographics_and_penetration_tables():
    feat = pd.DataFrame({"region": ["N", "S", "N", "S"], "age_band": ["unknown"] * 4,
                         "income_band": ["low", "high", "low", "low"], "revenue": [10.0, 30.0, 20.0, 40.0],
                         "orders": [1, 2, 1, 3]})
    assert segment.has_demographics(feat)
    assert not segment.has_demographics(feat.assign(region="unknown", income_band="unknown"))
    tables = segment.penetration_tables(feat)
    assert list(tables) == ["region", "income_band"]  # age band is all unknown
    assert tables["region"].loc["S", "index_value"] == pytest.approx(35 / 25 * 100)


def test_explorer_summary_table():
    feat = pd.DataFrame({"segment": ["A", "A", "B"], "revenue": [1.0, 2.0, 3.0], "orders": [1, 1, 2],
                         "recency_days": [5, 10, 20]}, index=["x", "y", "z"])
    table = segment.SegmentExplorer(feat, groupings=("segment",)).summary_table("segment")
    assert list(table.index) == ["A", "B"] and table.loc["A", "customers"] == 2
    assert table.loc["B", "share_revenue"] == pytest.approx(0.5) and "sample_ids" not in table


def test_holdout_split_and_model_comparison():
    from dbmlib.demo.simulate import transaction_log
    from dbmlib.segment import calibration_and_holdout

    tx = transaction_log(1500, seed=2)
    end, cal_end = models.holdout_split(tx["order_ts"], 182)
    assert end == tx["order_ts"].max().normalize() and (end - cal_end).days == 182
    ch = calibration_and_holdout(tx, "customer_id", "order_ts", cal_end, end, freq_multiplier=7)
    fitted, comparison = models.compare_purchase_models(ch, ["bgnbd", "pnbd"])
    assert list(comparison.index) == ["bgnbd", "pnbd"]
    errors = models.holdout_errors(fitted["pnbd"], ch)[1]
    assert comparison.loc["pnbd", "mae"] == errors["mae"]
    assert comparison.loc["bgnbd", "log_likelihood"] == fitted["bgnbd"].log_likelihood_
    cal = models.calibration_summary(ch)
    assert list(cal.columns) == ["frequency", "recency", "T"]


def test_parameter_table_joins_purchase_and_spend():
    from dbmlib.demo import load_cdnow
    from dbmlib.segment import rfm_summary

    cd = load_cdnow(sample=True)
    s = rfm_summary(cd, "customer_id", "order_date", "amount", "1997-09-30", freq_multiplier=7)
    p, g = models.PurchaseModel().fit(s), models.SpendModel().fit(s)
    table = models.parameter_table(p, g)
    assert list(table.index) == ["r", "alpha", "a", "b", "gg_p", "gg_q", "gg_v"]
    boot = pd.DataFrame({"r": np.arange(1, 101) / 100.0})
    with_boot = models.parameter_table(p, g, boot, level=0.9)
    assert with_boot.loc["r", "boot 5%"] == pytest.approx(np.quantile(boot["r"], 0.05))
    assert np.isnan(with_boot.loc["a", "boot 95%"])


@pytest.fixture(scope="module")
def clean_demo(tmp_path_factory):
    from tests.conftest import build_clean_demo

    src, con, result = build_clean_demo(tmp_path_factory.mktemp("helpers"), 3000, seed=5)
    yield src, con, result
    con.close()


def test_response_and_churn_results(clean_demo):
    from dbmlib.core.db import read_clean

    _, con, _ = clean_demo
    customers, tx = read_clean(con)
    campaigns = con.execute("SELECT * FROM campaigns").df()
    contacts = con.execute("SELECT * FROM campaign_contacts").df()
    end = tx["order_ts"].max().normalize()
    now = models.features_as_of(customers, tx, end + pd.Timedelta(days=1))
    r = models.fit_response_model(customers, tx, campaigns, contacts, now, cv=3, random_state=0)
    assert r.kind == r.cv["roc_auc"].idxmax() and len(r.scores) == len(now)
    assert r.scores.between(0, 1).all() and r.gains.loc[1, "lift"] > 1
    assert set(r.metrics("response")) == {"response.roc_auc.logistic", "response.roc_auc.gbm",
                                          "response.top_decile_lift"}
    assert models.fit_response_model(customers, tx, campaigns.iloc[:0], contacts, now) is None
    c = models.fit_churn_model(customers, tx, now, end=end, churn_days=180, cv=3)
    assert c.gains is None and set(c.metrics("churn")) == {"churn.roc_auc.logistic", "churn.roc_auc.gbm"}
    assert c.cv.loc[c.kind, "roc_auc"] > 0.6


def test_demo_checks_only_for_the_demo(clean_demo, tmp_path):
    src, con, result = clean_demo
    assert demo.demo_folder("cdnow") is None and demo.demo_folder(str(tmp_path)) is None
    assert demo.cleaning_grade(result.quality_log, result.tables["customer_id_map"], None) is None
    grade, merges, metrics = demo.cleaning_grade(result.quality_log, result.tables["customer_id_map"], src)
    assert metrics["grade.merge_precision"] == merges["precision"] and len(grade) >= 5
    assert all(metrics[f"grade.{p}.share_found"] == s for p, s in zip(grade["problem"], grade["share_found"]))
    assert demo.cluster_agreement([0, 1], pd.Index(["x", "y"]), None) is None
    with pytest.raises(ValueError, match="describes none"):
        demo.cluster_agreement([0, 1], pd.Index(["nobody", "else"]), src)
    truth = pd.read_csv(Path(src) / "_truth" / "customers.csv").set_index("customer_id")
    ids = truth.index[:400]
    groups = truth.loc[ids, "behaviour_group"]
    assert demo.cluster_agreement(pd.factorize(groups)[0], ids, src) == pytest.approx(1.0)
    from sklearn.metrics import adjusted_rand_score

    # the index on the text groups themselves, to the last bit
    labels = np.random.default_rng(5).integers(0, 4, len(truth))
    assert demo.cluster_agreement(labels, truth.index, src) == adjusted_rand_score(truth["behaviour_group"], labels)
    assert demo.uplift_truth_correlation(None, pd.DataFrame(), []) is None
    assert demo.campaign_truth_check(src, pd.DataFrame(), pd.DataFrame()) is None
