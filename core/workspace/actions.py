"""Page actions as single core calls that update a workspace.

Each function does one step of the analysis, stores the result in the workspace,
marks the step and saves, so every page action can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.common.errors import ConfigError
from core.common.notices import Notice, notices_to_json
from core.data.cleaning import LoadConfig, clean_events
from core.data.mapping import ColumnMapping, guess_event_roles, guess_mapping
from core.features.table import FeatureConfig, user_features, user_table_features
from core.segment.clustering import (
    ClusterConfig,
    ClusterResult,
    StabilityResult,
    SweepResult,
    fit_clusters,
    k_sweep,
    stability,
)
from core.segment.preprocess import PreprocessConfig, Preprocessor
from core.segment.rule_segments import SMALL_SEGMENT_SHARE, Memberships, SegmentRule, evaluate
from core.workspace.store import Workspace

Progress = Callable[[float, str], None]


def _scaled(progress: Progress | None, start: float, end: float) -> Progress:
    def update(fraction: float, message: str) -> None:
        if progress:
            progress(start + (end - start) * fraction, message)
    return update


def load_events_into(
    ws: Workspace,
    raw: pd.DataFrame,
    source_name: str,
    mapping: ColumnMapping,
    load_config: LoadConfig = LoadConfig(),
    event_roles: dict[str, list[str]] | None = None,
    dataset_extra: dict | None = None,
    progress: Progress | None = None,
) -> Workspace:
    """Clean an event log, build its features and store both in the workspace.

    Parameters
    ----------
    ws : Workspace
        Updated in place and saved.
    raw : DataFrame
        The table as read by :mod:`core.data.readers`.
    source_name : str
        File or sample name shown to the analyst.
    mapping : ColumnMapping
        Column per role.
    load_config : LoadConfig
        Cleaning, sessions and privacy settings.
    event_roles : dict, optional
        Event values per funnel step; guessed from the data when None.
    dataset_extra : dict, optional
        Extra facts about the source (e.g. sample parameters).
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    Workspace
    """
    result = clean_events(raw, mapping, load_config, source_name=source_name,
                          pseudonym_key=ws.pseudonym_key if load_config.pseudonymise else None,
                          progress=_scaled(progress, 0.0, 0.7))
    events = result.events
    roles = event_roles if event_roles is not None else guess_event_roles(
        events["event"].unique())
    known = set(events["event"].unique())
    roles = {step: [v for v in values if v in known] for step, values in roles.items()}
    ws.reset_data()
    ws.mapping = mapping.to_dict()
    ws.load_config = load_config.to_dict()
    ws.event_roles = roles
    ws.pseudonym_key = result.pseudonym_key
    ws.load_report = result.report.to_dict()
    ws.dataset = {"name": source_name, "kind": "events", **(dataset_extra or {}),
                  "users": result.report.users, "events": result.report.rows_kept,
                  "first_ts": result.report.first_ts, "last_ts": result.report.last_ts}
    ws.set_frame("events", events)
    ws.mark_step("load")
    compute_features_into(ws, FeatureConfig(event_roles=roles),
                          progress=_scaled(progress, 0.7, 1.0))
    return ws


def compute_features_into(ws: Workspace, config: FeatureConfig,
                          progress: Progress | None = None) -> Workspace:
    """Recompute the feature table of the workspace's events with ``config``.

    The selection of features is kept where the features still exist.
    """
    events = ws.events
    if events is None:
        raise ConfigError("There are no events in this workspace. Load data on the Data page.")
    if progress:
        progress(0.1, "Computing features")
    table = user_features(events, config)
    previous = [c for c in ws.selected_features if c in table.frame.columns]
    ws.set_frame("features", table.frame)
    ws.feature_config = config.to_dict()
    ws.event_roles = {k: list(v) for k, v in config.event_roles.items()}
    ws.feature_definitions = table.definitions
    ws.feature_notices = notices_to_json(table.notices)
    ws.feature_kind = "events"
    ws.selected_features = previous or table.default_selection()
    ws.forget_clusters()
    ws.mark_step("features")
    ws.save()
    if progress:
        progress(1.0, "Done")
    return ws


def load_user_table_into(ws: Workspace, raw: pd.DataFrame, source_name: str,
                         user_column: str) -> Workspace:
    """Store a per-user table as the workspace's features (no events, no sessions)."""
    table = user_table_features(raw, user_column)
    ws.reset_data()
    ws.mapping = {"user_id": user_column}
    ws.dataset = {"name": source_name, "kind": "users", "users": len(table.frame),
                  "events": None, "first_ts": None, "last_ts": None}
    ws.set_frame("features", table.frame)
    ws.feature_definitions = table.definitions
    ws.feature_notices = notices_to_json(table.notices)
    ws.feature_kind = "users"
    ws.selected_features = table.default_selection()
    ws.mark_step("load")
    ws.mark_step("features")
    ws.save()
    return ws


