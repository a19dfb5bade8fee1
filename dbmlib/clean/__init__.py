"""Stage 02, cleaning and integration: standardise formats, merge duplicate customers, turn order
lines into orders (returns and cancellations netted), flag outliers, pseudonymise personal data;
clean tables, a quality log and rejects.

The public names of the modules below (each module's ``__all__``).
"""

from ..core.exports import reexport

__all__ = reexport(__name__, ['cleaning', 'dedupe', 'lines_sql', 'orders', 'products', 'standardise'])
