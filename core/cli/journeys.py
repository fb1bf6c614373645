"""The journey commands, headless twins of the Journeys pages.

    python -m core funnel events.parquet --steps product_view,add_to_cart,purchase -o funnel.csv
    python -m core paths events.parquet --start product_view --steps 5 -o paths.csv
    python -m core patterns events.parquet --min-support 0.02 --max-length 4 -o patterns.csv
    python -m core retention events.parquet --period week -o retention.csv

Each reads and cleans the event file like ``features`` (the same options), and splits
by group with ``--groups FILE`` (a table of user id and group, such as the Export page's
segment CSV; ``--group-col`` names the column) or ``--model model.json`` (each user's
persona from a saved model). ``--json`` prints the result and its notices as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from core.cli.common import (
    EXIT_OK,
    INPUT_FILE,
    TABLE_OUTPUT,
    argument,
    number,
    print_notices,
    write_table,
)
from core.cli.features import add_load_arguments, load_config, mapped_input
from core.common.errors import ConfigError
from core.common.notices import Notice

#: Group columns tried in this order when --group-col is not given.
GROUP_COLUMNS = ("persona", "winning_segment", "segment", "group", "cluster")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``funnel``, ``paths``, ``patterns`` and ``retention`` sub-commands."""
    funnel = _parser(sub, "funnel", "conversion through ordered steps, per group")
    funnel.add_argument("--steps", required=True, type=argument(_steps),
                        help="2-8 events in order, comma-separated; a step may carry a "
                             "property filter: add_to_cart[category=shoes]")
    funnel.add_argument("--window", default="7d", type=argument(_window),
                        help="conversion window from the first step (e.g. 7d, 48h; "
                             "default 7d)")
    funnel.add_argument("--order", choices=("ordered", "any"), default="ordered",
                        help="steps in the given order (other events between allowed), or "
                             "in any order")
    funnel.set_defaults(func=cmd_funnel)

    path = _parser(sub, "paths", "the events users take after (or before) an event")
    anchor = path.add_mutually_exclusive_group(required=True)
    anchor.add_argument("--start", help="follow users from their first time of this event")
    anchor.add_argument("--end", help="the events before users' first time of this event")
    path.add_argument("--steps", type=number(1, 10, integer=True), default=5,
                      help="steps to follow (1-10, default 5)")
    path.add_argument("--top", type=number(1, 20, integer=True), default=6,
                      help="events kept per step; the rest are 'other' (default 6)")
    path.add_argument("--keep-repeats", action="store_true",
                      help="keep an event repeated in a row (default: collapsed)")
    path.add_argument("--within-session", action="store_true",
                      help="stop each path at the end of its session")
    path.set_defaults(func=cmd_paths)

    pattern = _parser(sub, "patterns", "frequent event sequences (PrefixSpan), per group")
    pattern.add_argument("--unit", choices=("session", "user"), default="session",
                         help="sequences are sessions (default) or whole user histories")
    pattern.add_argument("--min-support", type=number(0, 1, low_open=True), default=0.02,
                         help="share of sequences a pattern is in, at least (default 0.02)")
    pattern.add_argument("--max-length", type=number(1, 8, integer=True), default=4,
                         help="longest pattern (default 4)")
    pattern.add_argument("--max-gap", type=number(0, 100, integer=True), default=None,
                         help="events allowed between a pattern's events (default: any)")
    pattern.add_argument("--keep-repeats", action="store_true",
                         help="keep an event repeated in a row (default: collapsed)")
    pattern.set_defaults(func=cmd_patterns)

    cohort = _parser(sub, "retention", "cohort retention by first-seen week or month")
    cohort.add_argument("--period", choices=("week", "month"), default="week",
                        help="cohorts and periods: ISO weeks (Monday) or months")
    cohort.add_argument("--mode", choices=("n_period", "unbounded"), default="n_period",
                        help="active in exactly period k, or in period k or later")
    cohort.add_argument("--max-periods", type=number(1, 104, integer=True), default=12,
                        help="periods after the first to count (default 12)")
    cohort.add_argument("--lifecycle-out", type=TABLE_OUTPUT,
                        help="also write new, returning, resurrected and dormant users per "
                             "period here")
    cohort.set_defaults(func=cmd_retention)


