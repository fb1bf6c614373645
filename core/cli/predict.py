"""``python -m core predict``: the headless twin of the Propensity page.

    python -m core predict fit events.parquet --target churn -o churn_model.json
    python -m core predict fit events.parquet --target conversion --events purchase \\
        --cutoff 2026-06-01 --horizon 14 --model logistic -o conversion_model.json
    python -m core predict score new_events.parquet --model churn_model.json -o scores.csv
    python -m core predict score new_events.parquet --workspace 0123456789ab -o scores.csv
    python -m core predict sql --model churn_model.json > churn_model.sql

``fit`` reads and cleans the file like ``features`` (the same options), learns at the
cutoff minus one horizon, tests at the cutoff (the metrics are printed, with the
recency baseline), then fits the chosen model at the cutoff and writes it as JSON.
``score`` computes the same features on another file and writes each user's score and
band, with a model file or the model saved in a workspace (``--workspace ID
--target``). ``sql`` prints the logistic model as one SQL query (gradient boosting has
none).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.cli.common import (
    EXIT_OK,
    INPUT_FILE,
    TABLE_OUTPUT,
    argument,
    number,
    output_in,
    print_notices,
    verbose_progress,
    write_table,
)
from core.cli.features import add_load_arguments
from core.common.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``predict fit``, ``predict score`` and ``predict sql``."""
    parser = sub.add_parser("predict", help="churn or conversion propensity: fit, score, SQL")
    actions = parser.add_subparsers(dest="predict_action", required=True, metavar="ACTION")

    fit = actions.add_parser("fit", help="evaluate the models on a time split and save one")
    fit.add_argument("input", type=INPUT_FILE, help="events file (as for features)")
    fit.add_argument("-o", "--output", required=True, type=output_in((".json",), "model"),
                     help="the model file to write (.json)")
    fit.add_argument("--target", choices=("churn", "conversion"), default="churn")
    fit.add_argument("--events", type=argument(_names),
                     help="conversion: the event(s) that count, comma-separated (default: "
                          "the purchase events)")
    fit.add_argument("--cutoff", help="test cutoff YYYY-MM-DD (default: the latest the "
                                      "horizon allows)")
    fit.add_argument("--horizon", type=number(1, 365, integer=True), default=None,
                     help="days after a cutoff the label looks at (default 14, or a "
                          "quarter of a shorter log)")
    fit.add_argument("--active-within", type=number(1, 3650, integer=True), default=None,
                     help="only label users with an event this many days before the "
                          "cutoff (default: churn 2 horizons, conversion everyone)")
    fit.add_argument("--model", choices=("logistic", "boosting", "recency"), default=None,
                     help="the model to save (default: the better of logistic and boosting "
                          "by test ROC-AUC)")
    fit.add_argument("--metrics-out", type=TABLE_OUTPUT,
                     help="also write the metrics of every model here (.csv/.parquet)")
    add_load_arguments(fit)
    fit.add_argument("-v", "--verbose", action="store_true", help="show progress")
    fit.add_argument("--json", action="store_true", help="print the metrics as JSON")
    fit.set_defaults(func=cmd_fit)

    score = actions.add_parser("score", help="score the users of an events file")
    score.add_argument("input", type=INPUT_FILE, help="events file (as for features)")
    source = score.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=INPUT_FILE, help="model file from fit (or the "
                                                         "Propensity page's download)")
    source.add_argument("--workspace", help="the id of a workspace whose saved model to use")
    score.add_argument("--target", choices=("churn", "conversion"), default="churn",
                       help="with --workspace: which saved model (default churn)")
    score.add_argument("-o", "--output", required=True, type=TABLE_OUTPUT,
                       help="scores.csv or .parquet")
    add_load_arguments(score)
    score.set_defaults(func=cmd_score)

    sql = actions.add_parser("sql", help="print a logistic model as one SQL query")
    sql.add_argument("--model", required=True, type=INPUT_FILE, help="model file from fit")
    sql.add_argument("--table", default="features", help="the feature table's name")
    sql.set_defaults(func=cmd_sql)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ConfigError("Name at least one event, e.g. --events purchase.")
    return names


def _events_and_config(args: argparse.Namespace):
    from core.cli.journeys import load_events
    from core.data.mapping import guess_event_roles
    from core.features.table import FeatureConfig

    events, zone = load_events(args)
    roles = guess_event_roles(events["event"].astype(str).unique())
    return events, FeatureConfig(event_roles=roles, time_zone=zone or "UTC")


