"""The feature table's aggregates computed over sorted numpy columns.

The definitions are the SQL of :func:`core.features.table._feature_sql`: readable, and
the one every engine is held to. This is the same arithmetic written for speed, for the
path a 10 M-event file takes: the rows come sorted by user and time, so per-user sums
are ``bincount`` over a segment number and first and last times are the ends of each
segment, with no hash table. ``tests/core/features/test_columnar.py`` checks that both
give the same table on logs shaped like real exports.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.columns import MICROSECONDS_PER_DAY, EventColumns

if TYPE_CHECKING:
    from core.features.table import FeatureConfig

#: Night is 00:00-05:59 in the data's time zone.
NIGHT_END_HOUR = 6
HOUR_US = 3_600_000_000
#: 1970-01-01 was a Thursday: day numbers shift by 4 to count weekdays from Sunday = 0,
#: the convention of SQL's dayofweek.
EPOCH_WEEKDAY_FROM_SUNDAY = 4
#: Per-user-per-event counts are a dense matrix up to this many cells, masks otherwise.
DENSE_COUNT_CELLS = 10_000_000


def count_columns(top: list[str]) -> list[tuple[str, str]]:
    """``(event, column)`` for the per-type counts of the top events, names made unique."""
    used: set[str] = set()
    pairs = []
    for event in top:
        col = count_column(event)
        while col in used:
            col += "_"
        used.add(col)
        pairs.append((event, col))
    return pairs


def count_column(event: str) -> str:
    """Column name for the count of one event type, e.g. ``count_page_view``."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(event).lower()).strip("_") or "blank"
    return f"count_{slug}"[:60]


