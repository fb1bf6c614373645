"""The Experiments page under AppTest: load the sample experiment, read the verdict,
change settings by key, switch views, and find the summary in the workspace."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.experiments.analysis import ExperimentSpec, analyse_experiment, sample_experiment
from core.workspace.store import Workspace
from tests.pages.apptest import APP, TIMEOUT, plotly_figures, shown
from tests.pages.apptest import no_errors as _no_errors


def _loaded() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/experiments.py").run()
    _no_errors(at)
    assert any("Load the sample experiment" in i.value for i in at.info)
    at.button(key="experiments.load_sample").click().run()
    _no_errors(at)
    return at


def test_sample_experiment_verdict_views_and_summary(home):
    at = _loaded()
    ws = at.session_state["workspace"]
    frame = ws.frame("experiment")
    # The workspace holds the default sample (5,000 users, 90 days, seed 42), so the
    # experiment is that sample's, bots excluded.
    expected = sample_experiment(5000, 90, 42)
    assert len(frame) == len(expected)
    direct = analyse_experiment(expected, ExperimentSpec(metrics=("converted", "revenue"),
                                                         pre_col="pre_period_revenue"))
    text = " ".join(shown(m.value) for m in at.markdown)
    assert direct.sentences[0] in text
    summary = Workspace.load(ws.id).experiment.summary
    assert summary["sentences"] == direct.sentences
    assert summary["table"][0]["metric"] == "converted"
    assert any("Holm" in c for c in summary["conventions"])
    for view in ["Bayesian", "Per persona", "Over time", "Planning"]:
        at.segmented_control(key="experiments.view").set_value(view).run()
        _no_errors(at)
    at.segmented_control(key="experiments.view").set_value("Bayesian").run()
    labels = [m.label for m in at.metric]
    assert any(label.startswith("P(treatment beats control)") for label in labels)
    at.segmented_control(key="experiments.view").set_value("Per persona").run()
    assert any("Cluster the users first" in i.value for i in at.info)


def test_settings_change_the_analysis(home):
    at = _loaded()
    at.selectbox(key="experiments.correction").set_value("none").run()
    at.selectbox(key="experiments.alternative").set_value("greater").run()
    _no_errors(at)
    ws = at.session_state["workspace"]
    settings = ws.experiment.spec.to_dict()
    assert settings["correction"] == "none" and settings["alternative"] == "greater"
    assert "One-sided" in " ".join(ws.experiment.summary["conventions"])
    at.multiselect(key="experiments.col.metrics").set_value([]).run()
    assert [e.value for e in at.exception] == []
    assert any("at least one metric" in e.value for e in at.error)


def test_persona_breakdown_after_clustering(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/clustering.py").run()
    at.button(key="cluster.fit").click().run()
    at.switch_page("pages/experiments.py").run()
    at.button(key="experiments.load_sample").click().run()
    at.segmented_control(key="experiments.view").set_value("Per persona").run()
    assert [e.value for e in at.exception] == []
    # The wide table is in an expander, with headers in words.
    table = next(d.value for d in at.dataframe if "Segment" in d.value.columns)
    assert "Control users" in table.columns and "control_n" not in table.columns
    ws = at.session_state["workspace"]
    personas = set(ws.persona_labels())
    assert set(table["Segment"]) <= personas | {"(none)"}
    assert len(set(table["Segment"]) & personas) >= 2
    # The forest plot: the total as a diamond first, each persona with its size.
    forest = next(f for f in plotly_figures(at) if "Effect in each persona"
                  in f["layout"]["title"]["text"])
    labels = forest["data"][0]["y"]
    assert labels[0].startswith("<b>All users</b> (n = ")
    assert all(" (n = " in label for label in labels)
    words = " ".join(shown(m.value) for m in at.markdown)
    assert ("moves the same way as the total" in words or "Simpson's paradox" in words
            or "move the same way as the total" in words or "not Simpson's paradox" in words)


def _with_rule(rule: str) -> AppTest:
    """The app with one rule named 'Win back' saved in its workspace the way the Rules
    page saves rules (core.workspace.rules.store_rules, which records its time)."""
    from core.rules.grammar import parse_rule
    from core.rules.model import Rule, RuleSet
    from core.workspace.rules import store_rules

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    parsed = parse_rule(rule)
    store_rules(at.session_state["workspace"],
                RuleSet([Rule("win_back", "Win back", parsed.condition, parsed.action)]))
    return at


def test_a_rule_hold_out_becomes_the_variant_of_its_own_test(home):
    """Rules written on the Rules page carry a deterministic hold-out; joined here, the
    rule's test compares held-out and treated users among those it reaches."""
    from core.rules import condition_mask
    from core.rules.grammar import parse_rule
    from core.workspace.rules import context_from_workspace

    rule = "sessions > 3 -> show reengage_modal in slot modal priority 10 holdout 20%"
    at = _with_rule(rule)
    at.switch_page("pages/experiments.py").run()
    at.button(key="experiments.load_sample").click().run()
    at.multiselect(key="experiments.col.rule_tests").set_value(["Rule test: Win back"]).run()
    at.selectbox(key="experiments.col.variant").set_value("Rule test: Win back").run()
    _no_errors(at)
    assert at.selectbox(key="experiments.col.control").value == "holdout"
    ws = at.session_state["workspace"]
    reached = condition_mask(parse_rule(rule).condition, context_from_workspace(ws))
    users = set(ws.frame("experiment")["user_id"].astype(str))
    in_test = len(users & set(ws.features.index[reached].astype(str)))
    left_out = len(users) - in_test
    assert any(f"{left_out:,} users of the experiment are not reached by the rule" in c.value
               for c in at.caption)
    # Planned with the rule's 20 % hold-out, so no sample-ratio alarm (checked above).
    assert at.text_input(key="experiments.split.Rule test: Win back").value == "20,80"
    first = at.session_state["workspace"].experiment.summary["table"][0]
    assert (first["control"], first["variant"]) == ("holdout", "treatment")
    assert first["control_users"] + first["variant_users"] == in_test
    assert 0.15 < first["control_users"] / in_test < 0.25
    assert any("treatment" in m.value and "conversion from" in m.value for m in at.markdown)


