"""Widgets that change the workspace are disabled, with the reason in their tooltip, for
a viewer and in a tab that is behind the saved workspace. The workspace refuses such a
save anyway (``Workspace.read_only``, the revision check); this makes the page say so
before anyone clicks."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.workspace.session import VIEW_ONLY_HELP
from ui.state import STATE_KEY, newer_on_disk, role

BEHIND_HELP = ("Another tab or analyst saved this workspace since this tab read it: press "
               "**Reload the latest** at the top first, so that nothing of the two is mixed.")


def can_edit() -> bool:
    """Whether this session may change its workspace."""
    return role() != "view"


def edit_lock(disabled: bool = False, help: str | None = None) -> dict[str, Any]:
    """Keyword arguments for a widget that changes the workspace: for a viewer, disabled
    with :data:`VIEW_ONLY_HELP` as tooltip; in a tab that is behind, disabled with
    :data:`BEHIND_HELP`; otherwise ``disabled`` and ``help`` as given."""
    if not can_edit():
        return {"disabled": True, "help": VIEW_ONLY_HELP}
    ws = st.session_state.get(STATE_KEY)
    if ws is not None and newer_on_disk(ws):
        return {"disabled": True, "help": BEHIND_HELP}
    return {"disabled": disabled, "help": help}
