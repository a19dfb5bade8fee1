"""Bundled data and the synthetic world: the CDNOW log, the seeded retail-demo company and its
simulators, and grading of every stage against the generator's ground truth.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import checks, datasets, grade, policies, retail_demo, simulate, truth, world
from .checks import *
from .datasets import *
from .grade import *
from .policies import *
from .retail_demo import *
from .simulate import *
from .truth import *
from .world import *

__all__: list[str] = []
__all__ += checks.__all__
__all__ += datasets.__all__
__all__ += grade.__all__
__all__ += policies.__all__
__all__ += retail_demo.__all__
__all__ += simulate.__all__
__all__ += truth.__all__
__all__ += world.__all__
