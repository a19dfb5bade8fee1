"""The workbench's own errors: each names the file, the column, the rows and what was expected."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["InputError", "StageError", "format_rows"]


def format_rows(rows: Sequence[int], limit: int = 5) -> str:
    """``[3, 9, 12, 40, 41, 50]`` → ``"rows 3, 9, 12, 40, 41 (6 in all)"``."""
    rows = list(rows)
    if not rows:
        return "no row"
    head = ", ".join(str(r) for r in rows[:limit])
    word = "row" if len(rows) == 1 else "rows"
    more = f" ({len(rows)} in all)" if len(rows) > limit else ""
    return f"{word} {head}{more}"


class InputError(ValueError):
    """Bad input, described so a user knows what to fix.

    Attributes
    ----------
    file : str or None
        The file (or table/query) the input came from.
    column : str or None
    rows : list of int
        1-based data-row numbers (the header is not counted).
    expected : str
        What a valid value looks like.
    values : list
        The first offending values.
    """

    def __init__(self, file=None, column=None, rows=(), expected="", values=(), problem=""):
        self.file = None if file is None else str(file)
        self.column = column
        self.rows = [int(r) for r in rows]
        self.expected = expected
        self.values = list(values)
        self.problem = problem
        parts = [self.file or "<input>"]
        if column is not None:
            parts.append(f"column {column!r}")
        if self.rows:
            parts.append(format_rows(self.rows))
        msg = ": ".join(parts)
        if problem:
            msg += f": {problem}"
        if expected:
            msg += f"; expected {expected}"
        if self.values:
            shown = ", ".join(repr(v) for v in self.values[:5])
            msg += f"; got {shown}"
        super().__init__(msg)


class StageError(RuntimeError):
    """A notebook (stage) of a run failed; names the notebook and the failing cell."""

    def __init__(self, notebook: str, cell: int | None, message: str, output: str | None = None):
        self.notebook = notebook
        self.cell = cell
        self.output = output
        where = f"{notebook}" + (f", cell {cell}" if cell is not None else "")
        super().__init__(f"{where}: {message}")
