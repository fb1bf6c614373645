"""``python -m core features``: the per-user feature table of an event file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    MAX_DEBOUNCE_SECONDS,
    ROLE_COLUMN,
    SESSION_GAP,
    TABLE_OUTPUT,
    argument,
    number,
    parse_mapping,
    print_notices,
    verbose_progress,
    write_table,
)
from core.cli.spark_options import (
    EVENTS_INPUT,
    add_engine_arguments,
    not_one_file,
    spark_inputs,
)

if TYPE_CHECKING:
    import pandas as pd

    from core.common.notices import Notice
    from core.data.mapping import ColumnMapping

#: --delimiter values; "tab" stands for a tab, which is awkward to type in a shell.
DELIMITER_CHOICES = {"auto": "auto", ",": ",", ";": ";", "tab": "\t", "|": "|", "::": "::",
                     "whitespace": "whitespace"}
ENCODING_CHOICES = ("auto", "utf-8", "cp1252", "latin-1")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``features`` sub-command."""
    parser = sub.add_parser("features", help="compute the per-user feature table")
    parser.add_argument("input", type=EVENTS_INPUT,
                        help="events file: Parquet, CSV/TSV or other delimited text, JSON "
                             "lines or Excel; gzip or zstd compressed. With --engine "
                             "spark: Parquet files, a folder of them or a glob (also "
                             "s3a://, hdfs://, gs:// paths)")
    parser.add_argument("-o", "--output", required=True, type=TABLE_OUTPUT,
                        help="features.csv or .parquet")
    add_load_arguments(parser)
    add_engine_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress")
    parser.add_argument("--json", action="store_true",
                        help="print the load report (counts, drops by reason, every note) "
                             "as JSON instead of text")
    parser.set_defaults(func=cmd_features)


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that read, map and clean an event file (``features`` and the journey
    commands share them)."""
    from core.data.timestamps import UNIT_LABELS, check_zone

    parser.add_argument("--map", action="append", metavar="ROLE=COLUMN", type=ROLE_COLUMN,
                        help="override a guessed column, e.g. --map ts=event_time")
    parser.add_argument("--sheet", help="Excel sheet to read (default: the first)")
    parser.add_argument("--delimiter", choices=list(DELIMITER_CHOICES), default="auto",
                        help="delimiter of a text file (default: detected)")
    parser.add_argument("--encoding", choices=ENCODING_CHOICES, default="auto",
                        help="encoding of a text file (default: UTF-8, else Windows-1252)")
    parser.add_argument("--session-gap", default="30m", type=SESSION_GAP,
                        help="inactivity gap (30m, 1h; at most 7 days)")
    parser.add_argument("--debounce", type=number(0, MAX_DEBOUNCE_SECONDS), default=None,
                        help="seconds within which the same event again is a double fire "
                             "(default: 1 for a clickstream, 0 for basket line items, bulk "
                             "ratings and dates without a time)")
    parser.add_argument("--timestamp-format", choices=list(UNIT_LABELS), default="auto",
                        help="how to read the timestamp column (default: detected; "
                             "dayfirst/monthfirst for dates like 01/03/2024)")
    parser.add_argument("--time-zone", type=argument(check_zone),
                        help="the data's time zone for weekend, night and calendar-day "
                             "features, e.g. Europe/Berlin (default: from the timestamps' "
                             "offsets, else UTC)")
    parser.add_argument("--event-name", help="the event of every row when the file has no "
                                             "event column (default: purchase when there "
                                             "is revenue, an order id or a quantity)")
    parser.add_argument("--exclude-bots", action="store_true",
                        help="drop the users who look like bots (far more events than "
                             "anyone else), counted in the report")
    parser.add_argument("--user-share", type=number(0, 1, low_open=True), default=1.0,
                        help="keep this share of users (0-1], the same ones every time")


def cmd_features(args: argparse.Namespace) -> int:
    """Compute and write the features; return the exit code."""
    from core.features.pipeline import features_from_source

    out = args.output
    config = load_config(args)
    start = time.perf_counter()
    if args.engine == "spark":
        table, report, where = _on_spark(args, config)
        read_notes = []
    else:
        if (refused := not_one_file(args.input)) is not None:
            print(f"python -m core features: error: {refused}", file=sys.stderr)
            return EXIT_USAGE
        source, mapping, read_notes = mapped_input(args)
        table, report = features_from_source(source, mapping, Path(args.input).name, config,
                                             progress=verbose_progress(args.verbose))
        where = ""
    written = write_features(table.frame, out, {"engine": args.engine, "source": args.input,
                                                **({"master": args.master}
                                                   if args.engine == "spark" else {})})
    notices = [*read_notes, *report.notices, *table.notices]
    if args.json:
        print(json.dumps(_payload(report, table, out, notices), indent=2, default=str))
        return EXIT_OK
    print(f"Read {report.rows_read:,} rows{where}, kept {report.rows_kept:,} "
          f"({report.users:,} users, {report.sessions:,} sessions); wrote "
          f"{len(table.frame.columns)} features to {written} in "
          f"{time.perf_counter() - start:.1f} s.")
    for reason, count in report.dropped.items():
        if count:
            print(f"  dropped {count:,} rows: {reason.replace('_', ' ')}")
    print(f"  debounce {report.debounce_reason}; local time {report.time_zone} "
          f"({report.time_zone_reason})")
    if report.constant_event:
        print(f"  no event column: every row is one '{report.constant_event}' event")
    print_notices([*report.notices, *table.notices])
    return EXIT_OK


def _on_spark(args: argparse.Namespace, config):
    """The feature table and the report computed on Spark, and where, in words."""
    from core.spark.features import features_on_spark
    from core.spark.session import spark_session

    inputs = spark_inputs(args.input)
    spark = spark_session(args.master, args.driver_memory)
    try:
        table, report, _ = features_on_spark(
            spark, inputs, parse_mapping(args.map or []), config, source_name=args.input,
            progress=verbose_progress(args.verbose))
    finally:
        spark.stop()
    return table, report, f" on Spark ({args.master})"


#: Users per Parquet part file: a bigger feature table is written as a folder of parts.
PART_ROWS = 1_000_000


def write_features(frame: pd.DataFrame, out: Path, provenance: dict) -> str:
    """Write the feature table; a Parquet file says in its metadata how it was made
    (``persona_lens``: engine, source, master), which the Data page shows. Above
    :data:`PART_ROWS` users, ``.parquet`` is a folder of part files. Returns what was
    written, in words."""
    if out.suffix.lower() == ".csv":
        write_table(frame, out)
        return str(out)
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.common.export import PROVENANCE_KEY

    table = pa.Table.from_pandas(frame, preserve_index=True)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           PROVENANCE_KEY: json.dumps(provenance)})
    if len(frame) <= PART_ROWS:
        pq.write_table(table, out)
        return str(out)
    import pyarrow.dataset as ds

    ds.write_dataset(table, out, format="parquet", max_rows_per_file=PART_ROWS,
                     max_rows_per_group=min(PART_ROWS, 256_000),
                     existing_data_behavior="delete_matching")
    return f"{out}/ ({-(-len(frame) // PART_ROWS)} part files)"


def _payload(report, table, out: Path, notices: list) -> dict:
    """The ``--json`` output: what was read, kept and dropped (by reason), how, and every
    note of the reader, the cleaning and the features."""
    return {"output": str(out), "rows_read": report.rows_read, "rows_kept": report.rows_kept,
            "rows_dropped": report.rows_dropped, "dropped": report.dropped,
            "users": report.users, "sessions": report.sessions,
            "first_ts": report.first_ts, "last_ts": report.last_ts,
            "timestamp_format": report.timestamp_format,
            "debounce_seconds": report.debounce_seconds,
            "debounce_reason": report.debounce_reason, "time_zone": report.time_zone,
            "time_zone_reason": report.time_zone_reason,
            "constant_event": report.constant_event,
            "features": list(map(str, table.frame.columns)),
            "notices": [n.to_dict() for n in notices]}


def open_input(args: argparse.Namespace
               ) -> tuple[pd.DataFrame | Path, ColumnMapping, list[Notice]]:
    """The source, its guessed mapping and the reader's notes, with the read options
    (:func:`core.features.pipeline.read_source`)."""
    from core.data.readers import ReadOptions
    from core.features.pipeline import read_source

    options = ReadOptions(delimiter=DELIMITER_CHOICES[args.delimiter],
                          encoding=args.encoding, sheet=args.sheet)
    return read_source(Path(args.input), options)


def load_config(args: argparse.Namespace):
    """The cleaning settings of :func:`add_load_arguments`' options."""
    from core.data.cleaning import LoadConfig

    return LoadConfig(session_gap_minutes=args.session_gap, debounce_seconds=args.debounce,
                      user_sample_share=args.user_share, timestamp_unit=args.timestamp_format,
                      time_zone=args.time_zone, event_name=args.event_name,
                      exclude_bots=args.exclude_bots)


def mapped_input(args: argparse.Namespace
                 ) -> tuple[pd.DataFrame | Path, ColumnMapping, list[Notice]]:
    """The opened input with the ``--map`` overrides; the reader's notes are printed now,
    as they explain a failure of the load that follows."""
    source, mapping, read_notes = open_input(args)
    print_notices(read_notes)
    for role, column in parse_mapping(args.map or []).items():
        mapping = mapping.with_role(role, column)
    return source, mapping, read_notes
