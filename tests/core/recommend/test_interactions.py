"""The user × item matrix: summed weights, event counts and the strongest event per cell,
events without weight ignored, rows without an item counted in a notice, and clear
errors when there is no item column or nothing weighted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError, DataError
from core.recommend import build_interactions
from tests.core.recommend.conftest import ITEMS, LOG, WEIGHTS, shop_events


def test_cells_sum_the_weights_and_keep_counts_and_the_strongest_event(events):
    extra = shop_events([*LOG, ("B", "y", "product_view"), ("B", "y", "page_view")])
    result = build_interactions(extra, WEIGHTS)
    assert list(result.users) == ["A", "B", "C", "D", "E", "G"]
    assert list(result.items) == ITEMS
    expected = np.array([
        # w  x  y  z
        [0, 1, 1, 0],  # A
        [0, 1, 6, 0],  # B: a purchase (5) and a view (1) of y; page_view has no weight
        [0, 0, 1, 1],  # C
        [5, 0, 0, 3],  # D
        [0, 0, 1, 0],  # E
        [5, 0, 0, 0],  # G
    ], dtype=np.float32)
    np.testing.assert_array_equal(result.matrix.toarray(), expected)
    assert result.matrix.dtype == np.float32
    assert result.counts[1, 2] == 2
    assert result.events == ("purchase", "add_to_cart", "product_view")
    # B's strongest event on y is the purchase, D's on z the cart add.
    assert result.events[result.strongest[1, 2] - 1] == "purchase"
    assert result.events[result.strongest[3, 3] - 1] == "add_to_cart"
    assert list(result.item_users()) == [2, 2, 4, 2]
    history = result.history_table("B")
    assert history.to_dict("records") == [
        {"item": "y", "weight": 6.0, "events": 2, "strongest": "purchase"},
        {"item": "x", "weight": 1.0, "events": 1, "strongest": "product_view"}]
    assert result.history_table("nobody").empty
    assert list(result.rows_of(["C", "nobody"])) == [2, -1]


def test_unweighted_events_are_ignored_and_said(events):
    result = build_interactions(events, {"product_view": 1, "purchase": 0})
    assert result.matrix.sum() == 6  # the six product views
    assert list(result.items) == ["x", "y", "z"]
    notice = next(n for n in result.notices if n.code == "events_not_weighted")
    assert notice.level == "info"
    assert "add_to_cart" in notice.message and "purchase" in notice.message


def test_rows_without_an_item_are_counted_in_a_notice_never_dropped_silently(events):
    rows = events.copy()
    rows.loc[[0, 3], "product_id"] = [None, ""]  # A's view of x, B's purchase of y
    rows = pd.concat([rows, pd.DataFrame({
        "user_id": ["A"], "ts": [pd.Timestamp("2024-02-01", tz="UTC")],
        "event": ["checkout"], "product_id": [None]})], ignore_index=True)
    result = build_interactions(rows, {**WEIGHTS, "checkout": 2})
    notice = next(n for n in result.notices if n.code == "rows_without_item")
    assert notice.level == "warning"
    assert notice.subject == "product_id"
    assert notice.message == ("3 weighted events have no product_id and are left out "
                              "(1 product_view, 1 purchase, 1 checkout).")
    assert result.counts.sum() == len(events) - 2


def test_another_item_column_can_be_named(events):
    rows = events.rename(columns={"product_id": "movie"})
    result = build_interactions(rows, WEIGHTS, item_column="movie")
    assert result.item_column == "movie"
    assert list(result.items) == ITEMS


def test_no_item_column_is_a_clear_config_error(events):
    with pytest.raises(ConfigError, match=r"no item column 'product_id'.*Map the product"):
        build_interactions(events.drop(columns="product_id"), WEIGHTS)
    with pytest.raises(ConfigError, match=r"no item column 'sku'.*user_id, ts, event"):
        build_interactions(events, WEIGHTS, item_column="sku")


@pytest.mark.parametrize(("weights", "words"), [
    ({"product_view": 0, "purchase": 0}, "No event has a weight above 0"),
    ({}, "No event has a weight above 0"),
    ({"rating": 1}, "None of the weighted events \\(rating\\) is in the data"),
    ({"purchase": -1}, "must be a number from 0 to 1000"),
    ({"purchase": float("nan")}, "must be a number from 0 to 1000"),
    ({"purchase": "5"}, "must be a number from 0 to 1000"),
])
def test_nothing_weighted_is_a_clear_config_error(events, weights, words):
    with pytest.raises(ConfigError, match=words):
        build_interactions(events, weights)


def test_weighted_events_that_never_name_an_item_are_a_data_error(events):
    rows = events.assign(product_id=None)
    with pytest.raises(DataError, match="has a product_id"):
        build_interactions(rows, WEIGHTS)
