"""Page actions as single core calls that update a workspace.

Each function does one step of the analysis, stores the result in the workspace's
sections and frames, raises the revision of the parts it changed, marks the step and
saves, so every page action can be tested without a browser. Pages and ``ui/`` change a
workspace only through these functions (and those of :mod:`core.workspace.personas`,
:mod:`core.workspace.segments` and :mod:`core.workspace.rules`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.common.progress import Progress, scaled
from core.data.bots import suspected_bots
from core.data.cleaning import LoadConfig, clean_events
from core.data.mapping import ColumnMapping, guess_event_roles, guess_mapping
from core.experiments.inputs import ExperimentSpec
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
from core.segment.fitted import FittedClusters
from core.segment.preprocess import PreprocessConfig, Preprocessor
from core.segment.runs import (
    add_run,
    current_run_number,
    label_code,
    new_run,
    next_number,
    with_stability,
)
from core.workspace.model import clustered_matrix
from core.workspace.pattern_features import add_recorded_patterns
from core.workspace.personas import refresh_personas
from core.workspace.predict import add_recorded_predictions
from core.workspace.sections import (
    ClusterSection,
    DataSection,
    ExperimentSection,
    FeatureSection,
    PredictSection,
    StabilitySection,
    SweepSection,
)
from core.workspace.store import (
    FRAMES,
    Workspace,
    is_workspace_id,
    now_utc,
    require_features,
)

SAMPLE_NAME = "Sample: online shop"


def new_workspace() -> Workspace:
    """A new empty workspace. Nothing is written until its first step is saved, so a
    visit that does nothing leaves nothing on disk."""
    return Workspace()


def delete_workspace(workspace_id: str) -> None:
    """Remove a saved workspace and its files from disk.

    Raises
    ------
    DataError
        When the id is not a workspace id.
    """
    if not is_workspace_id(workspace_id):
        raise DataError(f"'{workspace_id}' is not a workspace id.")
    Workspace(id=workspace_id).delete()


def save_as_is(ws: Workspace) -> None:
    """Save a workspace that was built elsewhere (an imported export) as it is."""
    ws.save()


# resetting ------------------------------------------------------------------------------
def reset_data(ws: Workspace) -> None:
    """Forget the dataset and everything computed from it, the A/B test included (its
    users and personas belong to the old data). Segment rules, rules and persona names
    stay: they may fit the new data, and persona names are matched by profile."""
    for name in FRAMES:
        ws.set_frame(name, None)
    ws.data, ws.feature_info, ws.experiment = DataSection(), FeatureSection(), None
    ws.prediction = PredictSection()
    forget_clusters(ws)
    ws.steps = {}
    ws.changed("data", "features", "segments", "experiment", "predictions", "recommend")


def forget_clusters(ws: Workspace) -> None:
    """Drop clustering results (the features they were made from changed)."""
    ws.set_frame("clusters", None)
    ws.clustering, ws.sweep = None, None
    ws.steps.pop("clusters", None)
    ws.changed("clusters")


# loading ----------------------------------------------------------------------------------
def load_events_into(
    ws: Workspace,
    raw: pd.DataFrame,
    source_name: str,
    mapping: ColumnMapping,
    load_config: LoadConfig = LoadConfig(),
    event_roles: dict[str, list[str]] | None = None,
    sample: dict[str, int] | None = None,
    progress: Progress | None = None,
    save: bool = True,
) -> Workspace:
    """Clean an event log, build its features and store both in the workspace.

    Parameters
    ----------
    ws : Workspace
        Updated in place and saved (unless ``save`` is False).
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
    sample : dict, optional
        Size, days and seed when the data is the generated sample.
    progress : callable, optional
        ``progress(fraction, message)``.
    save : bool
        False keeps the result in memory only: the sample a visit starts with is saved
        with the visit's first step, so a visit that does nothing writes nothing.

    Returns
    -------
    Workspace
    """
    key = ws.data.pseudonym_key if load_config.pseudonymise else None
    result = clean_events(raw, mapping, load_config, source_name=source_name,
                          pseudonym_key=key, progress=scaled(progress, 0.0, 0.7))
    events = result.events
    known = set(events["event"].unique())
    roles = event_roles if event_roles is not None else guess_event_roles(known)
    roles = {step: [v for v in values if v in known] for step, values in roles.items()}
    reset_data(ws)
    report = result.report
    ws.data = DataSection(
        name=source_name, kind="events", sample=sample, users=report.users,
        events=report.rows_kept, first_ts=report.first_ts, last_ts=report.last_ts,
        mapping=mapping.to_dict(), load_config=load_config, event_roles=roles,
        report=report, pseudonym_key=result.pseudonym_key)
    ws.set_frame("events", events)
    ws.mark_step("load")
    compute_features_into(ws, FeatureConfig(event_roles=roles, time_zone=report.time_zone),
                          progress=scaled(progress, 0.7, 1.0), save=save)
    return ws


def load_sample_into(ws: Workspace, events: pd.DataFrame, n_users: int, days: int,
                     seed: int, progress: Progress | None = None,
                     save: bool = True) -> Workspace:
    """Load generated sample events (from :func:`core.data.sample.generate_sample`)."""
    return load_events_into(ws, events, SAMPLE_NAME, guess_mapping(events.columns),
                            LoadConfig(), sample={"users": n_users, "days": days,
                                                  "seed": seed}, progress=progress,
                            save=save)


def load_user_table_into(ws: Workspace, raw: pd.DataFrame, source_name: str,
                         user_column: str) -> Workspace:
    """Store a per-user table as the workspace's features (no events, no sessions)."""
    table = user_table_features(raw, user_column)
    reset_data(ws)
    ws.data = DataSection(name=source_name, kind="users", users=len(table.frame),
                          mapping={"user_id": user_column})
    ws.set_frame("features", table.frame)
    ws.feature_info = FeatureSection(kind="users", definitions=table.definitions,
                                     notices=table.notices, selected=table.default_selection())
    ws.mark_step("load")
    ws.mark_step("features")
    ws.save()
    return ws


