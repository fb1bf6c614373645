"""``python -m core abtest INPUT --variant-col variant --metric converted [--json]``.

Analyses an A/B test from per-user rows (or aggregated rows with ``--users-col``) and
prints one sentence per metric, the numbers and the conventions, or the same as JSON.
Alarms (sample ratio mismatch, too few users: the error-level notices) are printed on
standard output above the verdict and are a field of the JSON; every notice also goes
to standard error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.cli.common import EXIT_OK, INPUT_FILE, number, output_in, print_notices
from core.common.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``abtest`` sub-command."""
    p = sub.add_parser("abtest", help="analyse an A/B test (per-user or aggregated rows)")
    p.add_argument("input", type=INPUT_FILE, help="CSV, Parquet, JSON lines or Excel file")
    p.add_argument("--variant-col", help="column naming each row's variant (guessed)")
    p.add_argument("--control", help="the control's value (default: the variant named "
                                     "control, baseline, base, A, default, original or "
                                     "champion, else the one with the most users)")
    p.add_argument("--metric", action="append",
                   help="metric column; repeat for several (default: the yes/no columns "
                        "and the numbers named like money, such as revenue). 0/1, "
                        "true/false and yes/no columns are conversions, others are means")
    p.add_argument("--user-col", help="user id column: each user is counted once "
                                      "(default: guessed; 'none' counts rows as users)")
    p.add_argument("--pre-col", help="pre-period value of the metric, for CUPED")
    p.add_argument("--ts-col", help="timestamp column: timeline and peeking check")
    p.add_argument("--segment-col", help="segment column for the per-segment breakdown")
    p.add_argument("--users-col", help="aggregated rows: users per row")
    p.add_argument("--conversions-col", action="append", default=[],
                   help="aggregated rows: converted users (repeatable)")
    p.add_argument("--mean-cols", action="append", default=[], metavar="NAME:SUM:SUMSQ",
                   help="aggregated rows: numeric metric as sum and sum-of-squares columns")
    p.add_argument("--alpha", type=number(0, 0.5, low_open=True), default=0.05)
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
    p.add_argument("-o", "--output", type=output_in((".csv",), ".csv"),
                   help="also write the results table as CSV here")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_abtest)


def spec_from_args(args: argparse.Namespace, frame, guess=None):
    """Build the ExperimentSpec from the arguments, guessing what is not given."""
    from core.experiments.inputs import ExperimentSpec, guess_columns, parse_numbers

    guess = guess or guess_columns(frame)
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
    if not metrics:
        raise ConfigError("No metric was recognised (a yes/no column, or a number named "
                          "like revenue); name one with --metric.")
    user = None if (args.user_col or "").lower() == "none" else args.user_col or guess.user
    return ExperimentSpec(metrics=metrics, pre_col=args.pre_col, ts_col=args.ts_col,
                          segment_col=args.segment_col, user_col=user, **common)


def cmd_abtest(args: argparse.Namespace) -> int:
    """Analyse the input and print the results; return the exit code."""
    from core.common.export import safe_csv_bytes
    from core.experiments.analysis import analyse_experiment
    from core.experiments.inputs import guess_columns, read_experiment_path

    read_notes: list = []
    frame = read_experiment_path(args.input, read_notes)
    print_notices(read_notes)  # first: they explain a failure that may follow
    guess = guess_columns(frame)
    analysis = analyse_experiment(frame, spec_from_args(args, frame, guess))
    table = analysis.table()
    if args.output:
        Path(args.output).write_bytes(safe_csv_bytes(table, index=False))
    skipped = {} if args.metric else guess.skipped
    if args.json:
        payload = _payload(analysis, skipped)
        payload["read_notes"] = [n.to_dict() for n in read_notes]
        print(json.dumps(payload, indent=2, default=str, allow_nan=False))
    else:
        _print_text(analysis, table, skipped)
    print_notices(analysis.notices)
    return EXIT_OK


def _payload(analysis, skipped: dict[str, str]) -> dict:
    """The JSON output: the summary (with ``alarms`` and ``control``) and the split."""
    payload = analysis.summary()
    payload["variants"], payload["users"] = analysis.variants, analysis.users
    payload["srm"] = {"statistic": analysis.srm.statistic,
                      "p_value": analysis.srm.p_value, "alarm": analysis.srm_alarm}
    payload["spec"] = analysis.spec.to_dict()
    payload["not_default_metrics"] = skipped
    return payload


def _print_text(analysis, table, skipped: dict[str, str]) -> None:
    for notice in analysis.alarms:
        print(f"ALARM: {notice.message}")
    for line in analysis.sentences:
        print(line)
    print()
    cols = ["metric", "variant", "control_value", "variant_value", "difference",
            "difference_ci_low", "difference_ci_high", "relative_lift", "p_value",
            "p_adjusted", "significant"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}",
                                na_rep="n/a"))
    users = ", ".join(f"{name} {count:,}" for name, count
                      in zip(analysis.variants, analysis.users, strict=True))
    print(f"\nUsers: {users}; sample ratio p = {analysis.srm.p_value:.3g}")
    if analysis.control_choice:
        print(analysis.control_choice.notice().message)
    if skipped:
        print("Not used as metrics by default (name them with --metric): "
              + "; ".join(f"{c} ({why})" for c, why in skipped.items()))
    print("Conventions: " + "; ".join(analysis.conventions))
