"""How the event time column becomes UTC: native date-times, epoch numbers by
magnitude, or text parsed once per distinct value.

Inside DuckDB times stay naive TIMESTAMPs holding UTC (see :func:`ts_expression`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from core.common.engine import Scratch, quote_ident

TimestampUnit = Literal["auto", "text", "s", "ms", "us"]
#: Epoch magnitudes: seconds since 1970 are ~1.7e9 today, milliseconds ~1.7e12,
#: microseconds ~1.7e15, nanoseconds ~1.7e18. Thresholds sit between them.
EPOCH_THRESHOLDS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0.0, "s"))
EPOCH_TO_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
#: A row's position in the source, the same in every scan (Parquet's file row number
#: or a column added to a DataFrame); it orders ties and joins results back to rows.
ROW_ID = "__pl_rowid"


@dataclass
class TimestampInfo:
    """Where the event time is and how it is read: ``kind`` is "native" or
    "epoch:<unit>", ``description`` says it in words for the load report."""

    column: str
    kind: str  # "native" or "epoch:<unit>"
    description: str


def prepare_timestamps(s: Scratch, raw: str, ts_col: str,
                        unit: TimestampUnit) -> tuple[str, TimestampInfo]:
    """Decide how the timestamp column becomes UTC; parse text columns in pandas."""
    col_type = s.columns(raw)[ts_col].upper()
    q = quote_ident(ts_col)
    if "TIMESTAMP" in col_type or col_type == "DATE":
        tz = ("with time zone, converted to UTC"
              if "TIME ZONE" in col_type or "TIMESTAMPTZ" in col_type
              else "without time zone, taken as UTC")
        return raw, TimestampInfo(ts_col, "native", f"date-time values {tz}")
    is_numeric = any(t in col_type for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL"))
    if not is_numeric and unit in ("auto", "s", "ms", "us"):
        share_numeric = s.scalar(
            f"SELECT avg(CASE WHEN TRY_CAST({q} AS DOUBLE) IS NOT NULL THEN 1.0 ELSE 0 END)"
            f" FROM {raw} WHERE {q} IS NOT NULL AND trim(CAST({q} AS VARCHAR)) <> ''")
        is_numeric = unit != "auto" or (share_numeric or 0) >= 0.99
    if is_numeric and unit != "text":
        if unit == "auto":
            magnitude = s.scalar(f"SELECT median(abs(TRY_CAST({q} AS DOUBLE))) FROM {raw}")
            unit_found = next(u for limit, u in EPOCH_THRESHOLDS if (magnitude or 0) >= limit)
        else:
            unit_found = unit
        label = {"s": "seconds", "ms": "milliseconds", "us": "microseconds",
                 "ns": "nanoseconds"}[unit_found]
        return raw, TimestampInfo(ts_col, f"epoch:{unit_found}",
                                   f"epoch {label} since 1970-01-01 UTC")
    # Only the timestamp column goes through pandas; it is joined back by row id rather
    # than copying every column of the source.
    values = s.df(f"SELECT {ROW_ID}, {q} AS v FROM {raw}")
    parsed, fmt = parse_text_timestamps(values["v"])
    times = pd.DataFrame({ROW_ID: values[ROW_ID].to_numpy(), "__pl_ts": parsed.dt.tz_convert(
        "UTC").dt.tz_localize(None).to_numpy()})
    parsed_name = s.register(times, "parsed_ts")
    name = s.view("raw_ts", f"SELECT r.*, t.__pl_ts FROM {raw} r "
                            f"JOIN {parsed_name} t USING ({ROW_ID})")
    return name, TimestampInfo("__pl_ts", "native", fmt)


def parse_text_timestamps(values: pd.Series) -> tuple[pd.Series, str]:
    """Parse text date-times to UTC, each distinct value once.

    ISO 8601 is tried first; values it cannot read are tried with pandas' per-value
    format inference. Values without an offset are taken as UTC.
    """
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    uniques = pd.Series(text.dropna().unique())
    parsed = pd.to_datetime(uniques, utc=True, errors="coerce", format="ISO8601")
    desc = "ISO 8601 text"
    failed = parsed.isna()
    if failed.any():
        retry = pd.to_datetime(uniques[failed], utc=True, errors="coerce", format="mixed")
        if retry.notna().any():
            desc = "text date-times in several layouts"
        parsed = parsed.where(~failed, retry)
    lookup = pd.Series(parsed.to_numpy(), index=uniques.to_numpy())
    result = text.map(lookup)
    return pd.to_datetime(result, utc=True), desc + " (no offset means UTC)"


def ts_expression(info: TimestampInfo, col_type: str, prefix: str = "") -> str:
    """SQL for the timestamp as a naive TIMESTAMP holding UTC.

    Inside DuckDB times stay naive (UTC): date parts of TIMESTAMPTZ go through ICU
    time-zone code and were 2-6x slower here. Frames leaving core are tz-aware again.
    """
    q = prefix + quote_ident(info.column)
    if info.kind.startswith("epoch:"):
        factor = EPOCH_TO_US[info.kind.split(":")[1]]
        return f"make_timestamp(CAST(round(TRY_CAST({q} AS DOUBLE) * {factor}) AS BIGINT))"
    upper = col_type.upper()
    if "TIME ZONE" in upper or "TIMESTAMPTZ" in upper:
        return f"CAST(CAST({q} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if "TIMESTAMP" in upper or upper == "DATE":
        return f"CAST({q} AS TIMESTAMP)"
    return f"CAST(TRY_CAST({q} AS TIMESTAMPTZ) AS TIMESTAMP)"
