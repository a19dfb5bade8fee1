import json

import numpy as np
import pandas as pd
import pytest

from dbmlib.core.io import sha256_file
from dbmlib.demo import load_cdnow, make_retail_demo
from dbmlib.demo.retail_demo import N_TEST_ACCOUNTS, PROBLEM_RATES

FILES = ["customers.csv", "transactions.csv", "campaigns.csv", "campaign_contacts.csv",
         "_truth/problems.csv", "_truth/customers.csv", "_truth/campaign_truth.csv"]


def test_cdnow_full_counts():
    df = load_cdnow()
    assert list(df.columns) == ["customer_id", "order_date", "quantity", "amount"]
    assert len(df) == 69_659
    assert df["customer_id"].nunique() == 23_570
    assert df["order_date"].min() == pd.Timestamp("1997-01-01")
    assert df["order_date"].max() == pd.Timestamp("1998-06-30")


def test_cdnow_sample_counts():
    df = load_cdnow(sample=True)
    assert len(df) == 6_919
    assert df["customer_id"].nunique() == 2_357
    assert df["amount"].notna().all() and (df["quantity"] > 0).all()


def test_generator_is_deterministic_per_seed(tmp_path, small_demo):
    again = make_retail_demo(tmp_path / "again", n_customers=2_000, seed=7)
    for f in FILES:
        assert sha256_file(small_demo / f) == sha256_file(again / f), f
    other = make_retail_demo(tmp_path / "other", n_customers=2_000, seed=8)
    assert sha256_file(small_demo / "transactions.csv") != sha256_file(other / "transactions.csv")


def test_generator_files_and_columns(small_demo):
    cust = pd.read_csv(small_demo / "customers.csv", dtype=str)
    assert list(cust.columns) == [
        "customer_id", "first_name", "last_name", "email", "phone", "street", "postcode",
        "region", "birth_date", "gender", "income_band", "signup_date", "acquisition_channel",
        "email_opt_in"]
    tx = pd.read_csv(small_demo / "transactions.csv", dtype=str)
    assert set(tx["channel"].dropna()) == {"store", "web", "phone", "catalogue"}
    returns = tx[tx["returned_order_id"].notna()]
    assert len(returns) > 0
    assert returns["returned_order_id"].isin(tx["order_id"]).all()  # returns reference orders
    assert (returns["quantity"].astype(int) < 0).all()
    contacts = pd.read_csv(small_demo / "campaign_contacts.csv")
    campaigns = pd.read_csv(small_demo / "campaigns.csv")
    assert len(campaigns) >= 2 and campaigns["channel"].nunique() >= 2
    groups = contacts.groupby("campaign_id")["group"].value_counts().unstack()
    assert (groups["control"] > 0).all() and (groups["treatment"] > 0).all()
    assert (contacts.loc[contacts["group"] == "control", "contact_cost"] == 0).all()


def test_planted_problems_are_recorded_and_present(small_demo):
    problems = pd.read_csv(small_demo / "_truth/problems.csv", dtype={"key": str})
    cust = pd.read_csv(small_demo / "customers.csv", dtype=str, keep_default_na=False)
    tx = pd.read_csv(small_demo / "transactions.csv", dtype=str, keep_default_na=False)
    by = problems.groupby("problem")
    assert set(by.groups) == set(PROBLEM_RATES) | {"test_account"}
    # every recorded row really has the problem
    rows = lambda p, t: t.iloc[by.get_group(p)["row"].to_numpy() - 1]
    assert rows("amount_as_text", tx)["amount"].str.contains("£").all()
    mixed = by.get_group("mixed_date_format")
    tx_mixed = tx.iloc[mixed.loc[mixed["table"] == "transactions", "row"] - 1]
    assert tx_mixed["order_ts"].str.match(r"^\d{2}/\d{2}/\d{4}").all()
    assert rows("impossible_birth_date", cust)["birth_date"].isin(["1899-12-31", "2031-05-05"]).all()
    assert len(by.get_group("test_account")) == N_TEST_ACCOUNTS
    assert rows("test_account", cust)["email"].str.endswith("@dbm-retail.example").all()
    dup_rows = tx.iloc[by.get_group("exact_duplicate_row")["row"] - 1]
    assert tx.duplicated(keep=False).sum() >= 2 * len(dup_rows)
    # rates near the documented ones (binomial noise on 2,000 customers)
    n_cust = 2_000
    n_dup = len(by.get_group("duplicate_customer"))
    assert abs(n_dup / n_cust - PROBLEM_RATES["duplicate_customer"]) < 0.01
    text_rate = len(by.get_group("amount_as_text")) / len(tx)
    assert abs(text_rate - PROBLEM_RATES["amount_as_text"]) < 0.01


def test_duplicate_truth_is_the_same_person(small_demo):
    dups = pd.read_csv(small_demo / "_truth/duplicates.csv")
    cust = pd.read_csv(small_demo / "customers.csv", dtype=str).set_index("customer_id")
    a, b = cust.loc[dups["duplicate_id"]], cust.loc[dups["master_id"]]
    same_email = a["email"].str.strip().str.lower().to_numpy() == b["email"].str.lower().to_numpy()
    assert same_email.all()
    assert (a["email"].to_numpy() != b["email"].to_numpy()).all()  # but written differently


def test_truth_params_and_behaviour(small_demo):
    params = json.loads((small_demo / "_truth/params.json").read_text())
    assert params["seed"] == 7 and params["n_customers"] == 2_000
    truth = pd.read_csv(small_demo / "_truth/customers.csv")
    # latent purchase rates follow Gamma(r, alpha): mean r/alpha within 10 %
    assert truth["lam_per_day"].mean() == pytest.approx(params["r"] / params["alpha"], rel=0.1)
    # demographics correlate with behaviour: income with spend (copula)
    income_rank = truth.merge(pd.read_csv(small_demo / "customers.csv")[["customer_id", "income_band"]])
    order = {"low": 0, "medium": 1, "high": 2, "very high": 3}
    r = income_rank.dropna(subset=["income_band"])
    rho = np.corrcoef(r["income_band"].map(order), r["mean_spend"].rank())[0, 1]
    assert rho > 0.3
    uplift = pd.read_csv(small_demo / "_truth/campaign_truth.csv")
    assert (uplift["true_uplift"] > 0).any() and (uplift["true_uplift"] < 0).any()
    assert set(uplift["type"]) >= {"persuadable", "sleeping dog", "sure thing"}


def test_purchase_rate_scales_orders_and_records_the_true_alpha(tmp_path):
    """The scale knob: purchase_rate divides alpha (recorded as the truth) and buys more
    orders per customer; the default folder names stay as they were."""
    from dbmlib.demo.datasets import retail_demo_dir

    base = json.loads((make_retail_demo(tmp_path / "a", n_customers=2_000, seed=4) / "_truth" / "params.json")
                      .read_text())
    fast = json.loads((make_retail_demo(tmp_path / "b", n_customers=2_000, seed=4, purchase_rate=4)
                       / "_truth" / "params.json").read_text())
    assert base["alpha"] == 110.0 and fast["alpha"] == 27.5
    assert fast["counts"]["customers_rows"] == base["counts"]["customers_rows"]
    assert fast["counts"]["transactions_rows"] > 1.6 * base["counts"]["transactions_rows"]
    assert retail_demo_dir(0, 20_000).name == "retail-demo"
    assert retail_demo_dir(0, 1_000_000, 15).name == "retail-demo-n1000000-seed0-rate15"
    with pytest.raises(ValueError, match="purchase_rate"):
        make_retail_demo(tmp_path / "c", n_customers=200, purchase_rate=0)
