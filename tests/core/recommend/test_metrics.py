"""Ranking metrics against independent computations: scikit-learn's ndcg_score, the
ml_metrics reference apk written out as loops, and values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score

from core.recommend import metrics


def _reference_apk(actual: set[int], predicted: list[int], k: int) -> float:
    """AP@k as the ml_metrics package (Ben Hamner's Kaggle metrics) writes it."""
    score, hits = 0.0, 0
    for i, p in enumerate(predicted[:k]):
        if p in actual and p not in predicted[:i]:
            hits += 1
            score += hits / (i + 1.0)
    return score / min(len(actual), k)


def _random_case(seed: int, users: int = 40, items: int = 30, k: int = 8):
    rng = np.random.default_rng(seed)
    recommended = np.array([rng.permutation(items)[:k] for _ in range(users)])
    relevant = (rng.random((users, items)) < 0.15).astype(float)
    relevant[np.arange(users), rng.integers(0, items, users)] = 1.0  # at least one each
    return recommended, sp.csr_matrix(relevant), relevant, k


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ndcg_equals_scikit_learn(seed):
    recommended, relevant, dense, k = _random_case(seed)
    hit = metrics.hits(recommended, relevant)
    ours = metrics.ndcg_at_k(hit, metrics.relevant_counts(relevant))
    # scikit-learn ranks items by score: the list's items first, in order, the rest after.
    scores = np.full(dense.shape, -1.0)
    for u, row in enumerate(recommended):
        scores[u, row] = np.arange(k, 0, -1)
        others = np.setdiff1d(np.arange(dense.shape[1]), row)
        scores[u, others] = -np.arange(1, len(others) + 1)
    for u in range(len(dense)):
        expected = ndcg_score(dense[[u]], scores[[u]], k=k)
        assert ours[u] == pytest.approx(expected, abs=1e-12)
    assert ours.mean() == pytest.approx(ndcg_score(dense, scores, k=k), abs=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
def test_average_precision_equals_the_reference_apk(seed):
    recommended, relevant, dense, k = _random_case(seed)
    hit = metrics.hits(recommended, relevant)
    ours = metrics.average_precision_at_k(hit, metrics.relevant_counts(relevant))
    for u in range(len(dense)):
        actual = set(np.flatnonzero(dense[u]))
        assert ours[u] == pytest.approx(_reference_apk(actual, list(recommended[u]), k))


def test_metrics_by_hand():
    # Relevant {0, 2, 4, 6}; the list 0, 1, 2, 3, 4 hits slots 1, 3 and 5.
    recommended = np.array([[0, 1, 2, 3, 4], [9, 8, -1, -1, -1]])
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 1, 0, 1, 0, 0, 0],
                                       [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]]))
    hit = metrics.hits(recommended, relevant)
    assert hit.tolist() == [[True, False, True, False, True],
                            [False, True, False, False, False]]
    n = metrics.relevant_counts(relevant)
    assert metrics.precision_at_k(hit).tolist() == [3 / 5, 1 / 5]  # empty slots are misses
    assert metrics.recall_at_k(hit, n).tolist() == [3 / 4, 1.0]
    # AP: (1/1 + 2/3 + 3/5) / min(4, 5); second user: (1/2) / min(1, 5).
    np.testing.assert_allclose(metrics.average_precision_at_k(hit, n),
                               [(1 + 2 / 3 + 3 / 5) / 4, 0.5])
    dcg = 1 + 1 / math.log2(4) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)
    np.testing.assert_allclose(metrics.ndcg_at_k(hit, n), [dcg / idcg, 1 / math.log2(3)])
    # Items 0-4, 8, 9 of 10 shown; shares 0.5 and 0.25 are 1 and 2 bits.
    assert metrics.coverage(recommended, 10) == 0.7
    share = np.full(10, 0.25)
    share[:5] = 0.5
    assert metrics.novelty(recommended, share) == pytest.approx((5 * 1 + 2 * 2) / 7)
    # No relevant item: not a score of 0 but missing.
    assert np.isnan(metrics.recall_at_k(hit[:1], np.array([0])))[0]
