"""Reference pandas implementation of "events file → sessions → per-user feature table".

This is the yardstick for ``core.features.pipeline.features_from_file``: the same cleaning,
sessions and features, written the way a competent analyst would in a notebook —
vectorised ``groupby``/``agg``, no per-row Python loops, no DuckDB and no tricks such
as categorical re-encoding or chunked reads. It is deliberately independent of
``core`` (definitions are restated here, not imported) so that the benchmark's
agreement check compares two separate readings of the definitions in
``core/features/table.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

#: Funnel event names of the generated sample (what ``guess_event_roles`` finds there).
PRODUCT_VIEW, ADD_TO_CART, CHECKOUT, PURCHASE = ("product_view", "add_to_cart", "checkout",
                                                 "purchase")
#: A tracker double-fire arrives well under a second after the real event.
DEBOUNCE = pd.Timedelta(seconds=1)
#: What makes two events the same event, besides the user and the name.
IDENTITY = ("product_id", "revenue", "page", "category")
#: Usual web-analytics inactivity gap that ends a session.
SESSION_GAP = pd.Timedelta(minutes=30)
#: Per-week and per-30-day rates count from the first event, over at least a week.
MIN_RATE_DAYS = 7.0
#: Night is 00:00-05:59 UTC.
NIGHT_END_HOUR = 6
HALF_LIFE_DAYS = 14.0
TREND_WINDOW = pd.Timedelta(days=30)
TOP_EVENT_TYPES = 10
#: Engagement score: metric weights, and percentiles used as min and max of the scaling.
ENGAGEMENT_WEIGHTS = {"events": 1.0, "mean_scroll_depth": 2.0, "time_spent_s": 3.0}
CLIP_PERCENTILES = (1.0, 99.0)
SECONDS_PER_DAY = 86_400.0
#: RFM segment by recency score (rows, 1-5) and frequency score (columns, 1-5):
#: the usual RFM grid, spelled out as a table so lookup is one fancy-index.
RFM_GRID = np.array([
    ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"],
    ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"],
    ["About to sleep", "About to sleep", "Need attention", "Loyal customers",
     "Loyal customers"],
    ["Promising", "Potential loyalists", "Potential loyalists", "Loyal customers",
     "Loyal customers"],
    ["New customers", "Potential loyalists", "Potential loyalists", "Champions",
     "Champions"],
], dtype=object)


def features_pandas(path: str | Path) -> pd.DataFrame:
    """Read an event Parquet file and return one row of features per user.

    Parameters
    ----------
    path : str or Path
        Parquet file with columns user_id, ts (UTC), event, revenue, page, category,
        product_id, scroll_depth, duration_s and device (as written by
        ``core.data.sample.write_sample``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``user_id`` (sorted), with the feature columns of
        ``core.features.table`` under the same names.
    """
    events = sessionize(clean(pd.read_parquet(path)))
    return user_features(events)


def clean(df: pd.DataFrame) -> pd.DataFrame:
    """Drop unusable rows, exact duplicates and debounced repeats.

    Parameters
    ----------
    df : pandas.DataFrame
        Raw events.

    Returns
    -------
    pandas.DataFrame
        Events sorted by user and time.
    """
    df = df.dropna(subset=["user_id", "ts", "event"])
    df = df.drop_duplicates()
    df = df.sort_values(["user_id", "ts"], kind="stable", ignore_index=True)
    # Sorted by user and time, each group of one user's same event (same name, product,
    # page, category and value) is in time order too, so one sort serves both the
    # debounce and the sessions.
    identity = ["user_id", "event", *[c for c in IDENTITY if c in df.columns]]
    since_same = df.groupby(identity, sort=False, dropna=False)["ts"].diff()
    return df[~(since_same < DEBOUNCE)].reset_index(drop=True)


def sessionize(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``session_id``: a new session at a user's first event and after each long gap.

    Parameters
    ----------
    df : pandas.DataFrame
        Clean events sorted by user and time.

    Returns
    -------
    pandas.DataFrame
        The events with a ``session_id`` unique across users.
    """
    gap = df.groupby("user_id", sort=False)["ts"].diff()
    # The first event of a user has no previous one (NaT), so it opens a session; a
    # running count of openings is then a session number unique across all users.
    df["session_id"] = (gap.isna() | (gap > SESSION_GAP)).cumsum()
    return df


def user_features(df: pd.DataFrame) -> pd.DataFrame:
    """Aggregate sessionized events to one row per user.

    Parameters
    ----------
    df : pandas.DataFrame
        Clean events with ``session_id``.

    Returns
    -------
    pandas.DataFrame
        Features indexed by user id.
    """
    t_end = df["ts"].max()
    age_days = (t_end - df["ts"]).dt.total_seconds() / SECONDS_PER_DAY
    df = df.assign(
        day=df["ts"].dt.floor("D"),
        is_weekend=df["ts"].dt.dayofweek >= 5,
        is_night=df["ts"].dt.hour < NIGHT_END_HOUR,
        decay=0.5 ** (age_days / HALF_LIFE_DAYS),
        in_last=df["ts"] > t_end - TREND_WINDOW,
        in_previous=(df["ts"] <= t_end - TREND_WINDOW) & (df["ts"] > t_end - 2 * TREND_WINDOW),
        is_view=df["event"] == PRODUCT_VIEW,
        is_cart=df["event"] == ADD_TO_CART,
        is_checkout=df["event"] == CHECKOUT,
        is_purchase=df["event"] == PURCHASE,
    )
    df["viewed_product"] = df["product_id"].where(df["is_view"])

    users = df.groupby("user_id").agg(
        events=("ts", "size"),
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
        active_days=("day", "nunique"),
        product_views=("is_view", "sum"),
        cart_adds=("is_cart", "sum"),
        checkouts=("is_checkout", "sum"),
        purchases=("is_purchase", "sum"),
        revenue=("revenue", "sum"),
        mean_scroll_depth=("scroll_depth", "mean"),
        mean_time_on_page_s=("duration_s", "mean"),
        time_spent_s=("duration_s", "sum"),
        distinct_categories=("category", "nunique"),
        distinct_products_viewed=("viewed_product", "nunique"),
        weekend_share=("is_weekend", "mean"),
        night_share=("is_night", "mean"),
        events_last_30_days=("in_last", "sum"),
        events_previous_30_days=("in_previous", "sum"),
        decayed_engagement=("decay", "sum"),
    )
    users["days_since_first_event"] = ((t_end - users["first_ts"]).dt.total_seconds()
                                       / SECONDS_PER_DAY)
    users["days_since_last_event"] = ((t_end - users["last_ts"]).dt.total_seconds()
                                      / SECONDS_PER_DAY)
    users["tenure_days"] = ((users["last_ts"] - users["first_ts"]).dt.total_seconds()
                            / SECONDS_PER_DAY)
    users = users.drop(columns=["first_ts", "last_ts"])

    sessions = df.groupby("session_id").agg(
        user_id=("user_id", "first"), start=("ts", "min"), end=("ts", "max"),
        has_cart=("is_cart", "any"), has_purchase=("is_purchase", "any"))
    sessions["duration_s"] = (sessions["end"] - sessions["start"]).dt.total_seconds()
    sessions["abandoned"] = sessions["has_cart"] & ~sessions["has_purchase"]
    per_user = sessions.groupby("user_id").agg(
        sessions=("duration_s", "size"),
        mean_session_duration_s=("duration_s", "mean"),
        median_session_duration_s=("duration_s", "median"),
        cart_sessions=("has_cart", "sum"),
        abandoned_sessions=("abandoned", "sum"),
    )
    users = users.join(per_user)

    # Top event types by count, ties broken by name, as one count column each.
    counts = df["event"].value_counts()
    top = (counts.rename_axis("event").reset_index()
           .sort_values(["count", "event"], ascending=[False, True])["event"]
           .head(TOP_EVENT_TYPES).tolist())
    per_type = df.groupby(["user_id", "event"]).size().unstack(fill_value=0)
    per_type = per_type.reindex(columns=top, fill_value=0)
    per_type.columns = ["count_" + re.sub(r"[^a-z0-9]+", "_", e.lower()).strip("_")
                        for e in per_type.columns]
    users = users.join(per_type)

    _add_rates(users)
    users["engagement_score"] = engagement_score(users)
    _add_rfm(users)
    users.index = users.index.astype(str)
    return users.sort_index()


def _add_rates(users: pd.DataFrame) -> None:
    """Add per-time rates and ratios; undefined ratios are NaN, not zero."""
    rate_days = users["days_since_first_event"].clip(lower=MIN_RATE_DAYS)
    users["sessions_per_week"] = users["sessions"] / rate_days * 7
    users["events_per_session"] = users["events"] / users["sessions"]
    users["purchases_per_30_days"] = users["purchases"] / rate_days * 30
    users["average_order_value"] = users["revenue"] / users["purchases"].replace(0, np.nan)
    users["cart_abandonment_rate"] = (users.pop("abandoned_sessions")
                                      / users.pop("cart_sessions").replace(0, np.nan))
    last, prev = users["events_last_30_days"], users["events_previous_30_days"]
    users["activity_trend"] = (last - prev) / (last + prev).replace(0, np.nan)


def engagement_score(users: pd.DataFrame) -> pd.Series:
    """Weighted mean of metrics min-max scaled between their 1st and 99th percentiles.

    Parameters
    ----------
    users : pandas.DataFrame
        Per-user features with the columns of :data:`ENGAGEMENT_WEIGHTS`.

    Returns
    -------
    pandas.Series
        Score from 0 to 100; a missing metric counts as 0.
    """
    total = pd.Series(0.0, index=users.index)
    for column, weight in ENGAGEMENT_WEIGHTS.items():
        values = users[column].astype(float).fillna(0.0)
        low, high = np.percentile(values, CLIP_PERCENTILES)
        scaled = (values.clip(low, high) - low) / (high - low) if high > low else values * 0.0
        total += weight * scaled
    return 100.0 * total / sum(ENGAGEMENT_WEIGHTS.values())


def _quintile(values: pd.Series) -> pd.Series:
    """Tie-aware quintile score 1-5 (equal values share a score, lowest scores 1)."""
    ranked = values.rank(method="min")
    return (1 + np.floor(5 * (ranked - 1) / len(values))).clip(1, 5).astype("int64")


def _add_rfm(users: pd.DataFrame) -> None:
    """Add recency, frequency and monetary quintile scores and the RFM segment."""
    frequency = users["purchases"] if users["purchases"].sum() > 0 else users["sessions"]
    monetary = users["revenue"] if users["revenue"].abs().sum() > 0 else users["events"]
    users["rfm_recency"] = _quintile(-users["days_since_last_event"])
    users["rfm_frequency"] = _quintile(frequency)
    users["rfm_monetary"] = _quintile(monetary)
    users["rfm_segment"] = RFM_GRID[users["rfm_recency"].to_numpy() - 1,
                                    users["rfm_frequency"].to_numpy() - 1]
