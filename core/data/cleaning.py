"""From a raw table and a column mapping to canonical, sessionized events, counting
every row that is dropped and every value that is changed.

The work is SQL through :mod:`core.common.engine`, so the same code serves a 50 k-row upload
and a 10 M-row Parquet file. Two exceptions, both measured: text timestamps are parsed
in pandas first, because DuckDB reads ISO 8601 only and exports use many other layouts;
and the sequential rules (duplicates, repeats, sessions) run as numpy passes over keys
that DuckDB sorted once, about four times faster here than SQL window functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.common.engine import Scratch, quote_ident, quote_literal
from core.common.errors import ConfigError, DataError
from core.common.notices import Notice, notices_from_json
from core.common.progress import Progress, silent
from core.data import privacy, repeats
from core.data.bots import LISTED_SUSPECTS, bot_message, suspected_bots
from core.data.mapping import ROLE_LABELS, ColumnMapping
from core.data.repeats import DEFAULT_DEBOUNCE_SECONDS
from core.data.sessions import DEFAULT_SESSION_GAP_MINUTES, check_gap, session_numbers
from core.data.timestamps import (
    ROW_ID,
    TimestampInfo,
    TimestampUnit,
    check_zone,
    prepare_timestamps,
    ts_expression,
    zone_for_offset,
)

#: User sampling keeps ids whose hash modulo this falls below share x this.
SAMPLE_BUCKETS = 1_000_000
#: Salted so the sample does not line up with the hashes used for partitioning.
SAMPLE_SALT = "persona-lens-sample"
#: A rule that drops more than this share of the rows is shown as a warning.
LARGE_DROP_SHARE = 0.01

DROP_REASONS: dict[str, str] = {
    "missing_user_id": "missing user id",
    "missing_event": "missing event name",
    "missing_timestamp": "missing timestamp",
    "unparseable_timestamp": "timestamp not understood",
    "exact_duplicate": "exact duplicate of an earlier row",
    "debounced": "same event as the user's previous one, within the debounce window",
    "no_consent": "user has not consented",
    "not_sampled": "user left out of the user sample",
    "suspected_bot": "user looks like a bot (excluded as asked)",
}
NUMERIC_ROLES = ("revenue", "quantity", "scroll_depth", "duration_s")
#: Prefix of the helper columns the cleaning SQL adds, so that no file column can
#: collide with them (file columns with this prefix are not kept).
INTERNAL_PREFIX = "__pl_"
TEXT_ROLES = ("page", "category", "product_id", "order_id")
#: What makes two rows of one user the same event, apart from the time: a repeat within
#: the debounce window must agree on all of them (a basket's line items differ in the
#: product, two purchases in the value).
IDENTITY_ROLES = ("product_id", "order_id", "revenue", "quantity", "page", "category")
#: What each drop reason's setting is, for the message when a reason drops many rows.
DROP_SETTINGS: dict[str, str] = {
    "missing_user_id": "Map another user id column, or fill the ids in the file.",
    "missing_event": "Map another event column, or unmap it so every row is one event.",
    "missing_timestamp": "Map another timestamp column, or fill the times in the file.",
    "unparseable_timestamp": "Choose the timestamp format on the Data page "
                             "(--timestamp-format on the command line).",
    "exact_duplicate": "Untick 'Drop exact duplicates' on the Data page to keep them.",
    "debounced": "Set the debounce window to 0 on the Data page (--debounce 0 on the "
                 "command line) to keep them.",
    "no_consent": "Check the consent column.",
    "not_sampled": "Raise the share of users to keep.",
    "suspected_bot": "Keep them by not excluding suspected bots.",
}


@dataclass(frozen=True)
class LoadConfig:
    """How raw rows become canonical events."""

    timestamp_unit: TimestampUnit = "auto"
    #: Repeats of the same event within this many seconds are double fires and dropped;
    #: None decides from the data (see :func:`debounce_window`).
    debounce_seconds: float | None = None
    drop_exact_duplicates: bool = True
    session_gap_minutes: float = DEFAULT_SESSION_GAP_MINUTES
    pseudonymise: bool = False
    pii_columns: tuple[str, ...] = ()
    user_sample_share: float = 1.0
    #: The event of every row when no event column is mapped; None names it from the
    #: mapping ("purchase" when revenue, an order id or a quantity is mapped).
    event_name: str | None = None
    #: The data's time zone (IANA name) for weekend, night and hour-of-day features;
    #: None guesses it from the timestamps' offsets, else UTC.
    time_zone: str | None = None
    #: Drop the users who look like bots (see :mod:`core.data.bots`), counted.
    exclude_bots: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"pii_columns": list(self.pii_columns)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadConfig:
        data = dict(data)
        data["pii_columns"] = tuple(data.get("pii_columns", ()))
        return cls(**data)


@dataclass
class LoadReport:
    """What was read, what was kept, and why anything was dropped or changed."""

    source: str
    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    users: int
    sessions: int
    first_ts: str | None
    last_ts: str | None
    session_source: str
    users_without_consent: int = 0
    pseudonymised: bool = False
    pii_columns_dropped: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    missing_by_column: dict[str, int] = field(default_factory=dict)
    events_per_day: list[tuple[str, int]] = field(default_factory=list)
    top_events: list[tuple[str, int]] = field(default_factory=list)
    timestamp_format: str = ""
    #: The debounce window used (seconds; 0 = off) and why.
    debounce_seconds: float = DEFAULT_DEBOUNCE_SECONDS
    debounce_reason: str = ""
    #: The event every row got when no event column was mapped.
    constant_event: str | None = None
    #: The data's time zone for local-time features, and why.
    time_zone: str = "UTC"
    time_zone_reason: str = "the default: no offsets in the timestamps"
    #: Users who look like bots (the most active first, at most 50 listed), kept unless
    #: excluded, and how many there are with how many events.
    suspected_bots: list[str] = field(default_factory=list)
    suspected_bot_count: int = 0
    suspected_bot_events: int = 0

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def large_drops(self) -> dict[str, int]:
        """Drop reasons that removed more than :data:`LARGE_DROP_SHARE` of the rows."""
        limit = LARGE_DROP_SHARE * max(self.rows_read, 1)
        return {reason: n for reason, n in self.dropped.items() if n > limit}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadReport:
        data = dict(data)
        data["notices"] = notices_from_json(data.get("notices"))
        data["events_per_day"] = [tuple(x) for x in data.get("events_per_day", [])]
        data["top_events"] = [tuple(x) for x in data.get("top_events", [])]
        return cls(**data)


@dataclass
class LoadResult:
    """Canonical events with their load report, and the pseudonym key if one was made."""

    events: pd.DataFrame
    report: LoadReport
    pseudonym_key: str | None = None


Source = pd.DataFrame | str | Path


def clean_events(
    source: Source,
    mapping: ColumnMapping,
    config: LoadConfig = LoadConfig(),
    source_name: str = "data",
    pseudonym_key: str | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Turn raw rows into canonical, sessionized events.

    Parameters
    ----------
    source : DataFrame or path
        The raw table (as read by :mod:`core.data.readers`) or a Parquet/CSV path read by DuckDB.
    mapping : ColumnMapping
        Input column for each role; user_id, ts and event are required.
    config : LoadConfig
        Timestamp unit, debounce window, session gap and privacy options.
    source_name : str
        Shown in the report.
    pseudonym_key : str, optional
        Key for pseudonymisation; a new one is generated when needed and none is given.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    LoadResult
        Events with columns user_id, ts (UTC), event, session_id and the mapped and
        extra columns, sorted by user and time; and the report.

    Raises
    ------
    ConfigError
        When the mapping or the settings are invalid.
    DataError
        When no row survives.
    """
    with Scratch() as s:
        table, report, key = clean_into(s, source, mapping, config, source_name,
                                        pseudonym_key, progress)
        events = s.arrow_df(f"SELECT * FROM {table} ORDER BY user_id, ts, event")
    events["ts"] = events["ts"].dt.tz_localize("UTC")
    return LoadResult(events, report, key)


