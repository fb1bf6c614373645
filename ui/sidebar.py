"""The sidebar shown on every page: what data is loaded."""

from __future__ import annotations

import streamlit as st

from core.workspace.store import Workspace
from ui.text import inert


def dataset_summary(ws: Workspace) -> None:
    """Show the loaded dataset's name, users, events and date range."""
    with st.sidebar:
        st.caption("LOADED DATA")
        info = ws.data
        if not info.loaded:
            st.info("No data loaded. Open **Data** to load a file or the sample.")
            return
        st.markdown(f"**{inert(info.name)}**")
        users, events = info.users, info.events
        lines = [f"**{users:,}** users" if users is not None else "",
                 f"**{events:,}** events" if events is not None else "per-user table"]
        st.markdown("  \n".join(line for line in lines if line))
        if info.first_ts:
            st.caption(f"{info.first_ts[:10]} → {info.last_ts[:10]} (UTC)")
        st.caption(f"Workspace `{ws.id}` · saved {ws.updated[11:16]} UTC")
