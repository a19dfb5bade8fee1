"""BTYD fits: ``PurchaseModel`` / ``SpendModel`` against pymc-marketing's MAP fits, same data, same run.

pymc-marketing is an optional peer, never a dependency of the workbench (not at run time, not in
the tests): install it into a separate environment. The benchmark runs our fits with the Python
that runs it and pymc-marketing's with the peer's Python, each fit in its own subprocess, so the
two environments need not be the same; without a peer the script says so and exits 0::

    python3.11 -m venv /tmp/pymc-venv && /tmp/pymc-venv/bin/pip install pymc-marketing
    python benchmarks/bench_pymc_marketing.py --peer-python /tmp/pymc-venv/bin/python
    PYMC_MARKETING_PYTHON=/tmp/pymc-venv/bin/python python benchmarks/bench_pymc_marketing.py --quick
    python benchmarks/bench_pymc_marketing.py --peer-python ... --sizes 200000 1000000 --write

(or install the project into the peer's venv too, ``pip install -e .``, and run the script with
that venv's Python: the peer is then the running interpreter.) The peer's children need only
numpy, pandas and pymc-marketing: the data reach them as ``.npz`` files written by the parent.

Data (time in weeks, the published analyses' unit; pymc-marketing's default priors depend on
the unit, e.g. α ~ Weibull(2, 10) for the BG/NBD and Pareto/NBD):

* CDNOW: the 1/10 sample (2,357 customers), 39-week calibration, days / 7
  (``demo.datasets.load_cdnow(sample=True)`` + ``segment.rfm.calibration_and_holdout``), as in
  ``tests/test_clv.py``; the reference row is ``models.clv.PUBLISHED_CDNOW``;
* simulated BG/NBD + Gamma-Gamma customers (``bench_btyd.daily_summary(n)``: ``demo.simulate.
  transaction_log`` → ``rfm_summary``, days / 7) for the BG/NBD, MBG/NBD and Gamma-Gamma fits;
  the reference row is the generator's truth (r 0.75, α 110 days = 15.71 weeks, a 0.8, b 3.2;
  p 6, q 4, v 30);
* simulated Pareto/NBD customers (``demo.simulate.pnbd_summary(n, seed=0)``, CDNOW's published
  parameters) for the Pareto/NBD fit, as in ``bench_btyd.py``: on BG/NBD data the Pareto/NBD
  optimum is at the boundary (s, β → ∞ with s/β fixed), a race to infinity, not a fit.

Fits, each in its own subprocess, after one untimed warm-up fit on 1,000 customers (it fills
pytensor's compile cache; its time is printed):

* ours: ``models.clv.PurchaseModel(kind).fit(summary)`` for kind bgnbd, pnbd, mbgnbd and
  ``SpendModel().fit(summary)`` (Gamma-Gamma, repeat customers);
* pymc-marketing: ``BetaGeoModel`` / ``ParetoNBDModel`` / ``ModifiedBetaGeoModel`` /
  ``GammaGammaModel`` ``.fit(data, method="map", progressbar=False)`` (``pm.find_MAP``,
  L-BFGS-B, no Jacobian: with flat priors the MAP is the maximum-likelihood estimate), on one
  row per customer (``customer_id, frequency, recency, T``; Gamma-Gamma: the repeat customers
  with positive spend, ``customer_id, frequency, monetary_value``), with its default priors and
  with flat priors (``Prior("HalfFlat")`` on each of r, α, a, b / r, α, s, β). The Gamma-Gamma
  default priors already are ``HalfFlat``, so it runs once.

Per fit: the estimates, the total log-likelihood at them (all computed here with our
likelihoods on the same data: ``btyd_fit.bgnbd_log_likelihood``, ``pnbd_log_likelihood_rows``,
``mbgnbd_log_likelihood_rows`` and the Gamma-Gamma's ``_gg_value``), the fit's wall and CPU
time (``time.process_time``, all threads of the subprocess; median of up to ``--repeat`` fits,
fewer once the fits of a subprocess have taken ``--repeat-budget`` seconds), and memory: the
subprocess's resident set during the fits (``VmHWM`` reset before each, as in
``bench_order_lines.py``), shown as what the fit added to the resident set it started from
(after the imports, the data and the warm-up) and as the peak itself. Both sides' BLAS and
OpenMP run on ``--threads`` threads, 1 by default: on a machine shared with other work, OpenBLAS
threads waiting for a descheduled sibling made our BG/NBD fit on 20,000 customers take
0.1-1.0 s instead of 0.013 s (its dot products over the distinct rows are BLAS calls);
``--threads 0`` leaves the libraries' default (all cores). A fit of the peer that
takes more than ``--max-fit-minutes`` (or whose subprocess times out) caps the sizes: that fit
is not run at the larger sizes, and the output says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_order_lines import _hwm_gib, _reset_peak, machine
from common import run_child, write_section

TITLE = "BTYD fits against pymc-marketing (MAP)"
PEER_ENV = "PYMC_MARKETING_PYTHON"
NAMES = {"bgnbd": ["r", "alpha", "a", "b"], "pnbd": ["r", "alpha", "s", "beta"],
         "mbgnbd": ["r", "alpha", "a", "b"], "gg": ["p", "q", "v"]}
SYMBOL = {"alpha": "α", "beta": "β"}
LABEL = {"bgnbd": "BG/NBD", "pnbd": "Pareto/NBD", "mbgnbd": "MBG/NBD", "gg": "Gamma-Gamma"}
OURS = {"bgnbd": "PurchaseModel('bgnbd')", "pnbd": "PurchaseModel('pnbd')", "mbgnbd": "PurchaseModel('mbgnbd')",
        "gg": "SpendModel()"}
PEER = {"bgnbd": "BetaGeoModel", "pnbd": "ParetoNBDModel", "mbgnbd": "ModifiedBetaGeoModel", "gg": "GammaGammaModel"}
PRIORS = {"bgnbd": ("default", "flat"), "pnbd": ("default", "flat"), "mbgnbd": ("default", "flat"),
          "gg": ("default",)}  # GammaGammaModel's default priors are HalfFlat already
#: The generators' truth in weeks (``transaction_log``'s defaults with α in days / 7; ``pnbd_summary``'s).
TRUTH = {"bgnbd": {"r": 0.75, "alpha": 110.0 / 7, "a": 0.8, "b": 3.2}, "gg": {"p": 6.0, "q": 4.0, "v": 30.0},
         "pnbd": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}}
WARM_UP = 1_000


# --------------------------------------------------------------------------- data (parent)
def cdnow_weeks():
    from dbmlib.demo.datasets import load_cdnow
    from dbmlib.segment.rfm import calibration_and_holdout

    ch = calibration_and_holdout(load_cdnow(sample=True), "customer_id", "order_date", "1997-09-30",
                                 "1998-06-30", time_unit="D", freq_multiplier=7, monetary_value_col="amount")
    cols = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]
    return ch[cols].rename(columns=lambda c: c.removesuffix("_cal"))


def bgnbd_weeks(n: int):
    from bench_btyd import daily_summary

    s = daily_summary(n)
    return s.assign(recency=s["recency"] / 7, T=s["T"] / 7)[["frequency", "recency", "T", "monetary_value"]]


def pnbd_weeks(n: int):
    from dbmlib.demo.simulate import pnbd_summary

    return pnbd_summary(n, seed=0)


def save(frame, path: Path) -> dict[str, np.ndarray]:
    arrays = {c: frame[c].to_numpy(float) for c in frame.columns}
    np.savez(path, **arrays)
    return arrays


def log_likelihood(model: str, params, d: dict[str, np.ndarray]) -> float:
    """Total log-likelihood of the data at ``params``, with our likelihoods (same for both sides)."""
    from dbmlib.models.btyd_fit import (
        _gg_value,
        _GGData,
        bgnbd_log_likelihood,
        compress,
        mbgnbd_log_likelihood_rows,
        pnbd_log_likelihood_rows,
    )

    params = np.asarray(params, float)
    with np.errstate(all="ignore"):
        if model == "gg":
            keep = (d["frequency"] > 0) & (d["monetary_value"] > 0)
            x, m = d["frequency"][keep], d["monetary_value"][keep]
            return float(_gg_value(params, _GGData(x, m, np.ones_like(x)), gradient=False)[0])
        f, r, T, w, _ = compress(d["frequency"], d["recency"], d["T"])
        if model == "bgnbd":
            return float(bgnbd_log_likelihood(params, f, r, T, w))
        rows = (pnbd_log_likelihood_rows if model == "pnbd" else mbgnbd_log_likelihood_rows)(params, f, r, T)
        return float(np.dot(w, rows))


# --------------------------------------------------------------------------- children
def _rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _frame(path: str):
    import pandas as pd

    d = np.load(path)
    return pd.DataFrame({k: d[k] for k in d.files})


def _timed_fits(make_fit, warm_up, repeat: int, budget: float) -> dict:
    """Warm up once (untimed), then time up to ``repeat`` fits (fewer past ``budget`` seconds)."""
    t0 = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - t0
    rss_before, load, walls, cpus, peaks, fitted = _rss_gib(), [os.getloadavg()[0]], [], [], [], None
    while len(walls) < repeat and (not walls or sum(walls) < budget):
        reset = _reset_peak()
        c0, t0 = time.process_time(), time.perf_counter()
        fitted = make_fit()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        peaks.append(_hwm_gib() if reset else float("nan"))
        print(f"    [{os.getpid()}] fit #{len(walls)}: {walls[-1]:.2f} s (CPU {cpus[-1]:.2f} s), "
              f"peak {peaks[-1]:.2f} GiB", file=sys.stderr, flush=True)
    load.append(os.getloadavg()[0])
    return {"fitted": fitted, "fit_s": statistics.median(walls), "fit_cpu_s": statistics.median(cpus),
            "fit_s_all": walls, "fit_peak_gib": max(peaks), "rss_before_gib": rss_before, "warm_up_s": warm,
            "load": load}


def child_ours(model: str, path: str, repeat: int, budget: float) -> dict:
    from dbmlib.models.clv import PurchaseModel, SpendModel

    summary = _frame(path)
    make = (lambda: SpendModel()) if model == "gg" else (lambda: PurchaseModel(model))  # noqa: E731
    out = _timed_fits(lambda: make().fit(summary), lambda: make().fit(summary.iloc[:WARM_UP]), repeat, budget)
    fitted = out.pop("fitted")
    return out | {"params": [float(fitted.params_[n]) for n in NAMES[model]], "n_fit": int(len(summary)),
                  "penalizer": float(getattr(fitted, "penalizer_", fitted.penalizer))}


def _prior_class():
    try:
        from pymc_extras.prior import Prior  # pymc-marketing >= 0.14
    except ImportError:  # older releases
        from pymc_marketing.prior import Prior
    return Prior


def child_peer(model: str, prior: str, path: str, repeat: int, budget: float) -> dict:
    import pymc_marketing.clv as clv

    d = _frame(path)
    d.insert(0, "customer_id", np.arange(len(d)))
    if model == "gg":
        data = d.loc[(d["frequency"] > 0) & (d["monetary_value"] > 0), ["customer_id", "frequency", "monetary_value"]]
    else:
        data = d[["customer_id", "frequency", "recency", "T"]]
    cls = getattr(clv, PEER[model])
    config = None if prior == "default" else {n: _prior_class()("HalfFlat") for n in NAMES[model]}
    # 'method' since pymc-marketing 0.16 ('fit_method' deprecated); the data to fit() since 0.15
    how = {"method": "map"} if "method" in inspect.signature(cls.fit).parameters else {"fit_method": "map"}

    def fit(rows):
        m = cls(model_config=config)
        m.fit(rows, progressbar=False, **how)
        return m

    out = _timed_fits(lambda: fit(data), lambda: fit(data.iloc[:WARM_UP]), repeat, budget)
    posterior = out.pop("fitted").idata.posterior
    return out | {"params": [float(np.asarray(posterior[n]).ravel()[0]) for n in NAMES[model]],
                  "n_fit": int(len(data))}


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _threads_env(threads: int) -> dict:
    return {v: str(threads) for v in THREAD_VARS} if threads else {}


def _run_peer(python: str, args: list[str], timeout: float, env: dict) -> dict:
    """``common.run_child`` with another interpreter (the peer's venv)."""
    t0 = time.perf_counter()
    try:
        done = subprocess.run([python, __file__, *args], stdout=subprocess.PIPE, text=True, timeout=timeout,
                              check=False, env=os.environ | {"PYTHONWARNINGS": "ignore"} | env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode:
        return {"error": f"exit status {done.returncode} (traceback above)"}
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):]) | {"wall_s": time.perf_counter() - t0}


