"""Runs: execute the numbered notebooks with papermill into a report folder.

A run executes ``notebooks/NN_*.ipynb`` in order into ``reports/<run name>/``, writing for
each notebook the executed ``.ipynb``, an HTML export, and a code-hidden HTML
(``*.nocode.html``) for readers who don't read code; then ``manifest.json`` (parameters,
package versions, start, end, duration and status per notebook) and ``metrics.json``
(the figures each notebook recorded with :func:`dbmlib.core.metrics.record`).

Parameters are injected only into notebooks whose ``parameters`` cell declares them.
A failing cell stops the run with :class:`~dbmlib.core.errors.StageError` naming the
notebook and the cell; the partially executed notebook is kept and the database is put back
as it was before that notebook (:mod:`dbmlib.core.checkpoint`; also after a killed run). One run
at a time holds a database (:mod:`dbmlib.core.lock`).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

from ..core import checkpoint, config
from ..core.errors import StageError
from ..core.io import atomic_path, atomic_write_text, sha256_file
from ..core.lock import database_lock
from ..core.metrics import METRIC_MIME, read_metrics, to_jsonable
from ..core.progress import SCHEDULED_ENV
from .index import stage_findings, update_latest, write_index
from .kernels import WarmKernel
from .sources import database_for, feedback_dir

__all__ = ["RunResult", "check_parameters", "chromium", "declared_parameters", "discover_notebooks",
           "export_pdf", "loop_parameters", "parameter_types",
           "package_versions", "run"]

log = logging.getLogger(__name__)

_PACKAGES = ["dbm-workbench", "pandas", "numpy", "scipy", "scikit-learn", "lifetimes", "duckdb",
             "pandera", "papermill", "matplotlib", "seaborn", "ipywidgets", "nbconvert"]


@dataclass
class RunResult:
    """Where a run wrote its outputs and how each notebook ended."""

    run_dir: Path
    status: str
    notebooks: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


def package_versions() -> dict[str, str]:
    """Python's and the key packages' versions, for a run's manifest."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def discover_notebooks(notebooks_dir=None, stages=None) -> list[Path]:
    """Numbered notebooks in order; ``stages`` (e.g. ``["01", "03"]``) selects a subset."""
    folder = Path(notebooks_dir or config.NOTEBOOKS_DIR)
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if stages:
        wanted = {str(s).zfill(2) for s in stages}
        unknown = wanted - {p.name[:2] for p in found}
        if unknown:
            raise ValueError(f"no notebook for stage(s) {sorted(unknown)} in {folder}; "
                             f"available: {[p.name for p in found]}")
        found = [p for p in found if p.name[:2] in wanted]
    if not found:
        raise ValueError(f"no numbered notebooks (NN_name.ipynb) in {folder}")
    return found


def declared_parameters(notebook: Path) -> dict:
    """Names and defaults declared in a notebook's ``parameters`` cell."""
    import papermill as pm

    return {k: v["default"] for k, v in pm.inspect_notebook(str(notebook)).items()}


def parameter_types(notebooks_dir=None) -> dict:
    """``{"01": {"decimal": "str", "seed": "int", …}, …}``: the declared type of every
    notebook parameter (for reading ``-p name=value`` as the notebook expects)."""
    import papermill as pm

    try:
        every = discover_notebooks(notebooks_dir)
    except (FileNotFoundError, ValueError):
        return {}
    return {nb.name[:2]: {k: v["inferred_type_name"] for k, v in pm.inspect_notebook(str(nb)).items()}
            for nb in every}


def _absolute_paths(values: dict) -> dict:
    """Path parameters (``source`` folders, ``*_file``) given relative to where ``dbm run`` was
    started, made absolute: notebooks run in their own folder, where a relative path would
    name another file (or none)."""
    out = dict(values)
    for key, value in values.items():
        if not (isinstance(value, str) and value and (key == "source" or key.endswith("_file"))):
            continue
        if key == "source" and value in {"retail-demo", "cdnow", "cdnow-sample"}:
            continue
        path = Path(value).expanduser()
        if path.exists():
            out[key] = str(path.resolve())
    return out


