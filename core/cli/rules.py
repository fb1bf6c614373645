"""``python -m core rules RULES.json INPUT -o actions.csv``: evaluate rules headlessly.

INPUT is an event file (features, behavior signals and windowed counts are computed,
"now" is its last timestamp) or a per-user feature table (feature rules only).
``--personas`` gives each user's persona (a table with ``user_id`` and ``persona`` or
``cluster``, e.g. the output of ``python -m core cluster``); ``--segments`` gives segment
members in long form (``segment``, ``user_id``). The output has one row per user and
slot a rule reaches: action, winning rule, explanation and the hold-out flag.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from core.cli.common import EXIT_OK, INPUT_FILE, TABLE_OUTPUT, print_notices, write_table
from core.common.errors import ConfigError, DataError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``rules`` sub-command."""
    parser = sub.add_parser("rules", help="evaluate personalization rules on users")
    parser.add_argument("rules", type=INPUT_FILE, help="rules JSON exported from the Rules page")
    parser.add_argument("input", type=INPUT_FILE, help="event file, or per-user feature table")
    parser.add_argument("-o", "--output", required=True, type=TABLE_OUTPUT,
                        help="actions.csv or .parquet")
    parser.add_argument("--personas", type=INPUT_FILE,
                        help="table of user_id and persona (or cluster)")
    parser.add_argument("--segments", type=INPUT_FILE,
                        help="table of segment and user_id (long form)")
    parser.add_argument("--holdouts", type=TABLE_OUTPUT,
                        help="also write the hold-out group of every user for "
                                           "every rule with a hold-out here (CSV/Parquet)")
    parser.add_argument("--recommendations", type=INPUT_FILE,
                        help="per-user recommendations (the CSV of `python -m core "
                             "recommend`): users served recommendation_carousel get "
                             "their items in an items column")
    parser.set_defaults(func=cmd_rules)


def cmd_rules(args: argparse.Namespace) -> int:
    """Evaluate the rules on the input and write the actions; return the exit code."""
    from core.rules import evaluation_table, holdout_table, read_rules, simulate

    out = args.output
    start = time.perf_counter()
    path = Path(args.rules)
    if not path.exists():
        raise ConfigError(f"Rules file '{path}' does not exist. Export it from the Rules page.")
    rule_set = read_rules(path.read_bytes())
    context = context_from_file(args.input, rule_set, args.personas, args.segments)
    simulation = simulate(rule_set, context)
    table = evaluation_table(simulation, context)
    table = _with_recommended_items(table, rule_set, args.recommendations)
    write_table(table, out, index=False)
    n = len(context.users)
    print(f"Evaluated {len(simulation.rules)} rule(s) on {n:,} users: "
          f"{n - len(simulation.unreached):,} reached ({simulation.reached_share:.1%}), "
          f"{simulation.conflicted_users():,} in a conflict; wrote {len(table):,} rows to "
          f"{out} in {time.perf_counter() - start:.1f} s.")
    for row in simulation.reach.itertuples():
        print(f"  {row.rule_id}: {row.users:,} users ({row.share:.1%}), wins {row.wins:,}, "
              f"held out {row.held_out:,}")
    print_notices(simulation.notices)
    if args.holdouts:
        holdouts = args.holdouts
        write_table(holdout_table(simulation.rules, context.users), holdouts, index=False)
        print(f"Wrote hold-out groups to {holdouts}.")
    return EXIT_OK


def _with_recommended_items(table: pd.DataFrame, rule_set, path: str | None) -> pd.DataFrame:
    """The table with the users' recommended items when a file of them is given; a note
    when a rule shows them and none is."""
    import sys

    from core.data.readers import read_path
    from core.rules import with_items
    from core.rules.model import RECOMMENDATION_MODULES

    if path is None:
        if any(r.enabled and r.action.module in RECOMMENDATION_MODULES for r in rule_set.rules):
            print("  note: a rule shows recommendation_carousel; pass --recommendations "
                  "recs.csv (from `python -m core recommend`) to list each user's items.",
                  file=sys.stderr)
        return table
    recs = read_path(path).frame
    missing = {"user_id", "rank", "item"} - set(recs.columns)
    if missing:
        raise DataError(f"The recommendations file has no {', '.join(sorted(missing))} "
                        "column; write it with `python -m core recommend`.")
    recs = recs.assign(user_id=recs["user_id"].astype(str)).sort_values(["user_id", "rank"])
    items = recs.groupby("user_id", sort=False)["item"].agg(
        lambda values: "; ".join(map(str, values)))
    return with_items(table, items)


def context_from_file(input_path: str, rule_set, personas: str | None = None,
                      segments: str | None = None):
    """The evaluation context of an input file (see the module docstring)."""
    from core.data.cleaning import LoadConfig, clean_events
    from core.data.mapping import guess_event_roles
    from core.features.pipeline import read_source
    from core.features.signals import SIGNAL_DEFINITIONS, behavior_signals
    from core.features.table import FeatureConfig, user_features
    from core.rules import (
        build_context,
        count_columns,
        event_names,
        window_counts_needed,
    )

    source, mapping, notes = read_source(input_path)
    print_notices(notes)
    persona = _personas(personas) if personas else None
    members = _segments(segments) if segments else {}
    if not mapping.get("ts"):
        from core.model.fitting import load_feature_table  # scikit-learn: only for user tables

        features = load_feature_table(input_path).frame
        return build_context(features, persona=persona, segments=members)
    cleaned = clean_events(source, mapping, LoadConfig(), source_name=Path(input_path).name)
    print_notices(cleaned.report.notices)
    events = cleaned.events
    roles = guess_event_roles(events["event"].unique())
    features = user_features(events, FeatureConfig(event_roles=roles)).frame
    signals = behavior_signals(events, roles, users=features.index)
    counts = window_counts_needed(rule_set.enabled())
    count_frame = count_columns(events, roles, counts, signals.now, features.index) \
        if counts else None
    return build_context(features, signals.frame, persona, members, count_frame,
                         event_names(events, roles), signals.now, dict(SIGNAL_DEFINITIONS))


def _read_table(path: str) -> pd.DataFrame:
    from core.data.readers import ReadOptions, read_path

    if not Path(path).exists():
        raise DataError(f"File '{path}' does not exist. Check the path.")
    frame = read_path(path, ReadOptions()).frame
    if "user_id" not in frame.columns:
        raise DataError(f"'{Path(path).name}' has no user_id column "
                        f"(columns: {', '.join(map(str, frame.columns))}).")
    frame["user_id"] = frame["user_id"].astype(str)
    return frame


def _personas(path: str) -> pd.Series:
    frame = _read_table(path)
    column = next((c for c in ("persona", "cluster") if c in frame.columns), None)
    if column is None:
        raise DataError(f"'{Path(path).name}' needs a persona or cluster column next to "
                        "user_id.")
    return frame.set_index("user_id")[column].astype(str)


def _segments(path: str) -> dict[str, pd.Index]:
    frame = _read_table(path)
    if "segment" not in frame.columns:
        raise DataError(f"'{Path(path).name}' needs a segment column next to user_id.")
    return {str(name): pd.Index(ids) for name, ids in frame.groupby("segment")["user_id"]}

