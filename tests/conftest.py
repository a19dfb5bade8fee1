from pathlib import Path

import pytest

from dbmlib import collect
from dbmlib.datasets import make_retail_demo

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"


@pytest.fixture
def con(tmp_path):
    c = collect.connect(tmp_path / "marketing.duckdb")
    yield c
    c.close()


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """A 2,000-customer retail-demo written once per test session (seed 7)."""
    out = tmp_path_factory.mktemp("retail-demo")
    make_retail_demo(out, n_customers=2_000, seed=7)
    return out