def _kernel_config(notebook: Path):
    """Kernels talk to the run over local IPC sockets (in the temporary folder), not TCP: the
    kernel then has no unencrypted network port to warn about, and nothing listens on one.
    Each notebook's kernel has its own socket names: two are alive at once (the next one warms)."""
    import tempfile

    from traitlets.config import Config

    cfg = Config()
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = str(Path(tempfile.gettempdir()) / f"dbm-kernel-{os.getpid()}-{notebook.stem}")
    return cfg


def _kernel_name(preferred: str) -> str:
    from jupyter_client.kernelspec import find_kernel_specs

    specs = find_kernel_specs()
    if preferred in specs:
        return preferred
    log.warning("Jupyter kernel %r is not registered (run `make venv`); using 'python3'", preferred)
    return "python3"


def _export_html(executed: Path, findings: str = "") -> tuple[Path, Path]:
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb = nbformat.read(executed, as_version=4)
    # progress bars arrive as one stream message per redraw ("\r"); keep the final state
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    if findings:  # "what this run found", from the stage's own metrics, under the title
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(findings))
    for cell in nb.cells:  # recorded metrics are for metrics.json and the index, not the page
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if METRIC_MIME not in o.get("data", {})]
    full = executed.with_suffix(".html")
    nocode = executed.with_suffix(".nocode.html")
    template = {"template_name": "dbm", "extra_template_basedirs": [str(Path(__file__).parent / "templates")]}
    body, _ = HTMLExporter(**template).from_notebook_node(nb)
    atomic_write_text(body, full)
    for cell in nb.cells:  # the document keeps its prose; the warnings stderr repeats go to the index
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream"
                                                            and o.get("name") == "stderr")]
    body, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                           **template).from_notebook_node(nb)
    atomic_write_text(body, nocode)
    return full, nocode


def chromium() -> str | None:
    """The system's Chromium (Debian's ``chromium``), or None."""
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def export_pdf(html_file: Path, browser: str | None = None, timeout: float = 180) -> Path:
    """Print a report to PDF beside it with headless Chromium (the code-hidden HTML as a
    document for people who receive reports by e-mail); nothing is downloaded.

    Raises
    ------
    RuntimeError
        When there is no Chromium, or it fails (its last output lines in the message).
    """
    import subprocess
    import tempfile

    browser = browser or chromium()
    if not browser:
        raise RuntimeError("no Chromium on this machine (Debian: apt-get install chromium)")
    html_file = Path(html_file).resolve()
    pdf = html_file.with_name(html_file.name.replace(".nocode.html", ".html")).with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile, atomic_path(pdf) as tmp:
        done = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={tmp}",
                               html_file.as_uri()], capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode or not tmp.exists() or tmp.stat().st_size == 0:
            raise RuntimeError(f"Chromium could not print {html_file.name}: {done.stderr.strip()[-500:]}")
    return pdf


