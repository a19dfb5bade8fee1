"""Baskets: association rules equal a brute-force count; category figures by hand."""

from itertools import permutations

import duckdb
import numpy as np
import pandas as pd
import pytest

from dbmlib.segment.baskets import (
    association_rules_table,
    basket_matrix,
    category_summary,
    pair_rules_sql,
)

BASKETS = {"o1": "AB", "o2": "ABC", "o3": "AC", "o4": "BD", "o5": "ABD", "o6": "C", "o7": "AB", "o8": "CD",
           "o9": "ABC", "o10": "D"}


def _lines():
    rows = [(o, f"c{int(o[1:]) % 4}", item, 10.0) for o, items in BASKETS.items() for item in items]
    lines = pd.DataFrame(rows, columns=["order_id", "customer_id", "category", "amount"])
    lines["product_id"] = lines["category"] + "-1"
    lines["returned_order_id"] = pd.NA
    # a return line and an unknown category never enter a basket
    extra = pd.DataFrame({"order_id": ["r1", "o6"], "customer_id": ["c1", "c2"], "category": ["D", "unknown"],
                          "amount": [-10.0, 5.0], "product_id": ["D-1", "X"], "returned_order_id": ["o6", pd.NA]})
    return pd.concat([lines, extra], ignore_index=True)


def _brute_force(min_support=0.0):
    n = len(BASKETS)
    support = lambda *items: sum(all(i in b for i in items) for b in BASKETS.values()) / n  # noqa: E731
    rows = []
    for a, c in permutations("ABCD", 2):
        s = support(a, c)
        if s > min_support:
            conf = s / support(a)
            rows.append({"antecedent": a, "consequent": c, "support": s, "confidence": conf,
                         "lift": conf / support(c),
                         "conviction": np.inf if conf == 1 else (1 - support(c)) / (1 - conf)})
    return pd.DataFrame(rows).set_index(["antecedent", "consequent"]).sort_index()


def _keyed(rules):
    return rules.set_index(["antecedent", "consequent"])[["support", "confidence", "lift", "conviction"]].sort_index()


def test_rules_equal_a_brute_force_count():
    baskets = basket_matrix(_lines(), "category", "order")
    assert baskets.shape == (10, 4) and baskets.loc["o6"].tolist() == [False, False, True, False]
    expected = _brute_force()
    got = _keyed(association_rules_table(baskets, min_support=0.05, min_lift=0.0))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    con = duckdb.connect()
    con.register("order_lines", _lines())
    pd.testing.assert_frame_equal(_keyed(pair_rules_sql(con, min_support=0.05, min_lift=0.0)), expected,
                                  check_exact=False, rtol=1e-12)
    # lines without a basket key belong to no basket (both paths): supports stay those of the ten orders
    keyless = pd.concat([_lines(), _lines().head(3).assign(order_id=None, customer_id=None)], ignore_index=True)
    con.register("keyless", keyless)
    pd.testing.assert_frame_equal(_keyed(pair_rules_sql(con, "keyless", min_support=0.05, min_lift=0.0)), expected,
                                  check_exact=False, rtol=1e-12)
    assert basket_matrix(keyless, "category", "order").equals(baskets)
    with pytest.raises(ValueError, match="level must be"):
        pair_rules_sql(con, level="brand")
    # A and B: support 0.5, confidence 5/6, lift (5/6)/0.6 — the strongest pair by lift is first
    top = association_rules_table(baskets, min_support=0.05, min_lift=1.0).iloc[0]
    assert (top["support"], round(top["lift"], 6)) == (0.5, round((5 / 6) / 0.6, 6))


def test_category_summary_by_hand():
    table = category_summary(_lines())
    assert table.loc["A", "orders"] == 6 and table.loc["A", "revenue"] == 60.0
    assert table.loc["A", "revenue_share"] == pytest.approx(60 / 210)  # 21 known-category sale lines of 10
    # customers: c = order number mod 4; A is in o1,o2,o3,o5,o7,o9 → c1,c2,c3,c1,c3,c1
    assert table.loc["A", "customers"] == 3 and table.loc["A", "penetration"] == pytest.approx(3 / 4)
    assert table.loc["A", "repeat_rate"] == pytest.approx(2 / 3)  # c1 (3 orders) and c3 (2) repeat, c2 not


