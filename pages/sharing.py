"""Sharing page (team mode): who may open this workspace. The owner shares it with named
people for viewing or editing, creates view-only links and revokes either; everyone else
sees who owns it and what they may do."""

from __future__ import annotations

import streamlit as st

from core.workspace import access
from core.workspace.access import SHARE_ROLES
from ui.auth import identity
from ui.errors import shows_errors
from ui.state import role, workspace
from ui.text import code, inert

ROLE_WORDS = {"view": "can view and download", "edit": "can view and change"}
LINK_KEY = "sharing.new_link"

ws = workspace()
who = identity()
st.title("Sharing")
if not ws.is_saved:
    st.info("This workspace is not saved yet, so there is nothing to share: it is saved "
            "with your first step (loading data, clustering, naming a persona...).",
            icon=":material/info:")
    st.stop()

current = access.read_access(ws.id)
if role() != "owner":
    st.write(f"**{inert(current.owner or 'nobody')}** owns this workspace; you "
             f"{ROLE_WORDS.get(role(), 'can view')} it. Only the owner changes who may "
             "open it.")
    st.stop()

st.caption("Only you, and the people you share it with, can open this workspace; anyone "
           "else who has its address is told they have no access. A change here takes "
           "effect at once, on their next click.")


def share_form() -> None:
    with st.form("sharing.form", clear_on_submit=True, border=True):
        cols = st.columns([4, 2, 1], vertical_alignment="bottom")
        person = cols[0].text_input("Share with (e-mail as they sign in)",
                                    placeholder="ana@example.com")
        granted = cols[1].selectbox("They", SHARE_ROLES,
                                    format_func=lambda r: ROLE_WORDS[r])
        if cols[2].form_submit_button("Share", type="primary", icon=":material/person_add:"):
            with shows_errors():
                stored = access.share(ws.id, who, person, granted)
                st.toast(f"Shared with {inert(stored)}.", icon=":material/check:")
                st.rerun()


def people() -> None:
    st.subheader("People")
    shares = access.read_access(ws.id).shares
    if not shares:
        st.caption("Not shared with anyone yet.")
    for person, granted in sorted(shares.items()):
        cols = st.columns([4, 2, 1], vertical_alignment="center")
        cols[0].markdown(inert(person))
        cols[1].caption(ROLE_WORDS[granted])
        if cols[2].button("Revoke", key=f"sharing.revoke.{person}",
                          icon=":material/person_remove:"):
            access.unshare(ws.id, who, person)
            st.rerun()


def links() -> None:
    st.subheader("View-only links")
    st.caption("Anyone signed in to this server who has the link can view the workspace and "
               "download from it, but not change it. The link is shown once; the server "
               "keeps only a fingerprint of it.")
    if st.button("Create a view-only link", key="sharing.create_link", icon=":material/link:"):
        token = access.create_link(ws.id, who)
        base = (st.context.url or "").rsplit("/sharing", 1)[0].rstrip("/")
        st.session_state[LINK_KEY] = f"{base}/?ws={ws.id}&link={token}"
    fresh = st.session_state.pop(LINK_KEY, None)
    if fresh:
        st.success("Copy the link now; it is not shown again.", icon=":material/content_copy:")
        st.code(fresh, language=None)
    existing = access.read_access(ws.id).links
    if not existing:
        st.caption("No links.")
    for link in existing:
        cols = st.columns([4, 2, 1], vertical_alignment="center")
        cols[0].markdown(f"Link {code(link.id)}")
        cols[1].caption(f"created {link.created.replace('T', ' ').rstrip('Z')} UTC")
        if cols[2].button("Revoke", key=f"sharing.revoke_link.{link.id}",
                          icon=":material/link_off:"):
            access.revoke_link(ws.id, who, link.id)
            st.rerun()


share_form()
people()
links()
