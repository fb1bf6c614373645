"""Home page: what Persona Lens does, where this analysis stands and what to do next."""

from __future__ import annotations

import streamlit as st

from core.workspace import actions
from ui.editing import edit_lock
from ui.errors import guarded
from ui.state import workspace

ws = workspace()
st.title("Persona Lens")
st.markdown(
    "Turn behavioral event data into per-user features, find the groups in your users "
    "(segments you define by rules and clusters the data suggests, checked for stability "
    "and explored on a map), name them as personas, write the personalization rules that "
    "act on them, test those rules with A/B statistics, and share the result as segment "
    "files and a persona report. Every step is saved as it finishes, so a refresh or a "
    "restart loses nothing.")

STEPS = [
    ("load", "Load data", "pages/data.py", "Open data",
     "Upload events (CSV, Parquet, JSON lines, Excel) or generate the sample shop; map "
     "columns, clean, sessionize, pseudonymise."),
    ("features", "Build features", "pages/features.py", "Open features",
     "One row per user: sessions, recency, funnel, revenue, RFM, engagement and more."),
    ("segments", "Define segments", "pages/segments.py", "Open segments",
     "Segments from rules on the features, with presets from common practice."),
    ("clusters", "Cluster users", "pages/clustering.py", "Open clustering",
     "Let the data suggest groups: choose k, fit, check stability and profiles."),
    ("map", "Explore the map", "pages/map.py", "Open the map",
     "See users on a PCA, UMAP or t-SNE map, select a group, profile it and save it as a "
     "segment."),
    ("personas", "Name personas", "pages/personas.py", "Open personas",
     "Profiles of each cluster in words, suggested names you can edit, and how users move "
     "between personas over time."),
    ("predict", "Predict churn and conversion", "pages/propensity.py", "Open propensity",
     "Who is likely to churn or convert, tested on a later cutoff against recency alone; "
     "the scores become features for segments, rules and personas."),
    ("rules", "Write rules", "pages/rules.py", "Open rules",
     "If-then personalization rules on personas and behavior: reach, conflicts and why a "
     "user sees what they see."),
    ("experiment", "Test with A/B statistics", "pages/experiments.py", "Open experiments",
     "Significance, intervals, power, sample-ratio checks, a Bayesian view and a "
     "per-persona breakdown."),
    ("export", "Share", "pages/export.py", "Open export",
     "Segment CSVs, the persona report, the model for scoring new data and the whole "
     "workspace as one file. Tick it once the results went out."),
]
#: Steps an analysis can skip: the next step is never one of these.
OPTIONAL = {"segments", "map", "predict"}


def _done(step: str) -> bool:
    if step == "segments":
        return bool(ws.segment_rules.rules) or ws.segments is not None
    if step == "map":
        return ws.segments is not None
    if step == "personas":
        return bool(ws.personas.names)
    if step == "predict":
        return bool(ws.prediction.targets)
    if step == "rules":
        return bool(ws.rules.rule_set.rules)
    if step == "experiment":
        return ws.experiment is not None and ws.experiment.summary is not None
    return step in ws.steps


def _toggle_shared() -> None:
    actions.mark_shared(ws, bool(st.session_state["home.shared"]))


def next_step(done: dict[str, bool]) -> None:
    """The first required step not done yet, with a link to it."""
    pending = [s for s in STEPS if not done[s[0]] and s[0] not in OPTIONAL]
    with st.container(border=True):
        if not pending:
            st.markdown(":material/task_alt: **Every step is done.** Re-run any of them "
                        "below; each page keeps its latest result.")
            return
        _, title, target, link, text = pending[0]
        row = st.container(horizontal=True, vertical_alignment="center")
        row.markdown(f":material/arrow_forward: **Next: {title}**  \n{text}")
        row.page_link(target, label=link, icon=":material/arrow_forward:", width="content")


done = {step: _done(step) for step, *_ in STEPS}
next_step(done)
for step, title, target, link, text in STEPS:
    with st.container(border=True):
        cols = st.columns([0.08, 0.62, 0.3], vertical_alignment="center")
        cols[0].markdown(":material/check_circle:" if done[step]
                         else ":material/radio_button_unchecked:")
        optional = " · optional" if step in OPTIONAL else ""
        cols[1].markdown(f"**{title}**{optional}  \n{text}")
        if step in ws.steps:
            cols[2].caption(f"done {ws.steps[step].replace('T', ' ').rstrip('Z')} UTC")
        if step == "export":
            cols[2].checkbox("Shared", value=done[step], key="home.shared",
                             on_change=guarded(_toggle_shared), **edit_lock(
                                 help="Tick when the segments or the report went out."))
        cols[2].page_link(target, label=link, icon=":material/arrow_forward:")

if ws.data.sample is not None:
    st.info("You are looking at the generated sample shop. Load your own file on the "
            "**Data** page.", icon=":material/science:")
