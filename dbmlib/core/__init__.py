"""The ground floor every stage stands on: paths, the marketing database (connect, read and
write tables), atomic files, errors, the run lock and checkpoints, metrics, progress bars,
privacy masking, notebook display helpers and the text-parsing kernels. Imports no stage.

The public names of the modules below (each module's ``__all__``).
"""

from .exports import reexport

__all__ = reexport(__name__, [
    'checkpoint', 'config', 'db', 'display', 'errors', 'fast_text', 'io', 'lineage', 'lock',
    'metrics', 'parsing', 'privacy', 'progress'
])
