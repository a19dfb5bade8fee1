"""`dbm run` starts the next notebook's kernel, and runs that notebook's imports, while the
current notebook runs; the notebook then runs on it exactly as on a fresh kernel."""

from pathlib import Path

import nbformat
import papermill as pm
import pytest
from jupyter_core.utils import run_sync

from dbmlib.run.kernels import WarmKernel, import_statements
from dbmlib.run.pipeline import _kernel_config


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# a test")]
                                  + [nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_import_statements_are_the_top_level_imports_in_order(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb",
                   "%matplotlib inline\nimport json\nfrom pathlib import (Path,\n    PurePath)\n!ls\nx = 1",
                   "def f():\n    import csv\n    return csv\nimport os, sys as system",
                   "this is not python",
                   "if True:\n    import re\nfrom collections import Counter as C  # a comment")
    assert import_statements(nb) == ("import json\nfrom pathlib import Path, PurePath\nimport os, sys as system\n"
                                     "from collections import Counter as C")


def _run(nb: Path, out: Path, warm: WarmKernel | None = None):
    extra = warm.take() if warm else {}
    try:
        pm.execute_notebook(str(nb), str(out), kernel_name="python3", progress_bar=False, cwd=str(nb.parent),
                            config=_kernel_config(out), **extra)
    finally:
        if warm:
            warm.shutdown()
    return nbformat.read(out, as_version=4)


def _outputs(nb):
    return [(c.execution_count, [o.get("text") for o in c.outputs]) for c in nb.cells if c.cell_type == "code"]


def test_a_notebook_runs_on_the_warm_kernel_as_on_a_fresh_one(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb",
                   "import json\nimport sys",
                   "print(json.dumps({'seen': sorted(m for m in ('json', 'csv') if m in sys.modules)}))",
                   "import os\nprint(os.getcwd() == %r)" % str(tmp_path))
    warm = WarmKernel(nb, "python3", _kernel_config(tmp_path / "w"), str(tmp_path))
    warmed = _run(nb, tmp_path / "warm.ipynb", warm)
    fresh = _run(nb, tmp_path / "fresh.ipynb")
    assert _outputs(warmed) == _outputs(fresh)
    assert [n for n, _ in _outputs(warmed)] == [1, 2, 3] and _outputs(warmed)[2][1] == ["True\n"]
    assert '"json"' in _outputs(warmed)[1][1][0]
    assert warm.error is None and not run_sync(warm.km.is_alive)()  # papermill stopped it


def test_a_kernel_whose_imports_fail_is_replaced_by_a_fresh_one(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "import json", "import no_such_module_here")
    warm = WarmKernel(nb, "python3", _kernel_config(tmp_path / "w"), str(tmp_path))
    assert warm.take() == {}
    assert "no_such_module_here" in str(warm.error) and not run_sync(warm.km.is_alive)()
    with pytest.raises(pm.PapermillExecutionError, match="no_such_module_here"):
        _run(nb, tmp_path / "out.ipynb")  # the fresh kernel reports it in the notebook, as always
