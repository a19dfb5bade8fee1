"""Stage 04, predictive modelling: CLV (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma) fitted,
validated and bootstrapped; response and churn propensity; the per-customer scores.

The public names of the modules below (each module's ``__all__``).
"""

from ..core.exports import reexport

__all__ = reexport(__name__, [
    'bgbb', 'btyd_fit', 'category_codes', 'btyd_predict', 'btyd_simulate', 'covariates', 'model_check', 'btyd_validation', 'clv', 'diagnostics', 'next_offer', 'propensity',
    'persistence', 'pnbd_gradient', 'purchase_counts', 'response', 'retention', 'scoring', 'spark', 'training_sets'
])
