"""``python -m core recommend``: per-user recommendations of an event file, and their
offline evaluation, the headless twin of the Recommendations page.

    python -m core recommend events.parquet -o recs.csv --method item_item -n 10
    python -m core recommend events.parquet --weights product_view=1,add_to_cart=3,purchase=5 \\
        --evaluate --cutoff 2026-06-01

The file is read and cleaned like ``features`` (the same options). Without
``--weights`` the funnel events guessed from the names get product view 1, cart add 3,
purchase 5. ``--groups FILE`` or ``--model model.json`` give each user a persona: users
without history then get their persona's popular items, and the evaluation is broken
down per persona.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd

from core.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    INPUT_FILE,
    TABLE_OUTPUT,
    argument,
    number,
    print_notices,
    verbose_progress,
    write_table,
)
from core.cli.features import add_load_arguments
from core.cli.journeys import GROUP_COLUMNS, load_events, load_groups
from core.common.errors import ConfigError
from core.recommend.interactions import DEFAULT_ITEM_COLUMN, MAX_WEIGHT
from core.recommend.methods import REGISTRY

DEFAULT_METHOD = "item_item"
MAX_N = 100


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``recommend`` sub-command."""
    parser = sub.add_parser("recommend", help="per-user recommendations from similar users, "
                                              "and their offline evaluation")
    parser.add_argument("input", type=INPUT_FILE, help="events file (as for features)")
    parser.add_argument("-o", "--output", type=TABLE_OUTPUT,
                        help="write every user's top-N with reasons here (.csv or .parquet)")
    parser.add_argument("--method", choices=list(REGISTRY), default=DEFAULT_METHOD,
                        help=f"how to recommend (default {DEFAULT_METHOD}); "
                             + "; ".join(f"{k}: {m.label}" for k, m in REGISTRY.items()))
    parser.add_argument("-n", type=number(1, MAX_N, integer=True), default=10,
                        help=f"items per user (1-{MAX_N}, default 10)")
    parser.add_argument("--weights", type=argument(parse_weights),
                        help="event weights, e.g. product_view=1,add_to_cart=3,purchase=5 "
                             "(default: the funnel events guessed from their names)")
    parser.add_argument("--item-col", default=DEFAULT_ITEM_COLUMN,
                        help=f"the column that names the items (default {DEFAULT_ITEM_COLUMN})")
    parser.add_argument("--evaluate", action="store_true",
                        help="score every method and the popularity baseline on a time split")
    parser.add_argument("--cutoff", type=argument(parse_date),
                        help="with --evaluate: learn before this day (YYYY-MM-DD, UTC), test "
                             "from it on (default: the last fifth of the interactions)")
    parser.add_argument("-k", type=number(1, MAX_N, integer=True), default=10,
                        help="with --evaluate: list length scored (default 10)")
    parser.add_argument("--evaluation-out", type=TABLE_OUTPUT,
                        help="with --evaluate: also write the metrics table here")
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--groups", type=INPUT_FILE,
                       help="table of user id and persona (e.g. the Export page's segments "
                            "CSV)")
    split.add_argument("--model", type=INPUT_FILE, help="model JSON: each user's persona")
    parser.add_argument("--group-col", help="the group column of --groups (default: "
                                            + ", ".join(GROUP_COLUMNS) + ", the first found)")
    add_load_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress")
    parser.add_argument("--json", action="store_true",
                        help="print the summary, the evaluation and every notice as JSON")
    parser.set_defaults(func=cmd_recommend, usage=parser.format_usage())


def parse_weights(text: str) -> dict[str, float]:
    """``event=weight,event=weight`` as a dict; 0 leaves an event out."""
    weights = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        event, sep, value = part.rpartition("=")
        if not sep or not event.strip():
            raise ConfigError(f"'{part}' must be EVENT=WEIGHT, e.g. purchase=5.")
        try:
            weight = float(value)
        except ValueError:
            raise ConfigError(f"The weight in '{part}' is not a number.") from None
        if not 0 <= weight <= MAX_WEIGHT:  # also refuses nan
            raise ConfigError(f"The weight in '{part}' must be from 0 to {MAX_WEIGHT:g}.")
        weights[event.strip()] = weight
    if not any(w > 0 for w in weights.values()):
        raise ConfigError(f"'{text}' gives no event a weight above 0.")
    return weights


def parse_date(text: str) -> str:
    """A cutoff day, YYYY-MM-DD."""
    try:
        return pd.Timestamp(text).strftime("%Y-%m-%d") if len(text.strip()) == 10 else \
            _bad_date(text)
    except ValueError:
        return _bad_date(text)


