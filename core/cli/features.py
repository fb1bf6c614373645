"""``python -m core features``: the per-user feature table of an event file."""

from __future__ import annotations

import argparse
import time

from core.cli.common import (
    EXIT_OK,
    check_table_output,
    parse_duration_minutes,
    parse_mapping,
    print_notices,
    verbose_progress,
    write_table,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``features`` sub-command."""
    parser = sub.add_parser("features", help="compute the per-user feature table")
    parser.add_argument("input", help="events file: Parquet, CSV/TSV, JSON lines or Excel")
    parser.add_argument("-o", "--output", required=True, help="features.csv or .parquet")
    parser.add_argument("--map", action="append", metavar="ROLE=COLUMN",
                        help="override a guessed column, e.g. --map ts=event_time")
    parser.add_argument("--session-gap", default="30m", help="inactivity gap (30m, 1h)")
    parser.add_argument("--debounce", type=float, default=1.0,
                        help="seconds within which a repeated event is a double fire")
    parser.add_argument("--user-share", type=float, default=1.0,
                        help="keep this share of users (0-1], the same ones every time")
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress")
    parser.set_defaults(func=cmd_features)


def cmd_features(args: argparse.Namespace) -> int:
    """Compute and write the features; return the exit code."""
    from core.data.cleaning import LoadConfig
    from core.features.pipeline import features_from_file

    out = check_table_output(args.output)
    config = LoadConfig(session_gap_minutes=parse_duration_minutes(args.session_gap),
                        debounce_seconds=args.debounce, user_sample_share=args.user_share)
    start = time.perf_counter()
    table, report = features_from_file(args.input, parse_mapping(args.map or []), config,
                                       progress=verbose_progress(args.verbose))
    write_table(table.frame, out)
    print(f"Read {report.rows_read:,} rows, kept {report.rows_kept:,} "
          f"({report.users:,} users, {report.sessions:,} sessions); wrote "
          f"{len(table.frame.columns)} features to {out} in "
          f"{time.perf_counter() - start:.1f} s.")
    for reason, count in report.dropped.items():
        if count:
            print(f"  dropped {count:,} rows: {reason.replace('_', ' ')}")
    print_notices([*report.notices, *table.notices])
    return EXIT_OK
