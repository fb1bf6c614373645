"""The Experiments page under AppTest: load the sample experiment, read the verdict,
change settings by key, switch views, and find the summary in the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.experiments import ExperimentSpec, analyse_experiment, sample_experiment
from core.workspace import Workspace

TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path


def _no_errors(at: AppTest) -> None:
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == []


def _loaded() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/experiments.py").run()
    _no_errors(at)
    assert any("Load the sample experiment" in i.value for i in at.info)
    at.button(key="experiments.load_sample").click().run()
    _no_errors(at)
    return at


def test_sample_experiment_verdict_views_and_summary(home):
    at = _loaded()
    ws = at.session_state["workspace"]
    frame = ws.frame("experiment")
    # The workspace holds the default sample (5,000 users, 90 days, seed 42), so the
    # experiment is that sample's, bots excluded.
    expected = sample_experiment(5000, 90, 42)
    assert len(frame) == len(expected)
    direct = analyse_experiment(expected, ExperimentSpec(metrics=("converted", "revenue"),
                                                         pre_col="pre_period_revenue"))
    text = " ".join(m.value for m in at.markdown)
    assert direct.sentences[0] in text
    summary = Workspace.load(ws.id).experiment["summary"]
    assert summary["sentences"] == direct.sentences
    assert summary["table"][0]["metric"] == "converted"
    assert any("Holm" in c for c in summary["conventions"])
    for view in ["Bayesian", "Per persona", "Over time", "Planning"]:
        at.segmented_control(key="experiments.view").set_value(view).run()
        _no_errors(at)
    at.segmented_control(key="experiments.view").set_value("Bayesian").run()
    labels = [m.label for m in at.metric]
    assert any(label.startswith("P(treatment beats control)") for label in labels)
    at.segmented_control(key="experiments.view").set_value("Per persona").run()
    assert any("Cluster the users first" in i.value for i in at.info)


def test_settings_change_the_analysis(home):
    at = _loaded()
    at.selectbox(key="experiments.correction").set_value("none").run()
    at.selectbox(key="experiments.alternative").set_value("greater").run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    settings = ws.experiment["settings"]
    assert settings["correction"] == "none" and settings["alternative"] == "greater"
    assert "One-sided" in " ".join(ws.experiment["summary"]["conventions"])
    at.multiselect(key="experiments.col.metrics").set_value([]).run()
    assert [e.value for e in at.exception] == []
    assert any("at least one metric" in e.value for e in at.error)


def test_persona_breakdown_after_clustering(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/clustering.py").run()
    at.button(key="cluster.fit").click().run()
    at.switch_page("pages/experiments.py").run()
    at.button(key="experiments.load_sample").click().run()
    at.segmented_control(key="experiments.view").set_value("Per persona").run()
    assert [e.value for e in at.exception] == []
    table = next(d.value for d in at.dataframe if "segment" in d.value.columns)
    ws = at.session_state["workspace"]
    personas = set(ws.persona_labels())
    assert set(table["segment"]) <= personas | {"(none)"}
    assert len(set(table["segment"]) & personas) >= 2
