"""Next best offer: the offer rows by hand, and the model against the two baselines on the
seeded demo's time split."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from dbmlib.models.next_offer import (
    NextBestOffer,
    evaluate_next_offer,
    offer_frame,
    offer_hit_rates,
)


def _lines():
    rows = [("o1", "a", "2024-01-01", "A"), ("o2", "a", "2024-02-01", "B"), ("o3", "b", "2024-01-05", "A"),
            ("o4", "c", "2024-01-07", "C"), ("o5", "b", "2024-03-10", "B"), ("o6", "c", "2024-03-20", "A")]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_ts", "category"])
    return df.assign(order_ts=pd.to_datetime(df["order_ts"]), amount=10.0, product_id="p", returned_order_id=pd.NA)


def test_offer_rows_by_hand():
    f = offer_frame(_lines(), "2024-02-15", horizon_days=60).set_index(["customer_id", "item"])
    # owned by the cutoff: a {A, B}, b {A}, c {C}; offers are the items not owned
    assert sorted(f.index) == [("a", "C"), ("b", "B"), ("b", "C"), ("c", "A"), ("c", "B")]
    assert f.loc[("b", "B"), "bought"] and f.loc[("c", "A"), "bought"] and not f.loc[("a", "C"), "bought"]
    # customer-level lift A→B: support(A,B)=1/3, support(A)=2/3, support(B)=1/3 → 1.5
    assert f.loc[("b", "B"), "max_lift"] == pytest.approx(1.5) == f.loc[("b", "B"), "last_lift"]
    assert f.loc[("a", "C"), "max_lift"] == 0.0 and f.loc[("c", "A"), "popularity"] == pytest.approx(2 / 3)
    assert f.loc[("b", "B"), "recency_days"] == 41 and f.loc[("a", "C"), "items_owned"] == 2


def test_hit_rates_by_hand():
    frame = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"], "bought": [True, False, False, True, False]})
    r = offer_hit_rates(frame, [0.9, 0.1, 0.8, 0.2, 0.5])
    assert (r["top1_hit_rate"], r["top3_hit_rate"], r["customers_with_new_item"]) == (0.5, 1.0, 2)


def test_model_beats_both_baselines_on_the_seeded_demo(tmp_path):
    from dbmlib.clean import cleaning
    from dbmlib.collect import load
    from dbmlib.demo import make_retail_demo

    con = duckdb.connect()
    load.load_folder(con, make_retail_demo(tmp_path / "d", n_customers=3000, seed=7), errors="quarantine")
    cleaning.clean_database(con)
    table, model = evaluate_next_offer(con.execute("SELECT * FROM order_lines").df(), horizon_days=90)
    m, rule, pop = (table.loc[k] for k in ("next best offer model", "best association rule", "most popular category"))
    assert m["customers_with_new_item"] == 287
    assert m["top1_hit_rate"] > rule["top1_hit_rate"] > pop["top1_hit_rate"]
    assert m["auc"] > rule["auc"] > pop["auc"] and m["auc"] > 0.7
    assert clone(model).get_params() == NextBestOffer().get_params() and np.all(model.classes_ == [False, True])


def test_offers_carry_catalogue_margins_and_a_source_without_demographics_or_catalogue_runs(tmp_path):
    """With the demo's catalogue every offer's margin rate is its category's catalogue rate; a
    folder holding only the transactions (categories, no customers file, no catalogue) still
    gets its product analysis and offers, at the `margin` parameter, and says what it skips."""
    import shutil

    from dbmlib.clean import cleaning
    from dbmlib.collect import load
    from dbmlib.demo import make_retail_demo
    from dbmlib.demo.catalogue import catalogue
    from dbmlib.models.next_offer import next_best_offers
    from dbmlib.segment.products import product_analysis

    src = make_retail_demo(tmp_path / "d", n_customers=1500, seed=5)
    con = duckdb.connect()
    load.load_folder(con, src, errors="quarantine")
    cleaning.clean_database(con)
    assert con.execute("SELECT count(*) FROM products").fetchone()[0] == len(catalogue()) == 54
    result = next_best_offers(con, horizon_days=90, margin=0.99)
    offers = result.offers
    plain = catalogue().groupby("category")["margin_rate"].mean()  # order-level lines: no product ids
    assert (offers["margin_source"] == "catalogue").all()
    assert np.allclose(offers["margin_rate"], offers["category"].map(plain))
    assert np.allclose(offers["expected_margin"], (offers["expected_revenue"] * offers["margin_rate"]).round(2), atol=0.006)
    assert result.by_item()["customers"].sum() == offers["customer_id"].nunique()
    assert list(result.stored()["offers"].index.names) == ["customer_id", "category"]
    assert result.training == ""  # fewer customers than the cap: no sample (the default max_rows is None)
    # above the cap: trained on a seeded sample of max_rows // 3 customers, graded on another, every customer scored
    capped = next_best_offers(con, horizon_days=90, margin=0.99, max_rows=600, random_state=1)
    assert capped.training.startswith("The offer model was trained on a seeded sample of 200 of ")
    assert "graded on another 600" in capped.training
    keys = lambda o: sorted(zip(o["customer_id"], o["category"]))  # noqa: E731
    assert keys(capped.offers) == keys(offers)
    again = next_best_offers(con, horizon_days=90, margin=0.99, max_rows=600, random_state=1)
    pd.testing.assert_frame_equal(capped.offers, again.offers)
    pd.testing.assert_frame_equal(capped.evaluation, again.evaluation)
    assert capped.evaluation.loc["next best offer model", "customers_with_new_item"] < \
        result.evaluation.loc["next best offer model", "customers_with_new_item"]

    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(src / "transactions.csv", bare / "transactions.csv")
    con = duckdb.connect()
    load.load_folder(con, bare, errors="quarantine")
    cleaning.clean_database(con)
    customers = con.execute("SELECT * FROM customers").df().set_index("customer_id")
    analysis = product_analysis(con, min_support=0.01, min_lift=1.2,
                                groups=customers[["region", "age_band", "income_band"]])
    assert len(analysis.categories) == 6 and analysis.mixes == {} and analysis.products.empty
    assert "No product catalogue" in analysis.summary() and len(analysis.customer_rules) == 6
    offers = next_best_offers(con, horizon_days=90, margin=0.35).offers
    assert len(offers) and (offers["margin_source"] == "margin parameter").all() and (offers["margin_rate"] == 0.35).all()


# --- the offer rows from integer codes equal the pandas computation they replaced ------------------
def _reference_offer_frame(order_lines, cutoff, horizon_days=90, level="category"):
    """The pandas offer rows as they were computed before the integer-code version (kept
    verbatim as the reference)."""
    from dbmlib.models.next_offer import FEATURES
    from dbmlib.segment.baskets import lift_matrix, sales_lines

    cutoff = pd.Timestamp(cutoff)
    lines = sales_lines(order_lines, level)
    before = lines[lines["order_ts"] <= cutoff]
    after = lines[(lines["order_ts"] > cutoff) & (lines["order_ts"] <= cutoff + pd.Timedelta(days=horizon_days))]
    owned = pd.crosstab(before["customer_id"], before["item"]).gt(0)
    if owned.empty:
        return pd.DataFrame(columns=["customer_id", "item", *FEATURES, "bought"])
    lift = lift_matrix(owned)
    o = owned.to_numpy(bool)
    max_lift = np.stack([(o * lift[item].to_numpy()).max(axis=1) for item in owned.columns], axis=1)
    per = before.groupby("customer_id").agg(last=("order_ts", "max"), orders=("order_id", "nunique"),
                                            revenue=("amount", "sum")).reindex(owned.index)
    latest = before.sort_values(["order_ts", "order_id"], kind="stable").groupby("customer_id")["item"].last()
    last_pos = pd.Index(owned.columns).get_indexer(latest.reindex(owned.index))
    last_lift = lift.to_numpy()[last_pos]
    grid = pd.DataFrame({
        "customer_id": np.repeat(owned.index.to_numpy(), owned.shape[1]),
        "item": np.tile(owned.columns.to_numpy(), len(owned)),
        "owned": o.ravel(), "max_lift": max_lift.ravel(), "last_lift": last_lift.ravel(),
        "popularity": np.tile(o.mean(axis=0), len(owned)),
        "recency_days": np.repeat((cutoff - per["last"]).dt.days.to_numpy(), owned.shape[1]),
        "orders": np.repeat(per["orders"].to_numpy(), owned.shape[1]),
        "revenue": np.repeat(per["revenue"].to_numpy(), owned.shape[1]),
        "items_owned": np.repeat(o.sum(axis=1), owned.shape[1]),
    })
    new = pd.MultiIndex.from_frame(after[["customer_id", "item"]].astype(str))
    grid["bought"] = pd.MultiIndex.from_arrays([grid["customer_id"].astype(str), grid["item"].astype(str)]).isin(new)
    return grid[~grid["owned"]].drop(columns="owned").reset_index(drop=True)


def _reference_hit_rates(frame, score):
    from sklearn.metrics import roc_auc_score

    f = frame.assign(_score=np.asarray(score, float))
    f = f.sample(frac=1.0, random_state=0).sort_values(["customer_id", "_score"], ascending=[True, False],
                                                       kind="stable")
    f["_rank"] = f.groupby("customer_id").cumcount()
    buyers = f.groupby("customer_id")["bought"].any()
    hits = f[f["bought"]].groupby("customer_id")["_rank"].min()
    n = int(buyers.sum())
    auc = roc_auc_score(f["bought"], f["_score"]) if f["bought"].nunique() == 2 else np.nan
    return {"auc": float(auc), "top1_hit_rate": float((hits < 1).sum() / n) if n else np.nan,
            "top3_hit_rate": float((hits < 3).sum() / n) if n else np.nan, "customers_with_new_item": n}


def _random_lines(n_orders=3000, seed=0):
    """Orders of 1-3 lines on whole days (many customers with two orders on their last day, so
    the latest category is decided by the order id), cents amounts, returns, unknown
    categories, lines without a customer or a date, and a few orders that span two days."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, 400, n_orders)
    day = pd.Timestamp("2023-01-01") + pd.to_timedelta(10 * rng.integers(0, 70, n_orders), unit="D")
    order_ids = rng.permutation([f"o{i:05d}" for i in range(n_orders)])
    n_lines = rng.integers(1, 4, n_orders)
    rows = np.repeat(np.arange(n_orders), n_lines)
    lines = pd.DataFrame({"order_id": order_ids[rows], "customer_id": [f"c{c:03d}" for c in cust[rows]],
                          "order_ts": day[rows], "category": rng.choice(list("ABCDEF") + ["unknown"], len(rows)),
                          "product_id": "p", "amount": np.round(rng.gamma(2.0, 17.3, len(rows)), 2),
                          "returned_order_id": None})
    lines.loc[rng.random(len(lines)) < 0.03, "returned_order_id"] = "r"
    lines.loc[rng.random(len(lines)) < 0.01, "customer_id"] = None
    spans = rng.random(len(lines)) < 0.01
    lines.loc[spans, "order_ts"] += pd.Timedelta(days=1)
    lines.loc[rng.random(len(lines)) < 0.005, "order_ts"] = pd.NaT
    return lines


