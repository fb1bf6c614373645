"""A pattern added as a feature: the column is the pattern feature, users without events
get 0, the definition is kept (and saved), adding again replaces, and rules can use it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.data.sample import generate_sample
from core.journeys.sequences import pattern_definition, pattern_feature
from core.rules.grammar import parse_rule
from core.workspace import actions
from core.workspace.pattern_features import add_pattern_feature
from core.workspace.rules import context_from_workspace
from core.workspace.store import Workspace

USERS = 300
PATTERN = ("product_view", "add_to_cart")


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    sample = generate_sample(n_users=USERS, days=30, seed=3)
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, USERS, 30, 3)
    return ws


def test_the_column_is_the_pattern_feature_with_its_definition(ws):
    before = ws.revision("features")
    name = add_pattern_feature(ws, PATTERN, unit="session", max_gap=2)
    assert name == "did_product_view_then_add_to_cart"
    expected = pattern_feature(ws.events, list(PATTERN), unit="session", max_gap=2)
    column = ws.features[name]
    assert column.dtype == np.int64
    pd.testing.assert_series_equal(column, expected.reindex(ws.features.index),
                                   check_names=False)
    assert 0 < column.sum() < len(column)
    assert ws.feature_info.definitions[name] == pattern_definition(PATTERN, "session", 2)
    assert ws.revision("features") == before + 1
    # Saved: a reload has the column and its definition.
    again = Workspace.load(ws.id)
    pd.testing.assert_series_equal(again.features[name], column)
    assert again.feature_info.definitions[name] == ws.feature_info.definitions[name]


def test_users_without_events_get_zero_and_adding_again_replaces(ws):
    # A user of the feature table without events (as after excluding events elsewhere).
    quiet = ws.features.iloc[[0]].rename(index={ws.features.index[0]: "no_events_user"})
    ws.set_frame("features", pd.concat([ws.features, quiet]))
    name = add_pattern_feature(ws, PATTERN, unit="user")
    assert ws.features.loc["no_events_user", name] == 0
    columns = list(ws.features.columns)
    flag_any_gap = ws.features[name].copy()
    add_pattern_feature(ws, PATTERN, unit="session", max_gap=0)
    assert list(ws.features.columns) == columns  # replaced, not added twice
    contiguous = pattern_feature(ws.events, list(PATTERN), unit="session", max_gap=0)
    np.testing.assert_array_equal(ws.features[name].drop("no_events_user").to_numpy(),
                                  contiguous.reindex(ws.features.index.drop(
                                      "no_events_user")).to_numpy())
    assert (ws.features[name] <= flag_any_gap).all()  # contiguous in a session ⊂ anywhere
    assert "directly after each other" in ws.feature_info.definitions[name]


def test_a_rule_using_the_pattern_feature_parses_and_matches_its_users(ws):
    from core.rules import condition_mask

    name = add_pattern_feature(ws, PATTERN)
    context = context_from_workspace(ws)
    assert name in context.vocabulary().numeric
    assert context.definitions[name].startswith("1 if the user did 'product_view'")
    parsed = parse_rule(f"{name} = 1 -> show loyalty_offer", context.vocabulary())
    mask = condition_mask(parsed.condition, context)
    assert int(mask.sum()) == int(ws.features[name].sum())


def test_unknown_events_and_an_empty_pattern_are_refused(ws):
    with pytest.raises(ConfigError, match="no event 'teleport'"):
        add_pattern_feature(ws, ["product_view", "teleport"])
    with pytest.raises(ConfigError, match="no events"):
        add_pattern_feature(ws, [])
    assert not [c for c in ws.features.columns if c.startswith("did_")]
