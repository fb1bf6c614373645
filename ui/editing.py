"""Widgets that change the workspace are disabled for a viewer, with the reason in their
tooltip. The workspace refuses a viewer's save anyway (``Workspace.read_only``); this
makes the page say so before anyone clicks."""

from __future__ import annotations

from typing import Any

from ui.state import VIEW_ONLY_HELP, role


def can_edit() -> bool:
    """Whether this session may change its workspace."""
    return role() != "view"


def edit_lock(disabled: bool = False, help: str | None = None) -> dict[str, Any]:
    """Keyword arguments for a widget that changes the workspace: for a viewer, disabled
    with :data:`VIEW_ONLY_HELP` as tooltip; otherwise ``disabled`` and ``help`` as given."""
    if not can_edit():
        return {"disabled": True, "help": VIEW_ONLY_HELP}
    return {"disabled": disabled, "help": help}
