"""How a workspace lies on disk: one folder per saved revision, switched in atomically.

::

    <home>/<id>/access.json       who may open it (team mode), see core.workspace.access
    <home>/<id>/rev-000007/       the newest revision: workspace.json and its Parquet files
    <home>/<id>/rev-000006/       older ones, kept for a short while (tabs still reading them)
    <home>/<id>/.tmp-<random>/    a save in progress (or one killed midway)

A save writes a whole revision into a fresh ``.tmp-`` folder (frames that did not change
are hard links to the previous revision's files, so a save costs only what changed), then
renames it to ``rev-<n+1>``. The rename is the commit: it either happens or it does not,
and it fails when ``rev-<n+1>`` already exists, because another tab or analyst saved from
the same revision first. So a reader always sees one complete revision, a save from a tab
that is behind is refused, and a server killed midway leaves the previous revision whole
and a ``.tmp-`` folder that the clean-up removes.

Workspaces saved before revisions existed keep their files at the top of the folder; they
read as revision 0 and the first save moves them into ``rev-000001``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

from core.common.errors import WorkspaceConflictError

SETTINGS_FILE = "workspace.json"
#: Revisions kept besides the newest: a tab that read one of them can still load its
#: frames; a tab further behind is told to reload.
KEEP_OLDER = 2
#: A ``.tmp-`` folder older than this is a save that died, not one in progress.
STALE_TMP_SECONDS = 3600
_REVISION = re.compile(r"^rev-(\d{6,})$")

CONFLICT_MESSAGE = ("This workspace changed in another tab or by another analyst: reload to "
                    "see the latest. Nothing was saved from this tab, so the two are not "
                    "mixed.")


def revision_folder(folder: Path, number: int) -> Path:
    """The folder of revision ``number`` (0 is the layout before revisions: the top)."""
    return folder if number == 0 else folder / f"rev-{number:06d}"


def saved_revisions(folder: Path) -> list[int]:
    """The numbers of the complete revisions in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [int(m.group(1)) for p in folder.iterdir() if (m := _REVISION.match(p.name))]
    if not found and (folder / SETTINGS_FILE).exists():
        return [0]
    return sorted(found)


def head_revision(folder: Path) -> int | None:
    """The newest complete revision, or None when nothing was ever saved."""
    found = saved_revisions(folder)
    return found[-1] if found else None


def start_revision(folder: Path) -> Path:
    """A fresh, empty folder to write the next revision into."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    return tmp


def keep_file(previous: Path, tmp: Path, name: str) -> None:
    """Carry an unchanged file into the new revision (a hard link where possible).

    Raises
    ------
    WorkspaceConflictError
        When the previous revision was removed meanwhile (by saves from another tab).
    """
    if not (previous / SETTINGS_FILE).exists():
        raise WorkspaceConflictError(CONFLICT_MESSAGE)
    source = previous / name
    if not source.exists():
        return
    try:
        os.link(source, tmp / name)
    except OSError:  # a file system without hard links
        shutil.copy2(source, tmp / name)


def write_durably(path: Path, text: str) -> None:
    """Write ``text`` and flush it to the disk before returning."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def flush_file(path: Path) -> None:
    """Make sure a written file's data is on the disk (before the commit names it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_revision(folder: Path, tmp: Path, number: int) -> None:
    """Switch the written revision in as ``number``.

    Raises
    ------
    WorkspaceConflictError
        When revision ``number`` exists already: another save from the same revision
        came first. ``tmp`` is removed; nothing of the two is mixed.
    """
    target = revision_folder(folder, number)
    try:
        _fsync_folder(tmp)
        if target.exists():
            raise FileExistsError(target)
        # On Linux a rename onto an existing, non-empty folder fails: the check above
        # only spares the work, the rename is what decides between two racing saves.
        os.rename(tmp, target)
        _fsync_folder(folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WorkspaceConflictError(CONFLICT_MESSAGE) from exc
    # Saves that came meanwhile may have pruned ``number`` itself, leaving its slot free:
    # a revision that is not the newest once switched in is not the workspace's.
    if head_revision(folder) != number:
        shutil.rmtree(target, ignore_errors=True)
        raise WorkspaceConflictError(CONFLICT_MESSAGE)


def discard(tmp: Path) -> None:
    """Throw away a revision that will not be committed."""
    shutil.rmtree(tmp, ignore_errors=True)


def prune(folder: Path, keep_older: int = KEEP_OLDER) -> None:
    """Remove revisions older than the newest ``keep_older + 1``, the files of the layout
    before revisions once a revision exists, and ``.tmp-`` folders of saves that died."""
    found = saved_revisions(folder)
    for number in found[: max(0, len(found) - keep_older - 1)]:
        if number:
            shutil.rmtree(revision_folder(folder, number), ignore_errors=True)
    if found and found[-1] > 0:
        for legacy in [folder / SETTINGS_FILE, *folder.glob("*.parquet")]:
            legacy.unlink(missing_ok=True)
    for tmp in stale_saves(folder):
        shutil.rmtree(tmp, ignore_errors=True)


def stale_saves(folder: Path, older_than_s: float = STALE_TMP_SECONDS) -> list[Path]:
    """``.tmp-`` folders left by saves that died (older than ``older_than_s``)."""
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than_s
    found = []
    for tmp in folder.glob(".tmp-*"):
        try:
            if tmp.stat().st_mtime < cutoff:
                found.append(tmp)
        except FileNotFoundError:  # committed or discarded meanwhile by another save
            continue
    return found


def _fsync_folder(path: Path) -> None:
    flush_file(path)  # a folder's entries are flushed the same way
