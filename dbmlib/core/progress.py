"""Progress bars (tqdm) for the steps of a long stage.

Loops with a known length use :func:`bar`; a stage made of a few unequal steps (read, clean
customers, clean transactions, write ...) uses :class:`StepBar`, which shows the step
running now and, when done, how long the stage took.

Bars are tqdm's text bars on standard error, not its notebook widgets: JupyterLab redraws
them in place. They show only in an interactive session: ``dbm run`` sets
:data:`SCHEDULED_ENV` for the kernels it starts, and a scheduled run's report has no
progress bars (a reader wants the result, not how long each step took to draw).
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

__all__ = ["SCHEDULED_ENV", "StepBar", "bar", "interactive"]

#: Environment variable ``dbm run`` sets to "1" for the notebook kernels it starts.
SCHEDULED_ENV = "DBM_SCHEDULED_RUN"


def interactive() -> bool:
    """False inside a scheduled run (``dbm run``), True in JupyterLab or a script."""
    return os.environ.get(SCHEDULED_ENV) != "1"


def bar(iterable=None, *, total=None, desc: str = "", enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm text bar on standard error over ``iterable`` (or ``total`` steps); shown only
    when ``enabled`` and in an interactive session (:func:`interactive`)."""
    return tqdm(iterable, total=total, desc=desc, disable=not (enabled and interactive()), file=sys.stderr,
                **kwargs)


class StepBar:
    """A bar over named steps: ``bar.step("read")`` finishes the previous step and shows
    the new one; ``bar.close()`` finishes the last. Disabled bars cost nothing."""

    def __init__(self, desc: str, steps, enabled: bool = True):
        self.steps = list(steps)
        self._bar = bar(total=len(self.steps), desc=desc, unit="step", enabled=enabled)
        self._running = False

    def step(self, name: str) -> None:
        """Mark the previous step done and show ``name`` as the running one."""
        if name not in self.steps:
            raise ValueError(f"unknown step {name!r}; steps are {self.steps}")
        if self._running:
            self._bar.update(1)
        self._bar.set_postfix_str(name)
        self._running = True

    def close(self) -> None:
        """Mark the running step done and close the bar."""
        if self._running:
            self._bar.update(1)
            self._running = False
        self._bar.set_postfix_str("done")
        self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._bar.close()
        return False
