"""The Paths page under AppTest: the Sankey and step matrices are core.journeys.paths' on
the same workspace (from an event, to an event, split by persona, one persona's paths),
the counts caption adds up, and choices without an answer are messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.journeys import paths
from core.workspace.journeys import journey_groups
from tests.pages.apptest import APP, TIMEOUT, cluster_sample, plotly_array, plotly_figures, shown
from tests.pages.apptest import no_errors as _no_errors


def _paths_page(cluster: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if cluster:
        cluster_sample(at, k=4)
    at.switch_page("pages/paths.py").run()
    return at


def _figure(at: AppTest, trace: str) -> dict:
    return next(f for f in plotly_figures(at) if f["data"][0]["type"] == trace)


def _figures(at: AppTest, trace: str) -> list[dict]:
    return [f for f in plotly_figures(at) if f["data"][0]["type"] == trace]


def _sankey_nodes(figure: dict) -> dict[str, int]:
    """Node -> users, summed over the columns, from each node's full text ("event<br>1,234"
    in its hover; small nodes have no label). The invisible edge node has no text."""
    totals: dict[str, int] = {}
    for text in figure["data"][0]["node"]["customdata"]:
        if not text:
            continue
        name, count = text.rsplit("<br>", 1)
        totals[name] = totals.get(name, 0) + int(count.replace(",", ""))
    return totals


def _core_nodes(result) -> dict[str, int]:
    return result.nodes.groupby("label")["users"].sum().astype(int).to_dict()


def _caption(at: AppTest, start: str) -> str:
    return next(shown(c.value) for c in at.caption if shown(c.value).startswith(start))


def test_paths_from_the_first_funnel_event_are_cores(home):
    at = _paths_page()
    _no_errors(at)
    ws = at.session_state["workspace"]
    assert at.selectbox(key="paths.start").value == "product_view"
    expected = paths(ws.events, start="product_view", steps=5, top=6)
    sankey = _figure(at, "sankey")
    assert _sankey_nodes(sankey) == _core_nodes(expected)
    # Every node of core's, and the invisible one that keeps the last labels right.
    assert len(sankey["data"][0]["node"]["label"]) == len(expected.nodes) + 1
    link = sankey["data"][0]["link"]
    visible = plotly_array(link["target"]) != len(expected.nodes)
    assert plotly_array(link["value"])[visible].sum() == expected.links["users"].sum()
    assert _caption(at, "Every column sums") == \
        f"Every column sums to the {expected.users:,} users who did product_view."
    assert expected.nodes.groupby("column")["users"].sum().eq(expected.users).all()
    assert any(f"{5000 - expected.users:,} of 5,000 users never did 'product_view'"
               in shown(c.value) for c in at.caption)
    heatmap = _figure(at, "heatmap")
    assert np.allclose(plotly_array(heatmap["data"][0]["z"]),
                       expected.step_matrix["All users"].to_numpy())
    # Without groups there is no group to show and nothing to compare.
    assert {s.key for s in at.selectbox} == {"paths.start", "paths.split"}


def test_paths_to_purchase_within_a_session(home):
    at = _paths_page()
    ws = at.session_state["workspace"]
    at.radio(key="paths.mode").set_value("end").run()
    _no_errors(at)
    assert at.selectbox(key="paths.end").value == "purchase"
    at.number_input(key="paths.steps").set_value(3)
    at.number_input(key="paths.top").set_value(4)
    at.toggle(key="paths.collapse").set_value(False)
    at.toggle(key="paths.session").set_value(True).run()
    _no_errors(at)
    expected = paths(ws.events, end="purchase", steps=3, top=4, collapse_repeats=False,
                     within_session=True)
    assert _sankey_nodes(_figure(at, "sankey")) == _core_nodes(expected)
    assert _caption(at, "Every column sums") == \
        f"Every column sums to the {expected.users:,} users who did purchase."
    assert any(shown(c.value).startswith("Paths: the 3 events before each user's first "
                                         "'purchase'; within the anchor event's session")
               for c in at.caption)


def test_split_by_persona_one_persona_and_the_difference(home):
    at = _paths_page(cluster=True)
    _no_errors(at)
    ws = at.session_state["workspace"]
    assert at.selectbox(key="paths.split").value == "persona"
    groups = journey_groups(ws, "persona")
    expected = paths(ws.events, start="product_view", groups=groups)
    # Everyone first: the same Sankey as without groups.
    assert _sankey_nodes(_figure(at, "sankey")) == _core_nodes(expected)
    persona = expected.groups[1]
    at.selectbox(key="paths.view").set_value(persona).run()
    _no_errors(at)
    # One persona's paths: its users alone, every column summing to its size.
    members = groups.index[groups == persona]
    alone = paths(ws.events[ws.events["user_id"].isin(members)], start="product_view")
    assert alone.users == expected.group_sizes[persona]
    sankey = _figure(at, "sankey")
    assert _sankey_nodes(sankey) == _core_nodes(alone)
    assert f"({alone.users:,} users)" in sankey["layout"]["title"]["text"]
    assert _caption(at, "Every column sums").startswith(
        f"Every column sums to the {alone.users:,} users who did product_view in {persona}")
    matrix, _ = _figures(at, "heatmap")
    assert np.allclose(plotly_array(matrix["data"][0]["z"]),
                       expected.step_matrix[persona].to_numpy())
    # The difference of the two chosen personas.
    a, b = expected.groups[0], expected.groups[2]
    at.selectbox(key="paths.diff_b").set_value(b).run()
    _no_errors(at)
    diff = expected.difference(a, b)
    z = plotly_array(_figures(at, "heatmap")[1]["data"][0]["z"])
    assert np.allclose(z, diff.to_numpy())
    assert any(shown(c.value).startswith(f"Red: a larger share of {a}") for c in at.caption)
    # The same persona twice is a message, not an empty chart.
    at.selectbox(key="paths.diff_b").set_value(a).run()
    _no_errors(at)
    assert any("Choose two different personas" in i.value for i in at.info)
    assert len(_figures(at, "heatmap")) == 1


def test_downloads_hold_the_shown_numbers(home):
    at = _paths_page()
    _no_errors(at)
    ws = at.session_state["workspace"]
    expected = paths(ws.events, start="product_view")
    held = at.session_state["downloads.held"]
    import io

    nodes = pd.read_csv(io.BytesIO(held["paths.csv.nodes"][0].data))
    assert list(nodes["users"]) == list(expected.nodes["users"])
    matrix = pd.read_csv(io.BytesIO(held["paths.csv.matrix"][0].data))
    assert set(matrix.columns) == {"group", "event", "step", "users", "share"}
    assert (matrix.groupby("step")["users"].sum() == expected.users).all()


def test_without_events_the_page_says_what_to_load(home, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_AUTOLOAD", "0")
    at = _paths_page()
    assert [e.value for e in at.exception] == []
    assert "Journeys need an event log" in shown(at.error[0].value)
    assert not plotly_figures(at)