# --------------------------------------------------------------------------- peer discovery
PROBE = ("import json, importlib.metadata as m, pymc_marketing.clv; print(json.dumps({p: m.version(p) for p in "
         "('pymc-marketing', 'pymc', 'pytensor', 'numpy', 'scipy', 'pandas')}))")


def find_peer(arg: str | None) -> tuple[str | None, dict | str]:
    """The peer's Python (``--peer-python``, else ``$PYMC_MARKETING_PYTHON``, else this one) and
    its versions, or None and why not."""
    python = arg or os.environ.get(PEER_ENV) or sys.executable
    if not Path(python).exists():
        return None, f"{python} does not exist"
    done = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, check=False,
                          env=os.environ | {"PYTHONWARNINGS": "ignore"})
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"pymc-marketing cannot be imported by {python} ({last})"
    return python, json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- parent
def run_data(name: str, frame, models, args, peer: str, tmp: Path, capped: dict) -> dict:
    path = tmp / f"{name.replace(' ', '_').replace('/', '')}_{len(frame)}.npz"
    arrays = save(frame, path)
    n = len(frame)
    common_args = ["--data", str(path), "--repeat", str(args.repeat), "--repeat-budget", str(args.repeat_budget)]
    results = {}
    for model in models:
        ours = run_child(__file__, ["--child", "ours", "--model", model, *common_args], args.timeout,
                         _threads_env(args.threads))
        results[(model, "ours")] = _with_ll(ours, model, arrays)
        _show(name, n, model, "ours", ours)
        for prior in PRIORS[model]:
            key = (model, prior)
            if key in capped:
                results[key] = {"error": f"not run: capped after {capped[key]}"}
                _show(name, n, model, prior, results[key])
                continue
            r = _run_peer(peer, ["--child", "peer", "--model", model, "--prior", prior, *common_args], args.timeout,
                          _threads_env(args.threads))
            if "error" in r:
                capped[key] = f"{n:,} customers ({r['error']})"
            elif max(r["fit_s_all"]) > 60 * args.max_fit_minutes:
                capped[key] = f"{n:,} customers (a fit took {max(r['fit_s_all']):.0f} s)"
            results[key] = _with_ll(r, model, arrays)
            _show(name, n, model, prior, r)
    return {"name": name, "n": n, "models": list(models), "results": results}


