"""Rules as versioned JSON (validated against the schema in the repo), the workspace's
rules, starter rules and the evaluation context built from a workspace."""

from __future__ import annotations

import copy
import json
import uuid

import jsonschema
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import ConfigError
from core.data.sample import generate_sample
from core.personas.state import PersonaState
from core.rules import (
    Action,
    Rule,
    RuleSet,
    ServeSettings,
    load_workspace_rules,
    read_rules,
    rule_set_to_json,
    rules_json_bytes,
    schema,
    simulate,
    starter_rules,
    window_counts_needed,
)
from core.rules.grammar import parse_rule
from core.rules.json_io import SCHEMA_PATH, rule_set_from_json
from core.rules.model import leaves
from core.workspace import actions
from core.workspace.rules import context_from_workspace
from core.workspace.segments import set_segment_rules
from core.workspace.store import Workspace
from tests.core.rules.test_grammar import _action, _condition


def _set() -> RuleSet:
    rules = []
    for rule_id, text in [
        ("churn", 'persona = "Churn risk" and hours_since_last_event >= 48 -> show '
                  "reengage_modal in slot modal priority 10 cap 1/day holdout 10%"),
        ("carts", "count(add_to_cart, 7d) >= 2 or not sessions < 3 -> show email"),
    ]:
        parsed = parse_rule(text)
        rules.append(Rule(rule_id, rule_id.title(), parsed.condition, parsed.action,
                          description="from a test"))
    return RuleSet(rules, ServeSettings(3, 4))


def test_export_validates_against_the_schema_and_reads_back():
    data = json.loads(rules_json_bytes(_set()))
    jsonschema.validate(data, schema())
    assert data["format"] == "persona-lens-rules" and data["version"] == 1
    assert data["exported"].endswith("Z")
    assert data["rules"][0]["text"].startswith('persona = "Churn risk" and')
    assert data["rules"][0]["action"] == {"module": "reengage_modal", "slot": "modal",
                                          "priority": 10, "cap": {"count": 1, "per": "day"},
                                          "holdout_percent": 10.0}
    back = read_rules(json.dumps(data))
    assert back.rules == _set().rules
    assert back.settings == ServeSettings(3, 4)


def test_the_schema_file_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def _broken(change) -> dict:
    data = rule_set_to_json(_set())
    change(data)
    return data


@pytest.mark.parametrize("change,where", [
    (lambda d: d.update(version=2), "$.version"),
    (lambda d: d["rules"][0].pop("action"), "$.rules[0]"),
    (lambda d: d["rules"][1]["action"].update(holdout_percent=100), "$.rules[1].action"),
    (lambda d: d["rules"][0]["action"]["cap"].update(count=0), "$.rules[0].action.cap"),
    (lambda d: d["rules"][0]["condition"].update(all=[]), "$.rules[0].condition"),
    (lambda d: d["rules"][0].update(id="has space"), "$.rules[0].id"),
    (lambda d: d["rules"][0]["condition"]["all"][0].update(op="~"),
     "$.rules[0].condition"),
    (lambda d: d.update(extra=True), "$"),
])
def test_import_refuses_documents_that_break_the_schema(change, where):
    with pytest.raises(ConfigError, match="does not follow the rules schema") as info:
        rule_set_from_json(_broken(change))
    assert f"at {where}" in str(info.value)


def test_import_refuses_repeated_ids_and_non_json():
    data = _broken(lambda d: d["rules"][1].update(id="churn"))
    with pytest.raises(ConfigError, match="repeated: churn"):
        rule_set_from_json(data)
    with pytest.raises(ConfigError, match="not JSON"):
        read_rules(b"\xff{not json")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_condition, _action), min_size=0, max_size=4))
def test_json_round_trip(pairs):
    rules = RuleSet([Rule(f"r{i}", f"Rule {i}", c, a) for i, (c, a) in enumerate(pairs)])
    data = json.loads(json.dumps(rule_set_to_json(rules)))
    jsonschema.validate(data, schema())
    assert rule_set_from_json(data).rules == rules.rules


