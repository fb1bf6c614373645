"""The time-split evaluation: no event after the cutoff enters training, relevance and
the users scored follow the stated convention (and say how many are not scored), and on
the sample shop item-item and ALS clearly beat the popularity baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.recommend import build_interactions, evaluate, make, time_split
from core.recommend.evaluation import ALL_USERS, CONVENTION, METRICS, evaluate_split
from tests.core.recommend.conftest import WEIGHTS, shop_events

CUTOFF = "2024-01-01 10:00"  # after the ten rows of LOG (one an hour from midnight)
LATER = [
    ("A", "z", "product_view"),  # new to A: relevant
    ("A", "x", "purchase"),      # A had x before: a re-visit, not relevant
    ("B", "w", "product_view"),  # relevant to B
    ("C", "y", "product_view"),  # C only comes back to y: nothing relevant
    ("N", "x", "product_view"),  # N is new: not scored
    ("E", "v", "product_view"),  # v is a new item: left out
]


@pytest.fixture
def log():
    before = shop_events()
    after = shop_events(LATER, start="2024-01-02")
    return pd.concat([before, after], ignore_index=True)


def test_training_is_built_from_events_before_the_cutoff_only(log):
    split = time_split(log, WEIGHTS, CUTOFF)
    alone = build_interactions(log[log["ts"] < pd.Timestamp(CUTOFF, tz="UTC")], WEIGHTS)
    np.testing.assert_array_equal(split.train.matrix.toarray(), alone.matrix.toarray())
    assert list(split.train.users) == list(alone.users)
    assert list(split.train.items) == list(alone.items)
    # Changing everything after the cutoff changes nothing the methods learn from.
    flooded = pd.concat([log, shop_events([("A", "w", "purchase")] * 50,
                                          start="2024-01-05")], ignore_index=True)
    other = time_split(flooded, WEIGHTS, CUTOFF)
    for key in ("item_item", "als"):
        first = make(key).fit(split.train).recommend(np.arange(6), 3)[0]
        second = make(key).fit(other.train).recommend(np.arange(6), 3)[0]
        np.testing.assert_array_equal(first, second)


def test_relevant_items_are_new_to_the_user_after_the_cutoff(log):
    split = time_split(log, WEIGHTS, CUTOFF)
    relevant = {(split.train.users[u], split.train.items[i])
                for u, i in zip(*split.relevant.nonzero(), strict=True)}
    assert relevant == {("A", "z"), ("B", "w")}
    assert list(split.train.users[split.scored_rows]) == ["A", "B"]
    codes = {n.code: n for n in split.notices}
    assert codes["new_users_not_scored"].message.startswith(
        "Users without history before the cutoff: 1;")
    assert codes["users_without_test_items"].message.startswith(
        "Users who came back only to items they already had: 2;")
    assert codes["new_items_left_out"].message.startswith(
        "Test interactions on items nobody had before the cutoff: 1;")
    assert "before 2024-01-01 10:00 UTC (6 users, 4 items)" in codes["time_split"].message


def test_the_evaluation_scores_the_stated_users_with_the_stated_convention(log, personas):
    result = evaluate(log, WEIGHTS, ["popularity", "item_item"], k=2, cutoff=CUTOFF,
                      groups=personas)
    assert result.users_scored == 2
    assert result.convention == CONVENTION.format(k=2)
    notice = next(n for n in result.notices if n.code == "evaluation_convention")
    assert notice.message == result.convention and notice.subject == "relevance"
    overall = result.overall()
    assert list(overall["method"]) == ["popularity", "item_item"]
    # Popularity for A (seen x, y): w, z -> z relevant at rank 2; for B: w, z -> w at 1.
    row = overall.iloc[0]
    assert row["precision"] == pytest.approx(0.5)
    assert row["recall"] == pytest.approx(1.0)
    assert row["map"] == pytest.approx((1 / 2 + 1) / 2)
    assert row["ndcg"] == pytest.approx((1 / np.log2(3) + 1) / 2)
    assert row["coverage"] == pytest.approx(0.5)
    # Per persona: A and B are both P.
    assert set(result.table["group"]) == {ALL_USERS, "P"}
    assert set(result.long()["metric"]) == set(METRICS)
    assert result.best("recall") in ("popularity", "item_item")


@pytest.mark.parametrize(("cutoff", "words"), [
    ("2023-12-01", "No interaction falls before the cutoff"),
    ("2025-01-01", "No interaction falls after the cutoff"),
    ("yesterday", "is not a date"),
])
def test_a_cutoff_outside_the_data_is_a_config_error(log, cutoff, words):
    with pytest.raises(ConfigError, match=words):
        time_split(log, WEIGHTS, cutoff)


def test_the_default_cutoff_leaves_about_a_fifth_for_the_test(sample_split, sample_shop):
    events = sample_shop.events
    weighted = events[events["event"].isin(list(WEIGHTS))]
    after = (weighted["ts"] >= sample_split.cutoff).mean()
    assert 0.15 < after < 0.25
    assert sample_split.cutoff == sample_split.cutoff.floor("D")


def _paired_gain(result, method: str, metric: str) -> tuple[float, float]:
    users = result.per_user.pivot(index="user_id", columns="method", values=metric)
    gain = users[method] - users["popularity"]
    return float(gain.mean()), float(gain.std(ddof=1) / np.sqrt(len(gain)))


def test_on_the_sample_shop_item_item_and_als_clearly_beat_popularity(sample_split):
    result = evaluate_split(sample_split, ["popularity", "item_item", "als"], k=10)
    overall = result.overall().set_index("method")
    assert result.users_scored > 1000
    for method in ("item_item", "als"):
        for metric in ("recall", "ndcg"):
            # At least a quarter better than the baseline, and the per-user gain more
            # than three standard errors above zero.
            assert overall.loc[method, metric] > 1.25 * overall.loc["popularity", metric]
            gain, error = _paired_gain(result, method, metric)
            assert gain > 3 * error
    assert overall.loc["item_item", "coverage"] > 5 * overall.loc["popularity", "coverage"]
    assert overall.loc["als", "novelty"] > overall.loc["popularity", "novelty"]


def test_an_unused_k_is_refused(log):
    split = time_split(log, WEIGHTS, CUTOFF)
    with pytest.raises(ConfigError, match="k must be a whole number from 1 to 100"):
        evaluate_split(split, ["popularity"], k=0)

