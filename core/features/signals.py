"""Recent-behavior signals per user, computed from the event log.

Rules and segments act on what a user did lately: product views of one category in the
current session, minutes spent on checkout without buying, hours since the last visit,
counts of an event type over the last N days. "Now" is the last timestamp in the data,
never the wall clock, so the same data always gives the same signals.

"Current session" means the user's latest session in the data (the one holding their
last event).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common.engine import run
from core.common.errors import DataError
from core.common.notices import Notice
from core.features.windows import data_now, event_window_counts

#: Signals and their definitions, in the order they are shown.
SIGNAL_DEFINITIONS: dict[str, str] = {
    "session_category_views": "Product views of the most-viewed category in the user's "
                              "current (latest) session.",
    "session_product_views": "Product views in the current session.",
    "session_events": "Events in the current session.",
    "session_minutes": "Minutes from the first to the last event of the current session.",
    "checkout_minutes_without_purchase": "Minutes from the first checkout event to the end "
                                         "of the current session (its last event plus that "
                                         "event's time on page, when known) when the "
                                         "session has no purchase; 0 otherwise.",
    "hours_since_last_event": "Hours from the user's last event to now (the end of the data).",
}

_SESSION_SQL = """
WITH last AS (
    SELECT user_id, arg_max(session_id, ts) AS sid FROM ev GROUP BY user_id
), cur AS (
    SELECT ev.* FROM ev JOIN last ON ev.user_id = last.user_id AND ev.session_id = last.sid
), per_category AS (
    SELECT user_id, count(*) AS views FROM cur
    WHERE list_contains($views, event) AND category IS NOT NULL
    GROUP BY user_id, category
), session AS (
    SELECT user_id,
           count(*) AS session_events,
           count(*) FILTER (WHERE list_contains($views, event)) AS session_product_views,
           date_diff('millisecond', min(ts), max(ts)) / 60000.0 AS session_minutes,
           count(*) FILTER (WHERE list_contains($purchases, event)) AS purchases,
           min(ts) FILTER (WHERE list_contains($checkouts, event)) AS first_checkout,
           max(ts + to_milliseconds(coalesce(duration_s, 0) * 1000)) AS session_end
    FROM cur GROUP BY user_id
)
SELECT s.user_id, s.session_events, s.session_product_views, s.session_minutes,
       coalesce(c.views, 0) AS session_category_views,
       CASE WHEN s.purchases = 0 AND s.first_checkout IS NOT NULL
            THEN date_diff('millisecond', s.first_checkout, s.session_end) / 60000.0
            ELSE 0.0 END AS checkout_minutes_without_purchase
FROM session s
LEFT JOIN (SELECT user_id, max(views) AS views FROM per_category GROUP BY user_id) c
  ON s.user_id = c.user_id
"""


@dataclass
class BehaviorSignals:
    """Recent-behavior signals: one row per user (``user_id`` index)."""

    frame: pd.DataFrame
    now: pd.Timestamp
    definitions: dict[str, str] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)


def naive_utc(ts: pd.Series) -> pd.Series:
    """Timestamps as naive UTC (tz-aware ones converted, naive ones taken as UTC)."""
    ts = pd.to_datetime(ts)
    return ts.dt.tz_convert("UTC").dt.tz_localize(None) if ts.dt.tz is not None else ts


def window_counts(events: pd.DataFrame, event: str | Iterable[str], days: float,
                  now: pd.Timestamp | None = None,
                  users: pd.Index | None = None) -> pd.Series:
    """Count each user's events of the given type(s) in the last ``days`` days.

    Parameters
    ----------
    events : DataFrame
        Canonical events with ``user_id``, ``ts`` and ``event``.
    event : str or iterable of str
        Event name, or several names counted together (e.g. all names of a funnel step).
    days : float
        Window length in days (``2 / 24`` for two hours). The window is
        ``(now - days, now]``.
    now : Timestamp, optional
        End of the window; defaults to the last timestamp in the data.
    users : Index, optional
        Users to report (0 for those without such events); defaults to every user in
        ``events``.

    Returns
    -------
    Series
        Integer counts indexed by ``user_id``.
    """
    names = [event] if isinstance(event, str) else list(event)
    counts = event_window_counts(events, {"count": (names, days)}, now)["count"]
    index = pd.Index(events["user_id"].unique(), name="user_id") if users is None else users
    return counts.reindex(index, fill_value=0).astype("int64").rename(None)


def hours_since_last_event(events: pd.DataFrame, now: pd.Timestamp | None = None
                           ) -> pd.Series:
    """Hours from each user's last event to ``now`` (default: the end of the data)."""
    now = data_now(events) if now is None else pd.Timestamp(now)
    last = naive_utc(events["ts"]).groupby(events["user_id"].to_numpy()).max()
    hours = (now - last).dt.total_seconds() / 3600.0
    return hours.rename_axis("user_id")


