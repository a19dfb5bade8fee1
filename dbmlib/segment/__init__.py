"""Stage 03, segmentation: RFM summaries and scores, named segments, lifecycle states,
clusters, 80/20 concentration, penetration, cohorts and the segment explorer.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import clusters, cohorts, concentration, customer_table, explorer, rfm
from .clusters import *  # noqa: F403
from .cohorts import *  # noqa: F403
from .concentration import *  # noqa: F403
from .customer_table import *  # noqa: F403
from .explorer import *  # noqa: F403
from .rfm import *  # noqa: F403

__all__ = sorted({*clusters.__all__, *cohorts.__all__, *concentration.__all__, *customer_table.__all__, *explorer.__all__, *rfm.__all__})
