"""``python -m core sample``: write the generated sample shop's events."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.cli.common import (
    EXIT_OK,
    MAX_SAMPLE_DAYS,
    MAX_SAMPLE_USERS,
    TABLE_OUTPUT,
    number,
    write_table,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sample`` sub-command."""
    parser = sub.add_parser("sample", help="write the generated sample shop's events")
    parser.add_argument("-o", "--output", required=True, type=TABLE_OUTPUT,
                        help="events.parquet or events.csv")
    parser.add_argument("--users", type=number(10, MAX_SAMPLE_USERS, integer=True), default=5000)
    parser.add_argument("--days", type=number(7, MAX_SAMPLE_DAYS, integer=True), default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--truth", type=TABLE_OUTPUT,
                        help="also write the planted persona and churn day (empty for "
                             "users who stay) of each user here")
    parser.add_argument("--experiment", type=TABLE_OUTPUT,
                        help="also write the A/B experiment table here")
    parser.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    """Generate and write the sample; return the exit code."""
    from core.data.sample import write_sample

    out = args.output
    start = time.perf_counter()
    sample = write_sample(out, n_users=args.users, days=args.days, seed=args.seed)
    print(f"Wrote {len(sample.events):,} events of {args.users:,} users over {args.days} days "
          f"to {out} in {time.perf_counter() - start:.1f} s.")
    if args.truth:
        write_table(sample.personas.set_index("user_id"), Path(args.truth))
        print(f"Wrote the planted personas and churn days to {args.truth}.")
    if args.experiment:
        write_table(sample.experiment.set_index("user_id"), Path(args.experiment))
        print(f"Wrote the A/B experiment table ({len(sample.experiment):,} users) to "
              f"{args.experiment}.")
    return EXIT_OK
