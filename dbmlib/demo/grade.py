"""Grade the cleaning stage against the planted truth of a generated ``retail-demo``.

Used only to grade: the truth never feeds a cleaning decision.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..clean.dedupe import merge_precision_recall

__all__ = ["PROBLEM_RULES", "grade_cleaning"]

#: Which quality-log rule handles each planted problem type.
PROBLEM_RULES = {
    "duplicate_customer": "duplicate_customer",
    "mixed_date_format": "mixed_date_format",
    "amount_as_text": "amount_as_text",
    "missing_value": "missing_value",
    "impossible_birth_date": "impossible_birth_date",
    "test_account": "test_account",
    "exact_duplicate_row": "exact_duplicate_row",
    "extreme_outlier": "extreme_outlier",
}


def grade_cleaning(quality_log: pd.DataFrame, id_map: pd.DataFrame, truth_dir) -> tuple[pd.DataFrame, dict]:
    """Per problem type: planted, found, share found; plus merge precision/recall."""
    truth_dir = Path(truth_dir)
    planted = pd.read_csv(truth_dir / "problems.csv", dtype={"key": str, "detail": str})  # detail: numbers and text
    log = quality_log[["table", "rule", "key", "column"]]  # the columns compared: 3M log rows are filtered 8 times
    log = log.assign(key=log["key"].astype(str))
    rows = []
    for problem, group in planted.groupby("problem"):
        rule = PROBLEM_RULES[problem]
        hits = log[log["rule"] == rule]
        by_col = not bool(group["column"].isin(["*", "customer_id"]).all())
        fields = ["table", "key", "column"] if by_col else ["table", "key"]
        matched = group[fields].astype(str).merge(hits[fields].astype(str).drop_duplicates(), on=fields,
                                                  how="left", indicator=True)
        rows.append({"problem": problem, "planted": len(group), "found": int((matched["_merge"] == "both").sum())})
    grade = pd.DataFrame(rows)
    grade["share_found"] = grade["found"] / grade["planted"]
    merges = merge_precision_recall(id_map, pd.read_csv(truth_dir / "duplicates.csv"))
    return grade, merges
