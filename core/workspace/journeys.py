"""What the journey views read from a workspace: its events and the groups to split by
(personas, rule segments made exclusive by priority, or nobody), and the save of a
funnel's dropped users as a segment."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from core.common.errors import ConfigError
from core.data.mapping import FUNNEL_STEPS
from core.workspace.segments import save_segment, segment_memberships
from core.workspace.store import Workspace, require_events

GroupBy = Literal["everyone", "persona", "segment"]
#: What each way of splitting is called on the pages and in the report.
GROUP_LABELS = {"everyone": "Everyone", "persona": "Persona",
                "segment": "Rule segment (exclusive by priority)"}


def journey_events(ws: Workspace) -> pd.DataFrame:
    """The workspace's cleaned, sessionized events (see :func:`require_events`)."""
    return require_events(ws, "Journeys need an event log")


def role_event(ws: Workspace, role: str, present: set[str]) -> str | None:
    """The workspace's event for a funnel role (product_view, ..., purchase) that the
    data has, or None."""
    roles = ws.data.event_roles or {}
    return next((str(n) for n in roles.get(role, []) if str(n) in present), None)


def funnel_events(ws: Workspace, present: set[str]) -> list[str]:
    """The workspace's funnel events in funnel order, each once, those the data has (the
    default steps of the journey views)."""
    steps: list[str] = []
    for role in FUNNEL_STEPS:
        name = role_event(ws, role, present)
        if name is not None and name not in steps:
            steps.append(name)
    return steps


def group_options(ws: Workspace) -> list[GroupBy]:
    """The ways this workspace's users can be split: personas once clustered, rule
    segments once defined."""
    options: list[GroupBy] = ["everyone"]
    if ws.clusters is not None:
        options.append("persona")
    if ws.segment_rules.rules:
        options.append("segment")
    return options


def journey_groups(ws: Workspace, by: GroupBy) -> pd.Series | None:
    """Each user's group for ``by`` (user id index), or None for everyone."""
    if by == "everyone":
        return None
    if by == "persona":
        labels = ws.persona_labels()
        if labels is None:
            raise ConfigError("Cluster the users first (Clustering page) to split by persona.")
        return labels
    if by == "segment":
        if not ws.segment_rules.rules:
            raise ConfigError("Define a rule segment first (Segments page) to split by segment.")
        return segment_memberships(ws, exclusive=True).exclusive.rename("segment")
    raise ConfigError(f"Split by one of {', '.join(GROUP_LABELS)}, not '{by}'.")


def save_dropped(ws: Workspace, name: str, users: pd.Index) -> int:
    """Save users (those who dropped at a funnel step) as a segment; its size."""
    if not len(users):
        raise ConfigError("No user dropped at this step: there is nothing to save.")
    return save_segment(ws, name, [str(u) for u in users])
