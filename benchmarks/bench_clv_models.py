"""Our own CLV fits and predictions against lifetimes at a million customers, same data, same run.

    python benchmarks/bench_clv_models.py                 # 1M customers
    python benchmarks/bench_clv_models.py --quick         # 100k customers
    python benchmarks/bench_clv_models.py --write         # also write benchmarks/RESULTS.md

Steps (each output checked against lifetimes before a ratio is printed):

* MBG/NBD fit: ``btyd_fit.fit_mbgnbd`` on the distinct (frequency, recency, T) rows with counts
  against ``ModifiedBetaGeoFitter.fit`` on the same compressed rows (lifetimes with weights: its
  fastest use);
* Pareto/NBD and MBG/NBD predictions for every customer: P(alive) and expected purchases in the
  next 52 units (``PurchaseModel.p_alive`` / ``expected_purchases``) against lifetimes'
  ``conditional_probability_alive`` / ``conditional_expected_number_of_purchases_up_to_time``
  at the same parameters;
* the covariate BG/NBD (no peer: lifetimes has no covariates) on the same customers with two
  random attributes, for its time and memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_btyd import ROWS, daily_summary, report, results_table
from common import measure, write_section

from dbmlib.models.btyd_fit import compress, fit_mbgnbd
from dbmlib.models.clv import PurchaseModel
from dbmlib.models.covariates import CovariatePurchaseModel

warnings.simplefilter("ignore")  # lifetimes' RuntimeWarnings: a benchmark, not a test


def bench_mbgnbd_fit(summary: pd.DataFrame, repeat: int) -> np.ndarray:
    from lifetimes import ModifiedBetaGeoFitter

    f, r, T, w, _ = compress(*(summary[c].to_numpy(float) for c in ("frequency", "recency", "T")))
    t1, m1, (p1, _) = measure(lambda: fit_mbgnbd(f, r, T, w), repeat)
    t2, m2, p2 = measure(lambda: ModifiedBetaGeoFitter().fit(f, r, T, weights=w).params_.to_numpy(), repeat)
    rel = float(np.max(np.abs(p1 - p2) / np.abs(p2)))
    assert rel < 1e-4, (p1, p2)
    report("MBG/NBD fit (compressed rows)", f"{len(summary):,} customers", t1, m1, t2, m2,
           f"params rel diff {rel:.1e}", "not slower")
    return p1


def bench_predictions(summary: pd.DataFrame, kind: str, repeat: int) -> None:
    from lifetimes import ModifiedBetaGeoFitter, ParetoNBDFitter

    model = PurchaseModel(kind).fit(summary.sample(min(len(summary), 10_000), random_state=0))
    if kind == "pnbd":  # on these BG/NBD customers s runs to its cap, where lifetimes' hyp2f1 gives NaN:
        # use the published CDNOW estimates in days instead (both sides are then finite)
        model.params_ = pd.Series({"r": 0.55, "alpha": 10.58 * 7, "s": 0.61, "beta": 11.67 * 7})
    peer = {"pnbd": ParetoNBDFitter, "mbgnbd": ModifiedBetaGeoFitter}[kind]()
    peer.params_ = model.params_.copy()
    f, r, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))

    def ours():
        return model.p_alive(summary).to_numpy(), model.expected_purchases(52, summary).to_numpy()

    def theirs():
        return (np.asarray(peer.conditional_probability_alive(f, r, T), float),
                np.asarray(peer.conditional_expected_number_of_purchases_up_to_time(52, f, r, T), float))

    t1, m1, (a1, e1) = measure(ours, repeat)
    t2, m2, (a2, e2) = measure(theirs, repeat)
    diff = max(float(np.max(np.abs(a1 - a2))), float(np.max(np.abs(e1 - e2))))
    assert diff < 1e-8, diff
    name = {"pnbd": "Pareto/NBD", "mbgnbd": "MBG/NBD"}[kind]
    report(f"{name} P(alive) + E[purchases]", f"{len(summary):,} customers", t1, m1, t2, m2,
           f"max abs diff {diff:.1e}", "equal to 1e-8, not slower")


def bench_covariates(summary: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    covariates = pd.DataFrame({"channel": rng.choice(["web", "store", "phone"], len(summary)),
                               "region": rng.choice(["north", "south", "east", "west"], len(summary))},
                              index=summary.index)
    for kind, name in (("bgnbd", "BG/NBD"), ("pnbd", "Pareto/NBD")):
        t, m, model = measure(lambda: CovariatePurchaseModel(kind).fit(summary, covariates), 1)
        ok = bool(model.rate_effects()["low"].lt(1).all() and model.rate_effects()["high"].gt(1).all())
        report(f"covariate {name} fit (2 attributes)", f"{len(summary):,} customers", t, m, float("nan"),
               float("nan"), f"no planted effect: every rate interval holds 1: {ok}",
               "no peer (lifetimes has no covariates)")


def write_results() -> None:
    import lifetimes
    import scipy

    lines = [
        f"Run on {dt.date.today()} — {platform.platform()}, Python {platform.python_version()}; pandas "
        f"{pd.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, lifetimes {lifetimes.__version__}. "
        "Median of the repeats; peak = Python allocations (tracemalloc). Customers: the daily BG/NBD summary of "
        "`bench_btyd.py`. Predictions use parameters fitted on 10,000 of them (Pareto/NBD: the published CDNOW estimates in days, as the fit on these BG/NBD customers runs s to its cap, where lifetimes gives NaN).",
        "", *results_table(ROWS),
    ]
    write_section("CLV models: our own fits and predictions against lifetimes", lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", action="store_true")
    args, _ = ap.parse_known_args(argv)
    summary = daily_summary(100_000 if args.quick else 1_000_000)[["frequency", "recency", "T"]]
    bench_mbgnbd_fit(summary, args.repeat)
    for kind in ("pnbd", "mbgnbd"):
        bench_predictions(summary, kind, args.repeat)
    bench_covariates(summary)
    if args.write:
        write_results()


if __name__ == "__main__":
    main()
