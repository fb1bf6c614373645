"""Counts over a recent time window ("purchases in the last 30 days"), from the event log.

Whole-history features cannot answer "in the last 7 days", so a segment condition with a
window is evaluated on a column computed here, and so are the rules' ``count(EVENT, 7d)``
(through :func:`core.features.signals.window_counts`). "Now" is the last timestamp in the data,
not the wall clock, so the same data always gives the same segments.
"""

from __future__ import annotations

import pandas as pd

from core.common.engine import quote_ident, run
from core.common.errors import ConfigError, DataError

#: Features that can be counted over a window, and the funnel role each one counts.
ROLE_FEATURES = {"product_views": "product_view", "cart_adds": "add_to_cart",
                 "checkouts": "checkout", "purchases": "purchase"}
WINDOWED_BASE = ("events", "sessions", "revenue", *ROLE_FEATURES)
MICROSECONDS_PER_DAY = 86_400_000_000


def data_now(events: pd.DataFrame) -> pd.Timestamp:
    """'Now' for every window: the last timestamp in the data (naive UTC).

    Raises
    ------
    DataError
        When the log has no events.
    """
    if events is None or events.empty:
        raise DataError("The event log is empty: load data on the Data page first.")
    last = pd.Timestamp(events["ts"].max())
    return last.tz_convert("UTC").tz_localize(None) if last.tzinfo is not None else last


def window_column(feature: str, days: float) -> str:
    """Name of the column holding ``feature`` over the last ``days`` days."""
    return f"{feature} in the last {days:g} days"


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
    specs = []
    for feature, days in dict.fromkeys(wanted):
        if not days or days <= 0:
            raise ConfigError(f"The window on '{feature}' must be a positive number of days.")
        aggregate, only = _aggregate(feature, events, event_roles, params)
        specs.append((window_column(feature, days), aggregate, only, days))
    counts = _count_windows(events, specs, params)
    counts.index = counts.index.astype(str)
    return counts.reindex(users.astype(str)).fillna(0).set_axis(users)


def event_window_counts(events: pd.DataFrame, wanted: dict[str, tuple[list[str], float]],
                        now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Count events of the given names per user, each over its own recent window.

    Parameters
    ----------
    events : DataFrame
        Events with ``user_id``, ``ts`` and ``event``.
    wanted : dict
        Column name -> (event names counted together, window length in days). A window
        is ``(now - days, now]``.
    now : Timestamp, optional
        End of every window (naive times are UTC); defaults to the last timestamp in the
        data (see :func:`data_now`).

    Returns
    -------
    DataFrame
        One integer column per entry of ``wanted``, indexed by ``user_id``; only users
        with events are listed (reindex to add the others with 0).
    """
    if not wanted:
        return pd.DataFrame(index=pd.Index([], name="user_id"))
    params: list = []
    specs = []
    for column, (names, days) in wanted.items():
        if days <= 0:
            raise DataError(f"A window must be longer than 0 days (got {days}).")
        params.append(list(names))
        specs.append((column, "count(*)", f"event = ANY(${len(params)})", days))
    return _count_windows(events, specs, params, data_now(events) if now is None else now)


def _count_windows(events: pd.DataFrame, specs: list[tuple[str, str, str | None, float]],
                   params: list, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """One scan of the log for every ``(column, aggregate, only, days)`` of ``specs``.

    ``params`` already holds the values that the ``only`` conditions refer to.
    """
    selects = []
    for column, aggregate, only, days in specs:
        params.append(float(days) * MICROSECONDS_PER_DAY)
        window = f"ts > last_ts - to_microseconds(CAST(${len(params)} AS BIGINT))"
        if now is not None:  # a given end may fall before the last event
            window += " AND ts <= last_ts"
        condition = window if only is None else f"{window} AND {only}"
        selects.append(f"coalesce({aggregate} FILTER (WHERE {condition}), 0) AS "
                       f"{quote_ident(column)}")
    if now is None:
        end = "(SELECT max(ts) AS last_ts FROM events)"
    else:
        params.append(pd.Timestamp(now).to_pydatetime())
        end = f"(SELECT ${len(params)} AS last_ts)"
    sql = f"SELECT user_id, {', '.join(selects)} FROM events, {end} GROUP BY user_id"
    return run(sql, params, events=events).set_index("user_id")


def _counted_event(events: pd.DataFrame, feature: str) -> str:
    from core.features.columnar import count_column

    for name in events["event"].dropna().unique():
        if count_column(str(name)) == feature:
            return str(name)
    raise ConfigError(f"No event in the data is counted by '{feature}'.")
