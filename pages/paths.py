"""Paths page: what users do after an event, or did before one, step by step, as a Sankey
whose every column holds every user, with step matrices per group and their difference."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.common.export import safe_csv_bytes
from core.journeys.flow_charts import difference_heatmap, paths_sankey, step_matrix_heatmap
from core.journeys.funnels import ALL_USERS
from core.journeys.paths import MAX_STEPS, MAX_TOP
from core.workspace.journeys import funnel_events, group_options, role_event
from ui.downloads import download_button
from ui.errors import show_notices, shows_errors
from ui.journeys import (
    cached_group_paths,
    cached_paths,
    event_counts,
    events_or_stop,
    split_picker,
    version,
)
from ui.state import workspace
from ui.text import inert

MODES = {"start": "From an event", "end": "To an event"}
GROUP_WORDS = {"persona": "persona", "segment": "rule segment", "everyone": "group"}

ws = workspace()
st.title("Paths")
st.caption("What users do after an event, or did before one, step by step; split by "
           "persona or segment to see where their journeys part.")
events = events_or_stop(ws)
counts = event_counts(ws.version("data"), events)
event_names = [str(e) for e in counts.index]


def first_funnel_event() -> str | None:
    return next(iter(funnel_events(ws, set(event_names))), None)


def index_of(name: str | None) -> int:
    return event_names.index(name) if name in event_names else 0


# settings ------------------------------------------------------------------------------
cols = st.columns([1.5, 1.6, 1.6], vertical_alignment="bottom")
mode = cols[0].radio("Paths", list(MODES), format_func=MODES.get, key="paths.mode",
                     horizontal=True)
if mode == "start":
    anchor = cols[1].selectbox("Start event", event_names, key="paths.start",
                               index=index_of(first_funnel_event()),
                               help="Each user's first occurrence of it starts the path.")
else:
    anchor = cols[1].selectbox("End event", event_names, key="paths.end",
                               index=index_of(role_event(ws, "purchase", set(event_names))),
                               help="Each user's first occurrence of it ends the path.")
by, groups = "everyone", None
with shows_errors():
    by, groups = split_picker(ws, "paths.split", cols[2])
has_sessions = "session_id" in events.columns
# A row that wraps rather than cuts a label off at 1024 px.
row = st.container(horizontal=True, vertical_alignment="bottom")
steps = row.number_input("Steps", 1, MAX_STEPS, 5, key="paths.steps", width=150,
                         help=f"Events {'after' if mode == 'start' else 'before'} the "
                              f"{'start' if mode == 'start' else 'end'} event, 1 to "
                              f"{MAX_STEPS}.")
top = row.number_input("Branches per step", 1, MAX_TOP, 6, key="paths.top", width=170,
                       help="The most frequent events at each step keep their name; the "
                            "rest are '(other)'.")
collapse = row.toggle("Collapse repeats", value=True, key="paths.collapse", width="content",
                      help="A run of the same event (page_view, page_view) counts once.")
within = row.toggle("Within one session", value=False, key="paths.session",
                    width="content", disabled=not has_sessions,
                    help="Stop each path where the session of the start (or end) event "
                         "ends." if has_sessions else "The events have no session id.")
if group_options(ws) == ["everyone"]:
    st.caption("To compare groups, cluster the users (Clustering page) or define rule "
               "segments (Segments page); the paths can then be split by them.")

settings = {"steps": int(steps), "top": int(top), "collapse_repeats": bool(collapse),
            "within_session": bool(within and has_sessions),
            ("start" if mode == "start" else "end"): anchor}
settings_json = json.dumps(settings, sort_keys=True)
result = None
with shows_errors():
    result = cached_paths(version(ws), settings_json, by, events, groups)
if result is None:
    st.stop()
show_notices([n for n in result.notices if n.level != "info"])
show_notices([n for n in result.notices if n.level == "info"], infos="caption")
st.caption(inert(result.convention))
if result.users == 0:
    st.stop()

# the Sankey ----------------------------------------------------------------------------
word = GROUP_WORDS[by]
views = [ALL_USERS, *result.groups] if by != "everyone" else [ALL_USERS]
view = ALL_USERS
if len(views) > 1:
    view = st.selectbox("Show the paths of", views, key="paths.view",
                        format_func=lambda g: "Everyone" if g == ALL_USERS else g,
                        help=f"Everyone, or the users of one {word}.")
shown = result if view == ALL_USERS else \
    cached_group_paths(version(ws), settings_json, by, view, events, groups)
st.plotly_chart(paths_sankey(shown), key="paths.sankey", width="stretch")
sums = shown.nodes.groupby("column")["users"].sum()
who = inert(shown.anchor) + ("" if view == ALL_USERS else f" in {inert(view)}")
if len(sums) and (sums == shown.users).all():
    st.caption(f"Every column sums to the {shown.users:,} users who did {who}"
               + ("" if view == ALL_USERS else
                  "; the branches kept at each step are this group's most frequent") + ".")
else:
    st.warning(f"The columns do not all sum to the {shown.users:,} users who did {who}: "
               + ", ".join(f"step {c}: {n:,}" for c, n in sums.items())
               + ". Read the chart with care.", icon=":material/warning:")

# step matrices -------------------------------------------------------------------------
st.subheader("Where users are at each step")
label = "everyone" if view == ALL_USERS else inert(view)
st.plotly_chart(step_matrix_heatmap(result.step_matrix[view],
                                    f"Share of {'everyone' if view == ALL_USERS else view} "
                                    "at each event and step",
                                    counts=result.step_counts[view]),
                key="paths.matrix", width="stretch")
st.caption(f"Each column sums to 100 % of {label} who did {inert(result.anchor)} "
           f"({int(result.step_counts[view].iloc[:, 0].sum()):,} users); rows are the events "
           "in any step's top for everyone, so groups can be compared row by row.")

if len(result.groups) >= 2:
    st.subheader(f"Difference between two {word}s")
    cols = st.columns(2)
    group_a = cols[0].selectbox(f"{word.capitalize()}", result.groups, index=0,
                                key="paths.diff_a")
    group_b = cols[1].selectbox("Compared with", result.groups, index=1, key="paths.diff_b")
    if group_a == group_b:
        st.info(f"Choose two different {word}s to compare.", icon=":material/info:")
    else:
        with shows_errors():
            st.plotly_chart(difference_heatmap(
                result.difference(group_a, group_b),
                f"{group_a} minus {group_b}: share of users, percentage points"),
                key="paths.difference", width="stretch")
            st.caption(f"Red: a larger share of {inert(group_a)} at that event and step; "
                       f"blue: a larger share of {inert(group_b)} "
                       f"({int(result.group_sizes[group_a]):,} and "
                       f"{int(result.group_sizes[group_b]):,} users).")

# downloads -----------------------------------------------------------------------------
def matrix_table() -> pd.DataFrame:
    """Every group's step matrix in long form: users and share per event and step."""
    return pd.concat([
        result.step_counts[g].stack().rename("users").to_frame()
        .join(result.step_matrix[g].stack().rename("share")).reset_index().assign(group=g)
        for g in result.step_matrix], ignore_index=True)[["group", "event", "step", "users",
                                                           "share"]]


file_version = (version(ws), settings_json, by, view)
downloads = st.container(horizontal=True)
download_button("Sankey nodes (CSV)", key="paths.csv.nodes", version=file_version,
                build=lambda: safe_csv_bytes(shown.nodes.assign(group=view), index=False),
                file_name="paths_nodes.csv", mime="text/csv", icon=":material/download:",
                container=downloads)
download_button("Sankey links (CSV)", key="paths.csv.links", version=file_version,
                build=lambda: safe_csv_bytes(shown.links.assign(group=view), index=False),
                file_name="paths_links.csv", mime="text/csv", icon=":material/download:",
                container=downloads)
download_button("Step matrices (CSV)", key="paths.csv.matrix", version=file_version,
                build=lambda: safe_csv_bytes(matrix_table(), index=False),
                file_name="paths_step_matrix.csv", mime="text/csv",
                icon=":material/download:", container=downloads)
