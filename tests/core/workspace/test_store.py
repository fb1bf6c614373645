"""Workspace persistence: what is saved comes back, and nothing else is trusted."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.common.errors import DataError
from core.workspace.actions import reset_data
from core.workspace.migrations import FORMAT_VERSION
from core.workspace.sections import DataSection
from core.workspace.store import Workspace, list_workspaces


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path


def test_round_trip_settings_and_frames():
    ws = Workspace(data=DataSection(name="shop.csv", users=2))
    ws.feature_info.selected = ["revenue"]
    ws.set_frame("features", pd.DataFrame({"revenue": [1.5, 2.0]},
                                          index=pd.Index(["a", "b"], name="user_id")))
    ws.mark_step("features")
    ws.save()
    back = Workspace.load(ws.id)
    assert back.data == DataSection(name="shop.csv", users=2)
    assert back.feature_info.selected == ["revenue"]
    assert "features" in back.steps
    pd.testing.assert_frame_equal(back.features, ws.features)
    assert back.events is None


def test_files_are_json_and_parquet_only(home):
    ws = Workspace()
    ws.set_frame("events", pd.DataFrame({"user_id": ["a"], "ts": pd.to_datetime(
        ["2024-01-01"], utc=True), "event": ["x"]}))
    ws.save()
    revision = home / "workspaces" / ws.id / "rev-000001"
    assert sorted(p.name for p in (home / "workspaces" / ws.id).iterdir()) == ["rev-000001"]
    assert sorted(p.name for p in revision.iterdir()) == ["events.parquet", "workspace.json"]
    data = json.loads((revision / "workspace.json").read_text())
    assert data["format_version"] == FORMAT_VERSION and data["saved_revision"] == 1


def test_bad_ids_and_damaged_files_are_refused(home):
    with pytest.raises(DataError, match="not a workspace id"):
        Workspace.load("../../etc")
    with pytest.raises(DataError, match="not found"):
        Workspace.load("0123456789ab")
    ws = Workspace()
    ws.save()
    (home / "workspaces" / ws.id / "rev-000001" / "workspace.json").write_text("{broken")
    with pytest.raises(DataError, match="damaged"):
        Workspace.load(ws.id)


def test_reset_forgets_data_and_removes_frames(home):
    ws = Workspace(data=DataSection(name="x", pseudonym_key="k"))
    ws.set_frame("features", pd.DataFrame({"a": [1]}))
    ws.save()
    reset_data(ws)
    ws.save()
    back = Workspace.load(ws.id)
    assert back.data == DataSection() and back.features is None


def test_list_newest_first(home):
    first = Workspace(data=DataSection(name="one"))
    first.save()
    path = home / "workspaces" / first.id / "rev-000001" / "workspace.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "updated": "2024-01-01T00:00:00Z"}))
    second = Workspace(data=DataSection(name="two"))
    second.save()
    listed = list_workspaces()
    assert [w["dataset"] for w in listed][:2] == ["two", "one"]
