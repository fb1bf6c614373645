"""How the event time column becomes UTC: native date-times, compact dates
(YYYYMMDD), epoch numbers by magnitude, Excel serials when asked, or text parsed once
per distinct value with one day order per column.

Inside DuckDB times stay naive TIMESTAMPs holding UTC (see :func:`ts_expression`).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.common.engine import Scratch, quote_ident
from core.common.errors import ConfigError, DataError
from core.common.notices import Notice

TimestampUnit = Literal["auto", "text", "dayfirst", "monthfirst", "compact", "excel",
                        "s", "ms", "us"]
#: How each setting reads the column, in words (the Data page and ``--timestamp-format``).
UNIT_LABELS: dict[str, str] = {
    "auto": "Detect", "text": "Text date-time (ISO or a named month)",
    "dayfirst": "Text, day first (31/12/2024)", "monthfirst": "Text, month first (12/31/2024)",
    "compact": "Compact digits (20241231, 20241231235959)",
    "excel": "Excel serial day numbers", "s": "Epoch seconds", "ms": "Epoch milliseconds",
    "us": "Epoch microseconds",
}
#: Epoch magnitudes: seconds since 1970 are ~1.7e9 today, milliseconds ~1.7e12,
#: microseconds ~1.7e15, nanoseconds ~1.7e18. Thresholds sit between them.
EPOCH_THRESHOLDS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0.0, "s"))
EPOCH_TO_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
#: Excel counts days from 1899-12-30 (the 1900 leap-year quirk folded in).
EXCEL_EPOCH = pd.Timestamp("1899-12-30", tz="UTC")
#: A row's position in the source, the same in every scan (Parquet's file row number
#: or a column added to a DataFrame); it orders ties and joins results back to rows.
ROW_ID = "__pl_rowid"
#: Compact dates are 8 digits (YYYYMMDD) or 14 (YYYYMMDDHHMMSS) within these years; as
#: epoch seconds the same numbers would fall in 1970, which no behavioral log holds.
COMPACT_YEARS = (1900, 2100)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")
_OFFSET = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")
#: A zone is guessed from the offsets when this share of the values carries one offset.
OFFSET_SHARE = 0.9
#: Zones for offsets that are not whole hours (Etc/GMT zones only have whole hours).
HALF_HOUR_ZONES = {"+05:30": "Asia/Kolkata", "+05:45": "Asia/Kathmandu",
                   "+09:30": "Australia/Darwin", "+03:30": "Asia/Tehran",
                   "+04:30": "Asia/Kabul", "+06:30": "Asia/Yangon",
                   "-03:30": "America/St_Johns", "-09:30": "Pacific/Marquesas"}
_TIME_ONLY = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")


@dataclass
class TimestampInfo:
    """Where the event time is and how it is read: ``kind`` is "native" or
    "epoch:<unit>", ``description`` says it in words for the load report, ``notices``
    what the analyst should know (values without a date, an assumed day order)."""

    column: str
    kind: str
    description: str
    notices: list[Notice] = field(default_factory=list)
    #: The UTC offset most values carry ("+09:00"), when one dominates.
    offset: str | None = None


def prepare_timestamps(s: Scratch, raw: str, ts_col: str,
                       unit: TimestampUnit) -> tuple[str, TimestampInfo]:
    """Decide how the timestamp column becomes UTC; parse what DuckDB cannot in pandas.

    Raises
    ------
    ConfigError
        When the day order of a text column cannot be told from its values.
    DataError
        When one column mixes day-first and month-first dates.
    """
    if unit not in UNIT_LABELS:
        raise ConfigError(f"Unknown timestamp format '{unit}'. Choose one of "
                          f"{', '.join(UNIT_LABELS)}.")
    col_type = s.columns(raw)[ts_col].upper()
    if "TIMESTAMP" in col_type or col_type == "DATE":
        tz = ("with time zone, converted to UTC"
              if "TIME ZONE" in col_type or "TIMESTAMPTZ" in col_type
              else "without time zone, taken as UTC")
        return raw, TimestampInfo(ts_col, "native", f"date-time values {tz}")
    q = quote_ident(ts_col)
    if unit == "auto" and _is_numeric(s, raw, q, col_type):
        unit = "compact" if _all_compact(s, raw, q) else _epoch_unit(s, raw, q)
    if unit in EPOCH_TO_US:
        label = {"s": "seconds", "ms": "milliseconds", "us": "microseconds",
                 "ns": "nanoseconds"}[unit]
        return raw, TimestampInfo(ts_col, f"epoch:{unit}", f"epoch {label} since 1970-01-01 UTC")
    if unit in ("auto", "text") and (cast := _cast_in_duckdb(s, raw, q)) is not None:
        return cast
    parse = {"compact": parse_compact, "excel": parse_excel_serials}.get(
        unit, lambda values: parse_text_timestamps(values, unit))
    return _parsed_in_pandas(s, raw, ts_col, parse)


#: Values read to decide whether a text timestamp column holds numbers.
NUMERIC_CHECK_ROWS = 100_000


def _is_numeric(s: Scratch, raw: str, q: str, col_type: str) -> bool:
    if any(t in col_type for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL")):
        return True
    # The first rows with a value decide (a column of dates is not numeric from its first
    # value on; reading 10 M text values to confirm it took seconds).
    share = s.scalar(
        f"SELECT avg(CASE WHEN TRY_CAST(v AS DOUBLE) IS NOT NULL THEN 1.0 ELSE 0 END) FROM "
        f"(SELECT {q} AS v FROM {raw} WHERE {q} IS NOT NULL AND trim(CAST({q} AS VARCHAR)) "
        f"<> '' LIMIT {NUMERIC_CHECK_ROWS})")
    return (share or 0) >= 0.99


def _all_compact(s: Scratch, raw: str, q: str) -> bool:
    """Whether every value is a YYYYMMDD or YYYYMMDDHHMMSS number with a valid month and
    day (checked in SQL; :func:`parse_compact` reads them)."""
    low, high = COMPACT_YEARS
    v = f"TRY_CAST({q} AS DOUBLE)"
    day = f"CASE WHEN {v} >= 1e13 THEN floor({v} / 1e6) ELSE {v} END"
    check = (f"{v} = floor({v}) AND ({v} BETWEEN {low}0101 AND {high}1231 OR {v} BETWEEN "
             f"{low}0101000000 AND {high}1231235959) AND floor({day} / 100) % 100 BETWEEN 1 "
             f"AND 12 AND {day} % 100 BETWEEN 1 AND 31")
    total, good = s.rows(f"SELECT count({v}), count(*) FILTER (WHERE {check}) FROM {raw}")[0]
    return bool(total) and good == total


def _epoch_unit(s: Scratch, raw: str, q: str) -> str:
    magnitude = s.scalar(f"SELECT median(abs(TRY_CAST({q} AS DOUBLE))) FROM {raw}")
    return next(u for limit, u in EPOCH_THRESHOLDS if (magnitude or 0) >= limit)


#: How text times without an offset are read, in DuckDB or in pandas alike.
NO_OFFSET = " (no offset means UTC)"


def _cast_in_duckdb(s: Scratch, raw: str, q: str) -> tuple[str, TimestampInfo] | None:
    """Read the column in DuckDB when it casts every value to an instant (ISO 8601 with
    or without an offset or a zone; the connection's zone, UTC, for none), else None.

    Parsing in pandas took 3.8 s for 1.5 M ISO times, this 0.5 s; anything DuckDB
    cannot cast (a time without a date, day-first dates, a named month) goes the pandas
    way, which reads it or says why not.
    """
    text = f"nullif(trim(CAST({q} AS VARCHAR)), '')"
    instant = f"TRY_CAST({text} AS TIMESTAMPTZ)"
    values, cast = s.rows(f"SELECT count({text}), count({instant}) FROM {raw}")[0]
    if not values or cast < values:
        return None
    name = s.view("raw_ts", f"SELECT r.*, make_timestamp(epoch_us({instant})) AS __pl_ts "
                            f"FROM {raw} r")
    return name, TimestampInfo("__pl_ts", "native", "ISO 8601 text" + NO_OFFSET, [],
                               _dominant_offset_in_sql(s, raw, text, values))


def _dominant_offset_in_sql(s: Scratch, raw: str, text: str, values: int) -> str | None:
    """:func:`dominant_offset` for a column DuckDB reads (the same rule, in SQL)."""
    top = s.rows(f"SELECT o, count(*) FROM (SELECT regexp_extract({text}, "
                 f"'([+-][0-9]{{2}}:?[0-9]{{2}}|Z)$', 1) AS o FROM {raw} WHERE {text} IS "
                 "NOT NULL) WHERE o <> '' GROUP BY o ORDER BY 2 DESC, 1 LIMIT 1")
    if not top or top[0][1] < OFFSET_SHARE * values or top[0][0] == "Z":
        return None
    offset = top[0][0] if ":" in top[0][0] else f"{top[0][0][:3]}:{top[0][0][3:]}"
    return None if offset in ("+00:00", "-00:00") else offset


def _parsed_in_pandas(s: Scratch, raw: str, ts_col: str, parse
                      ) -> tuple[str, TimestampInfo]:
    """Parse the column with ``parse`` and join the times back by row id (only this
    column goes through pandas, not every column of the source)."""
    values = s.df(f"SELECT {ROW_ID}, {quote_ident(ts_col)} AS v FROM {raw}")
    parsed, description, notices = parse(values["v"])
    offset = dominant_offset(values["v"]) if parse is not parse_compact else None
    times = pd.DataFrame({ROW_ID: values[ROW_ID].to_numpy(), "__pl_ts": parsed.dt.tz_convert(
        "UTC").dt.tz_localize(None).to_numpy()})
    parsed_name = s.register(times, "parsed_ts")
    name = s.view("raw_ts", f"SELECT r.*, t.__pl_ts FROM {raw} r "
                            f"JOIN {parsed_name} t USING ({ROW_ID})")
    return name, TimestampInfo("__pl_ts", "native", description, notices, offset)


def dominant_offset(values: pd.Series) -> str | None:
    """The UTC offset (``"+09:00"``) that at least :data:`OFFSET_SHARE` of the text
    values end with, or None (no offsets, UTC "Z", or several)."""
    text = values.dropna().astype("string[pyarrow]").str.strip()
    if text.empty:
        return None
    # Vectorised string kernels (Arrow): a regex extract would run in Python per value,
    # 18 s for 1.5 M timestamps.
    carries = text[text.str.contains(_OFFSET.pattern, regex=True)]
    if len(carries) < OFFSET_SHARE * len(text):
        return None
    six = carries.str.slice(-6)
    found = six.where(six.str.slice(3, 4) == ":", carries.str.slice(-5))
    found = found.where(~carries.str.endswith("Z"), "Z")
    counts = found.value_counts()
    if counts.empty or counts.iloc[0] < OFFSET_SHARE * len(text):
        return None
    offset = str(counts.index[0])
    if offset == "Z":
        return None
    offset = offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    return None if offset in ("+00:00", "-00:00") else offset


def zone_for_offset(offset: str) -> str:
    """An IANA zone with this fixed offset (Etc/GMT zones count the other way round)."""
    if offset in HALF_HOUR_ZONES:
        return HALF_HOUR_ZONES[offset]
    hours = int(offset[:3])
    if offset[4:] != "00":
        return "UTC"
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def check_zone(name: str) -> str:
    """``name`` when it is a time zone this machine knows (IANA, e.g. Europe/Berlin).

    Raises
    ------
    ConfigError
        When it is not.
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"'{name}' is not a time zone name; use one such as UTC, "
                          "Europe/Berlin, America/New_York or Asia/Tokyo.") from exc
    return name


