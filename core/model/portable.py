"""The portable model: plain JSON that assigns new users to the clusters of a fit.

A model holds the fitted preprocessing (log, imputation, outlier bounds, scaling, PCA),
the cluster centres with their labels, the persona names and the feature and cleaning
settings, enough to compute the same features for new users and place them at the
nearest centre (:mod:`core.model.scoring`) or to write the same assignment as SQL
(:mod:`core.model.sql`). :func:`model_json` is the one place a model is built, for the
``cluster`` command and for the app's download alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.common.errors import DataError
from core.segment.clustering import ClusterConfig
from core.segment.fitted import FittedClusters
from core.segment.preprocess import Preprocessor

MODEL_FORMAT = "persona-lens-model"
MODEL_VERSION = 1


def model_json(fitted: FittedClusters, config: ClusterConfig, users: int,
               excluded_users: int, personas: dict[str, str] | None = None,
               feature_kind: str | None = None, feature_config: dict[str, Any] | None = None,
               load_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The model of a fitted clustering as a JSON-ready dict.

    Parameters
    ----------
    fitted : FittedClusters
        The fitted preprocessing and the labelled centres.
    config : ClusterConfig
        The clustering's settings (algorithm, k, seed are recorded).
    users, excluded_users : int
        Users clustered, and users the preprocessing left out.
    personas : dict, optional
        ``{cluster label: persona name}``; blank names and unknown labels are left out.
    feature_kind, feature_config, load_config : optional
        How the features were made ("events" or "users", the feature settings, the
        cleaning settings), so scoring can make them again the same way.
    """
    model: dict[str, Any] = {
        "format": MODEL_FORMAT, "version": MODEL_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "preprocess": fitted.preprocessor.to_dict(),
        "cluster": {"algorithm": config.algorithm, "k": config.k,
                    "random_state": config.random_state, "labels": list(fitted.labels),
                    "centroids": fitted.centroids.tolist()},
    }
    if feature_kind is not None:
        model["features"] = {"kind": feature_kind, "config": feature_config or None}
        model["load_config"] = load_config
    model["users"], model["excluded_users"] = int(users), int(excluded_users)
    if personas is not None:
        model = with_persona_names(model, personas)
    return model


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


def write_model(model: dict[str, Any], path: str | Path) -> None:
    """Write the model as JSON."""
    Path(path).write_text(json.dumps(model, indent=2), encoding="utf-8")
