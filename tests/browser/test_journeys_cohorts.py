"""The Patterns and Retention pages in the real app, split by persona after clustering,
at 1440 and 1024 pixels: they draw their charts, nothing is cut off, and a screenshot of
each is saved for a person to look at."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle
from tests.browser.test_widths import CUT_OFF, _cluster

pytestmark = pytest.mark.browser
#: Each page, its screenshot number and how many charts it draws once split by persona.
PAGES = {"Patterns": ("102_patterns", 1), "Retention": ("103_retention", 3)}


def _open(page, title: str) -> None:
    """Go to a page; the sidebar lists the last pages under "View N more" at first."""
    link = page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True)
    more = page.get_by_test_id("stSidebarNavViewButton")
    if not link.is_visible() and more.count() and "more" in more.first.inner_text():
        more.first.click()
    _nav(page, title)


def test_patterns_and_retention_at_two_widths(app_server, page):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)
    _cluster(page)
    cut = {}
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 1000})
        for title, (shot, charts) in PAGES.items():
            _open(page, title)
            page.locator(".js-plotly-plot").nth(charts - 1).wait_for(timeout=120_000)
            _wait_idle(page)
            no_bug(page)
            assert page.get_by_test_id("stAlertContentError").count() == 0
            shoot(page, f"{shot}_{width}")
            if width == 1024:
                found = page.evaluate(CUT_OFF)
                if found:
                    cut[title] = found
    assert cut == {}, cut
