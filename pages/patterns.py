"""Patterns page: the orders of events that are frequent in sessions or user histories,
the ones that set a persona or segment apart (tested, Benjamini-Hochberg corrected), and
a pattern turned into a feature for Segments, Clustering and Rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from core.common.export import safe_csv_bytes
from core.journeys.retention_charts import patterns_chart
from core.journeys.sequences import (
    ARROW,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MIN_SUPPORT,
    pattern_definition,
    pattern_feature_name,
)
from core.workspace.pattern_features import add_pattern_feature
from ui.downloads import download_button
from ui.editing import edit_lock
from ui.errors import show_notices, shows_errors
from ui.journeys import cached_distinguishing, cached_patterns, events_or_stop, split_picker
from ui.journeys import version as journey_version
from ui.state import workspace
from ui.text import code, inert

UNITS = {"session": "Sessions", "user": "Whole user histories"}
#: What one sequence is, in the plural, per unit.
SEQUENCE_WORDS = {"session": "sessions", "user": "users"}
GAPS = {"any": "Any number of events", "contiguous": "Directly after each other",
        "up_to": "Up to N other events"}
#: The false discovery rate of the "significant" column.
ALPHA = 0.05
#: Patterns the chart of a group shows (largest ratio first).
CHART_TOP = 15
#: Patterns the "use as a feature" picker lists (most frequent first).
PICKER_LIMIT = 1000

ws = workspace()
st.title("Patterns")
st.caption("Which orders of events are frequent, and which set a persona apart: "
           "sequential patterns mined with PrefixSpan over sessions or whole user "
           "histories. Events of a pattern need not be next to each other unless you say "
           "so.")
events = events_or_stop(ws)
key = journey_version(ws)

# ---------------------------------------------------------------------------- settings
row = st.container(horizontal=True, vertical_alignment="bottom")
unit = row.radio("Sequences", list(UNITS), format_func=UNITS.get, horizontal=True,
                 key="patterns.unit", width="content",
                 help="A session's events, or all of a user's events in time order.")
collapse = row.checkbox("Count consecutive repeats once", value=True,
                        key="patterns.collapse",
                        help="page_view, page_view, add_to_cart reads as page_view → "
                             "add_to_cart.")
row = st.container(horizontal=True, vertical_alignment="bottom")
min_support_pct = row.number_input(
    "Minimum support (%)", 0.01, 100.0, DEFAULT_MIN_SUPPORT * 100, 0.5, format="%.2f",
    key="patterns.min_support", width=170,
    help="A pattern is listed when at least this share of the sequences contains it.")
max_length = row.number_input("Longest pattern (events)", 2, 6, DEFAULT_MAX_LENGTH, 1,
                              key="patterns.max_length", width=170)
gap_kind = row.selectbox("Between two steps", list(GAPS), format_func=GAPS.get,
                         key="patterns.gap", width=230,
                         help="How many other events may come between consecutive "
                              "events of a pattern.")
max_gap: int | None = None if gap_kind == "any" else 0
if gap_kind == "up_to":
    max_gap = int(row.number_input("N (other events)", 1, 50, 2, 1, key="patterns.gap_n",
                                   width=140))
by, groups = split_picker(ws, "patterns.split", container=row.container(width=260))

settings = {"unit": unit, "collapse_repeats": bool(collapse),
            "min_support": round(float(min_support_pct) / 100, 6),
            "max_length": int(max_length), "max_gap": max_gap}
settings_json = json.dumps(settings, sort_keys=True)
words = SEQUENCE_WORDS[unit]

FREQUENT_HEADERS = {
    "pattern": st.column_config.TextColumn("Pattern", width="medium"),
    "sequences": st.column_config.NumberColumn(f"{words.capitalize()} with it",
                                               format="localized", width="small"),
    "share": st.column_config.NumberColumn(f"Share of {words}", format="percent",
                                           width="small"),
    "length": st.column_config.NumberColumn("Events in it", format="localized",
                                            width="small"),
}
#: The comparison's columns: what a reader needs first (shares, ratio, adjusted p), then
#: the counts and the test, which scroll into view at 1024 px.
GROUP_HEADERS = {
    "pattern": st.column_config.TextColumn("Pattern", width="large"),
    "share_in_group": st.column_config.NumberColumn(
        "In the group", format="percent",
        help="Share of the group's users with the pattern."),
    "share_elsewhere": st.column_config.NumberColumn(
        "Elsewhere", format="percent",
        help="Share of all other users with the pattern."),
    "ratio": st.column_config.NumberColumn("Ratio", format="%.1f×",
                                           help="Share in the group ÷ share elsewhere."),
    "p_adjusted": st.column_config.TextColumn(
        "Adjusted p (BH)",
        help="Benjamini-Hochberg over every pattern of every group; below 0.001 is "
             "written < 0.001 (the CSV has the values)."),
    "significant": st.column_config.CheckboxColumn(
        "Significant",
        help=f"Adjusted p below the false discovery rate of {ALPHA:g}."),
    "difference": st.column_config.NumberColumn(
        "Difference", format="percent",
        help="Share in the group minus share elsewhere, in percentage points."),
    "in_group": st.column_config.NumberColumn("Users in it", format="localized",
                                              help="The group's users with the pattern."),
    "elsewhere": st.column_config.NumberColumn("Users elsewhere", format="localized",
                                               help="Other users with the pattern."),
    "test": st.column_config.TextColumn("Test", width="medium"),
    "p_value": st.column_config.TextColumn("p before correction"),
    "length": st.column_config.NumberColumn("Events in it", format="localized"),
}


def percent(share: float) -> str:
    """41 %, or 0.4 % below ten percent (a space before the sign, as on the charts; a
    no-break space, so a line never ends between the number and its sign)."""
    text = f"{share:.0%}" if share >= 0.095 or share == 0 else f"{share:.1%}"
    return text.replace("%", "\u00a0%")


def p_value_text(p: float) -> str:
    """< 0.001, or two significant digits (a p-value of 0 is one too small for floats)."""
    return "< 0.001" if p < 0.001 else f"{p:.2g}"


def p_text(p: float) -> str:
    return "adjusted p < 0.001" if p < 0.001 else f"adjusted p = {p:.2g}"


def top_sentence(group: str, part: pd.DataFrame) -> str:
    """The pattern that most sets a group apart among the significant ones, in words."""
    ahead = part[part["significant"] & (part["ratio"] > 1)]
    if ahead.empty:
        return (f"**{inert(group)}**: no pattern is significantly more common than "
                "elsewhere.")
    top = ahead.iloc[0]
    ratio = "only in this group" if np.isinf(top["ratio"]) else f"{top['ratio']:.1f}×"
    return (f"**{inert(group)}**: {inert(top['pattern'])} in "
            f"{percent(top['share_in_group'])} of their users vs "
            f"{percent(top['share_elsewhere'])} elsewhere ({ratio}, "
            f"{p_text(top['p_adjusted'])})")


def group_section(table: pd.DataFrame, said: str) -> tuple[str | None, pd.DataFrame]:
    """Per group: its top pattern in a sentence; the chart and table of a chosen group.
    ``said`` is the convention shown above. Returns the chosen group and its rows."""
    show_notices(table.attrs.get("notices", []))
    if table.empty:
        st.info("No pattern reaches the minimum support in any group; lower it to compare "
                "the groups.", icon=":material/info:")
        return None, table
    names = list(dict.fromkeys(table["group"].astype(str)))
    st.markdown("\n".join(f"- {top_sentence(g, table[table['group'] == g])}"
                          for g in names))
    convention = table.attrs.get("convention", "")
    # Its first sentences are the frequent patterns' convention, said above already.
    convention = convention[len(said):].strip() if convention.startswith(said) else convention
    st.caption(inert(convention) + " " +
               inert(f"Tests: the pooled two-proportion z-test, or Fisher's exact test when "
                     f"an expected count is below 5; p-values corrected with "
                     f"{table.attrs.get('correction', '')}."))
    chosen = st.selectbox("Group", names, key="patterns.group", width=320)
    part = table[table["group"] == chosen]
    st.plotly_chart(patterns_chart(table, top=CHART_TOP, group=chosen),
                    key="patterns.chart")
    sizes = part.iloc[0]
    st.caption(f"{len(part):,} patterns are frequent in {inert(chosen)} "
               f"({int(sizes['group_size']):,} users; {int(sizes['elsewhere_size']):,} "
               f"elsewhere), sorted by the ratio; {int(part['significant'].sum()):,} "
               "are significant.")
    shown = part.assign(p_adjusted=part["p_adjusted"].map(p_value_text),
                        p_value=part["p_value"].map(p_value_text))
    st.dataframe(shown, hide_index=True, width="stretch", key="patterns.group_table",
                 column_config=GROUP_HEADERS, column_order=list(GROUP_HEADERS))
    return chosen, part


def feature_section(frequent: pd.DataFrame, group_part: pd.DataFrame | None) -> None:
    """Pick a pattern and add "did it" (1/0) as a feature column."""
    st.subheader("Use a pattern as a feature")
    st.caption("Adds a 1/0 column to the feature table: whether each user did the pattern "
               "with the settings above. Segments, Clustering and Rules can then use it, "
               "and it is added again whenever the features are recomputed.")
    steps = {p: tuple(e) for p, e in zip(frequent["pattern"], frequent["events"],
                                         strict=True)}
    options = []
    if group_part is not None:
        options += list(group_part.loc[group_part["significant"], "pattern"])
    options += [p for p, n in zip(frequent["pattern"], frequent["length"], strict=True)
                if n >= 2]
    options = list(dict.fromkeys(options))[:PICKER_LIMIT]
    if not options:
        st.caption("No pattern of two or more events to use: lower the minimum support.")
        return
    row = st.container(horizontal=True, vertical_alignment="bottom")
    chosen = row.selectbox("Pattern", options, key="patterns.feature_pattern", width=420,
                           help="The chosen group's significant patterns first, then "
                                "every frequent pattern by support.")
    pattern = steps.get(chosen, tuple(chosen.split(ARROW)))
    name = pattern_feature_name(pattern)
    exists = name in ws.features.columns if ws.features is not None else False
    clicked = row.button("Add as a feature", key="patterns.add_feature", type="primary",
                         icon=":material/add_column_right:", **edit_lock())
    st.caption(f"Column {code(name)}: " + inert(pattern_definition(
        pattern, unit, max_gap, collapse_repeats=bool(collapse))) +
        (" It is a feature already; adding it again replaces it." if exists else ""))
    if clicked:
        with shows_errors():
            added = add_pattern_feature(ws, pattern, unit=unit, max_gap=max_gap,
                                        collapse_repeats=bool(collapse))
            column = ws.features[added]
            st.success(f"Added {code(added)} to the features: {int(column.sum()):,} of "
                       f"{len(column):,} users ({percent(column.mean())}) did the pattern. "
                       "Segments, Clustering and Rules can use it now.",
                       icon=":material/check_circle:")
            st.page_link("pages/features.py", label="See it on Features",
                         icon=":material/arrow_forward:")


# ----------------------------------------------------------------------------- results
with shows_errors():
    sequences, result = cached_patterns(key, settings_json, events)
    table = result.table
    cols = st.columns(3)
    cols[0].metric(words.capitalize() if unit == "session" else "User histories",
                   f"{result.n_sequences:,}")
    cols[1].metric("Users", f"{sequences.n_users:,}")
    cols[2].metric("Patterns found", f"{len(table):,}")
    st.caption(f"Minimum support: {result.min_count:,} of the {result.n_sequences:,} "
               f"{words} ({settings['min_support']:.2%}, rounded up to whole {words}).")
    show_notices(result.notices)

    st.subheader("Frequent patterns")
    st.caption(inert(result.convention))
    shown = table.drop(columns=["events"])
    st.dataframe(shown, hide_index=True, width="stretch", height=360,
                 key="patterns.frequent", column_config=FREQUENT_HEADERS,
                 column_order=list(FREQUENT_HEADERS))
    files = st.container(horizontal=True)
    download_button("Download the patterns (CSV)", key="patterns.download_frequent",
                    version=(key, settings_json), container=files,
                    build=lambda: safe_csv_bytes(shown, index=False),
                    file_name="frequent_patterns.csv", mime="text/csv",
                    icon=":material/download:")

    group_part = None
    if groups is not None:
        st.subheader("Patterns that set a group apart")
        # A comparison that cannot be made (one group only, too many patterns in a
        # group) is said here; the pattern feature below still works.
        with shows_errors():
            compare = {**settings, "count": "users", "alpha": ALPHA}
            distinct = cached_distinguishing(key, json.dumps(compare, sort_keys=True), by,
                                             events, groups)
            _, group_part = group_section(distinct, result.convention)
            download_button("Download the group comparison (CSV)",
                            key="patterns.download_groups",
                            version=(key, settings_json, by),
                            build=lambda: safe_csv_bytes(distinct, index=False),
                            file_name="distinguishing_patterns.csv", mime="text/csv",
                            icon=":material/download:")
    else:
        st.caption("Split by persona or rule segment to see which patterns set a group "
                   "apart.")

    feature_section(table, group_part)
