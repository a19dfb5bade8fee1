"""Bundled data and the synthetic world: the CDNOW log, the seeded retail-demo company and its
simulators, and grading of every stage against the generator's ground truth.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import checks, datasets, grade, retail_demo, simulate, truth
from .checks import *  # noqa: F403
from .datasets import *  # noqa: F403
from .grade import *  # noqa: F403
from .retail_demo import *  # noqa: F403
from .simulate import *  # noqa: F403
from .truth import *  # noqa: F403

__all__ = sorted({*checks.__all__, *datasets.__all__, *grade.__all__, *retail_demo.__all__, *simulate.__all__, *truth.__all__})
