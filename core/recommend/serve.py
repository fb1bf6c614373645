"""Top-N for every user, as served: the method's list, gaps filled with popular items,
and users without history given their persona's popular items, each with its reason.

A method may find fewer than N items with evidence for a user (item-item for a short
history); those slots are filled with the items most popular in the user's persona (or
with everyone, without a persona) that the user has not seen and the list does not hold.
A user without any interaction (cold start) gets that popular list whole. The reason of
each slot says which of these it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common.notices import Notice
from core.recommend import reasons
from core.recommend.base import NO_ITEM, Recommender
from core.recommend.interactions import Interactions
from core.recommend.popularity import PopularityRecommender

#: What each slot is: the method's own pick, a popular item filling a gap, or the
#: popular list of a user without history.
SOURCES = ("method", "filled", "cold_start")
#: Reason kinds of the table's ``reason_kind`` column.
REASON_KINDS = ("similar_item", "taste", "popular_overall", "popular_persona")
COLUMNS = ["user_id", "persona", "rank", "item", "score", "source", "reason_kind",
           "because_item", "reason"]


def fallback_for(interactions: Interactions, groups: pd.Series | None
                 ) -> PopularityRecommender:
    """The popular lists gaps and cold starts are filled from (per persona if any)."""
    return PopularityRecommender(groups).fit(interactions)


def fill_gaps(items: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``items`` with its ``-1`` slots (at the end of each row) filled from ``extra``,
    skipping items the row already holds; and which slots were filled."""
    missing = items < 0
    if not missing.any():
        return items, missing
    out = items.copy()
    width = items.shape[1]
    duplicate = (extra[:, :, None] == items[:, None, :]).any(axis=2) | (extra < 0)
    order = np.argsort(duplicate, axis=1, kind="stable")
    usable = np.take_along_axis(extra, order, axis=1)
    usable[np.take_along_axis(duplicate, order, axis=1)] = NO_ITEM
    first_gap = width - missing.sum(axis=1)
    row, slot = np.nonzero(missing)
    out[row, slot] = usable[row, slot - first_gap[row]]
    return out, missing & (out >= 0)