def test_offer_rows_from_codes_equal_the_pandas_computation_and_duckdb_codes_equal_the_frame():
    from dbmlib.models.next_offer import _offer_rows, _OfferLines
    from dbmlib.segment.sale_codes import read_sale_codes, sale_codes

    lines = _random_lines()
    con = duckdb.connect()
    con.register("order_lines", lines)
    from_db = read_sale_codes(con, "category")
    from_frame = sale_codes(lines, "category")
    for name in ("customer", "item", "amount"):
        assert np.array_equal(getattr(from_db, name), getattr(from_frame, name)), name
    assert np.array_equal(from_db.ts.view(np.int64), from_frame.ts.view(np.int64)) and np.isnat(from_db.ts).any()
    # order codes differ (hashes vs text) but tell the same orders apart
    assert len(set(zip(from_db.order, from_frame.order))) == len(set(from_db.order)) == len(set(from_frame.order))
    end = lines["order_ts"].max()
    for k in (0, 1, 2, 5):
        cut = end - pd.Timedelta(days=90 * k)
        expected = _reference_offer_frame(lines, cut)
        for codes in (from_db, from_frame):
            pd.testing.assert_frame_equal(offer_frame(codes, cut), expected, check_exact=True)
    # some customers' latest day holds two orders: the tie-break by order id is exercised
    before = lines[lines["order_ts"] <= end]
    last = before.groupby("customer_id")["order_ts"].transform("max")
    assert (before[before["order_ts"] == last].groupby("customer_id")["order_id"].nunique() > 1).sum() > 5
    # keeping some customers keeps their rows, unchanged
    keep = ["c001", "c017", "c200"]
    sub = offer_frame(from_db, end - pd.Timedelta(days=90), customers=keep)
    full = offer_frame(from_db, end - pd.Timedelta(days=90))
    pd.testing.assert_frame_equal(sub, full[full["customer_id"].isin(keep)].reset_index(drop=True))
    rows, row_codes = _offer_rows(_OfferLines(from_db), end - pd.Timedelta(days=90), 90)
    assert list(from_db.customers[row_codes]) == list(rows["customer_id"])


