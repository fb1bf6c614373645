"""Item-item collaborative filtering: items similar to what the user interacted with.

Two items are similar when the same users interacted with them: the cosine of their
binary columns (who interacted, whatever the weight),

    sim(i, j) = |U_i ∩ U_j| / √(|U_i| · |U_j|),   U_i the users of item i.

Binary columns rather than summed weights: on the sample shop, weights in the
similarity let a few purchases decide it and cost a fifth of the recall@10; the weights
count where they say most about a user, in the score below.

Each item keeps only its ``neighbours`` most similar items (Sarwar et al., 2001), which
keeps the similarity matrix at ``items × neighbours`` entries: 10,000 items cost a few
MB, not 10,000². A user's score of an item j is the weighted sum over their history,

    score(u, j) = Σ_i x_ui · sim(i, j),   i in the user's history, j among i's neighbours,

with x_ui the user's summed weights, and the reason names the history item i with the
largest sim(i, j).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from core.common.progress import Progress
from core.recommend.base import Recommender
from core.recommend.interactions import Interactions
from core.recommend.topn import top_n

#: Items whose similarities are computed at once: a dense block of 1,024 × 10,000
#: float32 is 40 MB.
ITEM_BLOCK = 1024
DEFAULT_NEIGHBOURS = 100


def cosine_neighbours(matrix: sp.csr_matrix, neighbours: int = DEFAULT_NEIGHBOURS,
                      progress: Progress | None = None) -> sp.csr_matrix:
    """The pruned item × item cosine similarity of a user × item matrix.

    Parameters
    ----------
    matrix : csr_matrix, (users, items)
        Only its pattern counts (which users interacted with which items).
    neighbours : int
        Similar items kept per item (the largest similarities above 0; ties by the lower
        column); an item is never its own neighbour.
    progress : callable, optional

    Returns
    -------
    csr_matrix, (items, items), float32
        Row i holds i's neighbours and their similarity.
    """
    n_items = matrix.shape[1]
    by_item = matrix.T.tocsr().astype(np.float32)
    by_item.data[:] = 1.0  # who interacted, not how much (module docstring)
    norms = np.sqrt(np.asarray(by_item.multiply(by_item).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0  # an item without users has no similarity to divide
    rows, cols, values = [], [], []
    for start in range(0, n_items, ITEM_BLOCK):
        end = min(start + ITEM_BLOCK, n_items)
        dots = (by_item[start:end] @ by_item.T).toarray()
        dots /= norms[start:end, None] * norms[None, :]
        dots[np.arange(end - start), np.arange(start, end)] = -np.inf  # not itself
        top, sim = top_n(dots, min(neighbours, n_items), floor=0.0)
        found = top >= 0
        rows.append(np.nonzero(found)[0] + start)
        cols.append(top[found])
        values.append(sim[found])
        if progress:
            progress(end / n_items, f"Item similarities: {end:,} of {n_items:,} items")
    return sp.csr_matrix((np.concatenate(values), (np.concatenate(rows),
                                                   np.concatenate(cols))),
                         shape=(n_items, n_items), dtype=np.float32)


class ItemItemRecommender(Recommender):
    """Item-item collaborative filtering with cosine similarity (module docstring).

    Parameters
    ----------
    neighbours : int, default 100
        Similar items kept per item.
    progress : callable, optional
        ``progress(fraction, message)`` while the similarities are computed.

    Attributes
    ----------
    similarity_ : csr_matrix, (items, items)
        Row i: i's neighbours and their cosine similarity.
    """

    floor = 0.0
    names_history_item = True
    reason = "similar_item"

    def __init__(self, neighbours: int = DEFAULT_NEIGHBOURS, progress: Progress | None = None):
        self.neighbours = neighbours
        self.progress = progress

    def _fit(self, interactions: Interactions) -> None:
        self.similarity_ = cosine_neighbours(interactions.matrix, self.neighbours,
                                             self.progress)

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        return (self.interactions_.matrix[rows] @ self.similarity_).toarray()

    def _similarity(self, history: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.asarray(self.similarity_[history, items]).ravel()
