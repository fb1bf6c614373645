"""Team mode's access lists: owners, shares, view-only links and the audit log."""

from __future__ import annotations

import json

import pytest

from core.common.errors import AccessDeniedError, ConfigError
from core.workspace import access
from core.workspace.deployment import deployment
from core.workspace.store import Workspace, list_workspaces


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path / "workspaces"


def _owned(owner: str, name: str) -> Workspace:
    ws = Workspace()
    ws.data.name = name
    access.claim(ws.id, owner)
    ws.save()
    return ws


def _audit(home) -> list[dict]:
    return [json.loads(line) for line in (home / "audit.log").read_text().splitlines()]


def test_only_the_owner_and_the_shared_see_a_workspace(home):
    mine, theirs = _owned("ana@example.com", "mine.csv"), _owned("bo@example.com", "b.csv")
    listed = list_workspaces(visible=access.visible_to("ana@example.com"))
    assert [w["id"] for w in listed] == [mine.id]
    assert access.read_access(theirs.id).role("ana@example.com") is None
    access.share(theirs.id, "bo@example.com", "  Ana@Example.com ", "view")
    assert access.read_access(theirs.id).role("ana@example.com") == "view"
    assert {w["id"] for w in list_workspaces(visible=access.visible_to("ana@example.com"))} \
        == {mine.id, theirs.id}
    access.unshare(theirs.id, "bo@example.com", "ana@example.com")
    assert access.read_access(theirs.id).role("ana@example.com") is None
    assert [e["event"] for e in _audit(home)] == ["share", "unshare"]


def test_only_the_owner_changes_the_shares_and_the_attempt_is_logged(home):
    ws = _owned("bo@example.com", "b.csv")
    access.share(ws.id, "bo@example.com", "ana@example.com", "edit")
    with pytest.raises(AccessDeniedError, match="Only the workspace's owner"):
        access.share(ws.id, "ana@example.com", "eve@example.com", "edit")
    with pytest.raises(AccessDeniedError):
        access.create_link(ws.id, "ana@example.com")
    refused = [e for e in _audit(home) if e["event"] == "refused"]
    assert len(refused) == 2 and refused[0]["identity"] == "ana@example.com"
    assert access.read_access(ws.id).shares == {"ana@example.com": "edit"}


def test_a_view_link_works_until_it_is_revoked_and_only_its_hash_is_stored(home):
    ws = _owned("bo@example.com", "b.csv")
    token = access.create_link(ws.id, "bo@example.com")
    stored = (home / ws.id / "access.json").read_text()
    assert token not in stored
    current = access.read_access(ws.id)
    assert current.role("eve@example.com", token) == "view"
    altered = token[:-1] + ("x" if token[-1] != "x" else "y")  # 1 in 64 tokens end in x
    assert current.role("eve@example.com", altered) is None
    assert current.role("eve@example.com") is None
    access.revoke_link(ws.id, "bo@example.com", current.links[0].id)
    assert access.read_access(ws.id).role("eve@example.com", token) is None


def test_an_id_owned_by_someone_else_cannot_be_claimed(home):
    ws = _owned("bo@example.com", "b.csv")
    with pytest.raises(AccessDeniedError, match="belongs to someone else"):
        access.claim(ws.id, "ana@example.com")
    assert access.read_access(ws.id).owner == "bo@example.com"


@pytest.mark.parametrize("bad", ["", "  ", "a b@example.com", "<script>@x", "x" * 255,
                                 "ana\"@example.com"])
def test_identities_with_spaces_quotes_or_markup_are_refused(bad):
    with pytest.raises(ConfigError, match="e-mail address"):
        access.normalise_identity(bad)


def test_roles_outside_view_and_edit_are_refused(home):
    ws = _owned("bo@example.com", "b.csv")
    with pytest.raises(ConfigError, match="'view' or 'edit'"):
        access.share(ws.id, "bo@example.com", "ana@example.com", "owner")


def test_the_deployment_comes_from_the_environment(monkeypatch):
    assert deployment().mode == "local" and deployment().quota_bytes is None
    monkeypatch.setenv("PERSONA_LENS_MODE", "team")
    team = deployment()
    assert team.team and team.quota_bytes == 2048 * 2**20 and team.idle_days == 90
    monkeypatch.setenv("PERSONA_LENS_QUOTA_MB", "0.5")
    monkeypatch.setenv("PERSONA_LENS_IDLE_DAYS", "0")
    assert deployment().quota_bytes == 2**19 and deployment().idle_days is None
    monkeypatch.setenv("PERSONA_LENS_QUOTA_MB", "lots")
    with pytest.raises(ConfigError, match="PERSONA_LENS_QUOTA_MB is 'lots'"):
        deployment()
    monkeypatch.setenv("PERSONA_LENS_MODE", "public")
    with pytest.raises(ConfigError, match="'local' or 'team'"):
        deployment()


def test_a_session_copy_gets_its_role_quota_and_owner(home):
    from core.common.errors import ReadOnlyWorkspaceError
    from core.workspace.deployment import Deployment
    from core.workspace.session import VIEW_ONLY_HELP, prepare

    team = Deployment(mode="team", quota_bytes=10**9)
    fresh = Workspace()
    prepare(fresh, "owner", team, "ana@example.com")
    assert not (home / fresh.id).exists()
    fresh.save()
    assert access.read_access(fresh.id).owner == "ana@example.com"
    viewer = Workspace.load(fresh.id)
    prepare(viewer, "view", team, "bo@example.com")
    with pytest.raises(ReadOnlyWorkspaceError, match="only its owner"):
        viewer.save()
    assert viewer.read_only == VIEW_ONLY_HELP and viewer.guard is not None
    local = Workspace()
    prepare(local, "owner", Deployment(), None)
    assert local.guard is None and local.before_first_save is None


def test_an_editor_whose_share_was_revoked_cannot_save_even_once(home):
    from core.common.errors import ReadOnlyWorkspaceError
    from core.workspace.deployment import Deployment
    from core.workspace.session import prepare

    team = Deployment(mode="team", quota_bytes=10**9)
    ws = _owned("bo@example.com", "b.csv")
    access.share(ws.id, "bo@example.com", "ana@example.com", "edit")
    editor = Workspace.load(ws.id)
    prepare(editor, "edit", team, "ana@example.com")
    editor.data.name = "edited"
    editor.save()  # allowed while shared
    access.share(ws.id, "bo@example.com", "ana@example.com", "view")
    editor.data.name = "after the downgrade"
    with pytest.raises(ReadOnlyWorkspaceError, match="no longer change it"):
        editor.save()
    assert Workspace.load(ws.id).data.name == "edited"
    assert _audit(home)[-1]["why"] == "save without an edit share"
