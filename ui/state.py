"""The one Workspace per browser session, restored after a refresh or a restart.

The workspace id is kept in the page URL (``?ws=...``), so a refresh, or a reconnect
after the server restarts, finds the same workspace on disk.
"""

from __future__ import annotations

import os

import streamlit as st

from core.common.errors import PersonaLensError
from core.workspace import actions
from core.workspace.store import Workspace
from ui.cache import sample_events
from ui.router import ensure_router
from ui.text import inert

STATE_KEY = "workspace"
#: Size of the sample loaded into a brand-new workspace (the issue's default).
DEFAULT_SAMPLE = {"n_users": 5000, "days": 90, "seed": 42}


def autoload_enabled() -> bool:
    """A new workspace starts with the sample unless PERSONA_LENS_AUTOLOAD=0."""
    return os.environ.get("PERSONA_LENS_AUTOLOAD", "1") != "0"


def workspace() -> Workspace:
    """Return this session's workspace: from memory, from the URL's id, or a new one."""
    ensure_router()
    ws: Workspace | None = st.session_state.get(STATE_KEY)
    if ws is None:
        ws = _restore_from_url()
        if ws is None:
            if autoload_enabled():
                ws = Workspace()
                load_default_sample(ws)
            else:
                ws = actions.new_workspace()
        st.session_state[STATE_KEY] = ws
    if st.query_params.get("ws") != ws.id:
        st.query_params["ws"] = ws.id
    return ws


def _restore_from_url() -> Workspace | None:
    ws_id = st.query_params.get("ws")
    if not ws_id:
        return None
    try:
        return Workspace.load(ws_id)
    except PersonaLensError as exc:
        st.toast(f"Could not restore the workspace: {inert(exc)}", icon=":material/warning:")
        return None


def load_default_sample(ws: Workspace) -> None:
    """Fill a workspace with the default sample so the app starts with data."""
    with st.spinner("Generating the sample online shop (5,000 users)..."):
        events = sample_events(**DEFAULT_SAMPLE)
        actions.load_sample_into(ws, events, **DEFAULT_SAMPLE)


def replace_workspace(ws: Workspace) -> None:
    """Switch this session to another workspace."""
    st.session_state[STATE_KEY] = ws
    st.query_params["ws"] = ws.id


def require_features(ws: Workspace):
    """Return the workspace's feature table, or say where to get one and stop the page."""
    features = ws.features
    if features is None:
        st.info("There is no feature table yet. Load a file or the sample on the **Data** "
                "page.", icon=":material/upload_file:")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/arrow_forward:")
        st.stop()
    return features
