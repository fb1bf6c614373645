"""Conditions over a recent window ("purchases in the last 30 days"), counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.features.windows import window_column, windowed_counts
from core.segment.rule_segments import Condition, SegmentRule, evaluate, presets, rule_from_rows

END = pd.Timestamp("2026-06-30 12:00", tz="UTC")
ROLES = {"purchase": ["purchase", "order_completed"]}


def _events() -> pd.DataFrame:
    rows = [
        # a: two purchases in the last 30 days (one under a second name), one before
        ("a", 1, END - pd.Timedelta(days=40), "purchase", 10.0),
        ("a", 2, END - pd.Timedelta(days=20), "purchase", 20.0),
        ("a", 3, END - pd.Timedelta(days=2), "order_completed", 30.0),
        ("a", 3, END - pd.Timedelta(days=2, minutes=-1), "page_view", None),
        # b: only old activity
        ("b", 1, END - pd.Timedelta(days=60), "purchase", 5.0),
        ("b", 1, END - pd.Timedelta(days=60, minutes=-3), "page_view", None),
        # c: a page view exactly at the end of the data
        ("c", 1, END, "page_view", None),
    ]
    return pd.DataFrame(rows, columns=["user_id", "session_id", "ts", "event", "revenue"])


USERS = pd.Index(["a", "b", "c", "d"], name="user_id")  # d has no events at all


def test_counts_over_a_window_end_at_the_last_event():
    wanted = [("purchases", 30), ("revenue", 30), ("sessions", 30), ("events", 7),
              ("count_page_view", 90)]
    counts = windowed_counts(_events(), wanted, ROLES, USERS)
    assert counts.index.equals(USERS)
    assert counts[window_column("purchases", 30)].tolist() == [2, 0, 0, 0]
    assert counts[window_column("revenue", 30)].tolist() == [50.0, 0, 0, 0]
    assert counts[window_column("sessions", 30)].tolist() == [2, 0, 1, 0]
    assert counts[window_column("events", 7)].tolist() == [2, 0, 1, 0]
    assert counts[window_column("count_page_view", 90)].tolist() == [1, 1, 1, 0]


def test_a_windowed_condition_selects_recent_buyers():
    features = pd.DataFrame({"purchases": [3, 1, 0, 0]}, index=USERS)
    recent = SegmentRule("Recent buyers", (Condition("purchases", ">=", 2, window_days=30),))
    ever = SegmentRule("Buyers", (Condition("purchases", ">=", 1),))
    result = evaluate(features, [recent, ever], events=_events(), event_roles=ROLES)
    assert result.matrix["Recent buyers"].tolist() == [True, False, False, False]
    assert result.matrix["Buyers"].tolist() == [True, True, False, False]
    assert recent.text() == "purchases in the last 30 days >= 2"


def test_windows_need_events_and_a_countable_feature():
    features = pd.DataFrame({"purchases": [3, 1, 0, 0], "tenure_days": [1, 2, 3, 4]},
                            index=USERS)
    windowed = SegmentRule("x", (Condition("purchases", ">", 1, window_days=7),))
    with pytest.raises(ConfigError, match="need an event log"):
        evaluate(features, [windowed])
    tenure = SegmentRule("y", (Condition("tenure_days", ">", 1, window_days=7),))
    with pytest.raises(ConfigError, match="has no 'in the last N days' form"):
        evaluate(features, [tenure], events=_events(), event_roles=ROLES)
    with pytest.raises(ConfigError, match="No event is marked as purchase"):
        evaluate(features, [windowed], events=_events(), event_roles={})
    with pytest.raises(ConfigError, match="positive number of days"):
        windowed_counts(_events(), [("events", 0)], ROLES, USERS)


def test_rows_with_a_window_and_the_frequent_buyers_preset():
    rule = rule_from_rows("x", [{"feature": "purchases", "operator": ">", "value": "5",
                                 "upper": None, "window_days": 30.0},
                                {"feature": "sessions", "operator": ">", "value": "1",
                                 "upper": float("nan"), "window_days": float("nan")}])
    assert [c.window_days for c in rule.conditions] == [30.0, None]
    assert SegmentRule.from_dict(rule.to_dict()) == rule
    features = pd.DataFrame({"purchases": [1], "purchases_per_30_days": [1.0]})
    windowed = {r.name: r for r in presets(features)}["Frequent buyers"]
    assert windowed.windows() == [("purchases", 30)]
    plain = {r.name: r for r in presets(features, windows=False)}["Frequent buyers"]
    assert plain.conditions[0].feature == "purchases_per_30_days"
