"""Stage 02, cleaning and integration: standardise formats, merge duplicate customers, net returns,
flag outliers, pseudonymise personal data; clean tables, a quality log and rejects.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import cleaning, dedupe, standardise
from .cleaning import *
from .dedupe import *
from .standardise import *

__all__: list[str] = []
__all__ += cleaning.__all__
__all__ += dedupe.__all__
__all__ += standardise.__all__
