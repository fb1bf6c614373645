"""The Recommendations page under AppTest: the evaluation table and chart and one user's
recommendations show core's numbers for the same workspace, a changed setting is saved,
personas bring per-persona metrics and distinctive items, hostile names stay inert, and
unusable settings or data get a message in place, never a traceback."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from core.recommend.methods import REGISTRY
from core.workspace.recommend import (
    build_recommendations,
    evaluate_workspace,
    persona_item_tables,
    recommend_settings,
)
from tests.hostile import EVENT, PERSONA
from tests.pages.apptest import (
    APP,
    TIMEOUT,
    cluster_sample,
    no_errors,
    plotly_array,
    plotly_figures,
    shown,
)
from tests.pages.test_inert_text import _check, hostile  # noqa: F401 (a fixture)

PAGE = "pages/recommendations.py"
WEIGHTS = {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}


def _page(cluster: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if cluster:
        cluster_sample(at, k=4)
    at.switch_page(PAGE).run()
    return at


def _table(at: AppTest, column: str):
    """The value of the first dataframe with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _recommended(at: AppTest) -> list[str]:
    """The lines of the user's numbered list of recommendations, as a reader sees them."""
    text = next(m.value for m in at.markdown if m.value.startswith("1. "))
    return [shown(line) for line in text.split("\n")]


def _figure(at: AppTest, title: str) -> dict:
    return next(f for f in plotly_figures(at) if f["layout"]["title"]["text"].startswith(title))


def test_evaluation_and_one_users_recommendations_equal_core(home):
    at = _page()
    no_errors(at)
    ws = at.session_state["workspace"]
    settings = recommend_settings(ws)
    assert settings.weights == WEIGHTS
    assert at.number_input(key="recommend.weight.purchase").value == 5.0
    expected = evaluate_workspace(ws, settings)
    table = _table(at, "ndcg")
    assert list(table["method"]) == ["popularity", "item_item", "als"]
    np.testing.assert_allclose(table["recall"], expected.overall()["recall"])
    chart = _figure(at, "Offline evaluation at k = 10")
    assert [t["name"] for t in chart["data"]] == [REGISTRY[m].label for m in table["method"]]
    np.testing.assert_allclose(plotly_array(chart["data"][1]["y"]),
                               expected.overall().iloc[1][["precision", "recall", "map",
                                                           "ndcg"]].to_numpy(dtype=float))
    captions = " ".join(shown(c.value) for c in at.caption)
    assert expected.convention in captions
    assert REGISTRY["item_item"].description in captions
    assert "Cluster the users (Clustering page) to compare" in captions

    user = "u0007"
    at.selectbox(key="recommend.user").set_value(user).run()
    no_errors(at)
    lines = _recommended(at)
    recs = build_recommendations(ws, settings).for_user(user)
    assert len(lines) == 10
    for line, row in zip(lines, recs.itertuples(), strict=True):
        assert line.startswith(f"{row.rank}. `{row.item}`: {row.reason}")
    labels = [b.label for b in at.get("download_button")]
    assert "Recommendations for every user (CSV)" in labels

    # A changed method and length are saved (and shown).
    at.selectbox(key="recommend.method").set_value("als")
    at.number_input(key="recommend.n").set_value(5).run()
    no_errors(at)
    assert ws.recommend.settings["method"] == "als" and ws.recommend.settings["n"] == 5
    lines = _recommended(at)
    assert len(lines) == 5
    assert any(": Chosen by users with a taste" in line for line in lines)
    assert REGISTRY["als"].description in " ".join(shown(c.value) for c in at.caption)


def test_personas_bring_per_persona_metrics_and_distinctive_items(home):
    at = _page(cluster=True)
    no_errors(at)
    ws = at.session_state["workspace"]
    settings = recommend_settings(ws)
    table = _table(at, "ndcg")
    assert "persona_popularity" in set(table["method"])
    by_persona = _figure(at, "Recall@10 per persona")
    personas = sorted(ws.persona_labels().unique())
    assert list(by_persona["data"][0]["x"]) == ["All users", *personas]
    persona = personas[1]
    at.selectbox(key="recommend.persona").set_value(persona).run()
    no_errors(at)
    popular, distinctive = persona_item_tables(ws, settings)
    shown_items = _table(at, "lift")
    mine = distinctive[distinctive["group"] == persona]
    assert shown_items["item"].tolist() == mine["item"].tolist()
    np.testing.assert_allclose(shown_items["share_in_group"], mine["share_in_group"])
    np.testing.assert_allclose(shown_items["share_overall"], mine["share_overall"])
    assert _table(at, "share_of_users")["item"].tolist() == \
        popular.loc[popular["group"] == persona, "item"].tolist()
    at.selectbox(key="recommend.persona_metric").set_value("ndcg").run()
    assert _figure(at, "NDCG@10 per persona")


def test_hostile_names_stay_inert(hostile):  # noqa: F811
    at = hostile
    at.switch_page(PAGE).run()
    _check(at, PAGE)
    ws = at.session_state["workspace"]
    captions = " ".join(c.value for c in at.caption)
    assert EVENT not in captions and shown(captions).count(EVENT) == 1
    labels = ws.persona_labels()
    user = str(labels[labels == PERSONA].index[0])
    at.selectbox(key="recommend.persona").set_value(PERSONA)
    at.selectbox(key="recommend.user").set_value(user).run()
    _check(at, PAGE)
    assert f"Persona {PERSONA};" in shown(" ".join(c.value for c in at.caption))


def test_unusable_settings_and_data_get_a_message_in_place(home):
    at = _page()
    for name in WEIGHTS:
        at.number_input(key=f"recommend.weight.{name}").set_value(0.0)
    at.run()
    assert [e.value for e in at.exception] == []
    assert any("No event has a weight above 0" in shown(e.value) for e in at.error)
    assert plotly_figures(at) == []
    ws = at.session_state["workspace"]
    assert ws.recommend.settings == {}  # the refused settings were not saved

    # Data without an item column: said, with the choice of another column.
    events = ws.events.drop(columns="product_id")
    at.session_state["workspace"].set_frame("events", events)
    at.session_state["workspace"].changed("data")
    at.run()
    assert [e.value for e in at.exception] == []
    assert any("no item column 'product_id'" in shown(e.value) for e in at.error)
    assert any("Choose the item column" in i.value for i in at.info)

    # No event log at all.
    at.session_state["workspace"].set_frame("events", None)
    at.run()
    assert [e.value for e in at.exception] == []
    assert any("Recommendations need an event log" in shown(e.value) for e in at.error)

