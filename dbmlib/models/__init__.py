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
    propensity,
    response,
    scoring,
    spark,
    training_sets,
)
from .btyd_fit import *  # noqa: F403
from .btyd_predict import *  # noqa: F403
from .btyd_validation import *  # noqa: F403
from .clv import *  # noqa: F403
from .propensity import *  # noqa: F403
from .response import *  # noqa: F403
from .scoring import *  # noqa: F403
from .spark import *  # noqa: F403
from .training_sets import *  # noqa: F403

__all__ = sorted({*btyd_fit.__all__, *btyd_predict.__all__, *btyd_validation.__all__, *clv.__all__, *propensity.__all__, *response.__all__, *scoring.__all__, *spark.__all__, *training_sets.__all__})
