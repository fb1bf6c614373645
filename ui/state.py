"""The one Workspace per browser session, restored after a refresh or a restart, opened
only by those allowed to.

The workspace id is kept in the page URL (``?ws=...``) once the workspace is saved, so a
refresh, or a reconnect after the server restarts, finds the same workspace on disk. A
visit saves nothing until its first step: until then a refresh starts again from the
sample. In team mode every run checks the access list again, so a revoked share or link
stops working at the viewer's next interaction.
"""

from __future__ import annotations

import os

import streamlit as st

from core.common.errors import AccessDeniedError, PersonaLensError
from core.workspace import access, actions, revisions, session
from core.workspace.store import Workspace, is_workspace_id
from ui.auth import current_deployment, identity
from ui.cache import sample_events
from ui.router import ensure_router
from ui.text import inert

STATE_KEY = "workspace"
ROLE_KEY = "workspace.role"
#: Size of the sample loaded into a brand-new workspace (the issue's default).
DEFAULT_SAMPLE = {"n_users": 5000, "days": 90, "seed": 42}
DENIED_TITLE = "You do not have access to this workspace"


def autoload_enabled() -> bool:
    """A new workspace starts with the sample unless PERSONA_LENS_AUTOLOAD=0."""
    return os.environ.get("PERSONA_LENS_AUTOLOAD", "1") != "0"


def workspace() -> Workspace:
    """Return this session's workspace: from memory, from the URL's id, or a new one."""
    ensure_router()
    who = identity()
    ws: Workspace | None = st.session_state.get(STATE_KEY)
    if ws is not None and current_deployment().team and ws.is_saved:
        _apply_role(ws, _role_or_deny(ws.id, who))
    if ws is None:
        ws = _restore_from_url(who) or _fresh()
        st.session_state[STATE_KEY] = ws
    sync_url(ws)
    return ws


def role() -> str:
    """What this session may do with its workspace: "owner", "edit" or "view"."""
    return st.session_state.get(ROLE_KEY, "owner")


def _restore_from_url(who: str | None) -> Workspace | None:
    ws_id = st.query_params.get("ws")
    if not ws_id:
        return None
    team = current_deployment().team
    granted = _role_or_deny(ws_id, who) if team else "owner"
    try:
        ws = Workspace.load(ws_id)
    except PersonaLensError as exc:
        st.toast(f"Could not restore the workspace: {inert(exc)}", icon=":material/warning:")
        return None
    _apply_role(ws, granted)
    access.mark_opened(ws.id)
    return ws


def _role_or_deny(ws_id: str, who: str | None) -> str:
    """The session's role on a workspace; without one, the refusal page (and a log line)."""
    granted = None
    if is_workspace_id(ws_id):
        granted = access.read_access(ws_id).role(who, _link_token())
    if granted is None:
        access.refuse(str(ws_id)[:40], who, "not shared with them")
        st.session_state.pop(STATE_KEY, None)
        _denied_page(who)
        st.stop()
    return granted


LINK_KEY = "workspace.link"


def _link_token() -> str | None:
    """The view-only link this session came with: from the address, kept for the session
    (a page change may drop the address's parameters)."""
    token = st.query_params.get("link")
    if token:
        st.session_state[LINK_KEY] = token
    return st.session_state.get(LINK_KEY)


def _denied_page(who: str | None) -> None:
    # Says nothing about the workspace: not whether it exists, not its data.
    st.title(DENIED_TITLE)
    st.write(f"You are signed in as **{inert(who or 'nobody')}**. Ask the workspace's owner "
             "to share it with you, or to send you a view-only link.")
    if st.button("Open my workspaces", type="primary", key="state.denied_home"):
        st.query_params.clear()
        st.rerun()


def _apply_role(ws: Workspace, granted: str) -> None:
    st.session_state[ROLE_KEY] = granted
    session.prepare(ws, granted, current_deployment(), identity())


def _fresh() -> Workspace:
    ws = Workspace()
    _apply_role(ws, "owner")
    if autoload_enabled():
        load_default_sample(ws)
    return ws


def load_default_sample(ws: Workspace) -> None:
    """Fill a workspace with the default sample so the app starts with data (kept in
    memory: it is saved with the visit's first step)."""
    with st.spinner("Generating the sample online shop (5,000 users)..."):
        events = sample_events(**DEFAULT_SAMPLE)
        actions.load_sample_into(ws, events, **DEFAULT_SAMPLE, save=False)


