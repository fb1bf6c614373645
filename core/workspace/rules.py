"""The workspace's personalization rules and the context they are evaluated in."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from core.common.notices import Notice
from core.features.signals import SIGNAL_DEFINITIONS, behavior_signals, data_now
from core.rules import RuleContext, RuleSet, WindowCount, build_context, event_names, with_counts
from core.rules.model import RECOMMENDATION_MODULES, stamp_times
from core.workspace.segments import workspace_segments
from core.workspace.store import Workspace, require_features


def context_from_workspace(ws: Workspace, counts: list[WindowCount] = ()) -> RuleContext:
    """Build the evaluation context of a workspace: features, signals, personas, segments.

    Parameters
    ----------
    ws : Workspace
        Needs a feature table; the event log (for signals and counts), clusters (for
        personas) and segments are used when present.
    counts : list of WindowCount
        Windowed counts to compute (see :func:`core.rules.window_counts_needed`).
    """
    features = require_features(ws)
    events, roles = ws.events, ws.data.event_roles or {}
    signals = now = None
    notices: list[Notice] = []
    if events is not None and not events.empty:
        now = data_now(events)
        result = behavior_signals(events, roles, now, users=features.index)
        signals = result.frame
        notices += result.notices
    else:
        notices.append(Notice("no_events", "There is no event log: behavior signals and "
                              "windowed counts are not available.", level="info"))
    definitions = {**ws.feature_info.definitions, **SIGNAL_DEFINITIONS}
    context = build_context(features, signals, ws.persona_labels(), workspace_segments(ws),
                            None, event_names(events, roles), now, definitions)
    context.notices = notices + context.notices
    return with_counts(context, events, roles, counts) if counts else context


def store_rules(ws: Workspace, rule_set: RuleSet) -> None:
    """Keep the rules of the Rules page in the workspace and save it; new rules get
    their creation time and changed ones their change time (:func:`stamp_times`), which
    the Experiments page compares with the outcomes of a rule's test."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ws.rules.rule_set = stamp_times(ws.rules.rule_set, rule_set, now)
    ws.changed("rules")
    ws.save()


def shows_recommendations(rule_set: RuleSet) -> bool:
    """Whether an enabled rule shows a module of recommended items."""
    return any(r.enabled and r.action.module in RECOMMENDATION_MODULES for r in rule_set.rules)


def recommended_items(ws: Workspace, table: pd.DataFrame | None = None) -> pd.Series:
    """Each user's recommended items, "item; item; ...", under the Recommendations
    page's settings (what a rule showing ``recommendation_carousel`` serves).

    Parameters
    ----------
    table : DataFrame, optional
        The recommendations' table (``user_id``, ``rank``, ``item``) when the caller has
        it (the Rules page caches it); built from the workspace otherwise.

    Raises
    ------
    ConfigError
        The data cannot be recommended from (no event log, no item column, nothing
        weighted).
    """
    if table is None:
        from core.workspace.recommend import build_recommendations, recommend_settings

        table = build_recommendations(ws, recommend_settings(ws)).table
    table = table.sort_values(["user_id", "rank"])
    return table.groupby("user_id", sort=False)["item"].agg(
        lambda items: "; ".join(map(str, items))).rename("items")
