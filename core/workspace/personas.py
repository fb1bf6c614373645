"""The workspace's personas: kept in step with its clusters, edited, compared over time."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.common.errors import ConfigError
from core.features.table import FeatureConfig
from core.personas import migration
from core.personas.migration import DEFAULT_WINDOW_DAYS, Migration
from core.personas.state import (
    PersonaRefresh,
    PersonaState,
    build_state,
    edit_persona,
    history_entry,
    with_history,
)
from core.predict import PREDICTION_COLUMNS
from core.workspace.model import fitted_clusters
from core.workspace.store import Workspace, now_utc


def personas_fresh(ws: Workspace) -> bool:
    """True when the persona state was built for the workspace's current clusters."""
    return ws.personas.is_for(ws.clusters)


def _built(ws: Workspace) -> tuple[PersonaState, PersonaRefresh]:
    clusters, features = ws.clusters, profile_table(ws)
    if clusters is None or features is None or ws.clustering is None:
        raise ConfigError("There are no clusters yet. Cluster the users on the Clustering "
                          "page first.")
    return build_state(features, clusters["cluster"], ws.events,
                       ws.clustering.preprocess.features, ws.personas)


def refresh_personas(ws: Workspace, save: bool = True,
                     run: dict[str, Any] | None = None) -> PersonaRefresh:
    """Rebuild the personas for the current clusters, keeping earlier names.

    :func:`core.workspace.actions.cluster_into` calls it after every fit, so the
    personas always follow the clusters and every re-clustering enters the history
    (``PersonaState.history``), whether or not the Personas page was opened in between.
    The earlier labels are kept as the state's ``previous`` for a before/after
    comparison. While the clusters stay the same, a second call returns what the first
    reported (in this process) and adds nothing to the history.

    Parameters
    ----------
    ws : Workspace
    save : bool
        Save the workspace afterwards.
    run : dict, optional
        The run the clusters come from (``number``, ``name``, ``settings``), for the
        history.

    Raises
    ------
    ConfigError
        There are no clusters.
    """
    before = ws.personas
    cached = ws._refresh
    if cached is not None and personas_fresh(ws) and cached[0] == before.fingerprint:
        return cached[1]  # the clusters did not change since the last refresh
    state, refresh = _built(ws)
    if state.fingerprint != before.fingerprint:
        state = with_history(state, history_entry(
            before, state, refresh, ws.clusters["cluster"], now_utc(), run))
    ws.personas = state
    ws._refresh = (state.fingerprint, refresh)
    ws.changed("personas")
    if save:
        ws.keep()
    return refresh


def current_personas(ws: Workspace) -> PersonaState:
    """The persona state, rebuilt (without saving) if the clusters changed."""
    return ws.personas if personas_fresh(ws) else _built(ws)[0]


def update_persona(ws: Workspace, label: str, **changes: Any) -> None:
    """Save the analyst's edits of one persona (name, description, traits, ...).

    Raises
    ------
    ConfigError
        Unknown persona or field, an empty, too long or duplicate name.
    """
    if not personas_fresh(ws):
        refresh_personas(ws, save=False)
    ws.personas = edit_persona(ws.personas, label, **changes)
    ws.changed("personas")
    ws.save()


def rerun_migration(ws: Workspace) -> Migration | None:
    """Personas before and after the last re-clustering of the same users, or None."""
    if ws.clusters is None:
        return None
    return migration.rerun_migration(current_personas(ws), ws.clusters["cluster"])


def period_migration(ws: Workspace, days: int = DEFAULT_WINDOW_DAYS) -> Migration:
    """Personas of the first ``days`` days against those of the last ``days`` days.

    Raises
    ------
    ConfigError
        No clusters, no events (a per-user table), or a period too short for two windows.
    """
    if ws.events is None:
        raise ConfigError("Comparing periods needs the event log; this workspace holds a "
                          "per-user table.")
    fitted = fitted_clusters(ws)
    config = ws.feature_info.config or FeatureConfig(event_roles=ws.data.event_roles)
    return migration.period_migration(ws.events, config, fitted,
                                      current_personas(ws).names, days)


def profile_table(ws: Workspace) -> pd.DataFrame | None:
    """The feature table personas are described from: without the saved propensity
    scores, which are model outputs (each card says its share at risk on its own line),
    not behaviour to name a persona by."""
    features = ws.features
    if features is None:
        return None
    return features.drop(columns=[c for c in features.columns if c in PREDICTION_COLUMNS])
