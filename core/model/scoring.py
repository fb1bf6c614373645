"""Apply a saved model to new users: same features, same preprocessing, nearest centre.

A model is the JSON of :func:`core.model.portable.model_json` (``python -m core cluster
--model-out`` or the app's model download). Scoring recomputes the model's features for
the new users (from an event file, or takes a per-user table as it is), applies the saved
preprocessing (log, imputation with the saved medians or exclusion, clipping to the saved
bounds, scaling, PCA) and assigns each user to the nearest cluster centre, with the
distance to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataError
from core.common.notices import Notice
from core.common.progress import Progress
from core.data.cleaning import LoadConfig
from core.features.table import FeatureConfig, FeatureTable
from core.model.fitting import load_feature_table
from core.model.portable import ScoringModel
from core.segment.algorithms import REGISTRY, nearest
from core.segment.preprocess import Preprocessor


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


