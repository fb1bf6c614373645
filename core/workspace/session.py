"""What one analyst's copy of a workspace may do: the role they opened it with, the
quota its new data counts against and, for a workspace not saved yet, the owner it will
get (team mode)."""

from __future__ import annotations

from core.workspace import access
from core.workspace.deployment import Deployment
from core.workspace.housekeeping import quota_guard
from core.workspace.store import Workspace

VIEW_ONLY_HELP = ("You can view this workspace and download from it; only its owner and "
                  "the people it is shared with for editing can change it.")


def prepare(ws: Workspace, role: access.Role, deployment: Deployment,
            identity: str | None) -> None:
    """Set up ``ws`` for an analyst who opened it as ``role``.

    A viewer's copy refuses to save (with :data:`VIEW_ONLY_HELP`); saves with new data
    count against the owner's quota (an editor's loads against the owner's); in team
    mode a workspace saved for the first time records ``identity`` as its owner first.
    """
    ws.read_only = VIEW_ONLY_HELP if role == "view" else None
    owner = access.read_access(ws.id).owner if ws.is_saved else identity
    ws.guard = quota_guard(deployment, owner)
    if not ws.is_saved and deployment.team:
        ws.before_first_save = lambda: access.claim(ws.id, identity)
