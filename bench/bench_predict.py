"""Benchmark: churn and conversion propensity on 100,000 users.

Usage::

    python -m bench.bench_predict [--users 100000] [--repeat 1]

Target (the Prediction issue): both models (logistic regression and gradient boosting,
with the recency baseline) fitted and evaluated on 100 k users in ≤ 20 s. Evaluated
means everything the Propensity page shows: ROC-AUC and PR-AUC with 200 bootstrap
resamples, the metrics at the threshold, calibration, gains and permutation importance.
The feature tables at the two cutoffs (the events before each) are timed on their own
beside it, and the total of both. The data is the generated sample (``--users`` users,
90 days, seed 0) cleaned and sessionized as the app does; cutoff = end − 14 days,
horizon 14 days; churn among users active in the 28 days before the cutoff. Prints a
table and writes ``bench/predict_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import pandas as pd

from bench.run_bench import machine, peak_rss_mb
from core.data.mapping import guess_event_roles
from core.features.table import FeatureConfig
from core.predict import LabelSpec, PropensityConfig, label_users
from core.predict.propensity import evaluate_tables, features_at

RESULTS_PATH = Path(__file__).resolve().parent / "predict_results.json"
TARGET_S = 20.0


def sample_events(n_users: int) -> pd.DataFrame:
    """The sample of ``n_users`` users, cleaned and sessionized like the app's."""
    from core.data.cleaning import clean_events
    from core.data.mapping import guess_mapping
    from core.data.sample import generate_sample

    raw = generate_sample(n_users=n_users, days=90, seed=0).events
    return clean_events(raw, guess_mapping(list(raw.columns))).events


def _spec(events: pd.DataFrame, target: str) -> LabelSpec:
    cutoff = (events["ts"].max() - pd.Timedelta(days=14)).floor("D")
    return LabelSpec(target, f"{cutoff:%Y-%m-%d}", 14,
                     ("purchase",) if target == "conversion" else (),
                     28 if target == "churn" else None)


def one_target(events: pd.DataFrame, config: FeatureConfig, target: str,
               repeat: int) -> dict:
    spec = _spec(events, target)
    train_y = label_users(events, spec, spec.train_cutoff_ts)
    test_y = label_users(events, spec, spec.cutoff_ts)
    start = time.perf_counter()
    train = features_at(events, spec.train_cutoff_ts, config).loc[train_y.index]
    test = features_at(events, spec.cutoff_ts, config).loc[test_y.index]
    features_s = time.perf_counter() - start
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = evaluate_tables(PropensityConfig(spec), train, train_y, test, test_y)
        times.append(time.perf_counter() - start)
    models_s = statistics.median(times)
    metrics = result.metrics_table().set_index("key")
    return {"train_users": len(train_y), "test_users": len(test_y),
            "features": len(result.features), "features_s": features_s,
            "models_s": models_s, "models_runs_s": times, "total_s": features_s + models_s,
            "roc_auc": metrics["roc_auc"].round(4).to_dict(),
            "pr_auc": metrics["pr_auc"].round(4).to_dict(),
            "target_s": TARGET_S, "passed": bool(models_s <= TARGET_S)}


def run(n_users: int, repeat: int) -> dict:
    events = sample_events(n_users)
    config = FeatureConfig(event_roles=guess_event_roles(events["event"].unique()))
    results = {t: one_target(events, config, t, repeat) for t in ("churn", "conversion")}
    return {"machine": machine(), "users": n_users, "events": len(events),
            "peak_rss_mb": peak_rss_mb(),
            "load_average": [round(v, 2) for v in os.getloadavg()], "results": results}


def report(out: dict) -> None:
    print(f"{out['users']:,} users, {out['events']:,} events")
    print(f"{'target':<12}{'users (train/test)':>20}{'features s':>12}{'models s':>10}"
          f"{'target s':>10}  passed   ROC-AUC recency / logistic / boosting")
    for name, row in out["results"].items():
        auc = row["roc_auc"]
        print(f"{name:<12}{row['train_users']:>10,}/{row['test_users']:<9,}"
              f"{row['features_s']:>12.2f}{row['models_s']:>10.2f}{row['target_s']:>10.1f}  "
              f"{'yes' if row['passed'] else 'NO ':<7}  {auc.get('recency', float('nan')):.3f} / "
              f"{auc.get('logistic', float('nan')):.3f} / {auc.get('boosting', float('nan')):.3f}")
    print(f"peak RSS {out['peak_rss_mb']:,.0f} MB; load average {out['load_average']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    out = run(args.users, args.repeat)
    report(out)
    RESULTS_PATH.write_text(json.dumps(out, indent=2, default=str))
    print(f"Wrote {RESULTS_PATH}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
