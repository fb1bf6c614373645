"""Sessions: the file's session id when there is one, else an inactivity gap.

One rule, :func:`session_numbers`, numbers sessions over rows sorted by user and time;
loading (:mod:`core.data.cleaning`) and :func:`sessionize` both use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.common.errors import ConfigError

#: Common web-analytics convention (GA, Adobe, Snowplow) for the inactivity gap.
DEFAULT_SESSION_GAP_MINUTES = 30.0


def check_gap(gap_minutes: float) -> None:
    """Raise ConfigError unless the gap is a positive number of minutes."""
    if not gap_minutes or gap_minutes <= 0:
        raise ConfigError(
            f"The session gap must be a positive number of minutes, not {gap_minutes!r}. "
            "30 minutes is the usual choice."
        )


def session_numbers(user_keys: np.ndarray, times_us: np.ndarray,
                    gap_minutes: float) -> np.ndarray:
    """Number sessions 1, 2, ... per user over rows sorted by user and time.

    A session starts at a user's first event and after every gap longer than
    ``gap_minutes`` between consecutive events.

    Parameters
    ----------
    user_keys : ndarray
        A key per row, equal for the rows of one user; rows of a user are adjacent.
    times_us : ndarray
        Event times in microseconds, ascending within each user.
    gap_minutes : float
        A gap longer than this starts a new session.

    Returns
    -------
    ndarray of int32
    """
    check_gap(gap_minutes)
    n = len(times_us)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    first_of_user = np.ones(n, dtype=bool)
    first_of_user[1:] = user_keys[1:] != user_keys[:-1]
    starts = first_of_user.copy()
    starts[1:] |= (times_us[1:] - times_us[:-1]) > gap_minutes * 60 * 1_000_000
    running = np.cumsum(starts)
    user_start = np.maximum.accumulate(np.where(first_of_user, np.arange(n), 0))
    return (running - running[user_start] + 1).astype(np.int32)


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
        Keep an existing ``session_id`` column (events without one get a gap-based id
        ``gap-N``); when False it is recomputed.

    Returns
    -------
    DataFrame
        Sorted by user and time.
    """
    check_gap(gap_minutes)
    has_file = use_file_sessions and "session_id" in events.columns
    frame = events if has_file or "session_id" not in events.columns else events.drop(
        columns="session_id")
    frame = frame.sort_values(["user_id", "ts"], kind="stable", ignore_index=True)
    times = (pd.to_datetime(frame["ts"], utc=True) - pd.Timestamp(0, tz="UTC")) \
        // pd.Timedelta(microseconds=1)
    numbers = session_numbers(pd.factorize(frame["user_id"])[0], times.to_numpy(),
                              gap_minutes)
    if has_file:
        gap_ids = pd.Series(numbers, index=frame.index).map(lambda n: f"gap-{n}")
        session = frame["session_id"].astype("string").fillna(gap_ids)
        return frame.assign(session_id=session)
    return frame.assign(session_id=numbers)
