"""Workspaces and zips written by format 1 still open, with every section intact.

The fixtures in tests/fixtures were written by the format-1 code (commit b1aa764): the
400-user sample loaded, swept, clustered (k = 4), stability measured, personas named
and one edited, three rule segments, a saved selection, the starter rules and the sample
experiment analysed. ``workspace_v1_model.json`` is the model that code exported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.common.errors import DataError
from core.workspace.bundle import open_bundle
from core.workspace.migrations import FORMAT_VERSION, migrate
from core.workspace.model import clustered_matrix, model_from_workspace
from core.workspace.personas import personas_fresh
from core.workspace.report import build_report
from core.workspace.store import Workspace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
V1_ID = json.loads((FIXTURES / "workspace_v1" / "workspace.json").read_text())["id"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    shutil.copytree(FIXTURES / "workspace_v1", tmp_path / "workspaces" / V1_ID)
    return tmp_path


def _check_v1_content(ws: Workspace) -> None:
    """What the format-1 workspace held, read through the typed sections."""
    assert ws.data.name == "Sample: online shop" and ws.data.kind == "events"
    assert ws.data.sample == {"users": 400, "days": 30, "seed": 7}
    assert ws.data.users == 400 and ws.data.events == len(ws.events)
    assert ws.data.report.rows_read == 8190 and ws.data.report.dropped["debounced"] == 34
    assert ws.data.load_config.session_gap_minutes == 30.0
    assert ws.data.event_roles["purchase"] == ["purchase"]
    assert ws.feature_info.kind == "events" and ws.feature_info.config.trend_window_days == 30
    assert ws.feature_info.selected and set(ws.feature_info.selected) <= set(ws.features)
    assert ws.sweep.suggested_k in (2, 3, 4) and [r["k"] for r in ws.sweep.table] == [2, 3, 4]
    section = ws.clustering
    assert section.config.algorithm == "kmeans" and section.config.k == 4
    assert section.n_clusters == 4 and section.noise == 0
    assert section.preprocess.features == tuple(ws.feature_info.selected)
    assert section.report.users_out == 400
    assert section.stability.runs == 2 and 0 < section.stability.mean <= 1
    assert ws.personas.names["Cluster 1"] == "Fixture persona"
    assert ws.personas.personas["Cluster 1"]["description"] == "Edited in v1"
    assert personas_fresh(ws)  # the fingerprint still matches the saved labels
    assert [r.name for r in ws.segment_rules.rules] == ["High engagement", "Frequent buyers",
                                                        "Cart abandoners"]
    assert set(ws.segments["segment"]) == {"Map pick"} and len(ws.segments) == 25
    assert len(ws.rules.rule_set.rules) == 4
    assert ws.experiment.source["name"] == "Sample experiment"
    assert ws.experiment.spec.metrics == ("converted", "revenue")
    assert ws.experiment.summary["sentences"]
    assert len(ws.experiment_table) == len(ws.experiment_table["user_id"].unique())


def test_a_format_1_folder_opens(home):
    ws = Workspace.load(V1_ID)
    _check_v1_content(ws)
    assert ws.clustering.fitted is None  # format 1 kept only the settings


def test_the_fit_of_a_format_1_clustering_is_rebuilt_to_the_same_model(home):
    ws = Workspace.load(V1_ID)
    model = model_from_workspace(ws)
    expected = json.loads((FIXTURES / "workspace_v1_model.json").read_text())
    for key in ("format", "version", "users", "excluded_users", "personas"):
        assert model[key] == expected[key], key
    # Settings added since format 1 carry their defaults; the old ones are unchanged.
    for part, added in (("load_config", {"event_name": None, "time_zone": None,
                                         "exclude_bots": False}),
                        ("features", {})):
        got, old = model[part], expected[part]
        if part == "features":
            got, old = got["config"], old["config"]
            added = {"time_zone": "UTC"}
        assert {k: got[k] for k in old} == old, part
        assert {k: v for k, v in got.items() if k not in old} == added, part
    assert model["cluster"]["labels"] == expected["cluster"]["labels"]
    np.testing.assert_allclose(model["cluster"]["centroids"], expected["cluster"]["centroids"],
                               rtol=1e-12, atol=1e-12)
    assert model["preprocess"]["features"] == expected["preprocess"]["features"]
    np.testing.assert_allclose(model["preprocess"]["center"], expected["preprocess"]["center"])
    assert ws.clustering.fitted is not None  # kept from now on


def test_a_format_1_workspace_saves_as_the_current_format_and_reopens(home):
    ws = Workspace.load(V1_ID)
    clustered_matrix(ws)  # rebuilds the fit
    ws.save()
    folder = home / "workspaces" / V1_ID
    data = json.loads((folder / "rev-000001" / "workspace.json").read_text())
    assert data["format_version"] == FORMAT_VERSION
    assert not (folder / "workspace.json").exists()  # moved into the revision
    assert data["clustering"]["fitted"]["labels"] == ["Cluster 1", "Cluster 2", "Cluster 3",
                                                      "Cluster 4"]
    again = Workspace.load(V1_ID)
    _check_v1_content(again)
    assert again.clustering.fitted is not None
    assert "Fixture persona" in build_report(again)


def test_a_format_1_zip_imports(home):
    bundle = open_bundle(FIXTURES / "workspace_v1.zip")
    ws = bundle.workspace
    assert ws.id != V1_ID
    _check_v1_content(ws)
    assert bundle.summary.dataset == "Sample: online shop"
    assert bundle.summary.notices == []  # every format-1 setting was understood
    pd.testing.assert_frame_equal(ws.features, Workspace.load(V1_ID).features)


def test_unknown_or_future_versions_are_refused():
    with pytest.raises(DataError, match="reads versions 1 to"):
        migrate({"format_version": FORMAT_VERSION + 1})
    for bad in (None, "1", 0, True):
        with pytest.raises(DataError, match="no version of Persona Lens wrote"):
            migrate({"format_version": bad})
