"""The Personas page under AppTest: without clusters, cards and edits, re-matching after a
re-run, charts and the migration views."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.personas.state import PersonaState
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig, suggest_log
from core.workspace import actions
from tests.pages.apptest import APP, TIMEOUT, plotly_figures
from tests.pages.apptest import no_errors as _no_errors
from ui.text import inert

PAGE = "pages/personas.py"


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _cluster(ws, k: int = 6, seed: int = 0) -> None:
    chosen = ws.feature_info.selected
    logs = tuple(suggest_log(ws.features, chosen)[1])
    actions.cluster_into(ws, PreprocessConfig(features=tuple(chosen), log_features=logs),
                          ClusterConfig(k=k, random_state=seed))


@pytest.fixture
def clustered(home):
    at = _app().run()
    _cluster(at.session_state["workspace"])
    at.switch_page(PAGE).run()
    return at


def test_without_clusters_the_page_points_to_clustering(home):
    at = _app().run()
    at.switch_page(PAGE).run()
    _no_errors(at)
    assert any("no clusters yet" in i.value.lower() for i in at.info)
    assert at.session_state["workspace"].personas == PersonaState()


def test_cards_show_suggested_unique_names(clustered):
    at = clustered
    _no_errors(at)
    ws = at.session_state["workspace"]
    names = ws.personas.names
    assert set(names) == set(ws.clusters["cluster"])
    assert len(set(names.values())) == len(names)
    shown = [h.value for h in at.subheader]
    for name in names.values():  # shown as typed: Markdown characters are escaped
        assert any(s.startswith(inert(name)) for s in shown)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Personas"] == str(len(names))
    assert metrics["Users"] == f"{len(ws.clusters):,}"


def test_renaming_a_persona_saves_it_and_shows_it(clustered):
    at = clustered
    at.text_input(key="personas.edit.Cluster 2.name").set_value("Weekend readers")
    at.text_area(key="personas.edit.Cluster 2.action").set_value("Send the Sunday digest.")
    at.button(key="FormSubmitter:personas.form.Cluster 2-Save").click().run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    assert ws.personas.names["Cluster 2"] == "Weekend readers"
    assert ws.personas.personas["Cluster 2"]["action"] == "Send the Sunday digest."
    assert (ws.persona_labels() == "Weekend readers").sum() == \
        (ws.clusters["cluster"] == "Cluster 2").sum()
    assert any(h.value.startswith("Weekend readers") for h in at.subheader)
    assert any("Saved persona 'Weekend readers'" in s.value for s in at.success)
    # The charts kept for the cards are drawn again with the new name.
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert "What sets Weekend readers apart" in titles
    sizes = next(f for f in plotly_figures(at)
                 if f["layout"]["title"]["text"] == "Size and revenue of each persona")
    assert "Weekend readers" in sizes["data"][0]["x"]


def test_a_duplicate_name_is_refused_with_a_message(clustered):
    at = clustered
    other = at.session_state["workspace"].personas.names["Cluster 1"]
    at.text_input(key="personas.edit.Cluster 2.name").set_value(other.upper())
    at.button(key="FormSubmitter:personas.form.Cluster 2-Save").click().run()
    assert [e.value for e in at.exception] == []
    assert any("already called" in e.value for e in at.error)
    assert at.session_state["workspace"].personas.names["Cluster 2"] != other.upper()


def test_names_follow_their_personas_after_a_re_run(clustered):
    at = clustered
    at.text_input(key="personas.edit.Cluster 3.name").set_value("Deal seekers")
    at.button(key="FormSubmitter:personas.form.Cluster 3-Save").click().run()
    ws = at.session_state["workspace"]
    members = set(ws.clusters.index[ws.clusters["cluster"] == "Cluster 3"])
    _cluster(ws, k=7, seed=11)
    at.run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    labels = ws.persona_labels()
    renamed = set(labels.index[labels == "Deal seekers"])
    # The same users (give or take a few at the borders) carry the analyst's name.
    assert len(renamed & members) >= 0.9 * len(members)
    assert any(h.value.startswith("Deal seekers") for h in at.subheader)
    new = [k for k, v in ws.personas.personas.items() if v["new"]]
    assert len(new) >= 1  # seven clusters where there were six personas
    assert any("kept their names" in i.value for i in at.info)
    assert {m.label: m.value for m in at.metric}["New since the last clustering"] == \
        str(len(new))
    assert any(":orange-badge[New]" in h.value for h in at.subheader)
    # The before/after view counts every user.
    at.radio(key="personas.migration").set_value("rerun").run()
    _no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users compared"] == f"{len(ws.clusters):,}"


def test_compare_and_distribution_widgets(clustered):
    at = clustered
    at.radio(key="personas.table").set_value("Median").run()
    _no_errors(at)
    table = next(d.value for d in at.dataframe if "Everyone" in d.value.columns)
    ws = at.session_state["workspace"]
    assert table.loc["revenue", "Everyone"] == pytest.approx(ws.features["revenue"].median())
    at.selectbox(key="personas.feature").set_value("sessions").run()
    _no_errors(at)


def test_period_migration_counts_every_user(clustered):
    at = clustered
    at.button(key="personas.compare").click().run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    metrics = {m.label: int(m.value.replace(",", "")) for m in at.metric}
    compared = metrics["Users compared"]
    between = metrics.get("Only between", 0)
    # Stayed, moved, new and dormant (and users seen only between the windows) add up.
    assert compared == sum(metrics[k] for k in ("Same persona", "Moved", "New", "Dormant")) \
        + between
    assert compared >= len(ws.clusters) - 5  # users seen in either window
    table = next(d.value for d in at.dataframe if d.value.index.name == "First 45 days")
    assert int(table.to_numpy().sum()) == compared - between


def test_a_per_user_table_gets_personas_without_event_views(home, monkeypatch):
    import numpy as np
    import pandas as pd

    monkeypatch.setenv("PERSONA_LENS_AUTOLOAD", "0")
    at = _app().run()
    ws = at.session_state["workspace"]
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"customer": [f"c{i}" for i in range(300)],
                          "orders": np.r_[rng.poisson(1, 150), rng.poisson(9, 150)],
                          "ltv": np.r_[rng.gamma(2, 10, 150), rng.gamma(9, 40, 150)]})
    actions.load_user_table_into(ws, table, "crm.csv", "customer")
    actions.cluster_into(ws, PreprocessConfig(features=("orders", "ltv")),
                          ClusterConfig(k=2, random_state=0))
    at.switch_page(PAGE).run()
    _no_errors(at)
    assert len(at.session_state["workspace"].personas.names) == 2
    assert any("needs an event log" in i.value for i in at.info)
    assert any("no revenue feature" in i.value for i in at.info)
