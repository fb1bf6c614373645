"""Offline ranking metrics of top-k lists against sets of relevant items.

Relevance is binary. For a user with ``R`` relevant items and a list of ``k`` slots
(``-1`` slots recommend nothing and count as misses), with ``rel_i`` 1 when the item
in slot i is relevant:

- precision@k = Σ rel_i / k;
- recall@k = Σ rel_i / R;
- AP@k = Σ_i P@i · rel_i / min(R, k), with P@i the precision of the first i slots
  (the ``ml_metrics`` / Kaggle convention); MAP@k is its mean over users;
- NDCG@k = DCG / IDCG with DCG = Σ rel_i / log2(i + 1) and IDCG the DCG of min(R, k)
  relevant items in the first slots (``sklearn.metrics.ndcg_score``'s definition);
- catalogue coverage = distinct items recommended to anyone / items in the catalogue;
- novelty = mean over the recommended slots of −log2(share of users who interacted
  with the item): an item everyone knows adds 0 bits, one in a thousand about 10.

Every function returns one value per user (the caller averages) except coverage and
novelty, which describe a whole set of lists.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hits(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Whether each slot of ``recommended`` holds a relevant item of its row.

    Parameters
    ----------
    recommended : ndarray of int, (users, k)
        Item columns, ``-1`` for an empty slot.
    relevant : csr_matrix, (users, items)
        Non-zero where the item is relevant to the row's user.
    """
    relevant = sp.csr_matrix(relevant)
    relevant.eliminate_zeros()
    width = relevant.shape[1]
    rows = np.repeat(np.arange(relevant.shape[0], dtype=np.int64), np.diff(relevant.indptr))
    wanted = rows * width + relevant.indices
    slots = np.arange(recommended.shape[0], dtype=np.int64)[:, None] * width + recommended
    return np.isin(slots, wanted) & (recommended >= 0)


def relevant_counts(relevant: sp.csr_matrix) -> np.ndarray:
    """Relevant items per row."""
    relevant = sp.csr_matrix(relevant)
    relevant.eliminate_zeros()
    return np.diff(relevant.indptr).astype(np.int64)


def precision_at_k(hit: np.ndarray) -> np.ndarray:
    """Hits over the k slots, per user."""
    return hit.sum(axis=1) / hit.shape[1]


def recall_at_k(hit: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Hits over the user's relevant items (users without any: nan)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_relevant > 0, hit.sum(axis=1) / n_relevant, np.nan)


def average_precision_at_k(hit: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """AP@k: the precision at each hit, summed, over min(relevant, k)."""
    k = hit.shape[1]
    precision = np.cumsum(hit, axis=1) / np.arange(1, k + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_relevant > 0, (precision * hit).sum(axis=1)
                        / np.minimum(n_relevant, k), np.nan)


def ndcg_at_k(hit: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """NDCG@k with binary gains and log2(rank + 1) discounts."""
    k = hit.shape[1]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.r_[0.0, np.cumsum(discount)][np.minimum(n_relevant, k)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_relevant > 0, (hit * discount).sum(axis=1) / ideal, np.nan)


def coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue's items recommended in at least one slot."""
    shown = recommended[recommended >= 0]
    return float(len(np.unique(shown)) / n_items) if n_items else float("nan")


def novelty(recommended: np.ndarray, item_share: np.ndarray) -> float:
    """Mean self-information −log2(item share) of the recommended slots, in bits."""
    shown = recommended[recommended >= 0]
    if not len(shown):
        return float("nan")
    return float(np.mean(-np.log2(item_share[shown])))
