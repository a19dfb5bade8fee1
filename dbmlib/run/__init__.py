"""Runs: choose a named source, execute the numbered notebooks with papermill into a report
folder with its manifest and metrics, and the ``dbm`` command line.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import pipeline, sources
from .pipeline import *
from .sources import *

__all__: list[str] = []
__all__ += pipeline.__all__
__all__ += sources.__all__