def clean_into(
    s: Scratch,
    source: Source,
    mapping: ColumnMapping,
    config: LoadConfig,
    source_name: str = "data",
    pseudonym_key: str | None = None,
    progress: Progress | None = None,
) -> tuple[str, LoadReport, str | None]:
    """Like :func:`clean_events` but leave the events in a scratch table.

    Inside the table ``ts`` is a naive TIMESTAMP holding UTC (see
    :func:`core.data.timestamps.ts_expression`).
    Returns the table name, the report and the pseudonym key (or None).
    """
    step = progress or silent
    rows = clean_rows(s, source, mapping, config, step)
    step(0.7, "Joining sessions to events")
    has_file_sessions = bool(mapping.get("session_id"))
    events = s.create("events", _events_sql(rows.typed, rows.decisions.register(s),
                                            rows.columns, has_file_sessions))
    key = None
    if config.pseudonymise:
        step(0.8, "Pseudonymising user ids")
        key = pseudonym_key or privacy.new_key()
        events = _pseudonymise(s, events, key)
    counts = s.df(f"SELECT user_id, count(*) AS n FROM {events} GROUP BY user_id"
                  ).set_index("user_id")["n"]
    bots = flag_bots(counts, config, rows.dropped, rows.notices)
    if config.exclude_bots and not bots.empty:
        name = s.register(pd.DataFrame({"user_id": bots.index.astype(str)}), "bots")
        events = s.create("events_people", f"SELECT * FROM {events} WHERE user_id NOT IN "
                                          f"(SELECT user_id FROM {name})")
    step(0.9, "Summarising")
    report = build_report(summary_of(s, events), rows, source_name, config, mapping, bots)
    step(1.0, "Done")
    return events, report, key


@dataclass
class CleanRows:
    """Typed rows and the decisions about them: what a load has found before the kept
    rows are put together (as a table in :func:`clean_into`, as columns elsewhere)."""

    #: The typed view: canonical names and types, a drop reason per row.
    typed: str
    #: The columns the events keep, in order.
    columns: list[str]
    decisions: Decisions
    dropped: dict[str, int]
    notices: list[Notice]
    rows_read: int
    users_without_consent: int
    #: The debounce window in seconds and why.
    window: tuple[float, str]
    ts_info: TimestampInfo


