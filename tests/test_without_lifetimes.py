"""The modelling code runs with ``lifetimes`` unimportable (only the dataset helpers and
``to_lifetimes`` need it) and gives exactly the numbers it gives with lifetimes installed."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from dbmlib.models import (
    CovariatePurchaseModel,
    PurchaseModel,
    RetentionModel,
    SpendModel,
    bootstrap_clv,
    customer_lifetime_value,
    frequency_check,
)
from dbmlib.models.retention import PUBLISHED_SBG
from tests.test_clv import _cal

# Runs in a child process where ``import lifetimes`` raises ImportError before dbmlib loads.
_CHILD = textwrap.dedent("""
    import json, sys
    sys.modules["lifetimes"] = None  # any import of lifetimes now raises ImportError
    import numpy as np, pandas as pd
    from dbmlib.models import (CovariatePurchaseModel, PurchaseModel, RetentionModel, SpendModel,
                               bootstrap_clv, customer_lifetime_value, frequency_check)
    from dbmlib.models.persistence import load_model_json, save_model_json
    from dbmlib.models.retention import PUBLISHED_SBG
    from dbmlib.segment.rfm import rfm_summary
    weekly = pd.read_csv(sys.argv[1], index_col=0)
    out = {}
    for kind in ("bgnbd", "pnbd", "mbgnbd"):
        m = PurchaseModel(kind).fit(weekly)
        out[kind] = [*m.params_, float(m.expected_purchases(39, weekly).sum()), float(m.p_alive(weekly).sum())]
    bg, gg = PurchaseModel("bgnbd").fit(weekly), SpendModel().fit(weekly)
    out["clv"] = float(customer_lifetime_value(bg, gg, weekly, 12, 0.1, days_per_time_unit=7).sum())
    back = load_model_json(save_model_json(bg, sys.argv[2], time_unit="weeks", data=weekly))
    out["saved"] = float(back.expected_purchases(39, weekly).sum())
    region = pd.Series(np.where(np.arange(len(weekly)) % 3 == 0, "north", "south"), index=weekly.index)
    out["covariates"] = list(CovariatePurchaseModel().fit(weekly, region.to_frame("region")).params_)
    out["boot"] = float(bootstrap_clv(weekly, n_boot=3, seed=1, days_per_time_unit=7)[1].select_dtypes("number").to_numpy().sum())
    out["check"] = float(frequency_check(bg, weekly, n_sims=3, seed=2).attrs["chi2"])
    out["sbg"] = list(RetentionModel().fit(PUBLISHED_SBG["regular"]["survivors"][:8]).params_)
    tx = pd.DataFrame({"c": [1, 1, 2], "d": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-02"]),
                       "v": [1.0, 3.0, 2.0]})
    out["rfm"] = rfm_summary(tx, "c", "d", "v", observation_period_end="2024-01-10").to_numpy().tolist()
    out["lifetimes_loaded"] = sys.modules["lifetimes"] is not None
    print(json.dumps(out))
""")


def test_modelling_runs_without_lifetimes_and_gives_the_same_numbers(tmp_path):
    weekly = _cal(7)
    weekly.to_csv(tmp_path / "weekly.csv")
    weekly = pd.read_csv(tmp_path / "weekly.csv", index_col=0)  # the child's exact input
    run = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "weekly.csv"), str(tmp_path / "m.json")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    child = json.loads(run.stdout.strip().splitlines()[-1])
    assert child.pop("lifetimes_loaded") is False
    for kind in ("bgnbd", "pnbd", "mbgnbd"):
        m = PurchaseModel(kind).fit(weekly)
        assert child[kind] == [*m.params_, float(m.expected_purchases(39, weekly).sum()), float(m.p_alive(weekly).sum())]
    bg, gg = PurchaseModel("bgnbd").fit(weekly), SpendModel().fit(weekly)
    assert child["clv"] == float(customer_lifetime_value(bg, gg, weekly, 12, 0.1, days_per_time_unit=7).sum())
    assert child["saved"] == float(bg.expected_purchases(39, weekly).sum())
    region = pd.Series(np.where(np.arange(len(weekly)) % 3 == 0, "north", "south"), index=weekly.index)
    assert child["covariates"] == list(CovariatePurchaseModel().fit(weekly, region.to_frame("region")).params_)
    assert child["boot"] == float(bootstrap_clv(weekly, n_boot=3, seed=1, days_per_time_unit=7)[1].select_dtypes("number").to_numpy().sum())
    assert child["check"] == float(frequency_check(bg, weekly, n_sims=3, seed=2).attrs["chi2"])
    assert child["sbg"] == list(RetentionModel().fit(PUBLISHED_SBG["regular"]["survivors"][:8]).params_)
    # the tiny log: customer 1 bought on day 0 and day 8 of a 9-day window
    assert child["rfm"] == [[1.0, 8.0, 9.0, 3.0], [0.0, 0.0, 8.0, 0.0]]
