"""Run the heavy per-customer steps on Spark.

* ``rfm_summary(..., engine="spark")`` and ``calibration_and_holdout(..., engine="spark")``
  (in :mod:`dbmlib.segment.rfm`) turn a PySpark transaction DataFrame into summaries with Spark SQL;
* :func:`score` applies fitted models to a Spark summary DataFrame partition by partition
  (``mapInPandas``), with exactly the in-process scoring code, so the scores are the same;
* :func:`local_session` starts a local Spark (tests, laptops); on a cluster, use the
  session your platform gives you (``spark-submit``, Databricks, EMR …).

Models are fitted in process on the (compressed) summary — their cost does not grow with the
number of customers — and shipped to the executors with the scoring function.
"""

from __future__ import annotations

import pandas as pd

from .clv import PurchaseModel, SpendModel, customer_lifetime_value

__all__ = ["SCORE_COLUMNS", "local_session", "score"]

SCORE_COLUMNS = ["p_alive", "expected_purchases", "expected_spend", "clv"]


def local_session(app_name: str = "dbm-workbench", cores: int = 2):
    """A local SparkSession in UTC with a small shuffle (for tests and single machines); its
    Python workers run this interpreter (so they see the same packages)."""
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (SparkSession.builder.master(f"local[{cores}]").appName(app_name)
            .config("spark.pyspark.python", sys.executable)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", str(2 * cores))
            .getOrCreate())


def score_frame(summary: pd.DataFrame, purchase: PurchaseModel, spend: SpendModel, *,
                horizon: float, horizon_months: int, discount_rate_annual: float, margin: float,
                days_per_time_unit: float) -> pd.DataFrame:
    """The in-process scores of a pandas summary (what every Spark partition runs)."""
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = purchase.p_alive(summary)
    out["expected_purchases"] = purchase.expected_purchases(horizon, summary)
    out["expected_spend"] = spend.expected_spend(summary)
    out["clv"] = customer_lifetime_value(purchase, spend, summary, horizon_months,
                                         discount_rate_annual, margin, days_per_time_unit)
    return out


def score(summary_sdf, purchase: PurchaseModel, spend: SpendModel, *,
          customer_id_col: str = "customer_id", horizon_months: int = 12,
          discount_rate_annual: float = 0.10, margin: float = 1.0,
          days_per_time_unit: float = 1.0):
    """Scores of every customer of a Spark summary DataFrame (``frequency, recency, T,
    monetary_value`` and the id), computed on the executors with :func:`score_frame`."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    id_field = summary_sdf.schema[customer_id_col]
    schema = StructType([id_field] + [StructField(c, DoubleType()) for c in SCORE_COLUMNS])
    horizon = horizon_months * 30.4375 / days_per_time_unit
    kwargs = dict(horizon=horizon, horizon_months=horizon_months,
                  discount_rate_annual=discount_rate_annual, margin=margin,
                  days_per_time_unit=days_per_time_unit)

    def apply(batches):
        for batch in batches:
            if len(batch):
                s = batch.set_index(customer_id_col)
                yield score_frame(s, purchase, spend, **kwargs).reset_index()

    return summary_sdf.mapInPandas(apply, schema=schema)