def clean_rows(s: Scratch, source: Source, mapping: ColumnMapping, config: LoadConfig,
               progress: Progress = silent) -> CleanRows:
    """Type the rows, count what is invalid and decide which rows are kept.

    Raises
    ------
    ConfigError
        When the mapping or the settings are invalid.
    DataError
        When no row survives.
    """
    check_gap(config.session_gap_minutes)
    if config.debounce_seconds is not None and not config.debounce_seconds >= 0:
        raise ConfigError("The debounce window cannot be negative or missing; give 0 or more "
                          "seconds (0 keeps every repeat).")
    if not 0 < config.user_sample_share <= 1:
        raise ConfigError("The share of users to keep must be above 0 % and at most 100 %.")
    progress(0.05, "Reading columns")
    raw, raw_columns = _register_source(s, source)
    mapping.validate(raw_columns)
    _check_pii(config, mapping, raw_columns)
    notices: list[Notice] = []
    raw, ts_info = prepare_timestamps(s, raw, mapping.get("ts"), config.timestamp_unit)
    notices += ts_info.notices
    if mapping.get("duration_s") and in_milliseconds(mapping.get("duration_s")):
        notices.append(Notice("duration_in_ms", (
            f"Time on page column '{mapping.get('duration_s')}' is in milliseconds, as its "
            "name says; it was divided by 1,000 to give seconds."), level="info",
            subject="duration_s"))
    progress(0.15, "Typing columns")
    typed, extras = _typed_view(s, raw, mapping, config, ts_info)
    dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
    columns = ["user_id", "ts", "event", *[r for r in (*NUMERIC_ROLES, *TEXT_ROLES,
               "session_id") if mapping.get(r)], *extras]
    consented = _consented_users(s, typed) if mapping.get("consent") else None
    rows_read, keys, invalid, span = _scan_rows(s, typed, config, mapping, consented,
                                                columns, dropped)
    notices += _value_notices(s, raw, mapping, invalid, ts_info)
    notices += _span_notices(span, ts_info)
    progress(0.35, "Dropping duplicates and repeated events")
    decisions, users_without_consent, window = _keep_and_number(
        keys, config, mapping, consented is not None, dropped)
    notices += _drop_notices(dropped, rows_read)
    if rows_read - sum(dropped.values()) == 0:
        raise DataError(_nothing_left_message(rows_read, dropped, notices))
    return CleanRows(typed, columns, decisions, dropped, notices, rows_read,
                     users_without_consent, window, ts_info)


def _check_pii(config: LoadConfig, mapping: ColumnMapping, columns: list[str]) -> None:
    unknown = [c for c in config.pii_columns if c not in columns]
    if unknown:
        raise ConfigError(f"PII column(s) {', '.join(unknown)} are not in the file.")
    mapped = [c for c in config.pii_columns if c in mapping.mapped().values()]
    if mapped:
        raise ConfigError(
            f"Column '{mapped[0]}' is marked as PII but is mapped to a role. Unmap it, or "
            "keep it by not marking it as PII (user ids can be pseudonymised instead).")


def _register_source(s: Scratch, source: Source) -> tuple[str, list[str]]:
    if isinstance(source, pd.DataFrame):
        numbered = source.assign(**{ROW_ID: np.arange(len(source), dtype=np.int64)})
        name = s.register(numbered, "raw")
        return name, [str(c) for c in source.columns]
    path = Path(source)
    if not path.exists():
        raise DataError(f"File '{path}' does not exist. Check the path.")
    if path.suffix.lower() not in (".parquet", ".pq"):
        raise DataError(f"'{path.name}': only Parquet files are read directly; read other "
                        "formats with core.data.readers first.")
    name = s.parquet_view(str(path), "raw", row_number_column=ROW_ID)
    return name, [c for c in s.columns(name) if not c.startswith(INTERNAL_PREFIX)]


def _is_text(col_type: str) -> bool:
    return col_type.upper() in ("VARCHAR", "TEXT", "STRING") or col_type.upper().startswith(
        "VARCHAR")


def _blank(col: str, col_type: str) -> str:
    """SQL true where a column has no value; only text can be blank."""
    q = quote_ident(col)
    # Formatting every timestamp or number as text just to test for '' was the costliest
    # part of counting on 10 M rows.
    return f"({q} IS NULL OR trim({q}) = '')" if _is_text(col_type) else f"({q} IS NULL)"


def _text(col: str, col_type: str) -> str:
    """SQL for a column as trimmed text, integral floats without '.0', blanks as NULL."""
    q = quote_ident(col)
    if col_type.upper() in ("DOUBLE", "FLOAT", "REAL"):
        return (f"NULLIF(CASE WHEN {q} = floor({q}) AND abs({q}) < 1e18 "
                f"THEN CAST(CAST({q} AS BIGINT) AS VARCHAR) ELSE CAST({q} AS VARCHAR) END, '')")
    return f"NULLIF(trim(CAST({q} AS VARCHAR)), '')"


_DROP_REASON_SQL = """CASE
    WHEN user_id IS NULL THEN 'missing_user_id'
    WHEN event IS NULL THEN 'missing_event'
    WHEN ts IS NULL AND __pl_ts_missing THEN 'missing_timestamp'
    WHEN ts IS NULL THEN 'unparseable_timestamp' END"""
