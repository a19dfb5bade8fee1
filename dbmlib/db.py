"""Small helpers shared by every module that writes the marketing database."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["table_exists", "transaction"]


@contextmanager
def transaction(con):
    """Run the block in one DuckDB transaction: committed on success, rolled back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def table_exists(con, table: str) -> bool:
    """Whether the database has a table of that name."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchall()[0][0])
