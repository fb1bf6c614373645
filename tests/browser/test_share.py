"""Export page in Chromium: segment CSV filtered by persona, workspace zip out and back in."""

from __future__ import annotations

import re
import zipfile

import pandas as pd
import pytest

from core.personas.state import PersonaState
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.workspace import actions
from core.workspace.store import Workspace
from tests.browser.conftest import save_a_step, shoot

pytestmark = pytest.mark.browser
#: Starts with "=", so the CSV must neutralise it.
PERSONA = "=Window shoppers"


def metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label)
    return box.get_by_test_id("stMetricValue").inner_text()


def workspace_id(page) -> str:
    page.wait_for_url(re.compile(r"ws=[0-9a-f]{12}"), timeout=90_000)
    return re.search(r"ws=([0-9a-f]{12})", page.url).group(1)


def cluster_on_disk(home, ws_id: str, monkeypatch) -> Workspace:
    """Cluster the server's workspace with core, as the Clustering page would."""
    monkeypatch.setenv("PERSONA_LENS_HOME", str(home))
    ws = Workspace.load(ws_id)
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                          ClusterConfig(k=4))
    ws.personas = PersonaState(names={"Cluster 2": PERSONA})
    ws.save()
    return ws


def test_segment_csv_and_workspace_round_trip(app_server, page, tmp_path, monkeypatch):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    saved_id = save_a_step(page)  # a visit saves nothing before its first step
    ws = cluster_on_disk(app_server["home"], saved_id, monkeypatch)
    expected = int((ws.clusters["cluster"] == "Cluster 2").sum())

    # A new session restores the clustered workspace from disk by the URL's id.
    page.goto(f"{app_server['url']}/export?ws={ws.id}")
    page.get_by_text("Model for scoring new users").wait_for(timeout=90_000)
    assert metric(page, "Rows to export") == "5,000"
    filter_box = page.get_by_test_id("stMultiSelect").filter(has_text="Only these personas")
    filter_box.click()
    page.keyboard.type("Window shoppers")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_test_id("stMetric").filter(has_text="Rows to export").get_by_text(
        f"{expected:,}", exact=True).wait_for()
    shoot(page, "20_export")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv_path = tmp_path / "segments.csv"
    download.value.save_as(csv_path)
    exported = pd.read_csv(csv_path, dtype={"user_id": str})
    assert len(exported) == expected
    assert list(exported.columns[:4]) == ["user_id", "cluster", "persona", "all_segments"]
    assert (exported["cluster"] == "Cluster 2").all()
    assert (exported["persona"] == "'" + PERSONA).all()  # neutralised for spreadsheets
    assert set(exported["user_id"]) == set(ws.clusters.index[ws.clusters["cluster"]
                                                             == "Cluster 2"])

    with page.expect_download() as download:
        page.get_by_role("button", name="Download model").click()
    model_path = tmp_path / "model.json"
    download.value.save_as(model_path)
    assert f'"Cluster 2": "{PERSONA}"' in model_path.read_text()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download workspace .zip").click()
    zip_path = tmp_path / "workspace.zip"
    download.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        assert {"manifest.json", "workspace.json", "features.parquet",
                "clusters.parquet"} <= set(zf.namelist())

    # Something that is not a workspace zip is refused with a message.
    fake = tmp_path / "not-a-workspace.zip"
    fake.write_text("user_id,cluster\n1,Cluster 1\n")
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.set_input_files(str(fake))
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("The file is not a zip archive").wait_for()
    assert workspace_id(page) == ws.id

    # The real export comes back as a new workspace with the same users. A fresh page
    # first, so Import stays disabled until the upload has finished.
    page.reload()
    page.get_by_text("Model for scoring new users").wait_for(timeout=90_000)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(zip_path))
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"Imported .* as workspace")).wait_for(timeout=60_000)
    page.wait_for_url(re.compile(r"ws=(?!" + ws.id + r")[0-9a-f]{12}"))
    new_id = workspace_id(page)
    assert new_id != ws.id
    assert metric(page, "Rows to export") == "5,000"
    shoot(page, "21_export_imported")
    folder = max((app_server["home"] / "workspaces" / new_id).glob("rev-*"))
    assert set(pd.read_parquet(folder / "features.parquet").index) == set(ws.features.index)
    assert pd.read_parquet(folder / "clusters.parquet")["cluster"].equals(
        ws.clusters["cluster"])
