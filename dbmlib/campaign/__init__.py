"""Stage 05, campaigns: eligibility, target lists and control groups, experiment evaluation
(lift, significance, ROI), uplift models, the what-if explorer and write-back of responses.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import evaluation, history, planning, targeting, uplift, whatif, writeback
from .evaluation import *
from .history import *
from .planning import *
from .targeting import *
from .uplift import *
from .whatif import *
from .writeback import *

__all__: list[str] = []
__all__ += evaluation.__all__
__all__ += history.__all__
__all__ += planning.__all__
__all__ += targeting.__all__
__all__ += uplift.__all__
__all__ += whatif.__all__
__all__ += writeback.__all__
