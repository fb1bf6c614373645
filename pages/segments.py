"""Segments page: segments defined by rules on features, their sizes and overlaps."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.common.style import esc
from core.features.windows import WINDOWED_BASE
from core.segment.rule_segments import (
    OPERATORS,
    SMALL_SEGMENT_SHARE,
    SegmentRule,
    bucket_presets,
    presets,
    rule_from_rows,
)
from core.workspace.segments import saved_selections, segment_memberships, set_segment_rules
from ui.errors import shows_errors
from ui.state import require_features, workspace
from ui.text import inert

ws = workspace()
st.title("Segments")
st.caption("Define segments by rules on the features: name them, order them by priority, "
           "and see how big they are and how they overlap.")

features = require_features(ws)


def saved_rules() -> list[SegmentRule]:
    return list(ws.segment_rules.rules)


def store(rules: list[SegmentRule]) -> None:
    set_segment_rules(ws, rules)


def add_rules(new: list[SegmentRule]) -> None:
    names = {r.name for r in new}
    store([r for r in saved_rules() if r.name not in names] + new)


with shows_errors():
    with st.expander("Add presets from common practice", icon=":material/library_add:",
                     expanded=not ws.segment_rules.rules):
        has_events = ws.feature_info.kind == "events"
        library = {r.name: r for r in presets(features, windows=has_events)
                   + bucket_presets(features)}
        chosen = st.multiselect(
            "Presets", list(library), key="segments.presets",
            format_func=lambda n: f"{n} — {library[n].description or library[n].text()}")
        if st.button("Add presets", key="segments.add_presets", disabled=not chosen):
            add_rules([library[n] for n in chosen])
            st.session_state["segments.added"] = f"Added {len(chosen)} segment(s)."
            st.rerun()

    with st.expander("New segment", icon=":material/add:"):
        cols = st.columns([2.2, 1.2, 1.8, 1.2])
        name = cols[0].text_input("Name", key="segments.name",
                                  placeholder="e.g. Weekend browsers")
        combine = cols[1].radio("Combine", ["and", "or"], horizontal=True,
                                format_func=str.upper, key="segments.combine")
        negate = cols[2].checkbox("NOT (the opposite)", key="segments.negate")
        priority = cols[3].number_input("Priority", -100, 100, 0, key="segments.priority",
                                        help="When segments are exclusive, the highest "
                                             "priority wins.")
        choices = [str(c) for c in features.columns]
        rows = st.data_editor(
            pd.DataFrame({"feature": [None], "operator": [">"], "value": [""],
                          "upper": [None], "window_days": [None]}
                         ).astype({"upper": float, "window_days": float}),
            num_rows="dynamic", key="segments.conditions", width="stretch",
            column_config={
                "feature": st.column_config.SelectboxColumn("Feature", options=choices,
                                                            required=False),
                "operator": st.column_config.SelectboxColumn("Operator",
                                                             options=list(OPERATORS)),
                "value": st.column_config.TextColumn(
                    "Value", help="A number, or text for == and != on text features."),
                "upper": st.column_config.NumberColumn("Upper (for between)"),
                "window_days": st.column_config.NumberColumn(
                    "In the last N days", min_value=0.01, disabled=not has_events,
                    help="Optional: count only the last N days before the end of the data. "
                         f"Works on counts and sums: {', '.join(WINDOWED_BASE)} and the "
                         "count_... columns.")})
        if st.button("Save segment", type="primary", key="segments.save"):
            # An incomplete condition is said under the button; the segments below stay.
            with shows_errors():
                rule = rule_from_rows(name, rows.to_dict("records"), combine, negate,
                                      int(priority))
                segment_memberships(ws, [rule])  # refuse a rule that cannot be evaluated
                add_rules([rule])
                st.session_state["segments.added"] = f"Saved segment '{inert(rule.name)}'."
                st.rerun()

    added = st.session_state.pop("segments.added", None)
    if added:
        st.success(added, icon=":material/check_circle:")

    rules = saved_rules()
    saved = saved_selections(ws)
    if not rules and not saved:
        st.info("No segments yet: add presets or define one above; selections saved on the "
                "**Map** page appear here too.")
        st.stop()

    cols = st.columns([1, 1, 2])
    exclusive = cols[0].toggle("Exclusive by priority", key="segments.exclusive",
                               help="Each user in at most one rule segment: the matching "
                                    "segment with the highest priority.")
    threshold = cols[1].number_input("Warn below (% of users)", 0.0, 50.0,
                                     SMALL_SEGMENT_SHARE * 100, 0.5, key="segments.small")
    result = segment_memberships(ws, rules, exclusive=exclusive, small_share=threshold / 100)
    matrix = result.matrix
    for segment, members in saved.items():
        matrix[segment] = features.index.isin(members)
    sizes = result.sizes() if exclusive else matrix.sum()
    for warning in result.warnings:
        st.warning(inert(warning), icon=":material/warning:")

    table = pd.DataFrame({
        "Segment": sizes.index,
        "Rule": [next((r.text() for r in rules if r.name == s), "selected on the map")
                 for s in sizes.index],
        "Priority": [next((r.priority for r in rules if r.name == s), None)
                     for s in sizes.index],
        "Users": sizes.to_numpy(),
        "Share": sizes.to_numpy() / len(features),
    })
    st.dataframe(table, hide_index=True, width="stretch", key="segments.table",
                 column_config={"Share": st.column_config.NumberColumn(format="percent"),
                                "Rule": st.column_config.TextColumn(width="large")})
    # Segment names label the axes: escaped, as plotly renders HTML in labels.
    overlap = (matrix.astype(int).T @ matrix.astype(int)).rename(index=esc, columns=esc)
    if len(overlap) > 1:
        fig = px.imshow(overlap, text_auto=True, color_continuous_scale="Blues",
                        title="Overlap: users in both segments")
        fig.update_layout(height=max(320, 40 * len(overlap) + 160),
                          margin={"l": 10, "r": 10, "t": 40, "b": 10})
        st.plotly_chart(fig, key="segments.chart.overlap")
    remove = st.multiselect("Remove rule segments", [r.name for r in rules],
                            key="segments.remove")
    if st.button("Remove", key="segments.remove_button", disabled=not remove):
        store([r for r in rules if r.name not in remove])
        st.rerun()
