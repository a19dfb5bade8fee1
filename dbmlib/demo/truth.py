"""Compare fitted purchase models with the retail-demo generator's truth.

The generator draws purchases from a BG/NBD process (``_truth/params.json``) and then lets
its past campaigns change them: persuadable customers get an extra purchase in the
response window (listed in ``_truth/campaign_truth.csv``). A BG/NBD fitted on all orders
therefore does not estimate the generator's parameters exactly, for two reasons this
module makes visible one at a time:

1. **campaign responses** — the extra purchases are not part of the BG/NBD process;
   :func:`natural_purchases` removes them (only the generator knows which they are);
2. **day resolution** — the process runs in continuous time, while a daily summary counts
   days with a purchase, merging a customer's repeat orders on one day; an hourly summary
   keeps them apart.

:func:`truth_recovery` fits the model on each variant and bootstraps its intervals.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.fast_text import arrow_text, factorize, isin
from ..models.btyd_validation import bootstrap_params
from ..models.clv import PurchaseModel
from ..models.scoring import truth_comparison
from ..segment.rfm import rfm_summary

__all__ = [
    "generated_ids",
    "natural_purchases",
    "planted_rate_effects",
    "rate_effects_with_truth",
    "read_truth",
    "simulate_responses",
    "true_campaign_effects",
    "true_uplift_of",
    "truth_recovery",
]

VARIANTS = {
    "all orders, days": dict(natural=False, time_unit="D"),
    "natural purchases, days": dict(natural=True, time_unit="D"),
    "natural purchases, hours": dict(natural=True, time_unit="h"),
}


def read_truth(source_dir, feedback_folder=None) -> tuple[dict, pd.DataFrame]:
    """The generator's parameters and per-customer campaign truth of a retail-demo folder,
    with the truth of the loop's simulated rounds in ``feedback_folder`` (if given)."""
    truth_dir = Path(source_dir) / "_truth"
    params_file, camp_file = truth_dir / "params.json", truth_dir / "campaign_truth.csv"
    for f in (params_file, camp_file):
        if not f.exists():
            raise InputError(str(f), problem="file missing",
                             expected="a folder written by make_retail_demo (with _truth/)")
    rounds = sorted(Path(feedback_folder).glob("*/_campaign_truth.csv")) if feedback_folder else []
    truth = pd.concat([pd.read_csv(camp_file), *(pd.read_csv(f) for f in rounds)], ignore_index=True)
    return json.loads(params_file.read_text()), truth


def planted_rate_effects(source_dir, levels: dict) -> pd.Series | None:
    """The purchase-rate multipliers planted by ``make_retail_demo(covariate_effects=True)``,
    against the reference levels a covariate model chose (``levels``: its ``levels_``), indexed
    like :meth:`~dbmlib.models.CovariatePurchaseModel.rate_effects` (``column=level``); None
    for a folder without planted effects (real data, or a company generated without them)."""
    params_file = Path(source_dir) / "_truth" / "params.json"
    if not params_file.exists():
        return None
    planted = json.loads(params_file.read_text()).get("rate_effects")
    if not planted:
        return None
    out = {}
    for col, gamma in planted.items():
        if col in levels and levels[col]["reference"] in gamma:
            ref = gamma[levels[col]["reference"]]
            out |= {f"{col}={lvl}": float(np.exp(gamma[lvl] - ref)) for lvl in levels[col]["others"] if lvl in gamma}
    return pd.Series(out, name="planted_multiplier", dtype=float)


def rate_effects_with_truth(model, source_dir) -> pd.DataFrame:
    """A covariate model's purchase-rate effects (``rate_effects()``), with the ``planted``
    multiplier and whether the interval holds it (``planted_inside``) when ``source_dir`` was
    generated with planted effects; the effects alone otherwise."""
    effects = model.rate_effects()
    planted = planted_rate_effects(source_dir, model.levels_) if source_dir is not None else None
    if planted is None or planted.empty:
        return effects
    effects["planted"] = planted.reindex(effects.index)
    inside = ((effects["low"] <= effects["planted"]) & (effects["planted"] <= effects["high"])).astype("boolean")
    effects["planted_inside"] = inside.mask(effects["planted"].isna())  # a pooled or unplanted level: NA
    return effects


