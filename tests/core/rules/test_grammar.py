"""The one-line rule syntax: accepted and rejected examples with exact error columns, and
printing then parsing gives back the same rule (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.rules import Action, WindowCount
from core.rules.grammar import (
    KEYWORDS,
    RuleSyntaxError,
    Vocabulary,
    format_condition,
    format_rule,
    parse_rule,
)
from core.rules.model import And, Comparison, Not, Or

VOCAB = Vocabulary(
    numeric=("days_since_last_event", "sessions", "hours_since_last_event",
             "session_category_views", "engagement_score"),
    text_values={"rfm_segment": ("Champions", "At risk")},
    personas=("Cart abandoners", "Loyal buyers"),
    segments=("High engagement",),
    events=("product_view", "add_to_cart", "purchase", "coupon_use"))

ISSUE_EXAMPLE = ('persona = "Cart abandoners" and days_since_last_event > 2 -> show '
                 'reengage_modal in slot modal priority 10 cap 1/day holdout 10%')


def test_the_issue_example_reads_as_written():
    parsed = parse_rule(ISSUE_EXAMPLE, VOCAB)
    assert parsed.condition == And((Comparison("persona", "=", "Cart abandoners"),
                                    Comparison("days_since_last_event", ">", 2.0)))
    assert parsed.action == Action("reengage_modal", "modal", 10, 1, "day", 10.0)
    assert parsed.notices == ()
    assert format_rule(parsed.condition, parsed.action) == ISSUE_EXAMPLE


ACCEPTED = [
    # (text, condition, action)
    ("sessions > 3 -> show loyalty_offer",
     Comparison("sessions", ">", 3.0),
     # Defaults: the module's usual slot, priority 0, 3 per session, no hold-out.
     Action("loyalty_offer", "banner", 0, 3, "session", 0.0)),
    ("sessions >= -1.5e2 -> SHOW push CAP 2/Session PRIORITY -3 IN SLOT top",
     Comparison("sessions", ">=", -150.0), Action("push", "top", -3, 2, "session", 0.0)),
    # Precedence: not binds tighter than and, and tighter than or.
    ('not sessions < 2 and segment = "High engagement" or rfm_segment != "Champions" '
     "-> show email",
     Or((And((Not(Comparison("sessions", "<", 2.0)),
              Comparison("segment", "=", "High engagement"))),
         Comparison("rfm_segment", "!=", "Champions"))),
     Action("email", "email")),
    ("not (sessions < 2 or sessions > 9) -> show push holdout 12.5%",
     Not(Or((Comparison("sessions", "<", 2.0), Comparison("sessions", ">", 9.0)))),
     Action("push", "push", holdout_percent=12.5)),
    ('count(add_to_cart, 7d) >= 1 and count("coupon_use", 48h) == 0 -> show '
     "reengage_modal in slot modal",
     And((Comparison(WindowCount("add_to_cart", 7, "d"), ">=", 1.0),
          Comparison(WindowCount("coupon_use", 48, "h"), "=", 0.0))),
     Action("reengage_modal", "modal")),
    # Names that start with a keyword stay names.
    ("session_category_views > 2 -> show recommendation_carousel",
     Comparison("session_category_views", ">", 2.0),
     Action("recommendation_carousel", "home_carousel")),
]


@pytest.mark.parametrize("text,condition,action", ACCEPTED)
def test_accepted_examples(text, condition, action):
    parsed = parse_rule(text, VOCAB)
    assert parsed.condition == condition
    assert parsed.action == action


REJECTED = [
    # (text, column of the problem (1-based), words in the message, a valid name listed)
    ("", 1, "empty", None),
    ("sessions > 3", 13, "expected '->'", None),
    ("sessions > -> show push", 12, "expected a number or a text in double quotes", None),
    ("sessions ? 3 -> show push", 10, "Unexpected '?'", None),
    ("sessions >> 3 -> show push", 11, "Unexpected '>'", None),
    ("sessions > 3 -> show", 21, "Unexpected end of the rule: expected a name",
     "reengage_modal"),
    ("sessions > 3 -> display push", 17, "expected 'show'", None),
    ("(sessions > 3 -> show push", 15, "expected ')'", None),
    ("sessionz > 3 -> show push", 1, "Unknown name 'sessionz'", "sessions"),
    ("sessions > 3 and dayz > 1 -> show push", 18, "Unknown name 'dayz'",
     "days_since_last_event"),
    ('persona = "Cart abandoner" -> show push', 11, 'Unknown persona "Cart abandoner"',
     "Cart abandoners"),
    ('persona > "Loyal buyers" -> show push', 9, "membership: use = or !=", "!="),
    ("persona = Loyal -> show push", 11, "Unexpected 'Loyal': expected a number or a text",
     None),
    ('segment = "Nope" -> show push', 11, 'Unknown segment "Nope"', "High engagement"),
    ('sessions > "many" -> show push', 12, "compare it with a number", None),
    ("rfm_segment > 3 -> show push", 13, "'rfm_segment' is a text", "="),
    ("count(add_to_cartt, 7d) > 1 -> show push", 7, "Unknown event 'add_to_cartt'",
     "add_to_cart"),
    ("count(add_to_cart, 7) > 1 -> show push", 20, "expected a window such as 7d", None),
    ('count(add_to_cart, 7d) > "x" -> show push', 26, "compare it with a number", None),
    ("sessions > 3 -> show push cap 0/day", 31, "cap is at least 1", None),
    ("sessions > 3 -> show push cap 2/week", 33, "Unexpected 'week'", None),
    ("sessions > 3 -> show push holdout 100%", 35, "under 100%", None),
    ("sessions > 3 -> show push holdout 10", 37, "expected '%'", None),
    ("sessions > 3 -> show push priority 1 priority 2", 38, "'priority' is given twice",
     None),
    # The whole number 1 is read, then '.5' cannot follow it.
    ("sessions > 3 -> show push priority 1.5", 37, "Unexpected '.5'", None),
]


@pytest.mark.parametrize("text,column,words,valid", REJECTED)
def test_rejected_examples_point_at_the_problem(text, column, words, valid):
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(text, VOCAB)
    error = info.value
    assert error.column == column, (str(error), error.pointer())
    assert words in str(error)
    assert f"(column {column})" in str(error)
    if valid is not None:
        assert valid in error.valid
        assert valid in str(error)
    # The pointer puts a caret under the reported column.
    caret_line = error.pointer().splitlines()[-1]
    assert len(caret_line) == column and caret_line.endswith("^")


def test_unknown_names_list_the_closest_first():
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule("sesions > 3 -> show push", VOCAB)
    assert info.value.valid[0] == "sessions"
    assert set(info.value.valid) >= {"persona", "segment", "engagement_score"}


def test_persona_conditions_before_clustering_say_what_to_do():
    vocab = Vocabulary(numeric=("sessions",), personas=None)
    with pytest.raises(RuleSyntaxError, match="no personas yet") as info:
        parse_rule('persona = "Loyal" -> show push', vocab)
    assert info.value.column == 1
    # Feature rules still read.
    assert parse_rule("sessions > 1 -> show push", vocab).condition.subject == "sessions"


def test_unknown_modules_are_a_warning_not_an_error():
    parsed = parse_rule("sessions > 1 -> show spin_the_wheel in slot modal", VOCAB)
    assert parsed.action.module == "spin_the_wheel"
    assert [n.code for n in parsed.notices] == ["unknown_module"]


def test_without_a_vocabulary_only_the_syntax_is_checked():
    parsed = parse_rule('anything > 1 and persona = "Whoever" -> show x in slot y')
    assert parsed.action == Action("x", "y")


def test_eval_is_never_reached():
    # A Python expression is not a rule: it is rejected at the first character that does
    # not fit the grammar, and nothing is executed.
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule("__import__('os').system('true') > 1 -> show push")
    assert info.value.column == 11


# --------------------------------------------------------------------------- round trip
_name = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: n not in KEYWORDS)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_number = st.floats(allow_nan=False, allow_infinity=False, width=64)
_window = st.builds(WindowCount, st.one_of(_name, _text.filter(bool)), st.integers(1, 999),
                    st.sampled_from(["d", "h"]))
_op = st.sampled_from([">", ">=", "<", "<=", "=", "!="])
_leaf = st.one_of(st.builds(Comparison, _name, _op, st.one_of(_number, _text)),
                  st.builds(Comparison, _window, _op, _number))
_condition = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(And, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(inner, min_size=2, max_size=3).map(tuple))),
    max_leaves=8)
_action = st.builds(Action, _name, _name, st.integers(-10_000, 10_000), st.integers(1, 99),
                    st.sampled_from(["session", "day"]),
                    st.one_of(st.just(0.0), st.floats(0.001, 99.999)))


@settings(max_examples=300, deadline=None)
@given(_condition, _action)
def test_printing_then_parsing_gives_the_same_rule(condition, action):
    text = format_rule(condition, action)
    parsed = parse_rule(text)
    assert parsed.condition == condition
    assert parsed.action == action
    # And the printed form is stable.
    assert format_rule(parsed.condition, parsed.action) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_with_a_column_inside_the_line(text):
    try:
        parse_rule(text, VOCAB)
    except RuleSyntaxError as error:
        assert 1 <= error.column <= len(error.text) + 1


def test_nested_groups_keep_their_parentheses():
    condition = And((Comparison("a", ">", 1.0),
                     And((Comparison("b", ">", 2.0), Comparison("c", ">", 3.0)))))
    assert format_condition(condition) == "a > 1 and (b > 2 and c > 3)"
    assert parse_rule(format_condition(condition) + " -> show x").condition == condition


@pytest.mark.parametrize(("text", "problem"), [
    ("(" * 1000 + "sessions > 1" + ")" * 1000 + " -> show x", "nests at most 32 brackets"),
    ("not " * 2000 + "sessions > 1 -> show x", "at most 4,000 characters"),
    ("not " * 40 + "sessions > 1 -> show x", "at most 32 'not's"),
    (" and ".join(["sessions > 1"] * 400) + " -> show x", "at most 4,000 characters"),
    ("count(view, 99999999999d) > 1 -> show x", "A window is at most ten years"),
    ("count(view, 87601h) > 1 -> show x", "A window is at most ten years"),
])
def test_rules_beyond_the_limits_get_a_message_not_a_recursion(text, problem):
    with pytest.raises(RuleSyntaxError, match=problem):
        parse_rule(text)


def test_rules_at_the_limits_still_parse():
    deep = "(" * 32 + "sessions > 1" + ")" * 32 + " -> show x"
    assert parse_rule(deep).condition == Comparison("sessions", ">", 1.0)
    quoted = parse_rule('segment = "' + "(" * 40 + '" -> show x')  # text, not nesting
    assert quoted.condition == Comparison("segment", "=", "(" * 40)
    window = parse_rule("count(view, 3650d) > 1 -> show x").condition.subject
    assert window == WindowCount("view", 3650, "d")


def test_a_rule_may_span_several_lines():
    one_line = parse_rule('persona = "Loyal buyers" and sessions > 3 -> show push cap 1/day', VOCAB)
    several = parse_rule('persona = "Loyal buyers"\r\n  and sessions > 3\n-> show push'
                         '\n   cap 1/day', VOCAB)
    assert (several.condition, several.action) == (one_line.condition, one_line.action)


@pytest.mark.parametrize("text,line,column,words", [
    ("sessions > 3\n  and sesions > 2\n-> show push", 2, 7, "Unknown name 'sesions'"),
    ("sessions > 3 and\n-> show push", 2, 1, "Unexpected '->'"),
    ("sessions > 3\n-> show push cap 0/day", 2, 18, "cap is at least 1"),
    ("sessions > 3\n-> show push holdout 10", 2, 24, "expected '%'"),
])
def test_an_error_in_a_rule_of_several_lines_names_its_line(text, line, column, words):
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(text, VOCAB)
    error = info.value
    assert (error.line, error.line_column) == (line, column), (str(error), error.pointer())
    assert words in str(error)
    assert f"(line {line}, column {column})" in str(error)
    shown, caret = error.pointer().split("\n")
    assert shown == text.split("\n")[line - 1]
    assert caret == " " * (column - 1) + "^"
