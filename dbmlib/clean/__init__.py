"""Stage 02, cleaning and integration: standardise formats, merge duplicate customers, net returns,
flag outliers, pseudonymise personal data; clean tables, a quality log and rejects.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import cleaning, dedupe, standardise
from .cleaning import *  # noqa: F403
from .dedupe import *  # noqa: F403
from .standardise import *  # noqa: F403

__all__ = sorted({*cleaning.__all__, *dedupe.__all__, *standardise.__all__})
