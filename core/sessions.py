"""Sessions: the file's session id when there is one, else an inactivity gap."""

from __future__ import annotations

import pandas as pd

from core.engine import Scratch
from core.errors import ConfigError

#: Common web-analytics convention (GA, Adobe, Snowplow) for the inactivity gap.
DEFAULT_SESSION_GAP_MINUTES = 30.0


def check_gap(gap_minutes: float) -> None:
    """Raise ConfigError unless the gap is a positive number of minutes."""
    if not gap_minutes or gap_minutes <= 0:
        raise ConfigError(
            f"The session gap must be a positive number of minutes, not {gap_minutes!r}. "
            "30 minutes is the usual choice."
        )


def sessionize_sql(table: str, columns: list[str], gap_minutes: float,
                   has_session_column: bool) -> str:
    """Return SQL adding ``session_id`` to an events table.

    A new session starts at a user's first event and after every gap longer than
    ``gap_minutes``. When the file has its own session id, it is used and only
    events without one get a gap-based session (prefixed ``gap-``).
    """
    check_gap(gap_minutes)
    gap_us = int(gap_minutes * 60 * 1_000_000)
    others = ", ".join(f'"{c}"' for c in columns if c != "session_id")
    starts = f"""
        SELECT {others}{', session_id AS file_session' if has_session_column else ''},
               CASE WHEN lag(ts) OVER w IS NULL
                      OR epoch_us(ts) - epoch_us(lag(ts) OVER w) > {gap_us}
                    THEN 1 ELSE 0 END AS new_session
        FROM {table}
        WINDOW w AS (PARTITION BY user_id ORDER BY ts)
    """
    numbered = f"""
        SELECT *, sum(new_session) OVER (PARTITION BY user_id ORDER BY ts
                                         ROWS UNBOUNDED PRECEDING) AS gap_session
        FROM ({starts})
    """
    if has_session_column:
        session = "coalesce(file_session, 'gap-' || CAST(gap_session AS VARCHAR))"
    else:
        session = "CAST(gap_session AS INTEGER)"
    return f"SELECT {others}, {session} AS session_id FROM ({numbered})"


def sessionize(events: pd.DataFrame, gap_minutes: float = DEFAULT_SESSION_GAP_MINUTES,
               use_file_sessions: bool = True) -> pd.DataFrame:
    """Return a copy of ``events`` with a ``session_id`` column.

    Parameters
    ----------
    events : DataFrame
        Canonical events (user_id, ts, event, ...).
    gap_minutes : float
        Inactivity gap that ends a session when the file has no session id.
    use_file_sessions : bool
        Keep an existing ``session_id`` column; when False it is recomputed.

    Returns
    -------
    DataFrame
        Sorted by user and time.
    """
    has_file = use_file_sessions and "session_id" in events.columns
    frame = events if has_file or "session_id" not in events.columns else events.drop(
        columns="session_id")
    if has_file:
        frame = frame.assign(session_id=frame["session_id"].astype("string"))
    with Scratch() as s:
        name = s.register(frame, "events")
        sql = sessionize_sql(name, list(frame.columns), gap_minutes, has_file)
        out = s.df(f"SELECT * FROM ({sql}) ORDER BY user_id, ts")
    columns = list(frame.columns)
    return out[columns if "session_id" in columns else [*columns, "session_id"]]
