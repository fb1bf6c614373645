"""What every sub-command shares: exit codes, argument parsers, writing tables, notes."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from core.common.errors import ConfigError
from core.common.export import parquet_bytes, safe_csv_bytes
from core.data.mapping import ROLES

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_DATA, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")


#: Bounds of the numeric options: a value outside is a bad argument (exit 2), never a
#: traceback or an hour-long run.
MAX_SESSION_GAP_MINUTES = 7 * 24 * 60
MAX_DEBOUNCE_SECONDS = 3600.0
MAX_K = 100
MAX_SAMPLE_USERS = 1_000_000
MAX_SAMPLE_DAYS = 3650


def argument(parse):
    """An argparse ``type=``: ``parse``'s ConfigError becomes argparse's own error, so a
    bad value exits 2 with the usage line and the message (the README's exit codes)."""
    def checked(text: str):
        try:
            return parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    checked.__name__ = parse.__name__
    return checked


def number(low: float, high: float, integer: bool = False, low_open: bool = False):
    """A parser of a finite number in [low, high] (or (low, high] with ``low_open``)."""
    def parse(text: str) -> float | int:
        try:
            value = float(text) if not integer else int(text)
        except ValueError:
            kind = "a whole number" if integer else "a number"
            raise ConfigError(f"'{text}' is not {kind}.") from None
        if not math.isfinite(value):
            raise ConfigError(f"'{text}' is not a finite number.")
        if value > high or value < low or (low_open and value == low):
            side = "above" if low_open else "from"
            raise ConfigError(f"'{text}' is out of range: give a number {side} {low:g} "
                              f"up to {high:g}.")
        return value
    parse.__name__ = "number"
    return argument(parse)


def session_gap(text: str) -> float:
    """A session gap ('30m', '1h', '90s') in minutes, above 0 and at most 7 days."""
    minutes = parse_duration_minutes(text)
    if not 0 < minutes <= MAX_SESSION_GAP_MINUTES:
        raise ConfigError(f"Session gap '{text}' is out of range: give more than 0 and at "
                          "most 7 days (e.g. 30m, 1h).")
    return minutes


def input_file(text: str) -> Path:
    """An existing, readable file (not a folder)."""
    path = Path(text)
    if not path.exists():
        raise ConfigError(f"File '{text}' does not exist. Check the path.")
    if path.is_dir():
        raise ConfigError(f"'{text}' is a folder; give one file inside it.")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"File '{text}' cannot be read (permission denied).")
    return path


def output_in(suffixes: tuple[str, ...], what: str, folders: bool = False):
    """A parser of an output path: one of ``suffixes``, in a folder that exists; with
    ``folders``, also a folder Spark wrote before (it holds ``_SUCCESS``)."""
    def parse(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes:
            raise ConfigError(f"Output '{path.name}' must end in {what}.")
        if path.is_dir() and not (folders and (path / "_SUCCESS").exists()):
            raise ConfigError(f"Output '{text}' is a folder; give a file name.")
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise ConfigError(f"The folder of output '{text}' does not exist; create "
                              f"'{folder}' first.")
        if not os.access(folder, os.W_OK):
            raise ConfigError(f"The folder '{folder}' cannot be written to.")
        return path
    parse.__name__ = "output"
    return argument(parse)


def role_column(text: str) -> tuple[str, str | None]:
    """One ``--map ROLE=COLUMN``; an empty column unmaps the role."""
    role, sep, column = text.partition("=")
    if not sep or role not in ROLES:
        raise ConfigError(f"'{text}' must be ROLE=COLUMN with ROLE one of "
                          f"{', '.join(ROLES)}.")
    return role, column or None


TABLE_OUTPUT = output_in(TABLE_SUFFIXES, ".csv or .parquet")
INPUT_FILE = argument(input_file)
SESSION_GAP = argument(session_gap)
ROLE_COLUMN = argument(role_column)


def parse_duration_minutes(text: str) -> float:
    """Parse '30m', '45min', '1h', '90s' or a bare number of minutes into minutes."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"'{text}' is not a duration; use e.g. 30m, 1h or 90s.")
    value, unit = float(match.group(1)), match.group(2) or "m"
    return {"s": value / 60, "m": value, "min": value, "h": value * 60}[unit]


def parse_mapping(pairs: list[str | tuple[str, str | None]]) -> dict[str, str | None]:
    """Parse ``role=column`` pairs (or pairs parsed by :data:`ROLE_COLUMN`)."""
    return dict(role_column(p) if isinstance(p, str) else p for p in pairs)


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
