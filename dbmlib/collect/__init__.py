"""Stage 01, collection: read customer, transaction and campaign exports (files or a database),
validate them against their schemas and load them into the raw layer with lineage and rejects.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import load, overview, readers, schemas
from .load import *  # noqa: F403
from .overview import *  # noqa: F403
from .readers import *  # noqa: F403
from .schemas import *  # noqa: F403

__all__ = sorted({*load.__all__, *overview.__all__, *readers.__all__, *schemas.__all__})