def test_rule_set_editing():
    rules = _set()
    changed = rules.upsert(Rule("carts", "Carts", parse_rule("sessions > 1 -> show push")
                                .condition, Action("push", "push")))
    assert [r.id for r in changed.rules] == ["churn", "carts"]
    assert changed.get("carts").action.module == "push"
    assert rules.get("carts").action.module == "email"  # the original is unchanged
    assert rules.new_id("Churn") == "churn_2"
    assert [r.id for r in rules.without(["churn"]).rules] == ["carts"]
    with pytest.raises(ConfigError, match="no rule 'x'"):
        rules.get("x")
    assert load_workspace_rules({}).rules == []


# --------------------------------------------------------------------------- workspace
@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("PERSONA_LENS_HOME", str(tmp_path_factory.mktemp("home")))
    ws = Workspace()
    actions.load_sample_into(ws, generate_sample(600, 90, 3).events, 600, 90, 3)
    yield ws
    patch.undo()


def _copy(ws: Workspace) -> Workspace:
    """A copy with its own id and frames, so that tests do not change the shared one."""
    for name in ("events", "features", "clusters", "segments"):
        ws.frame(name)
    other = copy.copy(ws)
    other.id, other._frames = uuid.uuid4().hex[:12], dict(ws._frames)
    # Not saved under its new id yet: its first save writes every frame.
    other.saved_revision, other._dirty = 0, set(other._frames)
    return other


def test_context_from_a_workspace(sample_ws):
    context = context_from_workspace(sample_ws)
    assert context.users.equals(sample_ws.features.index)
    assert {"session_category_views", "hours_since_last_event",
            "days_since_last_event"} <= set(context.values.columns)
    assert context.persona is None
    assert context.now == pd.Timestamp(sample_ws.events["ts"].max()).tz_localize(None)
    assert context.events[:4] == ("product_view", "add_to_cart", "checkout", "purchase")
    vocabulary = context.vocabulary()
    assert vocabulary.personas is None and "rfm_segment" in vocabulary.text_values


def test_starters_before_and_after_clustering(sample_ws):
    from core.segment.clustering import ClusterConfig
    from core.segment.preprocess import PreprocessConfig

    context = context_from_workspace(sample_ws)
    before = starter_rules(context)
    assert [n.code for n in before.notices] == ["no_personas"]
    assert [r.action.module for r in before.rules] == [
        "recommendation_carousel", "reengage_modal", "welcome_module", "loyalty_offer"]
    ws = _copy(sample_ws)
    actions.cluster_into(ws, PreprocessConfig(features=("days_since_first_event",
                                                         "days_since_last_event",
                                                         "purchases", "engagement_score")),
                          ClusterConfig(k=4, random_state=0))
    ws.personas = PersonaState(names={"Cluster 1": "First persona"})
    context = context_from_workspace(ws, window_counts_needed(before.rules))
    after = starter_rules(context)
    personas = [leaf.value for r in after.rules for leaf in leaves(r.condition)
                if leaf.subject == "persona"]
    assert len(personas) == 4 and len(set(personas)) == 4  # each persona used once
    # The new-visitor starter targets the persona with the lowest days since first event.
    means = context.values.groupby(context.persona.to_numpy())["days_since_first_event"].mean()
    welcome = next(r for r in after.rules if r.action.module == "welcome_module")
    assert welcome.condition.value == means.idxmin()
    sim = simulate(RuleSet(after.rules), context_from_workspace(
        ws, window_counts_needed(after.rules)))
    assert sim.reach["users"].sum() > 0


def test_segments_of_the_workspace_are_conditions(sample_ws):
    from core.rules import condition_mask
    from core.rules.model import Comparison
    from core.segment.rule_segments import Condition, SegmentRule

    ws = _copy(sample_ws)
    set_segment_rules(ws, [SegmentRule("Busy", (Condition("sessions", ">", 5),))])
    ws.set_frame("segments", pd.DataFrame({"segment": ["Busy", "Picked"],
                                           "user_id": [str(ws.features.index[0])] * 2}))
    context = context_from_workspace(ws)
    assert set(context.segments) == {"Busy", "Busy (map)", "Picked"}
    busy = condition_mask(Comparison("segment", "=", "Busy"), context)
    assert busy.sum() == (ws.features["sessions"] > 5).sum()
    picked = condition_mask(Comparison("segment", "=", "Picked"), context)
    assert list(context.users[picked]) == [str(ws.features.index[0])]
