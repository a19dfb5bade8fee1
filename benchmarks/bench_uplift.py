"""Uplift learners: ``UpliftModel`` (T- and X-learner) against causalml's meta-learners, same data.

causalml is an optional peer, never a dependency of the workbench: install it into a separate
environment and run the benchmark from there (without causalml the script says so and exits 0)::

    python3.11 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install -e . causalml
    /tmp/bench-venv/bin/python benchmarks/bench_uplift.py                       # 50,000 customers
    /tmp/bench-venv/bin/python benchmarks/bench_uplift.py --sizes 50000 200000 --write

Data: ``demo.experiments.simulate_experiment(n, arms=("A", "B"), outcome=...)`` — a randomised
experiment (25 % control, two offers) with known per-customer effects; the learners train on
the draw of ``--seed`` and are scored on a held-out draw of the same size (``--seed + 1``).
For each outcome (binary response, continuous amount) and learner (T, X), each in its own
subprocess:

* ours: ``campaign.meta_learners.UpliftModel(method=..., learner="gbm", random_state=0)`` on
  the features as they are (numeric x1..x4, categorical region and channel, native categories);
* peer, same learner: causalml ``BaseTClassifier``/``BaseXClassifier`` (binary) or
  ``BaseTRegressor``/``BaseXRegressor`` (amount), multi-treatment with ``control_name=0``,
  on the base learner ours uses (``HistGradientBoostingClassifier``/``Regressor``,
  max_iter=100, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0,
  early_stopping=False, random_state=0; the X-learner's effect models are the regressor);
  causalml needs numeric features, so region and channel are one-hot encoded for it (the
  encoding is inside its timed fit and predict, as ours' encoding is inside ours), and its
  treatment vector cannot mix the integer control 0 with text labels (``np.unique`` fails in
  ``check_treatment_vector``), so it gets 0 / 1 / 2 for control / A / B;
* peer, default learner: the Base classes have no default learner; causalml's ready-made
  classes use XGBoost with its defaults (``XGBTClassifier`` / ``XGBTRegressor`` for the
  T-learner), and the X-learner gets the same ``XGBClassifier()`` / ``XGBRegressor()``.

The X-learners (both sides) weight their two effect models by the arm's share of the
randomisation (its share among the arm's and the control's training rows): ours computes it,
causalml is given it as ``p`` (with ``p=None`` it would fit an elastic-net propensity model).

Metrics per arm on the held-out draw, on that arm's and the control's rows: normalised Qini
(``campaign.uplift.qini_coefficient(..., normalize=True)``), uplift among the top 30 %
(``uplift_at_k``), with the Qini difference's standard error from a paired bootstrap of the
held-out rows; and, on every held-out customer, the Spearman correlation of the predicted with
the true effect. Time: wall and CPU (``time.process_time``, all threads of the subprocess) of
the fit, the median of ``--repeat`` fits in the same subprocess (the 1-minute load average is
recorded around them). Both sides' learners (scikit-learn's and XGBoost's OpenMP, BLAS) run on
``--threads`` threads, 1 by default: on a machine shared with other work, OpenMP threads that
wait for a descheduled sibling make multi-threaded fit times swing by 10× or more from one
fit to the next, while a single thread's CPU time measures the work done; ``--threads 0``
leaves the libraries' default (all cores). Memory: the subprocess's
resident set during the fits (``VmHWM`` reset before each, as in ``bench_order_lines.py``,
whose helpers this imports), shown as what the fit added to the resident set it started from
(after the imports and the data) and as the peak itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_order_lines import _hwm_gib, _process_peak, _step, machine
from common import run_child, write_section

TITLE = "Uplift learners against causalml"
ARMS = ("A", "B")
CODES = {0: 0, "A": 1, "B": 2}  # causalml's treatment codes (control_name=0)
CATEGORICAL = ("region", "channel")
GBM = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0, early_stopping=False,
           random_state=0)
OUTCOMES = ("binary", "continuous")
METHODS = ("t", "x")
SIDES = {"ours": "ours: UpliftModel(gbm)", "same": "causalml, same HGB learner",
         "default": "causalml, default XGBoost learner"}
K = 0.3


# --------------------------------------------------------------------------- data
def _data(n: int, outcome: str, seed: int):
    from dbmlib.demo.experiments import simulate_experiment

    return simulate_experiment(n, arms=ARMS, outcome=outcome, seed=seed)


def _rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _one_hot(X, categories: dict) -> np.ndarray:
    """Numeric columns as they are, each categorical column one indicator per training category."""
    parts = [X[[c for c in X.columns if c not in categories]].to_numpy(float)]
    for c, cats in categories.items():
        parts.append((X[c].to_numpy(object)[:, None] == np.asarray(cats, dtype=object)[None, :]).astype(float))
    return np.hstack(parts)


# --------------------------------------------------------------------------- children
def _peer_model(side: str, method: str, outcome: str):
    """The causalml learner of a side, and a description of its base learner."""
    from causalml.inference.meta import (
        BaseTClassifier,
        BaseTRegressor,
        BaseXClassifier,
        BaseXRegressor,
        XGBTClassifier,
        XGBTRegressor,
    )

    binary = outcome == "binary"
    if side == "same":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        clf, reg, about = (HistGradientBoostingClassifier(**GBM), HistGradientBoostingRegressor(**GBM),
                           "HistGradientBoosting (ours' parameters)")
    else:
        from xgboost import XGBClassifier, XGBRegressor

        if method == "t":  # causalml's own default-learner classes
            return ((XGBTClassifier(control_name=0), "XGBTClassifier (XGBClassifier defaults)") if binary
                    else (XGBTRegressor(control_name=0), "XGBTRegressor (XGBRegressor defaults)"))
        clf, reg, about = XGBClassifier(), XGBRegressor(), "XGBClassifier/XGBRegressor defaults"
    if method == "t":
        return (BaseTClassifier(learner=clf, control_name=0) if binary
                else BaseTRegressor(learner=reg, control_name=0)), about
    return (BaseXClassifier(outcome_learner=clf, effect_learner=reg, control_name=0) if binary
            else BaseXRegressor(learner=reg, control_name=0)), about


def child(side: str, method: str, outcome: str, n: int, seed: int, out: Path, repeat: int) -> dict:
    startup = _hwm_gib()
    X, t, y, _ = _data(n, outcome, seed)
    X_test = _data(n, outcome, seed + 1)[0]
    if side == "ours":
        from dbmlib.campaign.meta_learners import UpliftModel

        model, about = UpliftModel(method=method, learner="gbm", random_state=0), "UpliftModel(learner='gbm')"
        fit = lambda: model.fit(X, t, y)  # noqa: E731
        predict = lambda: model.predict(X_test)[list(ARMS)].to_numpy(float)  # noqa: E731
    else:
        model, about = _peer_model(side, method, outcome)
        codes = t.map(CODES).to_numpy(int)
        shares = {CODES[a]: float((codes == CODES[a]).sum() / ((codes == CODES[a]).sum() + (codes == 0).sum()))
                  for a in ARMS}
        p = (lambda m: {g: np.full(m, s) for g, s in shares.items()}) if method == "x" else (lambda m: None)
        categories = {c: sorted(X[c].unique()) for c in CATEGORICAL}
        y_fit = y.to_numpy(float if outcome == "continuous" else int)

        def fit():  # the one-hot encoding is part of what causalml needs to fit
            Xn = _one_hot(X, categories)
            return model.fit(Xn, treatment=codes, y=y_fit, p=p(len(Xn)))

        def predict():
            Xn = _one_hot(X_test, categories)
            return model.predict(Xn, p=p(len(Xn))) if method == "x" else model.predict(Xn)

    steps, cpus, rss_before = [], [], _rss_gib()  # after the imports and the data
    load = [os.getloadavg()[0]]
    for i in range(repeat):
        cpu0 = time.process_time()
        _step(f"fit {side} {method}/{outcome} #{i + 1}", fit, steps)
        cpus.append(time.process_time() - cpu0)
    if side != "ours":
        assert list(model.t_groups) == [CODES[a] for a in ARMS], model.t_groups
    pred = _step("predict", predict, steps)
    load.append(os.getloadavg()[0])
    peak = _process_peak(startup, steps)
    np.save(out, np.asarray(pred, float))
    fits = steps[:-1]
    return {"fit_s": statistics.median(s["seconds"] for s in fits), "fit_cpu_s": statistics.median(cpus),
            "fit_s_all": [s["seconds"] for s in fits], "fit_peak_gib": max(s["peak_gib"] for s in fits),
            "rss_before_gib": rss_before, "predict_s": steps[-1]["seconds"], "process_peak_gib": peak,
            "load": load, "learner": about}


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _run_child(args: list[str], timeout: float, threads: int) -> dict:
    return run_child(__file__, args, timeout, {v: str(threads) for v in THREAD_VARS} if threads else {})


# --------------------------------------------------------------------------- metrics
def _arm_rows(t: np.ndarray, arm) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero((t == arm) | (t == 0))
    return rows, (t[rows] == arm).astype(int)


def metrics(pred: np.ndarray, t: np.ndarray, y: np.ndarray, truth) -> dict:
    from scipy.stats import spearmanr

    from dbmlib.campaign.uplift import qini_coefficient, uplift_at_k

    out = {}
    for i, arm in enumerate(ARMS):
        rows, w = _arm_rows(t, arm)
        score = pred[:, i]
        out[arm] = {"qini": qini_coefficient(y[rows], w, score[rows], normalize=True),
                    "uplift_at_k": uplift_at_k(y[rows], w, score[rows], k=K),
                    "spearman": float(spearmanr(score, truth[f"effect_{arm}"].to_numpy()).statistic)}
    return out


def qini_diff_se(ours: np.ndarray, peer: np.ndarray, t: np.ndarray, y: np.ndarray, reps: int,
                 seed: int) -> dict:
    """Standard error of Qini(ours) − Qini(peer) per arm: a paired bootstrap of the held-out rows."""
    from dbmlib.campaign.uplift import qini_coefficient

    out = {}
    for i, arm in enumerate(ARMS):
        rows, w = _arm_rows(t, arm)
        rng = np.random.default_rng([seed, i])
        diffs = []
        for _ in range(reps):
            b = rng.integers(0, len(rows), len(rows))
            yb, wb = y[rows][b], w[b]
            diffs.append(qini_coefficient(yb, wb, ours[rows, i][b], normalize=True)
                         - qini_coefficient(yb, wb, peer[rows, i][b], normalize=True))
        out[arm] = float(np.std(diffs, ddof=1)) if reps > 1 else float("nan")
    return out


# --------------------------------------------------------------------------- parent
def run(n: int, seed: int, timeout: float, reps: int, repeat: int, threads: int, tmpdir: str | None) -> dict:
    results = {}
    with tempfile.TemporaryDirectory(dir=tmpdir) as tmp:
        for outcome in OUTCOMES:
            _, t_test, y_test, truth = _data(n, outcome, seed + 1)
            t_test, y_test = t_test.to_numpy(object), y_test.to_numpy(float)
            oracle = metrics(truth[[f"effect_{a}" for a in ARMS]].to_numpy(), t_test, y_test, truth)
            results[(outcome, "oracle", "truth")] = {"metrics": oracle}
            for method in METHODS:
                preds = {}
                for side in SIDES:
                    out = Path(tmp) / f"{side}_{method}_{outcome}.npy"
                    r = _run_child(["--child", side, "--method", method, "--outcome", outcome, "--n", str(n),
                                    "--seed", str(seed), "--repeat", str(repeat), "--out", str(out)], timeout, threads)
                    if "error" not in r:
                        preds[side] = np.load(out)
                        r["metrics"] = metrics(preds[side], t_test, y_test, truth)
                        if side != "ours" and "ours" in preds:
                            r["qini_se"] = qini_diff_se(preds["ours"], preds[side], t_test, y_test, reps, seed)
                    results[(outcome, method, side)] = r
                    q = " ".join(f"{a} {r['metrics'][a]['qini']:.4f}" for a in ARMS) if "metrics" in r else r["error"]
                    print(f"  {outcome:<10} {method} {side:<7} fit "
                          + (f"{r['fit_s']:.2f} s (load {r['load'][0]:.1f}-{r['load'][1]:.1f}), "
                             if "fit_s" in r else "") + f"Qini {q}", flush=True)
    return {"n": n, "results": results}


def _f(x, fmt="{:.4f}") -> str:
    return "—" if x is None or not np.isfinite(x) else fmt.format(x)


def _grew(r: dict) -> float:
    """MiB the fit added to the resident set it started from (the imports and the data)."""
    return (r["fit_peak_gib"] - r["rss_before_gib"]) * 1024


def table(runs: list[dict]) -> list[str]:
    rows = ["| size | outcome | learner | side | Qini A / B | ours − peer Qini A / B (± s.e.) | uplift@30% A / B "
            "| Spearman A / B | fit s | fit CPU s | peer/ours wall | peer/ours CPU | fit +MiB (peak GiB) "
            "| peer/ours fit memory |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run_ in runs:
        size = f"{run_['n']:,}"
        res = run_["results"]
        for outcome in OUTCOMES:
            o = res[(outcome, "oracle", "truth")]["metrics"]
            rows.append(f"| {size} | {outcome} | — | true effect (reference) | "
                        f"{_f(o['A']['qini'])} / {_f(o['B']['qini'])} | | "
                        f"{_f(o['A']['uplift_at_k'])} / {_f(o['B']['uplift_at_k'])} | 1 / 1 | | | | | | |")
            for method in METHODS:
                ours = res[(outcome, method, "ours")]
                for side, label in SIDES.items():
                    r = res[(outcome, method, side)]
                    head = f"| {size} | {outcome} | {method.upper()} | {label} | "
                    if "error" in r:
                        rows.append(head + f"FAILED: {r['error']} | | | | | | | | | |")
                        continue
                    m = r["metrics"]
                    vs = side != "ours" and "error" not in ours
                    diff = "" if not vs else " / ".join(
                        f"{ours['metrics'][a]['qini'] - m[a]['qini']:+.4f} (± {r['qini_se'][a]:.4f})" for a in ARMS)
                    wall = f"{r['fit_s'] / ours['fit_s']:.2f}×" if vs else ""
                    cpu = f"{r['fit_cpu_s'] / ours['fit_cpu_s']:.2f}×" if vs else ""
                    mem = f"{_grew(r) / _grew(ours):.2f}×" if vs and _grew(ours) > 0 else ""
                    rows.append(head + f"{_f(m['A']['qini'])} / {_f(m['B']['qini'])} | {diff} | "
                                f"{_f(m['A']['uplift_at_k'])} / {_f(m['B']['uplift_at_k'])} | "
                                f"{_f(m['A']['spearman'], '{:.3f}')} / {_f(m['B']['spearman'], '{:.3f}')} | "
                                f"{r['fit_s']:.2f} | {r['fit_cpu_s']:.2f} | {wall} | {cpu} | "
                                f"{_grew(r):.0f} ({r['fit_peak_gib']:.2f}) | {mem} |")
    return rows


def verdicts(runs: list[dict]) -> list[str]:
    """Per size, outcome and learner: is ours at least as good in Qini (within two standard
    errors of the paired difference) and in rank correlation with the true effect, and not
    slower (wall and CPU time of the fit), than each causalml row?"""
    out = []
    for run_ in runs:
        for outcome in OUTCOMES:
            for method in METHODS:
                ours = run_["results"][(outcome, method, "ours")]
                for side in ("same", "default"):
                    r = run_["results"][(outcome, method, side)]
                    if "error" in r or "error" in ours:
                        continue
                    parts = []
                    for a in ARMS:
                        d, se = ours["metrics"][a]["qini"] - r["metrics"][a]["qini"], r["qini_se"][a]
                        word = "higher" if d > 2 * se else "LOWER" if d < -2 * se else "equal within 2 s.e."
                        rho = ours["metrics"][a]["spearman"] - r["metrics"][a]["spearman"]
                        parts.append(f"{a} {d:+.4f} ± {se:.4f} ({word}; Spearman {rho:+.3f})")
                    wall, cpu = r["fit_s"] / ours["fit_s"], r["fit_cpu_s"] / ours["fit_cpu_s"]
                    speed = ("ours faster" if min(wall, cpu) >= 1.1 else "ours SLOWER" if max(wall, cpu) < 0.9
                             else "about equal")
                    out.append(f"{run_['n']:,}, {outcome}, {method.upper()}-learner vs {SIDES[side]}: Qini ours − peer "
                               f"{'; '.join(parts)}; fit peer/ours wall {wall:.2f}×, CPU {cpu:.2f}× ({speed}); "
                               f"predict {ours['predict_s']:.2f} s ours, {r['predict_s']:.2f} s peer.")
        loads = [x for r in run_["results"].values() if "load" in r for x in r["load"]]
        if loads:
            out.append(f"{run_['n']:,}: load average (1 min) during the fits {min(loads):.1f}-{max(loads):.1f} on "
                       f"{os.cpu_count()} cores" + (" — the machine was shared, times are noisier"
                                                    if max(loads) > (os.cpu_count() or 1) + 0.5 else "") + ".")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000], help="customers in the training draw "
                    "(the held-out draw has as many)")
    ap.add_argument("--seed", type=int, default=0, help="training draw's seed; the held-out draw's is seed + 1")
    ap.add_argument("--repeat", type=int, default=3, help="fits per subprocess (median time, largest peak)")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP/BLAS threads per subprocess, both sides "
                    "(0: the libraries' default, all cores)")
    ap.add_argument("--bootstrap", type=int, default=100, help="paired bootstrap resamples for the Qini s.e.")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per subprocess before it is stopped")
    ap.add_argument("--tmpdir", default=None, help="where the predictions go (default: the system's)")
    ap.add_argument("--write", action="store_true", help="write the section to benchmarks/RESULTS.md")
    ap.add_argument("--child", choices=list(SIDES), help=argparse.SUPPRESS)
    for flag in ("--method", "--outcome", "--n", "--out"):
        ap.add_argument(flag, help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    if args.child:
        out = child(args.child, args.method, args.outcome, int(args.n), args.seed, Path(args.out), args.repeat)
        print("RESULT " + json.dumps(out), flush=True)
        return
    if importlib.util.find_spec("causalml") is None:
        print("bench_uplift: causalml is not installed in this environment, so there is no peer to compare "
              "with; skipped. causalml is an optional peer (not a dependency): install it in a separate venv, "
              "e.g. `python3.11 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install -e . causalml`, "
              "and run `/tmp/bench-venv/bin/python benchmarks/bench_uplift.py`.", flush=True)
        return
    try:
        import causalml.inference.meta  # noqa: F401 - fails here, not in every subprocess
    except Exception as exc:  # a broken install (e.g. its xgboost) is also "no peer"
        print(f"bench_uplift: causalml is installed but cannot be imported ({type(exc).__name__}: {exc}); "
              "skipped.", flush=True)
        return
    threads = f"{args.threads} thread{'s' if args.threads > 1 else ''}" if args.threads else "all cores"
    about = (f"{machine()}, scikit-learn {version('scikit-learn')}, causalml {version('causalml')}, "
             f"xgboost {version('xgboost')}; learners on {threads}")
    print(f"uplift learners against causalml; {about}", flush=True)
    runs = []
    for n in args.sizes:
        print(f"== {n:,} customers (training) + {n:,} (held out)", flush=True)
        runs.append(run(n, args.seed, args.timeout, args.bootstrap, args.repeat, args.threads, args.tmpdir))
    rows = table(runs)
    notes = verdicts(runs)
    print("\n".join(["", *rows, "", *notes]))
    errors = [k for r in runs for k, v in r["results"].items() if "error" in v]
    if args.write:
        write_section(TITLE, [
            f"Run on {dt.date.today()} — {about}.",
            ("Data: `demo.experiments.simulate_experiment(n, arms=('A', 'B'), outcome=...)` (25 % control, known "
             f"per-customer effects); trained on seed {args.seed}, scored on a held-out draw of n customers "
             f"(seed {args.seed + 1}). Ours: `UpliftModel(method, learner='gbm', random_state=0)`, features as "
             "they are (region, channel native categories). causalml: `BaseT/BaseX` Classifier (binary) or "
             "Regressor (amount), `control_name=0`, treatment coded 0/1/2 (it cannot mix the integer control with "
             "text labels), region and channel one-hot encoded (inside the timed fit); same learner = "
             "HistGradientBoosting with ours' parameters (max_iter=100, learning_rate=0.1, max_leaf_nodes=15, "
             "l2_regularization=1.0, no early stopping); default learner = XGBoost defaults (`XGBTClassifier` / "
             "`XGBTRegressor`; the X-learner with `XGBClassifier()` / `XGBRegressor()`). X-learners weight their "
             "effect models by the arm's randomisation share (causalml given it as `p`). Per arm, on the arm's "
             "and the control's held-out rows: normalised Qini (`qini_coefficient(normalize=True)`; ours − "
             f"peer with the s.e. of a {args.bootstrap}-resample paired bootstrap), uplift among the top 30 % "
             "(`uplift_at_k`; a change in response rate, or in the amount); Spearman correlation with the true "
             "effect on all held-out customers. Each side in its own subprocess: fit wall and CPU time "
             f"(`time.process_time`, all threads), median of {args.repeat} fits; fit +MiB = what the fit added to "
             "the resident set it started from (after imports and data; VmHWM reset before each fit), in brackets "
             "the peak itself. The reference row scores customers by their true effect."),
            "", *rows, "", *(f"- {x}" for x in notes)])
    if errors:
        print(f"\nFAILED: {errors}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
