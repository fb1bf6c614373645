"""The scratch-space API of :class:`core.common.engine.Scratch`, on a Spark session.

Cleaning and feature code written against ``Scratch`` (``view``, ``create``, ``rows``,
``df``, ``columns``...) runs here unchanged: each query, written in DuckDB's SQL, is
translated to Spark SQL by :func:`core.common.dialects.in_dialect` with its parameters
as literals. That is how the feature definitions stay in one place for both engines.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.common.dialects import in_dialect

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_names = itertools.count(1)


def duckdb_type(spark_type: str) -> str:
    """The DuckDB name of a Spark SQL type (the cleaning code reads DuckDB's names)."""
    t = spark_type.lower()
    simple = {"string": "VARCHAR", "double": "DOUBLE", "float": "FLOAT", "bigint": "BIGINT",
              "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
              "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE",
              "timestamp_ntz": "TIMESTAMP", "binary": "BLOB"}
    if t in simple:
        return simple[t]
    if t.startswith("decimal"):
        return t.upper()
    if t.startswith(("varchar", "char")):
        return "VARCHAR"
    return t.upper()


class SparkScratch:
    """Temporary views of one Spark session, named as ``Scratch`` names its tables."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._views: list[str] = []
        self._cached: list[DataFrame] = []

    def __enter__(self) -> SparkScratch:
        return self

    def __exit__(self, *exc: object) -> None:
        for frame in self._cached:
            frame.unpersist()
        for name in self._views:
            self.spark.catalog.dropTempView(name)

    def _name(self, prefix: str) -> str:
        return f"pl_{prefix}_{next(_names)}"

    def sql(self, sql: str, params: Sequence[Any] | None = None) -> DataFrame:
        """Run a DuckDB-dialect query on Spark."""
        return self.spark.sql(in_dialect(sql, "spark", pretty=False, params=params or ()))

    def frame(self, frame: DataFrame, prefix: str = "frame") -> str:
        """Name a Spark DataFrame for SQL; return the name."""
        name = self._name(prefix)
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        return name

    def register(self, frame: Any, prefix: str = "frame") -> str:
        """Make a (small) pandas DataFrame or Arrow table visible to SQL."""
        import pyarrow as pa

        table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(
            frame, preserve_index=False)
        return self.frame(self.spark.createDataFrame(table), prefix)

    def view(self, prefix: str, sql: str) -> str:
        """A view evaluated by each query that reads it."""
        return self.frame(self.sql(sql), prefix)

    def create(self, prefix: str, sql: str, params: Sequence[Any] | None = None) -> str:
        """A table computed once (cached by Spark) from a query."""
        frame = self.sql(sql, params).cache()
        self._cached.append(frame)
        return self.frame(frame, prefix)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return [tuple(row) for row in self.sql(sql, params).collect()]

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """A query's result on the driver, through Arrow."""
        return self.sql(sql, params).toArrow().to_pandas()

    def columns(self, table: str) -> dict[str, str]:
        return {name: duckdb_type(kind) for name, kind in self.spark.table(table).dtypes}
