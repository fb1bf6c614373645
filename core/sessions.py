"""Sessions: the file's session id when there is one, else an inactivity gap."""

from __future__ import annotations

import pandas as pd

from core.engine import Scratch, quote_ident
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


def session_start_sql(gap_minutes: float, window: str = "w") -> str:
    """SQL flag (1/0) for a row that starts a session, over a per-user time-ordered window.

    A session starts at a user's first event and after every gap longer than
    ``gap_minutes`` between consecutive events. (Loading uses the same rule through
    :func:`core.cleaning.session_numbers`, on the events that survive cleaning.)
    """
    check_gap(gap_minutes)
    gap_us = int(gap_minutes * 60 * 1_000_000)
    return (f"CASE WHEN lag(ts) OVER {window} IS NULL OR "
            f"epoch_us(ts) - epoch_us(lag(ts) OVER {window}) > {gap_us} THEN 1 ELSE 0 END")


def number_sessions_sql(table: str, columns: list[str], has_session_column: bool,
                        order: str = "ts") -> str:
    """Return SQL numbering sessions from the ``__pl_new_session`` flag of ``table``.

    Gap-based sessions are numbered 1, 2, ... per user. When the file has its own
    session id it is used, and only events without one get a gap-based id (``gap-N``).
    """
    others = ", ".join(quote_ident(c) for c in columns if c != "session_id")
    number = (f"sum(__pl_new_session) OVER (PARTITION BY user_id ORDER BY {order} "
              "ROWS UNBOUNDED PRECEDING)")
    if has_session_column:
        session = f"coalesce(session_id, 'gap-' || CAST({number} AS VARCHAR))"
    else:
        session = f"CAST({number} AS INTEGER)"
    return f"SELECT {others}, {session} AS session_id FROM {table}"


def sessionize_sql(table: str, columns: list[str], gap_minutes: float,
                   has_session_column: bool) -> str:
    """Return SQL adding ``session_id`` to an events table (see :func:`session_start_sql`)."""
    col_sql = ", ".join(quote_ident(c) for c in columns)
    starts = (f"(SELECT {col_sql}, {session_start_sql(gap_minutes)} AS __pl_new_session "
              f"FROM {table} WINDOW w AS (PARTITION BY user_id ORDER BY ts))")
    return number_sessions_sql(starts, columns, has_session_column)


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
    tz_aware = isinstance(frame["ts"].dtype, pd.DatetimeTZDtype)
    if tz_aware:
        frame = frame.assign(ts=frame["ts"].dt.tz_convert("UTC").dt.tz_localize(None))
    with Scratch() as s:
        name = s.register(frame, "events")
        sql = sessionize_sql(name, list(frame.columns), gap_minutes, has_file)
        out = s.df(f"SELECT * FROM ({sql}) ORDER BY user_id, ts")
    if tz_aware:
        out["ts"] = out["ts"].dt.tz_localize("UTC")
    columns = list(frame.columns)
    return out[columns if "session_id" in columns else [*columns, "session_id"]]
