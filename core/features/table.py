"""Per-user behavioral features, computed with DuckDB SQL through :mod:`core.common.engine`.

One row per user. Every feature has a one-line definition in :data:`DEFINITIONS`
(per-event-type counts get theirs when the table is built). Values that are
undefined for a user (order value without orders, abandonment without a cart) are
missing, not zero, so they are never mistaken for a measurement.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.engine import Scratch, quote_ident
from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.data.columns import EventColumns, columns_from_frame
from core.data.mapping import FUNNEL_STEPS
from core.data.timestamps import check_zone
from core.features.columnar import NIGHT_END_HOUR, aggregate, count_columns

#: Rates per week and per 30 days count from the user's first event to the end of the
#: data (a single visit 60 days ago is 0.1 sessions per week, not one a week), over at
#: least this many days so a newcomer's first day is not "7 sessions per week".
MIN_RATE_DAYS = 7.0
#: Min-max normalisation for the engagement score uses these percentiles as min and
#: max, so that a few bots with thousands of events do not squash everyone to zero.
ENGAGEMENT_CLIP_PERCENTILES = (1.0, 99.0)
RFM_SEGMENTS: tuple[tuple[str, str], ...] = (
    # (regex on R then F score, segment): the widely used RFM grid.
    (r"[1-2][1-2]", "Hibernating"),
    (r"[1-2][3-4]", "At risk"),
    (r"[1-2]5", "Can't lose them"),
    (r"3[1-2]", "About to sleep"),
    (r"33", "Need attention"),
    (r"[3-4][4-5]", "Loyal customers"),
    (r"41", "Promising"),
    (r"51", "New customers"),
    (r"[4-5][2-3]", "Potential loyalists"),
    (r"5[4-5]", "Champions"),
)

DEFINITIONS: dict[str, str] = {
    "events": "Number of events the user produced (after cleaning).",
    "sessions": "Number of sessions.",
    "sessions_per_week": "Sessions per 7 days since the user's first event (at least 7 "
                         "days), so one visit long ago is not a weekly habit.",
    "mean_session_duration_s": "Mean session length in seconds (first to last event of a session).",
    "median_session_duration_s": "Median session length in seconds.",
    "events_per_session": "Events divided by sessions.",
    "active_days": "Distinct calendar days (local time) with at least one event.",
    "days_since_first_event": "Days from the user's first event to the end of the data.",
    "days_since_last_event": "Days from the user's last event to the end of the data (recency).",
    "tenure_days": "Days between the user's first and last event.",
    "time_spent_s": "Total time on site in seconds: sum of session lengths.",
    "product_views": "Events marked as product view.",
    "cart_adds": "Events marked as add to cart.",
    "checkouts": "Events marked as checkout.",
    "purchases": "Events marked as purchase (line items, when an order has several).",
    "orders": "Distinct orders (order / basket ids) among the user's purchases.",
    "units": "Sum of the quantity column over the user's events.",
    "revenue": "Sum of revenue on the user's events (refunds subtract).",
    "average_order_value": "Revenue divided by purchases (by orders when an order id is "
                           "mapped); missing when there is none.",
    "purchases_per_30_days": "Purchases per 30 days since the user's first event (at least "
                             "7 days).",
    "orders_per_30_days": "Orders per 30 days since the user's first event (at least 7 days).",
    "cart_abandonment_rate": "Sessions with an add to cart but no purchase, divided by "
                             "sessions with an add to cart; missing without cart adds.",
    "mean_scroll_depth": "Mean scroll depth (%) over the user's events that have one; "
                         "missing when none has.",
    "mean_time_on_page_s": "Mean time on page in seconds over events that have one.",
    "distinct_categories": "Distinct product categories the user's events touch.",
    "distinct_products_viewed": "Distinct products among the user's product views.",
    "weekend_share": "Share of events on Saturday or Sunday (local time).",
    "night_share": "Share of events between 00:00 and 05:59 (local time).",
    "events_last_30_days": "Events in the last 30 days of the data.",
    "events_previous_30_days": "Events in the 30 days before that.",
    "activity_trend": "(last 30 days - previous 30) / (last 30 + previous 30), from -1 "
                      "(stopped) to +1 (new); missing when both are zero.",
    "decayed_engagement": "Sum over events of 0.5^(age in days / half-life): recent "
                          "events count fully, older ones less.",
    "engagement_score": "0-100: weighted mean of min-max-normalised clicks (events), "
                        "scroll depth and time spent (1st-99th percentile as min and max).",
    "rfm_recency": "Recency score 1-5 (tie-aware quintile of days since last event; "
                   "5 = most recent).",
    "rfm_frequency": "Frequency score 1-5 (tie-aware quintile of purchases, or of sessions "
                     "when there are no purchases).",
    "rfm_monetary": "Monetary score 1-5 (tie-aware quintile of revenue, or of events when "
                    "there is no revenue).",
    "rfm_segment": "RFM segment from the recency and frequency scores (Champions, Loyal "
                   "customers, At risk, Hibernating, ...).",
}
DEFAULT_TREND_WINDOW_DAYS = 30


def trend_columns(days: int) -> tuple[str, str]:
    """Names of the two trend counts for a window: last N days and the N days before."""
    return f"events_last_{days}_days", f"events_previous_{days}_days"


def definitions_for(trend_window_days: int = DEFAULT_TREND_WINDOW_DAYS) -> dict[str, str]:
    """The feature definitions, in table order, with the trend counts named and defined
    for the trend window (``events_last_7_days`` for a 7-day window)."""
    last, previous = trend_columns(trend_window_days)
    n = trend_window_days
    window = {
        last: f"Events in the last {n} days of the data.",
        previous: f"Events in the {n} days before that.",
        "activity_trend": f"(last {n} days - previous {n}) / (last {n} + previous {n}), from "
                          "-1 (stopped) to +1 (new); missing when both are zero.",
    }
    defaults = trend_columns(DEFAULT_TREND_WINDOW_DAYS)
    renamed = {defaults[0]: last, defaults[1]: previous}
    return {renamed.get(k, k): window.get(renamed.get(k, k), v) for k, v in DEFINITIONS.items()}


#: Features selected for segmentation until the analyst chooses otherwise: rates and
#: shares that describe behavior without being undefined for most users.
DEFAULT_SELECTED = (
    "sessions_per_week", "events_per_session", "mean_session_duration_s",
    "days_since_last_event", "tenure_days", "product_views", "cart_adds", "purchases",
    "revenue", "weekend_share", "night_share", "engagement_score",
)


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of the feature table."""

    event_roles: dict[str, list[str]] = field(default_factory=dict)
    top_event_types: int = 10
    engagement_weights: dict[str, float] = field(
        default_factory=lambda: {"clicks": 1.0, "scroll_depth": 2.0, "time_spent": 3.0})
    half_life_days: float = 14.0
    trend_window_days: int = DEFAULT_TREND_WINDOW_DAYS
    #: The data's time zone: calendar days, weekends and night are counted in it.
    time_zone: str = "UTC"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(**data)

    def validate(self) -> None:
        if self.half_life_days <= 0:
            raise ConfigError("The half-life must be a positive number of days (14 is usual).")
        if self.trend_window_days <= 0:
            raise ConfigError("The trend window must be a positive number of days.")
        check_zone(self.time_zone)
        if not 0 <= self.top_event_types <= 50:
            raise ConfigError("Top event types must be between 0 and 50.")
        weights = self.engagement_weights
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ConfigError("Engagement weights must be zero or more, and not all zero.")
        unknown = set(self.event_roles) - set(FUNNEL_STEPS)
        if unknown:
            raise ConfigError(f"Unknown funnel step(s): {', '.join(sorted(unknown))}.")


