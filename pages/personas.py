"""Personas page: each cluster as a named persona with its profile, and how users move."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.personas import charts as persona_charts
from core.personas.migration import DEFAULT_WINDOW_DAYS, NOT_ACTIVE, NOT_PRESENT, Migration
from core.personas.state import EDITABLE, MAX_NAME_LENGTH, history_table
from core.segment.labels import label_colours
from core.workspace import personas
from core.workspace.report import build_report
from core.workspace.report_predict import risk_text
from ui.cache import kept_figure
from ui.downloads import download_button
from ui.editing import edit_lock
from ui.errors import show_notices, shows_errors
from ui.persona_cache import (
    PERSONA_PARTS,
    cluster_profiles,
    persona_risk,
    personas_fresh,
    personas_version,
    rerun_migration,
)
from ui.share import model_key, workspace_model
from ui.state import require_features, workspace
from ui.text import inert

ws = workspace()
st.title("Personas")
st.caption("Each cluster as a persona: who they are, how they differ from everyone, what "
           "to offer them. Names stay with their persona when you re-cluster.")

require_features(ws)
features = personas.profile_table(ws)
if ws.clusters is None:
    st.info("There are no clusters yet. Cluster the users on the **Clustering** page; each "
            "cluster becomes a persona here.", icon=":material/hub:")
    st.page_link("pages/clustering.py", label="Go to Clustering", icon=":material/arrow_forward:")
    st.stop()


def forget_edits() -> None:
    """Drop the edit boxes' state so they show the refreshed personas."""
    for key in [k for k in st.session_state if str(k).startswith("personas.edit.")]:
        del st.session_state[key]


# is_fresh hashes every user's label: checked once, and the refresh makes the state fresh.
fresh = personas_fresh(ws.version("clusters", "personas"), ws)
if not fresh:
    with shows_errors():
        refresh = personas.refresh_personas(ws)
        fresh = True
        forget_edits()
        if refresh.kept or refresh.retired:
            text = f"The clusters changed: {len(refresh.kept)} persona(s) kept their names"
            if refresh.new:
                text += f"; new: {', '.join(map(inert, refresh.new))}"
            if refresh.retired:
                text += f"; no longer found: {', '.join(map(inert, refresh.retired))}"
            st.info(text + ".", icon=":material/sync:")
if not fresh:
    st.stop()


def announce_reruns() -> None:
    """Say what the re-clusterings since this page was last open did to the personas
    (they are matched on the Clustering page, when the clusters are made)."""
    history = ws.personas.history
    seen = st.session_state.get("personas.history_seen")
    start = len(history) - 1 if seen is None else min(seen, len(history))
    for entry in history[max(start, 0):]:
        if entry.get("first") or not (entry.get("kept") or entry.get("retired")):
            continue
        run = (entry.get("run") or {}).get("name")
        text = (f"The clusters changed{f' ({inert(run)})' if run else ''}: "
                f"{len(entry['kept'])} persona(s) kept their names")
        if entry.get("new"):
            text += f"; new: {', '.join(map(inert, entry['new']))}"
        if entry.get("retired"):
            text += f"; no longer found: {', '.join(map(inert, entry['retired']))}"
        st.info(text + ".", icon=":material/sync:")
    st.session_state["personas.history_seen"] = len(history)


announce_reruns()

labels = ws.clusters["cluster"].astype(str)
profiles = cluster_profiles(ws.version("features", "clusters"), features, labels,
                            tuple(ws.clustering.preprocess.features))
state, names = ws.personas, ws.personas.names
clustered_on = list(ws.clustering.preprocess.features)
shown_features = persona_charts.profile_features(profiles, clustered_on)

if message := st.session_state.pop("personas.saved", None):
    st.success(message, icon=":material/check_circle:")
cols = st.columns([1, 1, 1.6])  # room for the third label on one line
cols[0].metric("Personas", len(profiles.labels), border=True)
cols[1].metric("Users", f"{int(profiles.sizes.sum()):,}", border=True)
cols[2].metric("New since the last clustering",
               sum(bool(state.personas[k].get("new")) for k in profiles.labels), border=True)
cols = [st.container(horizontal=True)] * 4
download_button(
    "Download persona report", key="personas.report", version=ws.version(),
    build=lambda: build_report(ws, profiles, workspace_model(model_key(ws), ws)[0]),
    container=cols[3],
    file_name="persona-report.html", mime="text/html",
    icon=":material/download:", type="primary",
    help="One HTML file that opens offline: data, method, a card per persona and the A/B "
         "test. Print it to PDF from the browser.")
show_notices(profiles.notices)
risk = persona_risk(ws.version(*PERSONA_PARTS, "predictions"), ws)
#: Every chart of the cards is drawn from the profiles and the names: kept per version.
version = personas_version(ws)


