"""Counts over a recent time window ("purchases in the last 30 days"), from the event log.

Whole-history features cannot answer "in the last 7 days", so a segment condition with a
window is evaluated on a column computed here. "Now" is the last timestamp in the data,
not the wall clock, so the same data always gives the same segments.
"""

from __future__ import annotations

import pandas as pd

from core.engine import quote_ident, run
from core.errors import ConfigError

#: Features that can be counted over a window, and the funnel role each one counts.
ROLE_FEATURES = {"product_views": "product_view", "cart_adds": "add_to_cart",
                 "checkouts": "checkout", "purchases": "purchase"}
WINDOWED_BASE = ("events", "sessions", "revenue", *ROLE_FEATURES)
MICROSECONDS_PER_DAY = 86_400_000_000


def window_column(feature: str, days: float) -> str:
    """Name of the column holding ``feature`` over the last ``days`` days."""
    return f"{feature} in the last {days:g} days"


def supports_window(feature: str) -> bool:
    """Whether a feature is a count or sum that can be restricted to a time window."""
    return feature in WINDOWED_BASE or feature.startswith("count_")


def _aggregate(feature: str, events: pd.DataFrame, event_roles: dict[str, list[str]],
               params: list) -> tuple[str, str | None]:
    """The aggregate for a feature and the extra condition on the events it counts."""
    columns = set(events.columns)
    if feature == "events":
        return "count(*)", None
    if feature == "sessions":
        if "session_id" not in columns:
            raise ConfigError("Sessions in a window need the event log's sessions; reload "
                              "the data on the Data page.")
        return "count(DISTINCT session_id)", None
    if feature == "revenue":
        if "revenue" not in columns:
            raise ConfigError("The data has no revenue column, so there is no revenue to "
                              "count in a window.")
        return "sum(revenue)", None
    if feature in ROLE_FEATURES:
        names = event_roles.get(ROLE_FEATURES[feature]) or []
        if not names:
            raise ConfigError(f"No event is marked as {ROLE_FEATURES[feature].replace('_', ' ')}"
                              f", so '{feature}' cannot be counted in a window. Mark it on "
                              "the Data page.")
        params.append(list(names))
        return "count(*)", f"event = ANY(${len(params)})"
    if feature.startswith("count_"):
        params.append(_counted_event(events, feature))
        return "count(*)", f"event = ${len(params)}"
    raise ConfigError(f"'{feature}' is not a count, so it has no 'in the last N days' form. "
                      f"Windows work on {', '.join(WINDOWED_BASE)} and event counts "
                      "(count_...).")


def windowed_counts(events: pd.DataFrame, wanted: list[tuple[str, float]],
                    event_roles: dict[str, list[str]], users: pd.Index) -> pd.DataFrame:
    """Each ``(feature, days)`` counted over the last ``days`` days of the data.

    Parameters
    ----------
    events : DataFrame
        The cleaned event log (``user_id``, ``ts``, ``event``, ``session_id``, ``revenue``).
    wanted : list of (str, float)
        Features and window lengths in days.
    event_roles : dict
        Funnel role -> event names (the workspace's ``event_roles``).
    users : Index
        Users to return rows for; users without events in a window get 0.

    Returns
    -------
    DataFrame
        One column per window (named by :func:`window_column`), indexed like ``users``.
    """
    if not wanted:
        return pd.DataFrame(index=users)
    params: list = []
    selects = []
    for feature, days in dict.fromkeys(wanted):
        if not days or days <= 0:
            raise ConfigError(f"The window on '{feature}' must be a positive number of days.")
        aggregate, only = _aggregate(feature, events, event_roles, params)
        params.append(float(days) * MICROSECONDS_PER_DAY)
        window = f"ts > last_ts - to_microseconds(CAST(${len(params)} AS BIGINT))"
        condition = window if only is None else f"{window} AND {only}"
        selects.append(f"coalesce({aggregate} FILTER (WHERE {condition}), 0) AS "
                       f"{quote_ident(window_column(feature, days))}")
    sql = (f"SELECT user_id, {', '.join(selects)} FROM events, "
           "(SELECT max(ts) AS last_ts FROM events) GROUP BY user_id")
    counts = run(sql, params, events=events).set_index("user_id")
    counts.index = counts.index.astype(str)
    return counts.reindex(users.astype(str)).fillna(0).set_axis(users)


def _counted_event(events: pd.DataFrame, feature: str) -> str:
    from core.features import count_column

    for name in events["event"].dropna().unique():
        if count_column(str(name)) == feature:
            return str(name)
    raise ConfigError(f"No event in the data is counted by '{feature}'.")
