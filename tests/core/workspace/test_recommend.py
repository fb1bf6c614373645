"""The Recommendations page's workspace glue: default weights from the funnel roles (only
for events the data has), settings that validate, round-trip and are saved with a
revision, recommendations for every user with the persona fallback, the evaluation
per persona, persona items and a formula-safe CSV."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.data.sample import generate_sample
from core.recommend import RecommendConfig, build_interactions, make, recommend_users
from core.recommend.reasons import phrase_book
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.workspace import actions
from core.workspace.recommend import (
    RecommendSettings,
    build_recommendations,
    default_weights,
    evaluate_workspace,
    event_items,
    item_columns,
    persona_item_tables,
    recommend_settings,
    recommendations_csv,
    save_settings,
    settings_problem,
    suggested_cutoff,
)
from core.workspace.store import Workspace

USERS, DAYS, SEED = 600, 45, 5
WEIGHTS = {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    sample = generate_sample(n_users=USERS, days=DAYS, seed=SEED)
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, USERS, DAYS, SEED)
    return ws


def _cluster(ws):
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                         ClusterConfig(k=3, random_state=0))


def test_default_weights_come_from_the_funnel_roles_for_events_the_data_has(ws):
    assert default_weights(ws) == WEIGHTS
    # Another tracker's names, through the roles; a role whose event is not in the data
    # gets no weight.
    events = ws.events.replace({"event": {"product_view": "view_item"}})
    events = events[events["event"] != "purchase"]
    ws.set_frame("events", events)
    ws.data.event_roles = {"product_view": ["view_item"], "add_to_cart": ["add_to_cart"],
                           "purchase": ["purchase"]}
    assert default_weights(ws) == {"view_item": 1.0, "add_to_cart": 3.0}
    # Without any role event: every event that names an item.
    ws.data.event_roles = {}
    assert default_weights(ws) == {"add_to_cart": 1.0, "view_item": 1.0}
    table = event_items(ws)
    assert table.loc[table["event"] == "page_view", "with_item"].item() == 0
    assert table["events"].sum() == len(events)
    assert "product_id" in item_columns(ws) and "ts" not in item_columns(ws)


def test_settings_round_trip_and_validate():
    settings = RecommendSettings(weights=WEIGHTS, method="als", n=5, k=20,
                                 cutoff="2026-06-01T12:00", min_support=3,
                                 config=RecommendConfig(factors=16))
    assert settings.cutoff == "2026-06-01"
    assert RecommendSettings.from_dict(settings.to_dict()) == settings
    assert RecommendSettings.from_dict(None) == RecommendSettings()
    for bad, words in (({"method": "svd"}, "Unknown recommendation method"),
                       ({"n": 0}, "'n' must be a whole number from 1 to 100"),
                       ({"k": 2.5}, "'k' must be a whole number"),
                       ({"weights": {"purchase": -2}}, "must be a number from 0"),
                       ({"weights": {"purchase": 0}}, "No event has a weight above 0"),
                       ({"cutoff": "soon"}, "is not a date"),
                       ({"colour": "red"}, "Unknown recommendation setting"),
                       ({"config": {"factors": 0}}, "'factors' must be"),
                       ({"weights": [1, 2]}, "mapping of event name")):
        with pytest.raises(ConfigError, match=words):
            RecommendSettings.from_dict({**settings.to_dict(), **bad})


def test_saving_keeps_the_settings_with_a_revision_and_reloads(ws):
    settings = recommend_settings(ws)
    assert settings == RecommendSettings(weights=WEIGHTS)
    before = ws.revision("recommend")
    changed = RecommendSettings(weights={**WEIGHTS, "purchase": 8.0}, method="als", n=4)
    save_settings(ws, changed)
    assert ws.recommend.settings == changed.to_dict()
    assert ws.revision("recommend") == before + 1
    assert recommend_settings(Workspace.load(ws.id)) == changed
    # Saved weights of events the data no longer has are dropped; none left: defaults.
    ws.recommend.settings = {**changed.to_dict(), "weights": {"rating": 2.0}}
    assert recommend_settings(ws).weights == WEIGHTS
    # A method that needs personas falls back before clustering.
    ws.recommend.settings = {**changed.to_dict(), "method": "persona_popularity"}
    assert recommend_settings(ws).method == "item_item"
    assert settings_problem(ws) is None
    # Settings that cannot be used (a workspace from elsewhere): the defaults, and why.
    ws.recommend.settings = {**changed.to_dict(), "method": "svd"}
    assert recommend_settings(ws) == RecommendSettings(weights=WEIGHTS)
    assert "Unknown recommendation method 'svd'" in settings_problem(ws)


def test_recommendations_for_every_user_with_the_persona_fallback(ws):
    _cluster(ws)
    settings = RecommendSettings(weights=WEIGHTS, method="item_item", n=5)
    result = build_recommendations(ws, settings)
    users = ws.events["user_id"].unique()
    assert result.table["user_id"].nunique() == len(users)
    assert len(result.table) == 5 * len(users)
    # The same as core on the same interactions and personas.
    interactions = build_interactions(ws.events, WEIGHTS)
    groups = ws.persona_labels()
    expected = recommend_users(make("item_item").fit(interactions), 5, users, groups,
                               phrase_book(interactions.events, ws.data.event_roles),
                               "item_item")
    pd.testing.assert_frame_equal(result.table, expected.table)
    cold = result.table[result.table["source"] == "cold_start"]
    assert len(cold) and cold["reason"].str.startswith("No history yet: popular in the "
                                                       "persona ").all()
    assert (cold["persona"] == cold["user_id"].map(groups)).all()


def test_evaluation_runs_every_method_per_persona(ws):
    settings = RecommendSettings(weights=WEIGHTS, k=5)
    before = evaluate_workspace(ws, settings)
    assert list(before.overall()["method"]) == ["popularity", "item_item", "als"]
    assert set(before.table["group"]) == {"All users"}
    assert before.cutoff == suggested_cutoff(ws, WEIGHTS)
    _cluster(ws)
    after = evaluate_workspace(ws, settings)
    assert "persona_popularity" in set(after.table["method"])
    personas = set(ws.persona_labels().unique())
    assert set(after.table["group"]) - {"All users"} <= personas
    chosen = evaluate_workspace(ws, RecommendSettings(weights=WEIGHTS, k=5,
                                                      cutoff="2026-06-20"))
    assert chosen.cutoff == pd.Timestamp("2026-06-20", tz="UTC")


def test_persona_items_before_and_after_clustering(ws):
    settings = RecommendSettings(weights=WEIGHTS)
    popular, distinctive = persona_item_tables(ws, settings)
    assert distinctive is None and set(popular["group"]) == {"All users"}
    _cluster(ws)
    popular, distinctive = persona_item_tables(ws, settings)
    assert set(distinctive["group"]) <= set(ws.persona_labels().unique())
    assert {"share_in_group", "share_overall", "lift"} <= set(distinctive.columns)
    assert (distinctive["users"] >= settings.min_support).all()


def test_the_csv_is_formula_safe(ws):
    events = ws.events.copy()
    events["product_id"] = events["product_id"].replace({"p0000": "=HYPERLINK(\"x\")",
                                                         "p0050": "@SUM(1)"})
    ws.set_frame("events", events)
    result = build_recommendations(ws, RecommendSettings(weights=WEIGHTS,
                                                         method="popularity", n=3))
    data = recommendations_csv(result)
    assert b"'=HYPERLINK" in data and b"'@SUM(1)" in data
    table = pd.read_csv(io.BytesIO(data), dtype={"user_id": str})
    assert list(table.columns) == [*result.table.columns, "method"]
    assert (table["method"] == "popularity").all()
    assert len(table) == len(result.table)


def test_a_workspace_without_events_says_what_to_load(ws):
    ws.set_frame("events", None)
    with pytest.raises(ConfigError, match="Recommendations need an event log"):
        recommend_settings(ws)
