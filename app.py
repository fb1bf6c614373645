"""Persona Lens: the only router. Page config, navigation and the shared sidebar."""

from __future__ import annotations

import streamlit as st

from ui.sidebar import dataset_summary
from ui.state import workspace
from ui.warmup import warm_up_at_start

st.set_page_config(page_title="Persona Lens", page_icon=":material/diversity_3:",
                   layout="wide")

PAGES = {
    "": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Prepare": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page("pages/features.py", title="Features", icon=":material/table_chart:",
                url_path="features"),
    ],
    "Segment": [
        st.Page("pages/segments.py", title="Segments", icon=":material/filter_alt:",
                url_path="segments"),
        st.Page("pages/clustering.py", title="Clustering", icon=":material/hub:",
                url_path="clustering"),
        st.Page("pages/map.py", title="Map", icon=":material/scatter_plot:", url_path="map"),
        st.Page("pages/personas.py", title="Personas", icon=":material/badge:",
                url_path="personas"),
    ],
    "Personalize": [st.Page("pages/rules.py", title="Rules", icon=":material/rule:",
                            url_path="rules")],
    "Test": [st.Page("pages/experiments.py", title="Experiments", icon=":material/science:",
                     url_path="experiments")],
    "Share": [
        st.Page("pages/share.py", title="Export", icon=":material/ios_share:", url_path="export"),
    ],
}

warm_up_at_start()
navigation = st.navigation(PAGES)
dataset_summary(workspace())
navigation.run()
