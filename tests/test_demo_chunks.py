"""The retail-demo generator in chunks of customers: ids run on across chunks, the truth files
describe what the files hold, the same seed and chunk size write the same bytes, and a company
of one chunk is exactly what the generator wrote before it was chunked."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dbmlib.demo import chunk_sizes, make_retail_demo
from dbmlib.demo.retail_demo import N_TEST_ACCOUNTS, is_current
from dbmlib.demo.simulate import draw_bgnbd_traits, draw_repeat_purchases, simulate_repeat_purchases

N, CHUNK = 3_000, 1_000


def _digest(folder: Path) -> str:
    """One sha256 over every file of a company (name and content)."""
    h = hashlib.sha256()
    for p in sorted(x for x in folder.rglob("*") if x.is_file()):
        h.update(p.relative_to(folder).as_posix().encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    return make_retail_demo(tmp_path_factory.mktemp("chunks") / "co", n_customers=N, seed=5, purchase_rate=2,
                            chunk_customers=CHUNK)


def test_chunk_sizes():
    assert chunk_sizes(3_000, 1_000) == [1_000] * 3
    assert chunk_sizes(2_500, 1_000) == [834, 833, 833]
    assert chunk_sizes(20_000) == [20_000]
    assert sum(chunk_sizes(1_000_001, 100_000)) == 1_000_001
    with pytest.raises(ValueError, match="chunk_customers"):
        make_retail_demo("unused", n_customers=2_000, chunk_customers=999)


def test_ids_run_on_across_chunks(chunked):
    cust, tx = _read(chunked, "customers.csv"), _read(chunked, "transactions.csv")
    params = json.loads((chunked / "_truth/params.json").read_text())
    assert params["chunk_customers"] == CHUNK and params["n_customers"] == N
    assert cust["customer_id"].is_unique
    people = cust["customer_id"].iloc[:N]
    assert people.tolist() == [f"C{i:06d}" for i in range(1, N + 1)]  # every chunk's people, in order
    dups = pd.read_csv(chunked / "_truth/duplicates.csv", dtype=str)
    assert cust["customer_id"].iloc[N:N + len(dups)].tolist() == dups["duplicate_id"].tolist()
    assert dups["duplicate_id"].tolist() == [f"C{i:06d}" for i in range(N + 1, N + len(dups) + 1)]
    assert cust["customer_id"].iloc[N + len(dups):].tolist() == [f"T{i:06d}" for i in range(1, N_TEST_ACCOUNTS + 1)]
    # every chunk has its own duplicates, and their masters are people who exist
    assert dups["master_id"].isin(people).all() and not dups["master_id"].duplicated().any()
    chunk_of = (dups["master_id"].str[1:].astype(int) - 1) // CHUNK
    assert set(chunk_of) == {0, 1, 2}
    # order ids are unique but for the rows exported twice; returns name a sale that exists
    firsts = tx.drop_duplicates()
    assert firsts["order_id"].is_unique
    assert set(firsts["order_id"].str[0]) == {"O", "R", "X"}
    returned = firsts.loc[firsts["returned_order_id"] != "", "returned_order_id"]
    assert returned.isin(firsts["order_id"]).all()
    assert set(firsts["customer_id"]) <= set(cust["customer_id"])
    # the counts in params.json are the files'
    contacts = _read(chunked, "campaign_contacts.csv")
    assert params["counts"] == {"customers_rows": len(cust), "transactions_rows": len(tx),
                                "contacts_rows": len(contacts)}
    assert (contacts.groupby("campaign_id").size() > 0).all()
    assert contacts["campaign_id"].is_monotonic_increasing  # one campaign after the other, every chunk in each
    assert contacts["customer_id"].isin(people).all()


def test_truth_describes_the_files(chunked):
    cust, tx = _read(chunked, "customers.csv"), _read(chunked, "transactions.csv")
    problems = pd.read_csv(chunked / "_truth/problems.csv", dtype={"key": str})
    # every planted problem's row holds its key (the first row of a key exported twice)
    for table, frame, key in (("customers", cust, "customer_id"), ("transactions", tx, "order_id")):
        p = problems[problems["table"] == table]
        assert (frame[key].to_numpy()[p["row"].to_numpy() - 1] == p["key"].to_numpy()).all(), table
    tx_rows = problems[problems["table"] == "transactions"]["row"].to_numpy() - 1
    assert (tx["order_id"].to_numpy()[np.maximum(tx_rows - 1, 0)] != tx["order_id"].to_numpy()[tx_rows])[
        tx_rows > 0].all()
    # the problems of each kind number what the files hold
    planted = problems.groupby(["problem", "column"]).size()
    firsts = tx.drop_duplicates()
    dmy = r"^\d{2}/\d{2}/\d{4}"
    assert planted["duplicate_customer", "customer_id"] == len(pd.read_csv(chunked / "_truth/duplicates.csv"))
    assert planted["test_account", "customer_id"] == N_TEST_ACCOUNTS
    assert planted["impossible_birth_date", "birth_date"] == cust["birth_date"].isin(["1899-12-31", "2031-05-05"]).sum()
    for col in ("birth_date", "signup_date"):
        assert planted["mixed_date_format", col] == cust[col].str.match(dmy).sum()
    assert planted["mixed_date_format", "order_ts"] == firsts["order_ts"].str.match(dmy).sum()
    assert planted["amount_as_text", "amount"] == firsts["amount"].str.contains("£").sum()
    for col in ("region", "income_band", "phone"):
        assert planted["missing_value", col] == (cust[col] == "").sum()
    assert planted["missing_value", "category"] == (firsts["category"] == "").sum()
    assert planted["exact_duplicate_row", "*"] == len(tx) - len(firsts)
    # the truth's customers, orders and campaigns are the company's
    truth = pd.read_csv(chunked / "_truth/customers.csv")
    assert truth["customer_id"].tolist() == cust["customer_id"].iloc[:N].tolist()
    orders = pd.read_csv(chunked / "_truth/orders.csv", dtype={"order_id": str})
    sales = firsts[firsts["order_id"].str.startswith("O")]
    assert sorted(orders["order_id"]) == sorted(sales["order_id"])
    assert orders["customer_id"].isin(truth["customer_id"]).all()  # duplicates mapped to their master
    camp = pd.read_csv(chunked / "_truth/campaign_truth.csv")
    assert camp["customer_id"].isin(truth["customer_id"]).all()
    # the sure-thing cut is the whole population's: 10 % of everyone, not of each chunk
    assert abs(truth["lam_per_day"].gt(truth["lam_per_day"].quantile(0.9)).mean() - 0.1) < 0.01
    sure = camp.loc[camp["type"] == "sure thing", "customer_id"]
    cut = truth["lam_per_day"].quantile(0.9)
    assert (truth.set_index("customer_id").loc[sure, "lam_per_day"] > cut).all()
    assert is_current(chunked) is False  # written with chunks of 1,000, not the default


def test_same_seed_same_bytes_other_chunks_same_scale(chunked, tmp_path):
    again = make_retail_demo(tmp_path / "again", n_customers=N, seed=5, purchase_rate=2, chunk_customers=CHUNK)
    assert _digest(again) == _digest(chunked)
    other = make_retail_demo(tmp_path / "other", n_customers=N, seed=5, purchase_rate=2, chunk_customers=1_500)
    assert _digest(other) != _digest(chunked)
    a = json.loads((chunked / "_truth/params.json").read_text())["counts"]
    b = json.loads((other / "_truth/params.json").read_text())["counts"]
    for key in a:
        assert 0.8 < b[key] / a[key] < 1.25, key


def test_one_chunk_is_the_unchunked_generator(tmp_path):
    """A company of one chunk is byte for byte what the generator wrote before chunking (its
    digest was taken from that generator, GENERATOR_VERSION 3, on numpy 2.4 / pandas 3.1)."""
    one = make_retail_demo(tmp_path / "one", n_customers=1_500, seed=3, purchase_rate=4)
    assert _digest(one) == "54a5e8d9b11b230427e45ebe8daf13acd189291a42d094dd03e50e2c5661ff86"
    assert _digest(make_retail_demo(tmp_path / "big", n_customers=1_500, seed=3, purchase_rate=4,
                                    chunk_customers=1_500)) == _digest(one)
    assert "chunk_customers" not in json.loads((one / "_truth/params.json").read_text())


@pytest.mark.parametrize("n, rate, seed", [(2_000, 1, 0), (3_000, 15, 1), (500, 100, 2), (300, 0.02, 3)])
def test_repeat_purchases_equal_the_models_simulation(n, rate, seed):
    """The generator's faster repeat purchases draw the same numbers and return the same arrays."""
    out = []
    for simulate in (simulate_repeat_purchases, draw_repeat_purchases):
        rng = np.random.default_rng(seed)
        traits = draw_bgnbd_traits(n, r=0.75, alpha=110 / rate, a=0.8, b=3.2, q=4, gamma=30, rng=rng)
        horizon = np.where(rng.random(n) < 0.9, rng.uniform(0, 900, n), 0.0)
        out.append((*simulate(traits, horizon, rng), rng.random(4)))
    for a, b in zip(*out):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_chunked_invoice_lines(tmp_path):
    """The line export in chunks: one gzip stream of every chunk's lines, ``mapping.yaml``, and
    the orders layout's other files unchanged by the layout."""
    lines = make_retail_demo(tmp_path / "lines", n_customers=2_000, seed=2, layout="lines", line_format="csv.gz",
                             chunk_customers=1_000)
    orders = make_retail_demo(tmp_path / "orders", n_customers=2_000, seed=2, chunk_customers=1_000)
    export = pd.read_csv(lines / "transactions.csv.gz", dtype=str)
    params = json.loads((lines / "_truth/params.json").read_text())
    assert len(export) == params["counts"]["transaction_lines_rows"] and (lines / "mapping.yaml").exists()
    assert not (lines / "transactions.csv").exists()
    cancelled = export.loc[export["InvoiceNo"].str.startswith("C"), "InvoiceNo"].str[1:]
    assert cancelled.str.startswith("R").all() and len(cancelled) > 0
    for name in ("customers.csv", "campaign_contacts.csv", "_truth/problems.csv", "_truth/orders.csv"):
        assert (lines / name).read_bytes() == (orders / name).read_bytes(), name
