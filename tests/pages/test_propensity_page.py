"""The Propensity page under AppTest: the label balance before fitting, the evaluation
with the baseline and named conventions, per persona after clustering, saving scores
into the feature table, a user's reasons, and a horizon past the data's end refused in
place with the rest of the page standing."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.predict import label_users
from tests.pages.apptest import APP, TIMEOUT, cluster_sample, no_errors, plotly_figures


def _page(cluster: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if cluster:
        cluster_sample(at, k=4)
    at.switch_page("pages/propensity.py").run()
    return at


def test_fit_save_and_explain(home):
    at = _page(cluster=True)
    no_errors(at)
    ws = at.session_state["workspace"]
    metrics = {m.label: m for m in at.metric}
    test_label = next(k for k in metrics if k.startswith("Test at "))
    cutoff = pd.Timestamp(test_label.removeprefix("Test at "), tz="UTC")
    from core.workspace.predict import default_spec

    spec = default_spec(ws, "churn")
    labels = label_users(ws.events, spec, cutoff)
    assert metrics[test_label].value == f"{len(labels):,} users"
    assert f"{labels.mean():.1%} churned" in metrics[test_label].delta

    at.button(key="propensity.run").click().run()
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["Recency alone (baseline)", "Logistic regression",
                                    "Gradient boosting"]
    captions = " ".join(c.value for c in at.caption)
    assert "average precision" in captions and "percentile bootstrap" in captions
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert any(t.startswith("ROC curve") for t in titles)
    assert any(t.startswith("Observed churned and mean score per persona") for t in titles)

    at.button(key="propensity.save").click().run()
    no_errors(at)
    ws = at.session_state["workspace"]
    assert {"churn_risk", "churn_risk_band"} <= set(ws.features.columns)
    assert set(ws.features["churn_risk_band"]) <= {"high", "medium", "low", "lapsed"}
    assert "churn_risk" in ws.feature_info.definitions
    top = ws.features["churn_risk"].idxmax()
    at.selectbox(key="propensity.churn.user").set_value(top).run()
    no_errors(at)
    reasons = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert len(reasons) >= 1 and any("churn risk" in r for r in reasons)


def test_horizon_past_the_end_is_refused_in_place(home):
    at = _page()
    last = at.session_state["workspace"].events["ts"].max()
    at.date_input(key="propensity.churn.cutoff").set_value(last.date()).run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "past the data's last event" in errors[0]
    assert at.button(key="propensity.run").disabled
    assert at.title[0].value == "Propensity"
    # Conversion counts the workspace's purchase events by default.
    at.segmented_control(key="propensity.target").set_value("conversion").run()
    no_errors(at)
    assert at.multiselect(key="propensity.conversion.events").value == ["purchase"]
    assert any("converted" in (m.delta or "") for m in at.metric)
