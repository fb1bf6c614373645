"""Keeping the workspace folder bounded: disk use per owner, the quota, and the clean-up
of empty and abandoned workspaces and of saves that died."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.common.errors import QuotaExceededError
from core.workspace import revisions
from core.workspace.access import read_access
from core.workspace.deployment import Deployment
from core.workspace.store import read_settings, saved_folders


def folder_bytes(folder: Path, saved_only: bool = False) -> int:
    """Bytes on disk under ``folder``; a file hard-linked into several revisions counts once.

    ``saved_only`` leaves out ``.tmp-`` folders (a save in progress, or one that died).
    """
    seen, total = set(), 0
    for path in folder.rglob("*"):
        if saved_only and any(part.startswith(".tmp-") for part in
                              path.relative_to(folder).parts):
            continue
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if path.is_file() and (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_size
    return total


def usage(owner: str | None, team: bool) -> int:
    """Bytes used by ``owner``'s workspaces (in local mode: by every workspace)."""
    return sum(folder_bytes(f, saved_only=True) for f in saved_folders()
               if not team or read_access(f.name).owner == owner)


def human_bytes(count: float) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1024)."""
    if count < 1024:
        return f"{int(count)} B"
    for unit in ("KB", "MB", "GB", "TB"):
        count /= 1024
        if count < 1024 or unit == "TB":
            break
    return f"{count:,.1f}".removesuffix(".0") + f" {unit}"


def quota_guard(deployment: Deployment, owner: str | None) -> Callable[[Path], None] | None:
    """A check for :meth:`Workspace.save`: refuses a revision that would take the owner over
    the quota. None when no quota is set."""
    quota = deployment.quota_bytes
    if quota is None:
        return None

    def check(written: Path) -> None:
        new = sum(p.stat().st_size for p in written.iterdir()
                  if p.is_file() and p.stat().st_nlink == 1)
        used = usage(owner, deployment.team)
        if used + new > quota:
            raise QuotaExceededError(
                f"This would take your workspaces to {human_bytes(used + new)}, over the "
                f"quota of {human_bytes(quota)} (they use {human_bytes(used)} now). Delete "
                "workspaces you no longer need on the Data page, or load a smaller file; "
                "nothing was saved.")
    return check


@dataclass
class CleanUp:
    """What a clean-up removed."""

    removed: list[str] = field(default_factory=list)
    dead_saves: int = 0
    bytes_before: int = 0
    bytes_after: int = 0


def clean_up(deployment: Deployment, now: datetime | None = None,
             dry_run: bool = False) -> CleanUp:
    """Remove empty workspaces idle for ``deployment.empty_hours``, any workspace idle for
    ``deployment.idle_days`` (when set) and ``.tmp-`` folders of saves that died.

    Idle means neither saved nor opened. ``dry_run`` reports without removing.
    """
    now = now or datetime.now(UTC)
    report = CleanUp()
    for folder in saved_folders():
        size = folder_bytes(folder)
        report.bytes_before += size
        dead = revisions.stale_saves(folder)
        report.dead_saves += len(dead)
        if _expired(folder, deployment, now):
            report.removed.append(folder.name)
            if not dry_run:
                shutil.rmtree(folder, ignore_errors=True)
            continue
        if not dry_run:
            for tmp in dead:
                shutil.rmtree(tmp, ignore_errors=True)
        report.bytes_after += folder_bytes(folder) if not dry_run else size
    return report


def _expired(folder: Path, deployment: Deployment, now: datetime) -> bool:
    settings = read_settings(folder)
    if settings is None:
        # Only a save that died (no revision) or an access list: nothing to open.
        return _idle_for(folder, None, now) > timedelta(hours=deployment.empty_hours)
    idle = _idle_for(folder, settings.get("updated"), now)
    newest = revisions.revision_folder(folder, revisions.head_revision(folder) or 0)
    empty = not any(newest.glob("*.parquet"))  # no data of any kind, not only no events
    if empty and idle > timedelta(hours=deployment.empty_hours):
        return True
    return deployment.idle_days is not None and idle > timedelta(days=deployment.idle_days)


def _idle_for(folder: Path, updated: str | None, now: datetime) -> timedelta:
    stamps = [_parse(updated), _parse(read_access(folder.name).opened)]
    known = [s for s in stamps if s is not None]
    if not known:
        known = [datetime.fromtimestamp(folder.stat().st_mtime, UTC)]
    return now - max(known)


def _parse(stamp: str | None) -> datetime | None:
    try:
        return datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