@dataclass
class FeatureTable:
    """One row per user (index ``user_id``) with a definition per column."""

    frame: pd.DataFrame
    definitions: dict[str, str]
    notices: list[Notice] = field(default_factory=list)
    kind: str = "events"

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c in self.frame.columns if pd.api.types.is_numeric_dtype(self.frame[c])]

    def default_selection(self) -> list[str]:
        """Columns selected for segmentation by default: the usual ones this data really
        has (see :func:`informative`); orders in place of purchases when orders are
        counted. Should fewer than two be left, every informative numeric column."""
        if self.kind == "users":
            candidates = self.numeric_columns
        else:
            preferred = [c for c in DEFAULT_SELECTED if c in self.frame.columns]
            if "orders" in self.frame.columns:
                preferred = [("orders" if c == "purchases" else c) for c in preferred]
            candidates = preferred
        chosen = [c for c in candidates if informative(self.frame[c])]
        if len(chosen) < 2:
            chosen = [c for c in self.numeric_columns if informative(self.frame[c])]
        return chosen

    def uninformative(self) -> list[str]:
        """Numeric columns that cannot separate users here (constant, nearly constant or
        mostly missing): shown as not in this data, never selected by default."""
        return [c for c in self.numeric_columns if not informative(self.frame[c])]


