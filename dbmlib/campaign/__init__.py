"""Stage 05, campaigns: eligibility, target lists and control groups, experiment evaluation
(lift, significance, ROI), uplift models, the what-if explorer and write-back of responses.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import evaluation, history, planning, targeting, uplift, whatif, writeback
from .evaluation import *  # noqa: F403
from .history import *  # noqa: F403
from .planning import *  # noqa: F403
from .targeting import *  # noqa: F403
from .uplift import *  # noqa: F403
from .whatif import *  # noqa: F403
from .writeback import *  # noqa: F403

__all__ = sorted({*evaluation.__all__, *history.__all__, *planning.__all__, *targeting.__all__, *uplift.__all__, *whatif.__all__, *writeback.__all__})
