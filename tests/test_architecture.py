"""The layout of dbmlib: one subpackage per stage over core, imports only downwards, thin
notebooks that use public names only, estimators that scikit-learn can clone."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import dbmlib
from dbmlib.core import config

LIB = Path(dbmlib.__file__).parent
#: Stages in notebook order; a stage may import core and the stages before it only.
STAGES = ["collect", "clean", "segment", "models", "campaign"]
SUBPACKAGES = ["core", *STAGES, "demo", "run"]


def allowed(pkg: str) -> set[str]:
    if pkg == "core":
        return {"core"}
    if pkg in STAGES:
        return {"core", *STAGES[: STAGES.index(pkg) + 1]}
    if pkg == "demo":
        return {"core", "demo", *STAGES}
    return set(SUBPACKAGES) | {"plotting"}


def imported_subpackages(module: Path) -> set[str]:
    """Every dbmlib subpackage a module imports, at the top or inside a function."""
    pkg = module.parent.name
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                found.add(pkg)
            elif node.level == 2:
                found.add((node.module or "").split(".")[0] or node.names[0].name)
            elif (node.module or "").startswith("dbmlib."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("dbmlib.")}
    return found


@pytest.mark.parametrize("pkg", SUBPACKAGES)
def test_layering_by_source(pkg):
    for module in sorted((LIB / pkg).glob("*.py")):
        wrong = imported_subpackages(module) - allowed(pkg)
        assert not wrong, f"{module.relative_to(LIB)} imports {sorted(wrong)}, above its layer"


def test_plotting_imports_no_stage():
    assert imported_subpackages(LIB / "plotting.py") <= {"dbmlib"}


@pytest.mark.parametrize("pkg", SUBPACKAGES)
def test_layering_in_a_fresh_interpreter(pkg):
    """Importing a subpackage loads no subpackage above its layer (lazy imports included
    through the source test above)."""
    code = (f"import sys, json; import dbmlib.{pkg}; "
            "print(json.dumps(sorted({m.split('.')[1] for m in sys.modules "
            "if m.startswith('dbmlib.') and m.count('.') >= 1})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert pkg in loaded
    assert loaded <= allowed(pkg), f"dbmlib.{pkg} loads {sorted(loaded - allowed(pkg))}"


def test_every_module_lives_in_a_subpackage():
    top = sorted(p.name for p in LIB.glob("*.py"))
    assert top == ["__init__.py", "plotting.py"]
    assert sorted(p.name for p in LIB.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(SUBPACKAGES)


@pytest.mark.parametrize("pkg", SUBPACKAGES)
def test_subpackage_says_what_it_does_and_exports_public_names(pkg):
    module = importlib.import_module(f"dbmlib.{pkg}")
    assert module.__doc__ and len(module.__doc__.strip().splitlines()) >= 2
    assert len(set(module.__all__)) == len(module.__all__) >= 5
    for name in module.__all__:
        assert not name.startswith("_")
        obj = getattr(module, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), f"dbmlib.{pkg}.{name} has no docstring"


def _notebook_code(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]


NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_thin(path):
    for cell in _notebook_code(path):
        lines = cell.source.splitlines()
        assert len(lines) <= 12, f"{path.name}: a code cell of {len(lines)} lines:\n{cell.source}"
        tree = ast.parse("\n".join(line for line in lines if not line.startswith("%")))
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.ClassDef, ast.Lambda)), \
                f"{path.name}: {type(node).__name__} in\n{cell.source}"
            if isinstance(node, ast.If):  # only one-line ifs: `if condition: one statement`
                one_line = len(node.body) == 1 and node.body[0].lineno == node.lineno and not node.orelse
                assert one_line, f"{path.name}: a block if in\n{cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_use_public_names_only(path):
    source = "\n".join(line for c in _notebook_code(path) for line in c.source.splitlines()
                       if not line.startswith("%"))
    tree = ast.parse(source)
    modules = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dbmlib"):
            if node.module == "dbmlib":
                for a in node.names:
                    assert a.name in SUBPACKAGES + ["plotting"], a.name
                    modules[a.asname or a.name] = importlib.import_module(f"dbmlib.{a.name}")
            else:
                assert node.module.count(".") == 1, f"{path.name}: imports from a module: {node.module}"
                public = importlib.import_module(node.module).__all__
                for a in node.names:
                    assert a.name in public, f"{path.name}: {node.module}.{a.name} is not public"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            assert node.attr in modules[node.value.id].__all__, f"{path.name}: {node.value.id}.{node.attr}"


def _summary(n=300, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.poisson(2, n)
    T = rng.uniform(20, 40, n)
    r = np.where(f > 0, T * rng.uniform(0.2, 1, n), 0)
    return pd.DataFrame({"frequency": f, "recency": r, "T": T, "monetary_value": np.where(f > 0, rng.gamma(5, 8, n), 0)})


def test_estimators_clone_and_refuse_to_predict_unfitted():
    from dbmlib.campaign import UpliftModel
    from dbmlib.models import PropensityModel, PurchaseModel, SpendModel
    from dbmlib.segment import RFMClusterer

    estimators = [PurchaseModel("pnbd", penalizer=0.01), SpendModel(penalizer=0.1),
                  RFMClusterer(k_range=(2, 3), random_state=4), PropensityModel("gbm", ["campaign_channel"], 7, 100),
                  UpliftModel("t", "logistic", 0, None, 3, 50), UpliftModel("class_transformation", "gbm", "none", ["a"], 5)]
    for est in estimators:
        twin = clone(est)
        assert type(twin) is type(est) and twin.get_params() == est.get_params()
    assert PurchaseModel("pnbd", penalizer=0.01).get_params() == {"kind": "pnbd", "penalizer": 0.01}
    assert estimators[3].get_params()["max_rows"] == 100
    summary = _summary()
    with pytest.raises(NotFittedError):
        PurchaseModel().p_alive(summary)
    with pytest.raises(NotFittedError):
        SpendModel().expected_spend(summary)
    with pytest.raises(NotFittedError):
        RFMClusterer().predict(pd.DataFrame({"recency_days": [1.0], "orders": [1], "revenue": [1.0]}))
    with pytest.raises(NotFittedError):
        PropensityModel().predict_proba(pd.DataFrame())
    with pytest.raises(NotFittedError):
        UpliftModel().predict_uplift(pd.DataFrame())
    with pytest.raises(NotFittedError):
        UpliftModel("x").predict(pd.DataFrame())
    fitted = PurchaseModel().fit(summary)
    assert clone(fitted).get_params() == fitted.get_params() and not hasattr(clone(fitted), "params_")


def test_clusterer_fit_predict_equals_labels():
    from dbmlib.segment import RFMClusterer

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"recency_days": rng.integers(1, 400, 200), "orders": rng.integers(1, 9, 200),
                      "revenue": rng.gamma(2, 50, 200)})
    model = RFMClusterer(k_range=(2, 4), random_state=0)
    labels = model.fit_predict(X)
    assert (labels == model.labels_).all() and (model.predict(X) == labels).all()


def test_pyproject_entry_point_and_packages():
    text = (config.PROJ_ROOT / "pyproject.toml").read_text()
    assert 'dbm = "dbmlib.run.cli:main"' in text
