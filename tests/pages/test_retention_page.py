"""The Retention page under AppTest: the heatmap, curves and lifecycle show core's numbers
for the same workspace, split by persona after clustering, the notices and conventions
are said, and data within one period gets core's message in place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.common.errors import ConfigError
from core.journeys import lifecycle, retention, retention_curve
from tests.pages.apptest import (
    APP,
    TIMEOUT,
    cluster_sample,
    no_errors,
    plotly_array,
    plotly_figures,
    shown,
)


def _retention_page(cluster: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if cluster:
        cluster_sample(at, k=4)
    at.switch_page("pages/retention.py").run()
    return at


def _figure(at: AppTest, title: str) -> dict:
    return next(f for f in plotly_figures(at) if f["layout"]["title"]["text"].startswith(title))


def _heatmap_shares(figure: dict) -> np.ndarray:
    return plotly_array(figure["data"][0]["z"]).astype(float)


def test_weekly_cohorts_equal_core(home):
    at = _retention_page()
    no_errors(at)
    ws = at.session_state["workspace"]
    tz = ws.data.report.time_zone
    expected = retention(ws.events, "week", "n_period", None, 12, tz)
    heatmap = _figure(at, "Retention of All users")
    np.testing.assert_allclose(_heatmap_shares(heatmap),
                               expected.wide().to_numpy(dtype=float), equal_nan=True)
    rows = [f"{label} ({size:,})" for label, size in expected.wide().index]
    assert heatmap["data"][0]["y"] == rows
    assert heatmap["data"][0]["x"][:2] == ["Week 0", "Week 1"]
    curve = retention_curve(expected)
    curves = _figure(at, "Retention curves")
    np.testing.assert_allclose(plotly_array(curves["data"][0]["y"]), curve["share"])
    life = lifecycle(ws.events, "week", None, tz)
    bars = _figure(at, "Lifecycle of All users")
    new = next(t for t in bars["data"] if t["name"] == "New")
    assert plotly_array(new["y"]).tolist() == life["new"].tolist()
    dormant = next(t for t in bars["data"] if t["name"] == "Dormant")
    assert plotly_array(dormant["y"]).tolist() == life["dormant"].tolist()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users in cohorts"] == "5,000"
    # The incomplete last week is a warning; conventions and the calendar are said.
    incomplete = next(n for n in expected.notices if n.code == "last_period_incomplete")
    assert [shown(w.value) for w in at.warning] == [incomplete.message]
    captions = " ".join(shown(c.value) for c in at.caption)
    assert "ISO weeks, Monday 00:00 to Sunday 24:00" in captions
    assert expected.convention in captions
    assert life.attrs["convention"] in captions
    assert "active in exactly the k-th week" in str(at.radio(key="retention.mode").proto)

    # Monthly and unbounded, with fewer periods.
    at.radio(key="retention.period").set_value("month")
    at.radio(key="retention.mode").set_value("unbounded")
    at.number_input(key="retention.max_periods").set_value(2).run()
    no_errors(at)
    expected = retention(ws.events, "month", "unbounded", None, 2, tz)
    shares = _heatmap_shares(_figure(at, "Retention of All users"))
    assert shares.shape[1] == 3
    np.testing.assert_allclose(shares, expected.wide().to_numpy(dtype=float), equal_nan=True)
    assert "Month 2" in _figure(at, "Retention of All users")["data"][0]["x"]


def test_split_by_persona_compares_curves_and_shows_one_group(home):
    at = _retention_page(cluster=True)
    no_errors(at)
    ws = at.session_state["workspace"]
    assert at.selectbox(key="retention.split").value == "persona"
    groups = ws.persona_labels()
    tz = ws.data.report.time_zone
    expected = retention(ws.events, "week", "n_period", groups, 12, tz)
    curve = retention_curve(expected)
    curves = _figure(at, "Retention curves")
    assert [t["name"] for t in curves["data"]] == sorted(groups.unique())
    for trace in curves["data"]:
        part = curve[curve["group"] == trace["name"]].sort_values("period")
        np.testing.assert_allclose(plotly_array(trace["y"]), part["share"])
    # Everyone pooled, then one persona.
    pooled = retention(ws.events, "week", "n_period", None, 12, tz)
    np.testing.assert_allclose(_heatmap_shares(_figure(at, "Retention of All users")),
                               pooled.wide().to_numpy(dtype=float), equal_nan=True)
    persona = sorted(groups.unique())[1]
    at.selectbox(key="retention.group").set_value(persona).run()
    no_errors(at)
    np.testing.assert_allclose(_heatmap_shares(_figure(at, f"Retention of {persona}")),
                               expected.wide(persona).to_numpy(dtype=float), equal_nan=True)
    life = lifecycle(ws.events, "week", groups, tz)
    bars = _figure(at, f"Lifecycle of {persona}")
    returning = next(t for t in bars["data"] if t["name"] == "Returning")
    assert plotly_array(returning["y"]).tolist() == \
        life.loc[life["group"] == persona, "returning"].tolist()


@pytest.mark.parametrize("period", ["week", "month"])
def test_data_within_one_period_says_so_in_place(home, period):
    at = _retention_page()
    ws = at.session_state["workspace"]
    events = ws.events
    if period == "week":  # Monday 29 June to Tuesday 30 June: one ISO week
        events = events[events["ts"] >= pd.Timestamp("2026-06-29", tz="UTC")]
    else:  # June only
        events = events[events["ts"] >= pd.Timestamp("2026-06-01", tz="UTC")]
    ws.set_frame("events", events.reset_index(drop=True))
    ws.changed("data")
    at.radio(key="retention.period").set_value(period).run()
    assert [e.value for e in at.exception] == []
    with pytest.raises(ConfigError) as refused:
        retention(events, period, tz=ws.data.report.time_zone)
    assert [shown(e.value) for e in at.error] == [str(refused.value)]
    assert ("Choose period = week." if period == "month" else "Load a longer period") \
        in str(refused.value)
    assert any(f"need events in at least two {period}s" in i.value for i in at.info)
    assert plotly_figures(at) == []
    # The settings are still there.
    assert at.radio(key="retention.period").value == period
