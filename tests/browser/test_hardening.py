"""Bad files and a hostile workspace in the browser, with every request to another host
blocked and counted: each bad file gets its message on the page, the hostile names show
as typed text (no outside image, no link), and nothing shows a traceback or asks any
host but the app's own."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from core.workspace.bundle import export_bundle
from core.workspace.store import Workspace
from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle
from tests.corpus.cases import CASES
from tests.hostile import IMAGE, LINK, fill_hostile_workspace
from ui.text import JOINER

pytestmark = pytest.mark.browser

#: Corpus files the Data page reads on upload, and the words of their message.
UPLOADS = ["empty_file", "zip_named_csv", "binary_named_csv", "old_excel_named_csv",
           "json_object_without_records"]
#: Each page and a text it shows once it has drawn everything.
PAGES = {"Data": "Load report", "Features": "Correlations", "Segments": "Add presets",
         "Clustering": "Cluster profiles", "Map": "Colour by", "Personas": "What sets",
         "Rules": "Write a rule", "Experiments": "Experiment data", "Export": "Workspace"}


def _block_other_hosts(page) -> list[str]:
    """Abort and record every request whose host is not the app's."""
    outside: list[str] = []

    def route(request_route):
        host = urlparse(request_route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or request_route.request.url.startswith(
                ("data:", "blob:")):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    page.context.route("**/*", route)
    return outside


def _no_traceback(page, where: str) -> None:
    no_bug(page)
    assert "Traceback" not in page.inner_text("body"), where


def test_bad_files_and_a_hostile_workspace(app_server, page, tmp_path, monkeypatch):
    outside = _block_other_hosts(page)
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)

    _nav(page, "Data")
    cases = {c.id: c for c in CASES}
    for case_id in UPLOADS:
        case = cases[case_id]
        folder = tmp_path / case_id
        folder.mkdir()
        path = case.write(folder)
        page.locator('input[type="file"]').set_input_files(str(path))
        message = case.err[0]
        page.get_by_text(message, exact=False).first.wait_for(timeout=60_000)
        _wait_idle(page)
        _no_traceback(page, case_id)
    shoot(page, "50_data_bad_file_corpus")

    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path / "build"))
    ws = Workspace()
    fill_hostile_workspace(ws)
    bundle = tmp_path / "hostile.zip"
    bundle.write_bytes(export_bundle(ws))

    _nav(page, "Export")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bundle))
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"Imported .* as workspace")).wait_for(timeout=90_000)
    _wait_idle(page)
    seen = []
    for title, drawn in PAGES.items():
        _nav(page, title)
        page.get_by_text(drawn).first.wait_for(timeout=120_000)
        _wait_idle(page)
        _no_traceback(page, title)
        seen.append(page.inner_text("body").replace(JOINER, ""))
        assert page.locator('a[href*="phish.example"]').count() == 0, title
        assert page.locator('img[src*="evil.example"]').count() == 0, title
        assert page.locator("img[src='x']").count() == 0, title
        if title in ("Data", "Personas"):
            shoot(page, f"51_hostile_{title.lower()}")
    assert IMAGE in seen[0] and LINK in seen[list(PAGES).index("Personas")]  # as typed
    assert outside == [], outside
