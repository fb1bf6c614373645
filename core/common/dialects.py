"""The SQL dialects Persona Lens writes queries for, and the translation into them.

Queries are built once, in standard SQL as DuckDB reads it, and written in another
dialect by sqlglot: identifier quotes, string escapes and type names differ between
warehouses, the query does not.
"""

from __future__ import annotations

from core.common.errors import ConfigError

#: The warehouses a query is written for: sqlglot's dialect name, and the name shown.
DIALECTS: dict[str, str] = {"duckdb": "DuckDB", "spark": "Spark SQL (Databricks)",
                            "bigquery": "BigQuery", "snowflake": "Snowflake",
                            "postgres": "PostgreSQL"}


def in_dialect(sql: str, dialect: str, pretty: bool = True) -> str:
    """``sql`` (standard SQL as DuckDB reads it) written in ``dialect``.

    Raises
    ------
    ConfigError
        For a dialect not in :data:`DIALECTS`.
    """
    if dialect not in DIALECTS:
        raise ConfigError(f"Unknown SQL dialect '{dialect}'; use one of "
                          f"{', '.join(DIALECTS)}.")
    import sqlglot  # here: most commands never write SQL

    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=pretty,
                             unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
