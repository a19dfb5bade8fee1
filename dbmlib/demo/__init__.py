"""Bundled data and the synthetic world: the CDNOW log, the seeded retail-demo company and its
simulators, and grading of every stage against the generator's ground truth.

The public names of the modules below (each module's ``__all__``).
"""

from ..core.exports import reexport

__all__ = reexport(__name__, [
    'catalogue', 'checks', 'datasets', 'experiments', 'grade', 'line_export', 'policies', 'retail_demo',
    'simulate', 'truth', 'world'
])