def _with_ll(r: dict, model: str, arrays) -> dict:
    if "params" in r:
        r["ll"] = log_likelihood(model, r["params"], arrays)
    return r


def _show(name, n, model, side, r) -> None:
    head = f"  {name:<22} {n:>9,} {LABEL[model]:<11} {side:<7}"
    if "error" in r:
        print(f"{head} {r['error']}", flush=True)
        return
    est = ", ".join(f"{SYMBOL.get(k, k)} {v:.4g}" for k, v in zip(NAMES[model], r["params"]))
    print(f"{head} fit {r['fit_s']:.2f} s (CPU {r['fit_cpu_s']:.2f} s, {len(r['fit_s_all'])} fits, warm-up "
          f"{r['warm_up_s']:.1f} s, load {r['load'][0]:.1f}-{r['load'][1]:.1f}) {est}", flush=True)


def _est(model: str, params) -> str:
    return " · ".join(f"{SYMBOL.get(k, k)} {v:.4g}" for k, v in zip(NAMES[model], params))


def _diff(x: float) -> str:
    return f"{x:+,.3f}" if abs(x) >= 0.0005 else f"{x:+.1e}"


def _grew(r: dict) -> float:
    """MiB the fit added to the resident set it started from (imports, data, warm-up)."""
    return max((r["fit_peak_gib"] - r["rss_before_gib"]) * 1024, 0.0)


