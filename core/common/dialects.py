"""The SQL dialects Persona Lens writes queries for, and the translation into them.

Queries are built once, in standard SQL as DuckDB reads it, and written in another
dialect by sqlglot: identifier quotes, string escapes and type names differ between
warehouses, the query does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.common.errors import ConfigError

#: The warehouses a query is written for: sqlglot's dialect name, and the name shown.
DIALECTS: dict[str, str] = {"duckdb": "DuckDB", "spark": "Spark SQL (Databricks)",
                            "bigquery": "BigQuery", "snowflake": "Snowflake",
                            "postgres": "PostgreSQL"}


def in_dialect(sql: str, dialect: str, pretty: bool = True,
               params: Sequence[Any] = ()) -> str:
    """``sql`` (standard SQL as DuckDB reads it) written in ``dialect``.

    ``params`` fill the query's ``$1``, ``$2``... placeholders as literals (text,
    numbers, lists of them). For Spark, the few DuckDB functions sqlglot passes through
    unchanged are rewritten to Spark's own (:func:`_spark_functions`).

    Raises
    ------
    ConfigError
        For a dialect not in :data:`DIALECTS`.
    """
    check_dialect(dialect)
    import sqlglot  # here: most commands never write SQL

    tree = sqlglot.parse_one(sql, read="duckdb")
    if params:
        tree = _with_params(tree, params)
    if dialect == "spark":
        # A replaced node's own arguments are not visited again in the same pass (a time
        # zone inside dayofweek), so passes repeat until nothing changes.
        for _ in range(8):
            before = tree.sql()
            tree = tree.transform(_spark_functions)
            if tree.sql() == before:
                break
    return tree.sql(dialect=dialect, pretty=pretty,
                    unsupported_level=sqlglot.ErrorLevel.RAISE)


def check_dialect(dialect: str) -> str:
    """``dialect`` when it is one of :data:`DIALECTS`.

    Raises
    ------
    ConfigError
        Otherwise.
    """
    if dialect not in DIALECTS:
        raise ConfigError(f"Unknown SQL dialect '{dialect}'; use one of "
                          f"{', '.join(DIALECTS)}.")
    return dialect


def _with_params(tree, params: Sequence[Any]):
    """The tree with ``$n`` and ``?`` placeholders replaced by literals of ``params``."""
    from sqlglot import exp

    unnumbered = iter(params)

    def fill(node):
        if not isinstance(node, exp.Placeholder):
            return node
        return _literal(params[int(node.this) - 1] if node.this else next(unnumbered))

    return tree.transform(fill)


def _literal(value: Any):
    from sqlglot import exp

    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(repr(value))
    return exp.Literal.string(str(value))


def _spark_functions(node):
    """DuckDB functions with another name or meaning in Spark SQL:

    - ``epoch_us(t)`` is ``unix_micros(t)``;
    - ``isfinite(x)`` is not NaN and not infinite;
    - ``to_days(n)`` is the interval ``make_dt_interval(n)``;
    - ``timezone(zone, timezone('UTC', t))`` (a UTC time as local wall time) is
      ``from_utc_timestamp(t, zone)``;
    - ``dayofweek`` counts from 0 on Sunday in DuckDB, from 1 in Spark;
    - ``count(DISTINCT (a, b))`` is ``count(DISTINCT a, b)`` (neither is ever missing
      where Persona Lens counts them);
    - a number with a decimal point is a DOUBLE (Spark reads ``1.0`` as a DECIMAL, and
      the mean of decimals comes back rounded to five places).
    """
    from sqlglot import exp

    if isinstance(node, exp.Literal) and not node.is_string and \
            any(ch in node.this for ch in ".eE") and not node.meta.get("double"):
        node.meta["double"] = True
        return exp.cast(node, "double")

    if isinstance(node, exp.Anonymous):
        name, args = str(node.this).lower(), node.expressions
        if name == "epoch_us":
            return exp.func("unix_micros", *args)
        if name == "isfinite":
            x = args[0]
            return exp.paren(exp.and_(exp.not_(exp.func("isnan", x.copy())),
                                      exp.func("abs", x.copy()) < exp.cast(
                                          exp.Literal.string("Infinity"), "double")))
        if name == "timezone" and isinstance(args[1], exp.Anonymous) and \
                str(args[1].this).lower() == "timezone":
            return exp.func("from_utc_timestamp", args[1].expressions[1], args[0])
    if isinstance(node, exp.ToDays):
        return exp.func("make_dt_interval", node.this)
    if isinstance(node, exp.DayOfWeek) and not node.meta.get("zero_based"):
        shifted = exp.DayOfWeek(this=node.this)
        shifted.meta["zero_based"] = True
        return exp.paren(exp.Sub(this=shifted, expression=exp.Literal.number(1)))
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        parts = node.this.expressions
        if len(parts) == 1 and isinstance(parts[0], exp.Tuple):
            return exp.Count(this=exp.Distinct(expressions=parts[0].expressions))
    return node
