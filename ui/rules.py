"""Cached helpers of the Rules page: the evaluation context and the workspace's rules."""

from __future__ import annotations

import streamlit as st

from core.rules import RuleContext, RuleSet, WindowCount, with_counts
from core.workspace.rules import context_from_workspace

#: The parts of a workspace that rules read (data, personas, segments).
CONTEXT_PARTS = ("data", "features", "clusters", "personas", "segments")


def data_version(ws) -> str:
    """A key that changes when anything a rule reads changes (data, personas, segments)."""
    return ws.version(*CONTEXT_PARTS)


@st.cache_resource(show_spinner="Computing recent behavior...", max_entries=2)
def _base_context(version: str, _ws) -> RuleContext:
    return context_from_workspace(_ws)


@st.cache_resource(show_spinner="Counting events in the rules' windows...", max_entries=6)
def _context(version: str, counts: tuple[tuple[str, int, str], ...], _ws) -> RuleContext:
    # Signals, personas and segments come from the one base context of this data
    # version; only the windowed counts differ between rule sets.
    base = _base_context(version, _ws)
    return with_counts(base, _ws.events, _ws.data.event_roles or {},
                       [WindowCount(*c) for c in counts]) if counts else base


def rule_context(ws, counts: list[WindowCount] = ()) -> RuleContext:
    """The workspace's evaluation context with the given windowed counts (cached).

    The context is shared, not copied: treat it as read-only.
    """
    key = tuple(sorted((c.event, c.amount, c.unit) for c in counts))
    return _context(data_version(ws), key, ws)


def stored_rules(ws) -> RuleSet:
    """The rules kept in the workspace."""
    return ws.rules.rule_set
