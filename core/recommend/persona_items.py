"""What each persona interacts with: its popular items and its distinctive ones.

- *Popular* in a persona: the items most of its users interacted with (distinct users,
  as for the popularity baseline), with that share of the persona's users.
- *Distinctive* for a persona: the items whose share of the persona's interactions is
  largest relative to their share of everyone's,

      lift = (interactions of the persona on the item / all the persona's interactions)
             / (interactions of everyone on the item / all interactions),

  counting weighted events (a view and a purchase are two interactions). An item needs
  at least ``min_support`` users of the persona, so that one enthusiast does not make
  an item distinctive. Users without a persona count in "everyone" only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.common.errors import ConfigError
from core.recommend.interactions import Interactions
from core.recommend.popularity import group_codes, users_per_item

#: Users of a persona an item needs to be called distinctive.
DEFAULT_MIN_SUPPORT = 5
DEFAULT_TOP = 10
LIFT_CONVENTION = (
    "Lift = the item's share of the persona's interactions / its share of everyone's "
    "(interactions = weighted events); at least {min_support} users of the persona "
    "interacted with each item shown.")


def _events_per_group(interactions: Interactions, codes: np.ndarray, n_groups: int
                      ) -> np.ndarray:
    member = codes >= 0
    indicator = sp.csr_matrix((np.ones(int(member.sum())), (codes[member],
                                                            np.flatnonzero(member))),
                              shape=(n_groups, interactions.n_users))
    return np.asarray((indicator @ interactions.counts).todense()).round().astype(np.int64)


def _check_top(top: object) -> int:
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ConfigError(f"The number of items per persona must be a whole number >= 1, "
                          f"not {top!r}.")
    return int(top)


def popular_items(interactions: Interactions, groups: pd.Series | None = None,
                  top: int = DEFAULT_TOP) -> pd.DataFrame:
    """The ``top`` items most users of each persona (or of everyone) interacted with.

    Returns
    -------
    DataFrame
        ``group, rank, item, users, group_users, share_of_users``: ``group_users`` is the
        persona's users with any interaction; ``group`` is "All users" without groups.
    """
    top = _check_top(top)
    codes, names = group_codes(interactions, groups)
    if groups is None:
        codes, names = np.zeros(interactions.n_users, dtype=np.int64), ["All users"]
    users = users_per_item(interactions.matrix, codes, len(names))
    sizes = np.bincount(codes[codes >= 0], minlength=len(names))
    overall = interactions.item_users()
    parts = []
    for code, name in enumerate(names):
        order = np.lexsort((np.arange(interactions.n_items), -overall, -users[code]))
        order = order[users[code][order] > 0][:top]
        parts.append(pd.DataFrame({
            "group": name, "rank": np.arange(1, len(order) + 1),
            "item": interactions.items.to_numpy()[order].astype(str),
            "users": users[code][order], "group_users": int(sizes[code]),
            "share_of_users": users[code][order] / max(int(sizes[code]), 1)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["group", "rank", "item", "users", "group_users", "share_of_users"])


def distinctive_items(interactions: Interactions, groups: pd.Series,
                      min_support: int = DEFAULT_MIN_SUPPORT, top: int = DEFAULT_TOP
                      ) -> pd.DataFrame:
    """Each persona's items with the highest lift (module docstring).

    Returns
    -------
    DataFrame
        ``group, rank, item, users, interactions, share_in_group, share_overall, lift``,
        by lift (then users, then item); ``attrs["convention"]`` says how lift is read.

    Raises
    ------
    ConfigError
        No groups, or none of the interaction users has one.
    """
    top = _check_top(top)
    if groups is None:
        raise ConfigError("Distinctive items need personas: cluster the users first.")
    if isinstance(min_support, bool) or not isinstance(min_support, (int, np.integer)) \
            or min_support < 1:
        raise ConfigError(f"The minimum support must be a whole number >= 1, not "
                          f"{min_support!r}.")
    codes, names = group_codes(interactions, groups)
    if not names:
        raise ConfigError("None of the users with interactions has a persona.")
    events = _events_per_group(interactions, codes, len(names))
    users = users_per_item(interactions.matrix, codes, len(names))
    everyone = np.asarray(interactions.counts.sum(axis=0)).ravel().astype(np.int64)
    share_overall = everyone / max(int(everyone.sum()), 1)
    parts = []
    for code, name in enumerate(names):
        share = events[code] / max(int(events[code].sum()), 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(share_overall > 0, share / share_overall, np.nan)
        keep = np.flatnonzero(users[code] >= min_support)
        order = keep[np.lexsort((keep, -users[code][keep], -lift[keep]))][:top]
        parts.append(pd.DataFrame({
            "group": name, "rank": np.arange(1, len(order) + 1),
            "item": interactions.items.to_numpy()[order].astype(str),
            "users": users[code][order], "interactions": events[code][order],
            "share_in_group": share[order], "share_overall": share_overall[order],
            "lift": lift[order]}))
    out = pd.concat(parts, ignore_index=True)
    out.attrs["convention"] = LIFT_CONVENTION.format(min_support=min_support)
    return out