#: A feature with values for fewer users than this share says little about everyone.
MIN_PRESENT_SHARE = 0.5
#: A feature whose most common value covers more users than this cannot separate them
#: (a night share of 0 for everyone in date-only data, a session length of 0 in a
#: purchase log).
MAX_MODE_SHARE = 0.99


def informative(values: pd.Series) -> bool:
    """Whether a feature can tell users apart: numeric, present for at least
    :data:`MIN_PRESENT_SHARE` of them, and not one value for more than
    :data:`MAX_MODE_SHARE` of them."""
    if not pd.api.types.is_numeric_dtype(values) or len(values) == 0:
        return False
    present = values.dropna()
    if len(present) < MIN_PRESENT_SHARE * len(values) or present.nunique() < 2:
        return False
    return float(present.value_counts(normalize=True).iloc[0]) <= MAX_MODE_SHARE


def user_features(events: pd.DataFrame, config: FeatureConfig = FeatureConfig()) -> FeatureTable:
    """Compute the per-user feature table from canonical events.

    Parameters
    ----------
    events : DataFrame
        Canonical events with user_id, ts (UTC), event and session_id, and optionally
        revenue, scroll_depth, duration_s, category, product_id.
    config : FeatureConfig
        Funnel event names, number of per-type counts, engagement weights, half-life.

    Returns
    -------
    FeatureTable
    """
    if len(events) == 0:
        raise DataError("There are no events to build features from. Load data first.")
    missing = [c for c in ("user_id", "ts", "event", "session_id") if c not in events]
    if missing:
        raise DataError(f"The events lack column(s) {', '.join(missing)}; load them again.")
    return features_from_columns(columns_from_frame(events), config)


def features_from_columns(cols: EventColumns, config: FeatureConfig) -> FeatureTable:
    """The feature table of kept events held as sorted columns (the fast path).

    The same table as :func:`features_from_table` gives from SQL, which stays the
    definition; ``tests/core/features/test_columnar.py`` holds the two together.
    """
    config.validate()
    notices: list[Notice] = []
    roles = {step: [str(v) for v in config.event_roles.get(step, [])] for step in FUNNEL_STEPS}
    counts = cols.event_counts()
    top = [str(e) for e in counts.index[:config.top_event_types]] \
        if config.top_event_types else []
    present = {"user_id", "ts", "event", "session_id", *cols.numeric, *cols.text}
    defs = _definitions(present, roles, top, config)
    frame = aggregate(cols, roles, top, config).sort_index()
    frame.index = frame.index.astype(str)
    frame = _add_derived(frame, config, defs, notices)
    notices += _funnel_notices(sorted(str(e) for e in counts.index)[:3], roles)
    return FeatureTable(frame, defs, notices, "events")


