"""The one DuckDB gateway.

Every SQL statement of the package runs through :func:`run`. Frames are registered by
name for the duration of one call; user values go in as parameters and identifiers are
quoted with :func:`quote_ident`, never formatted into SQL text.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

# One connection per thread: DuckDB connections are not safe to share between the
# threads Streamlit runs sessions on, and opening one costs about a millisecond.
_local = threading.local()

#: Memory ceiling for DuckDB (PERSONA_LENS_DUCKDB_MEMORY overrides it). Measured on
#: 10 M events, file to features: 2GB -> 11-13 s, 2.7 GB peak RSS of the process;
#: 1GB -> 12.1 s, 2.2 GB; 700MB -> 14.5 s, 1.6 GB (the rest is the numpy key arrays).
MEMORY_LIMIT = os.environ.get("PERSONA_LENS_DUCKDB_MEMORY", "2GB")


def connection() -> duckdb.DuckDBPyConnection:
    """Return this thread's in-memory DuckDB connection, created on first use."""
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET memory_limit = ?", [MEMORY_LIMIT])
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        _local.con = con
    return con


def quote_literal(value: str) -> str:
    """Quote a text value as a SQL string literal (single quotes doubled).

    For the few places where a value must be part of a view's text (a constant column);
    queries that run once take parameters instead.

    Raises
    ------
    ValueError
        When the value holds a NUL character, which no SQL literal can carry.
    """
    text = str(value)
    if "\x00" in text:
        raise ValueError("A text value with a NUL character cannot be used in SQL.")
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """Quote an identifier (column or table name) for DuckDB SQL.

    Parameters
    ----------
    name : str
        Any column name, including ones with spaces, quotes or SQL keywords.

    Returns
    -------
    str
        The name wrapped in double quotes with embedded quotes doubled.
    """
    return '"' + str(name).replace('"', '""') + '"'


def run(
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
    **frames: Any,
) -> pd.DataFrame:
    """Run one query and return its result as a DataFrame.

    Parameters
    ----------
    sql : str
        The query. Refer to each frame in ``frames`` by its keyword name.
    params : sequence or mapping, optional
        Values bound to ``?`` or ``$name`` placeholders.
    **frames
        pandas DataFrames, Arrow tables or DuckDB relations made visible to the query
        under the given names, for this call only.

    Returns
    -------
    pandas.DataFrame
    """
    con = connection()
    registered = []
    try:
        for name, frame in frames.items():
            con.register(name, frame)
            registered.append(name)
        return con.execute(sql, params or []).df()
    finally:
        for name in registered:
            con.unregister(name)


class Scratch:
    """Temporary tables on this thread's connection, dropped when the block ends.

    Table names are generated here (never taken from user input), so SQL that refers
    to them may format them in; user values still go in as parameters.

    Examples
    --------
    >>> with Scratch() as s:
    ...     t = s.create("t", "SELECT 1 AS x")
    ...     s.df(f"SELECT x FROM {t}")
    """

    _counter = 0

    def __init__(self) -> None:
        self.con = connection()
        self._tables: list[str] = []
        self._views: list[str] = []
        self._created_views: list[str] = []

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in reversed(self._created_views):
            self.con.execute(f"DROP VIEW IF EXISTS {name}")
        for name in self._tables:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        for name in self._views:
            self.con.unregister(name)

    def _name(self, prefix: str) -> str:
        Scratch._counter += 1
        return f"pl_{prefix}_{Scratch._counter}"

    def register(self, frame: Any, prefix: str = "frame") -> str:
        """Make a DataFrame or Arrow table visible to SQL; return its name."""
        name = self._name(prefix)
        self.con.register(name, frame)
        self._views.append(name)
        return name

    def create(self, prefix: str, sql: str, params: Sequence[Any] | None = None) -> str:
        """Create a temporary table from a query; return its name."""
        name = self._name(prefix)
        self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}", params or [])
        self._tables.append(name)
        return name

    def view(self, prefix: str, sql: str) -> str:
        """Create a temporary view (evaluated lazily by each query that reads it)."""
        name = self._name(prefix)
        self.con.execute(f"CREATE TEMP VIEW {name} AS {sql}")
        self._created_views.append(name)
        return name

    def parquet_view(self, path: str, prefix: str = "parquet",
                     row_number_column: str | None = None) -> str:
        """Expose a Parquet file as a view without reading it into memory.

        With ``row_number_column``, the view adds each row's position in the file
        under that name (stable across scans, unlike ``row_number() OVER ()``).
        """
        name = self._name(prefix)
        if row_number_column is None:
            self.con.read_parquet(path).create_view(name)
        else:
            inner = self._name(prefix)
            self.con.read_parquet(path, file_row_number=True).create_view(inner)
            self._created_views.append(inner)
            self.con.execute(f"CREATE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
                             f"file_row_number AS {quote_ident(row_number_column)} FROM {inner}")
        self._created_views.append(name)
        return name

    def df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a query and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def arrow_df(self, sql: str) -> pd.DataFrame:
        """Run a query and return a DataFrame by way of Arrow: text stays Arrow-backed
        (pandas' ``str``), 3-4x less work than :meth:`df` for a table of many strings
        (measured on 1.5 M events)."""
        import pyarrow as pa

        text = pd.StringDtype("pyarrow", na_value=float("nan"))
        return self.con.sql(sql).to_arrow_table().to_pandas(
            types_mapper={pa.string(): text, pa.large_string(): text}.get)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Run a query and return all rows as tuples."""
        return self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query that returns one value."""
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def columns(self, table: str) -> dict[str, str]:
        """Return ``{column: type}`` of a table or registered frame."""
        rows = self.rows(f"DESCRIBE {table}")
        return {r[0]: r[1] for r in rows}
