"""``python -m core workspaces list|clean|adopt``: the server's saved workspaces.

    python -m core workspaces list [--owner ana@example.com]
    python -m core workspaces clean [--dry-run]     (also run by the app, once an hour)
    python -m core workspaces adopt ID --owner ana@example.com

They read the same settings as the app (``PERSONA_LENS_HOME``, ``PERSONA_LENS_MODE``,
``PERSONA_LENS_EMPTY_HOURS``, ``PERSONA_LENS_IDLE_DAYS``; see
:mod:`core.workspace.deployment`). ``adopt`` gives a workspace made in local mode (no
owner) to an analyst, so that team mode lets them open it.
"""

from __future__ import annotations

import argparse

from core.cli.common import EXIT_OK
from core.common.errors import DataError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``workspaces`` sub-command and its actions."""
    parser = sub.add_parser("workspaces", help="list, clean up or adopt saved workspaces")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="saved workspaces, newest first")
    listing.add_argument("--owner", help="only this analyst's (and those shared with them)")
    listing.set_defaults(func=cmd_list)
    clean = actions.add_parser("clean", help="remove empty and abandoned workspaces")
    clean.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    clean.set_defaults(func=cmd_clean)
    adopt = actions.add_parser("adopt", help="give a workspace without owner to an analyst")
    adopt.add_argument("id", help="the workspace id (12 hexadecimal characters)")
    adopt.add_argument("--owner", required=True, help="the analyst's sign-in e-mail")
    adopt.set_defaults(func=cmd_adopt)


def cmd_list(args: argparse.Namespace) -> int:
    """Print one line per workspace: id, owner, size, last save, dataset."""
    from core.workspace import access
    from core.workspace.housekeeping import folder_bytes, human_bytes
    from core.workspace.store import home, list_workspaces

    visible = access.visible_to(access.normalise_identity(args.owner)) if args.owner else None
    found = list_workspaces(limit=10_000, visible=visible)
    for item in found:
        owner = access.read_access(item["id"]).owner or "(no owner)"
        size = human_bytes(folder_bytes(home() / item["id"]))
        print(f"{item['id']}  {owner:<28} {size:>9}  {item['updated']}  {item['dataset']}")
    print(f"{len(found):,} workspace(s) in {home()}.")
    return EXIT_OK


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove (or with --dry-run, list) what the clean-up would remove."""
    from core.workspace.deployment import deployment
    from core.workspace.housekeeping import clean_up, human_bytes

    settings = deployment()
    report = clean_up(settings, dry_run=args.dry_run)
    verb = "Would remove" if args.dry_run else "Removed"
    idle = f"{settings.idle_days:g} days" if settings.idle_days else "never (not set)"
    print(f"{verb} {len(report.removed):,} workspace(s) and {report.dead_saves:,} dead "
          f"save(s): {human_bytes(report.bytes_before)} before, "
          f"{human_bytes(report.bytes_after)} after. Empty workspaces go after "
          f"{settings.empty_hours:g} idle hours; any workspace after {idle}.")
    for workspace_id in report.removed:
        print(f"  {workspace_id}")
    return EXIT_OK


def cmd_adopt(args: argparse.Namespace) -> int:
    """Record an owner for a workspace that has none."""
    from core.workspace import access
    from core.workspace.store import Workspace, is_workspace_id

    if not is_workspace_id(args.id):
        raise DataError(f"'{args.id}' is not a workspace id (12 hexadecimal characters).")
    Workspace.load(args.id)  # says so when it does not exist
    owner = access.normalise_identity(args.owner)
    access.claim(args.id, owner)
    access.audit("adopt", workspace=args.id, by="command line", owner=owner)
    print(f"Workspace {args.id} now belongs to {owner}.")
    return EXIT_OK
