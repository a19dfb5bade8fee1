"""Runs: choose a named source, execute the numbered notebooks with papermill into a report
folder with its manifest, metrics and index page, and the ``dbm`` command line.

The public names of the modules below (each module's ``__all__``).
"""

from ..core.exports import reexport

__all__ = reexport(__name__, ['index', 'pipeline', 'sources'])
