"""The methods on the hand-made shop of conftest.py: cosine similarities, neighbour
pruning, top-N and the history item behind each pick worked out by hand; popularity
overall and per persona; ALS seeded and deterministic; the registry and settings."""

from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import ConfigError
from core.recommend import REGISTRY, RecommendConfig, build_interactions, make, method
from core.recommend.item_item import ItemItemRecommender, cosine_neighbours
from core.recommend.methods import available
from core.recommend.popularity import PopularityRecommender
from core.recommend.topn import top_n
from tests.core.recommend.conftest import SIM_XY, SIM_YZ, SIM_ZW, WEIGHTS

W, X, Y, Z = range(4)
A, B, C, D, E, G = range(6)


@pytest.fixture
def shop(events):
    return build_interactions(events, WEIGHTS)


def test_cosine_similarities_by_hand(shop):
    similarity = cosine_neighbours(shop.matrix, neighbours=10).toarray()
    expected = np.zeros((4, 4))
    expected[X, Y] = expected[Y, X] = SIM_XY
    expected[Y, Z] = expected[Z, Y] = SIM_YZ
    expected[Z, W] = expected[W, Z] = SIM_ZW
    np.testing.assert_allclose(similarity, expected, rtol=1e-6)
    # Binary columns: B's purchase of y (weight 5) counts as one user, like a view.
    assert similarity.dtype == np.float32


def test_pruning_keeps_each_items_nearest_neighbour_only(shop):
    similarity = cosine_neighbours(shop.matrix, neighbours=1).toarray()
    kept = {(i, j) for i, j in zip(*np.nonzero(similarity), strict=True)}
    # x -> y, y -> x (0.71 beats z's 0.35), z -> w (0.5 beats y's 0.35), w -> z.
    assert kept == {(X, Y), (Y, X), (Z, W), (W, Z)}


def test_item_item_top_n_and_reasons_by_hand(shop):
    model = ItemItemRecommender(neighbours=10).fit(shop)
    items, scores = model.recommend([C, E, D], n=3)
    # C (y 1, z 1): x = 1·sim(y, x) = 0.71, w = 1·sim(z, w) = 0.5; nothing else unseen.
    # E (y 1): x = 0.71, z = 0.35, w = 0 (no evidence).
    # D (z 3, w 5): y = 3·sim(z, y) = 1.06, x = 0.
    assert items.tolist() == [[X, W, -1], [X, Z, -1], [Y, -1, -1]]
    np.testing.assert_allclose(scores[:, 0], [SIM_XY, SIM_XY, 3 * SIM_YZ], rtol=1e-6)
    np.testing.assert_allclose(scores[0, 1], SIM_ZW, rtol=1e-6)
    assert np.isnan(scores[0, 2])
    because, strength = model.because([C, E, D], items)
    assert because.tolist() == [[Y, Z, -1], [Y, Y, -1], [Z, -1, -1]]
    np.testing.assert_allclose(strength[0, :2], [SIM_XY, SIM_ZW], rtol=1e-6)
    # Seen items are recommended only when asked for.
    again, _ = model.recommend([E], n=2, exclude_seen=False)
    assert again.tolist() == [[X, Z]]  # y itself has no similarity to itself


def test_pruned_neighbours_change_the_picks(shop):
    model = ItemItemRecommender(neighbours=1).fit(shop)
    items, _ = model.recommend([D, E], n=2)
    # z's only neighbour is w and w's is z: D has no evidence left; E's y keeps x only.
    assert items.tolist() == [[-1, -1], [X, -1]]


def test_top_n_breaks_ties_by_the_lower_column():
    scores = np.array([[0.5, 0.9, 0.5, 0.5, -np.inf], [0.0, 0.0, 0.2, 0.0, 0.0]])
    items, values = top_n(scores.copy(), 3)
    assert items.tolist() == [[1, 0, 2], [2, 0, 1]]
    items, values = top_n(scores.copy(), 3, floor=0.0)
    assert items.tolist() == [[1, 0, 2], [2, -1, -1]]
    assert np.isnan(values[1, 1:]).all()


