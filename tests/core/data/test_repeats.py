"""Duplicates and repeats on data shaped like real logs: basket line items, bulk ratings,
date-only purchases and a clickstream with double fires. Nothing real is dropped, what
is dropped is decided the same way however a value was spelled, and a rule that drops
many rows says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.cleaning import LoadConfig, clean_events
from core.data.mapping import ColumnMapping

GROCERY = ColumnMapping({"user_id": "household_id", "ts": "transaction_timestamp",
                         "product_id": "product_id", "order_id": "basket_id",
                         "quantity": "quantity", "revenue": "sales_value"})


def grocery(households: int = 40, seed: int = 3) -> pd.DataFrame:
    """Line items: each basket has 3-25 products bought at the basket's one timestamp."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(households):
        for b in range(rng.integers(2, 8)):
            ts = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 90)),
                                                         minutes=int(rng.integers(0, 900)))
            products = rng.choice(500, size=rng.integers(3, 26), replace=False)
            for p in products:
                rows.append((f"h{h}", f"b{h}_{b}", f"p{p}", int(rng.integers(1, 4)),
                             round(float(rng.uniform(0.5, 20)), 2), ts.isoformat()))
    return pd.DataFrame(rows, columns=["household_id", "basket_id", "product_id", "quantity",
                                       "sales_value", "transaction_timestamp"])


def test_basket_line_items_are_all_kept_and_revenue_adds_up():
    raw = grocery()
    result = clean_events(raw, GROCERY)
    report = result.report
    assert report.rows_kept == len(raw) and report.rows_dropped == 0
    assert report.debounce_seconds == 0 and "order / basket id" in report.debounce_reason
    assert report.constant_event == "purchase" and set(result.events["event"]) == {"purchase"}
    expected = raw.groupby("household_id")["sales_value"].sum()
    got = result.events.groupby("user_id")["revenue"].sum()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_baskets_are_recognised_without_a_basket_id():
    raw = grocery()
    mapping = ColumnMapping({**GROCERY.to_dict(), "order_id": None})
    report = clean_events(raw, mapping).report
    assert report.rows_kept == len(raw)
    assert report.debounce_seconds == 0 and "share their user and instant" in report.debounce_reason


def test_bulk_ratings_with_float_epoch_seconds_are_kept():
    rng = np.random.default_rng(5)
    rows = []
    for u in range(30):
        start = 1_700_000_000.0 + u * 5000
        for i, movie in enumerate(rng.choice(2000, size=40, replace=False)):
            # Rated in bulk: groups of ratings saved in the same second.
            rows.append((f"u{u}", f"m{movie}", float(rng.integers(1, 6)), start + i // 8))
    raw = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    mapping = ColumnMapping({"user_id": "user_id", "ts": "timestamp", "product_id": "item_id"})
    result = clean_events(raw, mapping, LoadConfig(event_name="rating"))
    assert result.report.rows_kept == len(raw)
    assert result.report.debounce_seconds == 0
    assert set(result.events["event"]) == {"rating"}
    assert result.events["rating"].sum() == raw["rating"].sum()


def test_dates_without_a_time_switch_the_debounce_off():
    raw = pd.DataFrame({"customer_id": ["c1", "c1", "c1", "c2"],
                        "date": ["2024-03-01", "2024-03-01", "2024-03-02", "2024-03-01"],
                        "dollar_value": [12.5, 12.5, 3.0, 7.0]})
    mapping = ColumnMapping({"user_id": "customer_id", "ts": "date", "revenue": "dollar_value"})
    # Two identical purchases on one day are exact duplicates only if everything agrees;
    # without a time of day the debounce would have merged any two same-day purchases.
    report = clean_events(raw, mapping, LoadConfig(drop_exact_duplicates=False)).report
    assert report.rows_kept == 4 and report.debounce_seconds == 0
    assert "whole day" in report.debounce_reason


def clickstream() -> pd.DataFrame:
    base = pd.Timestamp("2024-05-01 10:00:00", tz="UTC")
    rows = [
        ("u1", base, "product_view", "p1"),
        ("u1", base + pd.Timedelta(milliseconds=300), "product_view", "p1"),  # double fire
        ("u1", base + pd.Timedelta(milliseconds=600), "product_view", "p2"),  # another item
        ("u1", base + pd.Timedelta(seconds=5), "add_to_cart", "p2"),
        ("u2", base, "page_view", None),
        ("u2", base + pd.Timedelta(seconds=20), "page_view", None),
    ]
    return pd.DataFrame(rows, columns=["user_id", "ts", "event", "product_id"])


def test_a_clickstream_drops_double_fires_of_the_same_item_only():
    raw = clickstream()
    mapping = ColumnMapping({"user_id": "user_id", "ts": "ts", "event": "event",
                             "product_id": "product_id"})
    result = clean_events(raw, mapping)
    assert result.report.debounce_seconds == 1.0
    assert result.report.dropped["debounced"] == 1
    kept = result.events[result.events["user_id"] == "u1"]
    assert list(kept["product_id"]) == ["p1", "p2", "p2"]
    assert kept["ts"].iloc[0] == raw["ts"].iloc[0]  # the first of the pair is kept


def test_the_kept_row_does_not_depend_on_how_the_time_was_spelled():
    # The same event logged twice (two spellings of one instant) with a different
    # session note: whichever order the rows come in, the first row of the file wins.
    rows = [("u1", "2024-01-01T10:00:00Z", "purchase", 30.0, "a"),
            ("u1", "2024-01-01 10:00:00+00:00", "purchase", 30.0, "b")]
    mapping = ColumnMapping({"user_id": "user_id", "ts": "ts", "event": "event",
                             "revenue": "revenue"})
    for order in (rows, rows[::-1]):
        raw = pd.DataFrame(order, columns=["user_id", "ts", "event", "revenue", "note"])
        events = clean_events(raw, mapping).events
        assert len(events) == 1 and events["note"].iloc[0] == order[0][4]
        assert events["revenue"].sum() == 30.0


def test_a_rule_that_drops_many_rows_says_so():
    raw = clickstream()
    doubled = pd.concat([raw, raw], ignore_index=True)  # every row twice: 50 % duplicates
    mapping = ColumnMapping({"user_id": "user_id", "ts": "ts", "event": "event",
                             "product_id": "product_id"})
    report = clean_events(doubled, mapping).report
    warning = next(n for n in report.notices if n.code == "many_rows_dropped")
    assert warning.level == "warning" and warning.subject == "exact_duplicate"
    assert "6 of 12 rows (50.0%)" in warning.message and "Untick" in warning.message
    assert report.large_drops() == {"exact_duplicate": 6, "debounced": 1}


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_a_negative_or_missing_window_is_refused(seconds):
    from core.common.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot be negative"):
        clean_events(clickstream(), ColumnMapping({"user_id": "user_id", "ts": "ts"}),
                     LoadConfig(debounce_seconds=seconds))


def test_a_duration_in_milliseconds_becomes_seconds():
    raw = pd.DataFrame({"user_pseudo_id": ["a", "a"], "event_timestamp": [1, 2],
                        "event_name": ["page_view", "scroll"],
                        "param.engagement_time_msec": [1500, 250]})
    mapping = ColumnMapping({"user_id": "user_pseudo_id", "ts": "event_timestamp",
                             "event": "event_name",
                             "duration_s": "param.engagement_time_msec"})
    result = clean_events(raw, mapping, LoadConfig(timestamp_unit="us"))
    assert list(result.events["duration_s"]) == [1.5, 0.25]
    assert any(n.code == "duration_in_ms" for n in result.report.notices)