def test_hit_rates_equal_the_shuffled_sort_they_replaced():
    frame = offer_frame(_random_lines(seed=1), pd.Timestamp("2024-06-01"))
    rng = np.random.default_rng(0)
    for score in (rng.random(len(frame)), rng.integers(0, 3, len(frame)).astype(float), frame["popularity"]):
        assert offer_hit_rates(frame, score) == _reference_hit_rates(frame, score)


def test_training_sample_of_customer_snapshots_is_seeded_and_disjoint_from_the_graded_one():
    from dbmlib.models.next_offer import training_customers
    from dbmlib.segment.sale_codes import sale_codes

    codes = sale_codes(_random_lines(), "category")
    n = codes.n_customers
    assert training_customers(codes, None) == (None, None)
    assert training_customers(codes, 3 * n) == (None, None)  # below the cap: every customer, as before
    train, graded = training_customers(codes, 300, random_state=4)
    assert len(train) == 100 and len(graded) == min(300, n - 100) and not set(train) & set(graded)
    again = training_customers(codes, 300, random_state=4)
    assert np.array_equal(train, again[0]) and np.array_equal(graded, again[1])
    assert not np.array_equal(train, training_customers(codes, 300, random_state=5)[0])


def test_offer_rows_with_orders_shared_by_customers_and_ranks_equal_a_lexsort():
    """Orders whose lines name two customers count once for each (the pairs sorted apart from
    the single-customer orders); the offers' rank order equals the global lexsort."""
    from dbmlib.models.next_offer import _ranked
    from dbmlib.segment.sale_codes import sale_codes

    lines = _random_lines(seed=2)
    multi = lines["order_id"].duplicated(keep=False) & (np.arange(len(lines)) % 5 == 0)
    others = np.random.default_rng(4).integers(0, 400, int(multi.sum()))
    lines.loc[multi, "customer_id"] = [f"c{c:03d}" for c in others]  # a second customer on lines of some orders
    codes = sale_codes(lines, "category")
    end = lines["order_ts"].max()
    for k in (0, 1, 3):
        cut = end - pd.Timedelta(days=90 * k)
        pd.testing.assert_frame_equal(offer_frame(codes, cut), _reference_offer_frame(lines, cut), check_exact=True)
    rng = np.random.default_rng(3)
    block = np.sort(rng.integers(0, 300, 2000))
    for score in (rng.random(2000), rng.integers(0, 3, 2000).astype(float)):
        order, rank = _ranked(block, score)
        expected = np.lexsort((-score, block))
        assert np.array_equal(order, expected)
        start = np.r_[True, block[expected][1:] != block[expected][:-1]]
        assert np.array_equal(rank, np.arange(2000) - np.flatnonzero(start)[np.cumsum(start) - 1] + 1)
