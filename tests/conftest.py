from pathlib import Path

import pytest

from dbmlib.collect import load as collect
from dbmlib.core.db import connect
from dbmlib.demo import make_retail_demo

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "marketing.duckdb")
    yield c
    c.close()


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """A 2,000-customer retail-demo written once per test session (seed 7)."""
    out = tmp_path_factory.mktemp("retail-demo")
    make_retail_demo(out, n_customers=2_000, seed=7)
    return out


def build_clean_demo(folder: Path, n_customers: int, seed: int = 0):
    """Generate a retail-demo in ``folder``, load it and clean it: (source dir, con, result)."""
    from dbmlib.clean import cleaning as clean

    src = make_retail_demo(folder / "retail-demo", n_customers=n_customers, seed=seed)
    con = connect(folder / "m.duckdb")
    collect.load_folder(con, src)
    return src, con, clean.clean_database(con)


@pytest.fixture(scope="session")
def default_demo(tmp_path_factory):
    """The default retail-demo company (20,000 customers, seed 0), loaded and cleaned once per
    session: ``(source dir, database path)``. Tests open their own connection."""
    src, con, _ = build_clean_demo(tmp_path_factory.mktemp("default-demo"), 20_000, seed=0)
    db = Path(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
              .fetchall()[0][0])
    con.close()
    return src, db
