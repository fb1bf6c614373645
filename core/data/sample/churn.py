"""Churn of the sample: some regular users leave for good near the end, fading first.

A share of the regular users (loyal customers, bargain hunters, cart abandoners and
content explorers; never bots, new visitors or dormant users) churn: they leave on a
*churn day* in the last :data:`CHURN_WINDOW_DAYS` days of the period (half the period
when it is shorter than twice that), more of them the closer the end (the density of the
churn day rises linearly over the window), so that they churn both before and after
cutoffs such as ``end - 14 days``. Every event of a churner is before their churn day.

Before they leave, their activity fades in two ways an analyst can see in the log
before the user goes silent, beyond recency alone:

- **shallower visits**: a session that starts ``d`` days before the churn day, with
  ``d`` under :data:`ENGAGEMENT_FADE_DAYS`, ends on its landing page (only the first
  ``page_view`` is kept) with a probability rising from :data:`CUT_P_START` four weeks
  before to 1 at the churn day, so recent event counts fall well before the sessions
  stop;
- **fewer visits**: a session that starts ``d`` days before the churn day is kept at
  all with probability ``sqrt(min(1, d / FADE_DAYS))``, so the session rate falls to
  zero over the three weeks before the churn day. The user's first session always
  stays (perhaps cut to its landing page), so every user keeps at least one event.

Who churns depends on what the log shows:

- the persona (``Profile.churn_p``: content explorers and bargain hunters churn most,
  loyal customers least);
- cart friction: a user who abandoned a larger share of their sessions' carts than is
  usual for their persona (counted over their sessions before the fade could start) is
  more likely to churn, by :data:`FRICTION_LOGIT_PER_SHARE` on the log-odds scale per
  unit of share above the persona's usual share of cart-abandon sessions.

The stage runs on a random stream of its own after the sessions are placed, draws its
numbers for every user and session whether they churn or not, and only takes events
away (it never adds or moves one), after the pages and the tracking noise have been
drawn for the whole clickstream: the users who stay keep exactly the events they would
have without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.sample.draws import segment_starts
from core.data.sample.events import Clickstream
from core.data.sample.population import Timeline, Users
from core.data.sample.profiles import (
    K_BARGAIN,
    K_CART,
    K_CONTENT,
    K_LOYAL,
    S_ABANDON,
    profile_column,
    profile_table,
)

_SECONDS_PER_DAY = 86_400.0
#: The personas that can churn: the regular users, active until the end otherwise.
CHURN_KINDS = (K_LOYAL, K_BARGAIN, K_CART, K_CONTENT)
#: Churn days fall in the last four weeks of the period (its last half when shorter).
CHURN_WINDOW_DAYS = 28
#: Over the days before the churn day, the session rate falls to zero ...
FADE_DAYS = 21.0
#: ... and, over a longer stretch, visits get shallower: a session ends on its landing
#: page with a probability rising from CUT_P_START to 1 at the churn day.
ENGAGEMENT_FADE_DAYS = 28.0
CUT_P_START = 0.75
#: Log-odds of churning added per unit of cart-abandonment share above the persona's
#: usual one: +0.6 for one abandoned cart in ten sessions more than usual.
FRICTION_LOGIT_PER_SHARE = 6.0
#: Every kept session of a churner ends at least this long before the churn day
#: (tracking noise adds copies at most 0.9 s after an event).
_STOP_MARGIN_S = 1.0


@dataclass(frozen=True)
class Churn:
    """Who churns and which parts of the clickstream survive.

    ``churn_day`` is per user: the whole day (counted from the timeline's origin) from
    which the user is gone, every event of theirs is before it; -1 for users who stay.
    ``keep`` and ``cut`` are per session of the clickstream: whether it is kept, and
    whether only its landing ``page_view`` is.
    """

    churn_day: np.ndarray
    keep: np.ndarray
    cut: np.ndarray


def no_churn(users: Users, ev: Clickstream) -> Churn:
    """Nobody churns: the clickstream as drawn (what the sample was before churn)."""
    n_sessions = len(ev.s_user)
    return Churn(
        np.full(len(users.kind), -1, dtype=np.int64),
        np.ones(n_sessions, dtype=bool),
        np.zeros(n_sessions, dtype=bool),
    )


def kept_events(churn: Churn, ev: Clickstream) -> np.ndarray | None:
    """Which events of the clickstream survive the churn; None when all of them do."""
    if churn.keep.all() and not churn.cut.any():
        return None
    return churn.keep[ev.session] & ~(churn.cut[ev.session] & (ev.pos > 0))


def draw_churn(users: Users, ev: Clickstream, tl: Timeline, rng: np.random.Generator) -> Churn:
    """Draw the churners, their churn day and what their fading visits keep."""
    n_users, n_sessions = len(users.kind), len(ev.s_user)
    kind, s_user = users.kind, ev.s_user
    # Every number is drawn for everyone, in a fixed order, whoever turns out to churn.
    window = max(1, min(CHURN_WINDOW_DAYS, tl.n_days // 2))
    first_day = tl.n_days - window
    # Density rising linearly over the window: the square root of a uniform number.
    offset = np.floor(np.sqrt(rng.random(n_users)) * window).astype(np.int64)
    stop_day = first_day + np.minimum(offset, window - 1)
    u_churn = rng.random(n_users)
    u_keep = rng.random(n_sessions)
    u_cut = rng.random(n_sessions)

    start = ev.t[ev.first_row]
    end = ev.t[ev.first_row + ev.length - 1]
    stop_s = stop_day * _SECONDS_PER_DAY
    days_left = (stop_s[s_user] - start) / _SECONDS_PER_DAY

    # Cart friction: the share of the user's sessions that abandoned a cart before the
    # fade could start, against the persona's usual share (usual without such sessions).
    usual = profile_table("session_mix")[:, S_ABANDON].astype(float)[kind]
    before = days_left >= max(FADE_DAYS, ENGAGEMENT_FADE_DAYS)
    sessions_before = np.bincount(s_user, weights=before, minlength=n_users)
    abandoned_before = np.bincount(
        s_user, weights=before & (ev.stype == S_ABANDON), minlength=n_users
    )
    share = np.where(sessions_before > 0, abandoned_before / np.maximum(sessions_before, 1), usual)
    base = np.clip(profile_column("churn_p")[kind], 1e-9, 1 - 1e-9)
    logit = np.log(base / (1 - base)) + FRICTION_LOGIT_PER_SHARE * (share - usual)
    p_churn = np.where(np.isin(kind, CHURN_KINDS), 1 / (1 + np.exp(-logit)), 0.0)

    # A user whose first session does not end before the churn day cannot churn, so
    # that everyone keeps at least one session and churners have none after the day.
    per_user = np.bincount(s_user, minlength=n_users)
    has_sessions = per_user > 0
    first_session = segment_starts(per_user)[has_sessions]
    ends_in_time = end + _STOP_MARGIN_S < stop_s[s_user]
    can_churn = np.zeros(n_users, dtype=bool)
    can_churn[has_sessions] = ends_in_time[first_session]
    churns = (u_churn < p_churn) & can_churn

    # Fewer visits, then none: keep a session with probability sqrt(days left / fade).
    keep_p = np.sqrt(np.clip(days_left / FADE_DAYS, 0.0, 1.0))
    fading_keep = (u_keep < keep_p) & ends_in_time
    fading_keep[first_session] = True  # always kept; ends in time for every churner
    keep = ~churns[s_user] | fading_keep
    # Shallower visits: only the landing page_view of a cut session is kept.
    cut_p = np.where(
        days_left < ENGAGEMENT_FADE_DAYS,
        CUT_P_START + (1 - CUT_P_START) * (1 - days_left / ENGAGEMENT_FADE_DAYS),
        0.0,
    )
    cut = churns[s_user] & keep & (u_cut < cut_p)
    return Churn(np.where(churns, stop_day, -1), keep, cut)
