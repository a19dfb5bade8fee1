"""Report tables: numbers formatted for a reader, wide and long tables cut with a note."""

import re

import numpy as np
import pandas as pd

from dbmlib.core.display import MAX_COLUMNS, MAX_ROWS, report_table_html


def _cells(page: str) -> list[str]:
    return re.findall(r'class="data row\d+ col\d+" >([^<]*)<', page)


def test_numbers_are_formatted_for_a_reader():
    df = pd.DataFrame({"customers": [1234567, 56], "share_revenue": [0.4512, 0.02], "abs_lift": [0.0358, -0.0042],
                       "top_decile_lift": [2.1084, 1.5], "mean_spend": [3.14159, 1234.5], "region": ["North", "London"],
                       "p_value": [0.0312, 0.725]})
    page = report_table_html(df)
    assert _cells(page) == ["1,234,567", "45.1%", "3.6%", "2.11", "3.14", "North", "0.0312",
                            "56", "2.0%", "-0.4%", "1.50", "1,234", "London", "0.725"]
    assert 'class="dataframe"' in page and "<em>" not in page
    assert page == report_table_html(df.copy())  # the same table gives the same page


def test_wide_and_long_tables_are_cut_with_a_note():
    big = pd.DataFrame(np.arange(35 * 14).reshape(35, 14), columns=[f"c{i}" for i in range(14)])
    page = report_table_html(big)
    assert len(_cells(page)) == MAX_ROWS * MAX_COLUMNS
    assert "<em>4 more columns not shown: c10, c11, c12, c13; the first 20 of 35 rows.</em>" in page


def test_repeated_index_values_and_odd_cells_still_render():
    df = pd.DataFrame({"rows": [3, 4], "when": [pd.Timestamp("2024-01-01"), pd.NaT], "cols": [["a"], None]},
                      index=["transactions", "transactions"])  # e.g. a load summary with feedback files
    assert _cells(report_table_html(df))[0] == "3"

    from dbmlib.core.display import _report_table_or_plain

    class Odd(pd.DataFrame):
        @property
        def style(self):
            raise RuntimeError("no styler")

    assert "<table" in _report_table_or_plain(Odd({"a": [1]}))
