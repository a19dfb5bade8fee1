"""The ground floor every stage stands on: paths, the marketing database (connect, read and
write tables), atomic files, errors, the run lock and checkpoints, metrics, progress bars,
privacy masking, notebook display helpers and the text-parsing kernels. Imports no stage.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import (
    checkpoint,
    config,
    db,
    display,
    errors,
    fast_text,
    io,
    lock,
    metrics,
    parsing,
    privacy,
    progress,
)
from .checkpoint import *  # noqa: F403
from .config import *  # noqa: F403
from .db import *  # noqa: F403
from .display import *  # noqa: F403
from .errors import *  # noqa: F403
from .fast_text import *  # noqa: F403
from .io import *  # noqa: F403
from .lock import *  # noqa: F403
from .metrics import *  # noqa: F403
from .parsing import *  # noqa: F403
from .privacy import *  # noqa: F403
from .progress import *  # noqa: F403

__all__ = sorted({*checkpoint.__all__, *config.__all__, *db.__all__, *display.__all__, *errors.__all__, *fast_text.__all__, *io.__all__, *lock.__all__, *metrics.__all__, *parsing.__all__, *privacy.__all__, *progress.__all__})