def _parser(sub: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text)
    parser.add_argument("input", type=INPUT_FILE, help="events file (as for features)")
    parser.add_argument("-o", "--output", required=True, type=TABLE_OUTPUT,
                        help="the result table, .csv or .parquet")
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--groups", type=INPUT_FILE,
                       help="table of user id and group (e.g. the Export page's segments "
                            "CSV) to split by")
    split.add_argument("--model", type=INPUT_FILE,
                       help="model JSON: split by each user's persona")
    parser.add_argument("--group-col", help="the group column of --groups (default: "
                                            + ", ".join(GROUP_COLUMNS) + ", the first found)")
    add_load_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print the result and its notices as JSON")
    return parser


def _steps(text: str):
    from core.journeys import Step

    steps = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        event, _, rest = part.partition("[")
        filters = ()
        if rest:
            if not rest.endswith("]") or "=" not in rest:
                raise ConfigError(f"'{part}': write a filter as event[property=value].")
            key, _, value = rest[:-1].partition("=")
            filters = ((key.strip(), value.strip()),)
        steps.append(Step(event.strip(), filters))
    if not 2 <= len(steps) <= 8:
        raise ConfigError(f"A funnel has 2 to 8 steps; '{text}' has {len(steps)}.")
    return tuple(steps)


def _window(text: str) -> pd.Timedelta:
    from core.rules.model import parse_window

    amount, unit = parse_window(text.strip())
    return pd.Timedelta(days=amount) if unit == "d" else pd.Timedelta(hours=amount)


# --------------------------------------------------------------------------- loading
def load_events(args: argparse.Namespace) -> tuple[pd.DataFrame, str | None]:
    """The cleaned events of the input and the data's time zone; the load summary on
    standard error."""
    import sys

    from core.data.cleaning import clean_events

    source, mapping, _ = mapped_input(args)
    result = clean_events(source, mapping, load_config(args), source_name=Path(args.input).name)
    report = result.report
    print(f"Read {report.rows_read:,} rows, kept {report.rows_kept:,} ({report.users:,} users, "
          f"{report.sessions:,} sessions).", file=sys.stderr)
    print_notices(report.notices)
    return result.events, report.time_zone


def load_groups(args: argparse.Namespace) -> pd.Series | None:
    """Each user's group from --groups or --model, or None."""
    if args.model:
        from core.model.portable import ScoringModel, read_model
        from core.model.scoring import score_file

        scored = score_file(args.input, ScoringModel.from_dict(read_model(args.model)))
        frame = scored.memberships
        column = "persona" if "persona" in frame.columns else "cluster"
        return frame[column].astype(str).rename("group")
    if not args.groups:
        return None
    from core.data.readers import read_path

    table = read_path(args.groups).frame
    user = next((c for c in table.columns if str(c).lower() in ("user_id", "userid", "user")),
                table.columns[0])
    column = args.group_col or next((c for c in GROUP_COLUMNS if c in table.columns), None)
    if column is None or column not in table.columns:
        raise ConfigError(f"The groups file has no column '{column or ' or '.join(GROUP_COLUMNS)}'"
                          f"; its columns: {', '.join(map(str, table.columns))}. Name one with "
                          "--group-col.")
    return table.set_index(table[user].astype(str))[column].astype(str).rename("group")


