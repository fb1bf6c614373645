"""In real Chromium: cluster twice, compare the two runs, check stability per cluster,
then the persona migration explained; screenshots at 1440 and 1024 pixels."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle
from tests.browser.test_widths import CUT_OFF

pytestmark = pytest.mark.browser


def _both_widths(page, name: str) -> dict[int, list[str]]:
    """Screenshots at 1440 and 1024 px; the texts cut off at each width."""
    cut = {}
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(800)
        _wait_idle(page)
        shoot(page, f"{name}_{width}")
        found = page.evaluate(CUT_OFF)
        if found:
            cut[width] = found
    page.set_viewport_size({"width": 1440, "height": 1000})
    return cut


def _fit(page) -> None:
    page.get_by_role("button", name="Cluster", exact=True).click()
    page.get_by_text("Cluster profiles").first.wait_for(timeout=120_000)
    # Until the new fit is in, the earlier results stay on the page, marked out of date.
    page.get_by_text("the settings above have changed").first.wait_for(state="detached",
                                                                        timeout=120_000)
    _wait_idle(page)


def test_runs_stability_and_migration(app_server, page):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)
    _nav(page, "Clustering")
    _fit(page)
    k = page.get_by_label("k", exact=True)
    k.fill("4")
    k.press("Enter")
    _wait_idle(page)
    # The results of k = 6 are marked out of date, not hidden.
    page.get_by_text("the settings above have changed").first.wait_for()
    assert page.get_by_text("Cluster profiles").count() >= 1
    _fit(page)
    assert page.get_by_text("the settings above have changed").count() == 0
    page.get_by_text("Agreement between runs").first.wait_for(timeout=60_000)
    page.get_by_text("Cluster sizes by run").first.wait_for()
    page.get_by_label("Bootstrap refits").fill("5")
    page.get_by_label("Bootstrap refits").press("Enter")
    _wait_idle(page)
    page.get_by_role("button", name="Check stability").click()
    page.get_by_text("Stability per cluster").first.wait_for(timeout=120_000)
    _wait_idle(page)
    page.get_by_text("fpc::clusterboot").first.wait_for()
    no_bug(page)
    page.get_by_role("heading", name="Runs").first.scroll_into_view_if_needed()
    cut = {"clustering": _both_widths(page, "80_clustering_runs")}

    _nav(page, "Personas")
    page.get_by_role("tab", name="Migration").click()
    _wait_idle(page)
    page.get_by_text("History of the clusterings (2)").first.wait_for()
    page.get_by_role("button", name="Compare periods").click()
    page.get_by_text("First 45 days → Last 45 days").first.wait_for(timeout=90_000)
    _wait_idle(page)
    page.get_by_text("stayed in their persona").first.wait_for()
    page.get_by_text("History of the clusterings (2)").first.click()  # open it for the shot
    _wait_idle(page)
    no_bug(page)
    cut["personas"] = _both_widths(page, "81_personas_migration")
    assert cut == {"clustering": {}, "personas": {}}, cut
