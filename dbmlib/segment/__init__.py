"""Stage 03, segmentation: RFM summaries and scores, named segments, lifecycle states,
clusters, 80/20 concentration, penetration, cohorts and the segment explorer.
"""

from __future__ import annotations

from .clusters import (
    RFMClusterer,
    cluster_profiles,
)
from .cohorts import (
    cohort_retention,
)
from .concentration import (
    gini,
    lorenz_curve,
    penetration,
    penetration_tables,
    profitability,
    top_share,
)
from .customer_table import (
    DEMOGRAPHICS,
    contact_costs,
    customer_features,
    has_demographics,
    segment_summary,
)
from .explorer import (
    SegmentExplorer,
)
from .rfm import (
    LIFECYCLE_STATES,
    SEGMENT_GRID,
    SEGMENTS,
    calibration_and_holdout,
    lifecycle,
    rfm_scores,
    rfm_summary,
    rfm_table,
    segment_of,
)

__all__ = [
    "DEMOGRAPHICS",
    "LIFECYCLE_STATES",
    "RFMClusterer",
    "SEGMENTS",
    "SEGMENT_GRID",
    "SegmentExplorer",
    "calibration_and_holdout",
    "cluster_profiles",
    "cohort_retention",
    "contact_costs",
    "customer_features",
    "gini",
    "has_demographics",
    "lifecycle",
    "lorenz_curve",
    "penetration",
    "penetration_tables",
    "profitability",
    "rfm_scores",
    "rfm_summary",
    "rfm_table",
    "segment_of",
    "segment_summary",
    "top_share",
]
