"""``python -m core score NEW_INPUT --model model.json -o memberships.csv``.

Scores new users with a saved model (see :mod:`core.model.scoring`), for example from a
weekly scheduled job; ``--sql-out`` also writes the assignment as a SQL query.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    INPUT_FILE,
    TABLE_SUFFIXES,
    input_file,
    output_in,
    print_notices,
    write_table,
)
from core.cli.spark_options import (
    EVENTS_INPUT,
    add_engine_arguments,
    not_one_file,
    spark_inputs,
    write_spark_table,
)
from core.common.dialects import DIALECTS
from core.common.errors import ConfigError

#: A memberships output; with --engine spark a .parquet may be a folder Spark wrote.
SCORE_OUTPUT = output_in(TABLE_SUFFIXES, ".csv or .parquet", folders=True)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``score`` sub-command."""
    parser = sub.add_parser("score", help="assign new users to a saved model's personas")
    parser.add_argument("input", type=EVENTS_INPUT,
                        help="event file or per-user feature table of the new users; with "
                             "--engine spark a per-user feature table in Parquet: a file, "
                             "a folder or a glob (also s3a://, hdfs://, gs:// paths)")
    parser.add_argument("--model", required=True, type=INPUT_FILE,
                        help="model JSON (cluster --model-out, or "
                                                       "the app's Export page)")
    parser.add_argument("-o", "--output", required=True, type=SCORE_OUTPUT,
                        help="memberships.csv or .parquet (with --engine spark, .parquet "
                             "is a folder of part files)")
    parser.add_argument("--user-column", default="user_id",
                        help="with --engine spark: the feature table's user id column "
                             "(default: user_id)")
    add_engine_arguments(parser)
    parser.add_argument("--sql-out", type=output_in((".sql",), ".sql"),
                        help="also write the assignment as a SQL query here")
    parser.add_argument("--table", default="features",
                        help="feature table the SQL query reads (default: features)")
    parser.add_argument("--sql-dialect", default="duckdb", choices=list(DIALECTS),
                        help="the warehouse the SQL query is written for (default: duckdb)")
    parser.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace) -> int:
    """Score the input and write the memberships (and the SQL); return the exit code."""
    from core.model.portable import ScoringModel, read_model
    from core.model.sql import assignment_sql

    if args.engine != "spark" and (refused := not_one_file(args.input)) is not None:
        print(f"python -m core score: error: {refused}", file=sys.stderr)
        return EXIT_USAGE
    start = time.perf_counter()
    # Rebuilt once here and shared by the scoring and the SQL.
    model = ScoringModel.from_dict(read_model(args.model))
    if args.sql_out:
        Path(args.sql_out).write_text(assignment_sql(model, args.table,
                                                     dialect=args.sql_dialect),
                                      encoding="utf-8")
    if args.engine == "spark":
        _score_on_spark(args, model, start)
    else:
        _score_here(args, model, start)
    if args.sql_out:
        print(f"Wrote the assignment query ({DIALECTS[args.sql_dialect]}) to "
              f"{args.sql_out}.")
    return EXIT_OK


def _score_on_spark(args: argparse.Namespace, model, start: float) -> None:
    from core.spark.scoring import read_parquet, score_on_spark
    from core.spark.session import spark_session

    inputs = spark_inputs(args.input)
    spark = spark_session(args.master, args.driver_memory)
    try:
        result = score_on_spark(spark, read_parquet(spark, inputs), model, args.user_column)
        written = write_spark_table(result.memberships, args.output)
        sizes = ", ".join(f"{k}: {v:,}" for k, v in result.sizes.items())
        print(f"Scored {result.scored:,} of {result.users_in:,} users on Spark "
              f"({args.master}; {sizes}); wrote {written} in "
              f"{time.perf_counter() - start:.1f} s.")
        print_notices(result.notices)
    finally:
        spark.stop()


def _score_here(args: argparse.Namespace, model, start: float) -> None:
    from core.model.scoring import score_file

    out = args.output
    if out.is_dir():
        raise ConfigError(f"Output '{out}' is a folder; give a file name.")
    result = score_file(input_file(args.input), model)
    data = result.memberships
    write_table(data, out)
    sizes = result.sizes()
    print(f"Scored {len(data):,} of {result.users_in:,} users "
          f"({', '.join(f'{k}: {v:,}' for k, v in sizes.items())}); wrote {out} in "
          f"{time.perf_counter() - start:.1f} s.")
    if result.excluded:
        print(f"  left out {result.excluded:,} users (missing values)")
    print_notices(result.notices)
