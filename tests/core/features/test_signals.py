"""Recent-behavior signals on a hand-built log; expected values worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from core.common.errors import DataError
from core.features.signals import behavior_signals, data_now, hours_since_last_event, window_counts

ROLES = {"product_view": ["product_view"], "add_to_cart": ["add_to_cart"],
         "checkout": ["checkout"], "purchase": ["purchase"]}
END = pd.Timestamp("2026-06-30 12:00:00")


def _events() -> pd.DataFrame:
    rows = [
        # user a, an old session 10 days before the end...
        ("a", END - pd.Timedelta(days=10), "product_view", 1, "shoes"),
        ("a", END - pd.Timedelta(days=10, minutes=-1), "purchase", 1, None),
        # ... and the latest one: 3 views of shoes, 1 of hats, a checkout at 11:30 and a
        # last page view 12 minutes later, no purchase.
        ("a", END - pd.Timedelta(minutes=40), "product_view", 2, "shoes"),
        ("a", END - pd.Timedelta(minutes=38), "product_view", 2, "shoes"),
        ("a", END - pd.Timedelta(minutes=36), "product_view", 2, "hats"),
        ("a", END - pd.Timedelta(minutes=34), "product_view", 2, "shoes"),
        ("a", END - pd.Timedelta(minutes=30), "checkout", 2, None),
        ("a", END - pd.Timedelta(minutes=18), "page_view", 2, None),
        # user b: last seen exactly 2 days before the end, checkout then purchase.
        ("b", END - pd.Timedelta(days=2, minutes=5), "checkout", 7, None),
        ("b", END - pd.Timedelta(days=2), "purchase", 7, None),
        # user c: the last event of the data.
        ("c", END, "page_view", 3, None),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "ts", "event", "session_id", "category"])
    frame["ts"] = frame["ts"].dt.tz_localize("UTC")  # as stored in a workspace
    return frame


def test_now_is_the_last_timestamp_as_naive_utc():
    assert data_now(_events()) == END


def test_window_counts_count_inside_the_window_only():
    events = _events()
    views_7d = window_counts(events, "product_view", 7)
    assert views_7d.to_dict() == {"a": 4, "b": 0, "c": 0}
    views_11d = window_counts(events, "product_view", 11)
    assert views_11d["a"] == 5
    # Several names count together; a two-day window excludes b's events at exactly
    # END - 2 days (the window is (now - 2 d, now]) and the checkout 5 minutes earlier.
    funnel = window_counts(events, ["checkout", "purchase"], 2)
    assert funnel.to_dict() == {"a": 1, "b": 0, "c": 0}
    assert window_counts(events, ["checkout", "purchase"], 2.01)["b"] == 2
    # Users with no events at all can be asked for, and get 0.
    some = window_counts(events, "purchase", 30, users=pd.Index(["b", "z"]))
    assert some.to_dict() == {"b": 1, "z": 0}


def test_window_counts_refuse_an_empty_window():
    with pytest.raises(DataError, match="longer than 0"):
        window_counts(_events(), "purchase", 0)


def test_hours_since_last_event():
    hours = hours_since_last_event(_events())
    assert hours["a"] == pytest.approx(18 / 60)
    assert hours["b"] == pytest.approx(48)
    assert hours["c"] == 0


def test_session_signals_read_the_latest_session():
    signals = behavior_signals(_events(), ROLES)
    frame = signals.frame
    assert signals.now == END
    a, b = frame.loc["a"], frame.loc["b"]
    assert a["session_category_views"] == 3  # shoes, not shoes + hats
    assert a["session_product_views"] == 4
    assert a["session_events"] == 6
    assert a["session_minutes"] == pytest.approx(22)
    assert a["checkout_minutes_without_purchase"] == pytest.approx(12)
    assert b["checkout_minutes_without_purchase"] == 0  # bought
    assert b["session_product_views"] == 0
    assert signals.notices == []


def test_time_on_page_extends_the_checkout_time():
    events = _events()
    events["duration_s"] = None
    events.loc[(events["user_id"] == "a") & (events["event"] == "page_view"),
               "duration_s"] = 120.0
    a = behavior_signals(events, ROLES).frame.loc["a"]
    assert a["checkout_minutes_without_purchase"] == pytest.approx(14)


def test_missing_roles_users_and_categories_are_reported():
    events = _events().drop(columns="category")
    signals = behavior_signals(events, {"purchase": ["purchase"]},
                               users=pd.Index(["a", "b", "c", "nobody"], name="user_id"))
    codes = {n.code for n in signals.notices}
    assert codes == {"no_product_view_event", "no_checkout_event", "no_category",
                     "users_without_events"}
    assert signals.frame.loc["nobody"].isna().all()
    assert signals.frame.loc["a", "session_category_views"] == 0  # no view events known
