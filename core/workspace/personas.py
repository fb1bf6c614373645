"""The workspace's personas: kept in step with its clusters, edited, compared over time."""

from __future__ import annotations

from typing import Any

from core.common.errors import ConfigError
from core.features.table import FeatureConfig
from core.personas import migration
from core.personas.migration import DEFAULT_WINDOW_DAYS, Migration
from core.personas.state import PersonaRefresh, PersonaState, build_state, edit_persona
from core.workspace.model import fitted_clusters
from core.workspace.store import Workspace


def personas_fresh(ws: Workspace) -> bool:
    """True when the persona state was built for the workspace's current clusters."""
    return ws.personas.is_for(ws.clusters)


def _built(ws: Workspace) -> tuple[PersonaState, PersonaRefresh]:
    clusters, features = ws.clusters, ws.features
    if clusters is None or features is None or ws.clustering is None:
        raise ConfigError("There are no clusters yet. Cluster the users on the Clustering "
                          "page first.")
    return build_state(features, clusters["cluster"], ws.events,
                       ws.clustering.preprocess.features, ws.personas)


def refresh_personas(ws: Workspace, save: bool = True) -> PersonaRefresh:
    """Rebuild the personas for the current clusters, keeping earlier names.

    Call it when :func:`personas_fresh` is False (the clusters changed). The earlier
    labels are kept as the state's ``previous`` for a before/after comparison.

    Raises
    ------
    ConfigError
        There are no clusters.
    """
    ws.personas, refresh = _built(ws)
    ws.changed("personas")
    if save:
        ws.save()
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
