"""Every page at 1024 and 1440 pixels wide with the sidebar open: no metric, button or
label is cut off, and a screenshot of each is saved for a person to look at."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle

pytestmark = pytest.mark.browser
#: Each page and a text it shows once it has drawn everything.
PAGES = {"Home": "Next:", "Data": "Load report", "Features": "Correlations",
         "Segments": "Add presets", "Clustering": "Cluster profiles", "Map": "Colour by",
         "Personas": "What sets",
         "Rules": "Write a rule", "Experiments": "Experiment data",
         "Export": "Workspace", "Funnels": "Split by", "Paths": "Split by",
         "Patterns": "Split by", "Retention": "Split by", "Propensity": "Learn at",
         "Recommendations": "Offline evaluation"}
#: Text that the page shows cut off with an ellipsis or clipped by its box.
CUT_OFF = """() => [...document.querySelectorAll(
    '[data-testid="stMetric"] *, button, button *, [data-testid="stWidgetLabel"] *, '
    + '[data-testid="stTab"] *')]
  .filter(e => e.offsetParent !== null && e.clientWidth > 0
          && e.scrollWidth > e.clientWidth + 1
          && getComputedStyle(e).overflowX !== 'visible')
  .map(e => e.textContent.trim()).filter(t => t)"""


def _cluster(page) -> None:
    _nav(page, "Clustering")
    page.get_by_role("button", name="Cluster", exact=True).click()
    page.get_by_text("Cluster profiles").first.wait_for(timeout=120_000)
    _wait_idle(page)


@pytest.mark.parametrize("width", [1024, 1440])
def test_pages_fit_the_width(app_server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(app_server["url"])
        page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
        _wait_idle(page)
        _cluster(page)
        cut = {}
        for title, drawn in PAGES.items():
            if title == "Home":  # its heading is the product's name
                page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
            else:
                _nav(page, title)
            page.get_by_text(drawn).first.wait_for(timeout=120_000)
            _wait_idle(page)
            no_bug(page)
            shoot(page, f"60_{title.lower()}_{width}")
            found = page.evaluate(CUT_OFF)
            if found:
                cut[title] = found
        assert cut == {}, cut
    finally:
        context.close()
