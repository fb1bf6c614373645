"""Apply a saved model to new users: same features, same preprocessing, nearest centre.

A model is the JSON written by :func:`core.model.fitting.cluster_table` (``python -m core
cluster --model-out``) or by :func:`model_from_workspace` (the app's model download).
Scoring recomputes the model's features for the new users (from an event file, or
takes a per-user table as it is), applies the saved preprocessing (log, imputation with
the saved medians or exclusion, clipping to the saved bounds, scaling, PCA) and assigns
each user to the nearest cluster centre, with the distance to it.

:func:`assignment_sql` writes the same assignment as one SQL query for a warehouse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.engine import quote_ident
from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.data.cleaning import LoadConfig
from core.features.table import FeatureConfig, FeatureTable
from core.model.fitting import MODEL_FORMAT, MODEL_VERSION, load_feature_table
from core.personas.migration import assigner
from core.segment.algorithms import REGISTRY, nearest
from core.segment.preprocess import Preprocessor

Progress = Callable[[float, str], None]
@dataclass
class ScoringModel:
    """A validated model: fitted preprocessing, centres, their labels and persona names."""

    preprocessor: Preprocessor
    centroids: np.ndarray
    labels: list[str]
    personas: dict[str, str]
    algorithm: str
    feature_config: dict[str, Any] | None = None
    load_config: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, model: dict[str, Any]) -> ScoringModel:
        """Check a model dict and rebuild its parts.

        Raises
        ------
        DataError
            When the JSON is not a Persona Lens model of this version or is damaged.
        """
        if not isinstance(model, dict) or model.get("format") != MODEL_FORMAT:
            raise DataError("This is not a Persona Lens model file. Export one with "
                            "`python -m core cluster ... --model-out model.json` or from the "
                            "Export page.")
        if model.get("version") != MODEL_VERSION:
            raise DataError(f"The model has version {model.get('version')!r}; this version of "
                            f"Persona Lens reads version {MODEL_VERSION}. Export it again.")
        cluster = model.get("cluster")
        if not isinstance(cluster, dict) or not isinstance(model.get("preprocess"), dict):
            raise DataError("The model lacks its 'cluster' or 'preprocess' part.")
        pre = Preprocessor.from_dict(model["preprocess"])
        centroids = _centroids(cluster.get("centroids"), _dimensions(pre))
        labels = cluster.get("labels") or [f"Cluster {i + 1}" for i in range(len(centroids))]
        if not all(isinstance(v, str) for v in labels) or len(set(labels)) != len(centroids) \
                or len(labels) != len(centroids):
            raise DataError("The model's cluster labels do not match its centres.")
        personas = model.get("personas") or {}
        if not isinstance(personas, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in personas.items()):
            raise DataError("The model's 'personas' must map cluster labels to names.")
        features = model.get("features") if isinstance(model.get("features"), dict) else {}
        return cls(pre, centroids, list(labels), {k: v for k, v in personas.items()
                                                  if k in labels},
                   str(cluster.get("algorithm", "")), features.get("config"),
                   model.get("load_config"))


def _dimensions(pre: Preprocessor) -> int:
    if pre.pca_components_ is not None:
        return len(pre.pca_components_)
    return len(pre.features_)


def _centroids(values: Any, dimensions: int) -> np.ndarray:
    try:
        centroids = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The model's centres are not numbers ({exc}).") from exc
    if centroids.ndim != 2 or len(centroids) < 1 or centroids.shape[1] != dimensions:
        raise DataError(f"The model's centres should be a table with {dimensions} columns "
                        "(one per preprocessed feature); the file is damaged.")
    if not np.isfinite(centroids).all():
        raise DataError("The model's centres hold missing or infinite values.")
    return centroids


@dataclass
class ScoreResult:
    """Cluster, persona and distance of each scored user, with what was left out."""

    #: Index ``user_id``; columns ``cluster``, ``persona`` (when the model names
    #: personas) and ``distance`` (Euclidean, in the preprocessed space).
    memberships: pd.DataFrame
    users_in: int
    excluded: int
    notices: list[Notice] = field(default_factory=list)

    def sizes(self) -> pd.Series:
        """Users per cluster, largest first."""
        return self.memberships["cluster"].value_counts()


# models ------------------------------------------------------------------------------
def read_model(path: str | Path) -> dict[str, Any]:
    """Read and check a model JSON file; return the model dict."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Model file '{path}' does not exist. Check the path.")
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"'{path.name}' is not valid JSON ({exc}).") from exc
    ScoringModel.from_dict(model)
    return model


