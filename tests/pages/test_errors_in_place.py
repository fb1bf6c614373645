"""An input mistake is said next to the widget that caused it; the rest of the page
stays: the saved segments and their overlap under an incomplete new segment, the rules'
export under an unknown user id, the simulation under a half-filled rule form."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.pages.apptest import APP, TIMEOUT, plotly_figures, shown


def _segments_with_presets() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/segments.py").run()
    at.multiselect(key="segments.presets").set_value(["High engagement", "At risk"]).run()
    at.button(key="segments.add_presets").click().run()
    return at


def test_an_incomplete_segment_leaves_the_saved_segments_and_overlap(home):
    at = _segments_with_presets()
    tables_before = len(at.dataframe)
    charts_before = len(plotly_figures(at))
    at.text_input(key="segments.name").set_value("Half done").run()
    at.button(key="segments.save").click().run()  # the condition has no feature yet
    assert [e.value for e in at.exception] == []
    assert len(at.error) == 1 and "Half done" not in [
        r.name for r in at.session_state["workspace"].segment_rules.rules]
    assert len(at.dataframe) == tables_before and tables_before >= 2
    assert len(plotly_figures(at)) == charts_before >= 1  # the overlap chart stays


def test_an_unknown_user_in_why_leaves_the_export(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/rules.py").run()
    at.button(key="rules.starters").click().run()
    at.text_input(key="rules.user").set_value("nobody-like-this").run()
    assert [e.value for e in at.exception] == []
    assert any("nobody-like-this" in shown(e.value) for e in at.error)
    assert any(s.value == "Export and import" for s in at.subheader)


def test_a_half_filled_rule_form_leaves_the_rules_and_the_simulation(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/rules.py").run()
    at.button(key="rules.starters").click().run()
    # A count of an event without the event: the form says so under itself.
    at.session_state["rules.form.conditions"] = {"edited_rows": {0: {
        "what": "count of an event", "op": ">", "value": "1"}},
        "added_rows": [], "deleted_rows": []}
    at.run()
    assert [e.value for e in at.exception] == []
    assert len(at.error) == 1 and "choose the event" in shown(at.error[0].value)
    assert at.button(key="rules.form.add").disabled
    headers = [s.value for s in at.subheader]
    assert "Simulation on the current users" in headers and "Export and import" in headers
