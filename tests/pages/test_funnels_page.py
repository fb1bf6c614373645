"""The Funnels page under AppTest: the numbers it shows are core.journeys.funnel's on the
same workspace (everyone, a filtered step, any order, split by persona), the users who
dropped at a step become a segment, and bad choices are messages, not tracebacks."""

from __future__ import annotations

import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.journeys import FunnelSpec, Step, dropped_at, funnel
from core.workspace.journeys import journey_groups
from core.workspace.segments import workspace_segments
from tests.pages.apptest import APP, TIMEOUT, cluster_sample, shown
from tests.pages.apptest import no_errors as _no_errors

FUNNEL = ("product_view", "add_to_cart", "checkout", "purchase")


def _funnels_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/funnels.py").run()
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


#: A column each table of the page has, and which table with it it is (the steps table
#: and the table of times show different columns of the same frame).
TABLES = {"steps": ("dropped", 0), "times": ("dropped", 1), "pairwise": ("group_a", 0),
          "editor": ("property", 0)}


def _table(at: AppTest, name: str):
    column, number = TABLES[name]
    return [d for d in at.dataframe if column in d.value.columns][number]


def _headers(table) -> dict[str, str]:
    """Column name → the header the page shows, for the columns it shows."""
    config = json.loads(table.proto.columns or "{}")
    order = list(table.proto.column_order) or list(table.value.columns)
    return {name: config.get(name, {}).get("label", name) for name in order}


def _edit_steps(at: AppTest, edited=None, added=None, deleted=None) -> None:
    at.session_state["funnels.steps"] = {"edited_rows": edited or {},
                                         "added_rows": added or [],
                                         "deleted_rows": deleted or []}


