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
    lineage,
    lock,
    metrics,
    parsing,
    privacy,
    progress,
)
from .checkpoint import *
from .config import *
from .db import *
from .display import *
from .errors import *
from .fast_text import *
from .io import *
from .lineage import *
from .lock import *
from .metrics import *
from .parsing import *
from .privacy import *
from .progress import *

__all__: list[str] = []
__all__ += checkpoint.__all__
__all__ += config.__all__
__all__ += db.__all__
__all__ += display.__all__
__all__ += errors.__all__
__all__ += fast_text.__all__
__all__ += io.__all__
__all__ += lineage.__all__
__all__ += lock.__all__
__all__ += metrics.__all__
__all__ += parsing.__all__
__all__ += privacy.__all__
__all__ += progress.__all__
