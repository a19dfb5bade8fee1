"""Stage 04, predictive modelling: CLV (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma) fitted,
validated and bootstrapped; response and churn propensity; the per-customer scores.

The public names of the modules below (each module's ``__all__``).
"""

from __future__ import annotations

from . import (
    btyd_fit,
    btyd_predict,
    btyd_validation,
    clv,
    diagnostics,
    propensity,
    response,
    scoring,
    spark,
    training_sets,
)
from .btyd_fit import *
from .btyd_predict import *
from .btyd_validation import *
from .clv import *
from .diagnostics import *
from .propensity import *
from .response import *
from .scoring import *
from .spark import *
from .training_sets import *

__all__: list[str] = []
__all__ += btyd_fit.__all__
__all__ += btyd_predict.__all__
__all__ += btyd_validation.__all__
__all__ += clv.__all__
__all__ += diagnostics.__all__
__all__ += propensity.__all__
__all__ += response.__all__
__all__ += scoring.__all__
__all__ += spark.__all__
__all__ += training_sets.__all__
