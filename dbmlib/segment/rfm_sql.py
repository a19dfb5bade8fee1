"""The RFM summary and the calibration/holdout split in SQL: DuckDB (larger than memory) and
Spark (a cluster), with the semantics of :mod:`dbmlib.segment.rfm` (and of lifetimes).

One query builder serves both engines; they differ only in two functions (epoch seconds
and "value at the minimum"). With DuckDB the log can be a Parquet or CSV path, a table of
the connection or a pandas DataFrame: DuckDB streams it and spills to disk under its
``memory_limit``, so only the per-customer result is materialised in pandas. With Spark
the input is a PySpark DataFrame and the result stays a PySpark DataFrame (``toPandas()``
it when it fits).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["calibration_and_holdout", "summary", "summary_query"]

_TRUNC = {"D": ("day", 86_400), "W": ("week", 604_800), "h": ("hour", 3_600)}
_DIALECT = {
    "duckdb": {"epoch": "epoch({})", "first": "arg_min({}, {})", "ts": "TIMESTAMP '{}'"},
    "spark": {"epoch": "unix_timestamp({})", "first": "min_by({}, {})", "ts": "TIMESTAMP '{}'"},
}


def _unit(time_unit: str) -> tuple[str, int]:
    if time_unit not in _TRUNC:
        raise ValueError(f"time_unit {time_unit!r} is not supported by the SQL engines; use one "
                         f"of {sorted(_TRUNC)} (or engine='numpy')")
    return _TRUNC[time_unit]


def _q(name: str, engine: str = "duckdb") -> str:
    """A column name, quoted when it is not a plain identifier."""
    if name.isidentifier():
        return name
    return f"`{name}`" if engine == "spark" else '"' + name.replace('"', '""') + '"'



def summary_query(source: str, cid: str, dt: str, money: str | None, end: pd.Timestamp,
                  time_unit: str, freq_multiplier: float, include_first: bool, engine: str,
                  where: str = "") -> str:
    """SQL of the summary of ``source`` (a table expression) up to the period of ``end``."""
    unit, seconds = _unit(time_unit)
    d = _DIALECT[engine]
    end_p = f"date_trunc('{unit}', {d['ts'].format(pd.Timestamp(end).strftime('%Y-%m-%d %H:%M:%S'))})"
    ep = d["epoch"]
    money_sel = f", sum(CAST({_q(money, engine)} AS DOUBLE)) AS m" if money else ""
    extra = f" AND ({where})" if where else ""
    first_m = d["first"].format("m", "p")
    n = "count(*)" if include_first else "(count(*) - 1)"
    monetary = ""
    if money:
        repeat_sum = "sum(m)" if include_first else f"(sum(m) - {first_m})"
        monetary = (f", CASE WHEN {n} > 0 THEN {repeat_sum} / {n} ELSE 0.0 END AS monetary_value")
    return f"""
WITH periods AS (
  SELECT {_q(cid, engine)} AS cid, date_trunc('{unit}', {_q(dt, engine)}) AS p{money_sel}
  FROM {source}
  WHERE date_trunc('{unit}', {_q(dt, engine)}) <= {end_p}{extra}
  GROUP BY 1, 2
)
SELECT cid,
  CAST({n} AS DOUBLE) AS frequency,
  ({ep.format('max(p)')} - {ep.format('min(p)')}) / {seconds} / {float(freq_multiplier)} AS recency,
  ({ep.format(end_p)} - {ep.format('min(p)')}) / {seconds} / {float(freq_multiplier)} AS T{monetary}