def _with_table(frame) -> AppTest:
    """The Experiments page after a file like ``frame`` was stored as the experiment."""
    from core.workspace import actions

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/experiments.py").run()
    actions.store_experiment_table(at.session_state["workspace"], frame,
                                   {"name": "export.csv"})
    at.run()
    assert [e.value for e in at.exception] == []
    return at


def test_a_real_export_gets_its_metrics_control_and_the_alarm_in_the_verdict(home):
    from tests.core.experiments.test_real_files import as_read, export

    raw = export(n=3000, variants=("Control Group", "Variant B"))
    # Lose 300 of the treatment's users: a sample ratio mismatch on a clear win.
    lost = raw.index[raw.variant == "Variant B"][:300]
    at = _with_table(as_read(raw.drop(lost)))
    assert at.multiselect(key="experiments.col.metrics").value == ["converted", "revenue"]
    assert at.selectbox(key="experiments.col.control").value == "Control Group"
    assert any("Control: 'Control Group', because it is named like a control" in shown(c.value)
               for c in at.caption)
    assert any("values are not yes/no, e.g. 'maybe'" in shown(w.value) for w in at.warning)
    # The alarm is drawn once, inside the verdict: after its heading, before the sentences.
    order = list(at.main)
    heading = next(i for i, e in enumerate(order)
                   if e.type == "subheader" and e.value == "Verdict")
    alarms = [i for i, e in enumerate(order)
              if e.type == "error" and shown(e.value).startswith("Sample ratio mismatch (p = ")]
    first = next(i for i, e in enumerate(order) if e.type == "markdown"
                 and "Variant B raises conversion" in shown(e.value))
    assert len(alarms) == 1 and heading < alarms[0] < first
    sentence = shown(order[first].value)
    # A significant win of a broken split is a doubtful win, never a plain one.
    assert sentence.startswith(":orange-badge[:material/warning: Doubtful win]")
    assert "significant at α = 0.05" in sentence and "do not trust this result" in sentence
    assert not any(":material/trending_up:" in m.value for m in at.markdown)


def test_persona_breakdown_default_does_not_block_a_file_without_user_ids(home):
    from tests.core.experiments.test_real_files import export

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/clustering.py").run()
    at.button(key="cluster.fit").click().run()
    at.switch_page("pages/experiments.py").run()
    from core.workspace import actions

    actions.store_experiment_table(at.session_state["workspace"],
                                   export().drop(columns="user_id"), {"name": "no_ids.csv"})
    at.run()
    _no_errors(at)
    assert at.selectbox(key="experiments.col.segment").value == "— none —"
    why = "the experiment data has no user id column"
    assert any(why in c.value for c in at.caption)
    at.segmented_control(key="experiments.view").set_value("Per persona").run()
    assert any(why in i.value for i in at.info)
    # Chosen by hand, Persona still does not block the analysis.
    at.selectbox(key="experiments.col.segment").set_value("Persona (from clustering)").run()
    _no_errors(at)
    assert at.session_state["workspace"].experiment.spec.segment_col is None


