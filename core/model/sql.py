"""The model's assignment as one SQL query, for a warehouse."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.common.dialects import DIALECTS, check_dialect, in_dialect
from core.common.engine import quote_ident
from core.common.errors import ConfigError, DataError
from core.model.portable import ScoringModel
from core.segment.preprocess import Preprocessor


# SQL ---------------------------------------------------------------------------------
def assignment_sql(model: dict[str, Any] | ScoringModel, table: str = "features",
                   user_column: str = "user_id", dialect: str = "duckdb") -> str:
    """A SQL query assigning the users of a per-user feature table to the model's clusters.

    The query applies the saved preprocessing (``LN(1 + x)`` for log features with
    negatives set to 0, imputation with the saved medians or leaving out users with a
    missing value, clipping to the saved bounds, scaling, PCA) and picks the nearest
    centre by squared Euclidean distance (ties go to the earlier cluster, as in the
    app). It returns ``user_id``, ``cluster``, ``persona`` (when the model names
    personas) and ``distance``.

    It expects the **feature table** (one row per user, as ``python -m core features``
    or the Features page writes it), not raw events: several features are relative to
    everyone in the data (the engagement score scales by percentiles, RFM scores are
    quintiles), so they are not expressions of one user's events.

    Parameters
    ----------
    model : dict or ScoringModel
    table : str
        The feature table; ``schema.table`` is split at dots and each part quoted.
    user_column : str
        Its user id column.
    dialect : str
        One of :data:`DIALECTS`. The query is built once in standard SQL and written in
        the dialect by sqlglot (identifier quotes, string escapes, type names differ).

    Returns
    -------
    str
        The query. Every name from the data is a quoted identifier and every label a
        quoted string literal, in the dialect's own quoting.

    Raises
    ------
    ConfigError
        For an unknown dialect.
    """
    check_dialect(dialect)  # before any work
    scoring = model if isinstance(model, ScoringModel) else ScoringModel.from_dict(model)
    ctes, dims, last = _preprocessing_ctes(scoring.preprocessor, table, user_column)
    ds = [f"d{k + 1}" for k in range(len(scoring.centroids))]
    squares = [" + ".join(f"({v} - {_num(c)}) * ({v} - {_num(c)})"
                          for v, c in zip(dims, centre, strict=True)) + f" AS {d}"
               for d, centre in zip(ds, scoring.centroids, strict=True)]
    ctes.append("distances AS (\n    SELECT user_id,\n        " + ",\n        ".join(squares)
                + f"\n    FROM {last}\n)")
    ctes.append(f"nearest AS (\n    SELECT *, LEAST({', '.join(ds)}) AS best\n"
                "    FROM distances\n)")
    columns = [_pick(ds, scoring.labels) + " AS cluster"]
    if scoring.personas:
        names = [scoring.personas.get(label, label) for label in scoring.labels]
        columns.append(_pick(ds, names) + " AS persona")
    columns.append("SQRT(best) AS distance")
    n = len(scoring.preprocessor.features_)
    header = (f"-- Persona Lens: nearest of {len(ds)} cluster centres for each user of a "
              f"per-user feature table\n-- ({n} features; preprocessing as saved in the "
              f"model), written for {DIALECTS[dialect]}. Expects the feature table, not "
              "raw events.\n")
    standard = ("WITH " + ",\n".join(ctes) + "\nSELECT user_id,\n    "
                + ",\n    ".join(columns) + "\nFROM nearest\n")
    return header + in_dialect(standard, dialect) + "\n"


def _preprocessing_ctes(pre: Preprocessor, table: str, user_column: str
                        ) -> tuple[list[str], list[str], str]:
    """CTEs reading, imputing, clipping, scaling (and projecting) the features; also the
    columns of the last one and its name."""
    n, cfg = len(pre.features_), pre.config
    xs = [f"x{i + 1}" for i in range(n)]
    logs = set(cfg.log_features)
    raw = []
    for name, x in zip(pre.features_, xs, strict=True):
        value = f"CAST({quote_ident(name)} AS DOUBLE PRECISION)"
        if name in logs:
            value = f"LN(1 + CASE WHEN {value} < 0 THEN 0 ELSE {value} END)"
        raw.append(f"{value} AS {x}")
    if cfg.missing == "exclude":
        filled = ", ".join(xs)
        where = "\n    WHERE " + " AND ".join(f"{x} IS NOT NULL" for x in xs)
    else:
        filled = ", ".join(f"COALESCE({x}, {_num(pre.medians_[f])}) AS {x}"
                           for f, x in zip(pre.features_, xs, strict=True))
        where = ""
    if pre.bounds_ and cfg.outlier_action in ("clip", "exclude"):
        clipped = ", ".join(_clip(x, *pre.bounds_[f]) if f in pre.bounds_ else x
                            for f, x in zip(pre.features_, xs, strict=True))
    else:
        clipped = ", ".join(xs)
    scaled = ", ".join(f"({x} - {_num(c)}) / {_num(s)} AS z{i + 1}" for i, (x, c, s) in
                       enumerate(zip(xs, pre.center_, pre.scale_, strict=True)))
    ctes = [
        f"raw AS (\n    SELECT {quote_ident(user_column)} AS user_id,\n        "
        + ",\n        ".join(raw) + f"\n    FROM {_table(table)}\n)",
        f"filled AS (\n    SELECT user_id, {filled}\n    FROM raw{where}\n)",
        f"clipped AS (\n    SELECT user_id, {clipped}\n    FROM filled\n)",
        f"scaled AS (\n    SELECT user_id, {scaled}\n    FROM clipped\n)",
    ]
    dims = [f"z{i + 1}" for i in range(n)]
    if pre.pca_components_ is None:
        return ctes, dims, "scaled"
    parts = [" + ".join(f"({z} - {_num(m)}) * {_num(w)}" for z, m, w in
                        zip(dims, pre.pca_mean_, component, strict=True)) + f" AS p{j + 1}"
             for j, component in enumerate(pre.pca_components_)]
    ctes.append("projected AS (\n    SELECT user_id,\n        " + ",\n        ".join(parts)
                + "\n    FROM scaled\n)")
    return ctes, [f"p{j + 1}" for j in range(len(parts))], "projected"


def _num(value: float) -> str:
    """A float as an exact SQL literal (shortest round-trip repr), negatives in brackets."""
    value = float(value)
    if not np.isfinite(value):
        raise DataError("The model holds a missing or infinite number; export it again.")
    text = repr(value)
    return f"({text})" if value < 0 else text


def _clip(x: str, low: float, high: float) -> str:
    return (f"CASE WHEN {x} < {_num(low)} THEN {_num(low)} WHEN {x} > {_num(high)} "
            f"THEN {_num(high)} ELSE {x} END AS {x}")


def _pick(distances: list[str], values: list[str]) -> str:
    """CASE choosing the value of the first distance equal to the smallest one."""
    whens = " ".join(f"WHEN {d} = best THEN {_text(v)}"
                     for d, v in zip(distances, values, strict=True))
    return f"CASE {whens} END"


def _text(value: str) -> str:
    """A standard SQL string literal: single quotes doubled, control characters as spaces.

    In standard SQL a backslash is an ordinary character (MySQL needs the
    NO_BACKSLASH_ESCAPES mode to read it so).
    """
    clean = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in str(value))
    return "'" + clean.replace("'", "''") + "'"


def _table(name: str) -> str:
    parts = str(name).split(".")
    if not all(parts):
        raise ConfigError(f"'{name}' is not a table name.")
    return ".".join(quote_ident(p) for p in parts)
