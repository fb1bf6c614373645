"""From an input file to clusters: the shared path of the `cluster` and `sweep` commands.

An input is an event file (features are computed) or a per-user table (used as is).
The fitted model is plain JSON (:mod:`core.model.portable`): the learned preprocessing
parameters and the cluster centres, enough to assign new users later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.common.progress import Progress
from core.data.cleaning import LoadConfig
from core.features.pipeline import features_from_source, read_source
from core.features.table import FeatureConfig, FeatureTable, user_table_features
from core.model.portable import model_json
from core.segment.clustering import ClusterConfig, ClusterResult, SweepResult, fit_clusters, k_sweep
from core.segment.fitted import FittedClusters
from core.segment.preprocess import PreprocessConfig, Preprocessor, suggest_log


def load_feature_table(path: str | Path, load_config: LoadConfig | None = None,
                       feature_config: FeatureConfig | None = None,
                       progress: Progress | None = None) -> FeatureTable:
    """Features of an event file, or a per-user table as it is.

    A file with a recognisable timestamp column is read as events (cleaned and turned
    into features with the given settings, or the defaults); otherwise it must have one
    row per user with a recognisable user id column.
    """
    path = Path(path)
    source, mapping, notes = read_source(path)
    if mapping.get("ts"):
        try:
            table, report = features_from_source(source, mapping, path.name,
                                                 load_config or LoadConfig(), feature_config,
                                                 progress)
        except TypeError as exc:  # settings written by another version
            raise DataError(f"The saved feature settings cannot be used ({exc}).") from exc
        table.notices[:0] = [*notes, _load_summary(report), *report.notices]
        return table
    user = mapping.get("user_id")
    if not user:
        raise DataError(f"'{path.name}' has neither a timestamp column (an event log) nor a "
                        "user id column (a per-user table). Rename the columns or use the app "
                        "to map them.")
    frame = pd.read_parquet(source) if isinstance(source, Path) else source
    table = user_table_features(frame, user)
    table.notices[:0] = notes
    return table


def _load_summary(report) -> Notice:
    """What cleaning kept and dropped, as the app's load banner says it."""
    drops = ", ".join(f"{n:,} {reason.replace('_', ' ')}"
                      for reason, n in report.dropped.items() if n)
    return Notice("loaded", f"Read {report.rows_read:,} events, kept {report.rows_kept:,} "
                            f"({report.users:,} users)" + (f"; dropped {drops}" if drops else "")
                            + f"; debounce {report.debounce_reason}.", "info")


def preprocess_config(table: FeatureTable, features: list[str] | None,
                      log: str = "auto", random_state: int = 0) -> PreprocessConfig:
    """Preprocessing settings: chosen (or default) features, log where skewed."""
    chosen = tuple(features or table.default_selection())
    unknown = [f for f in chosen if f not in table.frame.columns]
    if unknown:
        raise ConfigError(f"Unknown feature(s): {', '.join(unknown)}. Available: "
                          f"{', '.join(table.numeric_columns)}.")
    if log not in ("auto", "none"):
        raise ConfigError("--log must be 'auto' or 'none'.")
    logs = tuple(suggest_log(table.frame, chosen)[1]) if log == "auto" else ()
    return PreprocessConfig(features=chosen, log_features=logs, random_state=random_state)


def cluster_table(table: FeatureTable, pre_config: PreprocessConfig,
                  cluster_config: ClusterConfig) -> tuple[pd.DataFrame, dict[str, Any],
                                                          ClusterResult]:
    """Cluster a feature table; return segments, the JSON model and the result."""
    pre = Preprocessor(pre_config)
    matrix = pre.fit_transform(table.frame)
    result = fit_clusters(matrix, cluster_config)
    segments = table.frame.loc[pre.index_, list(pre_config.features)].copy()
    segments.insert(0, "cluster", result.names().to_numpy())
    model = model_json(FittedClusters.from_fit(pre, result.centroids), cluster_config,
                       users=len(segments), excluded_users=len(table.frame) - len(segments))
    return segments, model, result


def sweep_table(table: FeatureTable, pre_config: PreprocessConfig, ks: list[int],
                algorithm: str = "kmeans") -> SweepResult:
    """Preprocess a feature table and sweep k."""
    matrix = Preprocessor(pre_config).fit_transform(table.frame)
    return k_sweep(matrix, ks, algorithm=algorithm, random_state=pre_config.random_state)


#: The largest k a sweep tries (each k is a fit).
MAX_SWEEP_K = 50


def parse_k_range(text: str) -> list[int]:
    """Parse '2-10' or '3,4,6' into a list of k values."""
    try:
        if "-" in text:
            low, high = (int(p) for p in text.split("-", 1))
            ks = list(range(low, high + 1))
        else:
            ks = [int(p) for p in text.split(",")]
    except ValueError as exc:
        raise ConfigError(f"'{text}' is not a k range; use e.g. 2-10 or 3,4,6.") from exc
    if not ks or min(ks) < 2 or max(ks) > MAX_SWEEP_K or len(ks) > MAX_SWEEP_K:
        raise ConfigError(f"'{text}' must hold k values from 2 to {MAX_SWEEP_K}, lowest "
                          "first (e.g. 2-10 or 3,4,6).")
    return ks