def with_persona_names(model: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Return a copy of ``model`` carrying ``{cluster label: persona name}``.

    Only names of the model's own clusters are kept; blank names are left out.
    """
    labels = set(ScoringModel.from_dict(model).labels)
    personas = {str(k): str(v).strip() for k, v in (names or {}).items()
                if str(k) in labels and str(v).strip()}
    return {**model, "personas": personas}


def model_from_workspace(ws) -> dict[str, Any]:
    """The model of the workspace's current clustering, with its persona names.

    The preprocessing is refitted on the workspace's features with the saved settings
    (deterministic, so it equals the one clustering used) and each centre is the mean
    of its members, as :func:`core.segment.clustering.fit_clusters` computes it.

    Raises
    ------
    ConfigError
        Before clustering, or when the clusters no longer match the features.
    """
    clusters, features = ws.clusters, ws.features
    if clusters is None or features is None or not ws.preprocess_config:
        raise ConfigError("Cluster the users first (Clustering page); the model holds the "
                          "clusters' centres.")
    pre, centroids, labels = assigner(ws)
    if clusters["cluster"].reindex(pre.index_).isna().any() or len(clusters) != len(pre.index_):
        raise ConfigError("The clusters were made from other features than the current ones; "
                          "cluster again before exporting the model.")
    config = ws.cluster_config
    load = {**ws.load_config, "pseudonymise": False, "user_sample_share": 1.0} \
        if ws.load_config else None
    model = {
        "format": MODEL_FORMAT, "version": MODEL_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "preprocess": pre.to_dict(),
        "cluster": {"algorithm": config.get("algorithm"), "k": config.get("k"),
                    "random_state": config.get("random_state"), "labels": labels,
                    "centroids": centroids.tolist()},
        "features": {"kind": ws.feature_kind, "config": ws.feature_config or None},
        "load_config": load,
        "users": len(pre.index_), "excluded_users": int(len(features) - len(pre.index_)),
    }
    return with_persona_names(model, ws.personas.get("names", {}))


# scoring -----------------------------------------------------------------------------
def score_features(frame: pd.DataFrame, model: dict[str, Any] | ScoringModel
                   ) -> ScoreResult:
    """Assign the users of a feature table (user id index) to the model's clusters.

    Parameters
    ----------
    frame : DataFrame
        One row per user with (at least) the model's features.
    model : dict or ScoringModel

    Returns
    -------
    ScoreResult
    """
    scoring = model if isinstance(model, ScoringModel) else ScoringModel.from_dict(model)
    pre = scoring.preprocessor
    notices = _value_notices(frame, pre)
    try:
        matrix, index = pre.transform(frame)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The model's features are not all numeric in this data ({exc}).") \
            from exc
    if not len(index):
        raise DataError(f"None of the {len(frame):,} users could be scored: every one lacks a "
                        "value the model needs, and the model excludes such users.")
    which, distance = nearest_with_distance(matrix, scoring.centroids)
    labels = np.asarray(scoring.labels, dtype=object)[which]
    memberships = pd.DataFrame({"cluster": labels}, index=index)
    if scoring.personas:
        memberships["persona"] = memberships["cluster"].map(
            lambda label: scoring.personas.get(label, label))
    memberships["distance"] = distance
    memberships.index.name = "user_id"
    excluded = len(frame) - len(index)
    if excluded:
        notices.insert(0, Notice("excluded_missing", (
            f"{excluded:,} of {len(frame):,} users were not scored: they lack a value of a "
            "model feature and the model excludes such users (it was fitted with 'exclude "
            "the user' for missing values).")))
    known = REGISTRY.get(scoring.algorithm)
    if known is not None and not known.centre_exact:
        # Clusters not described by their centres alone: the nearest centre approximates
        # them (and never labels anyone as noise).
        notices.append(Notice("nearest_centre", (
            f"The model came from {known.label}; scoring assigns each "
            "user to the nearest cluster centre, which approximates it (no user is "
            "labelled noise).")))
    return ScoreResult(memberships, len(frame), excluded, notices)


def nearest_with_distance(matrix: np.ndarray, centres: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre of each row (:func:`core.segment.clustering.nearest`, so ties
    go to the earlier centre) and the Euclidean distance to it."""
    which = nearest(matrix, centres)
    return which, np.linalg.norm(matrix - centres[which], axis=1)


def _value_notices(frame: pd.DataFrame, pre: Preprocessor) -> list[Notice]:
    """Count values imputed and clipped, so nothing changes silently."""
    present = [f for f in pre.features_ if f in frame.columns]
    try:
        data = frame[present].astype(float)
    except (TypeError, ValueError):
        return []  # transform() reports the non-numeric column
    notices = []
    missing = data.isna().sum()
    missing = missing[missing > 0]
    if len(missing) and pre.config.missing == "impute":
        notices.append(Notice("imputed", "Missing values were filled with the training "
                              "medians: " + ", ".join(f"{f} ({n:,})" for f, n in
                                                      missing.items()) + "."))
    if pre.bounds_ and pre.config.outlier_action in ("clip", "exclude"):
        for f in pre.config.log_features:
            if f in data:
                data[f] = np.log1p(data[f].clip(lower=0))
        low = pd.Series({f: b[0] for f, b in pre.bounds_.items() if f in data})
        high = pd.Series({f: b[1] for f, b in pre.bounds_.items() if f in data})
        outside = ((data[low.index] < low) | (data[high.index] > high)).sum()
        outside = outside[outside > 0]
        if len(outside):
            notices.append(Notice("clipped", "Values beyond the model's outlier bounds were "
                                  "clipped to them, as in training: " + ", ".join(
                                      f"{f} ({n:,})" for f, n in outside.items()) + "."))
    return notices


def score_file(path: str | Path, model: dict[str, Any] | ScoringModel,
               progress: Progress | None = None) -> ScoreResult:
    """Score the users of an event file or a per-user table.

    An event file (a recognisable timestamp column) gets the model's features computed
    with the model's feature and cleaning settings when it carries them (models from
    the app), otherwise with the defaults the ``cluster`` command uses. A per-user
    table is used as it is.
    """
    scoring = model if isinstance(model, ScoringModel) else ScoringModel.from_dict(model)
    table = feature_table_for(path, scoring, progress)
    result = score_features(table.frame, scoring)
    result.notices = [*table.notices, *result.notices]
    return result


def feature_table_for(path: str | Path, scoring: ScoringModel,
                      progress: Progress | None = None) -> FeatureTable:
    """The feature table of an input file, computed as the model's features were."""
    feature_config = FeatureConfig.from_dict(scoring.feature_config) \
        if scoring.feature_config else None
    load_config = LoadConfig.from_dict(scoring.load_config) if scoring.load_config else None
    return load_feature_table(path, load_config, feature_config, progress)


# SQL ---------------------------------------------------------------------------------
def assignment_sql(model: dict[str, Any] | ScoringModel, table: str = "features",
                   user_column: str = "user_id") -> str:
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

    Returns
    -------
    str
        Standard SQL (double-quoted identifiers; tested on DuckDB). Every name from the
        data is a quoted identifier and every label a quoted string literal.
    """
    scoring = model if isinstance(model, ScoringModel) else ScoringModel.from_dict(model)
    pre = scoring.preprocessor
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
    if pre.pca_components_ is not None:
        parts = [" + ".join(f"({z} - {_num(m)}) * {_num(w)}" for z, m, w in
                            zip(dims, pre.pca_mean_, component, strict=True)) + f" AS p{j + 1}"
                 for j, component in enumerate(pre.pca_components_)]
        ctes.append("projected AS (\n    SELECT user_id,\n        " + ",\n        ".join(parts)
                    + "\n    FROM scaled\n)")
        dims, last = [f"p{j + 1}" for j in range(len(parts))], "projected"
    else:
        last = "scaled"
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
    header = (f"-- Persona Lens: nearest of {len(ds)} cluster centres for each user of a "
              f"per-user feature table\n-- ({n} features; preprocessing as saved in the "
              "model). Expects the feature table, not raw events.\n")
    return (header + "WITH " + ",\n".join(ctes) + "\nSELECT user_id,\n    "
            + ",\n    ".join(columns) + "\nFROM nearest\n")


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
