"""A folder fuzzer: random small input folders, made by mutating valid exports, go through
collection, cleaning and the first model step. Whatever a user brings, the workbench either
works (and its quality log reconciles) or stops with one of its named errors carrying the file,
column or rows — never another exception — and the raw files stay byte-identical."""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbmlib.clean import ReconciliationError, clean_database
from dbmlib.collect import load_folder
from dbmlib.core import StaleTableError
from dbmlib.core.db import connect, read_frame
from dbmlib.core.errors import InputError
from dbmlib.demo import make_retail_demo
from dbmlib.models import ModelFitError, PurchaseModel
from dbmlib.segment import rfm_summary

OUTCOMES: list[str] = []  # what each example ended in, for the summary test below
NAMED = (InputError, ModelFitError, ReconciliationError, StaleTableError)
FILES = ["customers.csv", "transactions.csv", "campaigns.csv", "campaign_contacts.csv"]
DATE_LAYOUTS = ["%d.%m.%Y", "%m/%d/%y %H:%M", "%Y-%m-%dT%H:%M:%S", "%d %b %Y"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    src = make_retail_demo(tmp_path_factory.mktemp("fuzz") / "demo", n_customers=150, seed=1)
    return {f: pd.read_csv(src / f, dtype=str, keep_default_na=False) for f in FILES}


mutation = st.tuples(
    st.sampled_from(FILES),
    st.sampled_from(["drop_column", "rename_column", "duplicate_column", "blank_cells", "extreme_values",
                     "wrong_type", "date_layout", "delimiter", "encoding", "empty_file", "header_only",
                     "drop_file", "few_rows", "extra_column", "excel_extra_sheet"]),
    st.integers(0, 10_000),
)


def _mutate(frames: dict, writers: dict, op: str, file: str, k: int) -> None:
    rng = np.random.default_rng(k)
    df = frames.get(file)
    if df is None:
        return
    col = df.columns[k % len(df.columns)]
    if op == "drop_column":
        frames[file] = df.drop(columns=col)
    elif op == "rename_column":
        frames[file] = df.rename(columns={col: f"{col}_x{k % 7}"})
    elif op == "duplicate_column":
        frames[file] = pd.concat([df, df[[col]]], axis=1)
    elif op == "blank_cells":
        df = df.copy()
        df.loc[rng.random(len(df)) < 0.3, col] = ""
        frames[file] = df
    elif op == "extreme_values":
        df = df.copy()
        df.loc[rng.random(len(df)) < 0.2, col] = rng.choice(["1e308", "-5", "99999999999999", "0", "-0.0001"])
        frames[file] = df
    elif op == "wrong_type":
        df = df.copy()
        df.loc[rng.random(len(df)) < 0.2, col] = rng.choice(["abc", "N/A", "£", "2024-13-45", "#REF!"])
        frames[file] = df
    elif op == "date_layout":
        df = df.copy()
        for c in [c for c in df.columns if c.endswith(("_ts", "_date"))]:
            ts = pd.to_datetime(df[c], errors="coerce", format="mixed")
            df[c] = ts.dt.strftime(DATE_LAYOUTS[k % len(DATE_LAYOUTS)]).fillna("")
        frames[file] = df
    elif op == "delimiter":
        writers[file] = {"sep": [";", "\t", "|"][k % 3]}
    elif op == "encoding":
        writers[file] = {"encoding": ["utf-16", "cp1252", "utf-8-sig"][k % 3]}
    elif op == "empty_file":
        frames[file] = None
        writers[file] = {"empty": True}
    elif op == "header_only":
        frames[file] = df.iloc[:0]
    elif op == "drop_file":
        frames.pop(file)
    elif op == "few_rows":
        frames[file] = df.iloc[: 1 + k % 3]
    elif op == "extra_column":
        frames[file] = df.assign(**{f"note_{k % 5}": "x"})
    elif op == "excel_extra_sheet":  # an Excel workbook with a second sheet of data
        writers[file] = {"excel": True}


def _write(folder: Path, frames: dict, writers: dict) -> None:
    folder.mkdir(parents=True)
    for f in FILES:
        how = writers.get(f, {})
        if how.get("empty"):
            (folder / f).write_bytes(b"")
        elif how.get("excel") and frames.get(f) is not None:
            with pd.ExcelWriter(folder / f.replace(".csv", ".xlsx")) as xl:
                frames[f].to_excel(xl, sheet_name="export", index=False)
                frames[f].head(5).to_excel(xl, sheet_name="more", index=False)
        elif frames.get(f) is not None:
            frames[f].to_csv(folder / f, index=False, sep=how.get("sep", ","), encoding=how.get("encoding", "utf-8"))


def _digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_any_folder_works_or_stops_with_a_named_error(base, tmp_path_factory, mutations):
    frames, writers = {f: df.copy() for f, df in base.items()}, {}
    for file, op, k in mutations:
        _mutate(frames, writers, op, file, k)
    tmp = tmp_path_factory.mktemp("case")
    folder = tmp / "in"
    _write(folder, frames, writers)
    before = _digests(folder)
    con = connect(tmp / "m.duckdb")
    try:
        load_folder(con, folder, errors="quarantine")
        result = clean_database(con)
        assert result.reconciliation["balanced"].all(), result.reconciliation
        tx = read_frame(con, "SELECT customer_id, order_ts, net_amount FROM transactions_model")
        if len(tx):
            summary = rfm_summary(tx, "customer_id", "order_ts", "net_amount", freq_multiplier=7)
            PurchaseModel().fit(summary)
        OUTCOMES.append("ok")
    except NAMED as exc:
        OUTCOMES.append(type(exc).__name__)
        message = str(exc)
        assert message and ("<input>" not in message or "column" in message), message
    finally:
        con.close()
    assert _digests(folder) == before, "a raw file was modified"
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_fuzzer_reaches_both_outcomes():
    """The examples above both succeed and stop with named errors (a fuzzer that only ever
    succeeds, or only ever fails, tests nothing)."""
    if not OUTCOMES:
        pytest.skip("run together with the fuzzer")
    counts = pd.Series(OUTCOMES).value_counts()
    assert len(OUTCOMES) >= 300 and counts.get("ok", 0) >= 30 and counts.drop("ok", errors="ignore").sum() >= 30, counts