def finish(args: argparse.Namespace, table: pd.DataFrame, notices: list[Notice],
           summary: str, extra: dict | None = None, start: float = 0.0) -> int:
    """Write the table, then print the summary and notices (or the JSON)."""
    write_table(table, args.output, index=False)
    if args.json:
        print(json.dumps({"output": str(args.output), "rows": len(table), **(extra or {}),
                          "notices": [n.to_dict() for n in notices]}, indent=2, default=str))
        return EXIT_OK
    print(f"{summary}; wrote {len(table):,} rows to {args.output} in "
          f"{time.perf_counter() - start:.1f} s.")
    print_notices(notices)
    return EXIT_OK


# --------------------------------------------------------------------------- commands
def cmd_funnel(args: argparse.Namespace) -> int:
    """Count the funnel and write its steps per group."""
    from core.journeys import FunnelSpec, funnel

    start = time.perf_counter()
    events, _ = load_events(args)
    result = funnel(events, FunnelSpec(args.steps, args.window, args.order), load_groups(args))
    overall = result.overall
    last = overall.iloc[-1]
    summary = (f"{int(overall.iloc[0]['users']):,} users entered, {int(last['users']):,} "
               f"reached '{last['label']}' ({last['conversion_from_first']:.1%})")
    extra = {"convention": result.convention, "steps": overall.to_dict("records")}
    test = result.test
    if test is not None:
        summary += f"; across groups χ² = {test.statistic:.2f}, p = {test.p_value:.3g}"
        extra["test"] = {"statistic": test.statistic, "dof": test.dof,
                         "p_value": test.p_value}
    return finish(args, result.steps, list(result.notices), summary, extra, start)


def cmd_paths(args: argparse.Namespace) -> int:
    """Follow the paths and write the Sankey's links."""
    from core.journeys import paths

    start = time.perf_counter()
    events, _ = load_events(args)
    result = paths(events, start=args.start, end=args.end, steps=args.steps,
                   groups=load_groups(args), top=args.top,
                   collapse_repeats=not args.keep_repeats, within_session=args.within_session)
    summary = f"{result.users:,} users {'from' if args.start else 'to'} '{result.anchor}'"
    return finish(args, result.links, list(result.notices), summary,
                  {"convention": result.convention, "users": result.users}, start)


def cmd_patterns(args: argparse.Namespace) -> int:
    """Mine frequent sequences (and, split, the ones that set each group apart)."""
    from core.journeys import build_sequences, distinguishing_patterns, frequent_patterns

    start = time.perf_counter()
    events, _ = load_events(args)
    sequences = build_sequences(events, unit=args.unit, collapse_repeats=not args.keep_repeats)
    groups = load_groups(args)
    settings = {"min_support": args.min_support, "max_length": args.max_length,
                "max_gap": args.max_gap}
    if groups is None:
        result = frequent_patterns(sequences, **settings)
        return finish(args, result.table, list(result.notices),
                      f"{len(result.table):,} frequent patterns", {"convention":
                                                                   result.convention}, start)
    table = distinguishing_patterns(sequences, groups, **settings)
    significant = int(table["significant"].sum()) if len(table) else 0
    return finish(args, table, list(table.attrs.get("notices", [])),
                  f"{len(table):,} patterns compared across groups, {significant:,} "
                  "significant (Benjamini-Hochberg)",
                  {"convention": table.attrs.get("convention")}, start)


def cmd_retention(args: argparse.Namespace) -> int:
    """Count cohort retention (and the lifecycle)."""
    from core.journeys import lifecycle, retention

    start = time.perf_counter()
    events, zone = load_events(args)
    groups = load_groups(args)
    result = retention(events, period=args.period, mode=args.mode, groups=groups,
                       max_periods=args.max_periods, tz=zone)
    if args.lifecycle_out:
        life = lifecycle(events, period=args.period, groups=groups, tz=zone)
        write_table(life, args.lifecycle_out, index=False)
    cohorts = result.table["cohort"].nunique()
    return finish(args, result.table, list(result.notices),
                  f"{cohorts:,} {args.period}ly cohorts", {"convention": result.convention},
                  start)
