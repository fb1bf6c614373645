"""The Clustering page under AppTest: fits kept as runs and compared, results marked out
of date when the settings change, per-cluster stability, and the persona history
recorded by re-clustering without opening the Personas page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.apptest import APP, TIMEOUT, no_errors, plotly_array, plotly_figures, shown

PAGE = "pages/clustering.py"


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


@pytest.fixture
def page(home):
    at = _app().run()
    at.switch_page(PAGE).run()
    no_errors(at)
    return at


def _fit(at: AppTest, k: int) -> None:
    at.number_input(key="cluster.k").set_value(k).run()
    at.button(key="cluster.fit").click().run()
    no_errors(at)


def _runs_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Settings" in d.value.columns)


def _warnings(at: AppTest) -> list[str]:
    return [shown(w.value) for w in at.warning if "These results are from" in w.value]


def test_two_fits_with_different_k_make_two_runs_with_their_agreement(page):
    at = page
    _fit(at, 5)
    _fit(at, 3)
    ws = at.session_state["workspace"]
    assert [(r.name, r.k) for r in ws.runs] == [("Run 1", 5), ("Run 2", 3)]
    table = _runs_table(at).set_index("Run")
    assert list(table.index) == ["Run 2 (shown)", "Run 1"]  # newest first
    assert table.loc["Run 1", "Clusters"] == 5 and table.loc["Run 2 (shown)", "Clusters"] == 3
    agreement = table.loc["Run 1", "Agreement with shown run"]
    assert 0 < agreement < 1
    assert table.loc["Run 2 (shown)", "Agreement with shown run"] == 1
    assert table["Silhouette"].notna().all() and table["Davies-Bouldin"].notna().all()
    assert at.multiselect(key="cluster.compare_runs").value == ["Run 1", "Run 2"]
    figures = {f["layout"]["title"]["text"]: f for f in plotly_figures(at)}
    heatmap = figures["Agreement between runs (ARI)"]
    assert heatmap["data"][0]["text"][0][1] == f"{agreement:.2f}"
    sizes = figures["Cluster sizes by run (users)"]
    assert {t["name"] for t in sizes["data"]} == {f"Cluster {i}" for i in range(1, 6)}
    assert not _warnings(at)


def test_changing_a_setting_marks_the_results_out_of_date(page):
    at = page
    _fit(at, 4)
    assert not _warnings(at)
    at.number_input(key="cluster.seed").set_value(42).run()
    no_errors(at)
    warnings = _warnings(at)
    assert len(warnings) == 1
    assert "K-Means, k = 4, seed 0" in warnings[0] and "seed: 0 → 42" in warnings[0]
    assert "press **Cluster** to update" in warnings[0]
    faded = [f for f in plotly_figures(at) if "out of date" in f["layout"]["title"]["text"]]
    assert {f["layout"]["title"]["text"].split(" <span")[0] for f in faded} >= {"Cluster sizes"}
    assert all(t.get("opacity") == 0.4 for f in faded for t in f["data"])
    assert any("Faded: results of" in c.value for c in at.caption)
    # Back to the fitted settings: the charts are drawn plain again (the faded ones are
    # kept apart from them, not faded in place).
    at.number_input(key="cluster.seed").set_value(0).run()
    assert not _warnings(at)
    assert not [f for f in plotly_figures(at) if "out of date" in f["layout"]["title"]["text"]
                or any(t.get("opacity") == 0.4 for t in f["data"])]
    at.number_input(key="cluster.seed").set_value(42).run()
    at.button(key="cluster.fit").click().run()
    no_errors(at)
    assert not _warnings(at)
    # Taking the settings of an earlier run back marks the results out of date again.
    at.selectbox(key="cluster.restore_run").set_value("Run 1").run()
    at.button(key="cluster.use_run").click().run()
    no_errors(at)
    assert at.number_input(key="cluster.seed").value == 0
    assert any("seed: 42 → 0" in w for w in _warnings(at))


def test_stability_is_shown_per_cluster(page):
    at = page
    _fit(at, 4)
    at.number_input(key="cluster.runs").set_value(3).run()
    at.button(key="cluster.stability").click().run()
    no_errors(at)
    ws = at.session_state["workspace"]
    per_cluster = ws.runs[-1].cluster_stability
    assert set(per_cluster) == {f"Cluster {i}" for i in range(1, 5)}
    table = next(d.value for d in at.dataframe if "Mean Jaccard" in d.value.columns)
    assert table["Mean Jaccard"].tolist() == pytest.approx(
        [per_cluster[c] for c in table["Cluster"]])
    assert set(table["Reading"]) <= {"highly stable", "stable", "unstable",
                                     "a pattern, not clearly a cluster"}
    chart = next(f for f in plotly_figures(at)
                 if f["layout"]["title"]["text"].startswith("Stability per cluster"))
    assert {s["y0"] for s in chart["layout"]["shapes"]} == {0.6, 0.75, 0.85}
    assert any("fpc::clusterboot" in c.value for c in at.caption)
    # The overall number says what it compares.
    assert any("every user assigned to each refit's nearest centre" in m.value
               for m in [*at.success, *at.warning])
    runs = _runs_table(at).set_index("Run")
    assert runs.loc["Run 1 (shown)", "Stability (ARI)"] == pytest.approx(
        ws.clustering.stability.mean)


def test_reclustering_without_visiting_personas_records_the_history(page):
    at = page
    _fit(at, 5)
    _fit(at, 4)
    _fit(at, 6)
    ws = at.session_state["workspace"]
    assert [e["run"]["name"] for e in ws.personas.history] == ["Run 1", "Run 2", "Run 3"]
    at.switch_page("pages/personas.py").run()
    no_errors(at)
    history = next(d.value for d in at.dataframe if "Kept their names" in d.value.columns)
    assert history["Run"].tolist() == ["Run 3", "Run 2", "Run 1"]
    assert history["Settings"].iloc[1] == "K-Means, k = 4, seed 0"
    # The latest re-run is announced, and the before/after view compares runs 2 and 3.
    assert any("The clusters changed (Run 3)" in shown(i.value) for i in at.info)
    at.radio(key="personas.migration").set_value("rerun").run()
    no_errors(at)
    assert any(shown(m.value).startswith(f"Of {len(ws.clusters):,} users:") for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users compared"] == f"{len(ws.clusters):,}"
    stayed, moved = (int(metrics[k].replace(",", "")) for k in ("Same persona", "Moved"))
    assert stayed + moved == len(ws.clusters)
    assert stayed == ws.personas.history[-1]["stayed"]


def test_period_migration_explains_new_and_dormant_users(page):
    at = page
    _fit(at, 5)
    at.switch_page("pages/personas.py").run()
    at.button(key="personas.compare").click().run()
    no_errors(at)
    ws = at.session_state["workspace"]
    users = ws.events["user_id"].nunique()
    sentence = next(shown(m.value) for m in at.markdown if shown(m.value).startswith("Of "))
    assert sentence.startswith(f"Of {users:,} users:") and "dormant" in sentence
    metrics = {m.label: int(m.value.replace(",", "")) for m in at.metric
               if m.label in ("Users compared", "Same persona", "Moved", "New", "Dormant",
                              "Only between")}
    parts = metrics["Same persona"] + metrics["Moved"] + metrics["New"] + metrics["Dormant"] \
        + metrics.get("Only between", 0)
    assert metrics["Users compared"] == users == parts
    sankey = next(f for f in plotly_figures(at) if f["data"][0]["type"] == "sankey")
    labels = sankey["data"][0]["node"]["label"]
    assert any(label.startswith("New: no events in the first 45 days") for label in labels)
    assert any(label.startswith("Dormant: no events in the last 45 days") for label in labels)


def test_the_sweep_shows_its_table_and_says_how_it_measured(page):
    at = page
    at.slider(key="cluster.k_range").set_value((2, 4)).run()
    at.button(key="cluster.sweep").click().run()
    no_errors(at)
    sweep = at.session_state["workspace"].sweep
    chart = next(f for f in plotly_figures(at)
                 if f["layout"]["title"]["text"].startswith("Choosing k"))
    inertia = next(t for t in chart["data"] if t["name"] == "inertia")
    assert plotly_array(inertia["y"]).tolist() == pytest.approx(
        [row["inertia"] for row in sweep.table])
    caption = next(c.value for c in at.caption if c.value.startswith("Each k:"))
    assert "3 k-means++ restarts per k" in caption
    assert f"silhouette on {sweep.silhouette_sample:,} random users, the same" in caption
