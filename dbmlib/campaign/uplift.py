"""Uplift modelling: who responds *because of* the contact.

A response model ranks customers by P(response | contacted); it puts the *sure things*
(who would buy anyway) at the top and cannot see the *sleeping dogs* (whom the contact puts
off). An uplift model estimates ``P(response | contacted) − P(response | not contacted)``
from a randomised campaign (treated and control customers):

The models are :class:`~dbmlib.campaign.meta_learners.UpliftModel` (T-, X-learner and class
transformation); :func:`campaign_uplift_model` fits one on the demo's campaign training set
(the features of :mod:`dbmlib.models.training_sets` as of each campaign start) — a
convenience, not a requirement: ``UpliftModel`` takes any features.

Curves (Radcliffe's Qini; Rzepakowski & Jaroszewicz's uplift curve), computed on customers
sorted by predicted uplift, after the top ``k``:

* ``qini(k) = R_t(k) − R_c(k) · N_t(k) / N_c(k)`` (incremental responders);
* ``uplift(k) = (R_t(k)/N_t(k) − R_c(k)/N_c(k)) · k``;

with ``R`` responders and ``N`` customers of each group among the top ``k`` (a ratio with
``N = 0`` counts as 0). Areas are trapezoids over the share of customers targeted; the
**Qini coefficient** is the area between the model's Qini curve and the random line,
divided by the number of customers. **Normalised** (as scikit-uplift and causalml report
it), it is that area divided by the perfect model's — the one that ranks treated responders
first and control responders last — so 1 is perfect and 0 random, comparable across data.
The curves also take an amount (revenue) as the outcome: ``R`` is then the summed amount.

**Uplift at k** is the treated minus the control mean outcome among the top ``k`` share of
customers by score. The **value of a targeting policy** on a held-out randomised sample is the
inverse-propensity estimate (Horvitz–Thompson): each customer whose random assignment
happens to equal what the policy would send counts with weight 1 / P(that assignment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..core.errors import InputError
from ..core.fast_text import isin
from ..models.propensity import PropensityModel
from ..models.training_sets import CATEGORICAL, NUMERIC, campaign_training_set
from .evaluation import binary_outcome
from .meta_learners import NO_CONTACT, UpliftModel

#: The inputs of :func:`campaign_uplift_model`: the as-of features and the campaign's channel.
FEATURES = NUMERIC + CATEGORICAL + ["campaign_channel"]

__all__ = [
    "FEATURES",
    "UPLIFT_MODELS",
    "arm_metrics",
    "campaign_uplift_model",
    "policy_value",
    "uplift_at_k",
    "UpliftComparison",
    "auuc",
    "compare_uplift_models",
    "evaluate_models",
    "qini_coefficient",
    "qini_curve",
    "uplift_by_decile",
    "uplift_curve",
]


def _check_pair(treatment, y) -> tuple[np.ndarray, np.ndarray]:
    """Two groups (1 = treated, 0 = control), both present, and a numeric outcome (0/1 or an
    amount)."""
    t = binary_outcome(pd.Series(np.asarray(treatment)), name="treatment", source="uplift data").astype(int)
    for g, name in ((1, "treated"), (0, "control")):
        if not (t == g).any():
            raise InputError("uplift data", column="treatment", problem=f"no {name} customers",
                             expected="a treated (1) and a control (0) group: uplift compares the two")
    values = pd.to_numeric(pd.Series(np.asarray(y)), errors="coerce")
    if values.isna().any():
        raise InputError("uplift data", column="outcome", rows=np.flatnonzero(values.isna().to_numpy()) + 1,
                         problem="missing or non-numeric outcomes", expected="0/1 responses or amounts")
    if len(t) != len(values):
        raise ValueError("treatment and outcome must have the same length")
    return t, values.to_numpy(float)


def _best_first(score) -> np.ndarray:
    """Row order by score, highest first, ties (and missing scores, last) in row order: a stable
    sort of the negated scores, the order of ``np.lexsort((rows, -score))`` in half its time."""
    return np.argsort(-np.asarray(score, float), kind="stable")


def _cumulative(y, treatment, score) -> pd.DataFrame:
    t, y = _check_pair(treatment, y)
    order = _best_first(score)
    t, y = t[order], y[order]
    n_t, n_c = np.cumsum(t), np.cumsum(1 - t)
    r_t, r_c = np.cumsum(y * t), np.cumsum(y * (1 - t))
    k = np.arange(1, len(y) + 1)
    return pd.DataFrame({"k": k, "n_t": n_t, "n_c": n_c, "r_t": r_t, "r_c": r_c})


def _ratio(a, b):
    return np.divide(a, b, out=np.zeros(len(a)), where=b > 0)


def qini_curve(y, treatment, score) -> pd.DataFrame:
    """Qini curve: ``share`` of customers targeted (0 first) and incremental responders."""
    c = _cumulative(y, treatment, score)
    q = c["r_t"] - _ratio(c["r_c"].to_numpy(float) * c["n_t"].to_numpy(), c["n_c"].to_numpy())
    n = len(c)
    return pd.DataFrame({"share": np.r_[0.0, c["k"] / n], "qini": np.r_[0.0, q]})


def uplift_curve(y, treatment, score) -> pd.DataFrame:
    """Uplift curve: ``share`` targeted and (rate_t − rate_c) among the top k, times k."""
    c = _cumulative(y, treatment, score)
    u = (_ratio(c["r_t"].to_numpy(float), c["n_t"].to_numpy())
         - _ratio(c["r_c"].to_numpy(float), c["n_c"].to_numpy())) * c["k"]
    n = len(c)
    return pd.DataFrame({"share": np.r_[0.0, c["k"] / n], "uplift": np.r_[0.0, u]})


def _area_above_random(curve: pd.DataFrame, col: str) -> float:
    x, v = curve["share"].to_numpy(), curve[col].to_numpy()
    random_line = v[-1] * x
    return float(np.trapezoid(v - random_line, x))


def _perfect_score(y, treatment) -> np.ndarray:
    """The best possible ranking: treated outcomes first (largest first), control outcomes last."""
    t, y = _check_pair(treatment, y)
    return y * t - y * (1 - t)


def qini_coefficient(y, treatment, score, normalize: bool = False) -> float:
    """Area between the Qini curve and the random line, per customer; with ``normalize``, as a
    share of the perfect model's area (1 perfect, 0 random, negative worse than random)."""
    area = _area_above_random(qini_curve(y, treatment, score), "qini")
    if not normalize:
        return area / len(np.asarray(y))
    best = _area_above_random(qini_curve(y, treatment, _perfect_score(y, treatment)), "qini")
    return area / best if best > 0 else np.nan


