"""Recommendations page: items for each user from what similar users did, with the
reason of each, every method and the popularity baseline evaluated offline on a time
split (overall and per persona), each persona's distinctive items, and the per-user
recommendations as CSV."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.common.export import safe_csv_bytes
from core.recommend import REGISTRY, RecommendConfig
from core.recommend.charts import metrics_chart, persona_chart
from core.recommend.evaluation import METRICS, metric_label
from core.recommend.methods import BOUNDS, available
from core.recommend.persona_items import LIFT_CONVENTION
from core.workspace.recommend import (
    MAX_N,
    RecommendSettings,
    check_settings,
    event_items,
    item_columns,
    recommend_settings,
    recommendations_csv,
    save_settings,
    settings_problem,
    suggested_cutoff,
)
from ui.downloads import download_button
from ui.errors import show_notices, shows_errors
from ui.recommend import (
    evaluation,
    events_or_stop,
    interactions,
    persona_tables,
    recommendations,
    settings_key,
    version,
)
from ui.state import workspace
from ui.text import code, inert

#: Widget keys that hold settings; cleared when other data is loaded.
PREFIX = "recommend."
#: Rows the user's history table shows before it scrolls.
HISTORY_ROWS = 12

ws = workspace()
st.title("Recommendations")
st.caption("Items to show each user, from what users with similar histories did, with "
           "the reason for each; every method and the popularity baseline are checked "
           "offline against what users went on to do.")
events_or_stop(ws)
if st.session_state.get("recommend.for") != ws.version("data"):
    for name in [k for k in st.session_state if str(k).startswith(PREFIX)]:
        del st.session_state[name]
    st.session_state["recommend.for"] = ws.version("data")

problem = settings_problem(ws)
if problem:
    st.warning(inert(problem), icon=":material/warning:")
saved = recommend_settings(ws)
clustered = ws.clusters is not None

# ----------------------------------------------------------------------------- settings
# Shown in this order; filled in the order they depend on each other (the item column
# decides which events can be weighted, the weights the default cutoff).
weights_area = st.container()
method_row = st.columns([2, 1, 3], vertical_alignment="bottom")
more = st.expander("Item column, evaluation and method settings", icon=":material/tune:")

columns = item_columns(ws)
item_column = more.selectbox(
    "Item column", columns, key="recommend.item_column", width=320,
    index=columns.index(saved.item_column) if saved.item_column in columns else None,
    placeholder="Choose the column that names the items",
    help="The events' column that names what users viewed or bought (the Data page maps "
         "it as the product id).") or saved.item_column
table = event_items(ws, item_column)
weights_area.markdown(f"**Event weights**: how much each event says about a user's "
                      f"interest in its item; 0 leaves it out. Only events that name an "
                      f"item ({code(item_column)}) can count.")
weights = {}
grid = weights_area.container(horizontal=True)
for row in table[table["with_item"] > 0].itertuples(index=False):
    weights[row.event] = grid.number_input(
        inert(row.event), min_value=0.0, max_value=1000.0, step=1.0, width=150,
        value=float(saved.weights.get(row.event, 0.0)), key=f"recommend.weight.{row.event}",
        help=f"{row.events:,} events, {row.with_item:,} of them with an item.")
without = table.loc[table["with_item"] == 0, "event"].tolist()
if without:
    weights_area.caption("Events that name no item (not interactions): "
                         + ", ".join(inert(e) for e in without) + ".")

choices = available(clustered)
method_key = method_row[0].selectbox(
    "Method", choices, key="recommend.method", format_func=lambda k: REGISTRY[k].label,
    index=choices.index(saved.method) if saved.method in choices else 0)
n = method_row[1].number_input("Items per user", 1, MAX_N, saved.n, 1, key="recommend.n")
method_row[2].caption(REGISTRY[method_key].description)

default_cut = suggested_cutoff(ws, weights)
row = more.container(horizontal=True, vertical_alignment="bottom")
own_cutoff = row.toggle("Choose the cutoff", value=saved.cutoff is not None,
                        key="recommend.own_cutoff", help="By default, the day that leaves "
                        "the last fifth of the interactions for the test.")
cutoff = row.date_input(
    "Cutoff (UTC)", key="recommend.cutoff", width=170, disabled=not own_cutoff,
    value=pd.Timestamp(saved.cutoff).date() if saved.cutoff else
    (default_cut.date() if default_cut is not None else None),
    help="Methods learn from the interactions before this day and are scored on what "
         "users did from it on.")
k = row.number_input("k (list length scored)", 1, MAX_N, saved.k, 1, key="recommend.k",
                     width=170)
min_support = row.number_input(
    "Persona users an item needs", 1, 100_000, saved.min_support, 1,
    key="recommend.min_support", width=200,
    help="An item is distinctive for a persona only when at least this many of its users "
         "chose it.")
row = more.container(horizontal=True)
numbers = {}
for name, label, step in (("neighbours", "Neighbours (item-item)", 10),
                          ("factors", "Factors (ALS)", 8), ("iterations", "Iterations (ALS)", 1),
                          ("regularization", "Regularization (ALS)", 5.0),
                          ("alpha", "Alpha (ALS)", 0.5), ("random_state", "Seed (ALS)", 1)):
    low, high = BOUNDS[name]
    kind = int if isinstance(step, int) else float
    numbers[name] = row.number_input(label, kind(low), kind(high),
                                     kind(getattr(saved.config, name)), step,
                                     key=f"recommend.{name}", width=170)
if not own_cutoff and default_cut is not None:
    more.caption(f"Cutoff: {default_cut:%Y-%m-%d} (the last fifth of the interactions "
                 "is the test).")

settings = None
with shows_errors():
    candidate = RecommendSettings(
        weights=weights, method=method_key, n=int(n), k=int(k),
        cutoff=cutoff.isoformat() if own_cutoff and cutoff else None,
        item_column=item_column, min_support=int(min_support),
        config=RecommendConfig(**numbers))
    check_settings(ws, candidate)
    settings = candidate
if settings is None:
    if item_column not in columns:
        st.info("Choose the item column (under the settings above): recommendations need "
                "the column that names the products, films or articles users chose.",
                icon=":material/info:")
    st.stop()
if settings_key(settings) != settings_key(saved):
    save_settings(ws, settings)

matrix = None
with shows_errors():
    matrix = interactions(ws, settings)
if matrix is None:
    st.stop()
# The weights above already say which events are not interactions.
show_notices([n for n in matrix.notices if n.code != "events_not_weighted"], infos="caption")
metrics = st.container(horizontal=True)
metrics.metric("Users with interactions", f"{matrix.n_users:,}", width="content",
               border=True)
metrics.metric("Items", f"{matrix.n_items:,}", width="content", border=True)
metrics.metric("Interactions", f"{int(matrix.counts.sum()):,}", width="content",
               border=True, help="Weighted events with an item.")

# --------------------------------------------------------------------------- evaluation
st.subheader("Offline evaluation")
result = None
with shows_errors():
    result = evaluation(ws, settings)
if result is not None:
    split_codes = {n.code for n in matrix.notices}
    show_notices([n for n in result.notices if n.code not in split_codes
                  and n.code != "evaluation_convention"], infos="caption")
    labels = {m: metric_label(m, result.k) for m in METRICS}
    overall = result.overall()
    st.dataframe(
        overall, hide_index=True, width="stretch", key="recommend.evaluation",
        column_order=["label", "users", *METRICS],
        column_config={
            "label": st.column_config.TextColumn("Method"),
            "users": st.column_config.NumberColumn("Users scored", format="localized"),
            **{m: st.column_config.NumberColumn(labels[m], format="%.4f")
               for m in METRICS}})
    st.caption(inert(result.convention))
    if result.users_scored:
        st.plotly_chart(metrics_chart(result), key="recommend.metrics_chart")
    if clustered and result.users_scored:
        st.subheader("Per persona")
        metric = st.selectbox("Metric", list(METRICS), index=METRICS.index("recall"),
                              format_func=labels.get, key="recommend.persona_metric",
                              width=260)
        st.plotly_chart(persona_chart(result, metric), key="recommend.persona_chart")
        with st.expander("Every persona's metrics as a table", icon=":material/table_rows:"):
            st.dataframe(
                result.table, hide_index=True, width="stretch", key="recommend.by_persona",
                column_order=["group", "label", "users", *METRICS],
                column_config={
                    "group": st.column_config.TextColumn("Persona"),
                    "label": st.column_config.TextColumn("Method"),
                    "users": st.column_config.NumberColumn("Users scored",
                                                           format="localized"),
                    **{m: st.column_config.NumberColumn(labels[m], format="%.4f")
                       for m in METRICS}})
    elif not clustered:
        st.caption("Cluster the users (Clustering page) to compare the methods per persona "
                   "and to fill gaps and cold starts with each persona's popular items.")

# ------------------------------------------------------------------------ persona items
tables = None
with shows_errors():
    tables = persona_tables(ws, settings)
if tables is not None:
    popular, distinctive = tables
    st.subheader("Each persona's items" if distinctive is not None else "Popular items")
    group = None
    if distinctive is not None:
        groups = sorted(popular["group"].unique())
        group = st.selectbox("Persona", groups, key="recommend.persona", width=320)
    left, right = st.columns(2) if distinctive is not None else (None, st.container())
    if distinctive is not None:
        left.markdown("**Distinctive**: far more of its interactions than of everyone's")
        left.dataframe(
            distinctive[distinctive["group"] == group], hide_index=True, width="stretch",
            key="recommend.distinctive",
            column_order=["item", "users", "share_in_group", "share_overall", "lift"],
            column_config={
                "item": st.column_config.TextColumn("Item"),
                "users": st.column_config.NumberColumn("Its users", format="localized"),
                "share_in_group": st.column_config.NumberColumn(
                    "Share in persona", format="percent",
                    help="Share of the persona's interactions on the item."),
                "share_overall": st.column_config.NumberColumn(
                    "Share overall", format="percent",
                    help="Share of everyone's interactions on the item."),
                "lift": st.column_config.NumberColumn("Lift", format="%.2f×")})
        left.caption(inert(LIFT_CONVENTION.format(min_support=settings.min_support)))
    right.markdown("**Popular**: the items most of its users interacted with"
                   if distinctive is not None else
                   "**Popular with everyone** (cluster the users for each persona's)")
    shown = popular if group is None else popular[popular["group"] == group]
    right.dataframe(
        shown, hide_index=True, width="stretch", key="recommend.popular",
        column_order=["rank", "item", "users", "share_of_users"],
        column_config={
            "rank": st.column_config.NumberColumn("Rank", width=60),
            "item": st.column_config.TextColumn("Item"),
            "users": st.column_config.NumberColumn("Users", format="localized"),
            "share_of_users": st.column_config.NumberColumn(
                "Share of its users", format="percent")})

# ----------------------------------------------------------------------------- one user
st.subheader("One user's recommendations")
recs = None
with shows_errors():
    recs = recommendations(ws, settings)
if recs is None:
    st.stop()
show_notices([n for n in recs.notices if n.code not in {m.code for m in matrix.notices}],
             infos="caption")
users = sorted(recs.table["user_id"].unique())
user = st.selectbox("User", users, key="recommend.user", width=320,
                    help="Every user of the event log; those without interactions get the "
                         "cold-start list.")
mine = recs.for_user(user)
history = matrix.history_table(user)
persona = mine["persona"].iloc[0] if len(mine) else None
about = f"Persona {inert(persona)}; " if persona is not None else ""
st.caption(about + (f"{len(history):,} items in the history." if len(history)
                    else "no interactions yet: popular items only."))
# A list, not a table: a reason is a sentence, and a sentence wraps at any width. The
# reason of a popular item already says why it is there; the method's picks show their
# score (the list is ordered by it).
lines = [f"{row.rank}. {code(row.item)}: {inert(row.reason)}"
         + (f" *(score {row.score:.3f})*" if pd.notna(row.score) else "")
         for row in mine.itertuples(index=False)]
st.markdown("\n".join(lines))
if len(history):
    with st.expander(f"This user's history ({len(history):,} items)",
                     icon=":material/history:"):
        st.dataframe(history, hide_index=True, width="stretch", key="recommend.history",
                     height=min(35 * (len(history) + 1) + 3, 35 * HISTORY_ROWS),
                     column_config={
                         "item": st.column_config.TextColumn("Item"),
                         "weight": st.column_config.NumberColumn("Summed weight"),
                         "events": st.column_config.NumberColumn("Events"),
                         "strongest": st.column_config.TextColumn("Strongest event")})

files = st.container(horizontal=True)
download_button("Recommendations for every user (CSV)", key="recommend.download",
                version=(version(ws), settings_key(settings, "recommendations")),
                container=files,
                build=lambda: recommendations_csv(recs),
                file_name=f"recommendations_{settings.method}.csv", mime="text/csv",
                icon=":material/download:")
if result is not None:
    download_button("Evaluation (CSV)", key="recommend.download_evaluation",
                    version=(version(ws), settings_key(settings, "evaluation")),
                    container=files,
                    build=lambda: safe_csv_bytes(result.table, index=False),
                    file_name=f"recommendation_evaluation_k{result.k}.csv",
                    mime="text/csv", icon=":material/download:")