def _duration(seconds: float) -> str:
    for size, unit in ((86_400, "days"), (3_600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _check_shows(at: AppTest, expected) -> None:
    """Metrics and the steps table are the core result's."""
    overall = expected.overall
    entrants, converted = int(overall["users"].iloc[0]), int(overall["users"].iloc[-1])
    assert _metrics(at) == {"Entered the funnel": f"{entrants:,}",
                            "Converted": f"{converted:,}",
                            "Overall conversion": f"{converted / entrants:.1%}"}
    table = _table(at, "steps").value
    groups = ["All users", *expected.group_labels] if len(expected.steps) > len(overall) \
        else ["All users"]
    core_rows = pd.concat([overall, expected.steps]) if len(groups) > 1 else overall
    assert list(table["group"]) == list(core_rows["group"])
    assert list(table["label"]) == list(core_rows["label"])
    assert list(table["users"]) == list(core_rows["users"])
    assert list(table["dropped"]) == list(core_rows["dropped"])


def test_the_default_funnel_is_cores_and_in_words(home):
    at = _funnels_page()
    _no_errors(at)
    ws = at.session_state["workspace"]
    # The editor starts with the workspace's funnel events, in order.
    editor = _table(at, "editor").value
    assert list(editor["event"]) == list(FUNNEL)
    expected = funnel(ws.events, FunnelSpec(FUNNEL, pd.Timedelta(days=7)))
    _check_shows(at, expected)
    assert 0 < expected.overall["users"].iloc[-1] < expected.overall["users"].iloc[0]
    headers = _headers(_table(at, "steps"))
    assert headers == {"step_label": "Step", "users": "Users", "dropped": "Dropped",
                       "conversion_from_previous": "Of previous",
                       "conversion_from_first": "Of step 1"}
    assert list(_table(at, "steps").value["step_label"]) == \
        [f"{k}. {e}" for k, e in enumerate(FUNNEL, start=1)]
    times = _table(at, "times").value
    assert list(times["users"]) == list(expected.overall["users"].iloc[1:])
    assert _headers(_table(at, "times")) == {"step_label": "Step", "users": "Users",
                                             "median": "Median time",
                                             "middle": "Middle half"}
    assert times["median"].iloc[0] == \
        _duration(expected.overall["median_s"].iloc[1])
    config = json.loads(_table(at, "steps").proto.columns)
    assert config["users"]["type_config"]["format"] == "localized"
    # The convention is stated; without groups there is no test, and the page says why.
    assert any(shown(c.value).startswith("Ordered funnel: a user enters") for c in at.caption)
    assert any("cluster the users" in c.value for c in at.caption)
    assert not [m for m in at.markdown if "χ²" in m.value]


def test_window_filter_and_any_order_follow_core(home):
    at = _funnels_page()
    ws = at.session_state["workspace"]
    # A one-day window and a filter on step 1: mobile product views only.
    _edit_steps(at, edited={0: {"property": "device", "value": "mobile"}})
    at.number_input(key="funnels.window").set_value(1)
    at.run()
    _no_errors(at)
    spec = FunnelSpec((Step("product_view", (("device", "mobile"),)), *FUNNEL[1:]),
                      pd.Timedelta(days=1))
    expected = funnel(ws.events, spec)
    _check_shows(at, expected)
    assert _table(at, "steps").value["label"].iloc[0] == \
        "product_view (device = mobile)"
    assert any("device: mobile" in shown(c.value) for c in at.caption)  # the values hint
    # Hours, then any order.
    at.selectbox(key="funnels.unit").set_value("hours")
    at.radio(key="funnels.order").set_value("any").run()
    _no_errors(at)
    expected = funnel(ws.events, FunnelSpec(spec.steps, pd.Timedelta(hours=1), "any"))
    _check_shows(at, expected)
    assert list(_table(at, "steps").value["step_label"]) == \
        [f"{k} of 4 steps" for k in range(1, 5)]
    assert _headers(_table(at, "steps"))["step_label"] == "Steps done"
    assert any(shown(c.value).startswith("Any-order funnel") for c in at.caption)


def test_split_by_persona_after_clustering(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    ws = cluster_sample(at, k=4)
    at.switch_page("pages/funnels.py").run()
    _no_errors(at)
    assert at.selectbox(key="funnels.split").value == "persona"
    expected = funnel(ws.events, FunnelSpec(FUNNEL), journey_groups(ws, "persona"))
    _check_shows(at, expected)
    test = expected.test
    sentence = next(m.value for m in at.markdown if "χ²" in m.value)
    assert sentence.startswith("**Conversion differs between personas**")
    assert f"χ² = {test.statistic:,.1f}, df = {test.dof}, p < 0.001" in sentence
    assert f"({test.n:,} entrants)" in sentence
    pairwise = _table(at, "pairwise")
    assert list(pairwise.value["group_a"]) == list(expected.pairwise["group_a"])
    assert list(pairwise.value["p_holm"]) == list(expected.pairwise["p_holm"])
    assert list(pairwise.value["significant"]) == list(expected.pairwise["significant"])
    headers = _headers(pairwise)
    assert headers["group_a"] == "Persona A" and headers["p_holm_text"] == "p (Holm)"
    assert all(" " in h or h in ("z", "p") for h in headers.values()), headers
    assert _headers(_table(at, "steps"))["group"] == "Persona"
    # A split nobody can compare: everyone, and the test is gone.
    at.selectbox(key="funnels.split").set_value("everyone").run()
    _no_errors(at)
    assert not [m for m in at.markdown if "χ²" in m.value]


def test_users_who_dropped_become_a_segment(home):
    at = _funnels_page()
    ws = at.session_state["workspace"]
    at.selectbox(key="funnels.drop_step").set_value(3).run()
    assert at.text_input(key="funnels.drop_name").value == "Dropped before checkout"
    at.button(key="funnels.save_dropped").click().run()
    _no_errors(at)
    expected = dropped_at(funnel(ws.events, FunnelSpec(FUNNEL)), 3)
    assert len(expected) > 0
    assert any(f"Saved {len(expected):,} users as the segment" in s.value for s in at.success)
    members = workspace_segments(ws)["Dropped before checkout"]
    assert sorted(map(str, members)) == sorted(map(str, expected))
    # Usable where segments are: a rule on it reads, with the same reach.
    from core.rules import condition_mask
    from core.rules.grammar import parse_rule
    from core.workspace.rules import context_from_workspace

    rule = parse_rule('segment = "Dropped before checkout" -> show reengage_modal')
    assert int(condition_mask(rule.condition, context_from_workspace(ws)).sum()) == \
        len(expected)
    # An empty name is a message.
    at.text_input(key="funnels.drop_name").set_value("  ")
    at.button(key="funnels.save_dropped").click().run()
    assert [e.value for e in at.exception] == []
    assert "Give the segment a name." in [shown(e.value) for e in at.error]


def test_bad_steps_are_messages(home):
    at = _funnels_page()
    # An event the data does not have (a stale choice): core's message, in place.
    _edit_steps(at, edited={1: {"event": "wishlist_add"}})
    at.run()
    assert [e.value for e in at.exception] == []
    message = shown(at.error[0].value)
    assert "uses the event(s) 'wishlist_add', which the data does not have" in message
    assert "'add_to_cart'" in message
    assert not at.metric
    # One step is not a funnel.
    _edit_steps(at, deleted=[1, 2, 3])
    at.run()
    assert [e.value for e in at.exception] == []
    assert "A funnel has 2 to 8 steps; this one has 1." in shown(at.error[0].value)
    # A half-filled filter is said, and not applied.
    _edit_steps(at, edited={0: {"property": "device"}})
    at.run()
    _no_errors(at)
    assert any("the filter needs both a property and a value" in shown(w.value)
               for w in at.warning)
    assert _table(at, "steps").value["label"].iloc[0] == "product_view"
    # A filter value nobody has: core's notice, and a funnel of zeros after step 1.
    _edit_steps(at, edited={1: {"property": "device", "value": "toaster"}})
    at.run()
    _no_errors(at)
    assert any("nobody can reach step 2" in shown(w.value) for w in at.warning)


def test_without_events_the_page_says_what_to_load(home, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_AUTOLOAD", "0")
    at = _funnels_page()
    assert [e.value for e in at.exception] == []
    assert "Journeys need an event log" in shown(at.error[0].value)
    assert not at.metric