def _side_label(model: str, side: str) -> str:
    if side == "ours":
        return f"ours: {OURS[model]}"
    if model == "gg":
        return f"pymc-marketing {PEER[model]}, default priors (HalfFlat)"
    return f"pymc-marketing {PEER[model]}, {side} priors"


def reference(run_: dict, model: str) -> tuple[str, dict] | None:
    from dbmlib.models.clv import PUBLISHED_CDNOW

    if run_["name"].startswith("CDNOW"):
        pub = PUBLISHED_CDNOW.get("gamma_gamma" if model == "gg" else model)
        source = "Fader & Hardie 2013" if model == "gg" else "Fader, Hardie & Lee 2005"
        return (f"published ({source})", pub) if pub else None
    return ("generator's truth", TRUTH[model]) if model in TRUTH else None


def table(runs: list[dict]) -> list[str]:
    rows = ["| data | customers | model | fit | estimates | log-likelihood | LL − ours | fit s | fit CPU s "
            "| peer/ours wall | peer/ours CPU | fit +MiB (peak GiB) | peer/ours fit memory |",
            "|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run_ in runs:
        for model in run_["models"]:
            head = f"| {run_['name']} | {run_['n']:,} | {LABEL[model]} | "
            ref = reference(run_, model)
            if ref:
                ll = ref[1].get("log_likelihood")
                rows.append(head + f"{ref[0]} | {_est(model, [ref[1][k] for k in NAMES[model]])} | "
                            f"{'' if ll is None else f'{ll:,.1f}'} | | | | | | | |")
            ours = run_["results"][(model, "ours")]
            for side in ("ours", *PRIORS[model]):
                r = run_["results"][(model, side)]
                if "error" in r:
                    rows.append(head + f"{_side_label(model, side)} | {r['error']} | | | | | | | | |")
                    continue
                vs = side != "ours" and "error" not in ours
                d_ll = _diff(r["ll"] - ours["ll"]) if vs else ""
                wall = f"{r['fit_s'] / ours['fit_s']:.1f}×" if vs else ""
                cpu = f"{r['fit_cpu_s'] / ours['fit_cpu_s']:.1f}×" if vs else ""
                mem = f"{_grew(r) / _grew(ours):.1f}×" if vs and _grew(ours) >= 1 else ""
                rows.append(head + f"{_side_label(model, side)} | {_est(model, r['params'])} | {r['ll']:,.3f} | "
                            f"{d_ll} | {r['fit_s']:.3f} | {r['fit_cpu_s']:.3f} | {wall} | {cpu} | "
                            f"{_grew(r):.0f} ({r['fit_peak_gib']:.2f}) | {mem} |")
    return rows


def notes(runs: list[dict], capped: dict) -> list[str]:
    out = []
    for run_ in runs:
        for model in run_["models"]:
            ours = run_["results"][(model, "ours")]
            if "error" in ours:
                continue
            p0 = np.asarray(ours["params"])
            parts = []
            for prior in PRIORS[model]:
                r = run_["results"][(model, prior)]
                if "error" in r:
                    continue
                rel = (np.asarray(r["params"]) - p0) / p0
                i = int(np.argmax(np.abs(rel)))
                parts.append(f"{prior} priors: fit {r['fit_s'] / ours['fit_s']:.1f}× ours' wall time "
                             f"({r['fit_cpu_s'] / ours['fit_cpu_s']:.1f}× CPU), estimates {rel[i]:+.2%} from ours "
                             f"at most ({SYMBOL.get(NAMES[model][i], NAMES[model][i])} {r['params'][i]:.5g} vs "
                             f"{p0[i]:.5g}), LL − ours {_diff(r['ll'] - ours['ll'])}")
            if parts:
                out.append(f"{run_['name']}, {run_['n']:,} customers, {LABEL[model]}: pymc-marketing "
                           + "; ".join(parts) + ".")
        loads = [x for r in run_["results"].values() if "load" in r for x in r["load"]]
        warm = [r["warm_up_s"] for (m, side), r in run_["results"].items() if side != "ours" and "warm_up_s" in r]
        if loads:
            out.append(f"{run_['name']}, {run_['n']:,} customers: load average (1 min) during the fits "
                       f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores"
                       + (" — the machine was shared, wall times are noisier than CPU times"
                          if max(loads) > (os.cpu_count() or 1) + 0.5 else "")
                       + (f"; pymc-marketing's untimed warm-up fits on {WARM_UP:,} customers (model build and "
                          f"pytensor compilation) took {min(warm):.1f}-{max(warm):.1f} s" if warm else "") + ".")
    for (model, prior), why in capped.items():
        out.append(f"Capped: pymc-marketing {LABEL[model]} ({prior} priors) took longer than the limit or timed out "
                   f"at {why}; it was not run at larger sizes.")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000],
                    help="simulated customers (CDNOW's 2,357 always run)")
    ap.add_argument("--quick", action="store_true", help="CDNOW and 20,000 simulated customers, one fit each")
    ap.add_argument("--repeat", type=int, default=3, help="timed fits per subprocess (median)")
    ap.add_argument("--repeat-budget", type=float, default=120.0,
                    help="no further repeats once a subprocess's timed fits took this many seconds")
    ap.add_argument("--max-fit-minutes", type=float, default=10.0,
                    help="a peer fit slower than this is not run at larger sizes")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP/BLAS threads per subprocess, both sides "
                    "(0: the libraries' default, all cores)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per subprocess before it is stopped")
    ap.add_argument("--peer-python", default=None, help=f"Python of the venv with pymc-marketing (default: "
                    f"${PEER_ENV}, else this interpreter)")
    ap.add_argument("--tmpdir", default=None, help="where the data files go (default: the system's)")
    ap.add_argument("--write", action="store_true", help="write the section to benchmarks/RESULTS.md")
    ap.add_argument("--child", choices=["ours", "peer"], help=argparse.SUPPRESS)
    for flag in ("--model", "--prior", "--data"):
        ap.add_argument(flag, help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args(argv)  # run_all passes every script the same flags
    if args.child:
        out = (child_ours(args.model, args.data, args.repeat, args.repeat_budget) if args.child == "ours" else
               child_peer(args.model, args.prior, args.data, args.repeat, args.repeat_budget))
        print("RESULT " + json.dumps(out), flush=True)
        return
    peer, versions = find_peer(args.peer_python)
    if peer is None:
        print(f"bench_pymc_marketing: no pymc-marketing peer ({versions}): skipped. pymc-marketing is an optional "
              "peer (not a dependency): install it in a separate venv, e.g. `python3.11 -m venv /tmp/pymc-venv && "
              "/tmp/pymc-venv/bin/pip install pymc-marketing`, and pass `--peer-python /tmp/pymc-venv/bin/python` "
              f"(or set {PEER_ENV}).", flush=True)
        return
    if args.quick:
        args.sizes, args.repeat = [20_000], 1
    import scipy

    threads = f"{args.threads} thread{'s' if args.threads > 1 else ''}" if args.threads else "all cores"
    about = (f"{machine()}, scipy {scipy.__version__}; peer ({peer}): pymc-marketing {versions['pymc-marketing']}, "
             f"pymc {versions['pymc']}, pytensor {versions['pytensor']}, numpy {versions['numpy']}, "
             f"scipy {versions['scipy']}, pandas {versions['pandas']}; BLAS/OpenMP on {threads}")
    print(f"BTYD fits against pymc-marketing (MAP); {about}", flush=True)
    runs, capped = [], {}
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        tmp = Path(tmp)
        print("== CDNOW sample, 39-week calibration (weeks)", flush=True)
        runs.append(run_data("CDNOW sample", cdnow_weeks(), ("bgnbd", "pnbd", "mbgnbd", "gg"), args, peer, tmp,
                             capped))
        for n in sorted(args.sizes):
            print(f"== {n:,} simulated customers (weeks)", flush=True)
            runs.append(run_data("simulated BG/NBD", bgnbd_weeks(n), ("bgnbd", "mbgnbd", "gg"), args, peer, tmp,
                                 capped))
            runs.append(run_data("simulated Pareto/NBD", pnbd_weeks(n), ("pnbd",), args, peer, tmp, capped))
    rows, extra = table(runs), notes(runs, capped)
    print("\n".join(["", *rows, "", *extra]))
    errors = [(r["name"], k) for r in runs for k, v in r["results"].items()
              if "error" in v and not v["error"].startswith("not run")]
    if args.write:
        write_section(TITLE, [
            f"Run on {dt.date.today()} — {about}.",
            ("Time in weeks. Data: the CDNOW 1/10 sample, 39-week calibration (`load_cdnow(sample=True)` + "
             "`calibration_and_holdout`, days / 7; reference row `PUBLISHED_CDNOW`); simulated BG/NBD + Gamma-Gamma "
             "customers (`bench_btyd.daily_summary(n)`, days / 7; reference row the generator's truth) for the "
             "BG/NBD, MBG/NBD and Gamma-Gamma fits; simulated Pareto/NBD customers (`pnbd_summary(n, seed=0)`) for "
             "the Pareto/NBD fit (on BG/NBD data its optimum is at the boundary). Ours: `PurchaseModel(kind).fit"
             "(summary)` / `SpendModel().fit(summary)` (distinct rows with counts). pymc-marketing: `BetaGeoModel` / "
             "`ParetoNBDModel` / `ModifiedBetaGeoModel` / `GammaGammaModel` `.fit(data, method='map')` "
             "(`pm.find_MAP`, L-BFGS-B) on one row per customer (Gamma-Gamma: repeat customers), with its default "
             "priors and with flat priors (`Prior('HalfFlat')` on every parameter; the Gamma-Gamma's defaults are "
             "HalfFlat). Log-likelihood: our likelihood of the same data at each estimate. Each fit in its own "
             "subprocess after an untimed warm-up fit on 1,000 customers (fills pytensor's compile cache), BLAS "
             f"and OpenMP on {threads}: wall and CPU time, median of up to {args.repeat} fits (fewer once they took {args.repeat_budget:.0f} s); "
             "fit +MiB = what the fit added to the resident set it started from (after imports, data and the "
             "warm-up; VmHWM reset before each fit), in brackets the peak itself."),
            "", *rows, "", *(f"- {x}" for x in extra)])
    if errors:
        print(f"\nFAILED: {errors}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