def served(model: Recommender, rows: np.ndarray, n: int, fallback: PopularityRecommender
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the users of ``rows`` are shown: items, the method's scores (nan for filled
    slots) and which slots were filled with popular items."""
    items, scores = model.recommend(rows, n)
    if (items < 0).any():
        gaps = np.flatnonzero((items < 0).any(axis=1))
        extra, _ = fallback.recommend(rows[gaps], 2 * n)
        items[gaps], filled_rows = fill_gaps(items[gaps], extra)
        filled = np.zeros(items.shape, dtype=bool)
        filled[gaps] = filled_rows
        scores[filled] = np.nan
        return items, scores, filled
    return items, scores, np.zeros(items.shape, dtype=bool)


@dataclass(frozen=True)
class Recommendations:
    """Top-N per user with reasons.

    Attributes
    ----------
    table : DataFrame
        One row per user and rank: ``user_id, persona, rank (1..n), item, score`` (the
        method's; missing for popular fills), ``source`` (see :data:`SOURCES`),
        ``reason_kind`` (see :data:`REASON_KINDS`), ``because_item`` (the history item
        the reason names, if any) and ``reason``.
    method : str
    n : int
    notices : list of Notice
    """

    table: pd.DataFrame
    method: str
    n: int
    notices: list[Notice] = field(default_factory=list)

    def for_user(self, user_id: object) -> pd.DataFrame:
        """The rows of one user, by rank."""
        return self.table[self.table["user_id"] == str(user_id)].reset_index(drop=True)


def _group_of(users: pd.Index, groups: pd.Series | None) -> pd.Series:
    if groups is None:
        return pd.Series([None] * len(users), index=users, dtype=object)
    return pd.Series(users, index=users).map(groups.astype(str)).astype(object)


def _codes(fallback: PopularityRecommender, personas: pd.Series) -> np.ndarray:
    """Each persona's code in the fallback (-1: none)."""
    return pd.Index(fallback.group_names_).get_indexer(personas.to_numpy(dtype=object))


def _cold_start_items(fallback: PopularityRecommender, personas: pd.Series, n: int
                      ) -> np.ndarray:
    """The first ``n`` of each persona's popular list (or the overall one)."""
    lists = np.full((len(fallback.orders_), n), NO_ITEM, dtype=np.int64)
    for g, order in enumerate(fallback.orders_):
        lists[g, :min(n, len(order))] = order[:n]
    return lists[_codes(fallback, personas) + 1]


def recommend_users(model: Recommender, n: int = 10, users: object = None,
                    groups: pd.Series | None = None,
                    phrases: Mapping[str, tuple[str, str]] | None = None,
                    method_key: str = "") -> Recommendations:
    """Top-``n`` for every user, with the reason of each item.

    Parameters
    ----------
    model : Recommender
        Fitted on the interactions.
    n : int
    users : array of user ids, optional
        Everyone to serve; users without interactions get the cold-start list. Default:
        the users of the interactions.
    groups : Series, optional
        Persona per user id: gaps and cold starts get the persona's popular items.
    phrases : mapping, optional
        Verb and suffix per event (:func:`core.recommend.reasons.phrase_book`).
    method_key : str
        The registered method the model is (recorded in the result).

    Returns
    -------
    Recommendations
    """
    interactions = model.fitted()
    book = dict(phrases or reasons.phrase_book(interactions.events))
    ids = pd.Index(interactions.users if users is None else pd.unique(
        pd.Index(users).astype(str)))
    rows = interactions.rows_of(ids)
    known = rows >= 0
    fallback = fallback_for(interactions, groups)
    personas = _group_of(ids, groups)
    items = np.full((len(ids), n), NO_ITEM, dtype=np.int64)
    scores = np.full(items.shape, np.nan, dtype=np.float32)
    filled = np.zeros(items.shape, dtype=bool)
    items[known], scores[known], filled[known] = served(model, rows[known], n, fallback)
    because = np.full(items.shape, NO_ITEM, dtype=np.int64)
    because[known], _ = model.because(rows[known], np.where(filled[known], NO_ITEM,
                                                            items[known]))
    items[~known] = _cold_start_items(fallback, personas[~known], n)
    # The popularity baseline's own picks are popular with everyone, whatever the persona.
    own_groups = getattr(model, "groups", None) is not None
    table = _table(interactions, fallback, ids, rows, personas, items, scores, filled,
                   because, model.reason, book, own_groups)
    notices = _notices(known, filled, n, groups is not None)
    return Recommendations(table, method_key, n, notices)


def _table(interactions: Interactions, fallback: PopularityRecommender, ids: pd.Index,
           rows: np.ndarray, personas: pd.Series, items: np.ndarray, scores: np.ndarray,
           filled: np.ndarray, because: np.ndarray, kind: str,
           book: dict[str, tuple[str, str]], own_groups: bool) -> pd.DataFrame:
    """One row per filled slot, with its reason (see :class:`Recommendations`)."""
    n = items.shape[1]
    present = items.ravel() >= 0
    user_pos = np.repeat(np.arange(len(ids)), n)[present]
    item, hist = items.ravel()[present], because.ravel()[present]
    source = np.where(np.repeat(rows < 0, n)[present], "cold_start",
                      np.where(filled.ravel()[present], "filled", "method"))
    persona = personas.to_numpy(dtype=object)[user_pos]
    # Popular slots: the persona's list, except the popularity baseline's own picks,
    # which are popular with everyone unless the baseline itself is per persona.
    popular = (source != "method") | (kind == "popular")
    code = np.where(popular & ((source != "method") | own_groups),
                    _codes(fallback, pd.Series(persona, dtype=object)), -1)
    counts = np.vstack([fallback.popularity_, *fallback.group_popularity_])
    names = interactions.items.to_numpy().astype(str)
    events = np.asarray(interactions.events, dtype=object)
    named = hist >= 0
    hist_event = np.full(len(item), -1, dtype=np.int64)
    if named.any():  # (scipy returns a sparse matrix, not values, for empty indices)
        hist_event[named] = np.asarray(interactions.strongest[rows[user_pos][named],
                                                              hist[named]]).ravel() - 1
    slots = pd.DataFrame({
        "reason_kind": np.where(~popular, kind, np.where(code >= 0, "popular_persona",
                                                         "popular_overall")),
        "source": source,
        "item": names[item],
        "because_item": np.where(named, names[np.maximum(hist, 0)], None),
        "because_event": np.where(named, events[np.maximum(hist_event, 0)], None),
        "item_event": events[reasons.item_verbs(interactions)[item]],
        "group": np.where(code >= 0, persona, None),
        "users": counts[code + 1, item]})
    return pd.DataFrame({
        "user_id": pd.Series(ids.to_numpy().astype(str)[user_pos], dtype="str"),
        "persona": pd.Series(persona, dtype=object),
        "rank": (np.arange(items.size) % n + 1)[present],
        "item": pd.Series(slots["item"], dtype="str"),
        "score": scores.ravel()[present].astype(np.float64),
        "source": pd.Series(source, dtype="str"),
        "reason_kind": pd.Series(slots["reason_kind"], dtype="str"),
        "because_item": pd.Series(slots["because_item"], dtype=object),
        "reason": pd.Series(reasons.reason_texts(slots, book), dtype="str"),
    }, columns=COLUMNS)


def _notices(known: np.ndarray, filled: np.ndarray, n: int, has_groups: bool) -> list[Notice]:
    notices = []
    cold = int((~known).sum())
    where = "their persona's" if has_groups else "the overall"
    if cold:
        notices.append(Notice("cold_start_users", f"Users without any interaction yet: "
                              f"{cold:,}; they get {where} popular items.", "info", "users"))
    gaps = int(filled.sum())
    if gaps:
        users = int(filled.any(axis=1).sum())
        notices.append(Notice("filled_with_popular", f"Users for whom the method found fewer "
                              f"than {n} items: {users:,}; their {gaps:,} empty slots are "
                              f"filled with {where} popular items.", "info", "n"))
    return notices