def naive_utc(events: pd.DataFrame) -> pd.DataFrame:
    """Return events whose ``ts`` is naive UTC, the form SQL in core works on."""
    ts = events["ts"]
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        return events.assign(ts=ts.dt.tz_convert("UTC").dt.tz_localize(None))
    return events


def features_from_table(s: Scratch, table: str, config: FeatureConfig) -> FeatureTable:
    """Like :func:`user_features` on a scratch table or registered frame."""
    config.validate()
    cols = s.columns(table)
    missing = [c for c in ("user_id", "ts", "event", "session_id") if c not in cols]
    if missing:
        raise DataError(f"The events lack column(s) {', '.join(missing)}; load them again.")
    notices: list[Notice] = []
    roles = {step: [str(v) for v in config.event_roles.get(step, [])] for step in FUNNEL_STEPS}
    top = [r[0] for r in s.rows(
        f"SELECT event FROM {table} GROUP BY event ORDER BY count(*) DESC, event LIMIT ?",
        [config.top_event_types])] if config.top_event_types else []
    sql, params, definitions = _feature_sql(table, cols, roles, top, config)
    frame = s.df(sql, params)
    frame = frame.set_index("user_id").sort_index()
    frame.index = frame.index.astype(str)
    frame = _add_derived(frame, config, definitions, notices)
    kinds = [r[0] for r in s.rows(f"SELECT DISTINCT event FROM {table} ORDER BY 1 LIMIT 3")]
    notices += _funnel_notices(kinds, roles)
    return FeatureTable(frame, definitions, notices, "events")


def _funnel_notices(kinds: list[str], roles: dict[str, list[str]]) -> list[Notice]:
    """Say which funnel steps have no event; a log of one or two event types (purchases,
    ratings) has no funnel to name, so that is one line of information, not warnings.
    ``kinds`` are the data's first three event names in sorted order."""
    unmarked = [step for step, names in roles.items() if not names]
    if not unmarked:
        return []
    if len(kinds) <= 2:
        names = [step.replace("_", " ") for step in unmarked]
        steps = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        count = "one event type" if len(kinds) == 1 else "two event types"
        return [Notice(
            "no_funnel_events",
            f"The data has {count} ({', '.join(map(str, kinds))}), so the funnel features "
            f"that need a {steps} event are left out.", "info")]
    return [Notice(
        f"no_{step}_event",
        f"No event is marked as {step.replace('_', ' ')}, so features that need it are "
        "left out. Name it under 'Funnel events' on the Data page.") for step in unmarked]


def _definitions(columns: set[str], roles: dict[str, list[str]], top: list[str],
                 config: FeatureConfig) -> dict[str, str]:
    """The definition of every column the feature table of these events has."""
    defs = definitions_for(config.trend_window_days)
    for event, col in count_columns(top):
        defs[col] = f"Number of '{event}' events."
    if "product_id" in columns and not roles.get("product_view"):
        defs["distinct_products_viewed"] = "Distinct products among all the user's events."
    return defs