def test_customer_level_baskets_and_empty_input():
    baskets = basket_matrix(_lines(), "category", "customer")
    assert baskets.shape == (4, 4) and bool(baskets.loc["c2", "C"])
    assert association_rules_table(baskets.iloc[:, :1]).empty


def test_planted_category_pairs_rank_top_by_lift(tmp_path):
    """The demo plants three category pairs (a customer's next order switches to the partner
    category with probability 0.35): at customer level their six directed rules have a lift of
    about 1.6–1.8 while every other pair falls below 1 (the switch draws orders away from them),
    so at n=1,000 the top six rules by lift are the planted ones: precision@6 and recall 1."""
    from dbmlib.clean import cleaning
    from dbmlib.collect import load
    from dbmlib.demo import make_retail_demo

    folder = make_retail_demo(tmp_path / "demo", n_customers=1000, seed=7)
    con = duckdb.connect()
    load.load_folder(con, folder, errors="quarantine")
    cleaning.clean_database(con)
    rules = pair_rules_sql(con, by="customer", min_support=0.01, min_lift=1.2)
    planted = pd.read_csv(folder / "_truth" / "category_pairs.csv")
    truth = set(zip(planted["antecedent"], planted["consequent"]))
    top = set(zip(rules["antecedent"].head(6), rules["consequent"].head(6)))
    assert len(truth) == 6 and top == truth
    assert set(zip(rules["antecedent"], rules["consequent"])) == truth  # nothing else reaches lift 1.2
    assert rules["lift"].min() > 1.4


def test_category_mix_and_adoption_sequence_by_hand():
    from dbmlib.segment.baskets import adoption_sequence, category_mix

    lines = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"], "customer_id": ["a", "a", "b", "b", "b", "c"],
        "category": ["A", "B", "A", "C", "B", "C"], "amount": [10.0, 30.0, 20.0, 20.0, 60.0, 5.0],
        "product_id": ["p"] * 6, "returned_order_id": pd.NA,
        "order_ts": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-01", "2024-01-05", "2024-02-01",
                                    "2024-03-01"])})
    mix = category_mix(lines, pd.Series({"a": "gold", "b": "gold", "c": "new"}, name="segment"))
    assert mix.loc["gold"].round(4).tolist() == [round(30 / 140, 4), round(90 / 140, 4), round(20 / 140, 4)]
    assert mix.loc["new"].tolist() == [0.0, 0.0, 1.0] and mix.index.name == "segment"
    seq = adoption_sequence(lines).set_index(["first", "next"])
    assert seq.loc[("A", "B"), "customers"] == 1 and seq.loc[("A", "B"), "median_days"] == 10
    assert seq.loc[("A", "C"), "median_days"] == 4 and seq.loc[("C", "(none)"), "customers"] == 1
    assert seq.loc[("A", "B"), "share_of_first"] == 0.5


def test_lift_matrix_equals_the_rules_and_plots():
    from dbmlib.plotting import lift_heatmap
    from dbmlib.segment.baskets import lift_matrix

    baskets = basket_matrix(_lines(), "category", "order")
    lift = lift_matrix(baskets)
    expected = _brute_force()["lift"]
    for (a, c), value in expected.items():
        assert lift.loc[a, c] == pytest.approx(value)
    assert np.all(np.diag(lift) == 0) and lift.loc["C", "D"] == pytest.approx(expected[("C", "D")])
    fig = lift_heatmap(lift)
    assert fig.axes[0].get_title().startswith("Lift between categories")