def parse_compact(values: pd.Series) -> tuple[pd.Series, str, list[Notice]]:
    """Parse YYYYMMDD (a day, taken as midnight UTC) or YYYYMMDDHHMMSS numbers."""
    numbers = pd.to_numeric(values, errors="coerce")
    digits = numbers.round().astype("Int64").astype("string")
    long = digits.str.len() == 14
    parsed = pd.to_datetime(digits.where(~long), format="%Y%m%d", errors="coerce", utc=True)
    parsed = parsed.where(~long, pd.to_datetime(digits.where(long), format="%Y%m%d%H%M%S",
                                                 errors="coerce", utc=True))
    return parsed, "compact dates (YYYYMMDD, midnight UTC; YYYYMMDDHHMMSS)", []


def parse_excel_serials(values: pd.Series) -> tuple[pd.Series, str, list[Notice]]:
    """Parse Excel serial day numbers (days since 1899-12-30, the fraction is the time)."""
    days = pd.to_numeric(values, errors="coerce")
    return EXCEL_EPOCH + pd.to_timedelta(days, unit="D"), "Excel serial day numbers", []


def parse_text_timestamps(values: pd.Series, order: TimestampUnit = "auto"
                          ) -> tuple[pd.Series, str, list[Notice]]:
    """Parse text date-times to UTC, each distinct value once.

    ISO 8601 is tried first. Numeric dates such as ``01/03/2024`` are read in one day
    order for the whole column: day first when some value's first number is above 12,
    month first when some value's second number is, the setting's ``dayfirst`` or
    ``monthfirst`` otherwise. Other layouts ("1 March 2024 10:00") use pandas'
    inference. A time without a date is not guessed (it would become today): such
    values are left unread and counted. Values without an offset are taken as UTC.
    """
    text = values.astype("string[pyarrow]").str.strip()
    text = text.mask(text == "")
    codes, distinct = pd.factorize(text)
    uniques = pd.Series(distinct, dtype="string[pyarrow]")
    notices: list[Notice] = []
    time_only = uniques.str.match(_TIME_ONLY.pattern)
    if time_only.any():
        count = int(text.isin(set(uniques[time_only])).sum())
        notices.append(Notice(
            "time_without_date",
            f"{count:,} value(s) have a time of day but no date (for example "
            f"{uniques[time_only].iloc[0]!r}); they were not read as today and those rows "
            "are dropped. Choose a column with full dates.", subject="ts"))
    parsed = pd.to_datetime(uniques.where(~time_only), utc=True, errors="coerce",
                            format="ISO8601")
    desc = "ISO 8601 text"
    failed = parsed.isna() & ~time_only
    if failed.any():
        dayfirst, order_note = _day_order(uniques[failed], order)
        if order_note:
            notices.append(order_note)
        retry = pd.to_datetime(uniques[failed], utc=True, errors="coerce", format="mixed",
                               dayfirst=bool(dayfirst))
        if retry.notna().any():
            desc = ("text dates, day first" if dayfirst else "text date-times in several "
                    "layouts" if dayfirst is None else "text dates, month first")
        parsed = parsed.where(~failed, retry)
    # Back to every row through the codes, as datetime64 (never as Timestamp objects).
    naive = pd.to_datetime(parsed, utc=True).dt.tz_localize(None).to_numpy()
    times = np.where(codes >= 0, naive[np.maximum(codes, 0)], np.datetime64("NaT"))
    result = pd.Series(times, index=values.index).dt.tz_localize("UTC")
    return result, desc + NO_OFFSET, notices


