"""Stage 01, collection: read customer, transaction and campaign exports (files or a database),
validate them against their schemas and load them into the raw layer with lineage and rejects.

The public names of the modules below (each module's ``__all__``).
"""

from ..core.exports import reexport

__all__ = reexport(__name__, ['load', 'overview', 'readers', 'schemas'])
