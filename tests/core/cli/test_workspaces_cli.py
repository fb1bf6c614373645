"""``python -m core workspaces``: list, clean up and adopt, in-process."""

from __future__ import annotations

import os
import time

import pytest

from core.cli.main import main
from core.workspace import access, revisions
from core.workspace.sections import DataSection
from core.workspace.store import Workspace


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path / "workspaces"


def test_list_clean_and_adopt(home, capsys, monkeypatch):
    kept = Workspace(data=DataSection(name="shop.csv", users=3))
    kept.save()
    empty = Workspace()
    empty.save()
    old = time.time() - 3 * 86400
    stamp = "2020-01-01T00:00:00Z"
    settings = home / empty.id / "rev-000001" / "workspace.json"
    settings.write_text(settings.read_text().replace(empty.updated, stamp))
    dead = home / kept.id / ".tmp-dead"
    dead.mkdir()
    os.utime(dead, (old, old))

    assert main(["workspaces", "list"]) == 0
    out = capsys.readouterr().out
    assert kept.id in out and "shop.csv" in out and "(no owner)" in out
    assert "2 workspace(s)" in out

    assert main(["workspaces", "clean", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Would remove 1 workspace(s) and 1 dead save(s)" in out and empty.id in out
    assert (home / empty.id).exists() and dead.exists()
    assert main(["workspaces", "clean"]) == 0
    assert "Removed 1 workspace(s)" in capsys.readouterr().out
    assert not (home / empty.id).exists() and not dead.exists()
    assert revisions.head_revision(home / kept.id) == 1

    assert main(["workspaces", "adopt", kept.id, "--owner", "Ana@Example.com"]) == 0
    assert f"{kept.id} now belongs to ana@example.com" in capsys.readouterr().out
    assert access.read_access(kept.id).owner == "ana@example.com"
    assert main(["workspaces", "list", "--owner", "bo@example.com"]) == 0
    assert kept.id not in capsys.readouterr().out
    assert main(["workspaces", "adopt", kept.id, "--owner", "bo@example.com"]) == 3
    assert "belongs to someone else" in capsys.readouterr().err
    assert main(["workspaces", "adopt", "../etc", "--owner", "bo@example.com"]) == 3
    assert "not a workspace id" in capsys.readouterr().err
