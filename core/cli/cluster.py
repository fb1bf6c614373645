"""``python -m core cluster`` and ``sweep``: clusters of an event file or a feature table."""

from __future__ import annotations

import argparse
import json

from core.cli.common import (
    EXIT_OK,
    INPUT_FILE,
    MAX_K,
    TABLE_OUTPUT,
    argument,
    feature_list,
    number,
    output_in,
    print_notices,
    write_table,
)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Input, features, log transform and seed: what both commands read."""
    parser.add_argument("input", type=INPUT_FILE, help="event file or per-user feature table")
    parser.add_argument("--features", help="comma-separated features (default: the app's)")
    parser.add_argument("--log", choices=["auto", "none"], default="auto",
                        help="log-transform skewed features (auto) or none")
    parser.add_argument("--seed", type=number(0, 2**32 - 1, integer=True), default=0)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``cluster`` and ``sweep`` sub-commands."""
    from core.segment.algorithms import REGISTRY, sweepable

    cluster = sub.add_parser("cluster", help="cluster users and write their segments")
    add_model_options(cluster)
    cluster.add_argument("-o", "--output", required=True, type=TABLE_OUTPUT,
                         help="segments.csv or .parquet")
    cluster.add_argument("--algorithm", default="kmeans", choices=list(REGISTRY))
    cluster.add_argument("--k", type=number(2, MAX_K, integer=True), default=6)
    cluster.add_argument("--eps", type=number(0, 1e6, low_open=True), default=0.5,
                         help="DBSCAN neighbourhood")
    cluster.add_argument("--min-samples", type=number(1, 100_000, integer=True), default=10)
    cluster.add_argument("--min-cluster-size", type=number(2, 1_000_000, integer=True),
                         default=50, help="HDBSCAN")
    cluster.add_argument("--model-out", type=output_in((".json",), ".json"),
                         help="write the fitted model as JSON here")
    cluster.set_defaults(func=cmd_cluster)
    sweep = sub.add_parser("sweep", help="compare k values")
    add_model_options(sweep)
    sweep.add_argument("--k", default="2-10", type=argument(_k_range),
                       help="range such as 2-10 or a list 3,4,6")
    sweep.add_argument("--algorithm", default="kmeans", choices=sweepable())
    sweep.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sweep.set_defaults(func=cmd_sweep)


def _k_range(text: str) -> list[int]:
    from core.model.fitting import parse_k_range

    return parse_k_range(text)


def cmd_cluster(args: argparse.Namespace) -> int:
    """Cluster and write the segments (and the model); return the exit code."""
    from core.model.fitting import cluster_table, load_feature_table, preprocess_config
    from core.model.portable import write_model
    from core.segment.clustering import ClusterConfig
    from core.segment.labels import sorted_labels

    out = args.output
    table = load_feature_table(args.input)
    print_notices(table.notices)
    pre = preprocess_config(table, feature_list(args.features), args.log, args.seed)
    config = ClusterConfig(algorithm=args.algorithm, k=args.k, eps=args.eps,
                           min_samples=args.min_samples,
                           min_cluster_size=args.min_cluster_size, random_state=args.seed)
    segments, model, result = cluster_table(table, pre, config)
    write_table(segments, out)
    counts = segments["cluster"].value_counts()
    sizes = counts.loc[sorted_labels(counts.index)]
    print(f"Clustered {len(segments):,} users on {len(pre.features)} features into "
          f"{result.n_clusters} clusters ({', '.join(f'{k}: {v:,}' for k, v in sizes.items())})"
          f"; wrote {args.output}.")
    print_notices(result.notices)
    if args.model_out:
        write_model(model, args.model_out)
        print(f"Wrote the model to {args.model_out}.")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    """Sweep k and print the table (or JSON); return the exit code."""
    from core.model.fitting import load_feature_table, preprocess_config, sweep_table

    table = load_feature_table(args.input)
    print_notices(table.notices)
    pre = preprocess_config(table, feature_list(args.features), args.log, args.seed)
    sweep = sweep_table(table, pre, args.k, args.algorithm)
    if args.json:
        print(json.dumps({"table": sweep.table.to_dict("records"),
                          "suggested_k": sweep.suggested_k, "knee_k": sweep.knee_k,
                          "reason": sweep.reason,
                          "silhouette_sample": sweep.silhouette_sample,
                          "notices": [n.to_dict() for n in table.notices]}, indent=2))
    else:
        print(sweep.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(sweep.reason)
    return EXIT_OK