def natural_purchases(transactions: pd.DataFrame, campaigns: pd.DataFrame,
                      campaign_truth: pd.DataFrame, *, customer_id_col: str = "customer_id",
                      datetime_col: str = "order_ts") -> tuple[pd.DataFrame, int]:
    """Transactions without the purchases the campaigns caused.

    A persuaded customer made no purchase of their own in the campaign's response window
    (that is what *persuaded* means in the generator), so every order they placed in it
    is the campaign's. Returns ``(transactions kept, number of orders removed)``.
    """
    need = {"campaign_id", "customer_id", "persuaded"} - set(campaign_truth.columns)
    if need:
        raise InputError("campaign_truth.csv", column=sorted(need)[0], problem="column missing",
                         expected="campaign_id, customer_id, persuaded")
    windows = campaign_truth.loc[campaign_truth["persuaded"].astype(bool),
                                 ["campaign_id", "customer_id"]].merge(
        campaigns[["campaign_id", "start_date", "response_window_days"]], on="campaign_id")
    start = pd.to_datetime(windows["start_date"])
    windows = pd.DataFrame({customer_id_col: windows["customer_id"].to_numpy(),
                            "_start": start.to_numpy(),
                            "_stop": (start + pd.to_timedelta(windows["response_window_days"],
                                                              unit="D")).to_numpy()})
    tx = transactions.reset_index(drop=True)
    m = tx[[customer_id_col, datetime_col]].reset_index().merge(windows, on=customer_id_col)
    ts = pd.to_datetime(m[datetime_col])
    caused = m.loc[(ts >= m["_start"]) & (ts < m["_stop"]), "index"].unique()
    keep = np.ones(len(tx), bool)
    keep[caused] = False
    return tx.loc[keep], int(caused.size)


def truth_recovery(transactions: pd.DataFrame, campaigns: pd.DataFrame, truth: dict,
                   campaign_truth: pd.DataFrame, observation_end, *, days_per_time_unit: float = 7,
                   n_boot: int = 40, seed: int = 0, level: float = 0.95,
                   customer_id_col: str = "customer_id", datetime_col: str = "order_ts",
                   variants: list[str] | None = None, max_customers: int | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """BG/NBD fitted on each variant of the data vs the truth, with bootstrap intervals
    (``progress``: a tqdm bar per variant's bootstrap).

    The truth is a population's parameters, so a seeded random sample of ``max_customers``
    customers (all their orders) answers the question as well as a million of them, with
    intervals as wide as that sample warrants; None uses every customer.

    Returns one row per (variant, parameter): ``truth, fitted, boot_lo, boot_hi,
    truth_inside`` plus ``orders_removed`` (campaign-caused orders dropped by the variant).
    ``variants`` picks some of :data:`VARIANTS` (default: all); ``n_boot=0`` fits only.
    """
    unknown = set(variants or []) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}")
    if max_customers is not None:
        transactions = _customer_sample(transactions, customer_id_col, max_customers, seed)
    natural, removed = natural_purchases(transactions, campaigns, campaign_truth,
                                         customer_id_col=customer_id_col, datetime_col=datetime_col)
    end = pd.Timestamp(observation_end).normalize()
    per_day = {"D": 1, "h": 24}
    rows = []
    for name, v in VARIANTS.items():
        if variants is not None and name not in variants:
            continue
        data = natural if v["natural"] else transactions
        unit = v["time_unit"]
        # an hourly summary ends at the last hour of the observation day
        stop = end + pd.Timedelta(hours=23) if unit == "h" else end
        summary = rfm_summary(data, customer_id_col, datetime_col, None, stop, time_unit=unit,
                              freq_multiplier=days_per_time_unit * per_day[unit])
        model = PurchaseModel("bgnbd").fit(summary)
        boot = (bootstrap_params(summary, kind="bgnbd", n_boot=n_boot, seed=seed, progress=progress,
                                 estimate=model) if n_boot
                else pd.DataFrame([model.params_] * 2))
        table = truth_comparison(model, boot, truth, days_per_time_unit, level=level)
        table.insert(0, "variant", name)
        table["orders_removed"] = removed if v["natural"] else 0
        rows.append(table.reset_index())
    return pd.concat(rows, ignore_index=True)


def _customer_sample(transactions: pd.DataFrame, customer_id_col: str, max_customers: int, seed: int) -> pd.DataFrame:
    """The orders of a seeded sample of ``max_customers`` customers, drawn from the ids in the
    order of their text (all the orders when there are no more customers than that). The sorted ids
    are the codes :func:`~dbmlib.core.fast_text.factorize` remembers for the stage's orders."""
    column = transactions[customer_id_col]
    codes, uniques = factorize(column) if arrow_text(column) is not None else (None, None)
    if codes is not None and not (codes < 0).any():  # text ids, none missing: sorted already
        ids = np.asarray(uniques, str)
    else:  # the ids themselves (an integer id is not its text), in the order of their text; no missing id
        ids = np.asarray(pd.unique(column.dropna()), dtype=object)
        ids = ids[np.argsort(ids.astype(str), kind="stable")]
    if len(ids) <= max_customers:
        return transactions
    keep = np.random.default_rng(seed).choice(ids, max_customers, replace=False)
    return transactions[isin(transactions[customer_id_col], keep)]


def generated_ids(ids: pd.Index, truth: pd.DataFrame, id_map: pd.DataFrame | None = None) -> np.ndarray:
    """The generated person behind each clean customer id: the id itself, or — for a merged
    record whose surviving id is a duplicate's — a merged source id the generator knows."""
    key = pd.Series(ids, index=ids)
    if id_map is not None and len(id_map):
        alt = id_map[isin(id_map["source_id"], truth.index)].drop_duplicates("customer_id")
        alt = alt.set_index("customer_id")["source_id"]
        missing = ~isin(key, truth.index)
        key[missing] = alt.reindex(key[missing].index).to_numpy()
    return key.to_numpy()


