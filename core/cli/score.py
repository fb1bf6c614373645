"""``python -m core score NEW_INPUT --model model.json -o memberships.csv``.

Scores new users with a saved model (see :mod:`core.model.scoring`), for example from a
weekly scheduled job; ``--sql-out`` also writes the assignment as a SQL query.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.cli.common import (
    EXIT_OK,
    INPUT_FILE,
    TABLE_OUTPUT,
    output_in,
    print_notices,
    write_table,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``score`` sub-command."""
    parser = sub.add_parser("score", help="assign new users to a saved model's personas")
    parser.add_argument("input", type=INPUT_FILE,
                        help="event file or per-user feature table of the new users")
    parser.add_argument("--model", required=True, type=INPUT_FILE,
                        help="model JSON (cluster --model-out, or "
                                                       "the app's Export page)")
    parser.add_argument("-o", "--output", required=True, type=TABLE_OUTPUT,
                        help="memberships.csv or .parquet")
    parser.add_argument("--sql-out", type=output_in((".sql",), ".sql"),
                        help="also write the assignment as a SQL query here")
    parser.add_argument("--table", default="features",
                        help="feature table the SQL query reads (default: features)")
    parser.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace) -> int:
    """Score the input and write the memberships (and the SQL); return the exit code."""
    from core.model.portable import ScoringModel, read_model
    from core.model.scoring import score_file
    from core.model.sql import assignment_sql

    out = args.output
    start = time.perf_counter()
    # Rebuilt once here and shared by the scoring and the SQL.
    model = ScoringModel.from_dict(read_model(args.model))
    result = score_file(args.input, model)
    data = result.memberships
    write_table(data, out)
    sizes = result.sizes()
    print(f"Scored {len(data):,} of {result.users_in:,} users "
          f"({', '.join(f'{k}: {v:,}' for k, v in sizes.items())}); wrote {out} in "
          f"{time.perf_counter() - start:.1f} s.")
    if result.excluded:
        print(f"  left out {result.excluded:,} users (missing values)")
    print_notices(result.notices)
    if args.sql_out:
        Path(args.sql_out).write_text(assignment_sql(model, args.table), encoding="utf-8")
        print(f"Wrote the assignment query to {args.sql_out}.")
    return EXIT_OK
