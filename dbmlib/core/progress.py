"""Progress bars (tqdm) for the steps of a long stage.

Loops with a known length use :func:`bar`; a stage made of a few unequal steps (read, clean
customers, clean transactions, write ...) uses :class:`StepBar`, which shows the step
running now and, when done, how long the stage took.

Bars are tqdm's text bars on standard error, not its notebook widgets: JupyterLab redraws
them in place, and a notebook executed by papermill keeps the final state ("20/20
[00:35]") as text that the HTML report shows — a widget would be saved without its state
and show "0%".
"""

from __future__ import annotations

import sys

from tqdm import tqdm

__all__ = ["StepBar", "bar"]


def bar(iterable=None, *, total=None, desc: str = "", enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm text bar on standard error over ``iterable`` (or ``total`` steps)."""
    return tqdm(iterable, total=total, desc=desc, disable=not enabled, file=sys.stderr, **kwargs)


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
