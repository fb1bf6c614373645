"""Events of the sample: the event type and time of every event, and tracking noise.

The sessions come from :mod:`core.data.sample.sessions`. Each session is a landing
``page_view``, a body of browsing events and, for cart sessions, a checkout tail;
events are spaced by lognormal gaps. Tracking noise (duplicates, double fires) is
added at the very end, to the finished columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.sample.draws import draw_categorical, segment_starts
from core.data.sample.population import Timeline, Users
from core.data.sample.profiles import (
    ADD_TO_CART,
    BOT_GAP_RANGE_S,
    CHECKOUT,
    COUPON_USE,
    GAP_SIGMA,
    N_SESSION_TYPES,
    PAGE_VIEW,
    PRODUCT_VIEW,
    PURCHASE,
    S_BOT,
    SCROLL,
    SEARCH,
    VIDEO_PLAY,
    profile_column,
    profile_table,
)
from core.data.sample.sessions import Sessions, draw_sessions, place_sessions

# Events that can fill the body of a session (everything before the cart tail).
_BODY_EVENTS = np.array([PAGE_VIEW, PRODUCT_VIEW, SEARCH, SCROLL, VIDEO_PLAY])
# Body event mix per session type, columns as _BODY_EVENTS
# (page_view, product_view, search, scroll, video_play). Persona tilts multiply these.
_BODY_MIX_BY_SESSION_TYPE = np.array(
    [
        [1.00, 0.00, 0.00, 0.00, 0.00],  # bounce: only the landing page_view anyway
        [0.30, 0.40, 0.15, 0.13, 0.02],  # browse
        [0.35, 0.05, 0.03, 0.42, 0.15],  # content: reading, scrolling, watching
        [0.20, 0.55, 0.12, 0.12, 0.01],  # cart abandon: product-focused
        [0.20, 0.55, 0.12, 0.12, 0.01],  # purchase: product-focused
        [0.85, 0.12, 0.03, 0.00, 0.00],  # bot: crawls pages
    ]
)
# How long a visitor stays after an event, relative to the persona's median gap
# (reading a page, watching a video and filling in the checkout form take longest).
_GAP_FACTOR_BY_EVENT = np.array([1.0, 1.3, 0.7, 0.6, 3.0, 0.5, 2.5, 1.0, 0.6])
# In-session gaps are clipped to [1 s, 5 min]: the floor keeps double fires (< 1 s)
# distinguishable from real clicks, the ceiling stays far below a 30-minute
# sessionization gap.
_MIN_GAP_S = 1.0
_MAX_GAP_S = 300.0
# Tracking noise: exact duplicate rows and double fires (same event 0.1-0.9 s later).
_DUPLICATE_ROW_P = 0.003
_DOUBLE_FIRE_P = 0.005
_DOUBLE_FIRE_DELAY_S = (0.1, 0.9)


@dataclass(frozen=True)
class Clickstream:
    """Event types and times of the kept sessions, before pages and noise.

    Events are sorted by user, then time; the events of session ``i`` are the rows
    ``first_row[i]`` to ``first_row[i] + length[i] - 1``.
    """

    # One entry per event.
    user: np.ndarray  # user number
    t: np.ndarray  # seconds since the timeline's origin
    event: np.ndarray  # event code (int8)
    session: np.ndarray  # session number
    pos: np.ndarray  # position inside the session (0: the landing page_view)
    # One entry per session.
    first_row: np.ndarray  # first event row
    s_user: np.ndarray  # user number
    s_kind: np.ndarray  # persona code of the user
    stype: np.ndarray  # session type code
    body: np.ndarray  # browsing events before the cart tail
    length: np.ndarray  # all events


def draw_sessions_and_events(users: Users, tl: Timeline, rng: np.random.Generator) -> Clickstream:
    """Draw sessions and the event type and timing of every event.

    Returns the event-level arrays (``user``, ``t`` seconds since origin, ``event``,
    ``session``, ``pos``) and session-level arrays (``first_row``, ``s_user``,
    ``s_kind``, ``stype``, ``body``, ``length``) of the sessions that were kept.
    """
    s = draw_sessions(users, tl, rng)
    # Events of all drawn sessions: type, then offset from the session start.
    sess = np.repeat(np.arange(len(s.user)), s.length)
    first_row = segment_starts(s.length)
    pos = np.arange(int(s.length.sum())) - first_row[sess]
    ev_kind = s.kind[sess]
    ev_stype = s.stype[sess]
    event = _event_types(s, sess, pos, ev_kind, ev_stype, rng)
    offset = _event_offsets(event, ev_kind, ev_stype, sess, first_row, rng)
    del ev_kind, ev_stype
    # Place the sessions (their length is the offset of their last event), then drop
    # the events of the sessions that were not kept and renumber the sessions.
    start, keep = place_sessions(s, offset[first_row + s.length - 1], users, tl)
    keep_ev = keep[sess]
    new_index = np.cumsum(keep) - 1
    ev_session = new_index[sess[keep_ev]]
    event = event[keep_ev]
    t = start[sess[keep_ev]] + offset[keep_ev]
    pos = pos[keep_ev]
    del sess, offset
    kept_length = s.length[keep]
    return Clickstream(
        user=s.user[keep][ev_session],
        t=t,
        event=event,
        session=ev_session,
        pos=pos,
        first_row=segment_starts(kept_length),
        s_user=s.user[keep],
        s_kind=s.kind[keep],
        stype=s.stype[keep],
        body=s.body[keep],
        length=kept_length,
    )


def _event_types(
    s: Sessions,
    sess: np.ndarray,
    pos: np.ndarray,
    ev_kind: np.ndarray,
    ev_stype: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Event code of every event: landing page_view, body, then the cart tail."""
    tilt = profile_table("body_tilt")
    body_mix = (tilt[:, None, :] * _BODY_MIX_BY_SESSION_TYPE[None, :, :]).reshape(-1, 5)
    body_event = _BODY_EVENTS[draw_categorical(rng, ev_kind * N_SESSION_TYPES + ev_stype, body_mix)]
    j = pos - s.body[sess]  # position inside the tail (negative in the body)
    n_items = s.cart_items[sess]
    rest = j - 2 * n_items - 1  # position after the /cart page
    after_checkout = s.checkout[sess].astype(np.int64)
    return np.select(
        [
            pos == 0,
            j < 0,
            j < 2 * n_items,
            rest < 0,
            rest < after_checkout,
            rest < after_checkout + s.coupon[sess],
        ],
        [
            PAGE_VIEW,
            body_event,
            np.where(j % 2 == 0, PRODUCT_VIEW, ADD_TO_CART),
            PAGE_VIEW,
            CHECKOUT,
            COUPON_USE,
        ],
        default=PURCHASE,
    ).astype(np.int8)