def _bad_date(text: str) -> str:
    raise ConfigError(f"'{text}' is not a date; give one as YYYY-MM-DD, e.g. 2026-06-01.")


def _check_combination(args: argparse.Namespace) -> str | None:
    """What is wrong with the options together, or None."""
    if not args.output and not args.evaluate:
        return "give -o FILE to write the recommendations, --evaluate, or both"
    if not args.evaluate and (args.cutoff or args.evaluation_out):
        return "--cutoff and --evaluation-out need --evaluate"
    return None


def _weights(args: argparse.Namespace, events: pd.DataFrame) -> dict[str, float]:
    from core.data.mapping import guess_event_roles
    from core.workspace.recommend import role_weights

    if args.weights:
        return args.weights
    names = events["event"].astype(str).unique()
    weights = role_weights(guess_event_roles(names), events, args.item_col)
    if not weights:
        raise ConfigError("No funnel event (product view, add to cart, purchase) was "
                          "recognised and no event names an item; give --weights.")
    print("Weights: " + ", ".join(f"{e}={w:g}" for e, w in weights.items())
          + " (give --weights to choose).", file=sys.stderr)
    return weights


def cmd_recommend(args: argparse.Namespace) -> int:
    """Recommend for every user (and evaluate); return the exit code."""
    from core.recommend import build_interactions, evaluate, make, recommend_users
    from core.recommend.methods import available

    problem = _check_combination(args)
    if problem:  # a bad command line, as argparse reports one
        print(f"{args.usage}python -m core recommend: error: {problem}.", file=sys.stderr)
        return EXIT_USAGE
    start = time.perf_counter()
    events, _ = load_events(args)
    groups = load_groups(args)
    weights = _weights(args, events)
    interactions = build_interactions(events, weights, args.item_col)
    print(f"Interactions: {interactions.n_users:,} users, {interactions.n_items:,} items, "
          f"{int(interactions.counts.sum()):,} weighted events.", file=sys.stderr)
    notices = list(interactions.notices)
    payload: dict = {"weights": weights, "method": args.method, "n": args.n,
                     "users": interactions.n_users, "items": interactions.n_items}
    if args.output:
        model = make(args.method, groups=groups,
                     progress=verbose_progress(args.verbose)).fit(interactions)
        result = recommend_users(model, args.n, events["user_id"].astype(str).unique(),
                                 groups, method_key=args.method)
        write_table(result.table.assign(method=args.method), args.output, index=False)
        notices += result.notices
        payload.update(output=str(args.output), rows=len(result.table))
        if not args.json:
            print(f"Wrote {len(result.table):,} recommendations "
                  f"({result.table['user_id'].nunique():,} users × {args.n}, "
                  f"{REGISTRY[args.method].label}) to {args.output} in "
                  f"{time.perf_counter() - start:.1f} s.")
    if args.evaluate:
        evaluation = evaluate(events, weights, available(groups is not None), args.k,
                              args.cutoff, groups, item_column=args.item_col,
                              progress=verbose_progress(args.verbose))
        notices += [n for n in evaluation.notices if n not in notices]
        if args.evaluation_out:
            write_table(evaluation.table, args.evaluation_out, index=False)
        payload.update(cutoff=str(evaluation.cutoff.date()), k=evaluation.k,
                       users_scored=evaluation.users_scored,
                       convention=evaluation.convention,
                       evaluation=evaluation.table.to_dict("records"))
        if not args.json:
            _print_evaluation(evaluation)
    if args.json:
        print(json.dumps({**payload, "notices": [n.to_dict() for n in notices]}, indent=2,
                         default=str))
        return EXIT_OK
    print_notices(n for n in notices if n.code != "evaluation_convention")
    return EXIT_OK


def _print_evaluation(evaluation) -> None:
    from core.recommend.evaluation import ALL_USERS, METRICS, metric_label

    k = evaluation.k
    print(f"Evaluation at k = {k}, cutoff {evaluation.cutoff:%Y-%m-%d} UTC, "
          f"{evaluation.users_scored:,} users scored:")
    headers = [metric_label(m, k) for m in METRICS]
    print(f"  {'method':<28}{'group':<20}{'users':>7}" + "".join(f"{h:>15}" for h in headers))
    for row in evaluation.table.itertuples(index=False):
        group = "everyone" if row.group == ALL_USERS else str(row.group)[:19]
        print(f"  {row.label:<28}{group:<20}{row.users:>7,}"
              + "".join(f"{getattr(row, m):>15.4f}" for m in METRICS))
    print(f"  {evaluation.convention}")