def session_signals(events: pd.DataFrame, event_roles: dict[str, list[str]]
                    ) -> pd.DataFrame:
    """Signals of each user's current (latest) session.

    Parameters
    ----------
    events : DataFrame
        Canonical events with ``session_id``; ``category`` is optional (without it the
        same-category count is the session's product views).
    event_roles : dict
        Event names per funnel step (``product_view``, ``checkout``, ``purchase``).

    Returns
    -------
    DataFrame
        ``user_id`` index; columns ``session_events``, ``session_product_views``,
        ``session_minutes``, ``session_category_views``,
        ``checkout_minutes_without_purchase``.
    """
    if "session_id" not in events.columns:
        raise DataError("The events have no session id; sessions are made when data is "
                        "loaded on the Data page.")
    category = events["category"] if "category" in events.columns else \
        pd.Series(None, index=events.index, dtype="string")
    duration = events["duration_s"] if "duration_s" in events.columns else \
        pd.Series(np.nan, index=events.index)
    ev = pd.DataFrame({"user_id": events["user_id"].to_numpy(),
                       "ts": naive_utc(events["ts"]).to_numpy(),
                       "event": events["event"].to_numpy(),
                       "session_id": events["session_id"].to_numpy(),
                       "category": category.to_numpy(),
                       "duration_s": pd.to_numeric(duration, errors="coerce").to_numpy()})
    params = {name: list(event_roles.get(step, []))
              for name, step in (("views", "product_view"), ("checkouts", "checkout"),
                                 ("purchases", "purchase"))}
    frame = run(_SESSION_SQL, params, ev=ev).set_index("user_id")
    if "category" not in events.columns:
        frame["session_category_views"] = frame["session_product_views"]
    return frame


def behavior_signals(events: pd.DataFrame, event_roles: dict[str, list[str]],
                     now: pd.Timestamp | None = None,
                     users: pd.Index | None = None) -> BehaviorSignals:
    """All recent-behavior signals of :data:`SIGNAL_DEFINITIONS` per user.

    Parameters
    ----------
    events : DataFrame
        Canonical events (``user_id``, ``ts``, ``event``, ``session_id``, optional
        ``category``).
    event_roles : dict
        Event names per funnel step, as kept in the workspace.
    now : Timestamp, optional
        Defaults to the last timestamp in the data.
    users : Index, optional
        Users to report (e.g. the feature table's index); users without events get
        missing values, and are counted in a notice.

    Returns
    -------
    BehaviorSignals
    """
    now = data_now(events) if now is None else pd.Timestamp(now)
    notices = []
    for step, signal in (("product_view", "session_category_views"),
                         ("checkout", "checkout_minutes_without_purchase")):
        if not event_roles.get(step):
            notices.append(Notice(f"no_{step}_event", (
                f"No event is marked as {step.replace('_', ' ')}, so '{signal}' is 0 for "
                "everyone. Mark the funnel events on the Data page."), level="info"))
    if "category" not in events.columns:
        notices.append(Notice("no_category", "The events have no category column: "
                              "'session_category_views' counts all product views of the "
                              "session.", level="info"))
    frame = session_signals(events, event_roles)
    frame["hours_since_last_event"] = hours_since_last_event(events, now)
    frame = frame[list(SIGNAL_DEFINITIONS)]
    if users is not None:
        missing = int((~users.isin(frame.index)).sum())
        if missing:
            notices.append(Notice("users_without_events", (
                f"{missing:,} user(s) have no events; their behavior signals are missing "
                "and never match a condition."), level="info"))
        frame = frame.reindex(users)
    frame.index.name = "user_id"
    return BehaviorSignals(frame.astype({c: np.float64 for c in frame.columns}), now,
                           dict(SIGNAL_DEFINITIONS), notices)