def _feature_sql(table: str, cols: dict[str, str], roles: dict[str, list[str]],
                 top: list[str], config: FeatureConfig
                 ) -> tuple[str, list[Any], dict[str, str]]:
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    defs = _definitions(set(cols), roles, top, config)
    last_col, previous_col = trend_columns(config.trend_window_days)
    # Differences of whole microseconds, divided once: exact, and the same doubles as the
    # column-wise path (core.features.columnar) computes.
    days = "86400000000.0"
    # Times are naive UTC inside DuckDB; local time goes through ICU only when needed
    # (its time-zone code is several times slower than plain date parts).
    local = "e.ts" if config.time_zone == "UTC" else \
        f"timezone({param(config.time_zone)}, timezone('UTC', e.ts))"
    ev_parts = [
        "count(*) AS events",
        f"(epoch_us(max(b.t_end)) - epoch_us(min(e.ts))) / {days} AS days_since_first_event",
        f"(epoch_us(max(b.t_end)) - epoch_us(max(e.ts))) / {days} AS days_since_last_event",
        f"(epoch_us(max(e.ts)) - epoch_us(min(e.ts))) / {days} AS tenure_days",
        f"count(DISTINCT CAST({local} AS DATE)) AS active_days",
        f"avg(CASE WHEN dayofweek({local}) IN (0, 6) THEN 1.0 ELSE 0.0 END) AS weekend_share",
        f"avg(CASE WHEN hour({local}) < {NIGHT_END_HOUR} THEN 1.0 ELSE 0.0 END) AS night_share",
        f"sum(pow(0.5, (epoch_us(b.t_end) - epoch_us(e.ts)) / {days} / "
        f"{param(config.half_life_days)}))"
        " AS decayed_engagement",
    ]
    window = param(config.trend_window_days)
    ev_parts += [
        f"count(*) FILTER (WHERE e.ts > b.t_end - to_days(CAST({window} AS INTEGER))) "
        f"AS {last_col}",
        f"count(*) FILTER (WHERE e.ts <= b.t_end - to_days(CAST({window} AS INTEGER)) AND "
        f"e.ts > b.t_end - to_days(CAST(2 * {window} AS INTEGER))) AS {previous_col}",
    ]
    role_cols = {"product_view": "product_views", "add_to_cart": "cart_adds",
                 "checkout": "checkouts", "purchase": "purchases"}
    role_params = {}
    for step, col in role_cols.items():
        if roles[step]:
            role_params[step] = param(roles[step])
            ev_parts.append(f"count(*) FILTER (WHERE list_contains({role_params[step]}, e.event))"
                            f" AS {col}")
    for event, col in count_columns(top):
        ev_parts.append(f"count(*) FILTER (WHERE e.event = {param(event)}) AS {quote_ident(col)}")
    if "revenue" in cols:
        ev_parts.append("coalesce(sum(e.revenue), 0) AS revenue")
    if "order_id" in cols:
        buying = f"list_contains({role_params['purchase']}, e.event)" \
            if "purchase" in role_params else "TRUE"
        ev_parts.append(f"count(DISTINCT e.order_id) FILTER (WHERE {buying}) AS orders")
    if "quantity" in cols:
        ev_parts.append("coalesce(sum(e.quantity), 0) AS units")
    if "scroll_depth" in cols:
        ev_parts.append("avg(e.scroll_depth) AS mean_scroll_depth")
    if "duration_s" in cols:
        ev_parts.append("avg(e.duration_s) AS mean_time_on_page_s")
        ev_parts.append("coalesce(sum(e.duration_s), 0) AS time_on_pages_s")
    if "category" in cols:
        ev_parts.append("count(DISTINCT e.category) AS distinct_categories")
    if "product_id" in cols:
        cond = (f"WHERE list_contains({role_params['product_view']}, e.event)"
                if "product_view" in role_params else "")
        ev_parts.append(f"count(DISTINCT e.product_id) FILTER ({cond or 'WHERE TRUE'}) "
                        "AS distinct_products_viewed")
    cart = role_params.get("add_to_cart")
    purchase = role_params.get("purchase")
    sess_parts = ["(epoch_us(max(ts)) - epoch_us(min(ts))) / 1000000.0 AS dur"]
    if cart:
        sess_parts.append(f"bool_or(list_contains({cart}, event)) AS has_cart")
        sess_parts.append(
            f"bool_or(list_contains({purchase}, event)) AS has_purchase" if purchase
            else "FALSE AS has_purchase")
    su_parts = ["count(*) AS sessions", "avg(dur) AS mean_session_duration_s",
                "median(dur) AS median_session_duration_s", "sum(dur) AS time_spent_s"]
    if cart:
        su_parts += ["count(*) FILTER (WHERE has_cart) AS cart_sessions",
                     "count(*) FILTER (WHERE has_cart AND NOT has_purchase) AS abandoned_sessions"]
    sql = f"""
        WITH b AS (SELECT max(ts) AS t_end FROM {table}),
        sess AS (SELECT user_id, {', '.join(sess_parts)} FROM {table}
                 GROUP BY user_id, session_id),
        su AS (SELECT user_id, {', '.join(su_parts)} FROM sess GROUP BY user_id),
        eu AS (SELECT e.user_id, {', '.join(ev_parts)} FROM {table} e, b GROUP BY e.user_id)
        SELECT * FROM eu JOIN su USING (user_id)
    """
    return sql, params, defs