def uplift_at_k(y, treatment, score, k: float = 0.3) -> float:
    """Treated minus control mean outcome among the top ``k`` share of customers by score
    (NaN when either group is absent there)."""
    t, y = _check_pair(treatment, y)
    if not 0 < k <= 1:
        raise ValueError(f"k is a share of customers, 0 < k <= 1, got {k}")
    top = _best_first(score)[:max(1, int(np.ceil(k * len(y))))]
    tt, yy = t[top], y[top]
    if tt.all() or not tt.any():
        return np.nan
    return float(yy[tt == 1].mean() - yy[tt == 0].mean())


def policy_value(y, treatment, policy, *, control_label=0, value_per_response=1.0, cost_per_contact=0.0,
                 level: float = 0.95) -> dict:
    """What following ``policy`` (the arm to send each customer, or the control label / "no
    contact") would earn per customer, estimated on a randomised sample by inverse propensity,
    and its gain over contacting nobody, each with a normal-approximation interval. Profit of a
    customer = ``value × outcome − cost`` when sent an arm, ``value × outcome`` in the control;
    value and cost may be dicts by arm. Assignment probabilities are the sample's shares."""
    t = pd.Series(np.asarray(treatment, dtype=object))
    pol = pd.Series(np.asarray(policy, dtype=object)).replace({NO_CONTACT: control_label})
    y = pd.to_numeric(pd.Series(np.asarray(y)), errors="coerce").to_numpy(float)
    if len(t) != len(y) or len(pol) != len(y):
        raise ValueError("outcome, treatment and policy must have the same length")
    share = t.value_counts(normalize=True)
    unknown = sorted(set(pol) - set(share.index), key=str)
    if unknown:
        raise InputError("targeting policy", column="policy", problem=f"arms never assigned in the sample: {unknown}",
                         expected=f"one of the sample's labels {sorted(share.index, key=str)}")

    def by_arm(v, arm):
        return v.get(arm, 0.0) if isinstance(v, dict) else v

    arms = t.to_numpy()
    value = t.map({a: by_arm(value_per_response, a) for a in share.index}).to_numpy(float)
    cost = t.map({a: 0.0 if a == control_label else by_arm(cost_per_contact, a) for a in share.index}).to_numpy(float)
    profit = value * y - cost
    p = t.map(share).to_numpy(float)
    follows = (t == pol).to_numpy()
    terms = np.where(follows, profit / p, 0.0)
    none = np.where(arms == control_label, profit / share.get(control_label, np.nan), 0.0)
    z = norm.ppf(0.5 + level / 2)
    n = len(y)

    def ci(v):
        m, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(n))
        return m, m - z * se, m + z * se

    estimate, lo, hi = ci(terms)
    gain, glo, ghi = ci(terms - none) if control_label in share.index else (np.nan,) * 3
    return {"value_per_customer": estimate, "value_lo": lo, "value_hi": hi, "gain_per_customer": gain,
            "gain_lo": glo, "gain_hi": ghi, "customers_following": int(follows.sum()), "customers": n}


