"""`dbm run` writes each finished notebook's HTML pages on a background thread while the next
stage runs; the manifest gets every page, or the reason a page is missing."""

import threading
from pathlib import Path

import nbformat

from dbmlib.run import pipeline


class _FakePapermill:
    """Stands in for papermill: "executes" a notebook by writing it with one output."""

    class PapermillExecutionError(Exception):
        pass

    def __init__(self):
        self.ran = []

    def execute_notebook(self, source, out, **_):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {Path(source).stem}")])
        nbformat.write(nb, out)
        self.ran.append(Path(source).stem)


def test_pages_written_in_background_and_failures_recorded(tmp_path, monkeypatch):
    notebooks = []
    for name in ("01_a", "02_b", "03_c"):
        notebooks.append(tmp_path / f"{name}.ipynb")
        nbformat.write(nbformat.v4.new_notebook(), notebooks[-1])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    threads = {}

    def export(out, findings=""):
        threads[out.stem] = threading.current_thread().name
        if out.stem == "02_b":
            raise RuntimeError("template missing")
        return out.with_suffix(".html"), out.with_suffix(".nocode.html")

    monkeypatch.setattr(pipeline, "_export_html", export)
    monkeypatch.setattr(pipeline, "stage_findings", lambda *_: "")
    fake = _FakePapermill()
    manifest = {"notebooks": []}
    error = pipeline._run_notebooks(fake, notebooks, run_dir, {"db_path": str(tmp_path / "m.duckdb")}, {},
                                    "python3", manifest, {}, lambda *_: None)
    assert error is None and fake.ran == ["01_a", "02_b", "03_c"]
    entries = {Path(e["notebook"]).stem: e for e in manifest["notebooks"]}
    assert [entries[s].get("html") for s in ("01_a", "02_b", "03_c")] == ["01_a.html", None, "03_c.html"]
    assert entries["03_c"]["html_nocode"] == "03_c.nocode.html"
    assert entries["02_b"]["html_error"] == "template missing" and entries["02_b"]["status"] == "ok"
    assert set(threads) == {"01_a", "02_b", "03_c"}
    assert all(t.startswith("dbm-html") for t in threads.values())  # not the thread running the stages