def test_the_results_row_shows_rates_intervals_chance_and_the_detectable_change(home):
    from core.experiments.results import results_rows, sample_ratio_line

    at = _loaded()
    direct = analyse_experiment(sample_experiment(5000, 90, 42),
                                ExperimentSpec(metrics=("converted", "revenue"),
                                               pre_col="pre_period_revenue"))
    rows = results_rows(direct)
    # The first results row (conversion): its metrics in the order they are drawn.
    metrics = {}
    for m in at.metric:
        metrics.setdefault(m.label, m.value)
    assert metrics["Control"] == f"{rows[0].control_value * 100:.1f} %"
    assert metrics["Holm-adjusted p"] == f"{rows[0].p_value:.3f}"
    assert metrics["Chance to beat control"] == f"{rows[0].chance_to_beat * 100:.1f} %"
    captions = " ".join(shown(c.value) for c in at.caption)
    # The sample: p = 0.11 after Holm, yet 97 % chance to beat control; both explained.
    assert rows[0].disagreement in captions
    assert f"this test could detect a change of {rows[0].detectable_size()}" in captions
    assert sample_ratio_line(direct).text in captions
    badges = [shown(m.value) for m in at.markdown if "-badge[" in m.value]
    assert len(badges) == 2
    assert all(b.startswith(":gray-badge[:material/remove: Inconclusive]") for b in badges)
    charts = [f for f in plotly_figures(at) if "Difference, treatment minus control" in
              f["layout"]["title"]["text"]]
    assert len(charts) == 2


def test_a_significant_loss_gets_the_loss_badge_not_the_win_icon(home):
    n = 3000
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(2 * n)],
                          "variant": ["control"] * n + ["treatment"] * n,
                          "converted": [1] * 600 + [0] * (n - 600) + [1] * 450
                          + [0] * (n - 450)})
    at = _with_table(frame)
    _no_errors(at)
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert len(badges) == 1 and badges[0].startswith(
        ":red-badge[:material/trending_down: Loss] treatment lowers conversion")
    assert not any(":material/trending_up:" in m.value or ":material/check_circle:"
                   in m.value for m in at.markdown)
    assert any("Verdict: a loss" in c.value for c in at.caption)
    summary = at.session_state["workspace"].experiment.summary
    assert summary["results"][0]["direction"] == "loss"


def _rule_test_page(frame) -> AppTest:
    """A rule with a 20 % hold-out written on the Rules page, then ``frame`` stored as
    the experiment with the rule's test joined and chosen as the variant."""
    from core.workspace import actions

    rule = "sessions > 3 -> show reengage_modal in slot modal priority 10 holdout 20%"
    at = _with_rule(rule)
    at.switch_page("pages/experiments.py").run()
    actions.store_experiment_table(at.session_state["workspace"], frame,
                                   {"name": "old_test.csv"})
    at.run()
    at.multiselect(key="experiments.col.rule_tests").set_value(["Rule test: Win back"]).run()
    at.selectbox(key="experiments.col.variant").set_value("Rule test: Win back").run()
    _no_errors(at)
    return at


def test_a_rule_test_of_outcomes_recorded_before_the_rule_is_not_a_verdict(home):
    from core.experiments.timing import BEFORE_RULE

    frame = sample_experiment(5000, 90, 42)
    # Outcomes from 2024: long before the rule was saved (now).
    frame["assigned_at"] = pd.date_range("2024-01-01", periods=len(frame), freq="min")
    at = _rule_test_page(frame)
    ws = at.session_state["workspace"]
    (rule,) = ws.rules.rule_set.rules
    assert rule.created_at is not None and rule.since == rule.created_at
    # Without a timestamp the timing cannot be checked, and the page says so.
    at.selectbox(key="experiments.col.ts").set_value("— none —").run()
    assert any("cannot be checked" in shown(i.value) for i in at.info)
    assert not any(BEFORE_RULE in shown(w.value).lower() for w in at.warning)
    at.selectbox(key="experiments.col.ts").set_value("assigned_at").run()
    _no_errors(at)
    warnings = [shown(w.value) for w in at.warning]
    assert any(w.startswith("Outcomes recorded before the rule existed: this is not a "
                            "test of the rule.") for w in warnings)
    badges = [shown(m.value) for m in at.markdown if "-badge[" in m.value]
    assert badges and all(f"— but {BEFORE_RULE}." in b for b in badges)
    assert not any(":material/trending_up:" in b or ":material/trending_down:" in b
                   for b in badges)
    summary = at.session_state["workspace"].experiment.summary
    assert summary["rule_timing"]["code"] == "rule_timing_before"
    # The persona report reads these: no confident verdict there either.
    assert all(s.endswith(f"— but {BEFORE_RULE}.") for s in summary["sentences"])
    assert summary["alarms"][-1]["message"].startswith("Outcomes recorded before the rule")
    assert all(BEFORE_RULE in r["caveats"] for r in summary["results"])


def test_simpsons_paradox_in_a_breakdown_column_is_said_in_words(home):
    from tests.core.experiments.test_results import _simpson_frame

    at = _with_table(_simpson_frame())
    at.selectbox(key="experiments.col.segment").set_value("persona").run()
    at.segmented_control(key="experiments.view").set_value("Per persona").run()
    assert [e.value for e in at.exception] == []
    # The paradox is also an alarm next to the verdict.
    assert any("Simpson's paradox on converted" in shown(e.value) for e in at.error)
    words = [shown(m.value) for m in at.markdown]
    assert any("Simpson's paradox: the total conversion rises while every one of the 3 "
               "personas falls" in w for w in words)
    assert any(f.get("layout", {}).get("title", {}).get("text", "").startswith(
        "Effect in each persona") for f in plotly_figures(at))
