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
