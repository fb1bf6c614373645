"""Sessions of the sample: how many per user, when they start, their type and shape.

Each user gets a Poisson number of sessions, placed on days and hours with a weekly
and daily rhythm; each session gets a type, a number of browsing events and, for
cart sessions, the size of its checkout tail. Once the events are timed,
:func:`place_sessions` fits the sessions into the user's window and drops those that
start less than an hour after the user's previous session ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.sample.draws import draw_categorical, segment_starts
from core.data.sample.population import Timeline, Users
from core.data.sample.profiles import (
    K_BOT,
    KINDS,
    PROFILES,
    S_ABANDON,
    S_BOT,
    S_PURCHASE,
    profile_column,
    profile_table,
)

_SECONDS_PER_DAY = 86_400.0

# Scales a persona's mean number of browsing events by session type: bounces have only
# the landing page, content sessions run longer, cart sessions spend events in the tail;
# bot session lengths are drawn separately.
_BODY_LENGTH_FACTOR_BY_SESSION_TYPE = np.array([0.0, 1.0, 1.3, 0.8, 0.8, 0.0])
# Cap on browsing events per (non-bot) session, so a session lasts at most a few hours.
_MAX_BODY_EVENTS = 60
_BOT_SESSIONS = 3
# Events per bot session; three sessions give 2,100-4,950 events per bot.
_BOT_EVENTS_PER_SESSION = (700, 1650)

# Consecutive sessions of one user start at least this long after the previous one
# ended: twice the usual 30-minute sessionization gap, so sessions are unambiguous.
_MIN_SESSION_GAP_S = 3600.0

# Session-start rhythm. Weekday weights Monday..Sunday: a dip on Friday and Saturday,
# a peak on Sunday evening shopping.
_WEEKDAY_WEIGHTS = np.array([1.05, 1.00, 1.00, 0.95, 0.85, 0.80, 1.15])
# Hour-of-day weights (UTC used as local time): little at night, a daytime plateau,
# an evening peak around 20:00.
# fmt: off
_HOUR_WEIGHTS = np.array(
    [1.5, 1.0, 0.7, 0.5, 0.5, 0.7, 1.5, 2.5, 3.5, 4.5, 5.0, 5.0,
     5.5, 5.5, 5.0, 5.0, 5.5, 6.0, 7.0, 8.0, 8.5, 8.0, 6.5, 4.0]
)
# fmt: on
# Hours before this count as night in the persona rhythm (as in the app's night_share).
_NIGHT_END_HOUR = 6


@dataclass(frozen=True)
class Sessions:
    """Drawn sessions, sorted by user then raw start time (before placement)."""

    per_user: np.ndarray  # number of sessions of each user
    user: np.ndarray  # user number
    kind: np.ndarray  # persona code of the user
    t_raw: np.ndarray  # wished start, seconds since origin
    stype: np.ndarray  # session type code
    body: np.ndarray  # browsing events, starting with the landing page_view
    cart_items: np.ndarray  # add_to_cart events of a cart session
    checkout: np.ndarray  # the cart tail reaches checkout
    coupon: np.ndarray  # the cart tail has a coupon_use
    length: np.ndarray  # body plus cart tail


def draw_sessions(users: Users, tl: Timeline, rng: np.random.Generator) -> Sessions:
    """Sessions of every user with their wished start, type, body and cart tail."""
    n_sess = _sessions_per_user(users, rng)
    s_user = np.repeat(np.arange(len(users.kind)), n_sess)
    t_raw = _day_start_times(users, s_user, tl, rng)
    order = np.lexsort((t_raw, s_user))
    s_user, t_raw = s_user[order], t_raw[order]
    s_kind = users.kind[s_user]
    n_sessions = len(s_user)

    stype = draw_categorical(rng, s_kind, profile_table("session_mix"))
    extra = rng.poisson(
        profile_column("extra_events")[s_kind] * _BODY_LENGTH_FACTOR_BY_SESSION_TYPE[stype]
    )
    body = 1 + np.minimum(extra, _MAX_BODY_EVENTS - 1)
    is_bot_s = stype == S_BOT
    body[is_bot_s] = rng.integers(
        _BOT_EVENTS_PER_SESSION[0], _BOT_EVENTS_PER_SESSION[1] + 1, is_bot_s.sum()
    )
    has_cart = (stype == S_ABANDON) | (stype == S_PURCHASE)
    bought = stype == S_PURCHASE
    cart_items = 1 + np.minimum(rng.poisson(profile_column("extra_cart_items")[s_kind]), 3)
    checkout = bought | (rng.random(n_sessions) < profile_column("abandon_checkout_p")[s_kind])
    coupon = bought & (rng.random(n_sessions) < profile_column("coupon_p")[s_kind])
    # Tail: (product_view, add_to_cart) per item, page_view /cart, [checkout],
    # [coupon_use], [purchase].
    tail = np.where(has_cart, 2 * cart_items + 1 + checkout + coupon + bought, 0)
    return Sessions(
        n_sess, s_user, s_kind, t_raw, stype, body, cart_items, checkout, coupon, body + tail
    )


def _sessions_per_user(users: Users, rng: np.random.Generator) -> np.ndarray:
    """Poisson number of sessions of every user over their active weeks."""
    kind = users.kind
    weeks = (users.stop_day - users.first_day) / 7.0
    # A gamma multiplier makes some users of a persona busier than others.
    shape = profile_column("activity_shape")[kind]
    busy = rng.gamma(shape=shape, scale=1.0 / shape)
    n_sess = rng.poisson(profile_column("sessions_per_week")[kind] * weeks * busy)
    n_sess = np.maximum(n_sess, profile_column("min_sessions")[kind].astype(np.int64))
    n_sess[kind == K_BOT] = _BOT_SESSIONS
    return n_sess


def _day_start_times(
    users: Users, s_user: np.ndarray, tl: Timeline, rng: np.random.Generator
) -> np.ndarray:
    """Raw session start times (seconds since origin) with weekly and daily rhythm.

    The weekday and hour weights are tilted per persona (weekend readers, night owls).
    """
    weekday = (tl.origin.day_of_week + np.arange(tl.n_days)) % 7
    s_kind = users.kind[s_user]
    lo, hi = users.first_day[s_user], users.stop_day[s_user]
    u = rng.random(len(s_user))
    day = np.zeros(len(s_user), dtype=np.int64)
    for code, name in enumerate(KINDS):
        rows = np.flatnonzero(s_kind == code)
        if len(rows) == 0:
            continue
        day_weight = _WEEKDAY_WEIGHTS[weekday] * np.where(
            weekday >= 5, PROFILES[name].weekend_factor, 1.0
        )
        cum = np.concatenate([[0.0], np.cumsum(day_weight)])
        # Inverse-CDF sampling of a day inside each user's own window.
        target = cum[lo[rows]] + u[rows] * (cum[hi[rows]] - cum[lo[rows]])
        day[rows] = np.clip(np.searchsorted(cum, target, side="right") - 1, lo[rows], hi[rows] - 1)
    night = np.arange(24) < _NIGHT_END_HOUR
    hour_weights = np.array(
        [_HOUR_WEIGHTS * np.where(night, PROFILES[k].night_factor, 1.0) for k in KINDS]
    )
    # Bots run around the clock.
    hour_weights[K_BOT] = 1.0
    hour = draw_categorical(rng, s_kind, hour_weights)
    return day * _SECONDS_PER_DAY + hour * 3600.0 + rng.random(len(s_user)) * 3600.0


def place_sessions(
    s: Sessions, duration: np.ndarray, users: Users, tl: Timeline
) -> tuple[np.ndarray, np.ndarray]:
    """Start time of every session, fitted into the user's window, and whether it is kept.

    `duration` is the time from a session's first to its last event.
    """
    # Pull sessions that would run past the user's window (or the period) back in.
    window_end = np.minimum(users.stop_day[s.user] * _SECONDS_PER_DAY, tl.horizon_s)
    start = np.minimum(s.t_raw, window_end - duration)
    end = start + duration
    # Keep a session only if it starts an hour after every earlier session of the
    # same user has ended. Adding user * big keeps the running maximum per user
    # (sessions are sorted by user), and earlier users' values stay far below.
    big = (tl.n_days + 2) * _SECONDS_PER_DAY * 2.0
    running_end = np.maximum.accumulate(end + s.user * big) - s.user * big
    previous_end = np.concatenate([[-np.inf], running_end[:-1]])
    keep = start >= previous_end + _MIN_SESSION_GAP_S
    keep[segment_starts(s.per_user)] = True  # a user's first session is always kept
    return start, keep
