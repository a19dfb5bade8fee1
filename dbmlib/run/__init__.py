"""Runs: choose a named source, execute the numbered notebooks with papermill into a report
folder with its manifest and metrics, and the ``dbm`` command line.
"""

from __future__ import annotations

from .cli import (
    main,
    parse_params,
)
from .pipeline import (
    RunResult,
    declared_parameters,
    discover_notebooks,
    package_versions,
    run,
)
from .sources import (
    feedback_dir,
    load_cdnow_source,
    load_source,
)

__all__ = [
    "RunResult",
    "declared_parameters",
    "discover_notebooks",
    "feedback_dir",
    "load_cdnow_source",
    "load_source",
    "main",
    "package_versions",
    "parse_params",
    "run",
]
