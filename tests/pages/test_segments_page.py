"""The Segments page: the size of a segment while its conditions are typed, default
operators, editing and deleting saved segments (rule segments and Map selections), and
presets whose fixed thresholds do not fit this data."""

from __future__ import annotations

import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.workspace.segments import save_segment, segment_memberships
from tests.pages.apptest import APP, TIMEOUT, no_errors, plotly_array, plotly_figures, shown


def _segments() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/segments.py").run()
    no_errors(at)
    return at


def _rows(*conditions: tuple) -> pd.DataFrame:
    """The conditions editor's table, as the page keeps it between runs."""
    return pd.DataFrame([{"feature": f, "operator": o, "value": v, "upper": None,
                          "window_days": None} for f, o, v in conditions]
                        ).astype({"upper": float, "window_days": float})


def _live_size(at: AppTest) -> tuple[int, float]:
    line = next(m.value for m in at.markdown if m.value.startswith("**Matches"))
    users, share = re.match(r"\*\*Matches ([\d,]+) users\*\* \(([\d.]+)% of", line).groups()
    return int(users.replace(",", "")), float(share)


def _sizes(at: AppTest) -> pd.Series:
    table = next(d.value for d in at.dataframe if "Segment" in d.value.columns)
    return table.set_index("Segment")["Users"]


def _rule_names(at: AppTest) -> list[str]:
    return [r.name for r in at.session_state["workspace"].segment_rules.rules]


def test_live_size_follows_the_conditions(home):
    at = _segments()
    features = at.session_state["workspace"].features
    assert any("to see how many users match" in c.value for c in at.caption)
    # The editor's rows as they stand after typing (the grid itself is a browser canvas).
    at.session_state["segments.rows"] = _rows(("sessions", ">=", "12"))
    at.run()
    no_errors(at)
    expected = int((features["sessions"] >= 12).sum())
    assert _live_size(at) == (expected, round(100 * expected / len(features), 1))
    # A second condition, still incomplete, is not counted and is said so.
    at.session_state["segments.rows"] = _rows(("sessions", ">=", "12"),
                                              ("revenue", ">", ""))
    at.run()
    assert _live_size(at)[0] == expected
    assert any("condition 2" in c.value for c in at.caption)
    # Complete: both conditions, AND then OR.
    at.session_state["segments.rows"] = _rows(("sessions", ">=", "12"),
                                              ("revenue", ">", "100"))
    at.run()
    both = (features["sessions"] >= 12) & (features["revenue"] > 100)
    assert _live_size(at)[0] == int(both.sum())
    assert any(c.value.startswith("Each condition alone") for c in at.caption)
    at.radio(key="segments.combine").set_value("or").run()
    either = (features["sessions"] >= 12) | (features["revenue"] > 100)
    assert _live_size(at)[0] == int(either.sum())
    assert _rule_names(at) == []  # nothing is saved while typing


def test_a_new_row_gets_a_default_operator(home):
    at = _segments()
    at.session_state["segments.rows"] = _rows(("purchases", None, ""),
                                              ("rfm_segment", None, ""), (None, None, ""))
    at.run()
    no_errors(at)
    rows = at.session_state["segments.rows"]
    assert list(rows["operator"][:2]) == [">=", "=="]
    assert rows["operator"].iloc[2] is None or pd.isna(rows["operator"].iloc[2])


def test_editing_a_rule_segment_changes_its_size_and_name(home):
    at = _segments()
    at.multiselect(key="segments.presets").set_value(["High engagement"]).run()
    at.button(key="segments.add_presets").click().run()
    features = at.session_state["workspace"].features
    assert _sizes(at)["High engagement"] == int((features["sessions"] > 10).sum())
    at.selectbox(key="segments.edit_choice").set_value("High engagement").run()
    at.button(key="segments.edit").click().run()
    no_errors(at)
    # The editor holds the segment: its name, its conditions and its live size.
    assert at.text_input(key="segments.name").value == "High engagement"
    assert list(at.session_state["segments.rows"]["value"]) == ["10"]
    assert _live_size(at)[0] == int((features["sessions"] > 10).sum())
    at.session_state["segments.rows"] = _rows(("sessions", ">", "20"))
    at.text_input(key="segments.name").set_value("Very high engagement").run()
    assert _live_size(at)[0] == int((features["sessions"] > 20).sum())
    at.button(key="segments.save").click().run()
    no_errors(at)
    assert _rule_names(at) == ["Very high engagement"]  # replaced, not added
    assert _sizes(at)["Very high engagement"] == int((features["sessions"] > 20).sum())
    assert at.text_input(key="segments.name").value == ""  # the editor is free again