def save_edits(label: str) -> None:
    values = {f: st.session_state[f"personas.edit.{label}.{f}"] for f in EDITABLE}
    with shows_errors():
        personas.update_persona(ws, label, **values)
        st.session_state["personas.saved"] = f"Saved persona '{inert(values['name'])}'."
        st.rerun()


RISK_WORDS = {"churn": ("Churn risk", ":material/trending_down:"),
              "conversion": ("Likely to convert", ":material/trending_up:")}


def risk_words(name: str) -> str:
    """The persona's share in each saved model's high band (Propensity page)."""
    if risk is None:
        return ""
    rows = risk[risk["persona"] == name]
    parts = []
    for row in rows.itertuples():
        words, icon = RISK_WORDS[row.target]
        parts.append(f"{icon} **{words}:** {risk_text(row)}")
    return " · ".join(parts)


def card(label: str) -> None:
    info, name = state.personas[label], names[label]
    with st.container(border=True):
        left, right = st.columns([3, 2])
        left.subheader(inert(name) + (" :orange-badge[New]" if info.get("new") else ""),
                       anchor=False)
        share = f"{profiles.share_users[label]:.0%} of users"
        if profiles.share_revenue is not None:
            share += f" · {profiles.share_revenue[label]:.0%} of revenue"
        left.caption(f"{inert(label)} · {int(profiles.sizes[label]):,} users · {share}")
        if risk_line := risk_words(name):
            left.markdown(risk_line)
        # Every text of the card can be the analyst's own: shown as typed, never Markdown.
        left.markdown(inert(info.get("description", "")))
        left.markdown("**Traits**\n" + "".join(f"\n- {inert(t)}"
                                               for t in info.get("traits", [])))
        left.markdown(f"**Preferred content:** {inert(info.get('preferred_content')) or '—'}")
        left.info(f"**Recommended action:** {inert(info.get('action', ''))}",
                  icon=":material/campaign:")
        right.plotly_chart(kept_figure(("traits", version, label),
                                       lambda: persona_charts.traits(profiles, label, name)),
                           key=f"personas.chart.traits.{label}")
        with st.expander("Edit this persona", icon=":material/edit:"), \
                st.form(f"personas.form.{label}", border=False):
            key = f"personas.edit.{label}"
            st.text_input("Name", name, key=f"{key}.name",
                          max_chars=MAX_NAME_LENGTH)
            st.text_input("Description", info.get("description", ""), key=f"{key}.description")
            st.text_area("Traits (one per line)", "\n".join(info.get("traits", [])),
                         key=f"{key}.traits")
            st.text_input("Preferred content", info.get("preferred_content", ""),
                          key=f"{key}.preferred_content")
            st.text_area("Recommended action", info.get("action", ""), key=f"{key}.action",
                         height=80)
            if st.form_submit_button("Save", icon=":material/save:", **edit_lock()):
                save_edits(label)


def compare_tab() -> None:
    st.plotly_chart(kept_figure(("sizes", version),
                                lambda: persona_charts.sizes(profiles, names)),
                    key="personas.chart.sizes")
    st.plotly_chart(kept_figure(("heatmap", version), lambda: persona_charts.heatmap(
        profiles, names, shown_features)), key="personas.chart.heatmap")
    st.plotly_chart(kept_figure(("snake", version), lambda: persona_charts.snake(
        profiles, names, shown_features)), key="personas.chart.snake")
    view = st.radio("Table", ["Mean", "Median", "Difference (sd)"], horizontal=True,
                    key="personas.table")
    table = {"Mean": profiles.means, "Median": profiles.medians,
             "Difference (sd)": profiles.z}[view]
    table = table.rename(index=names).T
    table.insert(0, "Everyone", profiles.everyone_mean if view == "Mean" else
                 profiles.everyone_median if view == "Median" else 0.0)
    st.dataframe(table, width="stretch", height=420,
                 column_config={c: st.column_config.NumberColumn(format="%.3g")
                                for c in table.columns})


def distributions_tab() -> None:
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    default = shown_features[0] if shown_features else numeric[0]
    feature = st.selectbox("Feature", numeric, index=numeric.index(default),
                           key="personas.feature")
    st.plotly_chart(kept_figure(("distribution", version, feature),
                                lambda: persona_charts.distribution(features, labels, names,
                                                                    feature)),
                    key="personas.chart.distribution")


