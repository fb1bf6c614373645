"""Seeded generator of a realistic online-shop clickstream with planted personas.

The sample gives the app something to analyse before the analyst has data of their
own, and gives the tests and benchmarks a data set whose answer is known: every user
belongs to a planted persona (plus a few bots), and a separate A/B-test table carries
a planted, persona-dependent lift in conversion.

Everything is vectorised with numpy: users, sessions and events are drawn as whole
arrays, so 200,000 users (about 12 million events) take seconds, not minutes. The only
Python loops run over personas or over a handful of columns.

How the clickstream is built
----------------------------
1. Users get a persona, a preferred device and category, and an activity window in
   whole calendar days (dormant users stop early, new visitors start late).
2. Each user gets a Poisson number of sessions (the persona's rate times a per-user
   gamma activity multiplier); session start days follow a weekly rhythm and start
   hours a 24-hour profile, both tilted per persona (weekend readers, night owls).
3. Each session gets a type (bounce, browse, content, cart abandon, purchase, bot), a
   body of browsing events (starting with a ``page_view``) and, for cart sessions, a
   tail ``product_view, add_to_cart, ..., page_view /cart, checkout, [coupon_use],
   purchase``.
4. Gaps inside a session are seconds to a few minutes (at most 5 minutes); sessions of
   one user are at least an hour apart, so a 30-minute sessionizer recovers them.
5. A little tracking noise is added: exact duplicate rows and "double fires" (the same
   event again 0.1-0.9 s later).

The ground truth (persona per user) is returned separately and never appears in the
event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from core.common.errors import ConfigError

__all__ = [
    "BOT",
    "CATEGORIES",
    "EVENT_TYPES",
    "PERSONAS",
    "SampleData",
    "SampleDataArgumentError",
    "generate_sample",
    "write_sample",
]

PERSONAS: tuple[str, ...] = (
    "loyal_high_value",
    "bargain_hunter",
    "cart_abandoner",
    "content_explorer",
    "new_visitor",
    "dormant",
)
BOT = "bot"
EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "product_view",
    "search",
    "scroll",
    "video_play",
    "add_to_cart",
    "checkout",
    "purchase",
    "coupon_use",
)

# Persona codes used inside the generator; the bot is the last code.
_KINDS: tuple[str, ...] = (*PERSONAS, BOT)
_LOYAL, _BARGAIN, _CART, _CONTENT, _NEW, _DORMANT, _BOT = range(len(_KINDS))

# Event codes, in the order of EVENT_TYPES.
(
    _PAGE_VIEW,
    _PRODUCT_VIEW,
    _SEARCH,
    _SCROLL,
    _VIDEO_PLAY,
    _ADD_TO_CART,
    _CHECKOUT,
    _PURCHASE,
    _COUPON_USE,
) = range(len(EVENT_TYPES))
# Events that can fill the body of a session (everything before the cart tail).
_BODY_EVENTS = np.array([_PAGE_VIEW, _PRODUCT_VIEW, _SEARCH, _SCROLL, _VIDEO_PLAY])

# Session types.
_S_BOUNCE, _S_BROWSE, _S_CONTENT, _S_ABANDON, _S_PURCHASE, _S_BOT = range(6)
_N_SESSION_TYPES = 6

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

# Scales a persona's mean number of browsing events by session type: bounces have only
# the landing page, content sessions run longer, cart sessions spend events in the tail;
# bot session lengths are drawn separately.
_BODY_LENGTH_FACTOR_BY_SESSION_TYPE = np.array([0.0, 1.0, 1.3, 0.8, 0.8, 0.0])

# How long a visitor stays after an event, relative to the persona's median gap
# (reading a page, watching a video and filling in the checkout form take longest).
_GAP_FACTOR_BY_EVENT = np.array([1.0, 1.3, 0.7, 0.6, 3.0, 0.5, 2.5, 1.0, 0.6])
_GAP_SIGMA = 0.9  # lognormal spread of in-session gaps
# In-session gaps are clipped to [1 s, 5 min]: the floor keeps double fires (< 1 s)
# distinguishable from real clicks, the ceiling stays far below a 30-minute
# sessionization gap.
_MIN_GAP_S = 1.0
_MAX_GAP_S = 300.0
# Bots click every 0.15-3 s, much faster than people.
_BOT_GAP_RANGE_S = (0.15, 3.0)
_BOT_SESSIONS = 3
# Events per bot session; three sessions give 2,100-4,950 events per bot.
_BOT_EVENTS_PER_SESSION = (700, 1650)
_BOT_SHARE = 0.002
_MIN_USERS_FOR_BOTS = 500

# Consecutive sessions of one user start at least this long after the previous one
# ended: twice the usual 30-minute sessionization gap, so sessions are unambiguous.
_MIN_SESSION_GAP_S = 3600.0
# Cap on browsing events per (non-bot) session, so a session lasts at most a few hours.
_MAX_BODY_EVENTS = 60
# Nothing is placed in the last seconds before `end`, so that double fires
# (up to 0.9 s later) still fall inside the period.
_END_MARGIN_S = 5.0

_SECONDS_PER_DAY = 86_400.0
_PARQUET_ROW_GROUP = 122_880
_DEFAULT_END = pd.Timestamp("2026-06-30 23:59:59", tz="UTC")
_MIN_DAYS = 7
# New visitors appear only in the last 14 days; dormant users are silent in the last 30.
_NEW_VISITOR_DAYS = 14
_DORMANT_QUIET_DAYS = 30
# Regular users who join during the period do so in its first 1/3.
_LATE_START_PERIOD_FRACTION = 3

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

# fmt: off
CATEGORIES: tuple[str, ...] = (
    "electronics", "fashion", "home", "beauty", "sports", "toys", "books", "grocery",
)
# fmt: on
# How often a category is picked when a visitor wanders off their favourite one.
_CATEGORY_POPULARITY = np.array([0.18, 0.20, 0.15, 0.12, 0.10, 0.08, 0.09, 0.08])
# Probability that a product event stays in the session's category.
_STAY_IN_CATEGORY_P = 0.8
# Probability that a session is about the user's preferred category.
_PREFERRED_CATEGORY_P = 0.65
_PRODUCTS_PER_CATEGORY = 50
# Product popularity inside a category is skewed: index = floor(50 * u ** 2.2).
_PRODUCT_POPULARITY_EXPONENT = 2.2
# fmt: off
_BLOG_SLUGS: tuple[str, ...] = (
    "spring-style-guide", "best-budget-headphones", "home-office-setup",
    "skincare-routine-basics", "marathon-training-plan", "toys-for-toddlers",
    "summer-reading-list", "meal-prep-on-a-budget", "smart-home-starter",
    "running-shoe-buying-guide", "sustainable-fashion", "gift-ideas-under-50",
    "small-kitchen-hacks", "camping-checklist", "how-we-source-coffee",
    "phone-camera-tips",
)
# fmt: on
_DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
# Share of sessions on another device than the user's usual one.
_OTHER_DEVICE_P = 0.05

# Page vocabulary: fixed pages first, then category, blog and product pages.
_FIXED_PAGES: tuple[str, ...] = ("/", "/search", "/cart", "/checkout", "/checkout/thanks")
_P_HOME, _P_SEARCH, _P_CART, _P_CHECKOUT, _P_THANKS = range(len(_FIXED_PAGES))
_P_CATEGORY0 = len(_FIXED_PAGES)
_P_BLOG0 = _P_CATEGORY0 + len(CATEGORIES)
_P_PRODUCT0 = _P_BLOG0 + len(_BLOG_SLUGS)
_N_PRODUCTS = len(CATEGORIES) * _PRODUCTS_PER_CATEGORY
# Which kind of page a page_view shows: (home, category, blog), for the landing page
# and later pages, in content sessions and in other sessions.
_LANDING_MIX = {"content": (0.30, 0.05, 0.65), "other": (0.45, 0.40, 0.15)}
_LATER_PAGE_MIX = {"content": (0.10, 0.15, 0.75), "other": (0.15, 0.75, 0.10)}


@dataclass(frozen=True)
class _Profile:
    """Behaviour parameters of one persona (see module docstring for their use)."""

    share: float  # share of the non-bot users
    sessions_per_week: float  # Poisson rate while the user is active
    activity_shape: float  # gamma shape of the per-user activity multiplier (mean 1)
    min_sessions: int  # every user of the persona has at least this many sessions
    session_mix: tuple[float, ...]  # P(bounce, browse, content, abandon, purchase, bot)
    extra_events: float  # mean body events after the landing page_view
    body_tilt: tuple[float, ...]  # multiplies _BODY_MIX_BY_SESSION_TYPE columns
    extra_cart_items: float  # mean additional add_to_cart per cart session
    abandon_checkout_p: float  # abandon sessions that still reach checkout
    coupon_p: float  # purchase sessions with a coupon_use
    gap_median_s: float  # median seconds between events in a session
    exit_page_median_s: float  # median seconds on the last page of a session
    order_value_median: float
    order_value_sigma: float
    scroll_beta: tuple[float, float]  # Beta(a, b) * 100 = scroll depth
    device_p: tuple[float, float, float]  # desktop, mobile, tablet
    weekend_factor: float  # multiplies the Saturday and Sunday weights of session days
    night_factor: float  # multiplies the 00:00-05:59 weights of session start hours
    late_start_p: float  # share of users who join during the first third of the period
    conversion_baseline: float  # A/B test: control conversion probability
    conversion_lift: float  # A/B test: treatment minus control, absolute
    pre_revenue_zero_p: float  # A/B test: users without pre-period revenue
    pre_revenue_median: float  # A/B test: median pre-period revenue if any


# Each persona has a signature in the app's default features (sessions per week,
# events per session, session length, recency, tenure, product views, cart adds,
# purchases, revenue, weekend and night share, engagement), so that K-means on them
# recovers the personas (adjusted Rand index about 0.9 at 5,000 users):
# - loyal_high_value: many short, focused visits (few product views, straight to the
#   cart), a purchase in a third of them, high order values; shops on weekdays.
# - bargain_hunter: fewer, busy visits full of searches and product views at a fast
#   pace, several cheap purchases with coupons; a night owl.
# - cart_abandoner: most visits fill the cart (two items on average) and stop there,
#   slowly (long, hesitant sessions); almost never buys.
# - content_explorer: long reading sessions (blog, scrolling, video), no cart; reads
#   on weekends.
# - new_visitor: a few short visits in the last 14 days only.
# - dormant: a few weeks of plain browsing early in the period, then silence.
# The activity multiplier (gamma, mean 1) varies users within a persona: the four
# regular personas are fairly homogeneous (shape 12, CV 0.29), new visitors and
# dormant users more varied.
# fmt: off
_PROFILES: dict[str, _Profile] = {
    "loyal_high_value": _Profile(
        share=0.12, sessions_per_week=1.9, activity_shape=12.0, min_sessions=1,
        session_mix=(0.05, 0.55, 0.02, 0.05, 0.33, 0.0), extra_events=1.5,
        body_tilt=(1.2, 0.4, 0.4, 1.0, 1.0), extra_cart_items=0.3,
        abandon_checkout_p=0.30, coupon_p=0.08, gap_median_s=15.0,
        exit_page_median_s=30.0, order_value_median=100.0, order_value_sigma=0.45,
        scroll_beta=(2.5, 3.0), device_p=(0.55, 0.38, 0.07),
        weekend_factor=0.7, night_factor=1.0, late_start_p=0.0,
        conversion_baseline=0.30, conversion_lift=0.02,
        pre_revenue_zero_p=0.05, pre_revenue_median=450.0,
    ),
    "bargain_hunter": _Profile(
        share=0.18, sessions_per_week=0.8, activity_shape=12.0, min_sessions=1,
        session_mix=(0.04, 0.66, 0.02, 0.04, 0.24, 0.0), extra_events=5.0,
        body_tilt=(0.5, 2.5, 3.0, 0.4, 0.2), extra_cart_items=0.2,
        abandon_checkout_p=0.30, coupon_p=0.85, gap_median_s=9.0,
        exit_page_median_s=20.0, order_value_median=15.0, order_value_sigma=0.35,
        scroll_beta=(1.5, 3.5), device_p=(0.35, 0.58, 0.07),
        weekend_factor=1.0, night_factor=6.0, late_start_p=0.2,
        conversion_baseline=0.14, conversion_lift=0.01,
        pre_revenue_zero_p=0.35, pre_revenue_median=60.0,
    ),
    "cart_abandoner": _Profile(
        share=0.18, sessions_per_week=0.9, activity_shape=12.0, min_sessions=1,
        session_mix=(0.03, 0.17, 0.01, 0.78, 0.01, 0.0), extra_events=0.8,
        body_tilt=(1.0, 1.2, 1.0, 1.0, 1.0), extra_cart_items=1.2,
        abandon_checkout_p=0.35, coupon_p=0.08, gap_median_s=30.0,
        exit_page_median_s=45.0, order_value_median=65.0, order_value_sigma=0.5,
        scroll_beta=(2.0, 3.0), device_p=(0.30, 0.62, 0.08),
        weekend_factor=1.0, night_factor=1.0, late_start_p=0.2,
        conversion_baseline=0.08, conversion_lift=0.04,
        pre_revenue_zero_p=0.55, pre_revenue_median=90.0,
    ),
    "content_explorer": _Profile(
        share=0.18, sessions_per_week=0.75, activity_shape=12.0, min_sessions=1,
        session_mix=(0.04, 0.07, 0.87, 0.01, 0.01, 0.0), extra_events=3.0,
        body_tilt=(1.2, 0.6, 0.6, 1.4, 1.5), extra_cart_items=0.2,
        abandon_checkout_p=0.25, coupon_p=0.08, gap_median_s=55.0,
        exit_page_median_s=120.0, order_value_median=45.0, order_value_sigma=0.5,
        scroll_beta=(7.0, 2.0), device_p=(0.45, 0.40, 0.15),
        weekend_factor=3.0, night_factor=1.0, late_start_p=0.2,
        conversion_baseline=0.03, conversion_lift=0.0,
        pre_revenue_zero_p=0.80, pre_revenue_median=50.0,
    ),
    "new_visitor": _Profile(
        share=0.14, sessions_per_week=2.5, activity_shape=4.0, min_sessions=1,
        session_mix=(0.20, 0.60, 0.08, 0.07, 0.05, 0.0), extra_events=2.5,
        body_tilt=(1.2, 1.0, 1.0, 1.0, 1.0), extra_cart_items=0.3,
        abandon_checkout_p=0.25, coupon_p=0.10, gap_median_s=25.0,
        exit_page_median_s=35.0, order_value_median=55.0, order_value_sigma=0.5,
        scroll_beta=(2.0, 3.0), device_p=(0.30, 0.62, 0.08),
        weekend_factor=1.0, night_factor=1.0, late_start_p=1.0,
        conversion_baseline=0.05, conversion_lift=0.03,
        pre_revenue_zero_p=0.95, pre_revenue_median=40.0,
    ),
    "dormant": _Profile(
        share=0.20, sessions_per_week=1.2, activity_shape=6.0, min_sessions=3,
        session_mix=(0.10, 0.65, 0.05, 0.15, 0.05, 0.0), extra_events=2.5,
        body_tilt=(1.0, 1.0, 1.0, 1.0, 1.0), extra_cart_items=0.3,
        abandon_checkout_p=0.25, coupon_p=0.10, gap_median_s=22.0,
        exit_page_median_s=35.0, order_value_median=60.0, order_value_sigma=0.5,
        scroll_beta=(2.0, 3.0), device_p=(0.40, 0.50, 0.10),
        weekend_factor=1.0, night_factor=1.0, late_start_p=0.0,
        conversion_baseline=0.04, conversion_lift=-0.01,
        pre_revenue_zero_p=0.40, pre_revenue_median=120.0,
    ),
    "bot": _Profile(
        share=0.0, sessions_per_week=0.0, activity_shape=3.0, min_sessions=1,
        session_mix=(0.0, 0.0, 0.0, 0.0, 0.0, 1.0), extra_events=0.0,
        body_tilt=(1.0, 1.0, 1.0, 1.0, 1.0), extra_cart_items=0.0,
        abandon_checkout_p=0.0, coupon_p=0.0, gap_median_s=1.0,
        exit_page_median_s=1.0, order_value_median=1.0, order_value_sigma=0.1,
        scroll_beta=(1.0, 1.0), device_p=(1.0, 0.0, 0.0),
        weekend_factor=1.0, night_factor=1.0, late_start_p=0.0,
        conversion_baseline=0.0, conversion_lift=0.0,
        pre_revenue_zero_p=1.0, pre_revenue_median=1.0,
    ),
}
# fmt: on

# Tracking noise: exact duplicate rows and double fires (same event 0.1-0.9 s later).
_DUPLICATE_ROW_P = 0.003
_DOUBLE_FIRE_P = 0.005
_DOUBLE_FIRE_DELAY_S = (0.1, 0.9)

# A/B test: revenue of a converted user follows pre-period revenue with this
# elasticity on the log scale, plus lognormal noise.
_EXPERIMENT_REVENUE_ELASTICITY = 0.35
_EXPERIMENT_REVENUE_SIGMA = 0.35
_PRE_REVENUE_SIGMA = 0.8


class SampleDataArgumentError(ConfigError, ValueError):
    """An argument of :func:`generate_sample` is out of range.

    It is a ``ConfigError`` (so pages show it as a message) and a ``ValueError``
    (the usual Python contract for a bad argument value).
    """


@dataclass(frozen=True)
class SampleData:
    """A generated clickstream with its planted ground truth.

    Attributes
    ----------
    events : pandas.DataFrame
        The event log, one row per event, sorted by ``user_id`` then ``ts``. Columns
        ``user_id, ts, event, revenue, page, category, product_id, scroll_depth,
        duration_s, device``. The ground truth is not in it.
    personas : pandas.DataFrame
        ``user_id, persona``: one row per user, bots have persona ``"bot"``.
    experiment : pandas.DataFrame
        ``user_id, variant, converted, revenue, pre_period_revenue``: one row per
        non-bot user of an A/B test with a planted, persona-dependent lift.
    planted_lift : dict of str to float
        Persona -> absolute lift in conversion probability given to treatment.
    """

    events: pd.DataFrame
    personas: pd.DataFrame
    experiment: pd.DataFrame
    planted_lift: dict[str, float]


@dataclass(frozen=True)
class _Timeline:
    """Whole calendar days inside the period; times are seconds since `origin`."""

    origin: pd.Timestamp  # midnight that starts the first whole day in the period
    n_days: int  # whole days available for activity
    horizon_s: float  # latest allowed event time, in seconds since origin
    new_visitor_first_day: int  # first day a new visitor may appear
    dormant_stop_day: int  # dormant users are active only before this day


@dataclass(frozen=True)
class _Users:
    kind: np.ndarray  # persona code per user (_BOT for bots)
    first_day: np.ndarray  # first active day, inclusive
    stop_day: np.ndarray  # last active day, exclusive
    device: np.ndarray  # usual device code
    category: np.ndarray  # preferred category code


def _profile_column(field: str) -> np.ndarray:
    """One profile field for every kind, indexable by persona code."""
    return np.array([getattr(_PROFILES[kind], field) for kind in _KINDS], dtype=float)


def _validate(n_users: object, days: object, seed: object) -> None:
    for name, value, minimum, why in (
        ("n_users", n_users, 1, "at least one user"),
        ("days", days, _MIN_DAYS, "at least a week, so weekly rhythms and personas fit"),
    ):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
            raise SampleDataArgumentError(
                f"{name} must be a whole number >= {minimum} ({why}), got {value!r}. "
                f"Choose {name} >= {minimum}."
            )
    if not isinstance(seed, Integral) or isinstance(seed, bool) or seed < 0:
        raise SampleDataArgumentError(
            f"seed must be a whole number >= 0, got {seed!r}. Choose e.g. seed=0."
        )


def _as_utc(end: object) -> pd.Timestamp:
    stamp = pd.Timestamp(end)
    if pd.isna(stamp):
        raise SampleDataArgumentError(f"end must be a timestamp, got {end!r}.")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _timeline(end: pd.Timestamp, days: int) -> _Timeline:
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
    return _Timeline(origin, n_days, horizon_s, new_first, dormant_stop)


def _persona_counts(n_users: int) -> np.ndarray:
    """Users per kind (personas then bot), exact shares by largest remainder."""
    n_bots = max(1, round(n_users * _BOT_SHARE)) if n_users >= _MIN_USERS_FOR_BOTS else 0
    shares = _profile_column("share")[: len(PERSONAS)]
    target = shares / shares.sum() * (n_users - n_bots)
    counts = np.floor(target).astype(np.int64)
    leftover = (n_users - n_bots) - counts.sum()
    counts[np.argsort(-(target - counts), kind="stable")[:leftover]] += 1
    return np.append(counts, n_bots)


def _draw_categorical(rng: np.random.Generator, group: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Draw one category per row from its group's distribution, without a loop.

    Each group's cumulative distribution is shifted by the group number, so one
    ``searchsorted`` over all groups answers every row at once.
    """
    probs = np.asarray(probs, dtype=float)
    n_groups, n_cats = probs.shape
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    idx = np.searchsorted(flat, group + rng.random(len(group)), side="right")
    return np.minimum(idx - group.astype(np.int64) * n_cats, n_cats - 1)


