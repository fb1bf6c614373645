"""The cleaning decisions as portable SQL: exact duplicates, double fires, the debounce
window's data test and gap sessions, with window functions any SQL engine has.

The loader decides in numpy over sorted keys (:mod:`core.data.repeats`,
:func:`core.data.sessions.session_numbers`), several times faster on one machine.
This module states the same rules in SQL so that an engine without that path (Spark,
through :func:`core.common.dialects.in_dialect`) applies them; the tests prove both
give the same rows, sessions and counts on logs shaped like real exports.

The SQL reads the typed view of :func:`core.data.cleaning.clean_rows` (canonical names,
``ts`` a naive UTC timestamp, ``__pl_drop_reason`` for rows that are invalid on their
own) and orders ties by the row id, as the loader keeps the file's first row.
"""

from __future__ import annotations

from core.common.engine import quote_ident
from core.data.repeats import DEFAULT_DEBOUNCE_SECONDS, MICROSECONDS_PER_DAY
from core.data.timestamps import ROW_ID


def _cols(names: list[str]) -> str:
    return ", ".join(quote_ident(c) for c in names)


#: Epoch microseconds of a timestamp: the one function the rules need that sqlglot does
#: not translate.
EPOCH_MICROSECONDS = {"duckdb": "epoch_us", "spark": "unix_micros"}


def valid_rows_sql(typed: str, dialect: str = "duckdb") -> str:
    """The rows without a drop reason of their own, with ``__pl_t`` in epoch
    microseconds (``dialect``: a key of :data:`EPOCH_MICROSECONDS`)."""
    return (f"SELECT *, {EPOCH_MICROSECONDS[dialect]}(ts) AS __pl_t FROM {typed} "
            "WHERE __pl_drop_reason IS NULL")


def shared_instant_sql(valid: str, columns: list[str], identity: list[str],
                       drop_duplicates: bool) -> str:
    """One row: the rows that are not exact duplicates, those sharing their user and
    instant with a different identity, and whether every time is a whole day (the data
    tests of :func:`core.data.repeats.debounce_window`)."""
    unique = _unique_rows(valid, columns, drop_duplicates)
    ident = _cols(identity)
    return f"""
        WITH u AS ({unique}),
        per_identity AS (
            SELECT user_id, __pl_t, {ident}, count(*) AS n FROM u
            GROUP BY user_id, __pl_t, {ident}),
        per_instant AS (
            SELECT count(*) AS identities, sum(n) AS n FROM per_identity
            GROUP BY user_id, __pl_t)
        SELECT (SELECT count(*) FROM u) AS total_rows,
               coalesce((SELECT sum(n) FROM per_instant WHERE identities > 1), 0)
                   AS shared_rows,
               (SELECT count(*) FROM u WHERE __pl_t % {MICROSECONDS_PER_DAY} <> 0) = 0
                   AS whole_days"""


def _unique_rows(valid: str, columns: list[str], drop_duplicates: bool) -> str:
    if not drop_duplicates:
        return f"SELECT * FROM ({valid})"
    return (f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY {_cols(columns)} "
            f"ORDER BY {ROW_ID}) AS __pl_copy FROM ({valid})) WHERE __pl_copy = 1")


def decisions_sql(valid: str, columns: list[str], identity: list[str],
                  drop_duplicates: bool, window_seconds: float, gap_minutes: float) -> str:
    """Every valid row with its decision: ``__pl_duplicate``, ``__pl_repeat`` and, for
    the kept rows, ``__pl_gap_session`` (1, 2, ... per user).

    - An exact duplicate equals an earlier row of the file in every kept column.
    - A repeat comes less than ``window_seconds`` after the user's previous row with the
      same identity (the previous one in time and file order, kept or not), and is not
      itself a duplicate.
    - Among the kept rows a session starts at the user's first event and after every
      gap longer than ``gap_minutes``.
    """
    window_us = round(window_seconds * 1_000_000)
    gap_us = gap_minutes * 60 * 1_000_000
    order = f"ORDER BY __pl_t, {ROW_ID}"
    copy = (f"row_number() OVER (PARTITION BY {_cols(columns)} ORDER BY {ROW_ID}) > 1"
            if drop_duplicates else "FALSE")
    previous_same = f"lag(__pl_t) OVER (PARTITION BY user_id, {_cols(identity)} {order})"
    repeat = (f"(NOT __pl_duplicate AND __pl_t_same IS NOT NULL AND "
              f"__pl_t - __pl_t_same < {window_us})" if window_us > 0 else "FALSE")
    return f"""
        WITH flagged AS (
            SELECT *, {copy} AS __pl_duplicate, {previous_same} AS __pl_t_same
            FROM ({valid})),
        decided AS (SELECT *, {repeat} AS __pl_repeat FROM flagged),
        kept AS (
            SELECT *, CASE WHEN lag(__pl_t) OVER (PARTITION BY user_id {order}) IS NULL
                             OR __pl_t - lag(__pl_t) OVER (PARTITION BY user_id {order})
                                > {gap_us}
                           THEN 1 ELSE 0 END AS __pl_starts
            FROM decided WHERE NOT __pl_duplicate AND NOT __pl_repeat)
        SELECT d.*, k.__pl_gap_session FROM decided d LEFT JOIN (
            SELECT {ROW_ID}, CAST(sum(__pl_starts) OVER (PARTITION BY user_id {order}
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS INTEGER)
                AS __pl_gap_session FROM kept) k USING ({ROW_ID})"""


def auto_window(total_rows: int, shared_rows: int, whole_days: bool, configured: float | None,
                has_order_id: bool) -> float:
    """The debounce window :func:`core.data.repeats.debounce_window` chooses, from the
    figures of :func:`shared_instant_sql` (the reason is the loader's)."""
    from core.data.repeats import SHARED_INSTANT_SHARE

    if configured is not None:
        return float(configured)
    if has_order_id or (total_rows and whole_days):
        return 0.0
    share = shared_rows / total_rows if total_rows >= 2 else 0.0
    return 0.0 if share > SHARED_INSTANT_SHARE else DEFAULT_DEBOUNCE_SECONDS