def exclude_suspected_bots(ws: Workspace, progress: Progress | None = None) -> int:
    """Drop the users the load report flagged as bots from the events (counted in the
    report as dropped rows) and recompute the features; return how many users went.

    Raises
    ------
    ConfigError
        When there are no events or no suspected bots.
    """
    events, report = ws.events, ws.data.report
    if events is None or report is None:
        raise ConfigError("There is no event log in this workspace to exclude users from.")
    bots = suspected_bots(events.groupby("user_id").size())
    if bots.empty:
        raise ConfigError("No user looks like a bot in this data; nothing was excluded.")
    kept = events[~events["user_id"].isin(bots.index)].reset_index(drop=True)
    rows = len(events) - len(kept)
    report.dropped["suspected_bot"] = report.dropped.get("suspected_bot", 0) + rows
    report.rows_kept, report.users = len(kept), int(kept["user_id"].nunique())
    report.suspected_bots, report.suspected_bot_count, report.suspected_bot_events = [], 0, 0
    report.notices = [n for n in report.notices if n.code != "suspected_bots"] + [Notice(
        "bots_excluded", f"{len(bots):,} user(s) that look like bots were excluded, with "
        f"their {rows:,} events.", level="info")]
    ws.data.users, ws.data.events = report.users, report.rows_kept
    if ws.data.load_config is not None:
        ws.data.load_config = replace(ws.data.load_config, exclude_bots=True)
    ws.set_frame("events", kept)
    ws.changed("data")
    compute_features_into(ws, ws.feature_info.config or FeatureConfig(), progress)
    return len(bots)


# features ---------------------------------------------------------------------------------
def compute_features_into(ws: Workspace, config: FeatureConfig,
                          progress: Progress | None = None, save: bool = True) -> Workspace:
    """Recompute the feature table of the workspace's events with ``config``.

    The selection of features is kept where the features still exist. ``save=False``
    keeps the result in memory (see :func:`load_events_into`).
    """
    events = ws.events
    if events is None:
        raise ConfigError("There are no events in this workspace. Load data on the Data page.")
    if progress:
        progress(0.1, "Computing features")
    table = user_features(events, config)
    # Pattern features added on the Patterns page come back with the new table.
    frame, definitions, patterns, dropped = add_recorded_patterns(
        events, table.frame, ws.feature_info.patterns, table.definitions)
    # So do the scores of saved propensity models (scored again on the new table).
    frame, scored, unscored = add_recorded_predictions(ws, frame)
    definitions = {**definitions, **scored}
    previous = [c for c in ws.feature_info.selected if c in frame.columns]
    ws.set_frame("features", frame)
    ws.data.event_roles = {k: list(v) for k, v in config.event_roles.items()}
    ws.feature_info = FeatureSection(kind="events", config=config,
                                     definitions=definitions,
                                     notices=[*table.notices, *dropped, *unscored],
                                     selected=previous or table.default_selection(),
                                     patterns=patterns)
    forget_clusters(ws)
    ws.changed("features")
    ws.mark_step("features")
    if save:
        ws.save()
    if progress:
        progress(1.0, "Done")
    return ws


def set_selected_features(ws: Workspace, columns: list[str]) -> list[Notice]:
    """Choose the features used downstream; refuse unknown ones."""
    features = require_features(ws)
    unknown = [c for c in columns if c not in features.columns]
    if unknown:
        raise ConfigError(f"Unknown feature(s): {', '.join(unknown)}.")
    ws.feature_info.selected = list(columns)
    ws.save()
    return []