_ROW_REASONS = ("missing_user_id", "missing_event", "missing_timestamp",
                "unparseable_timestamp")


def _typed_view(s: Scratch, raw: str, mapping: ColumnMapping, config: LoadConfig,
                ts_info: TimestampInfo) -> tuple[str, list[str]]:
    """A view of the raw rows with canonical names and types and a drop reason."""
    types = s.columns(raw)
    m = mapping.mapped()
    parts = [
        ROW_ID,
        f"{_text(m['user_id'], types[m['user_id']])} AS user_id",
        f"{ts_expression(ts_info, types[ts_info.column])} AS ts",
        f"{_blank(m['ts'], types[m['ts']])} AS __pl_ts_missing",
        (f"{_text(m['event'], types[m['event']])} AS event" if "event" in m
         else f"{quote_literal(event_name_for(mapping, config))} AS event"),
    ]
    for role in NUMERIC_ROLES:
        if role in m:
            q = quote_ident(m[role])
            # Exports give time on page in milliseconds under names such as GA4's
            # engagement_time_msec; the feature is in seconds.
            per = " / 1000.0" if role == "duration_s" and in_milliseconds(m[role]) else ""
            parts.append(f"{_finite(q)}{per} AS {role}")
            present = (f"{_text(m[role], types[m[role]])} IS NOT NULL"
                       if _is_text(types[m[role]]) else f"{q} IS NOT NULL")
            parts.append(f"({_finite(q)} IS NULL AND {present}) AS __pl_{role}_invalid")
    for role in (*TEXT_ROLES, "session_id"):
        if role in m:
            parts.append(f"{_text(m[role], types[m[role]])} AS {role}")
    if "consent" in m:
        value = f"lower(trim(CAST({quote_ident(m['consent'])} AS VARCHAR)))"
        parts.append(
            f"CASE WHEN {value} IN ('true', 't', '1', 'yes', 'y', '1.0') THEN TRUE "
            f"WHEN {value} IN ('false', 'f', '0', 'no', 'n', '0.0') THEN FALSE END AS __pl_consent")
    else:
        parts.append("CAST(NULL AS BOOLEAN) AS __pl_consent")
    reserved = {"user_id", "ts", "event", "session_id", *NUMERIC_ROLES, *TEXT_ROLES}
    used = set(m.values()) | set(config.pii_columns)
    extras = []
    for col in types:
        if col in used or col.startswith(INTERNAL_PREFIX):
            continue
        alias = col if col not in reserved else f"{col}_original"
        parts.append(f"{quote_ident(col)} AS {quote_ident(alias)}")
        extras.append(alias)
    inner = f"SELECT {', '.join(parts)} FROM {raw}"
    typed = s.view("typed", f"SELECT *, {_DROP_REASON_SQL} AS __pl_drop_reason FROM ({inner})")
    return typed, extras


def _finite(q: str) -> str:
    """The column as a finite DOUBLE, NULL otherwise: 'NaN' and 'inf' cells (and
    non-numbers) are missing values, never a user's revenue."""
    return f"(CASE WHEN isfinite(TRY_CAST({q} AS DOUBLE)) THEN TRY_CAST({q} AS DOUBLE) END)"


def _examples(s: Scratch, sql: str) -> str:
    values = [r[0] for r in s.rows(sql)]
    return ", ".join(repr(v) for v in values)


def _value_notices(s: Scratch, raw: str, mapping: ColumnMapping,
                   invalid: dict[str, int], ts_info: TimestampInfo) -> list[Notice]:
    """Notices for values that were kept but changed or that look wrong."""
    notices = []
    for role in NUMERIC_ROLES:
        if invalid.get(role):
            col = mapping.get(role)
            q = quote_ident(col)
            examples = _examples(
                s, f"SELECT DISTINCT CAST({q} AS VARCHAR) FROM {raw} WHERE "
                   f"{_finite(q)} IS NULL AND trim(CAST({q} AS VARCHAR)) <> '' "
                   "LIMIT 3")
            notices.append(Notice(
                f"{role}_not_numeric",
                f"{invalid[role]:,} value(s) of {ROLE_LABELS[role].lower()} column '{col}' "
                f"are not numbers (or not finite; for example {examples}); those rows are kept "
                "with the value missing. Fix the column if they should be numbers (use '.' "
                "as the decimal mark, no currency signs)."))
    if invalid.get("unparseable_timestamp"):
        col = mapping.get("ts")
        q = "t." + quote_ident(col)
        parsed = ts_expression(ts_info, s.columns(raw)[ts_info.column], "t.")
        examples = _examples(
            s, f"SELECT DISTINCT CAST({q} AS VARCHAR) FROM {raw} t WHERE {q} IS NOT NULL AND "
               f"trim(CAST({q} AS VARCHAR)) <> '' AND {parsed} IS NULL LIMIT 3")
        notices.append(Notice(
            "unparseable_timestamp",
            f"{invalid['unparseable_timestamp']:,} timestamp(s) in column '{col}' were not "
            f"understood (for example {examples}) and those rows were dropped. Use ISO 8601 "
            "('2024-03-01T14:30:00Z') or epoch seconds/milliseconds, or choose another "
            "timestamp column or format."))
    if invalid.get("negative_revenue"):
        notices.append(Notice(
            "negative_revenue",
            f"{invalid['negative_revenue']:,} row(s) have negative revenue. They are kept and "
            "subtract from revenue (refunds, for example). Remove them before loading if "
            "they are errors."))
    if invalid.get("scroll_out_of_range"):
        notices.append(Notice(
            "scroll_depth_range",
            f"{invalid['scroll_out_of_range']:,} scroll depth value(s) are outside 0-100 %. "
            "They are kept as they are; check the column's unit."))
    return notices


