"""What the journey pages share: the events, the "split by" picker and cached views.

Each view is cached per workspace version (data, clusters, personas, segments) and per
settings, so a widget change elsewhere on the page redraws without recomputing.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.journeys import (
    FunnelSpec,
    build_sequences,
    distinguishing_patterns,
    frequent_patterns,
    funnel,
    lifecycle,
    paths,
    retention,
)
from core.workspace.journeys import (
    GROUP_LABELS,
    GroupBy,
    group_options,
    journey_events,
    journey_groups,
)
from ui.errors import shows_errors

#: The parts of a workspace a journey view reads.
PARTS = ("data", "clusters", "personas", "segments")


def version(ws) -> str:
    """A key that changes when the events or the groups change."""
    return ws.version(*PARTS)


def events_or_stop(ws) -> pd.DataFrame:
    """The workspace's events, or a message saying what to load and a stop."""
    with shows_errors():
        return journey_events(ws)
    st.page_link("pages/data.py", label="Go to Data", icon=":material/arrow_forward:")
    st.stop()


def split_picker(ws, key: str, container=None) -> tuple[GroupBy, pd.Series | None]:
    """'Split by' (everyone, persona, rule segment) and each user's group."""
    target = container if container is not None else st
    options = group_options(ws)
    default = "persona" if "persona" in options else "everyone"
    by = target.selectbox("Split by", options, index=options.index(default), key=key,
                          format_func=GROUP_LABELS.get,
                          help="Personas once users are clustered; rule segments once "
                               "defined (each user in the segment of highest priority).")
    return by, _groups(version(ws), by, ws)


@st.cache_data(show_spinner=False, max_entries=8)
def _groups(key: str, by: GroupBy, _ws) -> pd.Series | None:
    return journey_groups(_ws, by)


@st.cache_data(show_spinner="Counting the funnel...", max_entries=8)
def cached_funnel(key: str, spec_json: str, by: str, _events, _groups):
    return funnel(_events, FunnelSpec.from_dict(json.loads(spec_json)), _groups)


@st.cache_data(show_spinner="Following the paths...", max_entries=8)
def cached_paths(key: str, settings_json: str, by: str, _events, _groups):
    return paths(_events, groups=_groups, **json.loads(settings_json))


@st.cache_resource(show_spinner="Building the sequences...", max_entries=4)
def _sequences(key: str, unit: str, collapse_repeats: bool, _events):
    # Shared (not copied) by the frequent patterns and the group comparison, which
    # read the same sequences: built once per data version and settings.
    return build_sequences(_events, unit=unit, collapse_repeats=collapse_repeats)


def _settings_and_sequences(key: str, settings_json: str, events):
    settings = json.loads(settings_json)
    sequences = _sequences(key, settings.pop("unit"), settings.pop("collapse_repeats"), events)
    return settings, sequences


@st.cache_data(show_spinner="Finding frequent sequences...", max_entries=6)
def cached_patterns(key: str, settings_json: str, _events):
    settings, sequences = _settings_and_sequences(key, settings_json, _events)
    return sequences, frequent_patterns(sequences, **settings)


@st.cache_data(show_spinner="Comparing the groups' sequences...", max_entries=6)
def cached_distinguishing(key: str, settings_json: str, by: str, _events, _groups):
    settings, sequences = _settings_and_sequences(key, settings_json, _events)
    return distinguishing_patterns(sequences, _groups, **settings)


@st.cache_data(show_spinner="Counting cohorts...", max_entries=8)
def cached_retention(key: str, settings_json: str, by: str, _events, _groups):
    return retention(_events, groups=_groups, **json.loads(settings_json))


@st.cache_data(show_spinner="Counting the lifecycle...", max_entries=8)
def cached_lifecycle(key: str, settings_json: str, by: str, _events, _groups):
    return lifecycle(_events, groups=_groups, **json.loads(settings_json))


@st.cache_data(show_spinner=False, max_entries=8)
def event_counts(key: str, _events) -> pd.Series:
    """How often each event occurs, most frequent first (``key``: the data's version)."""
    counts = _events["event"].value_counts()
    return counts[counts > 0]


@st.cache_data(show_spinner="Following the group's paths...", max_entries=8)
def cached_group_paths(key: str, settings_json: str, by: str, group: str, _events, _groups):
    """The paths of one group's users alone: the top events per step are counted within
    the group, and every column sums to the group's users who did the anchor event."""
    from core.journeys.funnels import group_of_users

    users = pd.Index(pd.unique(_events["user_id"]))
    labels, _ = group_of_users(users, _groups)
    members = users[(labels == group).to_numpy()]
    return paths(_events[_events["user_id"].isin(members)], groups=None,
                 **json.loads(settings_json))
