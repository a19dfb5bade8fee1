"""Stage 04, predictive modelling: CLV (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma) fitted,
validated and bootstrapped; response and churn propensity; the per-customer scores.
"""

from __future__ import annotations

from .btyd_fit import (
    bgnbd_log_likelihood,
    compress,
    distinct_rows,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_pnbd,
)
from .btyd_predict import (
    bgnbd_discounted_purchases,
    bgnbd_expected_purchases,
    bgnbd_p_alive,
)
from .btyd_validation import (
    bootstrap_clv,
    bootstrap_params,
    by_calibration_frequency,
    calibration_summary,
    compare_purchase_models,
    cumulative_tracking,
    holdout_errors,
    holdout_split,
    parameter_table,
)
from .clv import (
    PUBLISHED_CDNOW,
    ModelFitError,
    PurchaseModel,
    SpendModel,
    check_summary,
    customer_lifetime_value,
)
from .propensity import (
    PropensityModel,
    compare_models,
    gains_table,
    load_model,
    save_model,
    training_rows,
)
from .response import (
    PropensityResult,
    fit_churn_model,
    fit_response_model,
)
from .scoring import (
    assemble_scores,
    deciles,
    published_comparison,
    truth_comparison,
)
from .spark import (
    SCORE_COLUMNS,
    local_session,
    score,
)
from .training_sets import (
    CATEGORICAL,
    NUMERIC,
    campaign_training_set,
    channel_shares,
    churn_training_set,
    features_as_of,
    response_training_set,
)

__all__ = [
    "CATEGORICAL",
    "ModelFitError",
    "NUMERIC",
    "PUBLISHED_CDNOW",
    "PropensityModel",
    "PropensityResult",
    "PurchaseModel",
    "SCORE_COLUMNS",
    "SpendModel",
    "assemble_scores",
    "bgnbd_discounted_purchases",
    "bgnbd_expected_purchases",
    "bgnbd_log_likelihood",
    "bgnbd_p_alive",
    "bootstrap_clv",
    "bootstrap_params",
    "by_calibration_frequency",
    "calibration_summary",
    "campaign_training_set",
    "channel_shares",
    "check_summary",
    "churn_training_set",
    "compare_models",
    "compare_purchase_models",
    "compress",
    "cumulative_tracking",
    "customer_lifetime_value",
    "deciles",
    "distinct_rows",
    "features_as_of",
    "fit_bgnbd",
    "fit_churn_model",
    "fit_gamma_gamma",
    "fit_pnbd",
    "fit_response_model",
    "gains_table",
    "holdout_errors",
    "holdout_split",
    "load_model",
    "local_session",
    "parameter_table",
    "published_comparison",
    "response_training_set",
    "save_model",
    "score",
    "training_rows",
    "truth_comparison",
]