def _event_offsets(
    event: np.ndarray,
    ev_kind: np.ndarray,
    ev_stype: np.ndarray,
    sess: np.ndarray,
    first_row: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Seconds from the session start to every event (lognormal gaps, fast bots)."""
    median = profile_column("gap_median_s")[ev_kind] * _GAP_FACTOR_BY_EVENT[event]
    gap = np.clip(rng.lognormal(np.log(median), GAP_SIGMA), _MIN_GAP_S, _MAX_GAP_S)
    del median
    is_bot_e = ev_stype == S_BOT
    gap[is_bot_e] = rng.uniform(*BOT_GAP_RANGE_S, is_bot_e.sum())
    # Offset of each event from its session start = gaps of the earlier events.
    before = np.cumsum(gap) - gap
    return before - before[first_row[sess]]


def add_tracking_noise(
    columns: dict, is_bot: np.ndarray, rng: np.random.Generator, keep: np.ndarray | None = None
) -> dict:
    """Repeat a few rows exactly and 'double fire' a few others 0.1-0.9 s later.

    Copies are placed right after their original, so the log stays sorted: in-session
    gaps of people are at least 1 s. Bot rows are not double-fired because bots click
    faster than that.

    With `keep` (one flag per row), only the kept rows and their copies are returned.
    The noise is drawn for every row all the same, so the kept rows get exactly the
    copies they would get without `keep`.
    """
    n = len(columns["t"])
    duplicate = rng.random(n) < _DUPLICATE_ROW_P
    double_fire = (rng.random(n) < _DOUBLE_FIRE_P) & ~is_bot
    copies = 1 + duplicate.astype(np.int64) + double_fire
    source = np.repeat(np.arange(n), copies)
    copy_no = np.arange(len(source)) - segment_starts(copies)[source]
    is_double_fire = double_fire[source] & (copy_no == 1 + duplicate[source])
    delay = rng.uniform(*_DOUBLE_FIRE_DELAY_S, is_double_fire.sum())
    if keep is not None:
        kept = keep[source]
        delay = delay[kept[is_double_fire]]
        source, is_double_fire = source[kept], is_double_fire[kept]
    out = {name: values[source] for name, values in columns.items()}
    out["t"][is_double_fire] += delay
    return out