def _rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """Divide, giving missing where the denominator is zero."""
    return numerator / denominator.where(denominator != 0)


def _add_derived(frame: pd.DataFrame, config: FeatureConfig, defs: dict[str, str],
                 notices: list[Notice]) -> pd.DataFrame:
    """Add rates, scores and RFM to the SQL aggregates; return columns in a fixed order."""
    rate_days = frame["days_since_first_event"].clip(lower=MIN_RATE_DAYS)
    frame["sessions_per_week"] = frame["sessions"] / rate_days * 7
    frame["events_per_session"] = frame["events"] / frame["sessions"]
    if "time_on_pages_s" in frame:
        frame["time_spent_s"] = frame.pop("time_on_pages_s")
        defs["time_spent_s"] = "Total time on site in seconds: sum of time on page."
    if "purchases" in frame:
        frame["purchases_per_30_days"] = frame["purchases"] / rate_days * 30
    if "orders" in frame:
        frame["orders_per_30_days"] = frame["orders"] / rate_days * 30
    # An order's value is per order (a basket), not per line item, when orders are known.
    buys = frame["orders"] if "orders" in frame else frame.get("purchases")
    if buys is not None and "revenue" in frame:
        frame["average_order_value"] = _rate(frame["revenue"], buys)
    if "cart_sessions" in frame:
        frame["cart_abandonment_rate"] = _rate(frame.pop("abandoned_sessions"),
                                               frame.pop("cart_sessions"))
    last, prev = (frame[c] for c in trend_columns(config.trend_window_days))
    frame["activity_trend"] = _rate(last - prev, last + prev)
    frame["engagement_score"] = engagement_score(frame, config.engagement_weights, notices)
    _add_rfm(frame, defs)
    int_cols = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])]
    frame[int_cols] = frame[int_cols].astype("int64")
    order = [c for c in definitions_for(config.trend_window_days) if c in frame.columns]
    counts = [c for c in frame.columns if c.startswith("count_")]
    rest = [c for c in frame.columns if c not in order and c not in counts]
    return frame[order[:10] + counts + order[10:] + rest]