def _source_cell(notebook: Path, executed: Path, cell_index: int) -> tuple[int | None, str]:
    """1-based position, in the stored notebook, of the executed notebook's failing cell.

    Papermill inserts an ``injected-parameters`` cell, so the executed notebook's index is
    not the one a user sees in the stored notebook; cells are matched by id.
    """
    import nbformat

    try:
        cells = nbformat.read(executed, as_version=4).cells
        original = nbformat.read(notebook, as_version=4).cells
    except (OSError, ValueError):
        return None, ""
    errored = [c for c in cells if c.cell_type == "code"
               and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    if errored:
        failing = errored[0]
    elif 0 <= cell_index < len(cells):
        failing = cells[cell_index]
    else:
        return None, ""
    first_line = failing.source.strip().splitlines()[0][:80] if failing.source.strip() else ""
    for i, cell in enumerate(original, start=1):
        if cell.get("id") == failing.get("id"):
            return i, first_line
    return None, first_line


def _stage_params(notebook: Path, common: dict, per_stage: dict) -> tuple[dict, list[str]]:
    declared = declared_parameters(notebook)
    merged = dict(common) | dict(per_stage.get(notebook.name[:2], {})) \
        | dict(per_stage.get(notebook.stem, {}))
    params = {k: v for k, v in merged.items() if k in declared}
    unused = sorted(k for k in dict(per_stage.get(notebook.name[:2], {})) if k not in declared)
    return params, unused


def loop_parameters(loop_round: str | None, feedback: Path) -> dict:
    """The campaign loop's settings for a run, and what the manifest records of them.

    Without ``loop_round`` the run is pristine: 01 loads no written-back campaign and 05 writes
    none back (``round_no`` 0). With ``"next"`` it plays round *k* = 1 + the rounds already
    written back to ``feedback``: 01 loads them, 05 measures the last one and writes this
    round's back. Returns ``{"round", "feedback_inputs" (file, sha256), "parameters"}``.
    """
    if loop_round is None:
        return {"round": 0, "feedback_inputs": [],
                "parameters": {"feedback": False, "write_back": False, "round_no": 0}}
    if str(loop_round) != "next":
        raise ValueError(f"--round {loop_round}: the loop advances one round at a time; use --round next")
    done = sorted(p for p in feedback.iterdir() if p.is_dir()) if feedback.is_dir() else []
    inputs = [{"file": f"{p.parent.name}/{p.name}", "sha256": sha256_file(p)}
              for d in done for p in sorted(d.glob("*.csv"))]
    k = len(done) + 1
    return {"round": k, "feedback_inputs": inputs,
            "parameters": {"feedback": True, "write_back": True, "round_no": k}}


def check_parameters(params: dict, stage_params: dict, every: list[Path]) -> None:
    """Refuse parameter names no notebook declares, naming the closest valid one.

    ``params`` must be declared by some notebook of ``every`` (or be ``seed``): one list of
    ``-p`` serves runs of any stages;
    ``stage_params`` keys must name a stage (``"01"``) and their names be declared by it.

    Raises
    ------
    ValueError
        Naming the unknown parameter, where it came from and the closest valid name.
    """
    from difflib import get_close_matches

    def refuse(name, where, valid):
        close = get_close_matches(name, sorted(valid), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid names: {', '.join(sorted(valid))}"
        raise ValueError(f"unknown parameter {name!r} {where}{hint}")

    declared = {nb.name[:2]: set(declared_parameters(nb)) for nb in every}
    common = set().union(*declared.values()) | {"seed"}
    for name in params:
        if name not in common:
            refuse(name, "(no notebook declares it)", common)
    for stage, values in stage_params.items():
        key = str(stage)[:2].zfill(2)
        if key not in declared:
            raise ValueError(f"parameters for stage {stage!r}: there is no such stage; stages are "
                             f"{', '.join(sorted(declared))}")
        for name in values:
            if name not in declared[key]:
                refuse(name, f"for stage {key}", declared[key])


def _write_summary(run_dir: Path, manifest: dict, metrics: dict) -> None:
    atomic_write_text(json.dumps(to_jsonable(manifest), indent=2), run_dir / "manifest.json")
    atomic_write_text(json.dumps(to_jsonable(metrics), indent=2), run_dir / "metrics.json")
    write_index(run_dir, to_jsonable(manifest), to_jsonable(metrics))
    update_latest(run_dir)


def run(*, source: str = "retail-demo", run_name: str | None = None, seed: int = 0,
        stages=None, params: dict | None = None, stage_params: dict | None = None,
        db_path=None, reports_dir=None, notebooks_dir=None, kernel_name: str | None = None,
        lock_wait: float = 0.0, loop_round: str | None = None, echo=print, pdf: bool = False) -> RunResult:
    """Execute the notebooks; see the module docstring.

    Parameters
    ----------
    source : str
        ``retail-demo`` (generated on first use), ``cdnow``, ``cdnow-sample`` or a folder.
    run_name : str, optional
        Report folder name; default the start time ``YYYY-MM-DD_HHMMSS``.
    seed : int
        Passed to every notebook that declares ``seed``.
    stages : list of str, optional
        Stage numbers to run (``["01"]``); default all.
    params : dict
        Parameters for every notebook that declares them.
    stage_params : dict
        ``{"01": {...}}``: parameters for one stage (win over ``params``).
    db_path : path, optional
        The marketing database; default the source's own
        (:func:`~dbmlib.run.sources.database_for`).
    loop_round : {"next"}, optional
        Play the next round of the campaign loop (:func:`loop_parameters`); default a pristine
        run: nothing written back, nothing from earlier runs loaded, so the same parameters
        give the same numbers.
    lock_wait : float
        Seconds to wait when another run holds the database (:mod:`dbmlib.core.lock`); then
        :class:`~dbmlib.core.lock.DatabaseBusyError`.
    echo : callable
        Receives one progress line per notebook (``None`` to be silent).
    pdf : bool
        Also print each code-hidden report to PDF with the system's Chromium
        (:func:`export_pdf`); a stage whose PDF fails says why in the manifest.
    """
    started = datetime.now()
    params = _absolute_paths(dict(params or {}))
    source = _absolute_paths({"source": str(source)})["source"]
    stage_params = {stage: _absolute_paths(values) for stage, values in (stage_params or {}).items()}
    seed = int(params.pop("seed", seed))  # `-p seed=N` is the same as seed=N
    run_name = run_name or started.strftime("%Y-%m-%d_%H%M%S")
    run_dir = Path(reports_dir or config.REPORTS_DIR) / run_name
    notebooks = discover_notebooks(notebooks_dir, stages)
    check_parameters(params, stage_params or {}, discover_notebooks(notebooks_dir))
    size = {k: params[k] for k in ("n_customers", "purchase_rate") if k in params}
    db = str(database_for(str(source), int(seed), db_path=db_path, **size).resolve())
    loop = loop_parameters(loop_round, feedback_dir(db, str(source), int(seed), **size))
    common = {"source": str(source), "seed": int(seed), "db_path": db, "run_name": run_name}
    common["interactive"] = False  # widgets degrade to static tables in a scheduled run
    common |= loop.pop("parameters") | dict(params or {})
    kernel = _kernel_name(kernel_name or config.KERNEL_NAME)
    manifest = {"run_name": run_name, "started": started.isoformat(timespec="seconds"),
                "source": str(source), "seed": int(seed), "db_path": db, "kernel": kernel,
                "parameters": common, "stage_parameters": stage_params or {}, "loop": loop,
                "versions": package_versions(), "notebooks": []}
    metrics: dict = {}
    say = echo or (lambda *_: None)
    import papermill as pm

    try:
        with database_lock(db, wait_seconds=lock_wait, run_name=run_name):
            run_dir.mkdir(parents=True, exist_ok=True)  # only a run that may start gets a folder
            interrupted = checkpoint.restore(db)
            if interrupted:
                say(f"restored the database to its state before {interrupted} (an earlier run was "
                    "interrupted there)")
                manifest["restored_before"] = interrupted
            previous = os.environ.get(SCHEDULED_ENV)
            os.environ[SCHEDULED_ENV] = "1"  # the kernels started now inherit it: no progress bars
            try:
                error = _run_notebooks(pm, notebooks, run_dir, common, stage_params, kernel, manifest,
                                       metrics, say)
            finally:
                if previous is None:
                    os.environ.pop(SCHEDULED_ENV, None)
                else:
                    os.environ[SCHEDULED_ENV] = previous
    except KeyboardInterrupt:  # Ctrl-C: the stage was rolled back; say so in the manifest too
        if run_dir.exists():
            manifest |= {"finished": datetime.now().isoformat(timespec="seconds"), "status": "interrupted"}
            _write_summary(run_dir, manifest, metrics)
        raise
    if pdf:
        _export_pdfs(run_dir, manifest, say)
    status = "failed" if error else "ok"
    finished = datetime.now()
    manifest |= {"finished": finished.isoformat(timespec="seconds"), "status": status,
                 "duration_s": round((finished - started).total_seconds(), 2)}
    _write_summary(run_dir, manifest, metrics)
    if error:
        raise error
    return RunResult(run_dir, status, manifest["notebooks"], metrics)


def _export_pdfs(run_dir: Path, manifest: dict, say) -> None:
    """A PDF of every code-hidden report (``entry["pdf"]``), or the reason there is none."""
    for entry in manifest["notebooks"]:
        if entry.get("html_nocode"):
            try:
                entry["pdf"] = export_pdf(run_dir / entry["html_nocode"]).name
            except (RuntimeError, OSError) as exc:
                entry["pdf_error"] = str(exc)
                say(f"[{Path(entry['notebook']).stem}] no PDF: {exc}")


def _run_notebooks(pm, notebooks, run_dir, common, stage_params, kernel, manifest, metrics, say):
    """Execute the notebooks in order until one fails; returns its StageError or None.

    Each notebook runs between :func:`checkpoint.begin_stage` and ``end_stage``; a failed
    one is rolled back (:func:`checkpoint.restore`). A finished notebook's HTML pages are
    written on a background thread while the next one runs (a second or two each, on a core
    the next kernel rarely keeps busy); all of them are in place, or their ``html_error``
    recorded, when this returns or raises."""
    exports, warm = [], {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbm-html") as pool:
        try:
            return _run_each(pm, notebooks, run_dir, common, stage_params, kernel, manifest, metrics, say,
                             lambda entry, *args: exports.append((entry, pool.submit(_export_html, *args))), warm)
        finally:
            for kernel_ in warm.values():  # a next notebook that will not run (a failure, Ctrl-C)
                kernel_.shutdown()
            for entry, done in exports:
                try:
                    entry["html"], entry["html_nocode"] = (p.name for p in done.result())
                except Exception as exc:  # a report export problem must not hide the run's result
                    entry["html_error"] = str(exc)


def _run_each(pm, notebooks, run_dir, common, stage_params, kernel, manifest, metrics, say, export, warm):
    """The loop of :func:`_run_notebooks`; ``warm`` holds the next notebook's
    :class:`~dbmlib.run.kernels.WarmKernel`, started when the one before it starts."""
    for i, nb in enumerate(notebooks):
        out = run_dir / nb.name
        nb_params, unused = _stage_params(nb, common, stage_params or {})
        entry = {"notebook": nb.name, "parameters": nb_params, "unused_parameters": unused,
                 "start": datetime.now().isoformat(timespec="seconds"), "output": out.name}
        t0 = time.perf_counter()
        log.info("[%s] running …", nb.stem)  # the console gets one line per stage, when it ends
        error = None
        checkpoint.begin_stage(common["db_path"], nb.stem)
        warmed = warm.pop(nb, None)
        started = warmed.take() if warmed else {}
        if i + 1 < len(notebooks):
            following = notebooks[i + 1]
            warm[following] = WarmKernel(following, kernel, _kernel_config(following), str(following.parent))
        try:
            try:
                pm.execute_notebook(str(nb), str(out), parameters=nb_params, kernel_name=kernel,
                                    cwd=str(nb.parent), progress_bar=False, log_output=False,
                                    config=_kernel_config(nb), **started)
            finally:  # papermill has stopped it; should anything have kept it alive, it goes before a restore
                if warmed is not None:
                    warmed.shutdown()
        except pm.PapermillExecutionError as exc:
            cell, first_line = _source_cell(nb, out, exc.cell_index)
            error = StageError(nb.name, cell, f"{exc.ename}: {exc.evalue}  [cell starts: "
                               f"{first_line}]", output=str(out))
        except Exception as exc:  # a dead kernel, a papermill failure …: a named stage error
            error = StageError(nb.name, None, f"{type(exc).__name__}: {exc} (the notebook's kernel stopped)",
                               output=str(out))
        except BaseException:  # Ctrl-C …: undo the stage, then let it propagate
            checkpoint.restore(common["db_path"])
            raise
        if error:
            checkpoint.restore(common["db_path"])
            entry["database_restored"] = True
        else:
            checkpoint.end_stage(common["db_path"])
        entry["duration_s"] = round(time.perf_counter() - t0, 2)
        entry["end"] = datetime.now().isoformat(timespec="seconds")
        entry["status"] = "failed" if error else "ok"
        if out.exists():
            metrics[nb.stem] = read_metrics(out)
            try:
                export(entry, out, stage_findings(nb.stem, metrics[nb.stem]) if not error else "")
            except Exception as exc:  # a report export problem must not hide the run's result
                entry["html_error"] = str(exc)
        if error:
            entry["error"] = str(error)
            entry["failed_cell"] = error.cell
        manifest["notebooks"].append(entry)
        say(f"[{nb.stem}] {entry['status']} in {entry['duration_s']:.1f} s")
        if error:
            return error
    return None