def simulate_responses(source_dir, groups: pd.DataFrame, customers: pd.DataFrame, *, channel: str,
                       start, window_days: int, seed: int, id_map: pd.DataFrame | None = None
                       ) -> pd.DataFrame:
    """What the retail-demo company's customers do when a new campaign reaches them.

    Stands in for the response file a real channel sends back. Uses the generator's truth
    for each customer (purchase rate, alive at the end of the export, spend rate, age) and
    its hidden contact rules (:func:`dbmlib.demo.retail_demo.response_rules`): a customer alive
    buys in the window with probability ``1 − exp(−λ·window)``; a contacted one who would
    not have is persuaded with probability ``tau``, one who would have is put off with
    probability ``kappa``.

    Parameters
    ----------
    groups : indexed by (clean) customer id, with ``contacted``.
    customers : clean customers (for ``income_band``).
    id_map : clean ``customer_id_map`` (source id → customer id), to find the truth of
        customers whose surviving record is a merged duplicate.

    Returns
    -------
    DataFrame indexed like ``groups``: ``responded``, ``response_ts``, ``response_revenue``,
    ``true_uplift`` (the response probability the contact adds, for checking uplift models).
    """
    from .retail_demo import RetailDemoConfig, response_rules

    truth = pd.read_csv(Path(source_dir) / "_truth" / "customers.csv").set_index("customer_id")
    ids = pd.Index(groups.index)
    key = pd.Series(generated_ids(ids, truth, id_map), index=ids)
    known = isin(key, truth.index)
    t = truth.reindex(key.to_numpy())
    rng = np.random.default_rng(seed)
    n = len(ids)
    lam = t["lam_per_day"].fillna(0.0).to_numpy()
    alive = t["alive_at_end"].fillna(False).astype(bool).to_numpy() & known
    income = customers["income_band"].reindex(ids).astype(object).to_numpy()
    cut = float(np.quantile(truth["lam_per_day"].to_numpy(), 0.9))  # as in the generator
    tau, kappa, _ = response_rules(channel, t["age"].fillna(40).to_numpy(), income, lam, sure_cut=cut)
    p0 = alive * (1 - np.exp(-lam * window_days))
    natural = rng.random(n) < p0
    contacted = groups["contacted"].astype(bool).to_numpy()
    u1, u2 = rng.random(n), rng.random(n)
    put_off = contacted & natural & (u1 < kappa)
    persuaded = contacted & ~natural & alive & (u2 < tau)
    responded = (natural & ~put_off) | persuaded
    cfg = RetailDemoConfig()
    nu = t["nu_spend_rate"].fillna(1.0).to_numpy()
    revenue = np.where(responded, np.round(np.maximum(rng.gamma(cfg.p_spend, 1.0 / nu), 1.0), 2), 0.0)
    offset = pd.to_timedelta(rng.integers(0, window_days * 24 * 60, n), unit="min")
    ts = (pd.Timestamp(start) + offset).where(responded)
    return pd.DataFrame({"responded": responded, "response_ts": ts, "response_revenue": revenue,
                         "true_uplift": tau * alive * (1 - p0) - kappa * p0}, index=ids)


def true_campaign_effects(campaign_truth: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Per past campaign: incremental responders the generator actually caused among the
    treated (persuaded − put off) and their expectation (sum of true uplift over the treated).

    ``contacts`` is the clean contact history; customers are matched on id (a merged
    duplicate whose surviving id is not the generated one is not matched and not counted).
    """
    treated = contacts.loc[contacts["contacted"].astype(bool), ["campaign_id", "customer_id"]]
    t = campaign_truth.merge(treated, on=["campaign_id", "customer_id"])
    g = t.groupby("campaign_id")
    return pd.DataFrame({
        "treated_matched": g.size(),
        "persuaded": g["persuaded"].sum(),
        "put_off": g["put_off"].sum(),
        "true_incremental_responders": g["persuaded"].sum() - g["put_off"].sum(),
        "expected_incremental_responders": g["true_uplift"].sum(),
    })


def true_uplift_of(campaign_truth: pd.DataFrame, campaign_ids, customer_ids) -> np.ndarray:
    """The generator's true uplift of each (campaign, customer) pair asked for (NaN where the
    generator has none, e.g. a merged duplicate's surviving id), in the order asked."""
    asked = pd.DataFrame({"campaign_id": np.asarray(campaign_ids), "customer_id": np.asarray(customer_ids)})
    truth = campaign_truth[["campaign_id", "customer_id", "true_uplift"]].drop_duplicates(
        ["campaign_id", "customer_id"])
    return asked.merge(truth, on=["campaign_id", "customer_id"], how="left")["true_uplift"].to_numpy(float)
