"""Dependency drift: every lifetimes entry point the project uses, exercised against known
numbers. lifetimes is archived, so a pandas, numpy or scipy release that breaks it must fail
here first, with the name of the call that broke. No warning filter hides anything: the
suite runs with pytest's defaults (checked below)."""

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import ConvergenceError

from dbmlib.demo.datasets import cdnow_path, load_cdnow
from dbmlib.segment.rfm import rfm_summary

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def cal():
    s = rfm_summary(load_cdnow(sample=True), "customer_id", "order_date", "amount", "1997-09-30",
                    freq_multiplier=7)
    return s, *(s[c].to_numpy(float) for c in ("frequency", "recency", "T"))


def test_bundled_cdnow_files_are_where_lifetimes_ships_them():
    for sample in (True, False):
        assert cdnow_path(sample).exists()
    assert len(load_cdnow(sample=True)) == 6_919


def test_bgnbd_fit_predict_and_likelihood(cal):
    _, f, r, T = cal
    bg = BetaGeoFitter().fit(f, r, T)  # dbmlib.models.clv (MBG/NBD path), tests, benchmarks
    np.testing.assert_allclose(bg.params_[["r", "alpha", "a", "b"]], [0.243, 4.414, 0.793, 2.426], atol=5e-4)
    nll = bg._negative_log_likelihood(np.log(bg.params_.to_numpy()), f, r, T, np.ones_like(f), 0.0)
    assert -nll * len(f) == pytest.approx(-9582.43, abs=0.01)
    assert bg.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86) == \
        pytest.approx(1.226, abs=5e-4)  # Fader, Hardie & Lee (2005)
    assert 0 < bg.conditional_probability_alive(2, 30.43, 38.86) < 1
    assert bg.expected_number_of_purchases_up_to_time(52) == pytest.approx(1.449, abs=5e-3)


def test_mbgnbd_fit_with_weights(cal):
    _, f, r, T = cal
    plain = ModifiedBetaGeoFitter().fit(f, r, T).params_.to_numpy()
    rows = pd.DataFrame({"f": f, "r": r, "T": T}).value_counts().reset_index()
    weighted = ModifiedBetaGeoFitter().fit(rows["f"], rows["r"], rows["T"], weights=rows["count"]).params_
    np.testing.assert_allclose(weighted.to_numpy(), plain, rtol=1e-4)


def test_pareto_nbd_static_likelihood(cal):
    _, f, r, T = cal
    c = 10.0 / T.max()
    params = np.array([0.553, 10.578 * c, 0.606, 11.669 * c])
    ll = np.sum(ParetoNBDFitter._conditional_log_likelihood(params, f, r * c, T * c)) + f.sum() * np.log(c)
    assert ll == pytest.approx(-9594.98, abs=0.01)


def test_gamma_gamma_fit_likelihood_and_spend(cal):
    s, f, *_ = cal
    rep = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    np.testing.assert_allclose(gg.params_[["p", "q", "v"]], [6.25, 3.74, 15.44], atol=0.01)
    nll = GammaGammaFitter._negative_log_likelihood(np.log(gg.params_.to_numpy()), rep["frequency"].to_numpy(),
                                                    rep["monetary_value"].to_numpy(), np.ones(len(rep)), 0.0)
    assert np.isfinite(nll)
    spend = gg.conditional_expected_average_profit(rep["frequency"], rep["monetary_value"])
    assert spend.mean() == pytest.approx(rep["monetary_value"].mean(), rel=0.1)


def test_convergence_error_is_importable_and_raised():
    with pytest.raises(ConvergenceError):
        raise ConvergenceError("contract")


def test_no_global_warning_filters():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pytest_cfg = cfg.get("tool", {}).get("pytest", {}).get("ini_options", {})
    assert "filterwarnings" not in pytest_cfg and "-W" not in pytest_cfg.get("addopts", "")
    assert not (ROOT / "pytest.ini").exists() and not (ROOT / "conftest.py").exists()
    for src in (ROOT / "dbmlib").glob("*.py"):
        for line in src.read_text().splitlines():
            # a filter at module level (no indentation) would change every caller's warnings
            assert not line.startswith(("warnings.simplefilter", "warnings.filterwarnings")), src
