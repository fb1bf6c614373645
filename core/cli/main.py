"""Command line: the headless twin of the app.

    python -m core sample -o events.parquet --users 5000 --seed 42
    python -m core features events.parquet -o features.csv --map ts=event_time --session-gap 30m
    python -m core cluster events.parquet --algorithm kmeans --k 6 -o segments.csv \\
        --model-out model.json
    python -m core sweep features.csv --k 2-10 --json

Exit codes: 0 done, 2 bad arguments, 3 the data or a setting cannot be used (the
message says why and what to do), 1 an unexpected error (a bug: one line, the
traceback with PERSONA_LENS_DEBUG=1), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys

from core.cli import (
    abtest,
    cluster,
    features,
    journeys,
    predict,
    recommend,
    report,
    rules,
    sample,
    score,
    workspaces,
)
from core.cli.common import EXIT_BUG, EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE
from core.common.errors import PersonaLensError

#: Every sub-command module, in the order ``--help`` lists them. Each adds its parsers
#: through ``register(subparsers)`` and sets ``func`` (parsed arguments -> exit code).
COMMANDS = (sample, features, cluster, score, report, rules, abtest, journeys, predict,
            recommend, workspaces)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem (or --help)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.func(args)
    except PersonaLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except OSError as exc:  # a file vanished, a disk filled, a permission changed
        where = f" '{exc.filename}'" if exc.filename else ""
        print(f"error: cannot read or write{where}: {exc.strerror or exc}. Check the path "
              "and the free space.", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        # A bug: one line for the analyst; the traceback when asked for, to report it.
        if os.environ.get("PERSONA_LENS_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}. This is a bug in Persona "
              "Lens; run again with PERSONA_LENS_DEBUG=1 to see where it happened.",
              file=sys.stderr)
        return EXIT_BUG
