"""What every event shows: device, category, product, page, and its measures.

Measures are the time on page, the scroll depth and the order value. Pages, categories
and products are integer codes here; :func:`page_vocabulary` and
:func:`product_vocabulary` give their names.
"""

from __future__ import annotations

import numpy as np

from core.data.sample.draws import draw_categorical
from core.data.sample.events import Clickstream
from core.data.sample.population import Users
from core.data.sample.profiles import (
    ADD_TO_CART,
    BOT_GAP_RANGE_S,
    CATEGORIES,
    CATEGORY_POPULARITY,
    CHECKOUT,
    COUPON_USE,
    GAP_SIGMA,
    K_BOT,
    PAGE_VIEW,
    PRODUCT_VIEW,
    PURCHASE,
    S_CONTENT,
    SCROLL,
    SEARCH,
    VIDEO_PLAY,
    profile_column,
    profile_table,
)

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


def product_vocabulary() -> list[str]:
    """Product id per product code."""
    return [f"p{i:04d}" for i in range(_N_PRODUCTS)]


def page_vocabulary() -> list[str]:
    """Page path per page code."""
    return (
        list(_FIXED_PAGES)
        + [f"/category/{name}" for name in CATEGORIES]
        + [f"/blog/{slug}" for slug in _BLOG_SLUGS]
        + [f"/product/p{i:04d}" for i in range(_N_PRODUCTS)]
    )


def pages_and_products(users: Users, ev: Clickstream, rng: np.random.Generator) -> dict:
    """Page, category, product, device and measures of every event.

    The steps draw from `rng` in a fixed order (device and category, products, pages,
    time on page, scroll depth, order value), which the seeded output depends on.
    """
    ev_kind = ev.s_kind[ev.session]
    s_device, ev_category = _devices_and_categories(users, ev, rng)
    product = _products(ev, ev_category, rng)
    page, category = _pages(ev, ev_category, product, rng)
    duration_s = _time_on_page(ev, ev_kind, rng)
    scroll_depth = _scroll_depth(ev.event, ev_kind, rng)
    revenue = _order_values(ev.event, ev_kind, rng)
    return {
        "page": page,
        "category": category,
        "product": product,
        "device": s_device[ev.session],
        "duration_s": duration_s,
        "scroll_depth": scroll_depth,
        "revenue": revenue,
    }