def aggregate(cols: EventColumns, roles: dict[str, list[str]], top: list[str],
              config: FeatureConfig) -> pd.DataFrame:
    """The per-user aggregates the SQL computes, indexed by user id (not yet sorted).

    Parameters
    ----------
    cols : EventColumns
        Kept events, sorted by user and time.
    roles : dict
        Event names per funnel step.
    top : list of str
        The events that get a count column, most frequent first.
    config : FeatureConfig
        Half-life, trend window and time zone.

    Returns
    -------
    DataFrame
        The columns of ``_feature_sql``'s result with the same names and meanings.
    """
    seg, t = cols.user, cols.t
    users = cols.n_users
    starts, ends = cols.bounds()
    t_end = int(t.max())
    out: dict[str, Any] = {"events": (ends - starts).astype(np.int64)}
    first, last = t[starts], t[ends - 1]
    out["days_since_first_event"] = (t_end - first) / MICROSECONDS_PER_DAY
    out["days_since_last_event"] = (t_end - last) / MICROSECONDS_PER_DAY
    out["tenure_days"] = (last - first) / MICROSECONDS_PER_DAY
    out.update(_calendar(cols, config.time_zone, out["events"]))

    def per_user(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(seg, weights=weights, minlength=users)

    # 0.5 ** x as 2 ** -x: the same value to a few ulps, twice as fast over 10 M rows.
    halvings = (t_end - t) / MICROSECONDS_PER_DAY
    halvings /= -config.half_life_days
    out["decayed_engagement"] = per_user(np.exp2(halvings, out=halvings))
    del halvings
    window = config.trend_window_days * MICROSECONDS_PER_DAY
    last_col, previous_col = (f"events_last_{config.trend_window_days}_days",
                              f"events_previous_{config.trend_window_days}_days")
    out[last_col] = _count(seg, t > t_end - window, users)
    out[previous_col] = _count(seg, (t <= t_end - window) & (t > t_end - 2 * window), users)
    role_masks = _event_counts(cols, roles, top, out)
    numeric = cols.numeric
    if "revenue" in numeric:
        out["revenue"] = per_user(np.nan_to_num(numeric["revenue"], nan=0.0))
    if "order_id" in cols.text:
        buying = role_masks.get("purchase")
        out["orders"] = _distinct(seg, cols.text["order_id"], users, buying)
    if "quantity" in numeric:
        out["units"] = per_user(np.nan_to_num(numeric["quantity"], nan=0.0))
    for role, name in (("scroll_depth", "mean_scroll_depth"),
                       ("duration_s", "mean_time_on_page_s")):
        if role in numeric:
            out[name] = _mean(seg, numeric[role], users)
    if "duration_s" in numeric:
        out["time_on_pages_s"] = per_user(np.nan_to_num(numeric["duration_s"], nan=0.0))
    if "category" in cols.text:
        out["distinct_categories"] = _distinct(seg, cols.text["category"], users)
    if "product_id" in cols.text:
        out["distinct_products_viewed"] = _distinct(seg, cols.text["product_id"], users,
                                                    role_masks.get("product_view"))
    out.update(_session_features(cols, role_masks))
    return pd.DataFrame(out, index=pd.Index(cols.user_ids, name="user_id"))


def _count(seg: np.ndarray, mask: np.ndarray, users: int) -> np.ndarray:
    return np.bincount(seg[mask], minlength=users).astype(np.int64)


def _mean(seg: np.ndarray, values: np.ndarray, users: int) -> np.ndarray:
    """Mean of the present values per user; NaN for a user with none (SQL's avg)."""
    present = ~np.isnan(values)
    total = np.bincount(seg[present], weights=values[present], minlength=users)
    n = np.bincount(seg[present], minlength=users)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _distinct(seg: np.ndarray, codes: np.ndarray, users: int,
              rows: np.ndarray | None = None) -> np.ndarray:
    """Distinct non-missing codes per user (SQL's count(DISTINCT x), NULLs not counted)."""
    keep = codes >= 0
    if rows is not None:
        keep &= rows
    s, c = seg[keep].astype(np.int64), codes[keep]
    if not len(c):
        return np.zeros(users, dtype=np.int64)
    width = int(c.max()) + 1
    if users * width <= DENSE_COUNT_CELLS:
        seen = np.zeros(users * width, dtype=bool)
        seen[s * width + c] = True
        return seen.reshape(users, width).sum(axis=1, dtype=np.int64)
    pairs = pd.unique(s * width + c)
    return np.bincount(pairs // width, minlength=users).astype(np.int64)


def _calendar(cols: EventColumns, zone: str, n: np.ndarray) -> dict[str, np.ndarray]:
    """Active days, weekend share and night share in the data's time zone (``n``: the
    events per user)."""
    seg, users = cols.user, cols.n_users
    local = local_microseconds(cols.t, zone)
    day = local // MICROSECONDS_PER_DAY
    weekday = (day + EPOCH_WEEKDAY_FROM_SUNDAY) % 7
    weekend = np.bincount(seg, weights=(weekday == 0) | (weekday == 6), minlength=users)
    night = np.bincount(seg, weights=(local - day * MICROSECONDS_PER_DAY) <
                        NIGHT_END_HOUR * HOUR_US, minlength=users)
    same_user = seg[1:] == seg[:-1]
    if np.any(same_user & (day[1:] < day[:-1])):
        # Local days go back where summer time ends at midnight: count pairs.
        active = _distinct(seg, day - day.min(), users)
    else:
        new_day = np.ones(len(day), dtype=bool)
        new_day[1:] = ~same_user | (day[1:] != day[:-1])
        active = np.bincount(seg[new_day], minlength=users).astype(np.int64)
    return {"active_days": active, "weekend_share": weekend / n, "night_share": night / n}


def local_microseconds(t: np.ndarray, zone: str) -> np.ndarray:
    """Wall-clock microseconds in ``zone`` of UTC microseconds ``t``.

    Offsets are looked up on a 15-minute grid over the data's span (every zone's changes
    since 1970 fall on quarter hours); events in a grid cell where the offset changes are
    converted one by one, so the result is exact either way.
    """
    if zone == "UTC" or not len(t):
        return t
    step = 900_000_000
    origin = int(t.min()) // step * step
    cell = (t - origin) // step
    grid = origin + np.arange(int(cell.max()) + 2, dtype=np.int64) * step
    offsets = _offsets(grid, zone)
    local = t + offsets[cell]
    changing = np.flatnonzero(offsets[:-1] != offsets[1:])
    if len(changing):
        inside = np.isin(cell, changing)
        local[inside] = t[inside] + _offsets(t[inside], zone)
    return local


def _offsets(t: np.ndarray, zone: str) -> np.ndarray:
    stamps = pd.to_datetime(t, unit="us", utc=True).tz_convert(zone).tz_localize(None)
    return stamps.as_unit("us").asi8 - t


def _event_counts(cols: EventColumns, roles: dict[str, list[str]], top: list[str],
                  out: dict[str, Any]) -> dict[str, np.ndarray]:
    """Funnel-step counts and the top events' counts; returns the step masks."""
    seg, users, event = cols.user, cols.n_users, cols.event
    code = {name: i for i, name in enumerate(cols.event_names)}
    names = {"product_view": "product_views", "add_to_cart": "cart_adds",
             "checkout": "checkouts", "purchase": "purchases"}
    n_events = len(cols.event_names)
    matrix = None
    if users * n_events <= DENSE_COUNT_CELLS:
        matrix = np.bincount(seg.astype(np.int64) * n_events + event,
                             minlength=users * n_events).reshape(users, n_events)
    masks = {}
    for step, col in names.items():
        if not roles.get(step):
            continue
        codes = [code[v] for v in roles[step] if v in code]
        masks[step] = np.isin(event, codes)
        out[col] = (matrix[:, codes].sum(axis=1) if matrix is not None
                    else np.bincount(seg[masks[step]], minlength=users)).astype(np.int64)
    for name, col in count_columns(top):
        i = code.get(name)
        if i is None:
            out[col] = np.zeros(users, dtype=np.int64)
        elif matrix is not None:
            out[col] = matrix[:, i].astype(np.int64)
        else:
            out[col] = np.bincount(seg[event == i], minlength=users).astype(np.int64)
    return masks


def _session_features(cols: EventColumns, masks: dict[str, np.ndarray]
                      ) -> dict[str, np.ndarray]:
    """Sessions, their mean, median and total length, and cart sessions abandoned."""
    seg, t, session, users = cols.user, cols.t, cols.session, cols.n_users
    if len(session) > 1 and np.all(session[1:] >= session[:-1]):
        order = None
        s_sorted, t_sorted, u_sorted = session, t, seg
    else:
        order = np.argsort(session, kind="stable")
        s_sorted, t_sorted, u_sorted = session[order], t[order], seg[order]
    new = np.ones(len(s_sorted), dtype=bool)
    new[1:] = s_sorted[1:] != s_sorted[:-1]
    first = np.flatnonzero(new)
    last = np.r_[first[1:], len(s_sorted)] - 1
    # Within a session rows keep their time order (the sort is stable), so its first
    # and last rows are its earliest and latest events.
    duration_us = t_sorted[last] - t_sorted[first]
    duration = duration_us / 1_000_000.0
    owner = u_sorted[first]
    out: dict[str, np.ndarray] = {
        "sessions": np.bincount(owner, minlength=users).astype(np.int64)}
    total = np.bincount(owner, weights=duration, minlength=users)
    out["mean_session_duration_s"] = total / out["sessions"]
    out["median_session_duration_s"] = _median(owner, duration, users, duration_us)
    out["time_spent_s"] = total
    if "add_to_cart" in masks:
        number = np.cumsum(new) - 1
        def any_in(mask: np.ndarray) -> np.ndarray:
            sorted_mask = mask if order is None else mask[order]
            return np.bincount(number[sorted_mask], minlength=len(first)) > 0
        has_cart = any_in(masks["add_to_cart"])
        has_purchase = any_in(masks["purchase"]) if "purchase" in masks \
            else np.zeros(len(first), dtype=bool)
        out["cart_sessions"] = np.bincount(owner[has_cart], minlength=users).astype(np.int64)
        out["abandoned_sessions"] = np.bincount(owner[has_cart & ~has_purchase],
                                                minlength=users).astype(np.int64)
    return out


def _median(owner: np.ndarray, values: np.ndarray, users: int,
            whole: np.ndarray | None = None) -> np.ndarray:
    """Median per user with SQL's interpolation (quantile_cont(0.5)).

    ``whole`` are the values as non-negative integers in the same order (microseconds),
    when they are; then user and value pack into one sort key.
    """
    bits = int(whole.max()).bit_length() if whole is not None and len(whole) else 64
    if whole is not None and bits + max(users - 1, 1).bit_length() <= 62:
        order = np.argsort((owner.astype(np.int64) << bits) | whole)
    else:
        order = np.lexsort((values, owner))
    v = values[order]
    counts = np.bincount(owner, minlength=users)
    start = np.r_[0, np.cumsum(counts)[:-1]]
    position = (counts - 1) * 0.5
    low = start + np.floor(position).astype(np.int64)
    high = start + np.ceil(position).astype(np.int64)
    with np.errstate(invalid="ignore"):
        lo, hi = v[np.minimum(low, len(v) - 1)], v[np.minimum(high, len(v) - 1)]
        median = lo + (position - np.floor(position)) * (hi - lo)
    return np.where(counts > 0, median, np.nan)