def engagement_score(frame: pd.DataFrame, weights: dict[str, float],
                     notices: list[Notice] | None = None) -> pd.Series:
    """Composite engagement score from 0 to 100.

    Parameters
    ----------
    frame : DataFrame
        Features with ``events`` and, when available, ``mean_scroll_depth`` and
        ``time_spent_s``.
    weights : dict
        Weights of ``clicks``, ``scroll_depth`` and ``time_spent``.
    notices : list, optional
        Receives a notice for each weighted metric the data does not have.

    Returns
    -------
    Series
        ``100 * sum(w * norm(metric)) / sum(w)`` where ``norm`` is min-max scaling with
        the 1st and 99th percentiles as min and max (values beyond are clipped) and a
        missing scroll depth counts as 0.
    """
    sources = {"clicks": "events", "scroll_depth": "mean_scroll_depth",
               "time_spent": "time_spent_s"}
    total = pd.Series(0.0, index=frame.index)
    weight_sum = 0.0
    for metric, weight in weights.items():
        col = sources.get(metric)
        if not weight or col is None:
            continue
        if col not in frame:
            if notices is not None:
                notices.append(Notice(f"engagement_without_{metric}",
                                      f"The data has no {metric.replace('_', ' ')} column, so the "
                                      "engagement score leaves it out.", level="info"))
            continue
        values = frame[col].astype(float).fillna(0.0)
        low, high = np.percentile(values, ENGAGEMENT_CLIP_PERCENTILES)
        span = high - low
        scaled = ((values.clip(low, high) - low) / span) if span > 0 else values * 0.0
        total += weight * scaled
        weight_sum += weight
    if weight_sum == 0:
        return pd.Series(np.nan, index=frame.index)
    return 100.0 * total / weight_sum


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Tie-aware quintile score 1-5.

    ``1 + floor(5 * (rank_min - 1) / n)``, so equal values get equal scores and the
    lowest value always scores 1 (with ``higher_is_better=False`` the order is reversed).
    """
    ranked = (values if higher_is_better else -values).rank(method="min")
    n = len(values)
    return (1 + np.floor(5 * (ranked - 1) / n)).clip(1, 5).astype("int64")


def rfm_segment(r: int, f: int) -> str:
    """Name the RFM segment of a recency score and a frequency score."""
    key = f"{r}{f}"
    for pattern, name in RFM_SEGMENTS:
        if re.fullmatch(pattern, key):
            return name
    raise ValueError(f"Scores must be 1-5, got R={r}, F={f}.")


def _add_rfm(frame: pd.DataFrame, defs: dict[str, str]) -> None:
    frequency = frame["purchases"] if "purchases" in frame and frame["purchases"].sum() > 0 \
        else frame["sessions"]
    monetary = frame["revenue"] if "revenue" in frame and frame["revenue"].abs().sum() > 0 \
        else frame["events"]
    frame["rfm_recency"] = quintile_score(frame["days_since_last_event"], higher_is_better=False)
    frame["rfm_frequency"] = quintile_score(frequency)
    frame["rfm_monetary"] = quintile_score(monetary)
    lookup = {(r, f): rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    frame["rfm_segment"] = [lookup[(r, f)] for r, f in
                            zip(frame["rfm_recency"], frame["rfm_frequency"], strict=True)]


def user_table_features(frame: pd.DataFrame, user_column: str) -> FeatureTable:
    """Accept a per-user table (one row per user, numeric columns) as the feature table.

    Parameters
    ----------
    frame : DataFrame
        The raw table.
    user_column : str
        Column holding the user id; values must be unique.

    Returns
    -------
    FeatureTable
        Numeric columns (text columns whose every value is a number are converted);
        other columns are left out and listed in a notice.
    """
    if user_column not in frame.columns:
        raise ConfigError(f"Column '{user_column}' is not in the table.")
    ids = frame[user_column]
    if ids.isna().any():
        raise DataError(f"{int(ids.isna().sum()):,} row(s) have no user id in '{user_column}'. "
                        "Fill or remove them: a per-user table needs an id on every row.")
    dupes = ids[ids.duplicated()]
    if len(dupes):
        raise DataError(
            f"User id '{dupes.iloc[0]}' appears on more than one row ({len(dupes):,} repeated "
            "ids). A per-user table needs one row per user; if this is an event log, map a "
            "timestamp column so it is loaded as events.")
    out = pd.DataFrame(index=pd.Index(ids.astype(str), name="user_id"))
    skipped, notices = [], []
    for col in frame.columns:
        if col == user_column:
            continue
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            if not pd.api.types.is_bool_dtype(values):
                values = values.astype("string").str.strip().replace("", pd.NA)
            converted = pd.to_numeric(values, errors="coerce")
            if converted.notna().sum() != values.notna().sum() or values.notna().sum() == 0:
                skipped.append(str(col))
                continue
            values = converted
        out[str(col)] = values.astype(float).to_numpy()
    if not len(out.columns):
        raise DataError("The per-user table has no numeric columns to use as features. "
                        "Add numeric columns, or load an event log instead.")
    if skipped:
        notices.append(Notice("non_numeric_columns",
                              f"Column(s) {', '.join(skipped)} are not numeric and were left "
                              "out of the features."))
    definitions = {c: f"Column '{c}' of the per-user table." for c in out.columns}
    return FeatureTable(out, definitions, notices, "users")
