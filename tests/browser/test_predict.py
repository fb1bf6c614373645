"""The Predict pages in the real app after clustering, at 1440 and 1024 pixels: fit and
test the propensity models, read the evaluation tabs, save the scores, find each
persona's share at risk on the Personas page, then the Recommendations page's
evaluation, persona items and one user's list; screenshots of each step for a person
to look at."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle
from tests.browser.test_widths import CUT_OFF, _cluster

pytestmark = pytest.mark.browser


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    _wait_idle(page)


def test_fit_save_and_see_risk_on_personas(app_server, page):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)
    _cluster(page)
    _nav(page, "Propensity")
    page.get_by_text("Learn at").first.wait_for()
    page.get_by_role("button", name="Fit and test the models").click()
    page.get_by_text("How well each model ranks the test users").wait_for(timeout=120_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)
    _wait_idle(page)
    no_bug(page)
    assert page.get_by_test_id("stAlertContentError").count() == 0
    assert page.get_by_text("Recency alone (baseline)").count() >= 1
    cut = {}
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 1000})
        _tab(page, "ROC and PR")
        shoot(page, f"110_propensity_roc_{width}")
        if found := page.evaluate(CUT_OFF):
            cut[f"roc {width}"] = found
    for tab, shot in (("Threshold", "111_propensity_threshold"),
                      ("Per persona", "112_propensity_personas"),
                      ("Explanations", "113_propensity_explanations")):
        _tab(page, tab)
        page.get_by_role("tabpanel").locator(".js-plotly-plot").first.wait_for()
        shoot(page, f"{shot}_1024")
        if found := page.evaluate(CUT_OFF):
            cut[tab] = found
    page.get_by_role("button", name="Save churn scores to the feature table").click()
    page.get_by_text("Saved: ").first.wait_for(timeout=120_000)
    _wait_idle(page)
    no_bug(page)
    shoot(page, "114_propensity_saved_1024")
    _nav(page, "Personas")
    page.get_by_text("Churn risk:").first.wait_for(timeout=60_000)
    shoot(page, "115_personas_with_risk_1024")

    _nav(page, "Recommendations")
    page.get_by_text("One user's recommendations").wait_for(timeout=120_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)
    _wait_idle(page)
    no_bug(page)
    assert page.get_by_test_id("stAlertContentError").count() == 0
    assert page.get_by_text("Popularity").count() >= 1
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 1000})
        _wait_idle(page)
        shoot(page, f"116_recommendations_{width}")
        if found := page.evaluate(CUT_OFF):
            cut[f"recommendations {width}"] = found
    assert cut == {}, cut
