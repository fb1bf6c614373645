"""The Polars benchmark baseline (bench/baseline_polars.py) computes what core computes.

The benchmark compares core with the baseline on millions of events; these tests keep
the baseline from drifting away from core's definitions on small logs: a generated
sample, and hand-made logs whose exact duplicates, double fires, rows at one instant and
unusable rows exercise each cleaning rule (including the automatic debounce decision).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.baseline_polars import features_polars
from core.data.sample import write_sample
from core.features.pipeline import features_from_file

RTOL, ATOL = 1e-6, 1e-9
COLUMNS = ["user_id", "ts", "event", "revenue", "page", "category", "product_id",
           "scroll_depth", "duration_s", "device"]


#: Features of funnel events; core leaves out those of an event the data lacks, the
#: baseline (written for the sample, which has them all) always has them.
FUNNEL_FEATURES = {"product_views", "cart_adds", "checkouts", "purchases",
                   "purchases_per_30_days", "average_order_value", "cart_abandonment_rate"}


def _assert_same_features(core: pd.DataFrame, polars: pd.DataFrame,
                          extra: set[str] = frozenset()) -> None:
    """Same users, same columns (but ``extra``), and every value equal within the
    benchmark's tolerance."""
    assert list(polars.index) == list(core.index)
    assert set(core.columns) <= set(polars.columns)
    assert set(polars.columns) - set(core.columns) <= extra
    for col in core.columns:
        a, b = core[col], polars[col]
        if pd.api.types.is_numeric_dtype(a):
            x, y = a.to_numpy(float), b.to_numpy(float)
            bad = ~np.isclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True)
            assert not bad.any(), (col, list(core.index[bad][:5]), x[bad][:5], y[bad][:5])
        else:
            assert (a.astype(str) == b.astype(str)).all(), col


def _write(tmp_path, rows: list[tuple]) -> object:
    """Write rows as Parquet with the sample's column types (not inferred from them)."""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    for col in ("revenue", "scroll_depth", "duration_s"):
        frame[col] = frame[col].astype("float64")
    for col in ("user_id", "event", "page", "category", "product_id", "device"):
        frame[col] = frame[col].astype("str").where(frame[col].notna())
    path = tmp_path / "events.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_generated_sample_agrees_with_core(tmp_path):
    path = tmp_path / "sample.parquet"
    write_sample(path, n_users=250, days=45, seed=7)
    table, report = features_from_file(path)
    # The sample's tracking noise is there, so both rules are exercised here too.
    assert report.dropped["exact_duplicate"] > 0 and report.dropped["debounced"] > 0
    _assert_same_features(table.frame, features_polars(path))


