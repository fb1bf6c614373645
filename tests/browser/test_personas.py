"""Personas in Chromium: rename a persona, download the report and the segment CSV, and
open the downloaded report offline from disk."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig, suggest_log
from core.workspace import actions
from core.workspace.store import Workspace
from tests.browser.conftest import save_a_step, shoot

pytestmark = pytest.mark.browser
NEW_NAME = "Sunday readers & <friends>"


def _wait_idle(page) -> None:
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=90_000)


def _cluster_on_disk(home, ws_id: str, monkeypatch) -> Workspace:
    """Cluster the server's workspace with core, as the Clustering page would."""
    monkeypatch.setenv("PERSONA_LENS_HOME", str(home))
    ws = Workspace.load(ws_id)
    chosen = ws.feature_info.selected
    actions.cluster_into(ws, PreprocessConfig(
        features=tuple(chosen), log_features=tuple(suggest_log(ws.features, chosen)[1])),
        ClusterConfig(k=6))
    return ws


def test_rename_download_and_open_the_report_offline(app_server, page, browser, tmp_path,
                                                     monkeypatch):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    saved_id = save_a_step(page)  # a visit saves nothing before its first step
    page.goto(f"{app_server['url']}/personas?ws={saved_id}")
    page.get_by_role("heading", name="Personas").first.wait_for(timeout=90_000)
    page.get_by_text("There are no clusters yet").wait_for(timeout=90_000)
    ws_id = saved_id
    ws = _cluster_on_disk(app_server["home"], ws_id, monkeypatch)

    page.goto(f"{app_server['url']}/personas?ws={ws_id}")
    page.get_by_text("What sets").first.wait_for(timeout=90_000)
    _wait_idle(page)
    saved = Workspace.load(ws_id)
    suggested = saved.personas.names["Cluster 2"]
    page.get_by_role("heading", name=suggested).first.wait_for()
    # Cards follow the cluster order: the second "Edit" belongs to Cluster 2.
    editor = page.get_by_test_id("stExpander").filter(has_text="Edit this persona").nth(1)
    editor.get_by_text("Edit this persona").click()
    editor.get_by_label("Name").fill(NEW_NAME)
    _wait_idle(page)  # a run still going when Save is pressed could restart the form
    editor.get_by_role("button", name="Save").click()
    try:
        page.get_by_text(f"Saved persona '{NEW_NAME}'").wait_for(timeout=60_000)
    except Exception as exc:
        # Say what the page showed instead, so a failure can be read from the log.
        alerts = page.locator('[data-testid="stAlert"], [data-testid="stException"]')
        raise AssertionError(f"No confirmation after Save; alerts: {alerts.all_inner_texts()}; "
                             f"name field: {editor.get_by_label('Name').input_value()!r}"
                             ) from exc
    page.get_by_role("heading", name=NEW_NAME).first.wait_for()
    _wait_idle(page)
    shoot(page, "30_personas")

    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="Download persona report").click()
    report = tmp_path / "persona-report.html"
    download.value.save_as(report)
    html = report.read_text(encoding="utf-8")
    assert "Sunday readers &amp; &lt;friends&gt;" in html and NEW_NAME not in html

    # The Sankey of the first and last 45 days.
    page.get_by_role("tab", name="Migration").click()
    page.get_by_role("button", name="Compare periods").click()
    page.get_by_text("First 45 days → Last 45 days").first.wait_for(timeout=90_000)
    _wait_idle(page)
    shoot(page, "31_personas_migration")

    # The segment CSV from the Export page carries the new name.
    page.get_by_test_id("stSidebarNav").get_by_text("Export", exact=True).click()
    page.get_by_role("heading", name="Export").first.wait_for()
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="Download CSV").click()
    csv_path = tmp_path / "segments.csv"
    download.value.save_as(csv_path)
    exported = pd.read_csv(csv_path, dtype={"user_id": str})
    renamed = exported[exported["persona"] == NEW_NAME]
    assert len(renamed) == int((ws.clusters["cluster"] == "Cluster 2").sum())

    _open_offline(browser, report, expected_plots=3 + len(saved.personas.names))


def _open_offline(browser, report, expected_plots: int) -> None:
    """Open the report from disk with every network request refused; check it drew."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    requests: list[str] = []

    def refuse(route):
        requests.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://"), refuse)
    offline = context.new_page()
    errors: list[str] = []
    offline.on("pageerror", lambda exc: errors.append(str(exc)))
    offline.goto(report.as_uri())
    offline.locator(".js-plotly-plot .main-svg").nth(expected_plots - 1).wait_for(
        timeout=60_000)
    assert offline.locator(".js-plotly-plot").count() == expected_plots
    assert offline.get_by_role("heading", name=NEW_NAME).count() == 1
    assert offline.get_by_text(NEW_NAME).count() >= 2  # card title and the contents
    assert errors == [] and requests == []
    shoot(offline, "32_report_offline")
    offline.emulate_media(media="print")
    shoot(offline, "33_report_print")
    context.close()
