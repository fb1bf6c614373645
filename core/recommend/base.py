"""What every recommender shares: the fit / recommend / because API and the top-N pick.

A recommender follows scikit-learn: parameters in ``__init__``, work in ``fit``
(which returns the recommender), learned attributes end in ``_``. Then, for rows of the
fitted :class:`~core.recommend.interactions.Interactions`:

- ``recommend(user_rows, n, exclude_seen=True)`` returns two ``(len(user_rows), n)``
  arrays: item columns (best first, ``-1`` where the method has no more items with
  evidence) and their scores (``nan`` there);
- ``because(user_rows, items)`` returns, for each recommended item, the history item
  the reason names (``-1``: the reason names none), with the similarity behind it.

Ties are broken by the lower item column, so results are the same on every run (the
pick itself is :func:`core.recommend.topn.top_n`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Self

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from core.common.errors import ConfigError
from core.recommend.interactions import Interactions
from core.recommend.topn import NO_ITEM, top_n

#: Users scored at once. A dense block of 256 users × 10,000 items (10 MB of float32)
#: stays in the processor's cache while it is ranked: top-10 of 100,000 users took 3.8 s
#: here in blocks of 256, 4.3 s in blocks of 512 and 6.2 s in blocks of 4,096.
USER_BATCH = 256
#: Blocks scored at once (the machine has two cores).
THREADS = 2
#: Rows of (user, recommended item, history item) compared at once when finding the
#: history item behind a recommendation.
TRIPLE_BATCH = 2_000_000


def mask_seen(scores: np.ndarray, seen: sp.csr_matrix) -> None:
    """Set the scores of the items each row's user interacted with to ``-inf``."""
    coo = seen.tocoo()
    scores[coo.row, coo.col] = -np.inf


def check_rows(user_rows: object, interactions: Interactions) -> np.ndarray:
    """Rows as an int64 array inside the matrix."""
    rows = np.asarray(user_rows, dtype=np.int64).reshape(-1)
    if len(rows) and (rows.min() < 0 or rows.max() >= interactions.n_users):
        raise ConfigError("A user row is outside the interactions; recommend for users "
                          "that have interactions (others get the cold-start fallback).")
    return rows


def check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"The number of recommendations must be a whole number >= 1, "
                          f"not {n!r}.")
    return int(n)


