"""Runs: choose a named source, execute the numbered notebooks with papermill into a report
folder with its manifest and metrics, and the ``dbm`` command line.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import cli, pipeline, sources
from .cli import *  # noqa: F403
from .pipeline import *  # noqa: F403
from .sources import *  # noqa: F403

__all__ = sorted({*cli.__all__, *pipeline.__all__, *sources.__all__})
