"""Rule evaluation: conditions, priority and caps, hold-outs, conflicts, explanations.

Expected values are worked out by hand from the small tables below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.rules import (
    Action,
    Rule,
    RuleSet,
    ServeSettings,
    build_context,
    condition_mask,
    evaluation_table,
    explain_user,
    holdout_hash,
    holdout_table,
    simulate,
)
from core.rules.evaluation import ranked, serve
from core.rules.grammar import parse_rule
from core.rules.holdout import holdout_values
from core.rules.model import Comparison

USERS = ["u1", "u2", "u3", "u4", "u5", "u6"]


def _context():
    features = pd.DataFrame({
        "sessions": [10, 2, 7, np.nan, 1, 5],
        "days_since_last_event": [0.5, 3.0, 5.0, 9.0, 0.1, 2.5],
        "rfm_segment": ["Champions", "At risk", None, "At risk", "Champions", "Hibernating"],
    }, index=pd.Index(USERS, name="user_id"))
    persona = pd.Series({"u1": "Loyal", "u2": "Churn risk", "u3": "Churn risk",
                         "u4": "Churn risk", "u5": "New"})  # u6 was not clustered
    return build_context(features, persona=persona,
                         segments={"VIP": pd.Index(["u1", "u3"])})


def _rule(rule_id: str, text: str) -> Rule:
    parsed = parse_rule(text)
    return Rule(rule_id, rule_id.upper(), parsed.condition, parsed.action)


def _mask(text: str) -> list[str]:
    context = _context()
    mask = condition_mask(parse_rule(text + " -> show x").condition, context)
    return list(context.users[mask])


@pytest.mark.parametrize("text,expected", [
    ("sessions > 5", ["u1", "u3"]),
    # Missing values never match, not even with != or not.
    ("sessions != 2", ["u1", "u3", "u5", "u6"]),
    ("sessions <= 2 or days_since_last_event >= 9", ["u2", "u4", "u5"]),
    ("not sessions > 5", ["u2", "u4", "u5", "u6"]),
    ('persona = "Churn risk"', ["u2", "u3", "u4"]),
    ('persona != "Churn risk"', ["u1", "u5"]),  # u6 has no persona
    ('segment = "VIP"', ["u1", "u3"]),
    ('segment != "VIP"', ["u2", "u4", "u5", "u6"]),
    ('rfm_segment = "At risk"', ["u2", "u4"]),
    ('rfm_segment != "At risk"', ["u1", "u5", "u6"]),
    # A comparison on a missing value is false, so its negation is true (u4).
    ('persona = "Churn risk" and not (sessions < 3 or segment = "VIP")', ["u4"]),
    ('persona = "Churn risk" and not (sessions < 3 and segment = "VIP")',
     ["u2", "u3", "u4"]),
])
def test_conditions(text, expected):
    assert _mask(text) == expected


def test_conditions_on_missing_things_say_what_to_do():
    context = _context()
    with pytest.raises(ConfigError, match="does not have"):
        condition_mask(Comparison("revenue", ">", 1.0), context)
    with pytest.raises(ConfigError, match="does not exist"):
        condition_mask(Comparison("segment", "=", "Nope"), context)
    with pytest.raises(ConfigError, match="not clustered yet"):
        condition_mask(Comparison("persona", "=", "Loyal"),
                       build_context(context.values))
    with pytest.raises(ConfigError, match="holds text"):
        condition_mask(Comparison("rfm_segment", ">", "A"), context)


# --------------------------------------------------------------------------- priority, caps
def test_serving_order_is_priority_then_list_order():
    rules = [_rule("b", "sessions > 0 -> show push priority 5"),
             _rule("a", "sessions > 0 -> show push priority 10"),
             _rule("c", "sessions > 0 -> show push priority 5")]
    assert [r.id for r in ranked(rules)] == ["a", "b", "c"]


def test_caps_share_the_requests_as_documented():
    # Two sessions of five requests. A (cap 1/session) takes the first request of each
    # session; B (3/session) the next three; C (1/day) the fifth request of the first
    # session only; the fifth of the second session stays empty.
    a = Action("x", cap=1, cap_unit="session")
    b = Action("y", cap=3, cap_unit="session")
    c = Action("z", cap=1, cap_unit="day")
    settings = ServeSettings(sessions_per_day=2, requests_per_session=5)
    assert serve([a, b, c], settings) == [2, 6, 1]
    assert serve([b, c], settings) == [6, 1]
    assert serve([c, b], settings) == [1, 6]
    # A per-day cap holds across sessions; a per-session cap restarts.
    day = Action("d", cap=4, cap_unit="day")
    assert serve([day], ServeSettings(3, 3)) == [4]
    assert serve([Action("s", cap=2)], ServeSettings(3, 3)) == [6]


def _conflict_set(**settings) -> RuleSet:
    return RuleSet([
        _rule("welcome", 'persona = "New" or sessions > 5 -> show welcome_module '
                         "in slot hero priority 10 cap 1/session"),
        _rule("loyal", "sessions > 6 -> show loyalty_offer in slot hero priority 5 "
                       "cap 3/session"),
        _rule("same", "sessions > 6 -> show push in slot hero priority 5 cap 1/day"),
        _rule("churn", 'persona = "Churn risk" -> show reengage_modal in slot modal '
                       "priority 1"),
    ], ServeSettings(**settings))


def test_priority_and_caps_resolve_conflicts():
    sim = simulate(_conflict_set(sessions_per_day=2, requests_per_session=5), _context())
    # u1 (10 sessions) and u3 (7) match welcome, loyal and same in the hero slot.
    assert sim.winner.loc["u1", "hero"] == "welcome"
    assert sim.impressions.loc["u1", ["welcome", "loyal", "same"]].tolist() == [2, 6, 1]
    assert sim.winner.loc["u5", "hero"] == "welcome"  # persona New, alone in the slot
    assert sim.impressions.loc["u5", "welcome"] == 2
    assert sim.winner.loc["u2", "hero"] == ""
    assert sim.winner.loc["u2", "modal"] == "churn"
    table = sim.conflicts.set_index(["winner", "loser"])
    assert table.loc[("welcome", "loyal"), "resolved_by"] == "priority 10 > 5"
    assert table.loc[("welcome", "same"), "users"] == 2
    assert table.loc[("welcome", "same"), "loser_still_shown"] == 2
    assert sim.conflicted_users() == 2
    assert list(sim.conflicts["slot"].unique()) == ["hero"]


def test_a_winner_without_a_cap_to_spare_leaves_the_others_nothing():
    rules = _conflict_set(sessions_per_day=1, requests_per_session=1)
    sim = simulate(rules, _context())
    assert sim.impressions.loc["u1", ["welcome", "loyal", "same"]].tolist() == [1, 0, 0]
    assert sim.conflicts.set_index(["winner", "loser"]).loc[
        ("welcome", "loyal"), "loser_still_shown"] == 0
    verdicts = {v.rule_id: v for v in explain_user(rules, _context(), "u1").verdicts}
    assert verdicts["welcome"].outcome == "wins"
    assert verdicts["loyal"].outcome == "lost on priority"
    assert "priority 10 > 5" in verdicts["loyal"].reason


def test_reach_overlap_and_unreached():
    sim = simulate(_conflict_set(), _context())
    reach = sim.reach.set_index("rule_id")
    assert reach.loc["welcome", "users"] == 3  # u1, u3, u5
    assert reach.loc["welcome", "share"] == pytest.approx(3 / 6)
    assert reach.loc["churn", "users"] == 3
    assert reach.loc["loyal", "wins"] == 0
    assert sim.overlap.loc["welcome", "loyal"] == 2
    assert sim.overlap.loc["churn", "welcome"] == 1  # u3
    assert list(sim.unreached) == ["u6"]
    assert sim.reached_share == pytest.approx(5 / 6)


def test_disabled_rules_are_not_evaluated():
    rules = _conflict_set()
    welcome = rules.get("welcome")
    rules = rules.upsert(Rule(welcome.id, welcome.name, welcome.condition, welcome.action,
                              enabled=False))
    sim = simulate(rules, _context())
    assert "welcome" not in sim.matched.columns
    assert sim.winner.loc["u1", "hero"] == "loyal"


# --------------------------------------------------------------------------- hold-outs
def test_holdout_draws_are_stable_and_match_the_scalar_definition():
    ids = [f"user{i}" for i in range(500)]
    first = holdout_table([_rule("r", "sessions > 1 -> show push holdout 20%")], ids)
    second = holdout_table([_rule("r", "sessions > 1 -> show push holdout 20%")], ids)
    pd.testing.assert_frame_equal(first, second)
    assert first["draw"].tolist()[:5] == [holdout_hash(u, "r") for u in ids[:5]]
    # A different rule id draws independently.
    other = holdout_table([_rule("r2", "sessions > 1 -> show push holdout 20%")], ids)
    assert (other["group"] != first["group"]).any()

def test_holdout_draw_follows_the_published_recipe():
    # The recipe serving systems can reproduce: blake2b-64 (little endian) of the user id
    # XOR that of the rule id, SplitMix64's finaliser, top 53 bits over 2**53.
    import hashlib

    def b64(text):
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")

    z = b64("u1") ^ b64("churn")
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    z ^= z >> 31
    assert holdout_hash("u1", "churn") == (z >> 11) / 2**53


@pytest.mark.parametrize("share", [1.0, 10.0, 33.3])
def test_holdout_share_is_close_to_the_request_on_100k_users(share):
    ids = pd.Index([f"{i:06d}" for i in range(100_000)])
    table = holdout_table([_rule("offer", f"sessions > 1 -> show push holdout {share}%")], ids)
    held = (table["group"] == "holdout").mean()
    assert abs(held - share / 100) < 0.01
    draws = table["draw"].to_numpy()
    assert draws.min() >= 0 and draws.max() < 1
    # Uniform: each decile holds about a tenth.
    counts = np.histogram(draws, bins=10, range=(0, 1))[0] / len(draws)
    assert np.all(np.abs(counts - 0.1) < 0.01)


def test_vectorised_and_scalar_draws_agree():
    from core.rules.holdout import blake64

    ids = ["a", "b", "ü-ñ", "12345678901234567890"]
    hashes = np.array([blake64(u) for u in ids], dtype=np.uint64)
    assert holdout_values(hashes, "rule_x").tolist() == [holdout_hash(u, "rule_x")
                                                         for u in ids]


def test_held_out_users_fall_through_to_the_next_rule():
    context = _context()
    rules = RuleSet([
        _rule("top", "sessions >= 1 -> show push in slot s priority 9 holdout 50%"),
        _rule("next", "sessions >= 1 -> show email in slot s priority 1"),
    ])
    sim = simulate(rules, context)
    held = sim.held_out["top"]
    assert held.any() and (~held & sim.matched["top"]).any()  # both groups present
    for user in context.users[sim.matched["top"]]:
        expected = "next" if held[user] else "top"
        assert sim.winner.loc[user, "s"] == expected
        assert held[user] == (holdout_hash(user, "top") < 0.5)
    table = evaluation_table(sim, context).set_index("user_id")
    some_held = held[held].index[0]
    assert table.loc[some_held, "holdout"]
    assert table.loc[some_held, "holdout_rules"] == "top"
    assert table.loc[some_held, "action"] == "email"
    verdicts = {v.rule_id: v for v in explain_user(rules, context, some_held).verdicts}
    assert verdicts["top"].outcome == "held out"
    assert verdicts["next"].outcome == "wins"


# --------------------------------------------------------------------------- explanations
def test_why_am_i_seeing_this():
    context = _context()
    explanation = explain_user(_conflict_set(), context, "u3")
    assert explanation.winners == {"hero": "welcome", "modal": "churn"}
    verdicts = {v.rule_id: v for v in explanation.verdicts}
    assert verdicts["welcome"].outcome == "wins"
    assert verdicts["loyal"].outcome == "shown after caps"
    assert "priority 10 > 5" in verdicts["loyal"].reason
    assert verdicts["same"].outcome == "shown after caps"
    rows = verdicts["welcome"].conditions
    assert [(r.depth, r.text, r.value, r.holds) for r in rows] == [
        (0, "any of:", "", True),
        (1, 'persona = "New"', "Churn risk", False),
        (1, "sessions > 5", "7", True)]
    u2 = {v.rule_id: v for v in explain_user(_conflict_set(), context, "u2").verdicts}
    assert u2["welcome"].outcome == "not matched"
    assert 'persona = "New" (value Churn risk)' in u2["welcome"].reason
    assert "sessions > 5 (value 2)" in u2["welcome"].reason


def test_explaining_an_unknown_user_says_so():
    with pytest.raises(ConfigError, match="'nobody' is not in the data"):
        explain_user(_conflict_set(), _context(), "nobody")


def test_evaluation_table_is_one_row_per_reached_user_and_slot():
    context = _context()
    sim = simulate(_conflict_set(), context)
    table = evaluation_table(sim, context)
    assert list(table.columns) == ["user_id", "slot", "action", "winning_rule", "rule_name",
                                   "impressions_per_day", "holdout", "holdout_rules",
                                   "explanation"]
    assert sorted(zip(table["user_id"], table["slot"], strict=True)) == [
        ("u1", "hero"), ("u2", "modal"), ("u3", "hero"), ("u3", "modal"), ("u4", "modal"),
        ("u5", "hero")]
    row = table[(table["user_id"] == "u3") & (table["slot"] == "hero")].iloc[0]
    assert row["action"] == "welcome_module" and row["winning_rule"] == "welcome"
    assert row["explanation"] == 'persona = "New" [Churn risk]; sessions > 5 [7]'
    assert not table["holdout"].any()


# --------------------------------------------------------------------------- form
def test_form_rows_build_the_same_condition_as_the_text():
    from core.rules import COUNT_CHOICE, condition_from_rows

    rows = [{"what": "persona", "op": "=", "value": "Churn risk"},
            {"what": None, "op": ">", "value": ""},  # a blank row is skipped
            {"what": COUNT_CHOICE, "event": "add_to_cart", "window": "48h", "op": ">=",
             "value": "2"},
            {"what": "rfm_segment", "op": "!=", "value": '"Champions"'}]
    condition = condition_from_rows(rows, "or", negate=True)
    text = ('not (persona = "Churn risk" or count(add_to_cart, 48h) >= 2 or '
            'rfm_segment != "Champions") -> show x')
    assert condition == parse_rule(text).condition


@pytest.mark.parametrize("rows,message", [
    ([], "at least one condition"),
    ([{"what": "sessions", "op": ">", "value": None}], "incomplete"),
    ([{"what": "sessions", "op": "~", "value": "1"}], "operator must be one of"),
    ([{"what": "count of an event", "op": ">", "value": "1"}], "choose the event"),
    ([{"what": "count of an event", "event": "x", "window": "7 days", "op": ">",
       "value": "1"}], "not a window"),
])
def test_incomplete_form_rows_say_what_is_missing(rows, message):
    from core.rules import condition_from_rows

    with pytest.raises(ConfigError, match=message):
        condition_from_rows(rows)


def test_recommended_items_fill_only_the_rows_that_show_them():
    import pandas as pd

    from core.rules import with_items

    table = pd.DataFrame({"user_id": ["a", "b", "c"],
                          "action": ["recommendation_carousel", "reengage_modal",
                                     "recommendation_carousel"]})
    items = pd.Series({"a": "p1; p2", "b": "p3"})
    out = with_items(table, items)
    assert out["items"].tolist() == ["p1; p2", "", ""]
