"""Stage 05, campaigns: eligibility, target lists and control groups, experiment evaluation
(lift, significance, ROI), uplift models, the what-if explorer and write-back of responses.

The public names of the modules below (each module's ``__all__``).
"""

from ..core.exports import reexport

__all__ = reexport(__name__, [
    'cross_sell', 'evaluation', 'experiment_stats', 'history', 'meta_learners', 'planning', 'targeting', 'uplift', 'whatif', 'writeback'
])