def _spec(args: argparse.Namespace, events, roles: dict):
    from core.predict.labels import default_spec

    targets: tuple[str, ...] = ()
    if args.target == "conversion":
        present = set(events["event"].astype(str).unique())
        targets = args.events or tuple(e for e in roles.get("purchase", []) if e in present)
        if not targets:
            raise ConfigError("No purchase events were recognised: name the events that "
                              "count as converting with --events.")
    return default_spec(events, args.target, targets, args.horizon, args.cutoff,
                        args.active_within)


def cmd_fit(args: argparse.Namespace) -> int:
    """Evaluate every model, save the chosen one; return the exit code."""
    from core.predict import PropensityConfig, evaluate_propensity, fit_final
    from core.predict.document import model_document

    start = time.perf_counter()
    events, feature_config = _events_and_config(args)
    config = PropensityConfig(_spec(args, events, feature_config.event_roles))
    result = evaluate_propensity(events, feature_config, config,
                                 verbose_progress(args.verbose))
    key = args.model or result.best
    model, base_rate = fit_final(result, key)
    table = result.metrics_table()
    document = model_document(config, feature_config, key, base_rate, model,
                              table.round(6).to_dict(orient="records"))
    Path(args.output).write_text(json.dumps(document, indent=1), encoding="utf-8")
    if args.metrics_out:
        write_table(table, args.metrics_out, index=False)
    if args.json:
        print(json.dumps({"output": str(args.output), "model": key, "metrics":
                          document["metrics"], "notices": [n.to_dict() for n in
                                                           result.notices]}, indent=2))
        return EXIT_OK
    print(_metrics_text(table))
    print(f"Saved {key} ({len(result.features)} features, {base_rate:.1%} positive at "
          f"{config.labels.cutoff}) to {args.output} in {time.perf_counter() - start:.1f} s.")
    print_notices(result.notices)
    return EXIT_OK


def _metrics_text(table) -> str:
    lines = [f"{'model':<26} {'ROC-AUC [95% bootstrap]':<26} {'PR-AUC':>7} {'Brier':>7} "
             f"{'lift@10%':>9}"]
    for row in table.itertuples():
        lines.append(f"{row.model:<26} {row.roc_auc:.3f} [{row.roc_auc_low:.3f}, "
                     f"{row.roc_auc_high:.3f}]{'':<5} {row.pr_auc:>7.3f} {row.brier:>7.3f} "
                     f"{row.lift_top10:>8.2f}×")
    return "\n".join(lines)


def cmd_score(args: argparse.Namespace) -> int:
    """Score the input's users with a saved model."""
    from core.features.table import FeatureConfig, user_features
    from core.predict import PropensityConfig, model_from_json, population_now, score_users

    start = time.perf_counter()
    document = _document(args)
    from core.cli.journeys import load_events

    events, _ = load_events(args)
    config = PropensityConfig.from_dict(document["config"])
    table = user_features(events, FeatureConfig.from_dict(document["feature_config"]))
    scores = score_users(model_from_json(document["model"]), table.frame,
                         config.labels.target, float(document["base_rate"]),
                         document.get("threshold"), population_now(events, config.labels))
    write_table(scores, args.output)
    band = scores.iloc[:, 1].value_counts()
    print(f"Scored {len(scores):,} users with {document['model_key']}: "
          + ", ".join(f"{band.get(b, 0):,} {b}" for b in ("high", "medium", "low", "lapsed"))
          + f"; wrote {args.output} in {time.perf_counter() - start:.1f} s.", file=sys.stdout)
    return EXIT_OK


def _document(args: argparse.Namespace) -> dict:
    """The model file of --model, or the saved model of --workspace and --target."""
    from core.predict.document import read_model_document

    if args.model:
        return read_model_document(args.model)
    from core.workspace.predict import saved_document
    from core.workspace.store import Workspace

    return saved_document(Workspace.load(args.workspace), args.target)


def cmd_sql(args: argparse.Namespace) -> int:
    """Print the model's SQL."""
    from core.predict import model_from_json, model_sql
    from core.predict.document import read_model_document

    document = read_model_document(args.model)
    print(model_sql(model_from_json(document["model"]), table=args.table,
                    score_column=f"{document['config']['labels']['target']}_score"))
    return EXIT_OK