def _day_order(values: pd.Series, order: TimestampUnit) -> tuple[bool | None, Notice | None]:
    """Day first (True), month first (False) or no numeric dates (None) for a column."""
    parts = values.str.extract(_NUMERIC_DATE)
    numeric = parts.dropna()
    if numeric.empty:
        return None, None
    first, second = numeric[0].astype(int), numeric[1].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    example = values[parts[0].notna()].iloc[0]
    if day_first and month_first:
        raise DataError(
            f"The timestamp column mixes day-first and month-first dates (for example "
            f"{values[parts[0].notna() & (parts[0].astype(float) > 12)].iloc[0]!r} and "
            f"{values[parts[1].notna() & (parts[1].astype(float) > 12)].iloc[0]!r}). Fix "
            "the column so that every date uses one order.")
    if order in ("dayfirst", "monthfirst"):
        chosen = order == "dayfirst"
        if (day_first and not chosen) or (month_first and chosen):
            raise ConfigError(
                f"The timestamp format is set to {UNIT_LABELS[order].lower()}, but values "
                f"such as {example!r} cannot be read so. Choose the other day order.")
        return chosen, None
    if not (day_first or month_first):
        raise ConfigError(
            f"The dates in the timestamp column can be read day first or month first (for "
            f"example {example!r}): every value has both numbers at 12 or below. Choose "
            "'day first' or 'month first' as the timestamp format on the Data page "
            "(--timestamp-format dayfirst or monthfirst on the command line).")
    chosen = day_first
    return chosen, Notice(
        "day_order", f"Dates such as {example!r} were read {'day' if chosen else 'month'} "
        f"first: some values have a {'day' if chosen else 'month'} above 12 in that place.",
        level="info", subject="ts")


