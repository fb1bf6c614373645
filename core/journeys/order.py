"""Events as numpy arrays ordered by user and time, the shape every journey works on.

:func:`timeline` takes the canonical events frame (``user_id``, ``ts``, ``event``, ...),
optionally only some of its rows, and returns the rows sorted by user, then time, then
their position in the frame (a stable sort, skipped when the frame is already in that
order, as loaded frames are). Users are integer codes; times are integer microseconds
since the epoch (UTC). ``key`` is one integer per row that orders rows by (user, time)
and is *equal* for rows of one user with the same timestamp, so that a search for "the
first event at or after this one" treats equal timestamps as in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.common.errors import ConfigError, DataError

#: Columns every journey needs.
REQUIRED_COLUMNS = ("user_id", "ts", "event")


@dataclass(frozen=True)
class Timeline:
    """Rows of an events frame in (user, time) order.

    Attributes
    ----------
    rows : ndarray of int64
        Position of each row in the original frame.
    user : ndarray of int
        User code per row (non-decreasing); ``users[code]`` is the user id.
    users : pandas.Index
        User ids by code.
    ts : ndarray of int64
        Event time in microseconds since the epoch, UTC.
    key : ndarray of int64
        Non-decreasing; equal for rows of one user at one timestamp.
    """

    rows: np.ndarray
    user: np.ndarray
    users: pd.Index
    ts: np.ndarray
    key: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def check_events(events: pd.DataFrame) -> None:
    """Raise DataError unless the frame has the canonical journey columns."""
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise DataError(
            f"The event log has no {', '.join(repr(c) for c in missing)} column; journeys "
            f"need {', '.join(REQUIRED_COLUMNS)}. Load an event log on the Data page "
            "(a per-user table has no journeys).")


_PER_MICROSECOND = {"s": 1_000_000, "ms": 1_000, "us": 1}


def micros(ts: pd.Series) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch (naive values are taken as UTC).

    Raises
    ------
    DataError
        When the column is not a datetime column or has missing values.
    """
    if not pd.api.types.is_datetime64_any_dtype(ts):
        raise DataError(f"Column 'ts' holds {ts.dtype} values, not timestamps. Load the "
                        "events through the Data page, which parses the times.")
    values = ts.array
    if values.isna().any():
        raise DataError(f"Column 'ts' has {int(values.isna().sum()):,} missing times. Load "
                        "the events through the Data page, which drops such rows.")
    raw = values.asi8  # the epoch offset in the array's own unit, whatever its time zone
    unit = values.unit
    return raw // 1000 if unit == "ns" else raw * _PER_MICROSECOND[unit]


def codes_of(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 for missing; int32 or int64) and the distinct values of a
    text column.

    Arrow-backed text is dictionary-encoded by pyarrow and categoricals keep their
    codes (both several times faster than hashing Python strings); other columns go
    through :func:`pandas.factorize`.
    """
    values = column.array
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.codes), pd.Index(
            column.cat.categories)
    if hasattr(values, "__arrow_array__") and pd.api.types.is_string_dtype(column.dtype):
        arrow = values.__arrow_array__()
        if isinstance(arrow, pa.ChunkedArray):
            arrow = arrow.combine_chunks()
        encoded = pc.dictionary_encode(arrow)
        indices = encoded.indices
        if indices.null_count:
            indices = pc.fill_null(indices, -1)
        return indices.to_numpy(), pd.Index(encoded.dictionary.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(column, sort=False)
    return codes, pd.Index(uniques, dtype=object)


def _sorted_user_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """Codes 0, 1, ... by run when the column is already sorted (as loaded frames are):
    one comparison of neighbours instead of a hash of every id. None when it is not
    sorted or not arrow-backed text."""
    values = column.array
    if len(column) < 2 or not (hasattr(values, "__arrow_array__")
                               and pd.api.types.is_string_dtype(column.dtype)):
        return None
    arrow = values.__arrow_array__()
    if arrow.null_count:
        return None
    if not pc.all(pc.less_equal(arrow[:-1], arrow[1:])).as_py():
        return None
    change = pc.not_equal(arrow[:-1], arrow[1:]).to_numpy(zero_copy_only=False)
    starts = np.r_[True, change]
    codes = np.cumsum(starts, dtype=np.int64) - 1
    return codes, pd.Index(column.iloc[np.flatnonzero(starts)].to_numpy(),
                                           dtype=object)


def timeline(events: pd.DataFrame, mask: np.ndarray | None = None,
             user_codes: tuple[np.ndarray, pd.Index] | None = None) -> Timeline:
    """The rows of ``events`` (those where ``mask`` is true) in (user, time) order.

    Parameters
    ----------
    events : DataFrame
        Canonical events.
    mask : ndarray of bool, optional
        Rows to keep; all rows when omitted.
    user_codes : (codes, users), optional
        :func:`codes_of` the ``user_id`` column, when the caller has it already.

    Returns
    -------
    Timeline
    """
    check_events(events)
    rows = np.arange(len(events), dtype=np.int64) if mask is None else np.flatnonzero(mask)
    if user_codes is None:
        user_codes = _sorted_user_codes(events["user_id"]) or codes_of(events["user_id"])
    all_codes, users = user_codes
    codes = all_codes if mask is None else all_codes[rows]
    if (codes < 0).any():
        raise DataError("Some events have no user id. Load the events through the Data "
                        "page, which drops such rows.")
    ts = micros(events["ts"])
    if mask is not None:
        ts = ts[rows]
    if len(codes) > 1:
        same_user = codes[1:] == codes[:-1]
        in_order = bool(np.all(codes[1:] >= codes[:-1])) and \
            bool(np.all(~same_user | (ts[1:] >= ts[:-1])))
        if not in_order:
            order = np.lexsort((ts, codes))  # stable: ties keep the frame's order
            rows, codes, ts = rows[order], codes[order], ts[order]
    new_moment = np.ones(len(codes), dtype=bool)
    new_moment[1:] = (codes[1:] != codes[:-1]) | (ts[1:] != ts[:-1])
    key = np.maximum.accumulate(np.where(new_moment, np.arange(len(codes)), 0))
    return Timeline(rows=rows, user=codes, users=users, ts=ts,
                    key=key.astype(np.int64, copy=False))


def first_at_or_after(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index into sorted ``keys`` of the first key >= each query (``len(keys)`` if none)."""
    return np.searchsorted(keys, query, side="left")


def require_columns(events: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise ConfigError naming the columns there are when one of ``columns`` is missing."""
    missing = [c for c in columns if c not in events.columns]
    if missing:
        there = ", ".join(str(c) for c in events.columns)
        raise ConfigError(f"{what} uses the column(s) {', '.join(map(repr, missing))}, which "
                          f"the event log does not have. Columns there are: {there}.")
