"""``python -m core abtest INPUT --variant-col variant --metric converted [--json]``.

Analyses an A/B test from per-user rows (or aggregated rows with ``--users-col``) and
prints one sentence per metric, the numbers and the conventions, or the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import EXIT_OK
from core.common.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``abtest`` sub-command."""
    p = sub.add_parser("abtest", help="analyse an A/B test (per-user or aggregated rows)")
    p.add_argument("input", help="CSV, Parquet, JSON lines or Excel file")
    p.add_argument("--variant-col", help="column naming each row's variant (guessed)")
    p.add_argument("--control", help="the control's value (default: 'control' or first)")
    p.add_argument("--metric", action="append",
                   help="metric column; repeat for several (default: guessed). 0/1 or "
                        "true/false columns are conversions, others are means")
    p.add_argument("--pre-col", help="pre-period value of the metric, for CUPED")
    p.add_argument("--ts-col", help="timestamp column: timeline and peeking check")
    p.add_argument("--segment-col", help="segment column for the per-segment breakdown")
    p.add_argument("--users-col", help="aggregated rows: users per row")
    p.add_argument("--conversions-col", action="append", default=[],
                   help="aggregated rows: converted users (repeatable)")
    p.add_argument("--mean-cols", action="append", default=[], metavar="NAME:SUM:SUMSQ",
                   help="aggregated rows: numeric metric as sum and sum-of-squares columns")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--alternative", default="two-sided",
                   choices=["two-sided", "greater", "less"])
    p.add_argument("--correction", default="holm",
                   choices=["holm", "bonferroni", "fdr_bh", "none"])
    p.add_argument("--family", default="all", choices=["all", "per_metric"])
    p.add_argument("--interval", default="wald", choices=["wald", "newcombe"])
    p.add_argument("--split", help="planned split, e.g. 50,50 (default: equal)")
    p.add_argument("--prior", default="1,1", help="Beta prior alpha,beta (default 1,1)")
    p.add_argument("--bootstrap", action="store_true", help="add a bootstrap interval")
    p.add_argument("--sequential", action="store_true", help="add the always-valid p-value")
    p.add_argument("--no-rank-test", action="store_true", help="skip Mann-Whitney")
    p.add_argument("-o", "--output", help="also write the results table as CSV here")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_abtest)


def spec_from_args(args: argparse.Namespace, frame):
    """Build the ExperimentSpec from the arguments, guessing what is not given."""
    from core.experiments.inputs import ExperimentSpec, guess_columns, parse_numbers

    guess = guess_columns(frame)
    variant = args.variant_col or guess.variant
    if not variant:
        raise ConfigError("No variant column was recognised; name it with --variant-col.")
    mean_cols = []
    for item in args.mean_cols:
        parts = item.split(":")
        if len(parts) != 3:
            raise ConfigError(f"--mean-cols '{item}' must be NAME:SUM:SUMSQ.")
        mean_cols.append(tuple(parts))
    prior = parse_numbers(args.prior, "--prior")
    if prior is None or len(prior) != 2:
        raise ConfigError("--prior must be two numbers, e.g. 1,1.")
    common = dict(variant_col=variant, control=args.control, alpha=args.alpha,
                  alternative=args.alternative, correction=args.correction,
                  family=args.family, interval=args.interval,
                  planned_weights=parse_numbers(args.split, "--split"), prior=prior,
                  bootstrap=args.bootstrap, sequential=args.sequential,
                  rank_test=not args.no_rank_test)
    if args.users_col or (guess.layout == "aggregated" and not args.metric):
        return ExperimentSpec(layout="aggregated", users_col=args.users_col or guess.users,
                              conversion_cols=tuple(args.conversions_col or guess.conversions),
                              mean_cols=tuple(mean_cols or guess.mean_cols), **common)
    metrics = tuple(args.metric or guess.metrics)
    return ExperimentSpec(metrics=metrics, pre_col=args.pre_col, ts_col=args.ts_col,
                          segment_col=args.segment_col, **common)


def cmd_abtest(args: argparse.Namespace) -> int:
    """Analyse the input and print the results; return the exit code."""
    from core.common.export import safe_csv_bytes
    from core.experiments.analysis import analyse_experiment
    from core.experiments.inputs import read_experiment_path

    frame = read_experiment_path(args.input)
    analysis = analyse_experiment(frame, spec_from_args(args, frame))
    table = analysis.table()
    if args.output:
        Path(args.output).write_bytes(safe_csv_bytes(table, index=False))
    if args.json:
        payload = analysis.summary()
        payload["variants"], payload["users"] = analysis.variants, analysis.users
        payload["srm"] = {"statistic": analysis.srm.statistic,
                          "p_value": analysis.srm.p_value}
        payload["spec"] = analysis.spec.to_dict()
        print(json.dumps(payload, indent=2, default=str, allow_nan=False))
        return EXIT_OK
    for line in analysis.sentences:
        print(line)
    print()
    cols = ["metric", "variant", "control_value", "variant_value", "difference",
            "difference_ci_low", "difference_ci_high", "relative_lift", "p_value",
            "p_adjusted", "significant"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    users = ", ".join(f"{name} {count:,}" for name, count
                      in zip(analysis.variants, analysis.users, strict=True))
    print(f"\nUsers: {users}; sample ratio p = {analysis.srm.p_value:.3g}")
    for notice in analysis.notices:
        print(f"  {notice.level}: {notice.message}", file=sys.stderr)
    print("Conventions: " + "; ".join(analysis.conventions))
    return EXIT_OK
