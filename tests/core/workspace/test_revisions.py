"""Whole-revision saves: a reader sees one revision, a copy that is behind cannot save,
and a save that dies leaves the previous revision whole."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time

import pandas as pd
import pytest

from core.common.errors import DataError, ReadOnlyWorkspaceError, WorkspaceConflictError
from core.workspace import revisions
from core.workspace.sections import DataSection
from core.workspace.store import Workspace, list_workspaces


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path / "workspaces"


def _frame(users: list[str], value: float) -> pd.DataFrame:
    return pd.DataFrame({"revenue": [value] * len(users)},
                        index=pd.Index(users, name="user_id"))


def _saved(name: str = "shop.csv") -> Workspace:
    ws = Workspace(data=DataSection(name=name, users=2))
    ws.set_frame("features", _frame(["a", "b"], 1.0))
    ws.set_frame("clusters", pd.DataFrame({"cluster": ["0", "1"]},
                                          index=pd.Index(["a", "b"], name="user_id")))
    ws.save()
    return ws


def test_each_save_is_a_new_revision_and_unchanged_frames_are_links(home):
    ws = _saved()
    ws.set_frame("clusters", pd.DataFrame({"cluster": ["1", "1"]},
                                          index=pd.Index(["a", "b"], name="user_id")))
    ws.save()
    assert revisions.saved_revisions(home / ws.id) == [1, 2]
    first, second = home / ws.id / "rev-000001", home / ws.id / "rev-000002"
    assert os.stat(first / "features.parquet").st_ino == os.stat(
        second / "features.parquet").st_ino
    assert os.stat(first / "clusters.parquet").st_ino != os.stat(
        second / "clusters.parquet").st_ino
    back = Workspace.load(ws.id)
    assert back.saved_revision == 2 and back.clusters["cluster"].tolist() == ["1", "1"]


def test_a_copy_that_is_behind_is_refused_and_nothing_is_mixed(home):
    ws = _saved("first.csv")
    tab_a, tab_b = Workspace.load(ws.id), Workspace.load(ws.id)
    tab_a.data = DataSection(name="second.csv", users=3)
    tab_a.set_frame("features", _frame(["x", "y", "z"], 2.0))
    tab_a.set_frame("clusters", None)
    tab_a.save()
    tab_b.set_frame("clusters", pd.DataFrame({"cluster": ["9", "9"]},
                                             index=pd.Index(["a", "b"], name="user_id")))
    with pytest.raises(WorkspaceConflictError, match="changed in another tab"):
        tab_b.save()
    on_disk = Workspace.load(ws.id)
    assert on_disk.data.name == "second.csv" and on_disk.saved_revision == 2
    assert list(on_disk.features.index) == ["x", "y", "z"] and on_disk.clusters is None
    assert not list((home / ws.id).glob(".tmp-*"))


def test_of_two_saves_racing_from_one_revision_exactly_one_wins(home):
    ws = _saved()
    for attempt in range(10):
        copies = [Workspace.load(ws.id) for _ in range(2)]
        for number, copy in enumerate(copies):
            copy.data = DataSection(name=f"copy {number}", users=2)
        start, outcomes = threading.Barrier(2), []

        def save(copy, start=start, outcomes=outcomes):
            start.wait()
            try:
                copy.save()
                outcomes.append(copy.data.name)
            except WorkspaceConflictError:
                outcomes.append("refused")

        threads = [threading.Thread(target=save, args=(c,)) for c in copies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes)[-1] == "refused" and outcomes.count("refused") == 1, attempt
        winner = next(name for name in outcomes if name != "refused")
        assert Workspace.load(ws.id).data.name == winner


def test_a_save_that_dies_before_its_commit_leaves_the_previous_revision(home):
    ws = _saved("kept.csv")
    ws.data = DataSection(name="never.csv", users=2)
    ws.set_frame("features", _frame(["a", "b"], 5.0))

    def die(folder):
        assert (folder / "features.parquet").exists()  # written, not yet switched in
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ws.save(before_commit=die)
    back = Workspace.load(ws.id)
    assert back.data.name == "kept.csv" and back.features["revenue"].tolist() == [1.0, 1.0]
    assert not list((home / ws.id).glob(".tmp-*"))


def test_the_half_written_revision_of_a_killed_server_is_ignored_then_removed(home):
    ws = _saved("kept.csv")
    dead = home / ws.id / ".tmp-0123"
    dead.mkdir()
    (dead / "features.parquet").write_bytes(b"PAR1 half")
    assert Workspace.load(ws.id).data.name == "kept.csv"
    old = time.time() - revisions.STALE_TMP_SECONDS - 5
    os.utime(dead, (old, old))
    back = Workspace.load(ws.id)
    back.save()
    assert not dead.exists()


def test_old_revisions_are_pruned_and_a_copy_far_behind_is_told_to_reload(home):
    ws = _saved()
    behind = Workspace.load(ws.id)
    for number in range(4):
        ws.data = DataSection(name=f"step {number}", users=2)
        ws.save()
    assert revisions.saved_revisions(home / ws.id) == [3, 4, 5]
    with pytest.raises(WorkspaceConflictError, match="reload"):
        behind.features  # noqa: B018 (its revision is gone: reading the newest would mix)


def test_a_viewer_copy_cannot_save(home):
    ws = _saved()
    viewer = Workspace.load(ws.id)
    viewer.read_only = "You can view this workspace; only its owner and editors change it."
    with pytest.raises(ReadOnlyWorkspaceError, match="only its owner"):
        viewer.save()
    assert revisions.head_revision(home / ws.id) == 1


def test_a_new_workspace_writes_nothing_until_it_is_saved(home):
    ws = Workspace()
    ws.set_frame("features", _frame(["a"], 1.0))
    assert not ws.is_saved and not (home / ws.id).exists() and ws.features is not None
    ws.save()
    assert ws.is_saved and (home / ws.id / "rev-000001").is_dir()


def test_a_workspace_saved_before_revisions_opens_and_moves_into_one(home):
    ws = _saved("old layout")
    folder = home / ws.id
    for item in (folder / "rev-000001").iterdir():
        shutil.move(item, folder / item.name)
    (folder / "rev-000001").rmdir()
    old = Workspace.load(ws.id)
    assert old.saved_revision == 0 and list(old.features.index) == ["a", "b"]
    assert [w["dataset"] for w in list_workspaces()] == ["old layout"]
    old.save()
    assert sorted(p.name for p in folder.iterdir()) == ["rev-000001"]
    back = Workspace.load(ws.id)
    assert back.clusters["cluster"].tolist() == ["0", "1"]
    assert json.loads((folder / "rev-000001" / "workspace.json").read_text())["id"] == ws.id


def test_a_commit_into_a_slot_freed_by_pruning_is_refused(home):
    ws = _saved()
    slow = Workspace.load(ws.id)  # reads revision 1, then takes long to write
    tmp = revisions.start_revision(home / ws.id)
    (tmp / "workspace.json").write_text("{}")
    for number in range(4):  # meanwhile: revisions 2 to 5; pruning removes 2
        ws.data = DataSection(name=f"step {number}", users=2)
        ws.save()
    assert revisions.saved_revisions(home / ws.id) == [3, 4, 5]
    with pytest.raises(WorkspaceConflictError):
        revisions.commit_revision(home / ws.id, tmp, slow.saved_revision + 1)
    assert revisions.saved_revisions(home / ws.id) == [3, 4, 5]
    assert Workspace.load(ws.id).data.name == "step 3"


def test_two_copies_that_change_a_part_apart_never_share_a_cache_key(home):
    ws = _saved()
    one, two = Workspace.load(ws.id), Workspace.load(ws.id)
    assert one.version() == two.version()  # the same revision read twice
    one.changed("clusters")
    two.changed("clusters")
    assert one.revision("clusters") == two.revision("clusters")
    assert one.version("clusters") != two.version("clusters")
    one.save()
    assert Workspace.load(ws.id).version() == one.version()  # the tag is saved


def test_settings_naming_another_id_are_refused(home):
    ws = _saved()
    other = _saved()
    target = home / ws.id / "rev-000001" / "workspace.json"
    target.write_text((home / other.id / "rev-000001" / "workspace.json").read_text())
    with pytest.raises(DataError, match="name another id"):
        Workspace.load(ws.id)
