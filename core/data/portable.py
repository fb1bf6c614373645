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

from typing import TYPE_CHECKING

import pandas as pd

from core.common.engine import quote_ident
from core.common.errors import ConfigError, DataError
from core.common.progress import Progress, silent
from core.data.repeats import MICROSECONDS_PER_DAY, choose_window
from core.data.timestamps import ROW_ID

if TYPE_CHECKING:
    from core.data.cleaning import LoadConfig, LoadReport
    from core.data.mapping import ColumnMapping


def _cols(names: list[str]) -> str:
    return ", ".join(quote_ident(c) for c in names)


def valid_rows_sql(typed: str) -> str:
    """The rows without a drop reason of their own, with ``__pl_t`` in epoch
    microseconds (``epoch_us``: :func:`core.common.dialects.in_dialect` writes it as
    Spark's ``unix_micros``)."""
    return (f"SELECT *, epoch_us(ts) AS __pl_t FROM {typed} "
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
                has_order_id: bool) -> tuple[float, str]:
    """The debounce window and its reason, from the figures of
    :func:`shared_instant_sql`, by the loader's own rule
    (:func:`core.data.repeats.choose_window`)."""
    share = shared_rows / total_rows if total_rows >= 2 else 0.0
    return choose_window(configured, has_order_id, bool(total_rows) and bool(whole_days),
                         share)


def clean_in_sql(s, raw: str, raw_columns: list[str], mapping: ColumnMapping,
                 config: LoadConfig, source_name: str = "data",
                 progress: Progress = silent) -> tuple[str, LoadReport]:
    """The whole load in SQL on any scratch space with :class:`core.common.engine.Scratch`'s
    methods (a Spark one: :class:`core.spark.engine.SparkScratch`): typing, the drop
    reasons, these decisions, the events table with sessions, suspected bots and the
    load report. Returns the events table's name and the report.

    The typing, the timestamps, the events and the report are the loader's own
    functions; only the sequential decisions are this module's SQL. Not here (a clear
    error instead): pseudonyms, a user sample and consent, which the loader decides with
    DuckDB's hash or in Python.

    Raises
    ------
    ConfigError
        For a setting this path does not do, or an invalid mapping.
    DataError
        When no row survives.
    """
    from core.data import cleaning as c

    _check_portable(config, mapping)
    c.check_gap(config.session_gap_minutes)
    mapping.validate(raw_columns)
    c._check_pii(config, mapping, raw_columns)
    progress(0.05, "Typing columns")
    raw, ts_info = c.prepare_timestamps(s, raw, mapping.get("ts"), config.timestamp_unit)
    notices = list(ts_info.notices)
    typed, extras = c._typed_view(s, raw, mapping, config, ts_info)
    # Kept once: every step below reads the typed rows, and typing them again for each
    # (reading the files, casting, trimming) was most of the work on Spark.
    typed = s.create("typed_rows", f"SELECT * FROM {typed}")
    columns = ["user_id", "ts", "event", *[r for r in (*c.NUMERIC_ROLES, *c.TEXT_ROLES,
               "session_id") if mapping.get(r)], *extras]
    progress(0.2, "Counting what is dropped")
    dropped: dict[str, int] = dict.fromkeys(c.DROP_REASONS, 0)
    rows_read = 0
    for reason, n in s.rows(f"SELECT __pl_drop_reason, count(*) FROM {typed} GROUP BY 1"):
        rows_read += int(n)
        if reason is not None:
            dropped[reason] = int(n)
    progress(0.35, "Dropping duplicates and repeated events")
    identity = ["event", *[r for r in c.IDENTITY_ROLES if mapping.get(r)]]
    valid = s.view("valid", valid_rows_sql(typed))
    figures = s.rows(shared_instant_sql(f"SELECT * FROM {valid}", columns, identity,
                                        config.drop_exact_duplicates))[0]
    window = auto_window(*figures, config.debounce_seconds, bool(mapping.get("order_id")))
    decided = s.create("decided", decisions_sql(
        f"SELECT * FROM {valid}", columns, identity, config.drop_exact_duplicates,
        window[0], config.session_gap_minutes))
    duplicates, repeated = s.rows(
        f"SELECT count(*) FILTER (WHERE __pl_duplicate), count(*) FILTER (WHERE "
        f"__pl_repeat) FROM {decided}")[0]
    dropped["exact_duplicate"], dropped["debounced"] = int(duplicates), int(repeated)
    notices += c._drop_notices(dropped, rows_read)
    if rows_read - sum(dropped.values()) == 0:
        raise DataError(c._nothing_left_message(rows_read, dropped, notices))
    progress(0.6, "Joining sessions to events")
    numbers = s.view("numbers", f"SELECT {ROW_ID}, __pl_gap_session FROM {decided} "
                                "WHERE __pl_gap_session IS NOT NULL")
    events = s.create("events", c._events_sql(typed, numbers, columns,
                                              bool(mapping.get("session_id"))))
    counts = s.df(f"SELECT user_id, count(*) AS n FROM {events} GROUP BY user_id"
                  ).set_index("user_id")["n"]
    bots = c.flag_bots(counts, config, dropped, notices)
    if config.exclude_bots and not bots.empty:
        name = s.register(pd.DataFrame({"user_id": bots.index.astype(str)}), "bots")
        events = s.create("events_people", f"SELECT * FROM {events} WHERE user_id NOT IN "
                                          f"(SELECT user_id FROM {name})")
    progress(0.9, "Summarising")
    rows = c.CleanRows(typed, columns, None, dropped, notices, rows_read, 0, window, ts_info)
    report = c.build_report(c.summary_of(s, events), rows, source_name, config, mapping, bots)
    progress(1.0, "Done")
    return events, report


#: What only the loader does, and why: the message when a portable load is asked for it.
NOT_PORTABLE = {
    "pseudonymise": "pseudonymised user ids (an HMAC computed in Python)",
    "user_sample_share": "a user sample (chosen by DuckDB's own hash)",
    "consent": "a consent column",
}


def _check_portable(config: LoadConfig, mapping: ColumnMapping) -> None:
    asked = [what for key, what in NOT_PORTABLE.items()
             if (key == "pseudonymise" and config.pseudonymise)
             or (key == "user_sample_share" and config.user_sample_share < 1)
             or (key == "consent" and mapping.get("consent"))]
    if asked:
        raise ConfigError(f"This engine does not do {' or '.join(asked)} yet. Load with "
                          "the default engine (DuckDB), or prepare the table first.")
