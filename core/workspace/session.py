"""What one analyst's copy of a workspace may do: the role they opened it with, the
quota its new data counts against and, for a workspace not saved yet, the owner it will
get (team mode)."""

from __future__ import annotations

from core.common.errors import ReadOnlyWorkspaceError
from core.workspace import access
from core.workspace.deployment import Deployment
from core.workspace.housekeeping import quota_guard
from core.workspace.store import Workspace, home

VIEW_ONLY_HELP = ("You can view this workspace and download from it; only its owner and "
                  "the people it is shared with for editing can change it.")


def prepare(ws: Workspace, role: access.Role, deployment: Deployment,
            identity: str | None) -> None:
    """Set up ``ws`` for an analyst who opened it as ``role``.

    A viewer's copy refuses to save (with :data:`VIEW_ONLY_HELP`); saves with new data
    count against the owner's quota (an editor's loads against the owner's); in team
    mode a workspace saved for the first time records ``identity`` as its owner first,
    and every save checks the access list again (:func:`may_change`).
    """
    ws.read_only = VIEW_ONLY_HELP if role == "view" else None
    owner = access.read_access(ws.id).owner if ws.is_saved else identity
    ws.guard = quota_guard(deployment, owner)
    if deployment.team:
        ws.before_first_save = lambda: access.claim(ws.id, identity)
        ws.authorize = lambda: may_change(ws.id, identity)


def may_change(workspace_id: str, identity: str | None) -> None:
    """Refuse a save by ``identity`` unless the access list, read now, lets them change the
    workspace (a share revoked or turned to view-only since the page was drawn).

    Raises
    ------
    ReadOnlyWorkspaceError
        When they may not; the refusal is logged.
    """
    current = access.read_access(workspace_id)
    if current.owner is None and not (home() / workspace_id).is_dir():
        return  # not saved yet: the first save records its owner
    if current.role(identity) not in ("owner", "edit"):
        access.refuse(workspace_id, identity, "save without an edit share")
        raise ReadOnlyWorkspaceError("Your access to this workspace changed: you can no "
                                     "longer change it. Nothing was saved.")
