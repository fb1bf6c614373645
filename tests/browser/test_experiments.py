"""Load the sample experiment, read the verdict, switch to the Bayesian view and download
the results CSV."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from core.experiments.analysis import ExperimentSpec, analyse_experiment, sample_experiment
from tests.browser.conftest import shoot

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
    # Let the metrics and the forest plot draw before the picture.
    page.get_by_test_id("stMetric").first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_timeout(1500)
    shoot(page, "20_experiments_verdict")

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
