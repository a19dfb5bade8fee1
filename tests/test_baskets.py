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
    pair_rules,
    pair_rules_sql,
)
from dbmlib.segment.sale_codes import read_sale_codes, sale_codes

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


# --- the tables from integer codes equal the pandas computation they replaced -----------------------
def _ref_sales(order_lines, level="category"):
    from dbmlib.segment.baskets import sales_lines

    return sales_lines(order_lines, level)


def _ref_category_summary(order_lines, level="category"):
    lines = _ref_sales(order_lines, level)
    buyers = lines["customer_id"].nunique()
    per = lines.groupby("item").agg(revenue=("amount", "sum"), customers=("customer_id", "nunique"),
                                    orders=("order_id", "nunique"))
    orders_per_customer = lines.groupby(["item", "customer_id"])["order_id"].nunique()
    per["repeat_rate"] = (orders_per_customer > 1).groupby(level="item").mean()
    per["revenue_share"] = per["revenue"] / per["revenue"].sum()
    per["penetration"] = per["customers"] / buyers if buyers else np.nan
    return per.sort_values("revenue", ascending=False)[
        ["revenue", "revenue_share", "customers", "penetration", "orders", "repeat_rate"]]


def _ref_category_mix(order_lines, groups, level="category"):
    lines = _ref_sales(order_lines, level)
    lines = lines.assign(group=lines["customer_id"].astype(str).map(groups.rename(index=str)))
    table = lines.dropna(subset=["group"]).pivot_table(index="group", columns="item", values="amount",
                                                        aggfunc="sum", fill_value=0.0)
    return table.div(table.sum(axis=1), axis=0).rename_axis(index=groups.name or "group", columns=None)


def _ref_adoption(order_lines, level="category"):
    lines = _ref_sales(order_lines, level)
    first = (lines.groupby(["customer_id", "item"], as_index=False)["order_ts"].min()
             .sort_values(["customer_id", "order_ts", "item"], kind="stable"))
    first["rank"] = first.groupby("customer_id").cumcount()
    a = first[first["rank"] == 0].set_index("customer_id")
    b = first[first["rank"] == 1].set_index("customer_id")
    pairs = pd.DataFrame({"first": a["item"], "next": b["item"].reindex(a.index).fillna("(none)"),
                          "days": (b["order_ts"].reindex(a.index) - a["order_ts"]).dt.days})
    out = pairs.groupby(["first", "next"]).agg(customers=("days", "size"), median_days=("days", "median"))
    out["share_of_first"] = out["customers"] / out.groupby(level="first")["customers"].transform("sum")
    return out.sort_values(["customers"], ascending=False).reset_index()


def _ref_margin_rates(order_lines, catalogue):
    rate = catalogue.dropna(subset=["margin_rate"]).set_index(catalogue["product_id"].astype(str))["margin_rate"]
    lines = _ref_sales(order_lines, "category")
    product_rate = lines["product_id"].astype("string").map(rate).astype("float64")
    sold = lines.assign(_margin=lines["amount"] * product_rate)[product_rate.notna().to_numpy()]
    weighted = sold.groupby("item")["_margin"].sum() / sold.groupby("item")["amount"].sum()
    plain = catalogue.dropna(subset=["margin_rate"]).groupby("category")["margin_rate"].mean()
    out = weighted.combine_first(plain.rename_axis("item"))
    return out.replace([np.inf, -np.inf], np.nan).dropna().rename("margin_rate")


def _ref_product_names(order_lines):
    return _ref_sales(order_lines, "product").groupby("item")[["product_name", "category"]].first()


