"""The popularity baseline: the items most users interacted with, overall or in the
user's persona.

An item's popularity is the number of distinct users with an interaction on it (not
the sum of weights, so one heavy user does not make an item popular). With personas,
a user gets the items most users *of their persona* interacted with, ties broken by
overall popularity; users without a persona get the overall list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.recommend.base import NO_ITEM, USER_BATCH, Recommender, check_n, check_rows
from core.recommend.interactions import Interactions


def group_codes(interactions: Interactions, groups: pd.Series | None
                ) -> tuple[np.ndarray, list[str]]:
    """Each row's group code (``-1``: no group) and the group names, sorted."""
    if groups is None:
        return np.full(interactions.n_users, -1, dtype=np.int64), []
    labels = pd.Series(interactions.users).map(groups.astype(str))
    codes, names = pd.factorize(labels, sort=True)
    return codes.astype(np.int64), [str(n) for n in names]


def users_per_item(matrix: sp.csr_matrix, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``(n_groups, items)``: distinct users of each group per item (rows without a
    group, code -1, are left out)."""
    member = codes >= 0
    indicator = sp.csr_matrix((np.ones(int(member.sum()), dtype=np.float64),
                               (codes[member], np.flatnonzero(member))),
                              shape=(n_groups, matrix.shape[0]))
    binary = matrix.copy()
    binary.data = np.ones_like(binary.data, dtype=np.float64)
    return np.asarray((indicator @ binary).todense()).round().astype(np.int64)


def ranking(counts: np.ndarray, overall: np.ndarray) -> np.ndarray:
    """Item columns by ``counts`` (descending), then ``overall``, then column."""
    return np.lexsort((np.arange(len(counts)), -overall, -counts))


def first_unseen(order: np.ndarray, seen: sp.csr_matrix, n: int) -> np.ndarray:
    """For each row of ``seen``, the first ``n`` items of ``order`` it has not seen
    (``-1`` when fewer remain)."""
    rows = seen.shape[0]
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    lengths = np.diff(seen.indptr)
    width = int(min(len(order), n + (lengths.max() if rows else 0)))
    taken = np.zeros((rows, width), dtype=bool)
    row = np.repeat(np.arange(rows), lengths)
    pos = position[seen.indices]
    inside = pos < width
    taken[row[inside], pos[inside]] = True
    # A stable sort puts each row's free positions first, in ranking order.
    picks = np.argsort(taken, axis=1, kind="stable")[:, :n]
    items = order[picks]
    items[np.take_along_axis(taken, picks, axis=1)] = NO_ITEM
    if items.shape[1] < n:
        items = np.pad(items, ((0, 0), (0, n - items.shape[1])), constant_values=NO_ITEM)
    return items


class PopularityRecommender(Recommender):
    """The most popular items, overall or per persona (see the module docstring).

    Parameters
    ----------
    groups : Series, optional
        Persona (or any group) per user id; None recommends overall popularity.

    Attributes
    ----------
    popularity_ : ndarray
        Distinct users per item.
    group_names_ : list of str
    group_popularity_ : ndarray, (groups, items)
        Distinct users of each group per item.
    """

    floor = 0.0

    def __init__(self, groups: pd.Series | None = None):
        self.groups = groups

    def _fit(self, interactions: Interactions) -> None:
        self.popularity_ = interactions.item_users()
        self.row_group_, self.group_names_ = group_codes(interactions, self.groups)
        self.group_popularity_ = users_per_item(interactions.matrix, self.row_group_,
                                                len(self.group_names_))
        self.orders_ = [ranking(self.popularity_, self.popularity_)] + [
            ranking(counts, self.popularity_) for counts in self.group_popularity_]

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        # Group counts first; overall popularity (a fraction below 1) breaks their ties.
        overall = self.popularity_ / (self.popularity_.max() + 1.0)
        scores = np.tile(self.popularity_.astype(np.float64), (len(rows), 1))
        codes = self.row_group_[rows]
        grouped = codes >= 0
        scores[grouped] = self.group_popularity_[codes[grouped]] + overall
        return scores

    def recommend(self, user_rows: object, n: int = 10, exclude_seen: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` item columns and their popularity (in the user's group, if any)."""
        interactions = self.fitted()
        rows, n = check_rows(user_rows, interactions), check_n(n)
        items = np.full((len(rows), n), NO_ITEM, dtype=np.int64)
        codes = self.row_group_[rows]
        for code in np.unique(codes):
            members = np.flatnonzero(codes == code)
            order = self.orders_[code + 1]
            for start in range(0, len(members), USER_BATCH):
                block = members[start:start + USER_BATCH]
                seen = interactions.matrix[rows[block]] if exclude_seen else \
                    sp.csr_matrix((len(block), interactions.n_items))
                items[block] = first_unseen(order, seen, n)
        counts = np.vstack([self.popularity_, *self.group_popularity_])
        values = counts[(codes + 1)[:, None], np.maximum(items, 0)].astype(np.float32)
        values[items < 0] = np.nan
        return items, values
