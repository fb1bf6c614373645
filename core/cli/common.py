"""What every sub-command shares: exit codes, argument parsers, writing tables, notes."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from core.common.errors import ConfigError
from core.common.export import parquet_bytes, safe_csv_bytes
from core.data.mapping import ROLES

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")


def parse_duration_minutes(text: str) -> float:
    """Parse '30m', '45min', '1h', '90s' or a bare number of minutes into minutes."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"'{text}' is not a duration; use e.g. 30m, 1h or 90s.")
    value, unit = float(match.group(1)), match.group(2) or "m"
    return {"s": value / 60, "m": value, "min": value, "h": value * 60}[unit]


def parse_mapping(pairs: list[str]) -> dict[str, str | None]:
    """Parse ``role=column`` pairs; an empty column unmaps the role."""
    result: dict[str, str | None] = {}
    for pair in pairs:
        role, sep, column = pair.partition("=")
        if not sep or role not in ROLES:
            raise ConfigError(f"--map '{pair}' must be ROLE=COLUMN with ROLE one of "
                              f"{', '.join(ROLES)}.")
        result[role] = column or None
    return result


def feature_list(text: str | None) -> list[str] | None:
    """Comma-separated feature names, or None for the defaults."""
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def check_table_output(path: str | Path) -> Path:
    """The output path of a table, refused unless it ends in .csv or .parquet."""
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"Output '{path.name}' must end in .csv or .parquet.")
    return path


def write_table(frame: pd.DataFrame, path: str | Path, index: bool = True) -> None:
    """Write a table as CSV (formula injection neutralised) or Parquet, by its suffix."""
    path = check_table_output(path)
    data = safe_csv_bytes(frame, index=index) if path.suffix.lower() == ".csv" \
        else parquet_bytes(frame, index=index)
    path.write_bytes(data)


def print_notices(notices: Iterable) -> None:
    """Every notice on standard error, one line each: warnings and errors say so, the
    rest are notes."""
    for notice in notices:
        level = getattr(notice, "level", "info")
        print(f"  {'note' if level == 'info' else level}: {notice.message}", file=sys.stderr)


def verbose_progress(enabled: bool):
    """A ``progress(fraction, message)`` callback printing to standard error, or None."""
    if not enabled:
        return None

    def progress(fraction: float, message: str) -> None:
        print(f"  {fraction:4.0%} {message}", file=sys.stderr)

    return progress
