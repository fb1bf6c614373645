"""Vocabularies and persona profiles shared by every stage of the sample generator.

The persona, event, session-type, category and device codes used inside the package,
the behaviour parameters of each persona (:class:`Profile`, :data:`PROFILES`) and the
few timing constants that more than one stage needs. Constants used by one stage
only live next to that stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
KINDS: tuple[str, ...] = (*PERSONAS, BOT)
K_LOYAL, K_BARGAIN, K_CART, K_CONTENT, K_NEW, K_DORMANT, K_BOT = range(len(KINDS))

# Event codes, in the order of EVENT_TYPES.
(
    PAGE_VIEW,
    PRODUCT_VIEW,
    SEARCH,
    SCROLL,
    VIDEO_PLAY,
    ADD_TO_CART,
    CHECKOUT,
    PURCHASE,
    COUPON_USE,
) = range(len(EVENT_TYPES))

# Session types.
S_BOUNCE, S_BROWSE, S_CONTENT, S_ABANDON, S_PURCHASE, S_BOT = range(6)
N_SESSION_TYPES = 6

GAP_SIGMA = 0.9  # lognormal spread of in-session gaps (and of exit times)
# Bots click every 0.15-3 s, much faster than people.
BOT_GAP_RANGE_S = (0.15, 3.0)

# fmt: off
CATEGORIES: tuple[str, ...] = (
    "electronics", "fashion", "home", "beauty", "sports", "toys", "books", "grocery",
)
# fmt: on
# How often a category is picked when a visitor wanders off their favourite one.
CATEGORY_POPULARITY = np.array([0.18, 0.20, 0.15, 0.12, 0.10, 0.08, 0.09, 0.08])
DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")


@dataclass(frozen=True)
class Profile:
    """Behaviour parameters of one persona (see the package docstring for their use)."""

    share: float  # share of the non-bot users
    sessions_per_week: float  # Poisson rate while the user is active
    activity_shape: float  # gamma shape of the per-user activity multiplier (mean 1)
    min_sessions: int  # every user of the persona has at least this many sessions
    session_mix: tuple[float, ...]  # P(bounce, browse, content, abandon, purchase, bot)
    extra_events: float  # mean body events after the landing page_view
    body_tilt: tuple[float, ...]  # multiplies the columns of the body event mix
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
    churn_p: float  # churn probability at the persona's usual cart abandonment (module churn)
    conversion_baseline: float  # A/B test: control conversion probability
    conversion_lift: float  # A/B test: treatment minus control, absolute
    pre_revenue_zero_p: float  # A/B test: users without pre-period revenue
    pre_revenue_median: float  # A/B test: median pre-period revenue if any


# Each persona has a signature in the app's default features (sessions per week,
# events per session, session length, recency, tenure, product views, cart adds,
# purchases, revenue, weekend and night share, engagement), so that K-means on them
# recovers the personas (adjusted Rand index about 0.88 at 5,000 users among the users
# who do not churn; about 0.8 on everyone, as some churners look like dormant users):
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
# Churn (core.data.sample.churn): content explorers churn most, then bargain hunters,
# cart abandoners and, least, loyal customers (``churn_p``, raised for users who
# abandon more carts than their persona usually does); new visitors, dormant users and
# bots never churn.
# The activity multiplier (gamma, mean 1) varies users within a persona: the four
# regular personas are fairly homogeneous (shape 12, CV 0.29), new visitors and
# dormant users more varied.
# fmt: off
PROFILES: dict[str, Profile] = {
    "loyal_high_value": Profile(
        share=0.12, sessions_per_week=1.9, activity_shape=12.0, min_sessions=1,
        session_mix=(0.05, 0.55, 0.02, 0.05, 0.33, 0.0), extra_events=1.5,
        body_tilt=(1.2, 0.4, 0.4, 1.0, 1.0), extra_cart_items=0.3,
        abandon_checkout_p=0.30, coupon_p=0.08, gap_median_s=15.0,
        exit_page_median_s=30.0, order_value_median=100.0, order_value_sigma=0.45,
        scroll_beta=(2.5, 3.0), device_p=(0.55, 0.38, 0.07),
        weekend_factor=0.7, night_factor=1.0, late_start_p=0.0, churn_p=0.05,
        conversion_baseline=0.30, conversion_lift=0.02,
        pre_revenue_zero_p=0.05, pre_revenue_median=450.0,
    ),
    "bargain_hunter": Profile(
        share=0.18, sessions_per_week=0.8, activity_shape=12.0, min_sessions=1,
        session_mix=(0.04, 0.66, 0.02, 0.04, 0.24, 0.0), extra_events=5.0,
        body_tilt=(0.5, 2.5, 3.0, 0.4, 0.2), extra_cart_items=0.2,
        abandon_checkout_p=0.30, coupon_p=0.85, gap_median_s=9.0,
        exit_page_median_s=20.0, order_value_median=15.0, order_value_sigma=0.35,
        scroll_beta=(1.5, 3.5), device_p=(0.35, 0.58, 0.07),
        weekend_factor=1.0, night_factor=6.0, late_start_p=0.2, churn_p=0.25,
        conversion_baseline=0.14, conversion_lift=0.01,
        pre_revenue_zero_p=0.35, pre_revenue_median=60.0,
    ),
    "cart_abandoner": Profile(
        share=0.18, sessions_per_week=0.9, activity_shape=12.0, min_sessions=1,
        session_mix=(0.03, 0.17, 0.01, 0.78, 0.01, 0.0), extra_events=0.8,
        body_tilt=(1.0, 1.2, 1.0, 1.0, 1.0), extra_cart_items=1.2,
        abandon_checkout_p=0.35, coupon_p=0.08, gap_median_s=30.0,
        exit_page_median_s=45.0, order_value_median=65.0, order_value_sigma=0.5,
        scroll_beta=(2.0, 3.0), device_p=(0.30, 0.62, 0.08),
        weekend_factor=1.0, night_factor=1.0, late_start_p=0.2, churn_p=0.12,
        conversion_baseline=0.08, conversion_lift=0.04,
        pre_revenue_zero_p=0.55, pre_revenue_median=90.0,
    ),
    "content_explorer": Profile(
        share=0.18, sessions_per_week=0.75, activity_shape=12.0, min_sessions=1,
        session_mix=(0.04, 0.07, 0.87, 0.01, 0.01, 0.0), extra_events=3.0,
        body_tilt=(1.2, 0.6, 0.6, 1.4, 1.5), extra_cart_items=0.2,
        abandon_checkout_p=0.25, coupon_p=0.08, gap_median_s=55.0,
        exit_page_median_s=120.0, order_value_median=45.0, order_value_sigma=0.5,
        scroll_beta=(7.0, 2.0), device_p=(0.45, 0.40, 0.15),
        weekend_factor=3.0, night_factor=1.0, late_start_p=0.2, churn_p=0.3,
        conversion_baseline=0.03, conversion_lift=0.0,
        pre_revenue_zero_p=0.80, pre_revenue_median=50.0,
    ),
    "new_visitor": Profile(
        share=0.14, sessions_per_week=2.5, activity_shape=4.0, min_sessions=1,
        session_mix=(0.20, 0.60, 0.08, 0.07, 0.05, 0.0), extra_events=2.5,
        body_tilt=(1.2, 1.0, 1.0, 1.0, 1.0), extra_cart_items=0.3,
        abandon_checkout_p=0.25, coupon_p=0.10, gap_median_s=25.0,
        exit_page_median_s=35.0, order_value_median=55.0, order_value_sigma=0.5,
        scroll_beta=(2.0, 3.0), device_p=(0.30, 0.62, 0.08),
        weekend_factor=1.0, night_factor=1.0, late_start_p=1.0, churn_p=0.0,
        conversion_baseline=0.05, conversion_lift=0.03,
        pre_revenue_zero_p=0.95, pre_revenue_median=40.0,
    ),
    "dormant": Profile(
        share=0.20, sessions_per_week=1.2, activity_shape=6.0, min_sessions=3,
        session_mix=(0.10, 0.65, 0.05, 0.15, 0.05, 0.0), extra_events=2.5,
        body_tilt=(1.0, 1.0, 1.0, 1.0, 1.0), extra_cart_items=0.3,
        abandon_checkout_p=0.25, coupon_p=0.10, gap_median_s=22.0,
        exit_page_median_s=35.0, order_value_median=60.0, order_value_sigma=0.5,
        scroll_beta=(2.0, 3.0), device_p=(0.40, 0.50, 0.10),
        weekend_factor=1.0, night_factor=1.0, late_start_p=0.0, churn_p=0.0,
        conversion_baseline=0.04, conversion_lift=-0.01,
        pre_revenue_zero_p=0.40, pre_revenue_median=120.0,
    ),
    "bot": Profile(
        share=0.0, sessions_per_week=0.0, activity_shape=3.0, min_sessions=1,
        session_mix=(0.0, 0.0, 0.0, 0.0, 0.0, 1.0), extra_events=0.0,
        body_tilt=(1.0, 1.0, 1.0, 1.0, 1.0), extra_cart_items=0.0,
        abandon_checkout_p=0.0, coupon_p=0.0, gap_median_s=1.0,
        exit_page_median_s=1.0, order_value_median=1.0, order_value_sigma=0.1,
        scroll_beta=(1.0, 1.0), device_p=(1.0, 0.0, 0.0),
        weekend_factor=1.0, night_factor=1.0, late_start_p=0.0, churn_p=0.0,
        conversion_baseline=0.0, conversion_lift=0.0,
        pre_revenue_zero_p=1.0, pre_revenue_median=1.0,
    ),
}
# fmt: on


def profile_column(field: str) -> np.ndarray:
    """One profile field for every kind, indexable by persona code."""
    return np.array([getattr(PROFILES[kind], field) for kind in KINDS], dtype=float)


def profile_table(field: str) -> np.ndarray:
    """A tuple-valued profile field for every kind: one row per persona code."""
    return np.array([getattr(PROFILES[kind], field) for kind in KINDS])
