"""Features page: the per-user feature table, its definitions, distributions and
correlations, the choice of features used downstream, and downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.common.export import parquet_bytes, safe_csv_bytes
from core.data.mapping import FUNNEL_LABELS, FUNNEL_STEPS
from core.features import charts
from core.features.table import FeatureConfig, informative
from core.workspace import actions
from ui.cache import correlation_figure, feature_summary, features_version
from ui.downloads import download_button
from ui.editing import edit_lock
from ui.errors import show_notices, shows_errors
from ui.progress import progress_bar
from ui.state import require_features, workspace
from ui.text import code, inert

#: Rows sent to the table widget; more would slow every redraw (the download has all).
MAX_TABLE_ROWS = 1000

ws = workspace()
st.title("Features")
st.caption("One row per user. Hover a column header for its definition; the full list "
           "is under **Feature definitions**.")

features = require_features(ws)


def settings_form() -> None:
    config = ws.feature_info.config or FeatureConfig()
    event_values = sorted(ws.events["event"].astype(str).unique().tolist())
    with st.expander("Feature settings", icon=":material/tune:"), \
            st.form("features.settings", border=False):
        st.markdown("**Funnel events**")
        cols = st.columns(4)
        roles = {}
        for col, step in zip(cols, FUNNEL_STEPS, strict=True):
            current = [v for v in config.event_roles.get(step, []) if v in event_values]
            roles[step] = col.multiselect(FUNNEL_LABELS[step], event_values, default=current,
                                          key=f"features.funnel.{step}")
        st.markdown("**Engagement score weights** (min-max-normalised metrics)")
        cols = st.columns(3)
        weights = config.engagement_weights
        w_clicks = cols[0].number_input("Clicks (events)", 0.0, 100.0,
                                        float(weights.get("clicks", 1)), 0.5,
                                        key="features.w_clicks")
        w_scroll = cols[1].number_input("Scroll depth", 0.0, 100.0,
                                        float(weights.get("scroll_depth", 2)), 0.5,
                                        key="features.w_scroll")
        w_time = cols[2].number_input("Time spent", 0.0, 100.0,
                                      float(weights.get("time_spent", 3)), 0.5,
                                      key="features.w_time")
        cols = st.columns(3)
        half_life = cols[0].number_input("Half-life of decayed engagement (days)", 0.5, 365.0,
                                         float(config.half_life_days), 1.0,
                                         key="features.half_life")
        window = cols[1].number_input("Trend window (days)", 1, 180,
                                      int(config.trend_window_days), 1, key="features.window")
        top_n = cols[2].number_input("Counts for the top N event types", 0, 50,
                                     int(config.top_event_types), 1, key="features.top_n")
        if st.form_submit_button("Recompute features", type="primary", **edit_lock()):
            new = FeatureConfig(event_roles=roles, top_event_types=int(top_n),
                                engagement_weights={"clicks": w_clicks,
                                                    "scroll_depth": w_scroll,
                                                    "time_spent": w_time},
                                half_life_days=float(half_life), trend_window_days=int(window))
            update, close = progress_bar("Features")
            with shows_errors():
                actions.compute_features_into(ws, new, progress=update)
                st.session_state["features.recomputed"] = True
            close()
            st.rerun()


if ws.feature_info.kind == "events":
    settings_form()
if st.session_state.pop("features.recomputed", False):
    st.success("Features recomputed.", icon=":material/check_circle:")
features = ws.features
definitions = ws.feature_info.definitions
show_notices(ws.feature_info.notices)

numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
cols = st.columns(4)
cols[0].metric("Users", f"{len(features):,}")
cols[1].metric("Features", f"{len(features.columns)}")
cols[2].metric("Selected", f"{len(ws.feature_info.selected)}",
               help="Features selected for segmentation (the Clustering page's default).")
missing_total = int(features[numeric].isna().sum().sum())
cols[3].metric("Missing values", f"{missing_total:,}",
               help="Values that are undefined for a user, e.g. order value without orders.")

flat = [c for c in numeric if not informative(features[c])]
if flat:
    st.caption("Not in this data (one value for nearly everyone, or mostly missing), so not "
               "selected by default: " + ", ".join(map(code, flat)) + ".")
selected = st.multiselect(
    "Features used for segmentation and maps", numeric,
    default=[c for c in ws.feature_info.selected if c in numeric], key="features.selected",
    **edit_lock(help="Choose behavior measures; the choice is saved and used by the next "
                     "steps."))
if selected != ws.feature_info.selected:
    with shows_errors():
        actions.set_selected_features(ws, selected)

# A definition quotes event names from the data; help tooltips are Markdown.
column_config = {
    c: st.column_config.NumberColumn(
        c, help=inert(definitions.get(c, "")),
        format="localized" if pd.api.types.is_integer_dtype(features[c]) else "%.3g")
    if c in numeric else st.column_config.Column(c, help=inert(definitions.get(c, "")))
    for c in features.columns
}
version = features_version(ws)
shown = features
if len(features) > MAX_TABLE_ROWS:
    cols = st.columns([2, 3])
    order = cols[0].selectbox("Show the top users by", numeric, key="features.order",
                              index=numeric.index("events") if "events" in numeric else 0)
    shown = features.nlargest(MAX_TABLE_ROWS, order)
    cols[1].caption(f"Showing the {MAX_TABLE_ROWS:,} users with the highest {inert(order)} of "
                    f"{len(features):,}. The downloads hold every user.")
st.dataframe(shown, height=380, column_config=column_config, width="stretch",
             key="features.table")

cols = [st.container(horizontal=True)] * 2  # buttons flow and wrap, never cut off
download_button(
    "Download CSV", key="features.download_csv", version=ws.version("features"),
    build=lambda: safe_csv_bytes(features), container=cols[0],
    file_name="user_features.csv", mime="text/csv", icon=":material/download:",
    help="Cells that a spreadsheet would run as a formula are prefixed with a quote.")
download_button(
    "Download Parquet", key="features.download_parquet", version=ws.version("features"),
    build=lambda: parquet_bytes(features), container=cols[1],
    file_name="user_features.parquet", mime="application/octet-stream",
    icon=":material/download:")

with st.expander("Feature definitions", icon=":material/menu_book:"):
    summary = feature_summary(version, features).loc[numeric]
    table = pd.DataFrame({
        "Feature": numeric,
        "Definition": [definitions.get(c, "") for c in numeric],
        "Mean": summary["Mean"].to_numpy(),
        "Median": summary["Median"].to_numpy(),
        "Missing": summary["Missing"].to_numpy(),
    })
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "Definition": st.column_config.TextColumn(width="large"),
        "Mean": st.column_config.NumberColumn(format="%.3g"),
        "Median": st.column_config.NumberColumn(format="%.3g"),
        "Missing": st.column_config.NumberColumn(format="localized")})
    if "rfm_segment" in features.columns:
        st.markdown("**RFM segments**")
        counts = features["rfm_segment"].value_counts().rename_axis("Segment").reset_index(
            name="Users")
        st.dataframe(counts, hide_index=True, column_config={
            "Users": st.column_config.NumberColumn(format="localized")})

st.subheader("Distributions")
cols = st.columns([3, 2], vertical_alignment="bottom")
focus = cols[0].selectbox("Feature", numeric, key="features.histogram",
                          index=numeric.index(selected[0]) if selected else 0)
log_y = cols[1].toggle("Log count axis", key="features.log_y",
                       help="Useful for skewed counts with a long tail.")
values = features[focus]
st.caption(f"{inert(definitions.get(focus, ''))}  \nmedian {values.median():.3g} · "
           f"p95 {values.quantile(0.95):.3g} · max {values.max():.3g}")
st.plotly_chart(charts.histogram(values, focus, log_y=log_y), key="features.chart.hist")

st.subheader("Correlations")
constant = [c for c in selected if features[c].nunique(dropna=True) <= 1]
varying = [c for c in selected if c not in constant]
if constant:
    st.caption("Left out because every user has the same value: "
               f"{', '.join(map(inert, constant))}.")
if len(varying) >= 2:
    method = st.radio("Method", ["spearman", "pearson"], horizontal=True,
                      format_func=str.title, key="features.corr_method",
                      help="Spearman (rank) is robust to the long tails of behavior counts.")
    st.plotly_chart(correlation_figure(version, features, tuple(varying), method),
                    key="features.chart.corr")
else:
    st.caption("Select at least two features that vary between users to see their "
               "correlations.")
