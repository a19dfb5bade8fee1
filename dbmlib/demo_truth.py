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

from .btyd_validation import bootstrap_params
from .clv import PurchaseModel
from .errors import InputError
from .rfm import rfm_summary
from .scoring import truth_comparison

__all__ = ["read_truth", "natural_purchases", "truth_recovery"]

VARIANTS = {
    "all orders, days": dict(natural=False, time_unit="D"),
    "natural purchases, days": dict(natural=True, time_unit="D"),
    "natural purchases, hours": dict(natural=True, time_unit="h"),
}


def read_truth(source_dir) -> tuple[dict, pd.DataFrame]:
    """The generator's parameters and per-customer campaign truth of a retail-demo folder."""
    truth_dir = Path(source_dir) / "_truth"
    params_file, camp_file = truth_dir / "params.json", truth_dir / "campaign_truth.csv"
    for f in (params_file, camp_file):
        if not f.exists():
            raise InputError(str(f), problem="file missing",
                             expected="a folder written by make_retail_demo (with _truth/)")
    return json.loads(params_file.read_text()), pd.read_csv(camp_file)


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
                   variants: list[str] | None = None) -> pd.DataFrame:
    """BG/NBD fitted on each variant of the data vs the truth, with bootstrap intervals.

    Returns one row per (variant, parameter): ``truth, fitted, boot_lo, boot_hi,
    truth_inside`` plus ``orders_removed`` (campaign-caused orders dropped by the variant).
    ``variants`` picks some of :data:`VARIANTS` (default: all); ``n_boot=0`` fits only.
    """
    unknown = set(variants or []) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}")
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
        boot = (bootstrap_params(summary, kind="bgnbd", n_boot=n_boot, seed=seed) if n_boot
                else pd.DataFrame([model.params_] * 2))
        table = truth_comparison(model, boot, truth, days_per_time_unit, level=level)
        table.insert(0, "variant", name)
        table["orders_removed"] = removed if v["natural"] else 0
        rows.append(table.reset_index())
    return pd.concat(rows, ignore_index=True)