def flag_bots(counts: pd.Series, config: LoadConfig, dropped: dict[str, int],
              notices: list[Notice]) -> pd.Series:
    """The users who look like bots, from the events per user; counted as dropped and
    said when they are to be excluded, warned about otherwise."""
    bots = suspected_bots(counts)
    if bots.empty:
        return bots
    if not config.exclude_bots:
        notices.append(Notice("suspected_bots", bot_message(
            len(bots), int(bots.sum()), int(counts.sum()), float(counts.median())),
            level="warning"))
        return bots
    dropped["suspected_bot"] = int(bots.sum())
    notices.append(Notice("bots_excluded", (
        f"{len(bots):,} user(s) that look like bots were excluded, with their "
        f"{int(bots.sum()):,} events."), level="info"))
    return bots


def data_time_zone(config: LoadConfig, ts_info: TimestampInfo) -> tuple[str, str]:
    """The data's time zone and why: as set, from the offsets the timestamps carry, or
    UTC (stated, so the analyst can set the right one)."""
    if config.time_zone:
        return check_zone(config.time_zone), "as set"
    if ts_info.offset:
        zone = zone_for_offset(ts_info.offset)
        if zone != "UTC":
            fixed = (f"; {zone} is the fixed offset UTC{ts_info.offset}"
                     if zone.startswith("Etc/") else "")
            return zone, (f"from the timestamps' {ts_info.offset} offset{fixed}; name the "
                          "zone, e.g. Europe/Berlin, if it has summer time")
    return "UTC", "the default: the timestamps carry no offset; set the data's time zone " \
                  "if its events happened elsewhere"


def in_milliseconds(column: str) -> bool:
    """Whether a duration column's name says milliseconds (``engagement_time_msec``)."""
    name = column.lower()
    return name.endswith(("_msec", "_ms", "msec", "_millis", "_milliseconds"))


def event_name_for(mapping: ColumnMapping, config: LoadConfig) -> str:
    """The event of every row when no event column is mapped."""
    if config.event_name and config.event_name.strip():
        return config.event_name.strip()
    buying = any(mapping.get(r) for r in ("revenue", "order_id", "quantity"))
    return "purchase" if buying else "event"


#: Times outside these bounds are kept but flagged: behavioral logs before 1990 are
#: rare, and times after tomorrow cannot be events yet (a wrong unit or format is the
#: usual cause).
PLAUSIBLE_FROM = "1990-01-01"


def _span_notices(span: tuple[int, int, str | None, str | None],
                  ts_info: TimestampInfo) -> list[Notice]:
    """A warning when times fall before 1990 or after tomorrow, with counts and examples."""
    early, late, first, last = span
    if not (early or late):
        return []
    parts = ([f"{early:,} before {PLAUSIBLE_FROM}"] if early else []) + \
        ([f"{late:,} after tomorrow"] if late else [])
    hint = ("Epoch numbers were read as " + ts_info.description + "; if they are Excel "
            "serial days or compact dates, choose that timestamp format."
            if ts_info.kind.startswith("epoch:") else
            "Check the timestamp column and its format.")
    return [Notice("implausible_times",
                   f"Times from {first} to {last} (UTC): {' and '.join(parts)}. They are "
                   f"kept as they are. {hint}", level="warning", subject="ts")]


