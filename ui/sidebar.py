"""The sidebar shown on every page: what data is loaded, and whether this copy of the
workspace is the newest."""

from __future__ import annotations

import streamlit as st

from core.workspace.store import Workspace
from ui.text import inert


def dataset_summary(ws: Workspace) -> None:
    """Show the loaded dataset's name, users, events and date range."""
    from ui.state import role

    with st.sidebar:
        if role() == "view":
            st.info("**View only.** You can look at every page and download; changes are "
                    "off.", icon=":material/visibility:")
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
        if ws.is_saved:
            st.caption(f"Workspace `{ws.id}` · saved {ws.updated[11:16]} UTC")
        else:
            st.caption("Not saved yet: the workspace is saved with your first step.")


def newer_revision_banner(ws: Workspace) -> None:
    """Say so when another tab or analyst saved this workspace since this tab read it, and
    why a save of the last run was refused."""
    from core.workspace.revisions import CONFLICT_MESSAGE
    from ui.state import CONFLICT_FLASH, REFUSED_FLASH, newer_on_disk, reload_workspace

    said = st.session_state.pop(REFUSED_FLASH, None)
    if said:  # a save refused for another reason (the quota): nothing was kept
        st.error(inert(said), icon=":material/block:")
    refused = st.session_state.pop(CONFLICT_FLASH, False)
    if not newer_on_disk(ws):
        return
    with st.container(border=True):
        if refused:
            st.error(CONFLICT_MESSAGE, icon=":material/block:")
        st.warning("This workspace changed in another tab or by another analyst. Reload to "
                   "see the latest; this tab cannot save until then.",
                   icon=":material/sync_problem:")
        if st.button("Reload the latest", key="state.reload", icon=":material/refresh:"):
            reload_workspace()
            st.rerun()
