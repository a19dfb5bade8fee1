"""Notebook hygiene and end-to-end runs through `dbm run` (papermill, headless)."""

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from dbmlib.core import config
from dbmlib.core.metrics import read_metrics
from dbmlib.run.pipeline import chromium

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def dbm(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "dbmlib.run.cli", *args], capture_output=True,
                          text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbm {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_hygiene(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and len(nb.cells[0].source) > 300
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "stored with outputs"
            lines = cell.source.splitlines()
            assert not any(line.lstrip().startswith(("def ", "class ", "lambda")) for line in lines)
    assert nb.metadata["kernelspec"]["name"] == config.KERNEL_NAME
    # every parameter line is a type-hinted, commented literal
    for line in tagged[0].source.splitlines():
        assert ": " in line.split("=")[0] and "#" in line, line
    # papermill reads every one of them (an "=" in a comment once made it skip a parameter)
    import papermill as pm

    assert len(pm.inspect_notebook(str(path))) == len(tagged[0].source.splitlines())


_METRIC_LINE = re.compile(r">\s*[a-z_]+(\.[\w -]+)+ = [^<]{0,40}<")


def _check_reports_read_as_documents(run, tmp_path):
    """Every code-hidden report: no stderr block, optimiser dump, metric line, absolute path or
    traceback; every report file readable by others."""
    for page in run.glob("*.nocode.html"):
        text = page.read_text()
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in text, page.name
        assert "OptimizeResult" not in text and "Traceback (most recent call last)" not in text, page.name
        assert not _METRIC_LINE.search(text), (page.name, _METRIC_LINE.search(text).group(0))
        for root in {str(tmp_path), str(config.PROJ_ROOT), str(Path.home())}:
            assert root not in text, (page.name, root)
        assert 'alt="No description' not in text, page.name  # every chart has alternative text
    for f in run.iterdir():
        assert f.stat().st_mode & 0o044 == 0o044, f"{f.name} is not readable by others"


def _check_index(run, reports):
    """index.html: every link resolves and every figure equals metrics.json; latest → run."""
    text = (run / "index.html").read_text()
    links = re.findall(r'href="([^"]+)"', text)
    assert len(links) >= 17 and all((run / html.unescape(h)).is_file() for h in links), links
    metrics = json.loads((run / "metrics.json").read_text())
    shown = re.findall(r'data-metric="([^"]+)" data-value="([^"]*)"', text)
    assert len(shown) >= 10
    for ref, value in shown:
        stage, name = html.unescape(ref).split("/", 1)
        assert json.loads(html.unescape(value)) == metrics[stage][name], ref
    assert (reports / "latest").resolve() == run.resolve()


def test_run_retail_demo_end_to_end(tmp_path):
    reports = tmp_path / "reports"
    dbm("run", "--source", "retail-demo", "--run-name", "demo", "--db", str(tmp_path / "m.duckdb"),
        "--reports-dir", str(reports), "-p", "n_customers=2000", "-p", "seed=3", "--round", "next")
    run = reports / "demo"
    for f in ["01_collection.ipynb", "01_collection.html", "01_collection.nocode.html",
              "manifest.json", "metrics.json"]:
        assert (run / f).exists(), f
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["seed"] == 3 and manifest["loop"]["round"] == 1
    nb = manifest["notebooks"][0]
    assert nb["status"] == "ok" and nb["duration_s"] > 0
    assert nb["parameters"]["n_customers"] == 2000
    assert manifest["versions"]["pandas"] == pd.__version__
    raw = config.RAW_DIR / "retail-demo-n2000-seed3"
    tx_rows = len(pd.read_csv(raw / "transactions.csv"))
    metrics = json.loads((run / "metrics.json").read_text())["01_collection"]
    assert metrics["rows_loaded.transactions"] == tx_rows
    assert metrics["rows_rejected.transactions"] == 0
    assert metrics == read_metrics(run / "01_collection.ipynb")
    cleaned = json.loads((run / "metrics.json").read_text())["02_cleaning"]
    assert all(v for k, v in cleaned.items() if k.endswith(".balanced"))
    shares = {k: v for k, v in cleaned.items() if k.endswith(".share_found")}
    assert len(shares) == 8 and min(shares.values()) >= 0.98
    assert cleaned["grade.merge_precision"] >= 0.99 and cleaned["grade.merge_recall"] >= 0.95
    seg = json.loads((run / "metrics.json").read_text())["03_segmentation"]
    segments = sum(v for k, v in seg.items() if k.startswith("segment."))
    life = sum(v for k, v in seg.items() if k.startswith("lifecycle."))
    assert segments == life == seg["customers"] == cleaned["reconciliation.customers.rows_out"]
    assert 0.3 < seg["concentration.gini"] < 0.9 and seg["concentration.top20_share"] > 0.4
    assert seg["clusters.k"] >= 2 and seg["clusters.adjusted_rand_vs_truth"] > 0
    model = json.loads((run / "metrics.json").read_text())["04_predictive_modelling"]
    assert model["model.chosen"] in {"bgnbd", "mbgnbd"}
    assert model["scores.rows"] == seg["buyers"]
    assert model["response.roc_auc.gbm"] > 0.55 and model["churn.roc_auc.gbm"] > 0.6
    assert round(model["cdnow_published.bgnbd.r.fitted"], 3) == 0.243
    camp = json.loads((run / "metrics.json").read_text())["05_campaigns"]
    for cid in ("C2024-09-EM", "C2025-02-DM"):
        assert camp[f"campaign.{cid}.abs_lift_lo"] < camp[f"campaign.{cid}.abs_lift"] < camp[f"campaign.{cid}.abs_lift_hi"]
        assert isinstance(camp[f"campaign.{cid}.truth_inside_interval"], bool)
    assert camp["plan.rule"] == "uplift" and camp["plan.list_size"] > 0
    assert camp["plan.contacted"] + camp["plan.control"] == camp["plan.list_size"] == camp["writeback.contacts"]
    assert camp["plan.export.written"] + camp["plan.export.no_email"] == camp["plan.contacted"]
    assert camp["plan.excluded.no email consent"] > 0
    assert not list(run.glob("*contacts.csv"))  # the contact file is written outside the report
    report = (run / "04_predictive_modelling.html").read_text()
    assert "bootstrap CLV" not in report  # progress bars only in an interactive session
    _check_reports_read_as_documents(run, tmp_path)
    _check_index(run, reports)
    nocode = (run / "01_collection.nocode.html").read_text()
    assert "collect.load_source" not in nocode and "Orders per month" in nocode
    # no personal data in the report folder
    cust = pd.read_csv(raw / "customers.csv", dtype=str)
    text = "\n".join(p.read_text(errors="ignore") for p in run.iterdir()).lower()
    emails = cust["email"].str.strip().str.lower().dropna()
    assert not [e for e in emails if e in text]
    streets = cust["street"].dropna().str.lower()
    assert not [s for s in streets if s in text]
    names = (cust["first_name"].str.strip() + " " + cust["last_name"].str.strip()).dropna().str.lower()
    # (the planted test accounts are called "Test Account": not a person, and a cleaning rule's name)
    assert not [n for n in names if n != "test account" and n in text]
    phones = cust["phone"].dropna()
    e164 = "+44" + phones.str.replace(" ", "").str[1:]
    assert not [p for p in list(phones) + list(e164) if p.lower() in text]


def test_run_cdnow(tmp_path):
    reports = tmp_path / "reports"
    dbm("run", "--source", "cdnow", "--run-name", "cd", "--db", str(tmp_path / "m.duckdb"),
        "--reports-dir", str(reports), "-p", "05.channel=direct_mail", "--pdf")
    for nb in json.loads((reports / "cd" / "manifest.json").read_text())["notebooks"]:
        if chromium():  # a PDF of each code-hidden report, linked from the index
            pdf = reports / "cd" / nb["pdf"]
            assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000, nb["notebook"]
            assert f'href="{nb["pdf"]}"' in (reports / "cd" / "index.html").read_text()
        else:
            assert "no Chromium" in nb["pdf_error"]
    metrics = json.loads((reports / "cd" / "metrics.json").read_text())["01_collection"]
    assert metrics["rows_loaded.transactions"] == 69_659
    assert metrics["rows_loaded.customers"] == 0
    assert metrics["transactions.first_date"] == "1997-01-01"
    assert metrics["transactions.last_date"] == "1998-06-30"
    assert metrics["transactions.months"] == 18
    cleaned = json.loads((reports / "cd" / "metrics.json").read_text())["02_cleaning"]
    assert cleaned["reconciliation.transactions.rows_out"] == 69_659
    assert cleaned["reconciliation.customers.rows_out"] == 23_570
    assert cleaned["customers.merged_records"] == 0
    seg = json.loads((reports / "cd" / "metrics.json").read_text())["03_segmentation"]
    assert seg["customers"] == seg["buyers"] == 23_570
    assert "clusters.adjusted_rand_vs_truth" not in seg  # no truth for real data
    # no categories: the product section says what it skips, the rest runs; 04 makes no offers
    assert seg["products.categories"] == 0 and seg["baskets.order_rules"] == seg["baskets.customer_rules"] == 0
    executed = {p.name: p.read_text() for p in (reports / "cd").glob("0[34]_*.ipynb")}
    assert "known category value(s): no category analysis" in executed["03_segmentation.ipynb"]
    assert "nothing to offer" in executed["04_predictive_modelling.ipynb"]
    assert seg["cohorts.count"] == 3  # CDNOW customers were all acquired in Q1 1997
    model = json.loads((reports / "cd" / "metrics.json").read_text())["04_predictive_modelling"]
    assert "response.roc_auc.gbm" not in model  # no campaign history: churn and CLV only
    assert not [k for k in model if k.startswith("offers.")]
    assert model["scores.rows"] == 23_570 and model["churn.roc_auc.gbm"] > 0.6
    camp = json.loads((reports / "cd" / "metrics.json").read_text())["05_campaigns"]
    assert camp["plan.rule"] == "segment"  # no campaign history: plan only, by RFM segment
    assert camp["plan.list_size"] > 0 and camp["plan.control"] > 0
    assert camp["plan.export.no_street"] == camp["plan.contacted"]  # CDNOW has no addresses
    assert not [k for k in camp if k.startswith(("campaign.", "uplift.", "writeback."))]


def test_failing_notebook_exits_nonzero_naming_cell(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": config.KERNEL_NAME, "display_name": "x", "language": "python"}
    params = nbformat.v4.new_code_cell("source: str = 'x'  # ignored")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# broken"), params,
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("raise ValueError('planted failure')"),
                nbformat.v4.new_code_cell("y = 2")]
    nbformat.write(nb, nbs / "01_broken.ipynb")
    nbformat.write(nb, nbs / "02_never.ipynb")
    proc = dbm("run", "--notebooks-dir", str(nbs), "--reports-dir", str(tmp_path / "r"),
               "--run-name", "bad", "--db", str(tmp_path / "m.duckdb"), check=False)
    assert proc.returncode == 1
    assert "01_broken.ipynb, cell 4:" in proc.stderr and "planted failure" in proc.stderr
    run = tmp_path / "r" / "bad"
    assert (run / "01_broken.ipynb").exists()  # the partial notebook is kept
    assert not (run / "02_never.ipynb").exists()  # the run stopped
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["notebooks"][0]["failed_cell"] == 4


def test_unknown_stage_is_a_clear_error(tmp_path):
    proc = dbm("run", "--stages", "42", "--reports-dir", str(tmp_path), check=False)
    assert proc.returncode == 2 and "no notebook for stage(s) ['42']" in proc.stderr