def _keep_and_number(keys: dict[str, np.ndarray], config: LoadConfig,
                     mapping: ColumnMapping, consented: bool, dropped: dict[str, int]
                     ) -> tuple[Decisions, int, tuple[float, str]]:
    """Drop duplicates, repeats and users without consent; number the sessions.

    Narrow keys (row id, 64-bit hashes of the user, of the event's identity and of the
    whole typed row, and the time) are sorted once (:func:`sort_keys`); the sequential
    rules of
    :mod:`core.data.repeats` then run as vectorised passes over the arrays. Decisions
    never depend on how a value was spelled in the file (the hashes are of typed values)
    and ties keep the first row of the file:

    - a row equal to an earlier one in every kept column is an exact duplicate;
    - a row less than the debounce window after the user's previous event with the same
      identity (event, product, order, value, quantity, page, category) is a repeat;
    - among the kept rows, a session starts at a user's first event and after every
      gap longer than ``session_gap_minutes``.

    Two users would be mixed up only if their ids hashed alike, a chance near 3e-8 for
    a million users. Returns the kept rows in user and time order with their sessions,
    the number of users dropped for lack of consent and the debounce window used with
    its reason.
    """
    keys = sort_keys(keys)
    uk, t = keys["uk"], keys["t"]
    groups = repeats.same_instant_groups(keys)
    duplicate = repeats.exact_duplicates(keys, groups) if config.drop_exact_duplicates \
        else np.zeros(len(t), dtype=bool)
    window = repeats.debounce_window(keys, ~duplicate, groups, config.debounce_seconds,
                                     bool(mapping.get("order_id")))
    repeat = repeats.repeats(keys, window[0]) & ~duplicate
    dropped["exact_duplicate"] = int(duplicate.sum())
    dropped["debounced"] = int(repeat.sum())
    kept = ~(duplicate | repeat)
    del duplicate, repeat, groups
    del keys["h"], keys["uek"]
    if "sampled" in keys:
        dropped["not_sampled"] = int((kept & ~keys["sampled"]).sum())
        kept &= keys["sampled"]
    users_without_consent = 0
    if consented:
        refused = kept & ~keys["ok"]
        dropped["no_consent"] = int(refused.sum())
        users_without_consent = int(np.unique(uk[~keys["ok"]]).size)
        kept &= keys["ok"]
    rid = keys.pop("rid")
    keys.clear()
    if not kept.all():  # usually most rows are kept: copy only when some are not
        rows = np.flatnonzero(kept)
        rid, uk, t = rid[rows], uk[rows], t[rows]
    decisions = Decisions(rid=rid, uk=uk, t=t,
                          session=session_numbers(uk, t, config.session_gap_minutes))
    return decisions, users_without_consent, window


@dataclass
class Decisions:
    """The kept rows in user and time order (ties in file order), with their sessions."""

    #: Position of each kept row in the file (the typed view's row id).
    rid: np.ndarray
    #: 64-bit hash of the user id; a user's rows are adjacent.
    uk: np.ndarray
    #: Time in microseconds since the epoch (UTC).
    t: np.ndarray
    #: Gap-based session number within the user, from 1.
    session: np.ndarray

    def register(self, s: Scratch) -> str:
        """Register ``(row id, gap session)`` for SQL; return the name."""
        return s.register(pd.DataFrame({ROW_ID: self.rid, "__pl_gap_session": self.session}),
                          "numbers")


#: Drop reasons of single rows, numbered for the scan (0 = valid).
_REASON_CODE = {reason: i + 1 for i, reason in enumerate(_ROW_REASONS)}


def _scan_rows(s: Scratch, typed: str, config: LoadConfig, mapping: ColumnMapping,
               consented: str | None, columns: list[str], dropped: dict[str, int]
               ) -> tuple[int, dict[str, np.ndarray], dict[str, int],
                          tuple[int, int, str | None, str | None]]:
    """Read every typed row once: count the drop reasons, invalid values and implausible
    times, and return the valid rows' keys in file order.

    The keys are hashes of the user, of the user with the event's identity and of the
    whole typed row, and the time (``rid`` is the row's position in the file).
    Returns the number of rows, the keys, the counts of invalid values and the span of
    the valid times (rows before 1990, after tomorrow, first, last).
    """
    cols = s.columns(typed)
    rows_read = int(s.rows(f"SELECT count(*) FROM {typed}")[0][0])
    invalid_flags = [f"__pl_{r}_invalid" for r in NUMERIC_ROLES if f"__pl_{r}_invalid" in cols]
    checks = [*invalid_flags,
              "revenue < 0" if "revenue" in cols else "FALSE",
              "scroll_depth < 0 OR scroll_depth > 100" if "scroll_depth" in cols else "FALSE",
              f"ts < TIMESTAMP '{PLAUSIBLE_FROM}'",
              "ts > CAST(now() AS TIMESTAMP) + INTERVAL 1 DAY"]
    flags = " | ".join(f"(CAST(coalesce({c}, FALSE) AS USMALLINT) << {i})"
                       for i, c in enumerate(checks))
    reason = "CASE __pl_drop_reason " + " ".join(
        f"WHEN '{r}' THEN {n}" for r, n in _REASON_CODE.items()) + " ELSE 0 END"
    identity_roles = ["event", *[r for r in IDENTITY_ROLES if mapping.get(r)]]
    identity = ", ".join(identity_roles)
    # The whole row's hash extends the identity's, so its text is hashed only once.
    rest = ", ".join(quote_ident(c) for c in columns
                     if c not in ("user_id", *identity_roles))
    consent = (f", user_id IN (SELECT user_id FROM {consented}) AS ok" if consented else "")
    # A user is in the sample when a hash of the id falls below the share: the same users
    # for the same data every time, and all or none of a user's events.
    cut = round(config.user_sample_share * SAMPLE_BUCKETS)
    sampled = (f", hash(user_id || '{SAMPLE_SALT}') % {SAMPLE_BUCKETS} < {cut} AS sampled"
               if config.user_sample_share < 1 else "")
    reader = s.con.sql(f"""
        SELECT {ROW_ID} AS rid, CAST({reason} AS UTINYINT) AS reason,
               CAST({flags} AS USMALLINT) AS flags,
               hash(user_id) AS uk, hash(user_id, {identity}) AS uek,
               coalesce(epoch_us(ts), 0) AS t, hash(uek, {rest}) AS h
               {consent} {sampled}
        FROM {typed}""").to_arrow_reader(KEY_BATCH_ROWS)
    # Batches of a parallel scan come in any order; each row goes back to its place.
    keys = {f.name: np.zeros(rows_read, dtype=f.type.to_pandas_dtype())
            for f in reader.schema if f.name != "rid"}
    with reader:
        for batch in reader:
            _place_keys(batch, keys)
    reason_values = keys.pop("reason")
    reasons = np.bincount(reason_values, minlength=len(_ROW_REASONS) + 1)
    for r, n in _REASON_CODE.items():
        dropped[r] = int(reasons[n])
    valid_rows = np.flatnonzero(reason_values == 0)
    del reason_values
    flag_values = keys.pop("flags")
    counts = [int(np.count_nonzero((flag_values >> i) & 1)) for i in range(len(checks) - 2)]
    valid_flags = flag_values[valid_rows]
    early, late = (int(np.count_nonzero((valid_flags >> i) & 1))
                   for i in (len(checks) - 2, len(checks) - 1))
    del flag_values, valid_flags
    invalid = {f.removeprefix("__pl_").removesuffix("_invalid"): n
               for f, n in zip(invalid_flags, counts, strict=False)}
    invalid["negative_revenue"] = counts[len(invalid_flags)]
    invalid["scroll_out_of_range"] = counts[len(invalid_flags) + 1]
    invalid["unparseable_timestamp"] = dropped["unparseable_timestamp"]
    keys = {name: values[valid_rows] for name, values in keys.items()}
    keys["rid"] = valid_rows
    t = keys["t"]
    span = (early, late, *(_minute(int(x)) for x in (t.min(), t.max()))) if len(t) \
        else (early, late, None, None)
    return rows_read, keys, invalid, span