def ts_expression(info: TimestampInfo, col_type: str, prefix: str = "") -> str:
    """SQL for the timestamp as a naive TIMESTAMP holding UTC.

    Inside DuckDB times stay naive (UTC): date parts of TIMESTAMPTZ go through ICU
    time-zone code and were 2-6x slower here. Frames leaving core are tz-aware again.
    An aware time becomes naive through its epoch microseconds: casting TIMESTAMPTZ to
    TIMESTAMP also goes through ICU, 1.4 s per scan of 10 M rows against 0.1 s.
    """
    q = prefix + quote_ident(info.column)
    if info.kind.startswith("epoch:"):
        factor = EPOCH_TO_US[info.kind.split(":")[1]]
        return f"make_timestamp(CAST(round(TRY_CAST({q} AS DOUBLE) * {factor}) AS BIGINT))"
    upper = col_type.upper()
    if "TIME ZONE" in upper or "TIMESTAMPTZ" in upper:
        return f"make_timestamp(epoch_us(CAST({q} AS TIMESTAMPTZ)))"
    if "TIMESTAMP" in upper or upper == "DATE":
        return f"CAST({q} AS TIMESTAMP)"
    return f"make_timestamp(epoch_us(TRY_CAST({q} AS TIMESTAMPTZ)))"
