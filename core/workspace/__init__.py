"""The saved workspace and everything that reads or changes it: the actions pages call,
personas, segments and rules of the workspace, its model, report, zip and segment export.

Only this package knows :class:`Workspace`; the domain packages take frames and
settings. Pages and ``ui/`` change a workspace only through the functions here.
"""

from core.workspace.migrations import FORMAT_VERSION
from core.workspace.store import Workspace, list_workspaces

__all__ = ["FORMAT_VERSION", "Workspace", "list_workspaces"]