def _messy_lines(seed=0, n_orders=2500):
    """Orders of 1-4 lines with products (a few unnamed), amounts in cents, returns, unknown
    categories, lines without a customer or an order id or a date, ties on whole days."""
    rng = np.random.default_rng(seed)
    n_lines = rng.integers(1, 5, n_orders)
    rows = np.repeat(np.arange(n_orders), n_lines)
    product = rng.integers(0, 40, len(rows))
    lines = pd.DataFrame({
        "order_id": np.array([f"o{i:05d}" for i in rng.permutation(n_orders)])[rows],
        "customer_id": np.array([f"c{c:03d}" for c in rng.integers(0, 500, n_orders)])[rows],
        "order_ts": (pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n_orders), unit="D"))[rows],
        "category": np.array(list("ABCDEFG"))[product % 7], "product_id": [f"P{p:02d}" for p in product],
        "product_name": [f"name {p}" for p in product], "amount": np.round(rng.gamma(2.0, 13.7, len(rows)), 2),
        "returned_order_id": None})
    for col, share, value in (("returned_order_id", 0.03, "r1"), ("category", 0.02, "unknown"),
                              ("customer_id", 0.01, None), ("order_id", 0.01, None), ("product_name", 0.2, None),
                              ("order_ts", 0.005, pd.NaT)):
        lines.loc[rng.random(len(lines)) < share, col] = value
    catalogue = pd.DataFrame({"product_id": [f"P{p:02d}" for p in range(0, 45, 2)],
                              "product_name": [f"catalogue {p}" for p in range(0, 45, 2)],
                              "category": np.array(list("ABCDEFG"))[np.arange(0, 45, 2) % 7],
                              "margin_rate": np.round(rng.uniform(0.1, 0.6, 23), 3)})
    return lines, catalogue


def test_product_tables_from_codes_equal_the_pandas_computation_exactly():
    from dbmlib.segment.baskets import adoption_sequence, basket_counts, category_mix, lift_matrix
    from dbmlib.segment.margins import item_margin_rates, product_summary
    from dbmlib.segment.sale_codes import read_sale_codes

    lines, catalogue = _messy_lines()
    con = duckdb.connect()
    con.register("order_lines", lines)
    cat = read_sale_codes(con, "category", extra=("product_id",))
    prod = read_sale_codes(con, "product", extra=("product_name", "category"))
    groups = pd.Series(np.random.default_rng(1).choice(["gold", "silver", "new"], 500),
                       index=[f"c{c:03d}" for c in range(500)], name="segment").astype("category")
    for level, codes in (("category", cat), ("product", prod)):
        for given in (codes, lines):  # from DuckDB and from the DataFrame
            pd.testing.assert_frame_equal(category_summary(given, level), _ref_category_summary(lines, level),
                                          check_exact=True)
            pd.testing.assert_frame_equal(category_mix(given, groups, level), _ref_category_mix(lines, groups, level),
                                          check_exact=True)
            pd.testing.assert_frame_equal(adoption_sequence(given, level), _ref_adoption(lines, level),
                                          check_exact=True)
            for by in ("order", "customer"):
                matrix = basket_matrix(lines, level, by)
                assert basket_counts(given, level, by) == (len(matrix), int((matrix.sum(axis=1) > 1).sum()))
        pd.testing.assert_frame_equal(lift_matrix(codes), lift_matrix(basket_matrix(lines, level, "customer")),
                                      check_exact=True)
    pd.testing.assert_series_equal(item_margin_rates(cat, catalogue), _ref_margin_rates(lines, catalogue),
                                   check_exact=True)
    from dbmlib.segment.margins import with_margins

    names = catalogue.set_index("product_id")[["product_name", "category"]].combine_first(_ref_product_names(lines))
    summary = _ref_category_summary(lines, "product")
    expected = with_margins(names.reindex(summary.index).join(summary),
                            item_margin_rates(lines, catalogue, "product")).rename_axis("product_id")
    for given in (prod, lines):
        pd.testing.assert_frame_equal(product_summary(given, catalogue), expected, check_exact=True)