def arm_metrics(y, treatment, effects: pd.DataFrame, *, control_label=0, k: float = 0.3) -> pd.DataFrame:
    """For each arm (a column of ``effects``, the predicted effects), judged on that arm's and
    the control's rows: the Qini coefficient unnormalised and normalised, the AUUC and the
    uplift at ``k``."""
    t = np.asarray(treatment, dtype=object)
    y = np.asarray(y, float)
    rows = {}
    for arm in effects.columns:
        keep = (t == arm) | (t == control_label)
        tt, yy, s = (t[keep] == arm).astype(int), y[keep], effects[arm].to_numpy(float)[keep]
        rows[arm] = {"customers": int(keep.sum()), "qini_coefficient": qini_coefficient(yy, tt, s),
                     "qini_normalized": qini_coefficient(yy, tt, s, normalize=True), "auuc": auuc(yy, tt, s),
                     f"uplift_at_{int(round(k * 100))}": uplift_at_k(yy, tt, s, k)}
    return pd.DataFrame(rows).T.rename_axis("arm")


def auuc(y, treatment, score) -> float:
    """Area under the uplift curve above the random line, per customer."""
    return _area_above_random(uplift_curve(y, treatment, score), "uplift") / len(np.asarray(y))


def uplift_by_decile(y, treatment, score, n_bins: int = 10) -> pd.DataFrame:
    """Observed response rates (or mean amounts) of treated and control, and their difference,
    by decile of predicted uplift (decile 1 = highest)."""
    t, y = _check_pair(treatment, y)
    s = pd.Series(np.asarray(score, float))
    decile = np.ceil(s.rank(method="first", ascending=False) / len(s) * n_bins).clip(1, n_bins)
    df = pd.DataFrame({"decile": decile.astype(int), "t": t, "y": y, "score": s})
    g = df.groupby("decile")
    out = pd.DataFrame({
        "customers": g.size(),
        "predicted_uplift": g["score"].mean(),
        "treated": g["t"].sum(),
        "control": g.size() - g["t"].sum(),
        "treated_rate": g.apply(lambda d: d.loc[d["t"] == 1, "y"].mean(), include_groups=False),
        "control_rate": g.apply(lambda d: d.loc[d["t"] == 0, "y"].mean(), include_groups=False),
    })
    out["observed_uplift"] = out["treated_rate"] - out["control_rate"]
    return out


