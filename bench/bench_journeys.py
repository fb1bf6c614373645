"""Benchmark: the journey views on 10 M events, split into 6 groups, and sequential
patterns on about 100 k sessions.

Usage::

    python -m bench.bench_journeys [--events 10000000] [--pattern-users 10000] [--repeat 3]

Targets (the Journeys issue): a 4-step funnel per group ≤ 3 s, paths of 5 steps ≤ 3 s
and weekly retention ≤ 2 s on 10 M events; PrefixSpan with the default settings
(minimum support 2 %, length ≤ 4, any gap) plus the per-group comparison on ~100 k
sessions ≤ 10 s. The 10 M event log is the one ``bench.run_bench`` generates (reused
from ``bench/data/``); groups are 6 equal groups drawn from the user ids. The pattern
log is the generated sample of ``--pattern-users`` users (about 10 sessions each),
cleaned and sessionized as the app does. Times are the median of ``--repeat`` runs in
this process, after the file is read. Prints a table and writes
``bench/journeys_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import pandas as pd

from bench.run_bench import machine, peak_rss_mb, sample_path
from core.journeys import (
    FunnelSpec,
    Step,
    build_sequences,
    distinguishing_patterns,
    frequent_patterns,
    funnel,
    paths,
    retention,
)

RESULTS_PATH = Path(__file__).resolve().parent / "journeys_results.json"
TARGETS = {"funnel_4_steps_by_group": 3.0, "paths_5_steps_by_group": 3.0,
           "retention_weekly_by_group": 2.0, "patterns_and_groups": 10.0}
STEPS = ("product_view", "add_to_cart", "checkout", "purchase")
GROUPS = 6


def _groups(users: pd.Index) -> pd.Series:
    codes = pd.util.hash_array(users.to_numpy().astype(str)) % GROUPS
    return pd.Series([f"Group {c + 1}" for c in codes], index=users)


def _median(work, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def pattern_events(n_users: int) -> pd.DataFrame:
    """The sample of ``n_users`` cleaned and sessionized like the app's."""
    from core.data.cleaning import clean_events
    from core.data.mapping import guess_mapping
    from core.data.sample import generate_sample

    raw = generate_sample(n_users=n_users, days=90, seed=0).events
    return clean_events(raw, guess_mapping(list(raw.columns))).events


def flow_views(n_events: int, repeat: int) -> dict:
    """Funnel, paths and retention on the 10 M event log (freed on return)."""
    events = pd.read_parquet(sample_path(n_events), columns=["user_id", "ts", "event"])
    groups = _groups(pd.Index(events["user_id"].unique()))
    spec = FunnelSpec(tuple(Step(s) for s in STEPS))
    views = {
        "funnel_4_steps_by_group": lambda: funnel(events, spec, groups),
        "paths_5_steps_by_group": lambda: paths(events, start="product_view", steps=5,
                                                groups=groups),
        "retention_weekly_by_group": lambda: retention(events, period="week", groups=groups),
    }
    results = {}
    for name, work in views.items():
        median, times = _median(work, repeat)
        results[name] = {"median_s": median, "runs_s": times, "events": len(events)}
    return results


def run(n_events: int, pattern_users: int, repeat: int) -> dict:
    results = flow_views(n_events, repeat)
    log = pattern_events(pattern_users)
    sessions = int(log.groupby("user_id")["session_id"].nunique().sum())
    labels = _groups(pd.Index(log["user_id"].unique()))

    def patterns() -> None:
        sequences = build_sequences(log)
        frequent_patterns(sequences)
        distinguishing_patterns(sequences, labels)

    median, times = _median(patterns, repeat)
    results["patterns_and_groups"] = {"median_s": median, "runs_s": times,
                                      "sessions": sessions}
    for name, row in results.items():
        row["target_s"] = TARGETS[name]
        row["passed"] = bool(row["median_s"] <= TARGETS[name])
    return {"machine": machine(), "peak_rss_mb": peak_rss_mb(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "results": results}


def report(out: dict) -> None:
    print(f"{'view':<28}{'median s':>10}{'target s':>10}  passed")
    for name, row in out["results"].items():
        print(f"{name:<28}{row['median_s']:>10.2f}{row['target_s']:>10.1f}  "
              f"{'yes' if row['passed'] else 'NO'}")
    print(f"peak RSS {out['peak_rss_mb']:,.0f} MB; load average {out['load_average']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--pattern-users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    out = run(args.events, args.pattern_users, args.repeat)
    report(out)
    RESULTS_PATH.write_text(json.dumps(out, indent=2, default=str))
    print(f"Wrote {RESULTS_PATH}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
