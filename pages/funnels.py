"""Funnels page: how many users go through a sequence of steps within a conversion window,
where they drop out, whether personas or segments convert differently, and the users who
dropped at a step saved as a segment."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from core.common.export import safe_csv_bytes
from core.journeys import FunnelSpec, Step, dropped_at
from core.journeys.flow_charts import funnel_chart, time_to_convert_chart
from core.journeys.funnels import ALPHA, CONVENTION_ANY, CONVENTION_ORDERED, MAX_STEPS
from core.workspace.journeys import funnel_events, group_options, save_dropped
from ui.downloads import download_button
from ui.editing import edit_lock
from ui.errors import show_notices, shows_errors
from ui.journeys import cached_funnel, event_counts, events_or_stop, split_picker, version
from ui.state import workspace
from ui.text import inert

#: Columns of the events frame that are not properties a step can filter on.
NOT_PROPERTIES = ("user_id", "ts", "event", "session_id")
#: Steps offered when the workspace names no funnel events in this data.
FALLBACK_STEPS = 3
WINDOW_UNITS = ("minutes", "hours", "days")
ORDER_LABELS = {"ordered": "In this order", "any": "In any order"}
#: What the groups are called in sentences and headers.
GROUP_WORDS = {"persona": ("personas", "Persona"), "segment": ("rule segments", "Segment"),
               "everyone": ("groups", "Group")}
#: How many of a property's values the filter hint lists.
HINT_VALUES = 6
#: The steps table grows with its rows up to this height (px), then scrolls.
TABLE_MAX_HEIGHT = 700

ws = workspace()
st.title("Funnels")
st.caption("How many users go through a sequence of steps within a conversion window, "
           "where they drop out, and whether personas or segments convert differently.")
events = events_or_stop(ws)
counts = event_counts(ws.version("data"), events)
event_names = [str(e) for e in counts.index]
properties = [str(c) for c in events.columns if c not in NOT_PROPERTIES]


def default_steps() -> list[str]:
    """The workspace's funnel events in order (those in the data), else the most
    frequent events."""
    steps = funnel_events(ws, set(event_names))
    return steps if len(steps) >= 2 else event_names[:FALLBACK_STEPS]


def steps_frame(steps: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"event": pd.Series(steps, dtype=object),
                         "property": pd.Series([None] * len(steps), dtype=object),
                         "value": pd.Series([""] * len(steps), dtype=object)})


def reset_steps() -> None:
    """The editor back to the funnel events (also when the data changed)."""
    st.session_state["funnels.steps_for"] = ws.version("data")
    st.session_state["funnels.base"] = steps_frame(default_steps())
    st.session_state.pop("funnels.steps", None)


def blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or \
        str(value).strip() == ""


def steps_from_rows(rows: pd.DataFrame) -> tuple[list[Step], list[str]]:
    """The steps of the editor's rows (rows without an event are skipped) and what was
    left out, in words."""
    steps, problems = [], []
    for number, row in enumerate(rows.to_dict("records"), start=1):
        event, prop, value = (None if blank(row.get(c)) else str(row.get(c)).strip()
                              for c in ("event", "property", "value"))
        if event is None:
            if prop or value:
                problems.append(f"Row {number} has a filter but no event; it is left out.")
            continue
        if bool(prop) != bool(value):
            problems.append(f"Row {number} ({event}): the filter needs both a property and "
                            "a value; it is not applied.")
            steps.append(Step(event))
        else:
            steps.append(Step(event, ((prop, value),) if prop else ()))
    return steps, problems


def filter_hints(steps: list[Step]) -> list[str]:
    """The most common values of each filtered property for its event."""
    hints = []
    for step in steps:
        for prop, _ in step.filters:
            if prop not in events.columns:
                continue
            values = events.loc[events["event"] == step.event, prop].astype("string") \
                .value_counts().head(HINT_VALUES)
            if len(values):
                hints.append(f"{step.event} · {prop}: " + ", ".join(
                    f"{v} ({n:,})" for v, n in values.items()))
    return hints


def duration(seconds: float) -> str:
    """Seconds in words: 45 s, 3.2 min, 5.1 h, 2.3 days."""
    if seconds is None or not np.isfinite(seconds):
        return ""
    for size, unit in ((86_400, "days"), (3_600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# settings ------------------------------------------------------------------------------
if st.session_state.get("funnels.steps_for") != ws.version("data"):
    reset_steps()
row = st.container(horizontal=True, vertical_alignment="bottom")
row.markdown(f"**Steps**, in order (2 to {MAX_STEPS}): an event, optionally with one "
             "property filter. Add rows with **+** below the table.", width="stretch")
row.button("Reset to the funnel events", key="funnels.reset", on_click=reset_steps,
           icon=":material/restart_alt:")
rows = st.data_editor(
    st.session_state["funnels.base"], num_rows="dynamic", key="funnels.steps",
    width="stretch", hide_index=True,
    column_config={
        "event": st.column_config.SelectboxColumn("Event", options=event_names,
                                                  required=False, width="medium"),
        "property": st.column_config.SelectboxColumn(
            "Property (optional)", options=properties, width="medium",
            help="Only events whose property has this value count for the step."),
        "value": st.column_config.TextColumn(
            "Value", width="medium", help="Compared as text; numbers also by value.")})
steps, problems = steps_from_rows(rows)
for problem in problems:
    st.warning(inert(problem), icon=":material/warning:")
hints = filter_hints(steps)
if hints:
    st.caption("Most common values: " + "; ".join(map(inert, hints)) + ".")

cols = st.columns([1, 1, 1.6, 2.2], vertical_alignment="bottom")
amount = cols[0].number_input("Conversion window", min_value=1, max_value=100_000, value=7,
                              step=1, key="funnels.window",
                              help="Every step must happen within this time of step 1.")
unit = cols[1].selectbox("Unit", WINDOW_UNITS, index=WINDOW_UNITS.index("days"),
                         key="funnels.unit")
order = cols[2].radio("Step order", list(ORDER_LABELS), format_func=ORDER_LABELS.get,
                      key="funnels.order", horizontal=True)
by, groups = "everyone", None
with shows_errors():
    by, groups = split_picker(ws, "funnels.split", cols[3])
st.caption(inert(CONVENTION_ORDERED if order == "ordered" else CONVENTION_ANY))
if group_options(ws) == ["everyone"]:
    st.caption("To compare groups, cluster the users (Clustering page) or define rule "
               "segments (Segments page); the funnel can then be split by them.")

result, spec_json = None, ""
with shows_errors():
    spec = FunnelSpec(tuple(steps), pd.Timedelta(**{unit: int(amount)}), order)
    spec_json = json.dumps(spec.to_dict(), sort_keys=True)
    result = cached_funnel(version(ws), spec_json, by, events, groups)
if result is None:
    st.stop()

# results -------------------------------------------------------------------------------
n_steps = len(result.spec.steps)
overall = result.overall
entrants = int(overall["users"].iloc[0]) if len(overall) else 0
converted = int(overall["users"].iloc[-1]) if len(overall) else 0
plural, header = GROUP_WORDS[by]
show_notices([n for n in result.notices if n.level != "info"])
metrics = st.container(horizontal=True)
metrics.metric("Entered the funnel", f"{entrants:,}", help="Users who did step 1 "
               "(in any order: any step).", width="content", border=True)
metrics.metric("Converted", f"{converted:,}", help="Users who reached the last step within "
               "the window.", width="content", border=True)
metrics.metric("Overall conversion", f"{converted / entrants:.1%}" if entrants else "–",
               help="Converted as a share of those who entered.", width="content",
               border=True)
show_notices([n for n in result.notices if n.level == "info"], infos="caption")
if entrants == 0:
    st.stop()

st.plotly_chart(funnel_chart(result), key="funnels.chart", width="stretch")

if result.test is not None:
    test = result.test
    p = f"p {p_text(test.p_value)}" if test.p_value < 0.001 else f"p = {p_text(test.p_value)}"
    verdict = "differs" if test.p_value < ALPHA else "does not differ significantly"
    st.markdown(f"**Conversion {verdict} between {plural}**: χ² = {test.statistic:,.1f}, "
                f"df = {test.dof}, {p} ({test.n:,} entrants).")
    st.caption("Chi-square test of independence of converted (reached the last step) "
               "against not, among entrants"
               + (", with Yates' continuity correction (two groups)" if test.dof == 1 else "")
               + f"; significant below {ALPHA:g}.")
elif by == "everyone":
    st.caption("Split by persona or rule segment to test whether conversion differs "
               "between groups.")

table = result.steps if by == "everyone" else pd.concat([overall, result.steps],
                                                         ignore_index=True)
shown = table.assign(
    step_label=[f"{k}. {label}" if order == "ordered" else label
                for k, label in zip(table["step"], table["label"], strict=True)],
    median=table["median_s"].map(duration),
    middle=[f"{duration(a)} – {duration(b)}" if np.isfinite(a) else ""
            for a, b in zip(table["q1_s"], table["q3_s"], strict=True)])
group_column = ["group"] if by != "everyone" else []
step_header = "Step" if order == "ordered" else "Steps done"
st.subheader("Steps")
# Fixed widths: the counts and both conversions fit beside the group at 1024 px.
st.dataframe(
    shown, hide_index=True, width="stretch", key="funnels.steps_table",
    height=min(35 * (len(shown) + 1) + 3, TABLE_MAX_HEIGHT),  # 35 px a grid row
    column_order=[*group_column, "step_label", "users", "dropped",
                  "conversion_from_previous", "conversion_from_first"],
    column_config={
        "group": st.column_config.TextColumn(header, width=165),
        "step_label": st.column_config.TextColumn(step_header, width=115),
        "users": st.column_config.NumberColumn("Users", format="localized", width=65),
        "dropped": st.column_config.NumberColumn(
            "Dropped", format="localized", width=65,
            help="Reached the previous step, not this one."),
        "conversion_from_previous": st.column_config.NumberColumn(
            "Of previous", format="percent", width=75,
            help="Users at this step as a share of the previous step's."),
        "conversion_from_first": st.column_config.NumberColumn(
            "Of step 1", format="percent", width=65,
            help="Users at this step as a share of those who entered.")})

if len(result.pairwise):
    with st.expander(f"Pairwise comparisons of {plural} (Holm-corrected)",
                     icon=":material/compare_arrows:"):
        pairs = result.pairwise.assign(p_text=result.pairwise["p_value"].map(p_text),
                                       p_holm_text=result.pairwise["p_holm"].map(p_text))
        st.dataframe(
            pairs, hide_index=True, width="stretch", key="funnels.pairwise",
            column_order=["group_a", "group_b", "conversion_a", "conversion_b",
                          "difference", "z", "p_text", "p_holm_text", "significant"],
            column_config={
                "group_a": st.column_config.TextColumn(f"{header} A"),
                "group_b": st.column_config.TextColumn(f"{header} B"),
                "conversion_a": st.column_config.NumberColumn("Conversion of A",
                                                              format="percent"),
                "conversion_b": st.column_config.NumberColumn("Conversion of B",
                                                              format="percent"),
                "difference": st.column_config.NumberColumn(
                    "Difference (A − B)", format="percent",
                    help="In percentage points of conversion."),
                "z": st.column_config.NumberColumn("z", format="%.2f"),
                "p_text": st.column_config.TextColumn("p"),
                "p_holm_text": st.column_config.TextColumn("p (Holm)"),
                "significant": st.column_config.CheckboxColumn(
                    f"Significant at {ALPHA:g}", help="After Holm's correction.")})
        st.caption("Two-proportion z-tests (pooled) of conversion to the last step, with "
                   "Holm's correction across all pairs.")

if n_steps > 1 and result.step_times.notna().to_numpy().any():
    st.plotly_chart(time_to_convert_chart(result), key="funnels.times", width="stretch")
    st.caption("Boxes: the middle half of the times, the line the median (log scale); "
               "only users who reached the step.")
    with st.expander("Times between steps as a table", icon=":material/table_rows:"):
        times = shown[shown["step"] > 1]
        st.dataframe(
            times, hide_index=True, width="stretch", key="funnels.times_table",
            column_order=[*group_column, "step_label", "users", "median", "middle"],
            column_config={
                "group": st.column_config.TextColumn(header, width=165),
                "step_label": st.column_config.TextColumn(step_header, width=115),
                "users": st.column_config.NumberColumn(
                    "Users", format="localized", width=65,
                    help="Users who reached the step: the times are theirs."),
                "median": st.column_config.TextColumn(
                    "Median time", help="From the previous step."),
                "middle": st.column_config.TextColumn(
                    "Middle half", help="Of the times from the previous step: from the "
                                        "first to the third quartile.")})

# the users who dropped -----------------------------------------------------------------
st.subheader("Users who dropped out")
labels = dict(zip(overall["step"].astype(int), overall["label"], strict=True))
dropped = dict(zip(overall["step"].astype(int), overall["dropped"].astype(int), strict=True))


def drop_label(step: int) -> str:
    if order == "ordered":
        return f"Before step {step}: {labels[step]} ({dropped[step]:,} users)"
    return f"After {step - 1} of {n_steps} steps ({dropped[step]:,} users)"


cols = st.columns([1.6, 1.4], vertical_alignment="bottom")
drop_step = cols[0].selectbox("Users who dropped", list(range(2, n_steps + 1)),
                              format_func=drop_label, key="funnels.drop_step")
default_name = (f"Dropped before {labels[drop_step]}" if order == "ordered"
                else f"Stopped after {drop_step - 1} of {n_steps} steps")
if st.session_state.get("funnels.drop_default") != default_name:
    st.session_state["funnels.drop_default"] = default_name
    st.session_state["funnels.drop_name"] = default_name
name = cols[1].text_input("Segment name", key="funnels.drop_name")
if st.button("Save these users as a segment", key="funnels.save_dropped",
             icon=":material/group_add:", **edit_lock(
                 disabled=dropped[drop_step] == 0,
                 help="They reached the step before and not this one; as a segment they "
                      "can be used on the Segments, Rules and Export pages.")):
    with shows_errors():
        size = save_dropped(ws, name, dropped_at(result, int(drop_step)))
        st.success(f"Saved {size:,} users as the segment '{inert(name.strip())}'. It is "
                   "listed on the Segments page and can be used in rules.",
                   icon=":material/check_circle:")

# downloads -----------------------------------------------------------------------------
downloads = st.container(horizontal=True)
file_version = (version(ws), spec_json, by)
download_button("Steps (CSV)", key="funnels.csv.steps", version=file_version,
                build=lambda: safe_csv_bytes(table, index=False),
                file_name="funnel_steps.csv", mime="text/csv", icon=":material/download:",
                container=downloads)
download_button("Time between steps per user (CSV)", key="funnels.csv.times",
                version=file_version,
                build=lambda: safe_csv_bytes(result.step_times.rename(
                    columns=lambda k: f"seconds_to_step_{k}").assign(
                    reached=result.reached, group=result.groups)),
                file_name="funnel_step_times.csv", mime="text/csv",
                icon=":material/download:", container=downloads)
if len(result.pairwise):
    download_button("Pairwise tests (CSV)", key="funnels.csv.pairwise", version=file_version,
                    build=lambda: safe_csv_bytes(result.pairwise, index=False),
                    file_name="funnel_pairwise.csv", mime="text/csv",
                    icon=":material/download:", container=downloads)
if result.test is not None:
    download_button("Chi-square table (CSV)", key="funnels.csv.test", version=file_version,
                    build=lambda: safe_csv_bytes(result.test.table),
                    file_name="funnel_chi_square.csv", mime="text/csv",
                    icon=":material/download:", container=downloads)