def campaign_uplift_model(X: pd.DataFrame, y, *, method: str = "t", learner: str = "gbm", seed: int = 0,
                          max_rows: int | None = None, outcome_models: UpliftModel | None = None) -> UpliftModel:
    """An :class:`~dbmlib.campaign.meta_learners.UpliftModel` fitted on the demo-style campaign
    training set (``contacted`` the treatment, the :data:`FEATURES` the inputs);
    ``outcome_models``: see :meth:`~dbmlib.campaign.meta_learners.UpliftModel.fit`."""
    model = UpliftModel(method, learner, control_label=0, categorical=CATEGORICAL + ["campaign_channel"],
                        random_state=seed, max_rows=max_rows)
    return model.fit(X[FEATURES], X["contacted"].astype(int), y, outcome_models=outcome_models)


def evaluate_models(X: pd.DataFrame, treatment, y, *, kind: str = "gbm", extra_categorical=(),
                    test_share: float = 0.5, seed: int = 0, max_rows: int | None = None,
                    progress: bool = False, fitted: dict | None = None) -> tuple[pd.DataFrame, dict, dict]:
    """Fit every uplift model of :data:`UPLIFT_MODELS` and a plain response model on a seeded
    split by customer and judge their rankings on the held-out customers.

    The split is by customer id (all of a customer's campaign rows on one side), so nothing
    about a held-out customer is learnt. Returns ``(table, curves, scores)``: the Qini
    coefficient (unnormalised and normalised), AUUC and uplift at 30 % per model (``response
    model`` = P(response | contacted), the usual but wrong ranking for incremental effect), the
    Qini curves, and the held-out scores with ``treatment``/``y`` for further checks.
    ``max_rows`` caps the training rows of each base learner (a seeded sample); every
    held-out row is scored. ``progress`` shows a bar over the fits. ``fitted``, a dict, receives
    the uplift models fitted on the training customers, by name.
    """
    from ..core.progress import StepBar

    t = np.asarray(treatment).astype(int)
    y = np.asarray(y).astype(int)
    ids = pd.Index(X.index.unique()).sort_values()
    rng = np.random.default_rng(seed)
    test_ids = rng.choice(ids.to_numpy(), int(round(len(ids) * test_share)), replace=False)
    test = isin(X.index.to_series(), test_ids)
    train = X[~test].assign(contacted=t[~test])
    scores = {}
    held = X[test]  # the held-out rows every model scores
    with StepBar("uplift models", [*UPLIFT_MODELS, "response model"], progress) as bar:
        first_stage = None  # the two-model learner's outcome models are the X-learner's first stage
        for name, method in UPLIFT_MODELS.items():
            bar.step(name)
            model = campaign_uplift_model(train, y[~test], method=method, learner=kind, seed=seed, max_rows=max_rows,
                                          outcome_models=first_stage if method == "x" else None)
            first_stage = model if method == "t" else first_stage
            scores[name] = model.predict_uplift(held)
            if fitted is not None:
                fitted[name] = model
        bar.step("response model")
        treated = ~test & (t == 1)
        response = PropensityModel(kind, extra_categorical, seed, max_rows).fit(X[treated], y[treated])
        scores["response model"] = response.predict_proba(held)[:, 1]
        bar.close()
    yt, tt = y[test], t[test]
    table = pd.DataFrame({name: {"qini_coefficient": qini_coefficient(yt, tt, s),
                                 "qini_normalized": qini_coefficient(yt, tt, s, normalize=True),
                                 "auuc": auuc(yt, tt, s), "uplift_at_30": uplift_at_k(yt, tt, s, 0.3)}
                          for name, s in scores.items()}).T
    curves = {name: qini_curve(yt, tt, s) for name, s in scores.items()}
    held_out = pd.DataFrame(scores, index=X.index[test]).assign(treatment=tt, y=yt)
    if "campaign_id" in X.columns:
        held_out["campaign_id"] = X.loc[test, "campaign_id"].to_numpy()
    return table, curves, held_out


