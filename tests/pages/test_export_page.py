"""The Export page under AppTest: segment export counts, persona filter, model and SQL,
and an empty workspace that can still import."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.personas.state import PersonaState
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.workspace import actions
from tests.pages.apptest import APP, TIMEOUT
from tests.pages.apptest import no_errors as _no_errors


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_export_page_counts_filters_and_shows_the_model(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    ws = at.session_state["workspace"]
    at.switch_page("pages/export.py").run()
    _no_errors(at)
    assert _metrics(at)["Rows to export"] == "5,000"
    assert any("Cluster the users first" in i.value for i in at.info)

    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                          ClusterConfig(k=4))
    ws.personas = PersonaState(names={"Cluster 2": "Window shoppers"})
    ws.save()
    at.run()
    _no_errors(at)
    assert at.multiselect(key="share.personas").options == [
        "Cluster 1", "Cluster 3", "Cluster 4", "Window shoppers"]
    at.multiselect(key="share.personas").set_value(["Window shoppers"]).run()
    _no_errors(at)
    expected = int((ws.clusters["cluster"] == "Cluster 2").sum())
    assert _metrics(at)["Rows to export"] == f"{expected:,}"
    before = int(_metrics(at)["Columns"])
    at.multiselect(key="share.features").set_value(["revenue", "sessions"]).run()
    assert int(_metrics(at)["Columns"]) == before + 2
    assert any("persona names of 1 of them" in m.value for m in at.markdown)
    sql = [c.value for c in at.code if "WITH raw AS" in c.value]
    assert sql and "'Window shoppers'" in sql[0] and "written for DuckDB." in sql[0]
    at.selectbox(key="share.sql_dialect").set_value("spark").run()
    _no_errors(at)
    sql = [c.value for c in at.code if "WITH raw AS" in c.value]
    assert "written for Spark SQL (Databricks)." in sql[0] and "`user_id`" in sql[0]


def test_export_page_in_an_empty_workspace(home, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_AUTOLOAD", "0")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/export.py").run()
    _no_errors(at)
    assert any("no feature table" in i.value.lower() for i in at.info)
    assert at.button(key="share.import").disabled