def _devices_and_categories(
    users: Users, ev: Clickstream, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Device per session and category per event: mostly the user's own."""
    n_sessions = len(ev.s_user)
    n_events = len(ev.event)
    s_device = users.device[ev.s_user].copy()
    switch = rng.random(n_sessions) < _OTHER_DEVICE_P
    s_device[switch] = (s_device[switch] + rng.integers(1, 3, switch.sum())) % 3
    s_device[ev.s_kind == K_BOT] = 0  # bots announce themselves as desktop browsers
    s_category = np.where(
        rng.random(n_sessions) < _PREFERRED_CATEGORY_P,
        users.category[ev.s_user],
        rng.choice(len(CATEGORIES), size=n_sessions, p=CATEGORY_POPULARITY),
    )
    ev_category = np.where(
        rng.random(n_events) < _STAY_IN_CATEGORY_P,
        s_category[ev.session],
        rng.choice(len(CATEGORIES), size=n_events, p=CATEGORY_POPULARITY),
    )
    return s_device, ev_category


def _products(ev: Clickstream, ev_category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Product code per event, -1 for events without a product.

    A product_view picks a (skewed-popular) product of its category; add_to_cart is
    the product viewed just before (the tail is built that way); purchase is the first
    product put in the cart in that session.
    """
    event = ev.event
    rows = np.arange(len(event))
    product = np.full(len(event), -1, dtype=np.int64)
    is_view = event == PRODUCT_VIEW
    rank = np.floor(
        _PRODUCTS_PER_CATEGORY * rng.random(is_view.sum()) ** _PRODUCT_POPULARITY_EXPONENT
    ).astype(np.int64)
    product[is_view] = ev_category[is_view] * _PRODUCTS_PER_CATEGORY + rank
    is_cart = event == ADD_TO_CART
    product[is_cart] = product[rows[is_cart] - 1]
    is_purchase = event == PURCHASE
    first_cart_row = ev.first_row + ev.body + 1
    product[is_purchase] = product[first_cart_row[ev.session[is_purchase]]]
    return product


def _pages(
    ev: Clickstream, ev_category: np.ndarray, product: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Page code and category code (-1: none) per event."""
    event, sess, pos = ev.event, ev.session, ev.pos
    category = np.where(product >= 0, product // _PRODUCTS_PER_CATEGORY, -1)
    page = np.full(len(event), -1, dtype=np.int64)
    is_pv = event == PAGE_VIEW
    in_tail = pos >= ev.body[sess]
    is_content = (ev.stype == S_CONTENT)[sess]
    landing = pos == 0
    mix = np.array(
        [
            _LATER_PAGE_MIX["other"],
            _LATER_PAGE_MIX["content"],
            _LANDING_MIX["other"],
            _LANDING_MIX["content"],
        ]
    )
    page_kind = draw_categorical(rng, (is_content + 2 * landing)[is_pv], mix)
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
    page[event == SEARCH] = _P_SEARCH
    page[(event == CHECKOUT) | (event == COUPON_USE)] = _P_CHECKOUT
    page[event == PURCHASE] = _P_THANKS
    # Scroll and video_play happen on the page shown last (forward fill). Every
    # session starts with a page_view, so the fill never crosses a session.
    shown = np.where(page >= 0, np.arange(len(event)), 0)
    np.maximum.accumulate(shown, out=shown)
    return page[shown], category


def _time_on_page(ev: Clickstream, ev_kind: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seconds on the page for page_view / product_view, missing for other events.

    The time runs until the next page change in the session (scrolls, videos and
    add_to_cart stay on the page); the last page of a session gets an exit time drawn
    from the persona.
    """
    event, sess, t = ev.event, ev.session, ev.t
    n_events = len(event)
    rows = np.arange(n_events)
    changes = (event != SCROLL) & (event != VIDEO_PLAY) & (event != ADD_TO_CART)
    next_change = np.where(changes, rows, n_events)
    next_change = np.minimum.accumulate(next_change[::-1])[::-1]
    next_change = np.append(next_change[1:], n_events)
    duration_s = np.full(n_events, np.nan)
    timed = (event == PAGE_VIEW) | (event == PRODUCT_VIEW)
    rows_t = rows[timed]
    nxt = next_change[timed]
    same_session = nxt < n_events
    same_session[same_session] = sess[nxt[same_session]] == sess[rows_t[same_session]]
    nxt_ok = np.where(same_session, nxt, rows_t)
    exit_time = rng.lognormal(
        np.log(profile_column("exit_page_median_s")[ev_kind[timed]]), GAP_SIGMA
    )
    is_bot_t = ev_kind[timed] == K_BOT
    exit_time[is_bot_t] = rng.uniform(*BOT_GAP_RANGE_S, is_bot_t.sum())
    duration_s[timed] = np.round(np.where(same_session, t[nxt_ok] - t[rows_t], exit_time), 1)
    return duration_s


def _scroll_depth(event: np.ndarray, ev_kind: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scroll depth in percent for scroll events; content explorers read to the bottom."""
    scroll_depth = np.full(len(event), np.nan)
    is_scroll = event == SCROLL
    beta = profile_table("scroll_beta")
    beta_a = beta[:, 0][ev_kind[is_scroll]]
    beta_b = beta[:, 1][ev_kind[is_scroll]]
    scroll_depth[is_scroll] = np.round(100.0 * rng.beta(beta_a, beta_b), 1)
    return scroll_depth


def _order_values(event: np.ndarray, ev_kind: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Order value of purchase events: lognormal per persona, to the cent."""
    revenue = np.full(len(event), np.nan)
    is_purchase = event == PURCHASE
    buyer = ev_kind[is_purchase]
    revenue[is_purchase] = np.maximum(
        1.0,
        np.round(
            rng.lognormal(
                np.log(profile_column("order_value_median")[buyer]),
                profile_column("order_value_sigma")[buyer],
            ),
            2,
        ),
    )
    return revenue
