"""Feature table on a hand-built event log; every expected value is worked out by hand
in the comments (times are UTC; the data ends at B's last event, 2024-03-10 12:00:30)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError, DataError
from core.data.cleaning import LoadConfig, clean_events
from core.data.mapping import guess_mapping
from core.features.table import (
    FeatureConfig,
    engagement_score,
    quintile_score,
    rfm_segment,
    user_features,
    user_table_features,
)

ROLES = {"product_view": ["product_view"], "add_to_cart": ["add_to_cart"],
         "checkout": ["checkout"], "purchase": ["purchase"]}
ROWS = [
    # user, ts, event, revenue, category, product_id, scroll_depth, duration_s
    ("A", "2024-03-04T10:00:00Z", "page_view", None, None, None, None, 30),   # Monday
    ("A", "2024-03-04T10:01:00Z", "product_view", None, "shoes", "p1", None, 60),
    ("A", "2024-03-04T10:02:00Z", "add_to_cart", None, "shoes", "p1", None, None),
    ("A", "2024-03-04T10:05:00Z", "checkout", None, None, None, None, None),
    ("A", "2024-03-04T10:06:00Z", "purchase", 50.0, None, "p1", None, None),
    ("A", "2024-03-09T02:00:00Z", "scroll", None, None, None, 40, None),      # Saturday night
    ("A", "2024-03-09T02:10:00Z", "add_to_cart", None, "shoes", "p2", None, None),
    ("B", "2024-03-10T12:00:00Z", "page_view", None, None, None, None, 10),   # Sunday
    ("B", "2024-03-10T12:00:30Z", "scroll", None, None, None, 80, None),
    ("C", "2024-03-01T09:00:00Z", "product_view", None, "bags", "p3", None, None),  # Friday
    ("C", "2024-03-01T09:40:00Z", "product_view", None, "shoes", "p1", None, None),
]
DAY = 86_400.0


@pytest.fixture(scope="module")
def table():
    raw = pd.DataFrame(ROWS, columns=["user_id", "ts", "event", "revenue", "category",
                                      "product_id", "scroll_depth", "duration_s"])
    events = clean_events(raw, guess_mapping(raw.columns), LoadConfig()).events
    return user_features(events, FeatureConfig(event_roles=ROLES))


def test_counts_and_sessions(table):
    f = table.frame
    assert f.loc["A", "events"] == 7
    # A: 10:00-10:06 (5 events, 360 s) and 5 days later 02:00-02:10 (2 events, 600 s).
    assert f.loc["A", "sessions"] == 2
    assert f.loc["A", "mean_session_duration_s"] == pytest.approx(480.0)
    assert f.loc["A", "median_session_duration_s"] == pytest.approx(480.0)
    assert f.loc["A", "events_per_session"] == pytest.approx(3.5)
    # C: two product views 40 minutes apart are two sessions of length 0.
    assert f.loc["C", "sessions"] == 2
    assert f.loc["C", "mean_session_duration_s"] == 0
    assert f.loc["B", "sessions"] == 1
    assert f.loc["B", "mean_session_duration_s"] == pytest.approx(30.0)


def test_time_features(table):
    f = table.frame
    # A: first 03-04 10:00, last 03-09 02:10, end 03-10 12:00:30.
    assert f.loc["A", "tenure_days"] == pytest.approx(4 + 16 / 24 + 10 / 1440)
    assert f.loc["A", "days_since_first_event"] == pytest.approx(6 + (2 * 3600 + 30) / DAY)
    assert f.loc["A", "days_since_last_event"] == pytest.approx(1 + (9 * 3600 + 50 * 60 + 30) / DAY)
    assert f.loc["B", "days_since_last_event"] == 0
    assert f.loc["C", "days_since_last_event"] == pytest.approx(9 + (2 * 3600 + 20 * 60 + 30) / DAY)
    # Tenure under 7 days counts as 7: A has 2 sessions -> 2 per week, C 2, B 1.
    assert f.loc["A", "sessions_per_week"] == pytest.approx(2.0)
    assert f.loc["B", "sessions_per_week"] == pytest.approx(1.0)
    assert f.loc["A", "active_days"] == 2
    assert f.loc["C", "active_days"] == 1
    # A: 2 of 7 events on Saturday 02:xx -> weekend and night share 2/7. B all Sunday.
    assert f.loc["A", "weekend_share"] == pytest.approx(2 / 7)
    assert f.loc["A", "night_share"] == pytest.approx(2 / 7)
    assert f.loc["B", "weekend_share"] == 1.0
    assert f.loc["C", "weekend_share"] == 0.0


def test_funnel_and_revenue(table):
    f = table.frame
    assert (f.loc["A", ["product_views", "cart_adds", "checkouts", "purchases"]]
            .tolist() == [1, 2, 1, 1])
    assert f.loc["A", "revenue"] == 50.0
    assert f.loc["A", "average_order_value"] == 50.0
    assert math.isnan(f.loc["B", "average_order_value"])  # no purchase: undefined
    assert f.loc["A", "purchases_per_30_days"] == pytest.approx(30 / 7)
    # A: the first session's cart ended in a purchase, the second's did not -> 1/2.
    assert f.loc["A", "cart_abandonment_rate"] == pytest.approx(0.5)
    assert math.isnan(f.loc["C", "cart_abandonment_rate"])  # no cart: undefined
    assert f.loc["C", "product_views"] == 2
    assert f.loc["A", "count_add_to_cart"] == 2
    assert f.loc["C", "count_page_view"] == 0


def test_content_features(table):
    f = table.frame
    assert f.loc["A", "mean_scroll_depth"] == 40
    assert f.loc["B", "mean_scroll_depth"] == 80
    assert math.isnan(f.loc["C", "mean_scroll_depth"])
    assert f.loc["A", "mean_time_on_page_s"] == pytest.approx(45.0)  # (30 + 60) / 2
    assert f.loc["A", "time_spent_s"] == 90  # sum of time on page when the column exists
    assert f.loc["C", "distinct_categories"] == 2
    assert f.loc["A", "distinct_categories"] == 1
    assert f.loc["C", "distinct_products_viewed"] == 2
    assert f.loc["A", "distinct_products_viewed"] == 1  # p2 was only added, not viewed


def test_trend_and_decay(table):
    f = table.frame
    # All events fall in the last 30 days: trend +1 for everyone.
    assert f.loc["A", "events_last_30_days"] == 7
    assert f.loc["A", "events_previous_30_days"] == 0
    assert f.loc["A", "activity_trend"] == 1.0
    # B: ages 30 s and 0 s with a 14-day half-life.
    expected = 0.5 ** ((30 / DAY) / 14) + 1.0
    assert f.loc["B", "decayed_engagement"] == pytest.approx(expected)


def test_engagement_score(table):
    # Worked with numpy's linear percentiles: events [7,2,2] -> p1 2, p99 6.9 -> A 1, B/C 0;
    # scroll [40,80,0] -> p1 0.8, p99 79.2 -> A 0.5, B 1, C 0;
    # time [90,10,0] -> p1 0.2, p99 88.4 -> A 1, B 9.8/88.2, C 0.
    f = table.frame
    assert f.loc["A", "engagement_score"] == pytest.approx(100 * (1 + 2 * 0.5 + 3) / 6)
    assert f.loc["B", "engagement_score"] == pytest.approx(100 * (2 + 3 * 9.8 / 88.2) / 6)
    assert f.loc["C", "engagement_score"] == 0


def test_rfm(table):
    f = table.frame
    # Recency: C oldest (1), A (1 + floor(5/3) = 2), B most recent (1 + floor(10/3) = 4).
    assert f["rfm_recency"].to_dict() == {"A": 2, "B": 4, "C": 1}
    # Frequency = purchases [1, 0, 0]: ties share the lowest score.
    assert f["rfm_frequency"].to_dict() == {"A": 4, "B": 1, "C": 1}
    assert f["rfm_monetary"].to_dict() == {"A": 4, "B": 1, "C": 1}
    assert f["rfm_segment"].to_dict() == {"A": "At risk", "B": "Promising", "C": "Hibernating"}


def test_every_feature_has_a_definition(table):
    missing = [c for c in table.frame.columns if not table.definitions.get(c)]
    assert missing == []


def test_quintile_score_ties_and_order():
    values = pd.Series(range(10))
    assert quintile_score(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_score(values, higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3,
                                                                       2, 2, 1, 1]
    assert quintile_score(pd.Series([0, 0, 0, 5])).tolist() == [1, 1, 1, 4]


def test_rfm_grid_covers_all_scores():
    names = {rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert rfm_segment(5, 5) == "Champions"
    assert rfm_segment(1, 1) == "Hibernating"
    assert rfm_segment(1, 5) == "Can't lose them"
    assert rfm_segment(5, 1) == "New customers"
    assert len(names) == 10
    with pytest.raises(ValueError):
        rfm_segment(0, 3)


def test_engagement_without_scroll_column_says_so():
    frame = pd.DataFrame({"events": [1, 2, 3], "time_spent_s": [0.0, 10.0, 20.0]})
    notices = []
    score = engagement_score(frame, {"clicks": 1, "scroll_depth": 2, "time_spent": 3}, notices)
    assert [n.code for n in notices] == ["engagement_without_scroll_depth"]
    assert score.iloc[0] == 0 and score.iloc[-1] == pytest.approx(100)


def test_settings_change_features():
    raw = pd.DataFrame(ROWS, columns=["user_id", "ts", "event", "revenue", "category",
                                      "product_id", "scroll_depth", "duration_s"])
    events = clean_events(raw, guess_mapping(raw.columns)).events
    short = user_features(events, FeatureConfig(event_roles=ROLES, half_life_days=1,
                                                trend_window_days=7)).frame
    # C's events are 9+ days old: outside a 7-day window, inside the previous one.
    assert short.loc["C", "events_last_7_days"] == 0
    assert short.loc["C", "events_previous_7_days"] == 2
    assert short.loc["C", "activity_trend"] == -1.0
    # The names and definitions follow the window; nothing still says 30.
    assert not any("30_days" in c for c in short.columns if c.startswith("events_"))
    table = user_features(events, FeatureConfig(event_roles=ROLES, trend_window_days=7))
    assert table.definitions["events_last_7_days"] == "Events in the last 7 days of the data."
    assert "last 7 days - previous 7" in table.definitions["activity_trend"]
    assert "events_last_30_days" not in table.definitions
    assert list(table.frame.columns).index("events_last_7_days") \
        < list(table.frame.columns).index("activity_trend")
    without_purchase = user_features(events, FeatureConfig(event_roles={})).frame
    assert "purchases" not in without_purchase.columns


def test_invalid_settings_refused():
    events = pd.DataFrame({"user_id": ["a"], "ts": pd.to_datetime(["2024-01-01"], utc=True),
                           "event": ["x"], "session_id": [1]})
    with pytest.raises(ConfigError, match="half-life"):
        user_features(events, FeatureConfig(half_life_days=0))
    with pytest.raises(ConfigError, match="weights"):
        user_features(events, FeatureConfig(engagement_weights={"clicks": -1}))
    with pytest.raises(DataError, match="no events"):
        user_features(events.iloc[:0])


def test_single_user_single_event():
    raw = pd.DataFrame({"user_id": ["solo"], "ts": ["2024-01-01T00:00:00Z"],
                        "event": ["page_view"]})
    result = clean_events(raw, guess_mapping(raw.columns))
    f = user_features(result.events, FeatureConfig()).frame
    assert len(f) == 1
    assert f.loc["solo", "sessions"] == 1
    assert f.loc["solo", "days_since_last_event"] == 0
    numeric = f.select_dtypes("number")
    assert np.isfinite(numeric.drop(columns=["activity_trend"], errors="ignore")
                       .to_numpy(dtype=float)).all()
    assert {n.code for n in result.report.notices} >= {"single_user", "single_instant"}


def test_per_user_table():
    raw = pd.DataFrame({"customer_id": ["1", "2", "3"], "ltv": ["10.5", "3", ""],
                        "orders": [1, 2, 3], "segment": ["a", "b", "c"]})
    table = user_table_features(raw, "customer_id")
    assert list(table.frame.columns) == ["ltv", "orders"]
    assert table.frame.loc["1", "ltv"] == 10.5
    assert math.isnan(table.frame.loc["3", "ltv"])
    assert [n.code for n in table.notices] == ["non_numeric_columns"]
    with pytest.raises(DataError, match="one row per user"):
        user_table_features(pd.DataFrame({"id": [1, 1], "x": [1, 2]}), "id")
    with pytest.raises(DataError, match="no numeric columns"):
        user_table_features(pd.DataFrame({"id": [1, 2], "x": ["a", "b"]}), "id")