#: The uplift models :func:`compare_uplift_models` judges: the names its table uses → the
#: :class:`~dbmlib.campaign.meta_learners.UpliftModel` method.
UPLIFT_MODELS = {"two-model": "t", "X-learner": "x", "class transformation": "class_transformation"}


@dataclass
class UpliftComparison:
    """What :func:`compare_uplift_models` found: the training data, the held-out judgement of
    each model (Qini, AUUC, curves, scores), the best uplift model by Qini, the uplift models as
    judged (``fitted``, by name: fitted on the training customers) and ``smallest_group``, the
    fewer of the treated and control rows those customers hold."""

    X: pd.DataFrame
    y: pd.Series
    table: pd.DataFrame
    curves: dict
    held_out: pd.DataFrame
    best: str
    fitted: dict = field(default_factory=dict)
    smallest_group: int = 0

    def metrics(self) -> dict:
        """``uplift.qini_coefficient.<model>`` for every model and ``uplift.chosen``."""
        out = {f"uplift.qini_coefficient.{name}": float(q) for name, q in self.table["qini_coefficient"].items()}
        return out | {"uplift.chosen": self.best}

    def by_decile(self) -> pd.DataFrame:
        """Held-out uplift by decile of the best model's score."""
        h = self.held_out
        return uplift_by_decile(h["y"], h["treatment"], h[self.best])

    def fit_best(self, *, seed: int, max_rows: int | None = None) -> UpliftModel:
        """The best uplift model refitted on every training row (gradient boosting) — unless
        the evaluated one already learnt from a seeded sample of ``max_rows`` rows for each of
        its base learners (``smallest_group``, the fewer of the evaluation's treated and control
        training rows, exceeds ``max_rows``): a refit would learn from another sample of the same
        size, so that model is returned as it is."""
        model = self.fitted.get(self.best)
        if (model is not None and max_rows is not None and self.smallest_group > max_rows
                and (model.random_state, model.max_rows, model.learner) == (seed, max_rows, "gbm")):
            return model
        return campaign_uplift_model(self.X, self.y, method=UPLIFT_MODELS[self.best], seed=seed, max_rows=max_rows)


def compare_uplift_models(customers: pd.DataFrame, transactions, campaigns: pd.DataFrame,
                          contacts: pd.DataFrame, *, seed: int = 0, max_rows: int | None = None,
                          progress: bool = False) -> UpliftComparison:
    """Past campaigns' treated and control customers (features as of each start) → every
    uplift model and the response model judged on held-out customers
    (:func:`evaluate_models`); the best uplift model is the one with the highest Qini.
    ``transactions``: the orders, or their :class:`~dbmlib.models.training_sets.OrderCodes`."""
    X, y = campaign_training_set(customers, transactions, campaigns, contacts, include_control=True)
    fitted = {}
    table, curves, held_out = evaluate_models(X, X["contacted"], y, extra_categorical=["campaign_channel"],
                                              seed=seed, max_rows=max_rows, progress=progress, fitted=fitted)
    best = table.drop(index="response model")["qini_coefficient"].idxmax()
    contacted = X["contacted"].astype(bool).to_numpy()
    held = held_out["treatment"].to_numpy() == 1
    smallest = int(min(contacted.sum() - held.sum(), (~contacted).sum() - (~held).sum()))  # in the training half
    return UpliftComparison(X, y, table, curves, held_out, best, fitted, smallest)
