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