def show_migration(result: Migration, figure_key: tuple) -> None:
    """The comparison's tiles, diagram and tables (``figure_key``: what it was computed
    from, the key of its diagram)."""
    move = result.movement
    show_notices(result.notices)
    if move is None:  # a comparison without categories (not made by this app's views)
        st.metric("Users compared", f"{result.users:,}", border=True)
    else:
        st.markdown(inert(move.sentence()))
        period = move.kind == "period"
        tiles = [("Users compared", move.total, "Every user of the data." if period else
                  "Every user clustered before or after the re-run."),
                 ("Same persona", move.stayed, "Active in both, the same persona in both."),
                 ("Moved", move.moved, "Active in both, another persona in the later one."),
                 ("New", move.new, f"No events in the first {move.days} days." if period
                  else "Clustered only by the re-run."),
                 ("Dormant" if period else "No longer clustered", move.dormant,
                  f"No events in the last {move.days} days." if period
                  else "Clustered only by the earlier run.")]
        if move.between:
            tiles.append(("Only between", move.between,
                          "Events only between the two windows."))
        with st.container(horizontal=True):
            for label, value, help_text in tiles:
                st.metric(label, f"{value:,}", border=True, help=help_text, width=150)
        if move.returning_note:
            st.caption(inert(move.returning_note))
    colours = label_colours(labels.unique(), names)  # each persona as on the other charts
    incoming = move.incoming if move else None
    outgoing = move.outgoing if move else None
    st.plotly_chart(kept_figure(("sankey", version, *figure_key), lambda: persona_charts.sankey(
        result.table, result.before_name, result.after_name, colours, incoming, outgoing)),
                    key="personas.chart.sankey")
    if move is not None and not move.moves.empty:
        st.markdown("**Moves between personas** (most users first)")
        st.dataframe(move.moves, hide_index=True, width="stretch",
                     height=min(320, 38 + 35 * len(move.moves)),
                     column_config={"Users": st.column_config.NumberColumn(
                         format="localized")})
    table = result.table
    if move is not None:  # the rows and columns of users without a persona, by name
        missing = (NOT_ACTIVE, NOT_PRESENT)
        table = table.rename(index={m: move.incoming for m in missing},
                             columns={m: move.outgoing for m in missing})
    st.caption(f"Users by persona. Rows: {inert(result.before_name)}; columns: "
               f"{inert(result.after_name)}.")
    st.dataframe(table, width="stretch")
    if move is not None:
        with st.expander("What each group means"):
            st.dataframe(move.categories(), hide_index=True, width="stretch", column_config={
                "Users": st.column_config.NumberColumn(format="localized"),
                "Share": st.column_config.NumberColumn(format="percent"),
                "Meaning": st.column_config.TextColumn(width="large")})


def history_section() -> None:
    """Every clustering the personas were matched to, also those made while this page
    was not open."""
    table = history_table(ws.personas)
    if table.empty:
        return
    with st.expander(f"History of the clusterings ({len(table)})", icon=":material/history:"):
        st.caption("Each fit on the Clustering page matches the personas to the new "
                   "clusters at once; this lists them, newest first (the last 20).")
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            c: st.column_config.NumberColumn(format="localized")
            for c in ("Personas", "Users", "Same persona", "Changed persona")})


def migration_tab() -> None:
    history_section()
    kind = st.radio("Compare", ["period", "rerun"], horizontal=True, key="personas.migration",
                    format_func={"period": "First and last days of the data",
                                 "rerun": "Before and after the last re-clustering"}.get)
    if kind == "rerun":
        result = rerun_migration(ws.version("clusters", "personas"), ws)
        if result is None:
            st.info("There is no earlier clustering of the same users yet. Re-cluster on the "
                    "Clustering page (another k, seed or features) and come back to see how "
                    "users moved.", icon=":material/info:")
            return
        show_migration(result, ("rerun",))
        return
    if ws.events is None:
        st.info("Comparing periods needs an event log; this workspace holds a per-user table.")
        return
    cols = st.columns([1, 3])
    days = int(cols[0].number_input("Days in each window", 1, 365, DEFAULT_WINDOW_DAYS,
                                    key="personas.days"))
    cols[1].caption("Features are computed for the first and the last days separately and "
                    "each user is assigned to the nearest persona with the saved "
                    "preprocessing.")
    key = (ws.version("clusters", "personas"), days)
    if st.button("Compare periods", key="personas.compare", icon=":material/compare_arrows:"):
        with shows_errors(), st.spinner("Computing features for both windows..."):
            st.session_state["personas.period"] = (key, personas.period_migration(ws, days))
    saved = st.session_state.get("personas.period")
    if saved and saved[0] == key:
        show_migration(saved[1], ("period", days))


# Keyed tabs keep the open tab across reruns (a button in the Migration tab would
# otherwise send the analyst back to the cards). Every tab is still drawn.
tabs = st.tabs(["Cards", "Compare", "Distributions", "Migration"], key="personas.tab",
               on_change="rerun")
with tabs[0]:
    for cluster_label in profiles.labels:
        card(cluster_label)
with tabs[1]:
    compare_tab()
with tabs[2]:
    distributions_tab()
with tabs[3]:
    migration_tab()
