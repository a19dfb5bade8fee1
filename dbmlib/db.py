"""Small helpers shared by every module that writes the marketing database."""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["read_frame", "table_exists", "transaction"]


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


def read_frame(con, sql: str, params=None, *, categorical=()) -> pd.DataFrame:
    """A query's result as a DataFrame, through Arrow: the same frame as DuckDB's ``.df()``
    (integer columns with missing values become ``Int64``, ENUMs ordered categoricals) but three
    to six times faster on millions of text rows, where ``.df()`` converts value by value.
    Text columns named in ``categorical`` (e.g. a file name repeated on every row) arrive as
    pandas categoricals, dictionary-encoded in Arrow: a fraction of the memory."""
    rel = con.sql(sql, params=params) if params is not None else con.sql(sql)
    table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()  # DuckDB < 1.4: arrow()
    for name in categorical:
        i = table.column_names.index(name)
        table = table.set_column(i, name, pc.dictionary_encode(table.column(i)))
    df = table.to_pandas()
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_integer(column.type) and column.null_count:
            df[name] = column.to_pandas(types_mapper={column.type: pd.Int64Dtype()}.get)
        elif pa.types.is_dictionary(column.type) and name not in categorical:  # a DuckDB ENUM: ordered, as .df() gives it
            df[name] = df[name].cat.as_ordered()
    return df
