"""Stage 03, segmentation: RFM summaries and scores, named segments, lifecycle states,
clusters, 80/20 concentration, penetration, cohorts, categories and market baskets, and the
segment explorer.

The public names of the modules below (each module's ``__all__``).
"""

from ..core.exports import reexport

__all__ = reexport(__name__, [
    'baskets', 'clusters', 'cohorts', 'concentration', 'customer_table', 'explorer', 'margins', 'products',
    'rfm', 'sale_codes'
])
