"""Warm kernels for ``dbm run``: the next notebook's kernel starts, and runs that notebook's
import statements, while the current notebook runs.

Starting a Jupyter kernel and importing pandas, scikit-learn and the workbench takes two to four
seconds per notebook, nearly all of it on one core, and a stage leaves the second core idle for
much of its time. papermill then executes the notebook on the warm kernel: the warm-up is
silent (no history, no output, no execution count), so the notebook's cells, their execution
counts and outputs are those of a fresh kernel; its import cell just finds the modules loaded.
A kernel that does not start or whose imports fail is shut down and the notebook gets a fresh
kernel, as without warming. Each kernel is shut down when its notebook ends, before the next
one starts, so it never holds the database while another stage runs.
"""

from __future__ import annotations

import ast
import logging
import threading
from pathlib import Path

__all__ = ["WarmKernel", "import_statements"]

log = logging.getLogger(__name__)

#: What nbclient passes to the kernels it starts: no IPython history file (runs share none).
HISTORY_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


def import_statements(notebook: Path) -> str:
    """The top-level ``import`` / ``from … import`` statements of the notebook's code cells, in
    order (magics and shell lines skipped; a cell that does not parse contributes nothing)."""
    import nbformat

    out = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        out += [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    return "\n".join(out)


def _on_own_thread(method, *args, **kwargs):
    """Run one of the kernel manager's coroutine methods to its end on a thread of its own (its
    own event loop): papermill's loop, in the main thread, may still hold the tasks of a
    notebook a Ctrl-C stopped, which running it again would wake."""
    from jupyter_core.utils import run_sync

    out, failure = [], []

    def call():
        try:
            out.append(run_sync(method)(*args, **kwargs))
        except Exception as exc:
            failure.append(exc)

    worker = threading.Thread(target=call, name="dbm-kernel-call", daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return out[0]


class WarmKernel:
    """A kernel for ``notebook`` started at once, on a background thread, which then runs the
    notebook's import statements; :meth:`take` hands its manager to papermill."""

    def __init__(self, notebook: Path, kernel_name: str, config, cwd: str):
        from jupyter_client.manager import AsyncKernelManager

        self.notebook = Path(notebook)
        self.km = AsyncKernelManager(kernel_name=kernel_name, config=config)
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._warm, args=(cwd,), daemon=True,
                                        name=f"dbm-warm-{self.notebook.stem}")
        self._thread.start()

    def _warm(self, cwd: str) -> None:
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_core.utils import run_sync

        try:
            run_sync(self.km.start_kernel)(cwd=cwd, extra_arguments=list(HISTORY_ARGUMENTS))
            code = import_statements(self.notebook)
            if not code:
                return
            kc = BlockingKernelClient()
            kc.load_connection_info(self.km.get_connection_info())
            kc.start_channels()
            try:
                kc.wait_for_ready(timeout=120)
                reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=600,
                                               output_hook=lambda _msg: None)
            finally:
                kc.stop_channels()
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        except Exception as exc:  # the notebook then runs on a fresh kernel, which reports any problem itself
            self.error = exc

    def take(self) -> dict:
        """papermill's keyword for the warm kernel (empty when it failed: it is then shut down
        and papermill starts a kernel). papermill "creates" the kernel manager from a class
        whose construction returns this one, so it owns it as its own — it stops the kernel
        and its connections when the notebook ends, exactly as for a kernel it started."""
        self._thread.join()
        if self.error is None and _on_own_thread(self.km.is_alive):
            km = self.km

            class _Started(type(km)):
                def __new__(cls, *args, **kwargs):
                    return km  # not an instance of this class: Python does not initialise it again

            return {"kernel_manager_class": _Started}
        log.info("warm kernel for %s not used: %s", self.notebook.name, self.error or "it stopped")
        self.shutdown()
        return {}

    def shutdown(self) -> None:
        """Stop the kernel (as papermill does after a notebook: asked first, then killed)."""
        self._thread.join()
        try:
            if self.km.has_kernel:
                _on_own_thread(self.km.shutdown_kernel, now=False)
        except Exception as exc:  # already gone: nothing to stop
            log.info("warm kernel for %s: %s", self.notebook.name, exc)
