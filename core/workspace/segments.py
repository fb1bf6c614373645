"""The workspace's segments: rule segments of the Segments page and selections saved on
the Map page, under one naming rule everywhere (pages, rules, export).

A saved selection keeps its own name unless a rule segment has that name; then it is
called "NAME (map)", so no two segments share a name anywhere.
"""

from __future__ import annotations

import pandas as pd

from core.common.errors import ConfigError
from core.segment.rule_segments import (
    SMALL_SEGMENT_SHARE,
    Memberships,
    PresetCheck,
    SegmentRule,
    evaluate,
    preset_checks,
    presets,
    with_windows,
)
from core.workspace.store import Workspace, require_features

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


def replace_rule(ws: Workspace, original: str, rule: SegmentRule) -> None:
    """Put an edited rule segment in the place of ``original`` (renamed or not)."""
    rules = list(ws.segment_rules.rules)
    names = [r.name for r in rules]
    if original not in names:
        raise ConfigError(f"There is no rule segment '{original}' to change any more; "
                          "save it as a new segment.")
    if rule.name != original and rule.name in names:
        raise ConfigError(f"A segment called '{rule.name}' exists already; choose another "
                          "name or delete that one first.")
    rules[names.index(original)] = rule
    set_segment_rules(ws, rules)


def stored_name(ws: Workspace, shown: str) -> str | None:
    """The stored name of the saved selection shown as ``shown``, or None."""
    saved = ws.segments
    if saved is None or saved.empty:
        return None
    rule_names = {r.name for r in ws.segment_rules.rules}
    return next((str(n) for n in saved["segment"].unique()
                 if saved_name(str(n), rule_names) == shown), None)


def delete_segments(ws: Workspace, names: list[str]) -> list[str]:
    """Delete rule segments and saved selections by the names they are shown under;
    return the names deleted (unknown names are skipped)."""
    rules = list(ws.segment_rules.rules)
    rule_names = {r.name for r in rules}
    # Shown names depend on the rules: map them to stored names before changing any.
    selections = {shown: stored_name(ws, shown) for shown in names
                  if shown not in rule_names}
    gone = {stored for stored in selections.values() if stored is not None}
    deleted = [n for n in names if n in rule_names or selections.get(n) is not None]
    if not deleted:
        return []
    ws.segment_rules.rules = [r for r in rules if r.name not in set(names)]
    if gone:
        saved = ws.segments
        ws.set_frame("segments", saved[~saved["segment"].astype(str).isin(gone)]
                     .reset_index(drop=True))
    ws.changed("segments")
    ws.save()
    return deleted


def rename_selection(ws: Workspace, shown: str, new: str) -> str:
    """Rename a saved selection (a Map segment); return the name it is shown under."""
    new = new.strip()
    stored = stored_name(ws, shown)
    if stored is None:
        raise ConfigError(f"There is no saved selection '{shown}'.")
    if not new:
        raise ConfigError("Give the segment a name.")
    saved = ws.segments
    taken = set(saved["segment"].astype(str)) - {stored}
    if new in taken or new in {r.name for r in ws.segment_rules.rules}:
        raise ConfigError(f"A segment called '{new}' exists already; choose another name.")
    saved = saved.copy()
    saved.loc[saved["segment"].astype(str) == stored, "segment"] = new
    ws.set_frame("segments", saved)
    ws.changed("segments")
    ws.save()
    return new


def workspace_preset_checks(ws: Workspace) -> list[PresetCheck]:
    """Every preset checked on this workspace's users (windowed counts from its events)."""
    features = require_features(ws)
    windows = ws.feature_info.kind == "events" and ws.events is not None
    features = with_windows(features, presets(features, windows), ws.events if windows
                            else None, ws.data.event_roles)
    return preset_checks(features, windows)
