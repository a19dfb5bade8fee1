"""Stage 01, collection: read customer, transaction and campaign exports (files or a database),
validate them against their schemas and load them into the raw layer with lineage and rejects.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import load, overview, readers, schemas
from .load import *
from .overview import *
from .readers import *
from .schemas import *

__all__: list[str] = []
__all__ += load.__all__
__all__ += overview.__all__
__all__ += readers.__all__
__all__ += schemas.__all__
