"""Every derived table knows what it was built from; a stage refuses another source's tables
or tables built from an input that has been rebuilt since."""

import pandas as pd
import pytest

from dbmlib.core import (
    StaleTableError,
    lineage_of,
    record_lineage,
    replace_tables,
    require_inputs,
    touch,
)
from dbmlib.run import database_for, feedback_dir, loop_parameters, source_key
from dbmlib.run.sources import load_source


def _frame(v):
    return pd.DataFrame({"v": [v]}, index=pd.Index(["c1"], name="customer_id"))


def test_stages_inherit_the_source_and_refuse_another(con):
    replace_tables(con, {"raw_transactions": _frame(1)})
    record_lineage(con, ["raw_transactions"], stage="01_collection", source="shop-a")
    replace_tables(con, {"transactions": _frame(2)}, stage="02_cleaning", inputs=["raw_transactions"])
    info = lineage_of(con)
    assert info["transactions"]["source"] == "shop-a" and info["transactions"]["stage"] == "02_cleaning"
    assert info["transactions"]["inputs"] == {"raw_transactions": info["raw_transactions"]["build_id"]}
    assert require_inputs(con, ["transactions"], source="shop-a", stage="03")["transactions"]["source"] == "shop-a"
    with pytest.raises(StaleTableError, match=r"'transactions' holds source 'shop-a'.*rerun 02_cleaning with source 'shop-b'"):
        require_inputs(con, ["transactions"], source="shop-b", stage="03_segmentation")


def test_a_rebuilt_input_makes_its_children_stale(con):
    replace_tables(con, {"raw_transactions": _frame(1)})
    record_lineage(con, ["raw_transactions"], stage="01_collection", source="shop-a")
    replace_tables(con, {"transactions": _frame(2)}, stage="02_cleaning", inputs=["raw_transactions"])
    replace_tables(con, {"scores": _frame(3)}, stage="04_predictive_modelling", inputs=["transactions"])
    require_inputs(con, ["scores"], source="shop-a", stage="05_campaigns")
    replace_tables(con, {"transactions": _frame(4)}, stage="02_cleaning", inputs=["raw_transactions"])
    with pytest.raises(StaleTableError, match=r"'scores' was built by 04_predictive_modelling from 'transactions'.*rerun 04"):
        require_inputs(con, ["scores"], source="shop-a", stage="05_campaigns")
    replace_tables(con, {"scores": _frame(5)}, stage="04_predictive_modelling", inputs=["transactions"])
    require_inputs(con, ["scores"], source="shop-a", stage="05_campaigns")
    touch(con, ["transactions"], stage="05_campaigns write-back")  # changed in place
    with pytest.raises(StaleTableError, match="rebuilt by 05_campaigns write-back"):
        require_inputs(con, ["scores"], source="shop-a", stage="05_campaigns")


def test_missing_or_unrecorded_tables_and_mixed_inputs(con):
    with pytest.raises(StaleTableError, match="'scores' is missing"):
        require_inputs(con, ["scores"], source="x", stage="05_campaigns")
    replace_tables(con, {"scores": _frame(1)})
    with pytest.raises(StaleTableError, match="no recorded lineage"):
        require_inputs(con, ["scores"], source="x", stage="05_campaigns")
    replace_tables(con, {"a": _frame(1), "b": _frame(2)})
    record_lineage(con, ["a"], stage="01", source="s1")
    record_lineage(con, ["b"], stage="01", source="s2")
    with pytest.raises(StaleTableError, match=r"hold the sources \['s1', 's2'\]"):
        record_lineage(con, ["c"], stage="02", inputs=["a", "b"])
    assert record_lineage(con, ["d"], stage="02", inputs=["nothing"]).startswith("02:")
    assert lineage_of(con, ["d"])["d"]["source"] == "unrecorded"


def test_each_source_gets_its_own_database(tmp_path):
    demo = database_for("retail-demo")
    assert demo.name == "retail-demo.duckdb"
    assert database_for("retail-demo", 3, 2000).name == "retail-demo-n2000-seed3.duckdb"
    assert database_for("retail-demo", 0, 20_000, 15.0).name == "retail-demo-rate15.duckdb"
    assert database_for("cdnow").name == "cdnow.duckdb"
    a, b = tmp_path / "a" / "shop", tmp_path / "b" / "shop"
    assert source_key(str(a)) != source_key(str(b)) and source_key(str(a)).startswith("shop-")
    assert database_for(str(a), db_path=str(tmp_path / "x.duckdb")) == tmp_path / "x.duckdb"
    assert feedback_dir(tmp_path / "x.duckdb", "cdnow") == tmp_path / "x.feedback" / "cdnow"


def test_loop_parameters_count_rounds_and_checksum_the_feedback(tmp_path):
    pristine = loop_parameters(None, tmp_path / "fb")
    assert pristine == {"round": 0, "feedback_inputs": [],
                        "parameters": {"feedback": False, "write_back": False, "round_no": 0}}
    assert loop_parameters("next", tmp_path / "fb")["round"] == 1
    (tmp_path / "fb" / "C1").mkdir(parents=True)
    (tmp_path / "fb" / "C1" / "campaigns.csv").write_text("campaign_id\nC1\n")
    loop = loop_parameters("next", tmp_path / "fb")
    assert loop["round"] == 2 and loop["parameters"] == {"feedback": True, "write_back": True, "round_no": 2}
    from dbmlib.core.io import sha256_file

    assert loop["feedback_inputs"] == [{"file": "C1/campaigns.csv",
                                        "sha256": sha256_file(tmp_path / "fb" / "C1" / "campaigns.csv")}]
    with pytest.raises(ValueError, match="use --round next"):
        loop_parameters("3", tmp_path / "fb")


def test_appending_another_source_to_the_raw_layer_is_refused(con, tmp_path):
    load_source(con, "cdnow-sample")
    assert lineage_of(con)["raw_transactions"]["source"] == "cdnow-sample"
    with pytest.raises(StaleTableError, match="would mix two sources"):
        load_source(con, "cdnow", rebuild=False)
    load_source(con, "cdnow", rebuild=True)
    assert lineage_of(con)["raw_transactions"]["source"] == "cdnow"