def _draw_users(n_users: int, tl: _Timeline, rng: np.random.Generator) -> _Users:
    kind = rng.permutation(np.repeat(np.arange(len(_KINDS)), _persona_counts(n_users)))
    device = _draw_categorical(rng, kind, np.array([_PROFILES[k].device_p for k in _KINDS]))
    category = rng.choice(len(CATEGORIES), size=n_users, p=_CATEGORY_POPULARITY)

    # Regular users are active until the end; some of them join during the first third
    # of the period (well before the new-visitor window, so that they still build up a
    # history of their own and are not mistaken for new visitors).
    late = rng.random(n_users) < _profile_column("late_start_p")[kind]
    late_window = max(1, min(tl.new_visitor_first_day, tl.n_days // _LATE_START_PERIOD_FRACTION))
    first_day = np.where(late, rng.integers(0, late_window, n_users), 0)
    stop_day = np.full(n_users, tl.n_days)

    # Loyal customers are there from the first days on.
    is_loyal = kind == _LOYAL
    first_day[is_loyal] = rng.integers(0, min(3, tl.n_days // 4) + 1, is_loyal.sum())
    # New visitors appear in the last 14 days only.
    is_new = kind == _NEW
    first_day[is_new] = rng.integers(tl.new_visitor_first_day, tl.n_days, is_new.sum())
    # Dormant users start early and stop before the quiet period.
    is_dormant = kind == _DORMANT
    stop = tl.dormant_stop_day
    dormant_first = rng.integers(0, max(1, stop // 4), is_dormant.sum())
    dormant_min_stop = dormant_first + np.maximum(1, (stop - dormant_first) // 3)
    first_day[is_dormant] = dormant_first
    stop_day[is_dormant] = rng.integers(dormant_min_stop, stop + 1)
    first_day[kind == _BOT] = 0
    return _Users(kind, first_day, stop_day, device, category)


def _day_start_times(
    users: _Users, s_user: np.ndarray, tl: _Timeline, rng: np.random.Generator
) -> np.ndarray:
    """Raw session start times (seconds since origin) with weekly and daily rhythm.

    The weekday and hour weights are tilted per persona (weekend readers, night owls).
    """
    weekday = (tl.origin.day_of_week + np.arange(tl.n_days)) % 7
    s_kind = users.kind[s_user]
    lo, hi = users.first_day[s_user], users.stop_day[s_user]
    u = rng.random(len(s_user))
    day = np.zeros(len(s_user), dtype=np.int64)
    for code, name in enumerate(_KINDS):
        rows = np.flatnonzero(s_kind == code)
        if len(rows) == 0:
            continue
        day_weight = _WEEKDAY_WEIGHTS[weekday] * np.where(
            weekday >= 5, _PROFILES[name].weekend_factor, 1.0
        )
        cum = np.concatenate([[0.0], np.cumsum(day_weight)])
        # Inverse-CDF sampling of a day inside each user's own window.
        target = cum[lo[rows]] + u[rows] * (cum[hi[rows]] - cum[lo[rows]])
        day[rows] = np.clip(np.searchsorted(cum, target, side="right") - 1, lo[rows], hi[rows] - 1)
    night = np.arange(24) < _NIGHT_END_HOUR
    hour_weights = np.array(
        [_HOUR_WEIGHTS * np.where(night, _PROFILES[k].night_factor, 1.0) for k in _KINDS]
    )
    # Bots run around the clock.
    hour_weights[_BOT] = 1.0
    hour = _draw_categorical(rng, s_kind, hour_weights)
    return day * _SECONDS_PER_DAY + hour * 3600.0 + rng.random(len(s_user)) * 3600.0


def _segment_starts(lengths: np.ndarray) -> np.ndarray:
    """Index of the first row of each segment when segments are laid end to end."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def _draw_sessions_and_events(users: _Users, tl: _Timeline, rng: np.random.Generator) -> dict:
    """Draw sessions and the event type and timing of every event.

    Returns a dict of event-level arrays (``user``, ``t`` seconds since origin,
    ``event``, ``session``, ``pos``) and session-level arrays (``first_row``,
    ``s_user``, ``s_kind``, ``stype``, ``body``, ``length``) for the sessions that
    were kept.
    """
    n_users = len(users.kind)
    kind = users.kind

    # --- sessions per user -------------------------------------------------------
    weeks = (users.stop_day - users.first_day) / 7.0
    # A gamma multiplier makes some users of a persona busier than others.
    shape = _profile_column("activity_shape")[kind]
    busy = rng.gamma(shape=shape, scale=1.0 / shape)
    n_sess = rng.poisson(_profile_column("sessions_per_week")[kind] * weeks * busy)
    n_sess = np.maximum(n_sess, _profile_column("min_sessions")[kind].astype(np.int64))
    n_sess[kind == _BOT] = _BOT_SESSIONS

    s_user = np.repeat(np.arange(n_users), n_sess)
    t_raw = _day_start_times(users, s_user, tl, rng)
    order = np.lexsort((t_raw, s_user))
    s_user, t_raw = s_user[order], t_raw[order]
    s_kind = kind[s_user]
    n_sessions = len(s_user)

    # --- session structure -------------------------------------------------------
    session_mix = np.array([_PROFILES[k].session_mix for k in _KINDS])
    stype = _draw_categorical(rng, s_kind, session_mix)
    extra = rng.poisson(
        _profile_column("extra_events")[s_kind] * _BODY_LENGTH_FACTOR_BY_SESSION_TYPE[stype]
    )
    body = 1 + np.minimum(extra, _MAX_BODY_EVENTS - 1)
    is_bot_s = stype == _S_BOT
    body[is_bot_s] = rng.integers(
        _BOT_EVENTS_PER_SESSION[0], _BOT_EVENTS_PER_SESSION[1] + 1, is_bot_s.sum()
    )
    has_cart = (stype == _S_ABANDON) | (stype == _S_PURCHASE)
    bought = stype == _S_PURCHASE
    cart_items = 1 + np.minimum(rng.poisson(_profile_column("extra_cart_items")[s_kind]), 3)
    checkout = bought | (rng.random(n_sessions) < _profile_column("abandon_checkout_p")[s_kind])
    coupon = bought & (rng.random(n_sessions) < _profile_column("coupon_p")[s_kind])
    # Tail: (product_view, add_to_cart) per item, page_view /cart, [checkout],
    # [coupon_use], [purchase].
    tail = np.where(has_cart, 2 * cart_items + 1 + checkout + coupon + bought, 0)
    length = body + tail

    # --- events: type ------------------------------------------------------------
    n_events = int(length.sum())
    sess = np.repeat(np.arange(n_sessions), length)
    first_row = _segment_starts(length)
    pos = np.arange(n_events) - first_row[sess]
    ev_kind = s_kind[sess]
    ev_stype = stype[sess]

    tilt = np.array([_PROFILES[k].body_tilt for k in _KINDS])
    body_mix = (tilt[:, None, :] * _BODY_MIX_BY_SESSION_TYPE[None, :, :]).reshape(-1, 5)
    body_event = _BODY_EVENTS[
        _draw_categorical(rng, ev_kind * _N_SESSION_TYPES + ev_stype, body_mix)
    ]
    j = pos - body[sess]  # position inside the tail (negative in the body)
    n_items = cart_items[sess]
    rest = j - 2 * n_items - 1  # position after the /cart page
    after_checkout = checkout[sess].astype(np.int64)
    event = np.select(
        [
            pos == 0,
            j < 0,
            j < 2 * n_items,
            rest < 0,
            rest < after_checkout,
            rest < after_checkout + coupon[sess],
        ],
        [
            _PAGE_VIEW,
            body_event,
            np.where(j % 2 == 0, _PRODUCT_VIEW, _ADD_TO_CART),
            _PAGE_VIEW,
            _CHECKOUT,
            _COUPON_USE,
        ],
        default=_PURCHASE,
    ).astype(np.int8)
    del body_event, j, rest, after_checkout, n_items

    # --- events: timing ----------------------------------------------------------
    median = _profile_column("gap_median_s")[ev_kind] * _GAP_FACTOR_BY_EVENT[event]
    gap = np.clip(rng.lognormal(np.log(median), _GAP_SIGMA), _MIN_GAP_S, _MAX_GAP_S)
    del median
    is_bot_e = ev_stype == _S_BOT
    gap[is_bot_e] = rng.uniform(*_BOT_GAP_RANGE_S, is_bot_e.sum())
    # Offset of each event from its session start = gaps of the earlier events.
    before = np.cumsum(gap) - gap
    offset = before - before[first_row[sess]]
    del gap, before
    duration = offset[first_row + length - 1]

    # --- place sessions ----------------------------------------------------------
    # Pull sessions that would run past the user's window (or the period) back in.
    window_end = np.minimum(users.stop_day[s_user] * _SECONDS_PER_DAY, tl.horizon_s)
    start = np.minimum(t_raw, window_end - duration)
    end = start + duration
    # Keep a session only if it starts an hour after every earlier session of the
    # same user has ended. Adding user * big keeps the running maximum per user
    # (sessions are sorted by user), and earlier users' values stay far below.
    big = (tl.n_days + 2) * _SECONDS_PER_DAY * 2.0
    running_end = np.maximum.accumulate(end + s_user * big) - s_user * big
    previous_end = np.concatenate([[-np.inf], running_end[:-1]])
    keep = start >= previous_end + _MIN_SESSION_GAP_S
    keep[_segment_starts(n_sess)] = True  # a user's first session is always kept
    del running_end, previous_end

    keep_ev = keep[sess]
    new_index = np.cumsum(keep) - 1
    ev_session = new_index[sess[keep_ev]]
    event = event[keep_ev]
    t = start[sess[keep_ev]] + offset[keep_ev]
    pos = pos[keep_ev]
    del sess, offset, ev_kind, ev_stype
    kept_length = length[keep]
    return {
        "user": s_user[keep][ev_session],
        "t": t,
        "event": event,
        "session": ev_session,
        "pos": pos,
        "first_row": _segment_starts(kept_length),
        "s_user": s_user[keep],
        "s_kind": s_kind[keep],
        "stype": stype[keep],
        "body": body[keep],
        "length": kept_length,
    }


def _pages_and_products(users: _Users, ev: dict, rng: np.random.Generator) -> dict:
    """Page, category, product, device and measures of every event."""
    event, sess, pos = ev["event"], ev["session"], ev["pos"]
    n_events = len(event)
    n_sessions = len(ev["s_user"])
    s_kind, stype = ev["s_kind"], ev["stype"]
    ev_kind = s_kind[sess]
    rows = np.arange(n_events)

    # Session-level device and category: mostly the user's own.
    s_device = users.device[ev["s_user"]].copy()
    switch = rng.random(n_sessions) < _OTHER_DEVICE_P
    s_device[switch] = (s_device[switch] + rng.integers(1, 3, switch.sum())) % 3
    s_device[s_kind == _BOT] = 0  # bots announce themselves as desktop browsers
    s_category = np.where(
        rng.random(n_sessions) < _PREFERRED_CATEGORY_P,
        users.category[ev["s_user"]],
        rng.choice(len(CATEGORIES), size=n_sessions, p=_CATEGORY_POPULARITY),
    )
    ev_category = np.where(
        rng.random(n_events) < _STAY_IN_CATEGORY_P,
        s_category[sess],
        rng.choice(len(CATEGORIES), size=n_events, p=_CATEGORY_POPULARITY),
    )

    # Products: a product_view picks a (skewed-popular) product of its category;
    # add_to_cart is the product viewed just before (the tail is built that way);
    # purchase is the first product put in the cart in that session.
    product = np.full(n_events, -1, dtype=np.int64)
    is_view = event == _PRODUCT_VIEW
    rank = np.floor(
        _PRODUCTS_PER_CATEGORY * rng.random(is_view.sum()) ** _PRODUCT_POPULARITY_EXPONENT
    ).astype(np.int64)
    product[is_view] = ev_category[is_view] * _PRODUCTS_PER_CATEGORY + rank
    is_cart = event == _ADD_TO_CART
    product[is_cart] = product[rows[is_cart] - 1]
    is_purchase = event == _PURCHASE
    first_cart_row = ev["first_row"] + ev["body"] + 1
    product[is_purchase] = product[first_cart_row[sess[is_purchase]]]

    category = np.where(product >= 0, product // _PRODUCTS_PER_CATEGORY, -1)

    # Pages.
    page = np.full(n_events, -1, dtype=np.int64)
    is_pv = event == _PAGE_VIEW
    in_tail = pos >= ev["body"][sess]
    is_content = (stype == _S_CONTENT)[sess]
    landing = pos == 0
    mix = np.array(
        [
            _LATER_PAGE_MIX["other"],
            _LATER_PAGE_MIX["content"],
            _LANDING_MIX["other"],
            _LANDING_MIX["content"],
        ]
    )
    page_kind = _draw_categorical(rng, (is_content + 2 * landing)[is_pv], mix)
    pv_category = ev_category[is_pv]
    blog = rng.integers(0, len(_BLOG_SLUGS), is_pv.sum())
    page[is_pv] = np.select(
        [page_kind == 0, page_kind == 1],
        [_P_HOME, _P_CATEGORY0 + pv_category],
        default=_P_BLOG0 + blog,
    )
    # Category pages carry their category too.
    category[is_pv] = np.where(page_kind == 1, pv_category, -1)
    cart_page = is_pv & in_tail
    page[cart_page] = _P_CART
    category[cart_page] = -1
    has_product = product >= 0
    page[has_product] = _P_PRODUCT0 + product[has_product]
    page[event == _SEARCH] = _P_SEARCH
    page[(event == _CHECKOUT) | (event == _COUPON_USE)] = _P_CHECKOUT
    page[is_purchase] = _P_THANKS
    # Scroll and video_play happen on the page shown last (forward fill). Every
    # session starts with a page_view, so the fill never crosses a session.
    shown = np.where(page >= 0, rows, 0)
    np.maximum.accumulate(shown, out=shown)
    page = page[shown]

    # Time on page for page_view / product_view: until the next page change in the
    # session (scrolls, videos and add_to_cart stay on the page); the last page of a
    # session gets an exit time drawn from the persona.
    t = ev["t"]
    changes = (event != _SCROLL) & (event != _VIDEO_PLAY) & (event != _ADD_TO_CART)
    next_change = np.where(changes, rows, n_events)
    next_change = np.minimum.accumulate(next_change[::-1])[::-1]
    next_change = np.append(next_change[1:], n_events)
    duration_s = np.full(n_events, np.nan)
    timed = (event == _PAGE_VIEW) | (event == _PRODUCT_VIEW)
    rows_t = rows[timed]
    nxt = next_change[timed]
    same_session = nxt < n_events
    same_session[same_session] = sess[nxt[same_session]] == sess[rows_t[same_session]]
    nxt_ok = np.where(same_session, nxt, rows_t)
    exit_time = rng.lognormal(
        np.log(_profile_column("exit_page_median_s")[ev_kind[timed]]), _GAP_SIGMA
    )
    is_bot_t = ev_kind[timed] == _BOT
    exit_time[is_bot_t] = rng.uniform(*_BOT_GAP_RANGE_S, is_bot_t.sum())
    duration_s[timed] = np.round(np.where(same_session, t[nxt_ok] - t[rows_t], exit_time), 1)

    # Scroll depth in percent; content explorers read to the bottom.
    scroll_depth = np.full(n_events, np.nan)
    is_scroll = event == _SCROLL
    beta_a = np.array([_PROFILES[k].scroll_beta[0] for k in _KINDS])[ev_kind[is_scroll]]
    beta_b = np.array([_PROFILES[k].scroll_beta[1] for k in _KINDS])[ev_kind[is_scroll]]
    scroll_depth[is_scroll] = np.round(100.0 * rng.beta(beta_a, beta_b), 1)

    # Order values: lognormal per persona, in cents.
    revenue = np.full(n_events, np.nan)
    buyer = ev_kind[is_purchase]
    revenue[is_purchase] = np.maximum(
        1.0,
        np.round(
            rng.lognormal(
                np.log(_profile_column("order_value_median")[buyer]),
                _profile_column("order_value_sigma")[buyer],
            ),
            2,
        ),
    )
    return {
        "page": page,
        "category": category,
        "product": product,
        "device": s_device[sess],
        "duration_s": duration_s,
        "scroll_depth": scroll_depth,
        "revenue": revenue,
    }


def _add_tracking_noise(columns: dict, is_bot: np.ndarray, rng: np.random.Generator) -> dict:
    """Repeat a few rows exactly and 'double fire' a few others 0.1-0.9 s later.

    Copies are placed right after their original, so the log stays sorted: in-session
    gaps of people are at least 1 s. Bot rows are not double-fired because bots click
    faster than that.
    """
    n = len(columns["t"])
    duplicate = rng.random(n) < _DUPLICATE_ROW_P
    double_fire = (rng.random(n) < _DOUBLE_FIRE_P) & ~is_bot
    copies = 1 + duplicate.astype(np.int64) + double_fire
    source = np.repeat(np.arange(n), copies)
    copy_no = np.arange(len(source)) - _segment_starts(copies)[source]
    is_double_fire = double_fire[source] & (copy_no == 1 + duplicate[source])
    out = {name: values[source] for name, values in columns.items()}
    out["t"][is_double_fire] += rng.uniform(*_DOUBLE_FIRE_DELAY_S, is_double_fire.sum())
    return out


def _strings(codes: np.ndarray, vocabulary: list[str] | np.ndarray) -> pd.Series:
    """pandas ``str`` column from integer codes; code -1 becomes missing.

    Going through an Arrow dictionary array is about ten times faster than
    ``Categorical.astype(str)`` on millions of rows.
    """
    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(codes, mask=codes < 0)
    array = pa.DictionaryArray.from_arrays(indices, pa.array(list(vocabulary), pa.string()))
    return pd.Series(pd.array(array.cast(pa.large_string()), dtype="str"))


def _page_vocabulary() -> list[str]:
    return (
        list(_FIXED_PAGES)
        + [f"/category/{name}" for name in CATEGORIES]
        + [f"/blog/{slug}" for slug in _BLOG_SLUGS]
        + [f"/product/p{i:04d}" for i in range(_N_PRODUCTS)]
    )


def _user_ids(n_users: int) -> np.ndarray:
    width = len(str(n_users))
    return np.array([f"u{i:0{width}d}" for i in range(1, n_users + 1)])


def _draw_experiment(
    kind: np.ndarray, user_ids: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """One A/B-test row per non-bot user with the planted persona lifts."""
    people = np.flatnonzero(kind != _BOT)
    k = kind[people]
    n = len(people)
    treatment = rng.random(n) < 0.5
    has_pre = rng.random(n) >= _profile_column("pre_revenue_zero_p")[k]
    pre_median = _profile_column("pre_revenue_median")[k]
    pre = np.where(has_pre, np.round(rng.lognormal(np.log(pre_median), _PRE_REVENUE_SIGMA), 2), 0.0)
    p = (
        _profile_column("conversion_baseline")[k]
        + treatment * _profile_column("conversion_lift")[k]
    )
    converted = rng.random(n) < np.clip(p, 0.0, 1.0)
    # Revenue follows the persona's order value and the user's own pre-period
    # revenue (what CUPED-style adjustment can exploit).
    log_revenue = (
        np.log(_profile_column("order_value_median")[k])
        + _EXPERIMENT_REVENUE_ELASTICITY * (np.log1p(pre) - np.log1p(pre_median))
        + rng.normal(0.0, _EXPERIMENT_REVENUE_SIGMA, n)
    )
    revenue = np.where(converted, np.maximum(0.01, np.round(np.exp(log_revenue), 2)), 0.0)
    return pd.DataFrame(
        {
            "user_id": pd.array(user_ids[people], dtype="str"),
            "variant": pd.array(np.where(treatment, "treatment", "control"), dtype="str"),
            "converted": converted,
            "revenue": revenue,
            "pre_period_revenue": pre,
        }
    )


def generate_sample(
    n_users: int = 5000,
    days: int = 90,
    seed: int = 0,
    end: pd.Timestamp | None = None,
) -> SampleData:
    """Generate a seeded online-shop clickstream with planted personas.

    Parameters
    ----------
    n_users : int, default 5000
        Number of users, at least 1. About 0.2 % of them are bots (at least one from
        500 users on, none below). The default size gives about 300,000 events;
        the event count grows linearly (about 60 events per user).
    days : int, default 90
        Length of the period, at least 7. Personas are tuned for about 90 days: new
        visitors appear in the last 14 days and dormant users are silent in the last
        30 (in periods shorter than about 45 days: the last half).
    seed : int, default 0
        Seed of the random generator; the same arguments give identical frames.
    end : pandas.Timestamp, optional
        End of the period; defaults to 2026-06-30 23:59:59 UTC so that the output
        never depends on today's date. Naive timestamps are taken as UTC.

    Returns
    -------
    SampleData
        ``events`` (the log, sorted by user then time), ``personas`` (ground truth),
        ``experiment`` (A/B test per non-bot user) and ``planted_lift``.

    Raises
    ------
    SampleDataArgumentError
        A ``ValueError`` (and ``ConfigError``) when ``n_users < 1``, ``days < 7`` or
        the seed is not a non-negative integer.

    Examples
    --------
    >>> sample = generate_sample(n_users=600, days=30, seed=1)
    >>> sorted(sample.personas["persona"].unique())[:2]
    ['bargain_hunter', 'bot']
    """
    _validate(n_users, days, seed)
    end_ts = _DEFAULT_END if end is None else _as_utc(end)
    tl = _timeline(end_ts, int(days))
    # Independent streams per stage, so that tuning one stage (say the pages) does
    # not reshuffle the others (say the A/B test).
    rng_users, rng_sessions, rng_pages, rng_noise, rng_experiment = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5)
    )

    users = _draw_users(int(n_users), tl, rng_users)
    ev = _draw_sessions_and_events(users, tl, rng_sessions)
    details = _pages_and_products(users, ev, rng_pages)
    columns = {"user": ev["user"], "t": ev["t"], "event": ev["event"], **details}
    del ev, details
    columns = _add_tracking_noise(columns, users.kind[columns["user"]] == _BOT, rng_noise)

    user_ids = _user_ids(int(n_users))
    # Millisecond timestamps, like most trackers send.
    ns = np.round(columns.pop("t") * 1e3).astype(np.int64) * 1_000_000
    ts = pd.to_datetime(ns + tl.origin.as_unit("ns").value, unit="ns", utc=True)
    events = pd.DataFrame(
        {
            "user_id": _strings(columns["user"], user_ids),
            "ts": ts,
            "event": _strings(columns["event"], list(EVENT_TYPES)),
            "revenue": columns["revenue"],
            "page": _strings(columns["page"], _page_vocabulary()),
            "category": _strings(columns["category"], list(CATEGORIES)),
            "product_id": _strings(columns["product"], [f"p{i:04d}" for i in range(_N_PRODUCTS)]),
            "scroll_depth": columns["scroll_depth"],
            "duration_s": columns["duration_s"],
            "device": _strings(columns["device"], list(_DEVICES)),
        }
    )
    personas = pd.DataFrame(
        {
            "user_id": pd.array(user_ids, dtype="str"),
            "persona": _strings(users.kind, list(_KINDS)),
        }
    )
    experiment = _draw_experiment(users.kind, user_ids, rng_experiment)
    planted_lift = {p: float(_PROFILES[p].conversion_lift) for p in PERSONAS}
    return SampleData(events, personas, experiment, planted_lift)


def write_sample(
    path: str | PathLike[str],
    n_users: int = 5000,
    days: int = 90,
    seed: int = 0,
    *,
    end: pd.Timestamp | None = None,
) -> SampleData:
    """Generate a sample and write its event log to a Parquet or CSV file.

    Parameters
    ----------
    path : str or path-like
        Target file; the suffix chooses the format: ``.parquet`` or ``.csv``.
    n_users, days, seed, end
        As in :func:`generate_sample`.

    Returns
    -------
    SampleData
        The generated sample (ground truth and experiment are not written).

    Raises
    ------
    SampleDataArgumentError
        For an unsupported suffix or out-of-range arguments.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise SampleDataArgumentError(
            f"Cannot write sample data to '{target.name}': the file name must end in "
            f"'.parquet' or '.csv', got '{suffix or '(no suffix)'}'."
        )
    sample = generate_sample(n_users=n_users, days=days, seed=seed, end=end)
    if suffix == ".parquet":
        # Row groups of DuckDB's own size let a reader scan the file on every core.
        sample.events.to_parquet(target, index=False, row_group_size=_PARQUET_ROW_GROUP)
    else:
        sample.events.to_csv(target, index=False)
    return sample
