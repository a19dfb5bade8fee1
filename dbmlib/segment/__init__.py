"""Stage 03, segmentation: RFM summaries and scores, named segments, lifecycle states,
clusters, 80/20 concentration, penetration, cohorts and the segment explorer.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import clusters, cohorts, concentration, customer_table, explorer, rfm
from .clusters import *
from .cohorts import *
from .concentration import *
from .customer_table import *
from .explorer import *
from .rfm import *

__all__: list[str] = []
__all__ += clusters.__all__
__all__ += cohorts.__all__
__all__ += concentration.__all__
__all__ += customer_table.__all__
__all__ += explorer.__all__
__all__ += rfm.__all__
