"""The workspace's segments: rule segments of the Segments page and selections saved on
the Map page, under one naming rule everywhere (pages, rules, export).

A saved selection keeps its own name unless a rule segment has that name; then it is
called "NAME (map)", so no two segments share a name anywhere.
"""

from __future__ import annotations

import pandas as pd

from core.common.errors import ConfigError
from core.segment.rule_segments import SMALL_SEGMENT_SHARE, Memberships, SegmentRule, evaluate
from core.workspace.actions import require_features
from core.workspace.store import Workspace

MAP_SUFFIX = " (map)"


def segment_memberships(ws: Workspace, rules: list[SegmentRule] | None = None,
                        exclusive: bool = False, users: pd.Index | None = None,
                        small_share: float = SMALL_SEGMENT_SHARE) -> Memberships:
    """Evaluate rule segments (the workspace's, or ``rules``) on its users.

    Conditions with a time window are counted on the workspace's event log.
    """
    features = require_features(ws)
    if users is not None:
        features = features.loc[users]
    chosen = ws.segment_rules.rules if rules is None else rules
    needs_events = any(r.windows() for r in chosen)
    return evaluate(features, chosen, exclusive=exclusive, small_share=small_share,
                    events=ws.events if needs_events else None,
                    event_roles=ws.data.event_roles)


def saved_name(name: str, rule_names: set[str]) -> str:
    """The name a saved selection is shown under: its own, or "NAME (map)" on a clash."""
    return f"{name}{MAP_SUFFIX}" if name in rule_names else name


def saved_selections(ws: Workspace) -> dict[str, pd.Index]:
    """Members of each saved selection, by the name it is shown under."""
    saved = ws.segments
    if saved is None or saved.empty:
        return {}
    rule_names = {r.name for r in ws.segment_rules.rules}
    return {saved_name(str(name), rule_names): pd.Index(ids.astype(str))
            for name, ids in saved.groupby("segment", sort=False)["user_id"]}


def workspace_segments(ws: Workspace) -> dict[str, pd.Index]:
    """Members of every segment: rule segments (not exclusive), then saved selections."""
    features = require_features(ws)
    members: dict[str, pd.Index] = {}
    if ws.segment_rules.rules:
        matrix = segment_memberships(ws).matrix
        members = {str(name): features.index[matrix[name].to_numpy()] for name in matrix}
    return members | saved_selections(ws)


def set_segment_rules(ws: Workspace, rules: list[SegmentRule]) -> None:
    """Keep the Segments page's rule segments, in priority order of the list."""
    ws.segment_rules.rules = list(rules)
    ws.changed("segments")
    ws.save()


def save_segment(ws: Workspace, name: str, user_ids: list[str]) -> int:
    """Store (or replace) a selection of users as a segment; return its size."""
    name = name.strip()
    if not name:
        raise ConfigError("Give the segment a name.")
    if not user_ids:
        raise ConfigError("The segment has no users: select some first.")
    current = ws.segments
    rows = pd.DataFrame({"segment": name, "user_id": pd.Index(user_ids).unique()})
    if current is not None:
        current = current[current["segment"] != name]
        rows = pd.concat([current, rows], ignore_index=True)
    ws.set_frame("segments", rows)
    ws.changed("segments")
    ws.save()
    return int((rows["segment"] == name).sum())