def test_deleting_segments_asks_and_removes_them(home):
    at = _segments()
    at.multiselect(key="segments.presets").set_value(["High engagement", "At risk"]).run()
    at.button(key="segments.add_presets").click().run()
    # Sizes and the overlap chart follow the segments and the exclusive toggle.
    ws = at.session_state["workspace"]
    members = segment_memberships(ws).matrix
    overlap = next(f for f in plotly_figures(at) if f["layout"]["title"]["text"]
                   .startswith("Overlap"))
    assert plotly_array(overlap["data"][0]["z"]).tolist() == \
        (members.astype(int).T @ members.astype(int)).to_numpy().tolist()
    assert _sizes(at).to_dict() == members.sum().to_dict()
    at.toggle(key="segments.exclusive").set_value(True).run()
    no_errors(at)
    exclusive = segment_memberships(ws, exclusive=True).exclusive.value_counts()
    assert _sizes(at).to_dict() == exclusive.to_dict()
    at.toggle(key="segments.exclusive").set_value(False).run()
    assert _sizes(at).to_dict() == members.sum().to_dict()
    at.multiselect(key="segments.remove").set_value(["At risk"]).run()
    # The delete button sits in a popover that names what goes.
    assert any("Delete 'At risk' for good?" in shown(m.value) for m in at.markdown)
    at.button(key="segments.remove_button").click().run()
    no_errors(at)
    assert _rule_names(at) == ["High engagement"]
    assert "At risk" not in _sizes(at).index
    assert any("Deleted 1 segment(s)." in s.value for s in at.success)


def test_a_map_selection_can_be_renamed_and_deleted(home):
    at = _segments()
    ws = at.session_state["workspace"]
    ids = [str(u) for u in ws.features.index[:123]]
    save_segment(ws, "Middle of the map", ids)  # as the Map page's Save as segment does
    at.run()
    no_errors(at)
    assert _sizes(at)["Middle of the map"] == 123
    at.selectbox(key="segments.edit_choice").set_value("Middle of the map").run()
    at.text_input(key="segments.rename_to").set_value("Map middle").run()
    at.button(key="segments.rename").click().run()
    no_errors(at)
    assert _sizes(at)["Map middle"] == 123
    assert set(at.session_state["workspace"].segments["segment"]) == {"Map middle"}
    at.multiselect(key="segments.remove").set_value(["Map middle"]).run()
    at.button(key="segments.remove_button").click().run()
    no_errors(at)
    saved = at.session_state["workspace"].segments
    assert saved is None or saved.empty
    assert any("No segments yet" in i.value for i in at.info)


def test_a_preset_that_does_not_fit_offers_this_datas_percentile(home):
    at = _segments()
    features = at.session_state["workspace"].features
    # "At risk" (more than 3 sessions, none in the last 2 days) is most of the sample.
    share = ((features["sessions"] > 3) & (features["days_since_last_event"] > 2)).mean()
    assert share > 0.5
    notes = [shown(w.value) for w in at.warning]
    assert any(n.startswith(f"'At risk' (sessions > 3 AND days_since_last_event > 2) "
                            f"matches {share * 100:.0f} % of users in this data.")
               for n in notes), notes
    button = next(b for b in at.button if b.key and b.key.startswith("segments.percentile")
                  and "At risk" in (b.help or ""))
    button.click().run()
    no_errors(at)
    (rule,) = at.session_state["workspace"].segment_rules.rules
    assert rule.name == "At risk"
    assert [c.operator for c in rule.conditions] == [">=", ">="]
    assert abs(_sizes(at)["At risk"] / len(features) - 0.10) < 0.02
