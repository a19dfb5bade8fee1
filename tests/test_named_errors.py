"""The crash list of the named-errors issue: each case reproduced, each now a named error or a
run that says what it did."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dbmlib.clean import clean_database, merge_duplicates
from dbmlib.collect import load_folder
from dbmlib.core.db import connect, read_clean, read_customers
from dbmlib.core.errors import InputError
from dbmlib.core.lock import database_lock
from dbmlib.demo import make_retail_demo
from dbmlib.models import holdout_split
from dbmlib.run import check_parameters, discover_notebooks
from dbmlib.segment import calibration_and_holdout
from tests.test_notebooks import dbm


def test_customers_without_phone_or_postcode_columns_clean(tmp_path):
    """1. No phone/postcode column: the merge keys they feed link nobody, the rest still merge."""
    src = make_retail_demo(tmp_path / "demo", n_customers=600, seed=2)
    people = pd.read_csv(src / "customers.csv", dtype=str)
    people.drop(columns=["phone", "postcode"]).to_csv(src / "customers.csv", index=False)
    con = connect(tmp_path / "m.duckdb")
    load_folder(con, src, errors="quarantine")
    result = clean_database(con)
    customers, _ = read_clean(con)
    assert len(customers) > 500 and result.reconciliation["balanced"].all()
    pd.testing.assert_frame_equal(read_customers(con), customers)  # the customers without the orders
    keys = set(result.tables["customer_id_map"]["match_key"])
    assert keys <= {"self", "email"} and "email" in keys  # e-mail still links duplicates
    frame = pd.DataFrame({"customer_id": ["a", "b"], "first_name": ["x", "x"], "last_name": ["y", "y"],
                          "email": ["e@x.org", "e@x.org"], "phone": [pd.NA, pd.NA], "postcode": [pd.NA, pd.NA],
                          "signup_date": pd.to_datetime(["2024-01-01", "2024-02-01"])}).astype(
        {c: "string" for c in ("first_name", "last_name", "email", "phone", "postcode")})
    assert merge_duplicates(frame)["customer_id"].tolist() == ["a", "a"]
    con.close()


def test_orders_on_one_day_name_the_empty_calibration_period():
    """2. All orders on one day: no IndexError, a named error with what to change."""
    tx = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_ts": pd.to_datetime(["2025-03-01 10:00"] * 3)})
    with pytest.raises(InputError, match=r"orders span 0 days .* holdout_days=182 leaves no calibration period"):
        holdout_split(tx["order_ts"], 182)
    tx2 = pd.DataFrame({"customer_id": list("abcd"),
                        "order_ts": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"])})
    with pytest.raises(InputError, match="try holdout_days=30"):
        holdout_split(tx2["order_ts"], 182)
    with pytest.raises(InputError, match="calibration period is empty"):
        calibration_and_holdout(tx, "customer_id", "order_ts", "2024-09-01", "2025-03-01")


def test_database_in_an_unwritable_place_is_a_named_error(tmp_path):
    """3. --db under a regular file or under /proc: InputError naming the path; exit code 2."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match=r"cannot be created or locked there.*writable"):
        with database_lock(blocker / "m.duckdb"):
            pass
    proc = dbm("run", "--db", "/proc/dbm/m.duckdb", "--reports-dir", str(tmp_path / "r"), "--run-name", "x",
               check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "/proc/dbm/m.duckdb" in proc.stderr
    assert not (tmp_path / "r" / "x").exists()


def test_typos_in_parameters_are_refused_with_the_closest_name(tmp_path):
    """5. Unknown names in -p, YAML params and stage params: refused, the closest name suggested."""
    every = discover_notebooks()
    with pytest.raises(ValueError, match=r"unknown parameter 'n_customer'.*did you mean 'n_customers'"):
        check_parameters({"n_customer": 5000}, {}, every)
    with pytest.raises(ValueError, match=r"unknown parameter 'sed'.*did you mean 'seed'"):
        check_parameters({"sed": 3}, {}, every)
    with pytest.raises(ValueError, match=r"unknown parameter 'error' for stage 01.*did you mean 'errors'"):
        check_parameters({}, {"01": {"error": "raise"}}, every)
    with pytest.raises(ValueError, match="no such stage"):
        check_parameters({}, {"07": {"x": 1}}, every)
    check_parameters({"margin": 0.3}, {}, every)  # declared by 03–05: one -p list serves any stages
    check_parameters({"n_customers": 10, "seed": 1}, {"01": {"errors": "raise"}}, every)
    cfg = tmp_path / "run.yaml"
    cfg.write_text("params: {n_customer: 5000}\n")
    proc = dbm("run", "--config", str(cfg), "--reports-dir", str(tmp_path / "r"), "--run-name", "typo",
               "--db", str(tmp_path / "m.duckdb"), check=False)
    assert proc.returncode == 2 and "did you mean 'n_customers'" in proc.stderr
    proc = dbm("run", "-p", "01.error=raise", "--reports-dir", str(tmp_path / "r"), "--run-name", "typo2",
               "--db", str(tmp_path / "m.duckdb"), check=False)
    assert proc.returncode == 2 and "did you mean 'errors'" in proc.stderr
    assert not (tmp_path / "r").exists()  # 6. a refused run leaves no report folder


def test_refused_runs_leave_no_report_folder(tmp_path):
    """6. A run refused for a held lock or an unknown stage creates no report folder."""
    db = tmp_path / "m.duckdb"
    proc = dbm("run", "--stages", "09", "--db", str(db), "--reports-dir", str(tmp_path / "r"), "--run-name", "a",
               check=False)
    assert proc.returncode == 2 and "no notebook for stage" in proc.stderr
    with database_lock(db, run_name="holder"):
        busy = dbm("run", "--db", str(db), "--reports-dir", str(tmp_path / "r"), "--run-name", "b", check=False)
    assert busy.returncode == 3 and "holder" in busy.stderr
    assert not (tmp_path / "r").exists()


def test_ctrl_c_writes_the_manifest_and_exits_130(tmp_path):
    """4. SIGINT during a run: exit 130 with one sentence, manifest.json with status interrupted,
    the database restored (as before)."""
    reports = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "dbmlib.run.cli", "run", "--db", str(tmp_path / "m.duckdb"),
                             "--reports-dir", str(reports), "--run-name", "int", "-p", "n_customers=1500",
                             "--stages", "01", "02"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,  # a Ctrl-C reaches this run and its kernel only
                            # a test runner started in the background ignores SIGINT, and children inherit
                            # that; a terminal's run does not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    marker = Path(f"{tmp_path / 'm.duckdb'}.stage")
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the run and its kernel
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # the run's own word is one sentence (the dying kernel may log its shutdown around it)
    assert any(line.startswith("dbm run: interrupted (Ctrl-C); the running stage was rolled back")
               for line in err.splitlines()), err
    assert "KeyboardInterrupt" not in err
    manifest = json.loads((reports / "int" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not marker.exists()  # the stage was rolled back


def test_an_empty_list_says_why():
    """8. Every customer excluded: a sentence with the reasons, not a silent empty file."""
    from dbmlib.campaign import empty_list_reason, exclusion_counts

    eligible = pd.DataFrame({"eligible": [False] * 3, "exclusion": ["no email consent"] * 2 + ["on suppression list"]})
    text = empty_list_reason(exclusion_counts(eligible), "uplift")
    assert text == "No customer can be contacted, so the list is empty: 2 no email consent, 1 on suppression list."
    some = pd.DataFrame({"eligible": [True, False], "exclusion": [None, "no email consent"]})
    assert "None of the 1 eligible customers is worth a contact under the 'segment' rule" in \
        empty_list_reason(exclusion_counts(some), "segment")


def _experiment(n=400, seed=0):
    rng = __import__("numpy").random.default_rng(seed)
    return pd.DataFrame({"group": rng.choice(["treatment", "control"], n), "responded": rng.random(n) < 0.2,
                         "age_band": rng.choice(["18-34", "35+"], n)})


def test_experiment_inputs_are_validated():
    """7. NaN, 2-coded and yes/no responses, NaN groups, a missing `by` column, treatment labels
    other than 0/1, a continuous outcome, cell sizes on any group column."""
    from dbmlib.campaign import UpliftModel, check_cell_sizes, evaluate_ab, evaluate_by

    data = _experiment()
    base = evaluate_ab(data)
    yes_no = evaluate_ab(data.assign(responded=data["responded"].map({True: "yes", False: "no"})))
    pd.testing.assert_frame_equal(base, yes_no)  # yes/no text is the same answer
    nan = data.assign(responded=data["responded"].astype(object))
    nan.loc[[3, 7], "responded"] = None
    with pytest.raises(InputError, match=r"column 'responded': rows 4, 8: not a yes/no outcome"):
        evaluate_ab(nan)
    with pytest.raises(InputError, match=r"rows 1, 2.*not a yes/no outcome.*got 2, 2"):
        evaluate_ab(data.assign(responded=[2, 2] + [0] * (len(data) - 2)))  # 0/2 codes: no doubling
    groups = data.assign(group=data["group"].astype(object))
    groups.loc[5, "group"] = None
    with pytest.raises(InputError, match=r"column 'group': row 6: group missing"):
        evaluate_ab(groups)
    with pytest.raises(InputError, match=r"column 'region': column missing"):
        evaluate_by(data, "region")
    X = pd.DataFrame({c: 1.0 for c in ("recency_days", "orders", "revenue", "avg_order_value", "tenure_days",
                                         "share_web", "share_store", "share_catalogue", "share_phone")}, index=range(6))
    X[["region", "age_band", "income_band", "gender"]] = "x"
    # three arms coded 0/1/2 are two offers against the control; a spend is an amount outcome
    assert UpliftModel("t", "logistic").fit(X, [0, 1, 2, 0, 1, 2], [0, 1, 0, 1, 0, 1]).arms_ == [1, 2]
    assert UpliftModel("t", "logistic").fit(X, [0, 1, 0, 1, 0, 1], [0, 12.5, 0, 3.0, 0, 1]).outcome_type_ == "continuous"
    with pytest.raises(InputError, match=r"treatment.*row 3: 1 missing treatment labels"):
        UpliftModel("t", "logistic").fit(X, [0, 1, None, 0, 1, 2], [0, 1, 0, 1, 0, 1])
    with pytest.raises(InputError, match=r"outcome.*row 2.*non-numeric outcomes \(e.g. 'maybe'\)"):
        UpliftModel("t", "logistic").fit(X, [0, 1, 0, 1, 0, 1], [0, "maybe", 0, 1, 0, 1])
    arms = pd.DataFrame({"arm": ["A"] * 300 + ["none"] * 100})
    sizes = check_cell_sizes(arms, p_control=0.1, min_detectable_lift=0.05, group_col="arm", control_label="none")
    assert list(sizes.index) == ["A"] and sizes.loc["A", "control"] == 100


def test_an_unidentified_dropout_is_said_in_words_and_another_model_chosen():
    """9. Purchases without any dropout over a short window: BG/NBD's a runs to zero (or b to
    infinity); the diagnosis says not to trust P(alive); the choice passes the model over."""
    import numpy as np

    from dbmlib.models import PurchaseModel, bootstrap_params, choose_model, diagnose

    rng = np.random.default_rng(0)
    n = 3000
    T = rng.uniform(20, 26, n)
    lam = rng.gamma(2.0, 0.05, n)
    times = [np.sort(rng.uniform(0, t, rng.poisson(l * t))) for l, t in zip(lam, T)]  # nobody drops out
    summary = pd.DataFrame({"frequency": [max(len(x) - 1, 0) for x in times],
                            "recency": [x[-1] - x[0] if len(x) > 1 else 0.0 for x in times],
                            "T": [t - x[0] if len(x) else t for x, t in zip(times, T)]})
    summary = summary[summary["T"] > 0]
    model = PurchaseModel("bgnbd").fit(summary)
    boot = bootstrap_params(summary, n_boot=20, seed=1)
    d = diagnose(model.params_, boot, model.p_alive(summary))
    assert not d.attrs["trusted"] and d.attrs["verdict"].startswith("Do not trust this model's P(alive)")
    assert d.loc[["a", "b"], "flag"].str.len().gt(0).any(), d
    good = pd.Series({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.43})
    ok = diagnose(good, pd.DataFrame([good * f for f in np.linspace(0.9, 1.1, 20)]), [0.1, 0.5])
    assert ok.attrs["trusted"] and (ok["flag"] == "").all()
    assert not diagnose(good, None, [0.1, np.inf]).attrs["trusted"]  # an infinite prediction
    comparison = pd.DataFrame({"mae": [0.5, np.inf, 0.6], "rmse": [0.9, np.inf, 1.0]}, index=["bgnbd", "mbgnbd", "pnbd"])
    fitted = {"bgnbd": model, "mbgnbd": PurchaseModel("bgnbd").fit(summary), "pnbd": PurchaseModel("pnbd")}
    fitted["pnbd"].params_ = pd.Series({"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 12.0})
    kind, why = choose_model(comparison, fitted)
    assert kind == "pnbd" and "passed over: bgnbd" in why and "mbgnbd (" in why and "infinite" in why
