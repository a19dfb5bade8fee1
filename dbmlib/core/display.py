"""Show results in a notebook: several tables under headings, several figures, a short note."""

from __future__ import annotations

__all__ = ["note", "show_tables"]


def note(text: str):
    """A sentence for the report (Markdown), for the case where a section has nothing to show."""
    from IPython.display import Markdown

    return Markdown(text)


def show_tables(tables: dict, *, figure=None, empty: str | None = None) -> int:
    """Display each ``{title: table}`` under its title, with ``figure(table)`` after it if given.

    ``empty`` is shown instead when there is no table. Returns the number of tables shown.
    """
    from IPython.display import Markdown, display

    if not tables and empty:
        display(Markdown(empty))
    for title, table in tables.items():
        display(Markdown(f"**{title}**"), table)
        if figure is not None:
            display(figure(table))
    return len(tables)
