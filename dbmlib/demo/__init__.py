"""Bundled data and the synthetic world: the CDNOW log, the seeded retail-demo company and its
simulators, and grading of every stage against the generator's ground truth.
"""

from __future__ import annotations

from .checks import (
    campaign_truth_check,
    cleaning_grade,
    cluster_agreement,
    demo_folder,
    recover_truth,
    simulate_campaign,
    uplift_truth_correlation,
)
from .datasets import (
    RetailDemoConfig,
    cdnow_path,
    load_cdnow,
    make_retail_demo,
    retail_demo_dir,
)
from .grade import (
    PROBLEM_RULES,
    grade_cleaning,
)
from .retail_demo import (
    PROBLEM_RATES,
    TRUTH_DIR,
    response_rules,
)
from .simulate import (
    BGNBDTraits,
    draw_bgnbd_traits,
    draw_spend,
    pnbd_summary,
    simulate_repeat_purchases,
    transaction_log,
)
from .truth import (
    natural_purchases,
    read_truth,
    simulate_responses,
    true_campaign_effects,
    true_uplift_of,
    truth_recovery,
)

__all__ = [
    "BGNBDTraits",
    "PROBLEM_RATES",
    "PROBLEM_RULES",
    "RetailDemoConfig",
    "TRUTH_DIR",
    "campaign_truth_check",
    "cdnow_path",
    "cleaning_grade",
    "cluster_agreement",
    "demo_folder",
    "draw_bgnbd_traits",
    "draw_spend",
    "grade_cleaning",
    "load_cdnow",
    "make_retail_demo",
    "natural_purchases",
    "pnbd_summary",
    "read_truth",
    "recover_truth",
    "response_rules",
    "retail_demo_dir",
    "simulate_campaign",
    "simulate_repeat_purchases",
    "simulate_responses",
    "transaction_log",
    "true_campaign_effects",
    "true_uplift_of",
    "truth_recovery",
    "uplift_truth_correlation",
]