# clustering -------------------------------------------------------------------------------
def cluster_into(ws: Workspace, pre_config: PreprocessConfig, config: ClusterConfig,
                 progress: Progress | None = None) -> ClusterResult:
    """Preprocess the workspace's features, cluster them and keep labels and the fit.

    The fit is also kept as a run (:mod:`core.segment.runs`: settings, sizes, silhouette,
    Davies-Bouldin and the labels, the last ``MAX_RUNS``) and the personas are matched
    to the new clusters at once, so the history of re-clusterings is complete whether or
    not the Personas page is opened in between.
    """
    features = require_features(ws)
    pre = Preprocessor(pre_config)
    matrix = pre.fit_transform(features)
    result = fit_clusters(matrix, config, progress=scaled(progress, 0.0, 0.8))
    ws.set_frame("clusters", pd.DataFrame({"cluster": result.names().to_numpy()},
                                          index=pre.index_))
    ws.clustering = ClusterSection(
        preprocess=pre_config, report=pre.report_, config=config,
        n_clusters=result.n_clusters, noise=result.noise, sample_size=result.sample_size,
        notices=result.notices, fitted=FittedClusters.from_fit(pre, result.centroids))
    if progress:
        progress(0.85, "Measuring silhouette and Davies-Bouldin")
    run = new_run(next_number(ws.runs), now_utc(), matrix, result.labels, pre.index_,
                  features.index, pre_config, config)
    ws.runs = add_run(ws.runs, run, features.index)
    ws.changed("clusters")
    ws.mark_step("clusters")
    if progress:
        progress(0.92, "Matching the personas")
    refresh_personas(ws, save=False, run={"number": run.number, "name": run.name,
                                          "settings": run.settings()})
    ws.save()
    if progress:
        progress(1.0, "Done")
    return result


def sweep_into(ws: Workspace, pre_config: PreprocessConfig, ks: list[int],
               algorithm: str = "kmeans", progress: Progress | None = None,
               matrix: np.ndarray | None = None) -> SweepResult:
    """Sweep k on the workspace's preprocessed features and store the table.

    ``matrix`` is the features preprocessed with ``pre_config`` when the caller has it
    already (the page keeps it), so it is not computed again."""
    if matrix is None:
        matrix = Preprocessor(pre_config).fit_transform(require_features(ws))
    sweep = k_sweep(matrix, ks, algorithm=algorithm, random_state=pre_config.random_state,
                    progress=progress)
    ws.sweep = SweepSection(table=sweep.table.to_dict("records"), knee_k=sweep.knee_k,
                            suggested_k=sweep.suggested_k, reason=sweep.reason,
                            algorithm=algorithm, silhouette_sample=sweep.silhouette_sample)
    ws.save()
    return sweep


def stability_into(ws: Workspace, runs: int = 10,
                   progress: Progress | None = None) -> StabilityResult:
    """Measure the stability of the workspace's clustering by bootstrap refits of the
    clustering on the matrix it was fitted on: overall (adjusted Rand index) and per
    cluster (mean best-match Jaccard), kept with the clustering and with its run.

    The clustering itself is the reference (it is not fitted again, see
    :func:`core.segment.clustering.stability`)."""
    section = ws.clustering
    if section is None:
        raise ConfigError("Cluster the users first.")
    matrix, users, _ = clustered_matrix(ws)
    codes = ws.clusters["cluster"].astype(str).map(label_code).to_numpy(dtype=int)
    result = stability(matrix, section.config, runs=runs, progress=progress,
                       reference=codes)
    section.stability = StabilitySection(mean=result.mean, sd=result.sd, runs=runs,
                                         unstable=result.unstable, scores=result.scores)
    features = require_features(ws)
    number = current_run_number(ws.runs, section.preprocess, section.config, len(users))
    if number is None:  # a clustering saved before runs were kept becomes one now
        run = new_run(next_number(ws.runs), now_utc(), matrix, codes, users,
                      features.index, section.preprocess, section.config)
        ws.runs = add_run(ws.runs, run, features.index)
        number = run.number
    ws.runs = [with_stability(r, result) if r.number == number else r for r in ws.runs]
    ws.save()
    return result


# experiments ------------------------------------------------------------------------------
def store_experiment_table(ws: Workspace, frame: pd.DataFrame, source: dict[str, Any]) -> None:
    """Keep an A/B test table (from the sample or a file) for the Experiments page."""
    ws.set_frame("experiment", frame)
    ws.experiment = ExperimentSection(source=dict(source))
    ws.changed("experiment")
    ws.save()


def record_experiment_analysis(ws: Workspace, spec: ExperimentSpec,
                               summary: dict[str, Any]) -> None:
    """Keep the settings and summary of the latest analysis (for the persona report).

    Saves only when they changed; the table and its revision stay as they are.
    """
    section = ws.experiment
    if section is None:
        raise ConfigError("Load an experiment table first.")
    if section.spec != spec or section.summary != summary:
        section.spec, section.summary = spec, summary
        ws.keep()


def mark_shared(ws: Workspace, shared: bool) -> None:
    """Tick (or untick) the Share step: the analyst says the results went out."""
    if shared:
        ws.mark_step("export")
    else:
        ws.steps.pop("export", None)
    ws.save()
