"""The period and the users of the sample: personas, devices, categories, active days."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.sample.draws import draw_categorical
from core.data.sample.profiles import (
    CATEGORIES,
    CATEGORY_POPULARITY,
    K_BOT,
    K_DORMANT,
    K_LOYAL,
    K_NEW,
    KINDS,
    PERSONAS,
    profile_column,
    profile_table,
)

# Nothing is placed in the last seconds before `end`, so that double fires
# (up to 0.9 s later) still fall inside the period.
_END_MARGIN_S = 5.0
# New visitors appear only in the last 14 days; dormant users are silent in the last 30.
_NEW_VISITOR_DAYS = 14
_DORMANT_QUIET_DAYS = 30
# Regular users who join during the period do so in its first 1/3.
_LATE_START_PERIOD_FRACTION = 3
_BOT_SHARE = 0.002
_MIN_USERS_FOR_BOTS = 500


@dataclass(frozen=True)
class Timeline:
    """Whole calendar days inside the period; times are seconds since `origin`."""

    origin: pd.Timestamp  # midnight that starts the first whole day in the period
    n_days: int  # whole days available for activity
    horizon_s: float  # latest allowed event time, in seconds since origin
    new_visitor_first_day: int  # first day a new visitor may appear
    dormant_stop_day: int  # dormant users are active only before this day


@dataclass(frozen=True)
class Users:
    """One entry per user, in user order (user ``i`` has id number ``i + 1``)."""

    kind: np.ndarray  # persona code per user (K_BOT for bots)
    first_day: np.ndarray  # first active day, inclusive
    stop_day: np.ndarray  # last active day, exclusive
    device: np.ndarray  # usual device code
    category: np.ndarray  # preferred category code


def timeline(end: pd.Timestamp, days: int) -> Timeline:
    """The whole days of a period of `days` days ending at `end` (UTC)."""
    day = pd.Timedelta(days=1)
    margin = pd.Timedelta(seconds=_END_MARGIN_S)
    origin = (end - pd.Timedelta(days=days)).ceil("D")
    # A day is usable when it ends no later than `end` plus the margin (so that
    # "23:59:59" ends the last day and that day is not lost).
    n_days = int((end - origin + margin) // day)
    horizon_s = (end - origin).total_seconds() - _END_MARGIN_S
    # Whole days that start at or after `end - 14 days`; at least half the period
    # otherwise, so short periods still have room for the other personas.
    new_first = int(np.ceil((end - pd.Timedelta(days=_NEW_VISITOR_DAYS) - origin) / day))
    new_first = max(new_first, n_days - max(1, n_days // 2))
    # Whole days ending (with the margin) before `end - 30 days`; for periods too
    # short to keep a third of them active, dormant users use the first half.
    dormant_stop = int((end - pd.Timedelta(days=_DORMANT_QUIET_DAYS) - origin + margin) // day)
    if dormant_stop < max(1, n_days // 3):
        dormant_stop = max(1, n_days // 2)
    return Timeline(origin, n_days, horizon_s, new_first, dormant_stop)


def _persona_counts(n_users: int) -> np.ndarray:
    """Users per kind (personas then bot), exact shares by largest remainder."""
    n_bots = max(1, round(n_users * _BOT_SHARE)) if n_users >= _MIN_USERS_FOR_BOTS else 0
    shares = profile_column("share")[: len(PERSONAS)]
    target = shares / shares.sum() * (n_users - n_bots)
    counts = np.floor(target).astype(np.int64)
    leftover = (n_users - n_bots) - counts.sum()
    counts[np.argsort(-(target - counts), kind="stable")[:leftover]] += 1
    return np.append(counts, n_bots)


def draw_users(n_users: int, tl: Timeline, rng: np.random.Generator) -> Users:
    """Persona, usual device, preferred category and active days of every user."""
    kind = rng.permutation(np.repeat(np.arange(len(KINDS)), _persona_counts(n_users)))
    device = draw_categorical(rng, kind, profile_table("device_p"))
    category = rng.choice(len(CATEGORIES), size=n_users, p=CATEGORY_POPULARITY)

    # Regular users are active until the end (the churn stage, core.data.sample.churn,
    # later takes some of them away); some of them join during the first third of the
    # period (well before the new-visitor window, so that they still build up a history
    # of their own and are not mistaken for new visitors).
    late = rng.random(n_users) < profile_column("late_start_p")[kind]
    late_window = max(1, min(tl.new_visitor_first_day, tl.n_days // _LATE_START_PERIOD_FRACTION))
    first_day = np.where(late, rng.integers(0, late_window, n_users), 0)
    stop_day = np.full(n_users, tl.n_days)

    # Loyal customers are there from the first days on.
    is_loyal = kind == K_LOYAL
    first_day[is_loyal] = rng.integers(0, min(3, tl.n_days // 4) + 1, is_loyal.sum())
    # New visitors appear in the last 14 days only.
    is_new = kind == K_NEW
    first_day[is_new] = rng.integers(tl.new_visitor_first_day, tl.n_days, is_new.sum())
    # Dormant users start early and stop before the quiet period.
    is_dormant = kind == K_DORMANT
    stop = tl.dormant_stop_day
    dormant_first = rng.integers(0, max(1, stop // 4), is_dormant.sum())
    dormant_min_stop = dormant_first + np.maximum(1, (stop - dormant_first) // 3)
    first_day[is_dormant] = dormant_first
    stop_day[is_dormant] = rng.integers(dormant_min_stop, stop + 1)
    first_day[kind == K_BOT] = 0
    return Users(kind, first_day, stop_day, device, category)