class Recommender:
    """Base class: subclasses set :attr:`floor` and implement ``_fit`` and ``_scores``
    (dense scores of a block of rows), and may override ``recommend`` and
    ``_similarity`` (for ``because``)."""

    #: Scores at or below this are no evidence (None: every score ranks).
    floor: float | None = None
    #: Whether ``because`` names a history item (else it returns -1 everywhere).
    names_history_item: bool = False
    #: What its reasons say (see :data:`core.recommend.methods.Reason`).
    reason: str = "popular"

    def fit(self, interactions: Interactions) -> Self:
        """Learn from the interactions; returns the recommender."""
        if interactions.n_users == 0 or interactions.n_items == 0:
            raise ConfigError("There are no interactions to learn from.")
        self.interactions_ = interactions
        self._fit(interactions)
        return self

    def _fit(self, interactions: Interactions) -> None:
        raise NotImplementedError

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fitted(self) -> Interactions:
        """The interactions the recommender was fitted on.

        Raises
        ------
        ConfigError
            Before ``fit``.
        """
        if not hasattr(self, "interactions_"):
            raise ConfigError("Fit the recommender before asking it for recommendations.")
        return self.interactions_

    def recommend(self, user_rows: object, n: int = 10, exclude_seen: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` item columns and scores per user row (see the module docstring)."""
        interactions = self.fitted()
        rows, n = check_rows(user_rows, interactions), check_n(n)
        items = np.full((len(rows), n), NO_ITEM, dtype=np.int64)
        values = np.full((len(rows), n), np.nan, dtype=np.float32)

        def pick(start: int) -> None:
            block = rows[start:start + USER_BATCH]
            scores = np.asarray(self._scores(block), dtype=np.float32)  # a fresh block
            if exclude_seen:
                mask_seen(scores, interactions.matrix[block])
            items[start:start + len(block)], values[start:start + len(block)] = \
                top_n(scores, n, self.floor)

        starts = range(0, len(rows), USER_BATCH)
        if len(starts) <= 1:
            for start in starts:
                pick(start)
            return items, values
        # Blocks in two threads (numpy leaves the GIL in its loops) with single-threaded
        # BLAS each: 100,000 users × 10,000 items took 4.8 s instead of 6.0 s here (in
        # blocks of 4,096, on a machine shared with another job).
        with threadpool_limits(1, "blas"), ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(pick, starts))
        return items, values

    def _similarity(self, history: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Similarity of history items to recommended items, pairwise (for methods whose
        reasons name a history item)."""
        raise NotImplementedError

    def because(self, user_rows: object, items: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """The history item most similar to each recommended item, and that similarity.

        Parameters
        ----------
        user_rows : array of int
        items : ndarray, (len(user_rows), n)
            Recommended item columns (``-1`` slots are skipped).

        Returns
        -------
        because : ndarray of int64
            A history item column per slot, ``-1`` where none (no history, or a method
            whose reasons name none); ties by the lower column.
        similarity : ndarray of float32
            ``nan`` where none.
        """
        interactions = self.fitted()
        rows = check_rows(user_rows, interactions)
        items = np.asarray(items, dtype=np.int64).reshape(len(rows), -1)
        best = np.full(items.shape, NO_ITEM, dtype=np.int64)
        strength = np.full(items.shape, np.nan, dtype=np.float32)
        if not self.names_history_item or not len(rows):
            return best, strength
        lengths = np.diff(interactions.matrix.indptr)[rows]
        # Users in chunks so that the (slot, history item) pairs stay near TRIPLE_BATCH.
        total = np.cumsum(np.maximum(lengths, 1) * items.shape[1])
        cuts = np.searchsorted(total, np.arange(TRIPLE_BATCH, total[-1] if len(total) else 0,
                                                TRIPLE_BATCH), side="right")
        edges = np.unique(np.r_[0, cuts, len(rows)])
        for start, end in pairwise(edges):
            self._because_chunk(rows, items, int(start), int(end), best, strength)
        return best, strength

    def _because_chunk(self, rows: np.ndarray, items: np.ndarray, start: int, end: int,
                       best: np.ndarray, strength: np.ndarray) -> None:
        sub = self.interactions_.matrix[rows[start:end]]
        sub.sort_indices()  # history in column order: the first maximum is the lowest column
        lengths = np.diff(sub.indptr).astype(np.int64)
        targets = items[start:end]
        # One segment per (user, slot) to explain, holding one pair per history item.
        seg_user, seg_slot = np.nonzero((targets >= 0) & (lengths[:, None] > 0))
        if not len(seg_user):
            return
        seg_length = lengths[seg_user]
        seg_start = np.cumsum(seg_length) - seg_length
        seg_of = np.repeat(np.arange(len(seg_user)), seg_length)
        offset = np.arange(len(seg_of)) - seg_start[seg_of]
        hist = sub.indices[sub.indptr[seg_user][seg_of] + offset].astype(np.int64)
        similarity = np.asarray(self._similarity(hist, targets[seg_user, seg_slot][seg_of]),
                                dtype=np.float32)
        top = np.maximum.reduceat(similarity, seg_start)
        at_top = np.flatnonzero(similarity == top[seg_of])
        first = at_top[np.r_[True, seg_of[at_top][1:] != seg_of[at_top][:-1]]]
        segment = seg_of[first]
        # A history item that is not similar at all (or opposite) explains nothing.
        named = top[segment] > 0
        first, segment = first[named], segment[named]
        best[start + seg_user[segment], seg_slot[segment]] = hist[first]
        strength[start + seg_user[segment], seg_slot[segment]] = top[segment]
