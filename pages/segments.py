"""Segments page: segments defined by rules on features, their sizes and overlaps.

The conditions editor shows the size of the segment as it is typed; saved segments (rule
segments and selections saved on the Map) can be edited, renamed and deleted; presets
say when their fixed thresholds do not fit this data and offer its percentiles instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core.common.errors import PersonaLensError
from core.common.style import esc
from core.features.windows import WINDOWED_BASE
from core.segment.rule_segments import (
    OPERATORS,
    SMALL_SEGMENT_SHARE,
    Condition,
    SegmentRule,
    default_operator,
    draft_rule,
    percent,
    rule_from_rows,
)
from core.workspace.segments import (
    delete_segments,
    rename_selection,
    replace_rule,
    saved_selections,
    segment_memberships,
    set_segment_rules,
)
from ui.cache import (
    draft_memberships,
    kept_figure,
    preset_checks,
    segment_overview,
    segments_version,
)
from ui.editing import edit_lock
from ui.errors import shows_errors
from ui.state import require_features, workspace
from ui.text import inert

#: The conditions editor's columns; a new row starts blank, its operator filled in once
#: a feature is chosen (see :func:`core.segment.rule_segments.default_operator`).
CONDITION_COLUMNS = ("feature", "operator", "value", "upper", "window_days")

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


def blank(value: object) -> bool:
    """An empty cell: None, NaN (the grid's missing value) or blank text."""
    return value is None or (isinstance(value, float) and np.isnan(value)) \
        or str(value).strip() == ""


def rows_frame(records: list[dict] | None = None) -> pd.DataFrame:
    """The editor's table: one blank row when there are no records."""
    records = records or [{"feature": None, "operator": None, "value": "", "upper": None,
                           "window_days": None}]
    frame = pd.DataFrame(records, columns=list(CONDITION_COLUMNS))
    frame["feature"] = frame["feature"].astype(object)
    frame["operator"] = frame["operator"].astype(object)
    frame["value"] = frame["value"].map(lambda v: "" if blank(v) else str(v)).astype(object)
    return frame.astype({"upper": float, "window_days": float})


def rule_rows(rule: SegmentRule) -> pd.DataFrame:
    def value(c: Condition) -> str:
        return f"{c.value:g}" if isinstance(c.value, float | int) else str(c.value)
    return rows_frame([{"feature": c.feature, "operator": c.operator, "value": value(c),
                        "upper": c.upper, "window_days": c.window_days}
                       for c in rule.conditions])


def start_editing(name: str) -> None:
    """Load a rule segment into the editor (a button callback: before the widgets)."""
    rule = next(r for r in saved_rules() if r.name == name)
    st.session_state.update({
        "segments.rows": rule_rows(rule), "segments.editing": rule.name,
        "segments.name": rule.name, "segments.combine": rule.combine,
        "segments.negate": rule.negate, "segments.priority": rule.priority})


def stop_editing() -> None:
    st.session_state.update({"segments.rows": rows_frame(), "segments.editing": None,
                             "segments.name": "", "segments.combine": "and",
                             "segments.negate": False, "segments.priority": 0})


def live_size(records: list[dict], combine: str, negate: bool) -> None:
    """How many users the complete conditions match, shown under the editor."""
    rule, incomplete = draft_rule(records, combine, negate)
    if incomplete:
        st.caption(f"Not counted yet (needs a feature, an operator and a value): "
                   f"condition {', '.join(map(str, incomplete))}.")
    if rule is None:
        st.caption("Choose a feature and type a value to see how many users match.")
        return
    parts = [rule] + ([SegmentRule(f"condition {i}", (c,))
                       for i, c in enumerate(rule.conditions, start=1)]
                      if len(rule.conditions) > 1 else [])
    try:
        counts = draft_memberships(segments_version(ws), repr(parts), ws, parts)
    except PersonaLensError as exc:  # said in place; saving says it again as an error
        st.warning(inert(exc), icon=":material/warning:")
        return
    except ValueError:  # text typed as the value of a number comparison
        st.warning("Cannot count yet: a number feature needs a number as its value.",
                   icon=":material/warning:")
        return
    users = int(counts[rule.name])
    st.markdown(f"**Matches {users:,} users** ({users / len(features):.1%} of "
                f"{len(features):,}).")
    if len(parts) > 1:
        st.caption("Each condition alone: " + ", ".join(
            f"{i}: {percent(float(counts[f'condition {i}'] / len(features)))}"
            for i in range(1, len(rule.conditions) + 1)) + ".")


def overlap_figure(overlap: pd.DataFrame):
    """Users in both of every two segments."""
    # Segment names label the axes: escaped, as plotly renders HTML in labels.
    overlap = overlap.rename(index=esc, columns=esc)
    fig = px.imshow(overlap, text_auto=True, color_continuous_scale="Blues",
                    title="Overlap: users in both segments")
    fig.update_layout(height=max(320, 40 * len(overlap) + 160),
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


with shows_errors():
    checks = preset_checks(segments_version(ws), ws)
    library = {rule.name: (rule, share) for check in checks
               for rule, share in zip(check.rules, check.shares, strict=True)}
    with st.expander("Add presets from common practice", icon=":material/library_add:",
                     expanded=not ws.segment_rules.rules):
        chosen = st.multiselect(
            "Presets", list(library), key="segments.presets",
            format_func=lambda n: f"{n} — {library[n][0].description or library[n][0].text()}"
                                  f" ({percent(library[n][1])} of users here)")
        if st.button("Add presets", key="segments.add_presets",
                     **edit_lock(disabled=not chosen)):
            add_rules([library[n][0] for n in chosen])
            st.session_state["segments.added"] = f"Added {len(chosen)} segment(s)."
            st.rerun()
        flagged = [c for c in checks if c.message()]
        if flagged:
            st.caption("Fixed thresholds that do not fit this data: each can be replaced "
                       "by one taken from this data's distribution.")
        for i, check in enumerate(flagged):
            cols = st.columns([4, 1.3], vertical_alignment="center")
            note = inert(check.message())
            if check.suggestion:
                note += f" Percentile-based instead: {inert(check.offer())}."
            cols[0].warning(note, icon=":material/tune:")
            if check.suggestion and cols[1].button(
                    f"Use {check.suggestion_kind.replace('this data' + chr(39) + 's ', '')}",
                    key=f"segments.percentile.{i}", **edit_lock(
                        help=f"Adds {', '.join(r.name for r in check.suggestion)} with these "
                             "thresholds (replacing a saved segment of the same name).")):
                add_rules(list(check.suggestion))
                st.session_state["segments.added"] = (
                    f"Added {inert(check.name)} with thresholds from this data "
                    f"({len(check.suggestion)} segment(s)).")
                st.rerun()

    editing = st.session_state.get("segments.editing")
    if st.session_state.pop("segments.saved", False) or (
            editing is not None and editing not in {r.name for r in saved_rules()}):
        stop_editing()  # before the editor's widgets exist, so their values can be set
        editing = None
    st.session_state.setdefault("segments.priority", 0)
    title = f"Edit segment '{editing}'" if editing else "New segment"
    with st.expander(inert(title), icon=":material/edit:" if editing else ":material/add:",
                     expanded=editing is not None):
        cols = st.columns([2.2, 1.2, 1.8, 1.2])
        name = cols[0].text_input("Name", key="segments.name",
                                  placeholder="e.g. Weekend browsers")
        combine = cols[1].radio("Combine", ["and", "or"], horizontal=True,
                                format_func=str.upper, key="segments.combine")
        negate = cols[2].checkbox("NOT (the opposite)", key="segments.negate")
        priority = cols[3].number_input("Priority", -100, 100, key="segments.priority",
                                        help="When segments are exclusive, the highest "
                                             "priority wins.")
        has_events = ws.feature_info.kind == "events"
        choices = [str(c) for c in features.columns]
        # Room above the grid: its hover toolbar (add row, search, full screen) sits over
        # this line and not over the inputs above.
        st.caption("Conditions, one per row: choose a feature (the operator starts at ≥, "
                   "or = for text), then type a value. Add rows with **+** below the table.")
        base = st.session_state.setdefault("segments.rows", rows_frame())
        rows = st.data_editor(
            base, num_rows="dynamic", key="segments.conditions", width="stretch",
            column_config={
                "feature": st.column_config.SelectboxColumn("Feature", options=choices,
                                                            required=False, width="medium"),
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
        records = rows.to_dict("records")
        records = [r | {c: None for c in ("feature", "operator") if blank(r.get(c))}
                   for r in records]
        if any(r["feature"] and not r["operator"] for r in records):
            # A feature was just chosen on a new row: give it its operator and show it.
            st.session_state["segments.rows"] = rows_frame([
                r | {"operator": r["operator"] or (
                    default_operator(features, r["feature"]) if r["feature"] else None)}
                for r in records])
            st.rerun()
        live_size(records, combine, negate)
        buttons = st.container(horizontal=True)  # wraps instead of clipping labels
        if buttons.button("Save changes" if editing else "Save segment", type="primary",
                          key="segments.save", **edit_lock()):
            # An incomplete condition is said under the button; the segments below stay.
            with shows_errors():
                rule = rule_from_rows(name, records, combine, negate, int(priority))
                segment_memberships(ws, [rule])  # refuse a rule that cannot be evaluated
                if editing:
                    replace_rule(ws, editing, rule)
                else:
                    add_rules([rule])
                st.session_state["segments.added"] = f"Saved segment '{inert(rule.name)}'."
                st.session_state["segments.saved"] = True  # empties the editor next run
                st.rerun()
        if editing:
            buttons.button("Cancel", key="segments.cancel_edit", on_click=stop_editing)

    added = st.session_state.pop("segments.added", None)
    if added:
        st.success(added, icon=":material/check_circle:")

    rules = saved_rules()
    saved = saved_selections(ws)
    if not rules and not saved:
        st.info("No segments yet: add presets or define one above; selections saved on the "
                "**Map** page appear here too.")
        st.stop()

    cols = st.columns([1.6, 1.2, 1.4])
    exclusive = cols[0].toggle("Exclusive by priority", key="segments.exclusive",
                               help="Each user in at most one rule segment: the matching "
                                    "segment with the highest priority.")
    threshold = cols[1].number_input("Warn below (% of users)", 0.0, 50.0,
                                     SMALL_SEGMENT_SHARE * 100, 0.5, key="segments.small")
    version = segments_version(ws)
    sizes, warnings, overlap = segment_overview(version, ws, exclusive, threshold / 100)
    for warning in warnings:
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

    st.subheader("Edit or delete")
    names = [r.name for r in rules] + list(saved)
    cols = st.columns([2, 2, 1.2], vertical_alignment="bottom")
    target = cols[0].selectbox("Segment", names, key="segments.edit_choice")
    if target in {r.name for r in rules}:
        cols[1].button("Edit conditions", key="segments.edit", on_click=start_editing,
                       args=(target,), icon=":material/edit:",
                       help="Opens the segment in the editor above, with its live size.")
        if editing == target:
            st.info(f"Editing '{inert(target)}' in the editor above.", icon=":material/edit:")
    elif target is not None:
        new_name = cols[1].text_input("New name", key="segments.rename_to",
                                      placeholder="A selection from the Map: rename it")
        if cols[2].button("Rename", key="segments.rename",
                          **edit_lock(disabled=not new_name)):
            with shows_errors():
                shown = rename_selection(ws, target, new_name)
                st.session_state["segments.added"] = f"Renamed to '{inert(shown)}'."
                st.rerun()
    cols = st.columns([4, 1.2], vertical_alignment="bottom")
    remove = cols[0].multiselect("Delete segments", names, key="segments.remove",
                                 help="Rule segments and selections saved on the Map.")
    with cols[1].popover("Delete…", disabled=not remove, icon=":material/delete:",
                         width="stretch"):
        st.markdown(f"Delete {', '.join(repr(n) for n in map(inert, remove))} for good? "
                    "Rules and experiments that use them will no longer find them.")
        if st.button("Delete", type="primary", key="segments.remove_button",
                     **edit_lock(disabled=not remove)):
            deleted = delete_segments(ws, remove)
            st.session_state["segments.added"] = f"Deleted {len(deleted)} segment(s)."
            st.rerun()

    if len(overlap) > 1:
        # The overlap does not depend on the toggles: the figure is kept per content.
        content = (tuple(overlap.index), overlap.to_numpy().tobytes())
        st.plotly_chart(kept_figure(("segment overlap", version, content),
                                    lambda: overlap_figure(overlap)),
                        key="segments.chart.overlap")