def test_product_analysis_mixes_skip_groupings_without_information():
    from dbmlib.segment.products import product_analysis

    lines = _lines().assign(order_ts=pd.Timestamp("2024-01-01"))
    con = duckdb.connect()
    con.register("order_lines", lines)
    groups = pd.DataFrame({"segment": ["gold", "gold", "new", "new"], "region": "unknown"},
                          index=pd.Index(["c0", "c1", "c2", "c3"], name="customer_id"))
    result = product_analysis(con, min_support=0.05, min_lift=1.0, groups=groups)
    assert list(result.mixes) == ["segment"] and result.mixes["segment"].sum(axis=1).round(9).eq(1).all()
    titles = list(result.tables())
    assert titles[1] == "Products: the 15 with the most revenue" and len(titles) == 6
    assert titles[2] == "Category mix by segment (share of each group's revenue)"
    # products: A-1 is in o1, o2, o3, o5, o7, o9 at 10.0 each; no catalogue, so no margins and a note
    assert result.products.loc["A-1", "revenue"] == 60.0 and "margin_rate" not in result.products
    assert "No product catalogue" in result.summary()
    stored = result.stored()["association_rules"]
    assert set(stored.index.get_level_values("basket")) == {"order", "customer"}
    assert len(stored) == len(result.order_rules) + len(result.customer_rules)


def test_margins_weight_products_by_revenue_and_fall_back_to_the_catalogue_mean():
    from dbmlib.segment.margins import item_margin_rates, product_summary

    lines = pd.DataFrame({"order_id": ["o1", "o1", "o2", "o3"], "customer_id": ["c1", "c1", "c2", "c2"],
                          "category": ["home", "home", "home", "toys"], "product_id": ["H1", "H2", "H1", "T9"],
                          "product_name": ["Mug", "Lamp", "Mug", "Kite"], "amount": [10.0, 30.0, 20.0, 5.0],
                          "returned_order_id": pd.NA})
    catalogue = pd.DataFrame({"product_id": ["H1", "H2", "T1", "T2"], "product_name": ["Mug", "Lamp", "Car", "Ball"],
                              "category": ["home", "home", "toys", "toys"], "list_price": [10.0, 30.0, 8.0, 4.0],
                              "margin_rate": [0.5, 0.2, 0.4, 0.3]})
    rates = item_margin_rates(lines, catalogue)
    # home: (30 × 0.5 + 30 × 0.2) / 60 = 0.35; toys sold only T9 (not in the catalogue): its products' mean 0.35
    assert rates["home"] == pytest.approx(0.35) and rates["toys"] == pytest.approx(0.35)
    assert item_margin_rates(lines, None).empty
    products = product_summary(lines, catalogue)
    assert products.loc["H1", "gross_margin"] == pytest.approx(15.0) and products.loc["H2", "gross_margin"] == 6.0
    assert np.isnan(products.loc["T9", "margin_rate"]) and products.loc["T9", "product_name"] == "Kite"
    assert products.loc["H1", "customers"] == 2 and products.loc["H1", "repeat_rate"] == 0.0


def test_large_basket_sets_take_pairs_from_duckdb_and_longer_rules_from_a_sample():
    from dbmlib.segment.products import product_analysis

    con = duckdb.connect()
    con.register("order_lines", _lines().assign(order_ts=pd.Timestamp("2024-01-01")))
    full = product_analysis(con, min_support=0.05, min_lift=0.0)
    capped = product_analysis(con, min_support=0.05, min_lift=0.0, max_baskets=4)
    # ten orders > 4: the pairs are counted in DuckDB on every order and equal mlxtend's on all of them
    assert set(capped.order_rules["basis"]) == {"all 10 orders (pair counts)"}
    assert set(full.order_rules["basis"]) == {"all 10 orders"}
    pd.testing.assert_frame_equal(_keyed(capped.order_rules.drop(columns="basis")), _keyed(full.order_rules.drop(columns="basis")),
                                  check_exact=False, rtol=1e-12)
    longer = product_analysis(con, min_support=0.05, min_lift=0.0, max_len=3, max_baskets=4, seed=1)
    sampled = longer.order_rules[longer.order_rules["basis"] == "sample of 4 orders"]
    assert len(sampled) and ((sampled["antecedent"] + " + " + sampled["consequent"]).str.count(r" \+ ") == 2).all()
    pairs = longer.order_rules[longer.order_rules["basis"] != "sample of 4 orders"]
    assert len(pairs) == len(full.order_rules)
