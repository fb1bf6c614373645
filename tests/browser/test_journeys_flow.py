"""The Journeys pages in the browser after clustering: Funnels split by persona, Paths with
its Sankey and the caption that its columns add up; at 1440 and 1024 pixels nothing is cut
off, and screenshots are saved for a person to look at."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle
from tests.browser.test_widths import CUT_OFF, _cluster

pytestmark = pytest.mark.browser
WIDTHS = (1440, 1024)


def _at_widths(page, name: str) -> dict[int, list[str]]:
    """Screenshots of the page at each width; what is cut off at each."""
    cut = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(500)
        _wait_idle(page)
        no_bug(page)
        shoot(page, f"{name}_{width}")
        found = page.evaluate(CUT_OFF)
        if found:
            cut[width] = found
    page.set_viewport_size({"width": WIDTHS[0], "height": 1000})
    return cut


def test_funnels_and_paths_after_clustering(app_server, page):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)
    _cluster(page)

    _nav(page, "Funnels")
    page.get_by_text("Conversion differs between personas").wait_for(timeout=60_000)
    entered = page.get_by_test_id("stMetric").filter(has_text="Entered the funnel")
    assert re.search(r"\d{1,3}(,\d{3})+", entered.inner_text())
    page.locator(".js-plotly-plot").first.wait_for()
    funnels_cut = _at_widths(page, "100_funnels")

    _nav(page, "Paths")
    caption = page.get_by_text(re.compile(r"Every column sums to the [\d,]+ users who did"))
    caption.wait_for(timeout=60_000)
    assert "product_view" in caption.inner_text()
    page.locator(".js-plotly-plot .sankey-node").first.wait_for()
    assert page.locator(".js-plotly-plot .sankey-node").count() > 10
    paths_cut = _at_widths(page, "101_paths")

    assert funnels_cut.get(1024, []) == [] and paths_cut.get(1024, []) == [], \
        (funnels_cut, paths_cut)