FROM periods GROUP BY cid
"""


def _duckdb_source(con, transactions) -> str:
    """A FROM-able expression for a path, a table name or a DataFrame (registered)."""
    if isinstance(transactions, pd.DataFrame):
        con.register("_rfm_input", transactions)
        return "_rfm_input"
    text = str(transactions)
    path = Path(text)
    if path.suffix.lower() in {".parquet", ".csv", ".tsv"} or "*" in text:
        if not any(path.parent.glob(path.name)):
            from ..core.errors import InputError

            raise InputError(text, problem="no such file", expected="a Parquet or CSV transaction log")
        reader = "read_parquet" if path.suffix.lower() == ".parquet" else "read_csv_auto"
        return f"{reader}('{text}')"
    return text  # a table or view of the connection


def _max_ts(con, source: str, dt: str, engine: str, spark=None) -> pd.Timestamp:
    q = f"SELECT max({_q(dt, engine)}) FROM {source}"
    value = con.execute(q).fetchall()[0][0] if engine == "duckdb" else spark.sql(q).collect()[0][0]
    return pd.Timestamp(value)


def _run(sql: str, engine: str, con, cid: str):
    if engine == "duckdb":
        out = con.execute(sql + " ORDER BY cid").df().set_index("cid")
        out.index.name = cid
        return out
    return con.sql(sql).withColumnRenamed("cid", cid)


def _context(transactions, engine: str, con):
    """(connection or spark session, source expression, cleanup)."""
    if engine == "duckdb":
        import duckdb

        own = con is None
        con = duckdb.connect() if own else con
        source = _duckdb_source(con, transactions)

        def cleanup():
            if source == "_rfm_input":
                con.unregister("_rfm_input")
            if own:
                con.close()

        return con, source, cleanup
    if engine == "spark":
        spark = transactions.sparkSession
        name = f"_rfm_input_{id(transactions)}"
        transactions.createOrReplaceTempView(name)
        # the view stays: the returned Spark DataFrame is lazy and still reads it
        return spark, name, (lambda: None)
    raise ValueError(f"engine must be 'numpy', 'duckdb' or 'spark', got {engine!r}")


def summary(transactions, customer_id_col, datetime_col, monetary_value_col, observation_period_end,
            time_unit, freq_multiplier, include_first_transaction, *, engine: str, con=None):
    """:func:`dbmlib.segment.rfm.rfm_summary` in DuckDB or Spark (see the module docstring)."""
    con, source, cleanup = _context(transactions, engine, con)
    try:
        end = (_max_ts(con, source, datetime_col, engine, con) if observation_period_end is None
               else pd.Timestamp(observation_period_end))
        sql = summary_query(source, customer_id_col, datetime_col, monetary_value_col, end, time_unit,
                            freq_multiplier, include_first_transaction, engine)
        return _run(sql, engine, con, customer_id_col)
    finally:
        cleanup()


def calibration_and_holdout(transactions, customer_id_col, datetime_col, calibration_period_end,
                            observation_period_end, time_unit, freq_multiplier, monetary_value_col,
                            include_first_transaction, *, engine: str, con=None):
    """:func:`dbmlib.segment.rfm.calibration_and_holdout` in DuckDB or Spark."""
    con, source, cleanup = _context(transactions, engine, con)
    try:
        unit, _ = _unit(time_unit)
        d = _DIALECT[engine]
        obs_end = (_max_ts(con, source, datetime_col, engine, con) if observation_period_end is None
                   else pd.Timestamp(observation_period_end))
        cal_end = pd.Timestamp(calibration_period_end)
        if cal_end >= obs_end:
            raise ValueError(f"calibration_period_end {cal_end.date()} must be before the observation "
                             f"end {obs_end.date()}")
        cal_ts = d["ts"].format(cal_end.strftime("%Y-%m-%d %H:%M:%S"))
        obs_ts = d["ts"].format(obs_end.strftime("%Y-%m-%d %H:%M:%S"))
        dt = _q(datetime_col, engine)
        cal_sql = summary_query(source, customer_id_col, datetime_col, monetary_value_col, cal_end,
                                time_unit, freq_multiplier, include_first_transaction, engine,
                                where=f"{dt} <= {cal_ts}")
        money = _q(monetary_value_col, engine) if monetary_value_col else None
        hold_money = f", avg(CAST({money} AS DOUBLE)) AS monetary_value_holdout" if money else ""
        hold_sql = f"""
SELECT {_q(customer_id_col, engine)} AS cid,
  CAST(count(DISTINCT date_trunc('{unit}', {dt})) AS DOUBLE) AS frequency_holdout{hold_money}
FROM {source} WHERE {dt} > {cal_ts} AND {dt} <= {obs_ts} GROUP BY 1"""
        cal_cols = "cal.frequency AS frequency_cal, cal.recency AS recency_cal, cal.T AS T_cal" + (
            ", cal.monetary_value AS monetary_value_cal" if money else "")
        periods = (pd.Period(obs_end, time_unit) - pd.Period(cal_end, time_unit)).n
        hold_cols = "coalesce(h.frequency_holdout, 0.0) AS frequency_holdout" + (
            ", coalesce(h.monetary_value_holdout, 0.0) AS monetary_value_holdout" if money else "")
        sql = f"""
WITH cal AS ({cal_sql}), h AS ({hold_sql})
SELECT cal.cid, {cal_cols}, {hold_cols},
  CAST({periods / freq_multiplier!r} AS DOUBLE) AS duration_holdout
FROM cal LEFT JOIN h ON cal.cid = h.cid"""
        if engine == "duckdb":
            n_hold = con.execute(f"SELECT count(*) FROM ({hold_sql})").fetchall()[0][0]
        else:
            n_hold = con.sql(hold_sql).count()
        if not n_hold:
            raise ValueError("no transactions between calibration_period_end and observation_period_end")
        return _run(sql, engine, con, customer_id_col)
    finally:
        cleanup()