def load_sample_into(ws: Workspace, events: pd.DataFrame, n_users: int, days: int,
                     seed: int, progress: Progress | None = None) -> Workspace:
    """Load generated sample events (from :func:`core.data.sample.generate_sample`)."""
    mapping = guess_mapping(events.columns)
    return load_events_into(
        ws, events, "Sample: online shop", mapping, LoadConfig(),
        dataset_extra={"sample": {"users": n_users, "days": days, "seed": seed}},
        progress=progress)


def set_selected_features(ws: Workspace, columns: list[str]) -> list[Notice]:
    """Choose the features used downstream; refuse unknown ones."""
    features = ws.features
    if features is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    unknown = [c for c in columns if c not in features.columns]
    if unknown:
        raise ConfigError(f"Unknown feature(s): {', '.join(unknown)}.")
    ws.selected_features = list(columns)
    ws.save()
    return []


def cluster_into(ws: Workspace, pre_config: PreprocessConfig, config: ClusterConfig,
                 progress: Progress | None = None) -> ClusterResult:
    """Preprocess the workspace's features, cluster them and store the labels."""
    features = ws.features
    if features is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    pre = Preprocessor(pre_config)
    matrix = pre.fit_transform(features)
    result = fit_clusters(matrix, config, progress=progress)
    labels = pd.DataFrame({"cluster": result.names().to_numpy()}, index=pre.index_)
    ws.set_frame("clusters", labels)
    ws.preprocess_config = pre_config.to_dict()
    ws.preprocess_report = pre.report_.to_dict()
    ws.cluster_config = {**config.__dict__, "n_clusters": result.n_clusters,
                         "noise": result.noise, "sample_size": result.sample_size}
    ws.cluster_notices = notices_to_json(result.notices)
    ws.stability = {}
    ws.mark_step("clusters")
    ws.save()
    return result


def sweep_into(ws: Workspace, pre_config: PreprocessConfig, ks: list[int],
               algorithm: str = "kmeans", progress: Progress | None = None) -> SweepResult:
    """Sweep k on the workspace's preprocessed features and store the table."""
    features = ws.features
    if features is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    matrix = Preprocessor(pre_config).fit_transform(features)
    sweep = k_sweep(matrix, ks, algorithm=algorithm,  # type: ignore[arg-type]
                    random_state=pre_config.random_state, progress=progress)
    ws.sweep = {"table": sweep.table.to_dict("records"), "knee_k": sweep.knee_k,
                "suggested_k": sweep.suggested_k, "reason": sweep.reason,
                "algorithm": algorithm, "silhouette_sample": sweep.silhouette_sample}
    ws.save()
    return sweep


def stability_into(ws: Workspace, runs: int = 10,
                   progress: Progress | None = None) -> StabilityResult:
    """Measure the stability of the workspace's clustering by bootstrap refits."""
    if not ws.cluster_config:
        raise ConfigError("Cluster the users first.")
    pre = Preprocessor(PreprocessConfig.from_dict(ws.preprocess_config))
    matrix = pre.fit_transform(ws.features)
    keys = ClusterConfig.__dataclass_fields__
    config = ClusterConfig(**{k: v for k, v in ws.cluster_config.items() if k in keys})
    result = stability(matrix, config, runs=runs, progress=progress)
    ws.stability = {"mean": result.mean, "sd": result.sd, "runs": runs,
                    "unstable": result.unstable, "scores": result.scores}
    ws.save()
    return result


def segment_memberships(ws: Workspace, rules: list[SegmentRule] | None = None,
                        exclusive: bool = False, users: pd.Index | None = None,
                        small_share: float = SMALL_SEGMENT_SHARE) -> Memberships:
    """Evaluate rule segments (the workspace's, or ``rules``) on its users.

    Conditions with a time window are counted on the workspace's event log.
    """
    features = ws.features
    if features is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    if users is not None:
        features = features.loc[users]
    chosen = rules if rules is not None else [SegmentRule.from_dict(r)
                                              for r in ws.segment_rules]
    needs_events = any(r.windows() for r in chosen)
    return evaluate(features, chosen, exclusive=exclusive, small_share=small_share,
                    events=ws.events if needs_events else None, event_roles=ws.event_roles)