def _place_keys(batch: object, keys: dict[str, np.ndarray]) -> None:
    rid = batch.column("rid").to_numpy()
    for name, values in keys.items():
        column = batch.column(name)
        if column.null_count:
            column = column.fill_null(False if name in ("ok", "sampled") else 0)
        values[rid] = column.to_numpy(zero_copy_only=False)


def _minute(us: int) -> str:
    """``YYYY-MM-DD HH:MM`` of epoch microseconds."""
    return str(np.datetime64(us, "us").astype("datetime64[m]")).replace("T", " ")


#: Rows per batch read from DuckDB.
KEY_BATCH_ROWS = 250_000


def sort_keys(keys: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The keys in user, time and file order.

    Users are numbered in order of first appearance and the number and the time packed
    into one integer where they fit, so the stable sort (numpy's timsort) is nearly free
    on a file already grouped by user or sorted by time; otherwise two keys are sorted.
    """
    if not len(keys["rid"]):
        return keys
    user = pd.factorize(keys["uk"])[0]
    t = keys["t"]
    start, span = int(t.min()), int(t.max()) - int(t.min())
    time_bits = max(span.bit_length(), 1)
    if time_bits + max(int(user.max()).bit_length(), 1) <= 62:
        user <<= time_bits
        user |= t - start
        order = np.argsort(user, kind="stable")
    else:
        order = np.lexsort((t, user))
    del user, t
    # One column at a time, so that only one extra copy is ever held.
    for name in list(keys):
        keys[name] = keys.pop(name)[order]
    return keys


def _drop_notices(dropped: dict[str, int], rows_read: int) -> list[Notice]:
    """A warning for each rule that dropped more than :data:`LARGE_DROP_SHARE` of rows."""
    limit = LARGE_DROP_SHARE * max(rows_read, 1)
    return [Notice("many_rows_dropped",
                   f"{n:,} of {rows_read:,} rows ({n / rows_read:.1%}) were dropped: "
                   f"{DROP_REASONS[reason]}. {DROP_SETTINGS[reason]}",
                   level="warning", subject=reason)
            for reason, n in dropped.items() if n > limit]


def _consented_users(s: Scratch, typed: str) -> str:
    """Users whose latest recorded consent value is true.

    The latest value is read from every row with a user id and a time, including rows
    dropped for other reasons (a withdrawal on a repeated event still counts).
    """
    return s.create("consented", f"""
        SELECT user_id FROM {typed}
        WHERE __pl_consent IS NOT NULL AND user_id IS NOT NULL AND ts IS NOT NULL
        GROUP BY user_id HAVING arg_max(__pl_consent, ts)""")


def _events_sql(typed: str, numbers: str, columns: list[str], file_sessions: bool) -> str:
    """The kept rows with all their columns and a session id."""
    cols = ", ".join(f"t.{quote_ident(c)}" for c in columns if c != "session_id")
    if file_sessions:
        session = "coalesce(t.session_id, 'gap-' || CAST(n.__pl_gap_session AS VARCHAR))"
    else:
        session = "CAST(n.__pl_gap_session AS INTEGER)"
    return (f"SELECT {cols}, {session} AS session_id FROM {typed} t "
            f"JOIN {numbers} n USING ({ROW_ID})")


def _pseudonymise(s: Scratch, events: str, key: str) -> str:
    ids = [r[0] for r in s.rows(f"SELECT DISTINCT user_id FROM {events}")]
    lookup = pd.DataFrame(list(privacy.pseudonymise(ids, key).items()),
                          columns=["user_id", "__pl_pseudonym"])
    name = s.register(lookup, "pseudonyms")
    cols = [c for c in s.columns(events) if c != "user_id"]
    col_sql = ", ".join(f"e.{quote_ident(c)}" for c in cols)
    return s.create("pseudo", f"SELECT p.__pl_pseudonym AS user_id, {col_sql} FROM {events} e "
                              f"JOIN {name} p USING (user_id)")


def _nothing_left_message(rows_read: int, dropped: dict[str, int],
                          notices: list[Notice]) -> str:
    """Why no row is left, with what was found about the columns (a time of day without
    a date, values that are not dates) so the analyst knows what to change."""
    reasons = "; ".join(f"{DROP_REASONS[r]}: {n:,}" for r, n in dropped.items() if n)
    found = " ".join(n.message for n in notices
                     if n.level != "info" and n.subject and n.code != "many_rows_dropped")
    return (f"None of the {rows_read:,} rows could be used ({reasons}). "
            + (f"{found} " if found else "")
            + "Check the column mapping: the user id, timestamp and event name columns "
              "must have values.")


@dataclass
class Summary:
    """What the kept events amount to, for the load report."""

    rows_kept: int
    users: int
    sessions: int
    #: First and last time, ``YYYY-MM-DDTHH:MM:SSZ``.
    first_ts: str | None
    last_ts: str | None
    #: ``(YYYY-MM-DD, events)`` per UTC day, in day order.
    per_day: list[tuple[str, int]]
    #: The 15 most frequent events (ties by name) with their counts.
    top_events: list[tuple[str, int]]
    #: Missing values per column other than user, time, event and session, where any.
    missing: dict[str, int]


def summary_of(s: Scratch, events: str) -> Summary:
    """The :class:`Summary` of an events table."""
    # Letters of the ISO layout (T, Z) are added here: SQL engines quote them in their
    # time formats each in their own way.
    rows_kept, users, sessions, first, last = s.rows(f"""
        SELECT count(*), count(DISTINCT user_id),
               count(DISTINCT (user_id, session_id)),
               strftime(min(ts), '%Y-%m-%d %H:%M:%S'), strftime(max(ts), '%Y-%m-%d %H:%M:%S')
        FROM {events}""")[0]
    first, last = (None if v is None else v.replace(" ", "T") + "Z" for v in (first, last))
    # Positions, not aliases: a file column named like an alias would be taken instead.
    per_day = s.rows(f"SELECT strftime(CAST(ts AS DATE), '%Y-%m-%d'), count(*) "
                     f"FROM {events} GROUP BY 1 ORDER BY 1")
    top = s.rows(f"SELECT event, count(*) FROM {events} GROUP BY 1 "
                 f"ORDER BY 2 DESC, 1 LIMIT {TOP_EVENTS}")
    cols = [c for c in s.columns(events) if c not in ("user_id", "ts", "event", "session_id")]
    missing: dict[str, int] = {}
    if cols:
        counts = s.rows("SELECT " + ", ".join(
            f"count(*) - count({quote_ident(c)})" for c in cols) + f" FROM {events}")[0]
        missing = {c: int(n) for c, n in zip(cols, counts, strict=True) if n}
    return Summary(int(rows_kept), int(users), int(sessions), first, last,
                   [(d, int(n)) for d, n in per_day], [(e, int(n)) for e, n in top], missing)


#: Events listed in the load report.
TOP_EVENTS = 15


def build_report(summary: Summary, rows: CleanRows, source_name: str, config: LoadConfig,
                 mapping: ColumnMapping, bots: pd.Series) -> LoadReport:
    """The load report of kept events: what was read, kept, dropped and changed."""
    notices = rows.notices
    if summary.users == 1:
        notices.append(Notice("single_user", "The data has one user only. Features can be "
                              "computed, but segments and clusters need many users."))
    if summary.first_ts == summary.last_ts:
        notices.append(Notice("single_instant", "All events happen at the same instant, so "
                              "durations, recency and trends are all zero."))
    gap = f"{config.session_gap_minutes:g}-minute inactivity gap"
    report = LoadReport(
        source=source_name, rows_read=int(rows.rows_read), rows_kept=summary.rows_kept,
        dropped={k: int(v) for k, v in rows.dropped.items()}, users=summary.users,
        sessions=summary.sessions, first_ts=summary.first_ts, last_ts=summary.last_ts,
        session_source=("session id column of the file (gap-based where missing)"
                        if mapping.get("session_id") else gap),
        users_without_consent=int(rows.users_without_consent), notices=notices,
        missing_by_column=summary.missing, events_per_day=summary.per_day,
        top_events=summary.top_events, timestamp_format=rows.ts_info.description,
    )
    report.debounce_seconds, report.debounce_reason = rows.window
    report.constant_event = None if mapping.get("event") else event_name_for(mapping, config)
    report.time_zone, report.time_zone_reason = data_time_zone(config, rows.ts_info)
    if not config.exclude_bots:
        report.suspected_bots = [str(u) for u in bots.index[:LISTED_SUSPECTS]]
        report.suspected_bot_count, report.suspected_bot_events = len(bots), int(bots.sum())
    report.pseudonymised = config.pseudonymise
    report.pii_columns_dropped = list(config.pii_columns)
    return report
