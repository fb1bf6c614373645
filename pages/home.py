"""Home page: what Persona Lens does and where this analysis stands."""

from __future__ import annotations

import streamlit as st

from ui.state import workspace

ws = workspace()
st.title("Persona Lens")
st.markdown(
    "Turn behavioral event data into per-user features, segments and named personas, "
    "write personalization rules for them, and check their effect with A/B statistics. "
    "Every step is saved as it finishes, so a refresh or a restart loses nothing.")

STEPS = [
    ("load", "Load data", "pages/data.py",
     "Upload events (CSV, Parquet, JSON lines, Excel) or generate the sample shop; map "
     "columns, clean, sessionize, pseudonymise."),
    ("features", "Build features", "pages/features.py",
     "One row per user: sessions, recency, funnel, revenue, RFM, engagement and more."),
]

for step, title, target, text in STEPS:
    with st.container(border=True):
        cols = st.columns([0.08, 0.62, 0.3], vertical_alignment="center")
        done = step in ws.steps
        cols[0].markdown(":material/check_circle:" if done else ":material/radio_button_unchecked:")
        cols[1].markdown(f"**{title}**  \n{text}")
        if done:
            cols[2].caption(f"done {ws.steps[step].replace('T', ' ').rstrip('Z')} UTC")
        cols[2].page_link(target, label=f"Open {title.split()[-1].lower()}",
                          icon=":material/arrow_forward:")

if ws.dataset.get("name", "").startswith("Sample"):
    st.info("You are looking at the generated sample shop. Load your own file on the "
            "**Data** page.", icon=":material/science:")
