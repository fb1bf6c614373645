"""Starter rules next to the analyst's rules: reach, duplicates and tiny reach flagged,
and ids that never replace an existing rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.rules import RuleSet, build_context, check_starters
from core.rules.grammar import parse_rule
from core.rules.model import Rule
from core.rules.starters import MIN_STARTER_SHARE

N_USERS = 400


def _context():
    rng = np.random.default_rng(3)
    users = pd.Index([f"u{i:03d}" for i in range(N_USERS)], name="user_id")
    features = pd.DataFrame({"sessions": rng.integers(1, 20, N_USERS),
                             "purchases": rng.integers(0, 6, N_USERS)}, index=users)
    return build_context(features)


def _rule(rule_id: str, text: str, name: str | None = None) -> Rule:
    parsed = parse_rule(text)
    return Rule(rule_id, name or rule_id, parsed.condition, parsed.action)


def test_reach_is_the_share_of_users_the_condition_matches():
    context = _context()
    starter = _rule("busy", "sessions > 10 -> show push")
    [check] = check_starters([starter], RuleSet(), context)
    expected = int((context.values["sessions"] > 10).sum())
    assert check.users == expected and check.share == expected / N_USERS
    assert check.recommended and check.problems == []


def test_a_starter_that_repeats_a_rule_is_flagged_whatever_its_name_and_priority():
    context = _context()
    mine = _rule("my_push", "sessions > 10 -> show push priority 5", "My push")
    starter = _rule("busy", "sessions > 10 -> show push priority 20", "Busy users")
    other_slot = _rule("busy_mail", "sessions > 10 -> show email")
    checks = check_starters([starter, other_slot], RuleSet([mine]), context)
    assert checks[0].duplicate_of == "My push"
    assert checks[0].problems == ["duplicates the rule 'My push'"]
    assert not checks[0].recommended
    assert checks[1].duplicate_of is None and checks[1].recommended


def test_a_starter_under_one_percent_of_users_is_flagged():
    context = _context()
    top = int(context.values["sessions"].max())
    rare = _rule("rare", f"sessions >= {top} and purchases >= 5 -> show push")
    users = int(((context.values["sessions"] >= top) & (context.values["purchases"] >= 5))
                .sum())
    assert users / N_USERS < MIN_STARTER_SHARE
    [check] = check_starters([rare], RuleSet(), context)
    assert check.users == users
    assert check.problems == [f"reaches {users / N_USERS:.1%} of users (under 1%)"]


def test_a_starter_whose_id_is_taken_gets_a_free_one_so_nothing_is_replaced():
    context = _context()
    edited = _rule("busy", "sessions > 15 -> show push", "Busy, edited")
    starter = _rule("busy", "sessions > 10 -> show push")
    [check] = check_starters([starter], RuleSet([edited]), context)
    assert check.rule.id == "busy_2" and check.duplicate_of is None
    after = RuleSet([edited]).upsert(check.rule)
    assert [r.id for r in after.rules] == ["busy", "busy_2"]
    assert after.get("busy").name == "Busy, edited"
