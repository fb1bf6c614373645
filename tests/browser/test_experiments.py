"""Load the sample experiment, read the verdict, switch to the Bayesian view and download
the results CSV."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from playwright.sync_api import expect

from core.experiments.analysis import ExperimentSpec, analyse_experiment, sample_experiment
from core.experiments.results import results_rows
from tests.browser.conftest import shoot
from tests.browser.test_widths import CUT_OFF

pytestmark = pytest.mark.browser


def test_sample_experiment_verdict_bayes_and_download(app_server, page):
    page.goto(app_server["url"] + "/experiments")
    page.get_by_role("heading", name="Experiments").first.wait_for(timeout=90_000)
    page.get_by_role("button", name="Load the sample experiment").click()
    page.get_by_role("heading", name="Verdict").wait_for(timeout=60_000)
    verdict = page.get_by_text(re.compile(r"treatment (raises|lowers) conversion from"))
    verdict.first.wait_for()
    sentence = verdict.first.inner_text()
    # The app's workspace holds the default sample, so its experiment is this one.
    expected = analyse_experiment(sample_experiment(5000, 90, 42),
                                  ExperimentSpec(metrics=("converted", "revenue"),
                                                 pre_col="pre_period_revenue"))
    assert expected.sentences[0] in sentence
    # The results row of each metric: its badge, the chance to beat control next to the
    # p-value, the difference drawn and the smallest detectable change.
    rows = results_rows(expected)
    page.get_by_test_id("stMetric").filter(has_text="Chance to beat control").first.wait_for()
    chance = page.get_by_test_id("stMetric").filter(has_text="Chance to beat control")
    expect(chance).to_have_count(2)  # the rows are drawn one after the other
    assert chance.first.get_by_test_id("stMetricValue").inner_text() == (
        f"{rows[0].chance_to_beat * 100:.1f} %")
    p_value = page.get_by_test_id("stMetric").filter(has_text="Holm-adjusted p").first
    assert p_value.get_by_test_id("stMetricValue").inner_text() == f"{rows[0].p_value:.3f}"
    assert page.locator(".stMarkdownBadge", has_text="Inconclusive").count() == 2
    page.get_by_text(re.compile(r"this test could detect a change of ±")).first.wait_for()
    page.get_by_text("They answer different questions.", exact=False).first.wait_for()
    page.get_by_text(re.compile(r"Sample ratio OK \(p = ")).first.wait_for()
    # Let the metrics and the plots draw before the pictures, at both widths with the
    # sidebar open; nothing in the results row may be cut off.
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 1000})
        page.locator(".js-plotly-plot").first.wait_for()
        page.wait_for_timeout(1500)
        assert page.get_by_test_id("stSidebar").is_visible()
        shoot(page, f"20_experiments_verdict_{width}")
        assert page.evaluate(CUT_OFF) == [], width
    # The settings at 1024 px: the switches wrap instead of clipping their labels.
    page.get_by_test_id("stExpander").get_by_text("Columns and settings", exact=True).click()
    page.get_by_text("Sequential p", exact=True).first.wait_for()
    page.wait_for_timeout(800)
    shoot(page, "20_experiments_settings_1024")
    assert page.evaluate(CUT_OFF) == []
    page.get_by_test_id("stExpander").get_by_text("Columns and settings", exact=True).click()
    page.set_viewport_size({"width": 1440, "height": 1000})

    page.get_by_test_id("stButtonGroup").get_by_text("Bayesian", exact=True).click()
    beats = page.get_by_test_id("stMetric").filter(has_text="P(treatment beats control)")
    beats.first.wait_for()
    value = beats.first.get_by_test_id("stMetricValue").inner_text()
    expected_p = expected.bayes["converted"].prob_beats_control[1]
    assert value == f"{expected_p * 100:.1f} %"
    page.get_by_text("posterior density").first.wait_for()
    shoot(page, "21_experiments_bayesian")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download results (CSV)").click()
    data = pd.read_csv(io.BytesIO(info.value.path().read_bytes()))
    assert list(data["metric"]) == ["converted", "revenue"]
    assert data.loc[0, "p_value"] == pytest.approx(expected.comparisons[0].p_value)
    assert data.loc[0, "relative_lift"] == pytest.approx(expected.comparisons[0].relative_lift)
    assert data.loc[1, "cuped_theta"] == pytest.approx(expected.comparisons[1].cuped_theta)


def test_per_persona_forest_plot_fits_1024_pixels(app_server, page):
    from tests.browser.test_load_to_features import _nav, _wait_idle
    from tests.browser.test_widths import _cluster

    page.set_viewport_size({"width": 1024, "height": 1000})
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)
    _cluster(page)
    _nav(page, "Experiments")
    load = page.get_by_role("button", name="Load the sample experiment")
    load.wait_for(timeout=60_000)
    if load.is_visible():
        load.click()
    page.get_by_role("heading", name="Verdict").wait_for(timeout=60_000)
    page.get_by_test_id("stButtonGroup").get_by_text("Per persona", exact=True).click()
    page.get_by_text(re.compile(r"Effect in each persona")).first.wait_for(timeout=60_000)
    # Simpson's check in words, one sentence per metric.
    said = page.get_by_text(re.compile(r"(moves? the same way as the total|Simpson's "
                                       r"paradox)"))
    assert said.count() >= 2
    page.get_by_text("Every number per persona").click()
    page.get_by_test_id("stExpanderDetails").get_by_test_id("stDataFrame").first.wait_for()
    _wait_idle(page)
    page.wait_for_timeout(1500)
    shoot(page, "22_experiments_personas_1024")
    assert page.evaluate(CUT_OFF) == []