def sync_url(ws: Workspace) -> None:
    """Put a saved workspace's id in the page address (a refresh brings it back)."""
    if ws.is_saved:
        if st.query_params.get("ws") != ws.id:
            st.query_params["ws"] = ws.id
        token = st.session_state.get(LINK_KEY)
        if token and st.query_params.get("link") != token:
            st.query_params["link"] = token
    elif "ws" in st.query_params:
        del st.query_params["ws"]


def replace_workspace(ws: Workspace, granted: str = "owner") -> None:
    """Switch this session to another workspace (``granted``: the session's role on it)."""
    st.query_params.pop("link", None)
    st.session_state.pop(LINK_KEY, None)
    _apply_role(ws, granted)
    st.session_state[STATE_KEY] = ws
    sync_url(ws)


def new_workspace() -> Workspace:
    """Switch this session to a new empty workspace (written with its first step)."""
    ws = actions.new_workspace()
    replace_workspace(ws)
    return ws


def open_saved(ws_id: str) -> None:
    """Switch this session to a saved workspace it may open.

    Raises
    ------
    AccessDeniedError
        In team mode, when it is neither the analyst's nor shared with them.
    """
    granted = access.read_access(ws_id).role(identity()) if current_deployment().team \
        else "owner"
    if granted is None:
        access.refuse(ws_id, identity(), "not shared with them")
        raise AccessDeniedError(DENIED_TITLE + ".")
    ws = Workspace.load(ws_id)
    replace_workspace(ws, granted)
    access.mark_opened(ws_id)


def delete_saved(ws_id: str) -> None:
    """Delete a saved workspace of the analyst's (team mode: only its owner may)."""
    if current_deployment().team:
        if access.read_access(ws_id).role(identity()) != "owner":
            access.refuse(ws_id, identity(), "delete by a non-owner")
            raise AccessDeniedError("Only the workspace's owner can delete it.")
        access.audit("delete", workspace=ws_id, by=identity() or "")
    actions.delete_workspace(ws_id)


def reload_workspace() -> None:
    """Read this session's workspace again from disk (after another tab saved it)."""
    ws: Workspace | None = st.session_state.get(STATE_KEY)
    if ws is None or not ws.is_saved:
        st.session_state.pop(STATE_KEY, None)
        return
    fresh = Workspace.load(ws.id)
    _apply_role(fresh, role())
    st.session_state[STATE_KEY] = fresh


CONFLICT_FLASH = "state.conflict"


REFUSED_FLASH = "state.refused"


def undo_refused_save(message: str | None = None, rerun: bool = True) -> None:
    """After a save was refused (another tab saved first, or the disk quota): put back this
    tab's copy as it was saved (its change could not be saved, and showing it would
    pretend it was), say why at the top and run the page again.

    ``message`` is what to say; None means the conflict (said by the reload banner).
    ``rerun=False`` in a widget callback, which Streamlit follows with a run anyway.
    """
    ws: Workspace | None = st.session_state.get(STATE_KEY)
    if ws is None:
        return
    if ws.is_saved:
        try:
            back = Workspace.load(ws.id, revision=ws.saved_revision)
        except PersonaLensError:  # that revision is gone: the latest is all there is
            back = Workspace.load(ws.id)
        _apply_role(back, role())
    else:
        back = _fresh()
    st.session_state[STATE_KEY] = back
    if message is None:
        st.session_state[CONFLICT_FLASH] = True
    else:
        st.session_state[REFUSED_FLASH] = message
    if rerun:
        st.rerun()


def newer_on_disk(ws: Workspace) -> bool:
    """Whether another tab or analyst saved this workspace since this session read it."""
    if not ws.is_saved:
        return False
    head = revisions.head_revision(ws.folder)
    return head is not None and head != ws.saved_revision


def require_features(ws: Workspace):
    """Return the workspace's feature table, or say where to get one and stop the page."""
    features = ws.features
    if features is None:
        st.info("There is no feature table yet. Load a file or the sample on the **Data** "
                "page.", icon=":material/upload_file:")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/arrow_forward:")
        st.stop()
    return features
