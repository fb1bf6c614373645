"""A download arrives when clicked right after a setting changes (the page still
rerunning), many times, and after bursts of changes that interrupt one run after
another: each click gives a whole file (see ui.downloads)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.browser.conftest import no_bug
from tests.browser.test_load_to_features import _nav, _wait_idle

pytestmark = pytest.mark.browser
CLICKS = 8


def _download(page, name: str):
    with page.expect_download(timeout=20_000) as info:
        page.get_by_role("button", name=name).first.click()
    return info.value


def test_downloads_right_after_setting_changes(app_server, page, tmp_path):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)
    _nav(page, "Features")
    expected = None
    log_toggle = page.get_by_text("Log count axis")
    method = page.get_by_test_id("stRadio").filter(has_text="Method")
    for n in range(CLICKS):
        (log_toggle if n % 2 else method.get_by_text(
            "pearson" if n % 4 == 0 else "spearman")).click()
        path = tmp_path / f"features_{n}.csv"
        _download(page, "Download CSV").save_as(path)
        table = pd.read_csv(path, index_col=0)
        expected = len(table) if expected is None else expected
        assert len(table) == expected > 0, n
    # Bursts: three changes within milliseconds interrupt run after run before the click.
    for n in range(CLICKS // 2):
        for _ in range(3):
            log_toggle.click(delay=0, no_wait_after=True)
        path = tmp_path / f"features_burst_{n}.csv"
        _download(page, "Download CSV").save_as(path)
        assert len(pd.read_csv(path, index_col=0)) == expected, n
    _wait_idle(page)
    no_bug(page)

    _nav(page, "Export")
    personas = page.get_by_test_id("stMultiSelect").filter(has_text="Features to include")
    for n in range(CLICKS // 2):
        personas.click()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        path = tmp_path / f"segments_{n}.csv"
        _download(page, "Download CSV").save_as(path)
        assert len(pd.read_csv(path)) == expected, n
    _wait_idle(page)
    no_bug(page)