def test_order_codes_by_runs_equal_the_codes_of_the_ids(monkeypatch):
    """Orders whose lines sit together are coded by runs of their hashes — exactly the codes of
    the ids in order of appearance; interleaved orders, a missing order id or a shared hash
    take the hashing path, with the same codes."""
    import importlib

    from dbmlib.segment.sale_codes import read_sale_codes

    module = importlib.import_module("dbmlib.segment.sale_codes")
    used = []
    real = module._run_codes
    monkeypatch.setattr(module, "_run_codes", lambda *a: used.append(real(*a) is not None) or real(*a))
    rng = np.random.default_rng(7)
    order = np.sort(rng.integers(0, 400, 1500))  # an order's lines together, orders in load order
    lines = pd.DataFrame({"order_id": [f"O{o:04d}" for o in order], "customer_id": [f"c{o % 90:03d}" for o in order],
                          "order_ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(order, unit="h"),
                          "category": rng.choice(list("ABC"), len(order)), "product_id": None,
                          "amount": np.round(rng.gamma(2.0, 10.0, len(order)), 2), "returned_order_id": None})
    shuffled = lines.sample(frac=1.0, random_state=3, ignore_index=True)
    no_id = lines.assign(order_id=lines["order_id"].where(np.arange(len(lines)) != 700, None))
    for frame, runs in ((lines, True), (shuffled, False), (no_id, False)):
        con = duckdb.connect()
        con.register("order_lines", frame)
        used.clear()
        codes = read_sale_codes(con, "category")
        want = pd.factorize(frame["order_id"], sort=False)[0]
        if frame["order_id"].notna().all():
            np.testing.assert_array_equal(codes.order, want)
        else:  # the same orders (the missing id's hash keeps a code number unused)
            np.testing.assert_array_equal(codes.order < 0, want < 0)
            np.testing.assert_array_equal(pd.factorize(codes.order[want >= 0])[0], want[want >= 0])
        assert used == [runs] and len(np.unique(codes.order[codes.order >= 0])) == frame["order_id"].nunique() > 300
        np.testing.assert_array_equal(codes.order_id(np.arange(5)), frame["order_id"].to_numpy(object)[:5])
    assert module._run_codes(np.array([5, 5, 9, 3], np.uint64), np.zeros(4, bool), 4, 3) is None  # shared hash
    assert module._run_codes(np.array([5, 9, 5], np.uint64), np.zeros(3, bool), 2, 2) is None  # order split
    assert module._run_codes(np.array([5, 5, 9], np.uint64), np.zeros(3, bool), 2, 2).tolist() == [0, 0, 1]


@pytest.mark.parametrize("by", ["order", "customer"])
def test_pair_rules_from_item_bits_equal_the_sql_pair_counts_exactly(by):
    lines = pd.concat([_lines(), _lines().head(3).assign(order_id=None, customer_id=None),
                       _lines().head(1).assign(order_id="o99", amount=np.nan)], ignore_index=True)
    con = duckdb.connect()
    con.register("order_lines", lines)
    for min_support, min_lift in [(0.0, 0.0), (0.05, 1.0), (0.3, 0.0)]:
        want = pair_rules_sql(con, by=by, min_support=min_support, min_lift=min_lift)
        got = pair_rules(sale_codes(lines), by=by, min_support=min_support, min_lift=min_lift)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
    if by == "order":  # a NaN amount enters no basket on either path: the brute force of the ten orders
        pd.testing.assert_frame_equal(_keyed(got), _brute_force(0.3 - 1e-12), check_exact=False, rtol=1e-12)


def test_pair_rules_equal_sql_on_a_cleaned_demo_and_give_way_above_63_categories(tmp_path):
    from dbmlib.clean import cleaning
    from dbmlib.collect import load
    from dbmlib.demo import make_retail_demo

    con = duckdb.connect()
    load.load_folder(con, make_retail_demo(tmp_path / "demo", n_customers=600, seed=11), errors="quarantine")
    cleaning.clean_database(con)
    codes = read_sale_codes(con)
    for by, n_rules in [("order", 0), ("customer", 30)]:  # the demo's orders hold one category each
        want = pair_rules_sql(con, by=by, min_support=0.0, min_lift=0.0)
        assert len(want) == n_rules
        pd.testing.assert_frame_equal(pair_rules(codes, by=by, min_support=0.0, min_lift=0.0), want,
                                      check_dtype=False, check_exact=True)
    wide = pd.DataFrame({"order_id": [f"o{i // 2}" for i in range(128)], "customer_id": "c",
                         "category": [f"k{i:02d}" for i in range(64)] * 2, "amount": 1.0, "returned_order_id": None})
    assert sale_codes(wide).n_items == 64 and pair_rules(sale_codes(wide)) is None  # DuckDB's self-join instead
