"""Command line: the headless twin of the app.

    python -m core sample -o events.parquet --users 5000 --seed 42
    python -m core features events.parquet -o features.csv --map ts=event_time --session-gap 30m
    python -m core cluster events.parquet --algorithm kmeans --k 6 -o segments.csv \
        --model-out model.json
    python -m core sweep features.csv --k 2-10 --json

Exit codes: 0 done, 2 bad arguments, 3 the data or a setting cannot be used (the
message says why and what to do), 1 an unexpected error (a bug).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from pathlib import Path

from core.cleaning import LoadConfig
from core.errors import ConfigError, PersonaLensError
from core.export import parquet_bytes, safe_csv_bytes
from core.mapping import ROLES

#: Modules that add a sub-command through ``register(subparsers)``; each sets
#: ``func`` to a callable taking the parsed arguments and returning an exit code.
PLUGIN_COMMANDS = ("core.cli_score", "core.cli_report", "core.cli_rules", "core.cli_abtest")
EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")


def parse_duration_minutes(text: str) -> float:
    """Parse '30m', '45min', '1h', '90s' or a bare number of minutes into minutes."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"'{text}' is not a duration; use e.g. 30m, 1h or 90s.")
    value, unit = float(match.group(1)), match.group(2) or "m"
    return {"s": value / 60, "m": value, "min": value, "h": value * 60}[unit]


def parse_mapping(pairs: list[str]) -> dict[str, str | None]:
    """Parse ``role=column`` pairs; an empty column unmaps the role."""
    result: dict[str, str | None] = {}
    for pair in pairs:
        role, sep, column = pair.partition("=")
        if not sep or role not in ROLES:
            raise ConfigError(f"--map '{pair}' must be ROLE=COLUMN with ROLE one of "
                              f"{', '.join(ROLES)}.")
        result[role] = column or None
    return result


def _write_table(frame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_bytes(safe_csv_bytes(frame))
    elif suffix in (".parquet", ".pq"):
        path.write_bytes(parquet_bytes(frame))
    else:
        raise ConfigError(f"Output '{path.name}' must end in .csv or .parquet.")


def cmd_sample(args: argparse.Namespace) -> int:
    from core.sample_data import write_sample

    out = Path(args.output)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"Output '{out.name}' must end in .csv or .parquet.")
    start = time.perf_counter()
    sample = write_sample(out, n_users=args.users, days=args.days, seed=args.seed)
    print(f"Wrote {len(sample.events):,} events of {args.users:,} users over {args.days} days "
          f"to {out} in {time.perf_counter() - start:.1f} s.")
    if args.truth:
        _write_table(sample.personas.set_index("user_id"), Path(args.truth))
        print(f"Wrote the planted personas to {args.truth}.")
    if args.experiment:
        _write_table(sample.experiment.set_index("user_id"), Path(args.experiment))
        print(f"Wrote the A/B experiment table ({len(sample.experiment):,} users) to "
              f"{args.experiment}.")
    return EXIT_OK


def cmd_features(args: argparse.Namespace) -> int:
    from core.pipeline import features_from_file

    out = Path(args.output)
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ConfigError(f"Output '{out.name}' must end in .csv or .parquet.")
    config = LoadConfig(session_gap_minutes=parse_duration_minutes(args.session_gap),
                        debounce_seconds=args.debounce, user_sample_share=args.user_share)
    start = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if args.verbose:
            print(f"  {fraction:4.0%} {message}", file=sys.stderr)

    table, report = features_from_file(args.input, parse_mapping(args.map or []), config,
                                       progress=progress)
    _write_table(table.frame, out)
    elapsed = time.perf_counter() - start
    print(f"Read {report.rows_read:,} rows, kept {report.rows_kept:,} "
          f"({report.users:,} users, {report.sessions:,} sessions); wrote "
          f"{len(table.frame.columns)} features to {out} in {elapsed:.1f} s.")
    for reason, count in report.dropped.items():
        if count:
            print(f"  dropped {count:,} rows: {reason.replace('_', ' ')}")
    for notice in [*report.notices, *table.notices]:
        print(f"  note: {notice.message}", file=sys.stderr)
    return EXIT_OK