def test_popularity_overall_and_per_persona(shop, personas):
    overall = PopularityRecommender().fit(shop)
    # Users per item: w 2, x 2, y 4, z 2; ties by column.
    items, scores = overall.recommend([E, A], n=3)
    assert items.tolist() == [[W, X, Z], [W, Z, -1]]
    assert scores[0].tolist() == [2, 2, 2]
    # In Q (C, D, E, G): y 2, z 2, w 2, x 0; ties by overall popularity (y 4), then column.
    grouped = PopularityRecommender(personas).fit(shop)
    items, scores = grouped.recommend([E, A], n=2)
    assert items.tolist() == [[W, Z], [W, Z]]  # A (P): x, y seen; w and z have no P user
    assert grouped.group_names_ == ["P", "Q"]
    assert grouped.group_popularity_.tolist() == [[0, 2, 2, 0], [2, 0, 2, 2]]


def test_als_is_seeded_deterministic_and_explains_with_factor_neighbours(sample_split):
    train = sample_split.train
    rows = np.arange(200)
    first = make("als", RecommendConfig(random_state=7)).fit(train)
    second = make("als", RecommendConfig(random_state=7)).fit(train)
    np.testing.assert_array_equal(first.item_factors_, second.item_factors_)
    items, scores = first.recommend(rows, n=10)
    again, _ = second.recommend(rows, n=10)
    np.testing.assert_array_equal(items, again)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    seen = train.matrix[rows].toarray() > 0
    assert not seen[np.arange(len(rows))[:, None], items].any()
    # The reason's history item is the one with the largest cosine of item factors.
    because, strength = first.because(rows[:20], items[:20])
    unit = first.item_factors_ / np.linalg.norm(first.item_factors_, axis=1, keepdims=True)
    for r in range(20):
        history = train.history(r)
        for slot in range(10):
            cosines = unit[history] @ unit[items[r, slot]]
            if cosines.max() > 0:
                assert because[r, slot] == history[np.argmax(cosines)]
                assert strength[r, slot] == pytest.approx(cosines.max(), rel=1e-5)
    other = make("als", RecommendConfig(random_state=8)).fit(train)
    assert not np.array_equal(other.item_factors_, first.item_factors_)


def test_every_method_shares_the_api_and_declares_itself(shop, personas):
    assert list(REGISTRY) == ["popularity", "persona_popularity", "item_item", "als"]
    assert available(False) == ["popularity", "item_item", "als"]
    for key, info in REGISTRY.items():
        assert info.description.endswith(".") and info.label
        model = make(key, groups=personas)
        assert model.fit(shop) is model
        assert model.reason == info.reason
        items, scores = model.recommend([A, C], n=2)
        assert items.shape == scores.shape == (2, 2)
        for name in info.parameters:
            assert hasattr(RecommendConfig(), name)
    assert method("item_item").personalised and method("popularity").baseline
    with pytest.raises(ConfigError, match="Unknown recommendation method 'svd'"):
        method("svd")
    with pytest.raises(ConfigError, match="needs personas"):
        make("persona_popularity")
    with pytest.raises(ConfigError, match="Fit the recommender"):
        make("item_item").recommend([0], 2)
    with pytest.raises(ConfigError, match="outside the interactions"):
        make("popularity").fit(shop).recommend([99], 2)
    with pytest.raises(ConfigError, match="whole number >= 1"):
        make("popularity").fit(shop).recommend([0], 0)


@pytest.mark.parametrize("bad", [{"factors": 0}, {"neighbours": 2.5}, {"alpha": float("inf")},
                                 {"regularization": -1}, {"iterations": True}])
def test_settings_out_of_range_are_config_errors(bad):
    with pytest.raises(ConfigError, match=f"'{next(iter(bad))}' must be"):
        RecommendConfig(**bad)


def test_settings_round_trip():
    config = RecommendConfig(factors=16, alpha=2)
    assert RecommendConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="Unknown recommendation setting"):
        RecommendConfig.from_dict({"factor": 3})


@pytest.mark.parametrize(("seed", "layout"), [(0, "C"), (1, "C"), (0, "F"), (1, "F")])
def test_the_bounded_pick_of_wide_rows_equals_the_exact_one(seed, layout):
    from core.recommend import topn

    rng = np.random.default_rng(seed)
    scores = rng.random((300, 5000)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.3] = -np.inf  # seen items
    scores[:20] = np.round(scores[:20] * 4) / 4       # rows full of ties
    scores[20:25, 100:] = -np.inf                    # rows with few candidates
    scores[25] = -np.inf                             # nothing to pick
    expected = topn._exact(scores.copy(), None, 10)
    got = top_n(np.array(scores, order=layout), 10)  # row- or column-major blocks
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert (got[0][25] == -1).all()
