"""Workspace persistence: what is saved comes back, and nothing else is trusted."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.common.errors import DataError
from core.workspace.store import Workspace, list_workspaces


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path


def test_round_trip_settings_and_frames():
    ws = Workspace(dataset={"name": "shop.csv", "users": 2})
    ws.selected_features = ["revenue"]
    ws.set_frame("features", pd.DataFrame({"revenue": [1.5, 2.0]},
                                          index=pd.Index(["a", "b"], name="user_id")))
    ws.mark_step("features")
    ws.save()
    back = Workspace.load(ws.id)
    assert back.dataset == {"name": "shop.csv", "users": 2}
    assert back.selected_features == ["revenue"]
    assert "features" in back.steps
    pd.testing.assert_frame_equal(back.features, ws.features)
    assert back.events is None


def test_files_are_json_and_parquet_only(home):
    ws = Workspace()
    ws.set_frame("events", pd.DataFrame({"user_id": ["a"], "ts": pd.to_datetime(
        ["2024-01-01"], utc=True), "event": ["x"]}))
    ws.save()
    names = sorted(p.name for p in (home / "workspaces" / ws.id).iterdir())
    assert names == ["events.parquet", "workspace.json"]
    data = json.loads((home / "workspaces" / ws.id / "workspace.json").read_text())
    assert data["format_version"] == 1


def test_bad_ids_and_damaged_files_are_refused(home):
    with pytest.raises(DataError, match="not a workspace id"):
        Workspace.load("../../etc")
    with pytest.raises(DataError, match="not found"):
        Workspace.load("0123456789ab")
    ws = Workspace()
    ws.save()
    (home / "workspaces" / ws.id / "workspace.json").write_text("{broken")
    with pytest.raises(DataError, match="damaged"):
        Workspace.load(ws.id)


def test_reset_forgets_data_and_removes_frames(home):
    ws = Workspace(dataset={"name": "x"})
    ws.set_frame("features", pd.DataFrame({"a": [1]}))
    ws.pseudonym_key = "k"
    ws.save()
    ws.reset_data()
    ws.save()
    back = Workspace.load(ws.id)
    assert back.dataset == {} and back.pseudonym_key is None and back.features is None


def test_list_newest_first(home):
    first = Workspace(dataset={"name": "one"})
    first.save()
    path = home / "workspaces" / first.id / "workspace.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "updated": "2024-01-01T00:00:00Z"}))
    second = Workspace(dataset={"name": "two"})
    second.save()
    listed = list_workspaces()
    assert [w["dataset"] for w in listed][:2] == ["two", "one"]
