"""The Rules page under AppTest: write a rule as text and with the form, see its reach,
starters, the simulation, one user's explanation, and bad input as a message."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.personas.state import PersonaState
from core.rules import condition_mask
from core.rules.grammar import format_rule, parse_rule
from core.workspace.rules import context_from_workspace
from tests.pages.apptest import APP, TIMEOUT, cluster_sample, shown
from tests.pages.apptest import no_errors as _no_errors

RULE = "sessions > 3 and hours_since_last_event >= 48 -> show reengage_modal in slot modal " \
       "priority 10 cap 1/day holdout 10%"


def _rules_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/rules.py").run()
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m for m in at.metric if m.label == label)


def test_a_text_rule_shows_its_reach_and_is_saved(home):
    at = _rules_page()
    _no_errors(at)
    assert any("No rules yet" in i.value for i in at.info)
    assert any("No personas yet" in i.value for i in at.info)
    at.text_input(key="rules.text_name").set_value("Win back")
    at.text_area(key="rules.text").set_value(RULE).run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    expected = int(condition_mask(parse_rule(RULE).condition,
                                  context_from_workspace(ws)).sum())
    assert 0 < expected < 5000
    assert _metric(at, "Reach of this rule").value == f"{expected:,} users"
    at.button(key="rules.text_add").click().run()
    _no_errors(at)
    assert any("Saved rule 'Win back'" in s.value for s in at.success)
    rules = at.session_state["workspace"].rules.rule_set
    assert [r.id for r in rules.rules] == ["win_back"]
    assert rules.rules[0].action.holdout_percent == 10
    # The simulation agrees with the preview: reach, and unreached users.
    assert _metric(at, "No rule reaches").value == f"{5000 - expected:,}"
    reach = next(d.value for d in at.dataframe if "rule_id" in d.value.columns)
    assert reach.loc[0, "users"] == expected


def test_a_typo_points_at_the_column_and_lists_names(home):
    at = _rules_page()
    at.text_area(key="rules.text").set_value("sesions > 3 -> show push").run()
    assert [e.value for e in at.exception] == []
    assert "Unknown name 'sesions' (column 1)" in shown(at.error[0].value)
    assert at.code[0].value == "sesions > 3 -> show push\n^"
    assert any(c.value.startswith("Valid here: `sessions`") for c in at.caption)
    # Nothing to add while the text does not read.
    assert not [b for b in at.button if b.key == "rules.text_add"]


def test_form_starters_simulation_and_explanation(home):
    at = _rules_page()
    at.text_input(key="rules.form.name").set_value("Welcome")
    at.session_state["rules.form.conditions"] = {"edited_rows": {0: {
        "what": "days_since_first_event", "op": "<", "value": "7"}},
        "added_rows": [], "deleted_rows": []}
    at.run()
    _no_errors(at)
    assert any(c.value.startswith("days_since_first_event < 7 -> show "
                                  "recommendation_carousel in slot home_carousel")
               for c in at.code), [c.value for c in at.code]
    at.button(key="rules.form.add").click().run()
    _no_errors(at)
    at.button(key="rules.starters").click().run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    rules = ws.rules.rule_set
    assert len(rules.rules) == 5 and rules.rules[0].id == "welcome"
    # Why am I seeing this: one user's verdicts, one per rule.
    user = str(ws.features.index[0])
    at.text_input(key="rules.user").set_value(user).run()
    _no_errors(at)
    assert any(f"User **{user}** sees" in m.value for m in at.markdown)
    verdicts = [m.value for m in at.markdown if m.value.startswith(":material/")]
    assert len(verdicts) == 5
    assert _metric(at, "Users").value == "5,000"


def test_an_unknown_user_gets_a_message(home):
    at = _rules_page()
    at.button(key="rules.starters").click().run()
    at.text_input(key="rules.user").set_value("nobody").run()
    assert [e.value for e in at.exception] == []
    assert "'nobody' is not in the data" in at.error[0].value


def test_edit_a_rule_as_text_keeps_its_id(home):
    at = _rules_page()
    at.button(key="rules.starters").click().run()
    rules = at.session_state["workspace"].rules.rule_set
    first = rules.rules[0]
    at.selectbox(key="rules.edit_choice").set_value(first.id)
    at.button(key="rules.edit").click().run()
    _no_errors(at)
    text = at.text_area(key="rules.text").value
    assert text == format_rule(first.condition, first.action)
    assert "priority 20" in text
    at.text_area(key="rules.text").set_value(text.replace("priority 20", "priority 99")).run()
    at.button(key="rules.text_add").click().run()
    _no_errors(at)
    after = at.session_state["workspace"].rules.rule_set
    assert [r.id for r in after.rules] == [r.id for r in rules.rules]
    assert after.get(first.id).action.priority == 99


def test_persona_rules_after_clustering(home):
    at = _rules_page()
    ws = cluster_sample(at, k=4)
    ws.personas = PersonaState(names={"Cluster 2": "Big spenders"})
    ws.save()
    at.run()
    _no_errors(at)
    assert not any("No personas yet" in i.value for i in at.info)
    at.text_input(key="rules.text_name").set_value("Spenders")
    at.text_area(key="rules.text").set_value(
        'persona = "Big spenders" -> show loyalty_offer').run()
    _no_errors(at)
    size = int((ws.persona_labels() == "Big spenders").sum())
    assert _metric(at, "Reach of this rule").value == f"{size:,} users"
    at.button(key="rules.text_add").click().run()
    _no_errors(at)
    unreached = next(d.value for d in at.dataframe if "persona" in d.value.columns)
    assert "Big spenders" not in set(unreached["persona"])
    assert unreached["users"].sum() == 5000 - size


def _frame_headers(at: AppTest, column: str) -> dict[str, str]:
    """Column name → the header the page shows, for the first table with ``column``."""
    import json

    table = next(d for d in at.dataframe if column in d.value.columns)
    config = json.loads(table.proto.columns or "{}")
    return {name: config.get(name, {}).get("label", name) for name in table.value.columns}


def test_a_rule_over_several_lines_reads_and_errors_name_the_line(home):
    at = _rules_page()
    at.text_area(key="rules.text").set_value(
        "sessions > 3\n  and hours_since_last_event >= 48\n-> show reengage_modal").run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    expected = int(condition_mask(parse_rule(RULE).condition,
                                  context_from_workspace(ws)).sum())
    assert _metric(at, "Reach of this rule").value == f"{expected:,} users"
    at.text_area(key="rules.text").set_value("sessions > 3\n  and sesions > 2\n-> show push").run()
    assert "Unknown name 'sesions' (line 2, column 7)" in shown(at.error[0].value)
    assert at.code[0].value == "  and sesions > 2\n      ^"


def test_starters_that_repeat_rules_are_flagged_and_not_added_again(home):
    at = _rules_page()
    at.button(key="rules.starters").click().run()
    _no_errors(at)
    first = [r.id for r in at.session_state["workspace"].rules.rule_set.rules]
    assert len(first) == 4
    starters = next(d.value for d in at.dataframe if "flag" in d.value.columns)
    assert not starters["add"].any()
    assert starters["flag"].str.startswith("duplicates the rule").all()
    assert any("4 flagged" in e.label for e in at.expander)
    assert at.button(key="rules.starters").disabled


def test_simulation_tables_have_headers_in_words(home):
    at = _rules_page()
    at.button(key="rules.starters").click().run()
    headers = _frame_headers(at, "rule_id")
    assert headers["users"] == "Users matched" and headers["held_out"] == "Held out"
    assert all("_" not in label for label in headers.values()), headers


def test_why_picks_a_user_from_a_persona(home):
    at = _rules_page()
    cluster_sample(at, k=3)
    at.run()
    at.button(key="rules.starters").click().run()
    labels = at.session_state["workspace"].persona_labels()
    persona = sorted(labels.unique())[1]
    at.selectbox(key="rules.user_group").set_value(persona).run()
    picker = at.selectbox(key=f"rules.user_pick.{persona}")
    members = sorted(labels.index[labels == persona])
    assert list(picker.options) == members[:1000]
    assert picker.label == f"User ({len(members):,})"
    picker.set_value(members[0]).run()
    _no_errors(at)
    assert any(f"User **{members[0]}** sees" in m.value for m in at.markdown)


def test_a_carousel_rule_shows_each_users_recommended_items(home):
    from core.workspace.recommend import build_recommendations, recommend_settings
    from core.workspace.rules import recommended_items

    at = _rules_page()
    rule = "sessions >= 1 -> show recommendation_carousel in slot home_carousel"
    at.text_input(key="rules.text_name").set_value("Picks")
    at.text_area(key="rules.text").set_value(rule).run()
    at.button(key="rules.text_add").click().run()
    _no_errors(at)
    assert any("recommended items" in c.value and "items" in c.value for c in at.caption)
    ws = at.session_state["workspace"]
    recs = build_recommendations(ws, recommend_settings(ws))
    user = str(recs.table["user_id"].iloc[0])
    at.text_input(key="rules.user").set_value(user).run()
    _no_errors(at)
    listed = next(m.value for m in at.markdown if m.value.startswith("**Recommended items**"))
    first = recs.for_user(user).iloc[0]
    assert f"1. `{first['item']}`" in listed
    items = recommended_items(ws)
    assert items[user].split("; ")[0] == first["item"]
