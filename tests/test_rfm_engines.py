"""The DuckDB and Spark engines give the numpy engine's summaries; DuckDB under a small memory
limit on a Parquet log; Spark batch scoring equals in-process scoring."""

import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest

from dbmlib.demo.simulate import transaction_log
from dbmlib.models.clv import PurchaseModel, SpendModel
from dbmlib.segment.rfm import calibration_and_holdout, rfm_summary

ARGS = ("customer_id", "order_ts")


@pytest.fixture(scope="module")
def log():
    d = transaction_log(4_000, seed=3)
    d["customer_id"] = "C" + d["customer_id"].astype(str).str.zfill(6)  # string ids
    return d


def _same(a, b):
    b = b.sort_index()
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_index_type=False, check_names=False,
                                  rtol=1e-12)


@pytest.mark.parametrize("unit, mult, money, first", [("D", 1, "amount", False), ("W", 1, None, False),
                                                      ("h", 24, "amount", False), ("D", 7, "amount", True)])
def test_duckdb_summary_equals_numpy(log, unit, mult, money, first):
    kw = dict(observation_period_end="2024-12-31", time_unit=unit, freq_multiplier=mult,
              include_first_transaction=first)
    _same(rfm_summary(log, *ARGS, money, **kw), rfm_summary(log, *ARGS, money, engine="duckdb", **kw))


def test_duckdb_calibration_equals_numpy(log):
    kw = dict(calibration_period_end="2024-06-30", observation_period_end="2024-12-31",
              monetary_value_col="amount", freq_multiplier=7)
    _same(calibration_and_holdout(log, *ARGS, **kw), calibration_and_holdout(log, *ARGS, engine="duckdb", **kw))


def test_duckdb_reads_parquet_under_a_small_memory_limit(tmp_path):
    """1M rows under 40 MB: the proportion of the 2 GB limit a 50M-row log gets."""

    d = pd.concat([transaction_log(100_000, seed=k, first_id=k * 100_000) for k in range(3)],
                  ignore_index=True)
    path = tmp_path / "log.parquet"
    d.to_parquet(path, index=False)
    con = duckdb.connect()
    con.execute("SET memory_limit = '40MB'")
    con.execute(f"SET temp_directory = '{tmp_path / 'spill'}'")
    ours = rfm_summary(str(path), *ARGS, "amount", "2024-12-31", engine="duckdb", con=con)
    assert len(d) > 900_000 and len(ours) == 300_000
    _same(rfm_summary(d, *ARGS, "amount", "2024-12-31"), ours)


def test_sql_engines_reject_unknown_units_and_missing_files(log, tmp_path):
    from dbmlib.core.errors import InputError

    with pytest.raises(ValueError, match="time_unit"):
        rfm_summary(log, *ARGS, None, time_unit="M", engine="duckdb")
    with pytest.raises(InputError, match="no such file"):
        rfm_summary(str(tmp_path / "missing.parquet"), *ARGS, None, engine="duckdb")
    with pytest.raises(ValueError, match="engine"):
        rfm_summary(log, *ARGS, None, engine="polars")


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from dbmlib.models.spark import local_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark's notice about pandas 3
        session = local_session("dbm-tests")
        yield session
    session.stop()


def test_spark_summaries_equal_numpy(spark, log):
    sdf = spark.createDataFrame(log)
    kw = dict(observation_period_end="2024-12-31", freq_multiplier=7)
    got = rfm_summary(sdf, *ARGS, "amount", engine="spark", **kw).toPandas().set_index("customer_id")
    _same(rfm_summary(log, *ARGS, "amount", **kw), got)
    kw = dict(calibration_period_end="2024-06-30", observation_period_end="2024-12-31",
              monetary_value_col="amount")
    got = calibration_and_holdout(sdf, *ARGS, engine="spark", **kw).toPandas().set_index("customer_id")
    _same(calibration_and_holdout(log, *ARGS, **kw), got)


def test_spark_batch_scoring_equals_in_process(spark, log):
    from dbmlib.models.spark import score, score_frame

    s = rfm_summary(log, *ARGS, "amount", "2024-12-31")
    purchase, spend = PurchaseModel("bgnbd").fit(s), SpendModel().fit(s)
    sdf = spark.createDataFrame(s.reset_index()).repartition(3)
    got = score(sdf, purchase, spend, margin=0.3).toPandas().set_index("customer_id").sort_index()
    want = score_frame(s, purchase, spend, horizon=12 * 30.4375, horizon_months=12,
                       discount_rate_annual=0.1, margin=0.3, days_per_time_unit=1.0)
    assert len(got) == len(s)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)


def test_a_log_in_arrival_order_gives_the_sorted_logs_summary(log):
    """Real exports interleave customers and carry times of day: the hash-based summary does not
    depend on the row order."""
    shuffled = log.sample(frac=1.0, random_state=3).reset_index(drop=True)
    kw = dict(observation_period_end="2024-12-31", freq_multiplier=7)
    _same(rfm_summary(shuffled, *ARGS, "amount", **kw), rfm_summary(log, *ARGS, "amount", **kw))
    kw = dict(calibration_period_end="2024-06-30", observation_period_end="2024-12-31", monetary_value_col="amount")
    _same(calibration_and_holdout(shuffled, *ARGS, **kw), calibration_and_holdout(log, *ARGS, **kw))