# user, ts, event, revenue, page, category, product_id, scroll_depth, duration_s, device
NOISY = [
    # Written out of time order: the stable sort, not the file, decides the order.
    ("A", "2024-03-04T10:05:00.000Z", "checkout", None, "/checkout", None, None, None, 12.0,
     "web"),
    ("A", "2024-03-04T10:00:00.000Z", "page_view", None, "/", None, None, 30.0, 20.0, "web"),
    # An exact duplicate of the row above (dropped), and a double fire 0.4 s later.
    ("A", "2024-03-04T10:00:00.000Z", "page_view", None, "/", None, None, 30.0, 20.0, "web"),
    ("A", "2024-03-04T10:00:00.400Z", "page_view", None, "/", None, None, 90.0, 5.0, "web"),
    # A chain of repeats 0.6 s apart: each is within 1 s of the one before, so all but
    # the first go, although the last is 1.2 s after the first.
    ("A", "2024-03-04T10:01:00.000Z", "product_view", None, "/p/1", "shoes", "p1", 10.0,
     8.0, "web"),
    ("A", "2024-03-04T10:01:00.600Z", "product_view", None, "/p/1", "shoes", "p1", 20.0,
     9.0, "web"),
    ("A", "2024-03-04T10:01:01.200Z", "product_view", None, "/p/1", "shoes", "p1", 40.0,
     7.0, "web"),
    # Within 1 s but another product: a real event, kept.
    ("A", "2024-03-04T10:01:01.500Z", "product_view", None, "/p/2", "shoes", "p2", 50.0,
     6.0, "web"),
    # 1.5 s after the same event: kept.
    ("A", "2024-03-04T10:01:03.000Z", "product_view", None, "/p/2", "shoes", "p2", 60.0,
     6.0, "web"),
    ("A", "2024-03-04T10:02:00.000Z", "add_to_cart", None, "/p/2", "shoes", "p2", None,
     None, "web"),
    ("A", "2024-03-04T10:06:00.000Z", "purchase", 40.0, "/done", None, "p2", None, None,
     "web"),
    # The same purchase fired twice, and a second purchase of another value: kept.
    ("A", "2024-03-04T10:06:00.300Z", "purchase", 40.0, "/done", None, "p2", None, None,
     "web"),
    ("A", "2024-03-04T10:06:00.500Z", "purchase", 15.0, "/done", None, "p2", None, None,
     "web"),
    # Second session of A, two days later at night.
    ("A", "2024-03-06T02:00:00.000Z", "add_to_cart", None, "/p/3", "bags", "p3", None, 4.0,
     "app"),
    # B: at one instant, two rows of one identity that differ elsewhere: the first of the
    # file is kept, so its scroll depth (70, not 10) counts.
    ("B", "2024-03-09T12:00:00.000Z", "scroll", None, "/blog", None, None, 70.0, 30.0,
     "web"),
    ("B", "2024-03-09T12:00:00.000Z", "scroll", None, "/blog", None, None, 10.0, 1.0, "web"),
    ("B", "2024-03-09T12:40:00.000Z", "page_view", None, "/", None, None, None, 15.0, "web"),
    # A gap of exactly 30 minutes stays in the session; 30 minutes and 1 s starts one.
    ("B", "2024-03-09T13:10:00.000Z", "page_view", None, "/b", None, None, None, 15.0, "web"),
    ("B", "2024-03-09T13:40:01.000Z", "page_view", None, "/c", None, None, None, 15.0, "web"),
    ("B", "2024-03-10T18:00:00.000Z", "product_view", None, "/p/1", "shoes", "p1", 25.0,
     11.0, "web"),
    # Same instant, other device only: not an exact duplicate, but a repeat.
    ("C", "2024-03-01T09:00:00.000Z", "product_view", None, "/p/3", "bags", "p3", None, 3.0,
     "web"),
    ("C", "2024-03-01T09:00:00.000Z", "product_view", None, "/p/3", "bags", "p3", None, 3.0,
     "app"),
    ("C", "2024-03-01T09:50:00.000Z", "product_view", None, "/p/1", "shoes", "p1", None,
     2.0, "web"),
    ("C", "2024-03-08T09:50:00.000Z", "search", None, "/search", None, None, None, 2.0,
     "web"),
    # Exactly 1 s after the same event: not within the window, kept (with another event
    # between them).
    ("C", "2024-03-08T09:50:00.500Z", "page_view", None, "/", None, None, None, 2.0, "web"),
    ("C", "2024-03-08T09:50:01.000Z", "search", None, "/search", None, None, None, 2.0,
     "web"),
    ("D", "2024-03-10T20:00:00.000Z", "page_view", None, "/", None, None, 55.0, 40.0, "web"),
    # Unusable rows: no user, no time, no event.
    (None, "2024-03-02T10:00:00.000Z", "page_view", None, "/", None, None, None, 1.0, "web"),
    ("D", None, "page_view", None, "/", None, None, None, 1.0, "web"),
    ("D", "2024-03-10T20:10:00.000Z", None, None, "/", None, None, None, 1.0, "web"),
]
# A log where many rows share their user and instant with another item (basket line
# items): core turns the debounce off, so the double purchase of p1 is kept. D has the
# other funnel events, which the baseline takes as given (as in the sample).
BASKETS = [
    (user, f"2024-03-0{day}T1{hour}:00:0{second}.000Z", "purchase", price, "/done", "food",
     product, None, None, "web")
    for user, day, hour in (("A", 1, 0), ("A", 3, 2), ("B", 2, 1), ("C", 4, 5))
    for second in (0, 1)
    for product, price in (("p1", 2.0), ("p2", 3.5), ("p3", 1.25))
] + [("A", "2024-03-01T10:00:00.500Z", "purchase", 2.0, "/done", "food", "p1", None, None,
      "web"),
     ("D", "2024-03-05T09:00:00.000Z", "product_view", None, "/p/1", "food", "p1", 40.0,
      9.0, "web"),
     ("D", "2024-03-05T09:01:00.000Z", "add_to_cart", None, "/p/1", "food", "p1", None,
      None, "web"),
     ("D", "2024-03-05T09:02:00.000Z", "checkout", None, "/checkout", None, None, None,
      None, "web")]


def test_cleaning_rules_agree_with_core(tmp_path):
    path = _write(tmp_path, NOISY)
    table, report = features_from_file(path)
    # The log exercises every rule: 3 unusable rows, 1 exact duplicate, and the double
    # fires (A: 1 page view, 2 product views, 1 purchase; B: 1 scroll; C: 1 view).
    assert report.dropped["missing_user_id"] == 1
    assert report.dropped["missing_timestamp"] == 1
    assert report.dropped["missing_event"] == 1
    assert report.dropped["exact_duplicate"] == 1
    assert report.dropped["debounced"] == 6
    assert report.debounce_seconds == 1.0
    polars = features_polars(path)
    assert polars.loc["A", "events"] == 9 and polars.loc["B", "mean_scroll_depth"] == 47.5
    assert polars.loc["B", "sessions"] == 4 and polars.loc["C", "events"] == 5
    _assert_same_features(table.frame, polars)


def test_debounce_decision_agrees_with_core(tmp_path):
    path = _write(tmp_path, BASKETS)
    table, report = features_from_file(path)
    assert report.debounce_seconds == 0.0  # basket line items: no debounce
    polars = features_polars(path)
    assert polars.loc["A", "purchases"] == 13
    _assert_same_features(table.frame, polars)


@pytest.mark.parametrize("rows", [NOISY[:1], NOISY[14:16]], ids=["one row", "one instant"])
def test_tiny_logs_agree_with_core(tmp_path, rows):
    # One user, one session; zero spans, equal percentiles, a single RFM rank.
    path = _write(tmp_path, rows)
    _assert_same_features(features_from_file(path)[0].frame, features_polars(path),
                          extra=FUNNEL_FEATURES)
