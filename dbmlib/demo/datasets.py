"""Bundled data: the real CDNOW log and the seeded synthetic ``retail-demo`` company.

* :func:`load_cdnow` reads the CDNOW transaction log that ships inside the installed
  ``lifetimes`` package (no download): 69,659 orders by 23,570 customers who made their
  first purchase in the first quarter of 1997, observed to 1998-06-30; the 1/10 sample
  used by Fader, Hardie & Lee (2005) has 6,919 orders by 2,357 customers.
* :func:`make_retail_demo` writes a synthetic retail company as raw exports look in real
  life, with its ground truth in ``_truth/`` (see :mod:`dbmlib.demo.retail_demo`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from ..core import config

__all__ = ["cdnow_path", "load_cdnow", "retail_demo_dir"]


def cdnow_path(sample: bool = False) -> Path:
    """Path of the CDNOW text file inside the installed ``lifetimes`` package."""
    name = "CDNOW_sample.txt" if sample else "CDNOW_master.txt"
    path = Path(str(resources.files("lifetimes").joinpath("datasets", name)))
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: the CDNOW log is missing from the installed lifetimes package; "
            "reinstall it with `pip install --force-reinstall lifetimes`"
        )
    return path


def load_cdnow(sample: bool = False) -> pd.DataFrame:
    """Load the real CDNOW transaction log.

    Parameters
    ----------
    sample : bool, default False
        ``False``: the full log (69,659 rows, 23,570 customers);
        ``True``: the 1/10 sample of Fader, Hardie & Lee (6,919 rows, 2,357 customers).

    Returns
    -------
    DataFrame with columns ``customer_id`` (str, the master-file id, zero-padded),
    ``order_date`` (datetime64), ``quantity`` (int, number of CDs), ``amount`` (float,
    dollars), sorted by customer and date as in the source file.
    """
    path = cdnow_path(sample)
    if sample:
        names = ["customer_id", "sample_id", "order_date", "quantity", "amount"]
        header = None
    else:
        names = ["customer_id", "order_date", "quantity", "amount"]
        header = 0
    df = pd.read_csv(
        path,
        sep=r"\s+",
        header=header,
        names=names,
        dtype={"customer_id": str, "sample_id": str, "order_date": str},
        engine="python" if sample else "c",
    )
    df["order_date"] = pd.to_datetime(df["order_date"], format="%Y%m%d")
    df["quantity"] = df["quantity"].astype("int64")
    df["amount"] = df["amount"].astype("float64")
    return df[["customer_id", "order_date", "quantity", "amount"]].reset_index(drop=True)


def retail_demo_dir(seed: int = 0, n_customers: int = 20_000, purchase_rate: float = 1.0) -> Path:
    """Where the generated retail-demo exports live for these parameters."""
    name = "retail-demo" if (seed, n_customers) == (0, 20_000) else f"retail-demo-n{n_customers}-seed{seed}"
    if purchase_rate != 1.0:
        name += f"-rate{purchase_rate:g}"
    return config.RAW_DIR / name
