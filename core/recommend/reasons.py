"""Reasons a person understands: "Users who viewed p0012 also bought p0033".

Verbs come from the event names: the user's strongest event on the history item (the
one with the highest weight, see :class:`~core.recommend.interactions.Interactions`),
and, for the recommended item, the strongest event most of its users did with it. The
funnel roles of the Data page give the verbs of the usual events (a workspace whose
product view is called ``view_item`` still reads "viewed"); any other event reads
``did "rating" on``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.recommend.interactions import Interactions

#: Verb and what follows the item, per funnel role (and for a few common event names).
PHRASES: dict[str, tuple[str, str]] = {
    "product_view": ("viewed", ""), "add_to_cart": ("added", " to the cart"),
    "checkout": ("checked out", ""), "purchase": ("bought", ""),
    "view": ("viewed", ""), "rating": ("rated", ""), "rate": ("rated", ""),
    "like": ("liked", ""), "click": ("clicked", ""),
    "add_to_wishlist": ("added", " to the wishlist"),
}


def phrase_book(events: Sequence[str], roles: Mapping[str, Sequence[str]] | None = None
                ) -> dict[str, tuple[str, str]]:
    """Verb and suffix of each event: by its funnel role, else its own name."""
    role_of = {str(name): role for role, names in (roles or {}).items() for name in names}
    book = {}
    for event in events:
        key = role_of.get(event, event)
        book[event] = PHRASES.get(key, PHRASES.get(str(event).lower(),
                                                   (f'did "{event}" on', "")))
    return book


def item_verbs(interactions: Interactions) -> np.ndarray:
    """Per item, the position in ``interactions.events`` of the strongest event most of
    its users did with it (ties: the stronger event)."""
    strongest = interactions.strongest.tocoo()
    counts = np.zeros((len(interactions.events), interactions.n_items), dtype=np.int64)
    np.add.at(counts, (strongest.data.astype(np.int64) - 1, strongest.col), 1)
    return counts.argmax(axis=0)


def _phrase(event: str, book: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    return book.get(event, (f'did "{event}" on', ""))


def _text(kind: str, source: str, because: str | None, because_event: str | None,
          item: str, item_event: str, group: str | None, users: int,
          book: Mapping[str, tuple[str, str]]) -> str:
    """The reason of one slot (see :func:`reason_texts`)."""
    if kind in ("popular_overall", "popular_persona"):
        phrase = (f"popular in the persona {group} ({users:,} of its users)"
                  if group is not None else f"popular with everyone ({users:,} users)")
        if source == "cold_start":
            return f"No history yet: {phrase}."
        sentence = phrase[0].upper() + phrase[1:]
        if source == "filled":
            return f"{sentence}; fills the list where the history suggests no more."
        return f"{sentence}."
    if because is None or because_event is None:
        return "Chosen by users with a taste like this user's."
    verb_x, suffix_x = _phrase(because_event, book)
    if kind == "similar_item":
        verb_y, suffix_y = _phrase(item_event, book)
        return f"Users who {verb_x} {because}{suffix_x} also {verb_y} {item}{suffix_y}."
    return (f"Chosen by users with a taste like this user's; closest to {because}, which "
            f"this user {verb_x}{suffix_x}.")


def reason_texts(slots: pd.DataFrame, book: Mapping[str, tuple[str, str]]) -> pd.Series:
    """The reason of each recommended slot.

    Parameters
    ----------
    slots : DataFrame
        ``reason_kind`` (similar_item, taste, popular_overall, popular_persona),
        ``source`` (method, filled, cold_start), ``because_item`` (or missing),
        ``because_event`` (the user's strongest event on it), ``item``, ``item_event``
        (the strongest event most users did with the item), ``group`` (the persona of a
        persona popularity, or missing) and ``users`` (users behind a popularity).
    book : mapping
        Verb and suffix per event (:func:`phrase_book`).

    Returns
    -------
    Series of str
        "Users who viewed p0012 also bought p0033.", "Chosen by users with a taste like
        this user's; closest to p0012, which this user added to the cart.", "Popular in
        the persona Bargain hunters (412 of its users).", "No history yet: popular with
        everyone (1,204 users).", and the like.
    """
    columns = ["reason_kind", "source", "because_item", "because_event", "item",
               "item_event", "group", "users"]
    # Many slots share a reason (the same pair of items, the same popular item): each
    # distinct one is written once.
    distinct = slots[columns].astype(object).drop_duplicates()
    distinct = distinct.where(distinct.notna(), None)
    texts = [_text(*row, book) for row in distinct.itertuples(index=False, name=None)]
    codes = slots[columns].groupby(columns, dropna=False, sort=False).ngroup().to_numpy()
    return pd.Series(np.asarray(texts, dtype=object)[codes], index=slots.index, dtype=object)
