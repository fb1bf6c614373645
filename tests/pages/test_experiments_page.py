"""The Experiments page under AppTest: load the sample experiment, read the verdict,
change settings by key, switch views, and find the summary in the workspace."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.experiments.analysis import ExperimentSpec, analyse_experiment, sample_experiment
from core.workspace.store import Workspace
from tests.pages.apptest import APP, TIMEOUT, shown
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
    table = next(d.value for d in at.dataframe if "segment" in d.value.columns)
    ws = at.session_state["workspace"]
    personas = set(ws.persona_labels())
    assert set(table["segment"]) <= personas | {"(none)"}
    assert len(set(table["segment"]) & personas) >= 2


def test_a_rule_hold_out_becomes_the_variant_of_its_own_test(home):
    """Rules written on the Rules page carry a deterministic hold-out; joined here, the
    rule's test compares held-out and treated users among those it reaches."""
    from core.rules import condition_mask
    from core.rules.grammar import parse_rule
    from core.workspace.rules import context_from_workspace

    rule = "sessions > 3 -> show reengage_modal in slot modal priority 10 holdout 20%"
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/rules.py").run()
    at.text_input(key="rules.text_name").set_value("Win back")
    at.text_input(key="rules.text").set_value(rule).run()
    at.button(key="rules.text_add").click().run()
    _no_errors(at)
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
    assert sentence.startswith(":material/warning:")
    assert "significant at α = 0.05" in sentence and "do not trust this result" in sentence


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