def cmd_cluster(args: argparse.Namespace) -> int:
    from core.clustering import ClusterConfig
    from core.modeling import cluster_table, load_feature_table, preprocess_config, write_model

    table = load_feature_table(args.input)
    pre = preprocess_config(table, _feature_list(args.features), args.log, args.seed)
    config = ClusterConfig(algorithm=args.algorithm, k=args.k, eps=args.eps,
                           min_samples=args.min_samples,
                           min_cluster_size=args.min_cluster_size, random_state=args.seed)
    segments, model, result = cluster_table(table, pre, config)
    _write_table(segments, Path(args.output))
    sizes = segments["cluster"].value_counts().sort_index()
    print(f"Clustered {len(segments):,} users on {len(pre.features)} features into "
          f"{result.n_clusters} clusters ({', '.join(f'{k}: {v:,}' for k, v in sizes.items())})"
          f"; wrote {args.output}.")
    for notice in result.notices:
        print(f"  note: {notice.message}", file=sys.stderr)
    if args.model_out:
        write_model(model, args.model_out)
        print(f"Wrote the model to {args.model_out}.")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    import json

    from core.modeling import load_feature_table, parse_k_range, preprocess_config, sweep_table

    table = load_feature_table(args.input)
    pre = preprocess_config(table, _feature_list(args.features), args.log, args.seed)
    sweep = sweep_table(table, pre, parse_k_range(args.k), args.algorithm)
    if args.json:
        print(json.dumps({"table": sweep.table.to_dict("records"),
                          "suggested_k": sweep.suggested_k, "knee_k": sweep.knee_k,
                          "reason": sweep.reason,
                          "silhouette_sample": sweep.silhouette_sample}, indent=2))
    else:
        print(sweep.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(sweep.reason)
    return EXIT_OK


def _feature_list(text: str | None) -> list[str] | None:
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="event file or per-user feature table")
    parser.add_argument("--features", help="comma-separated features (default: the app's)")
    parser.add_argument("--log", choices=["auto", "none"], default="auto",
                        help="log-transform skewed features (auto) or none")
    parser.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="write the generated sample shop's events")
    sample.add_argument("-o", "--output", required=True, help="events.parquet or events.csv")
    sample.add_argument("--users", type=int, default=5000)
    sample.add_argument("--days", type=int, default=90)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--truth", help="also write the planted persona of each user here")
    sample.add_argument("--experiment", help="also write the A/B experiment table here")
    sample.set_defaults(func=cmd_sample)
    features = sub.add_parser("features", help="compute the per-user feature table")
    features.add_argument("input", help="events file: Parquet, CSV/TSV, JSON lines or Excel")
    features.add_argument("-o", "--output", required=True, help="features.csv or .parquet")
    features.add_argument("--map", action="append", metavar="ROLE=COLUMN",
                          help="override a guessed column, e.g. --map ts=event_time")
    features.add_argument("--session-gap", default="30m", help="inactivity gap (30m, 1h)")
    features.add_argument("--debounce", type=float, default=1.0,
                          help="seconds within which a repeated event is a double fire")
    features.add_argument("--user-share", type=float, default=1.0,
                          help="keep this share of users (0-1], the same ones every time")
    features.add_argument("-v", "--verbose", action="store_true", help="show progress")
    features.set_defaults(func=cmd_features)
    cluster = sub.add_parser("cluster", help="cluster users and write their segments")
    _add_model_options(cluster)
    cluster.add_argument("-o", "--output", required=True, help="segments.csv or .parquet")
    cluster.add_argument("--algorithm", default="kmeans",
                         choices=["kmeans", "minibatch", "gmm", "agglomerative", "dbscan",
                                  "hdbscan"])
    cluster.add_argument("--k", type=int, default=6)
    cluster.add_argument("--eps", type=float, default=0.5, help="DBSCAN neighbourhood")
    cluster.add_argument("--min-samples", type=int, default=10)
    cluster.add_argument("--min-cluster-size", type=int, default=50, help="HDBSCAN")
    cluster.add_argument("--model-out", help="write the fitted model as JSON here")
    cluster.set_defaults(func=cmd_cluster)
    sweep = sub.add_parser("sweep", help="compare k values")
    _add_model_options(sweep)
    sweep.add_argument("--k", default="2-10", help="range such as 2-10 or a list 3,4,6")
    sweep.add_argument("--algorithm", default="kmeans", choices=["kmeans", "minibatch", "gmm"])
    sweep.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sweep.set_defaults(func=cmd_sweep)
    for module in PLUGIN_COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PersonaLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA


if __name__ == "__main__":
    sys.exit(main())
