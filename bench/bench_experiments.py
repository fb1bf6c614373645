"""Benchmark: analyse 10 M per-user experiment rows (budget: under 3 s).

Usage::

    python -m bench.bench_experiments [--rows 10000000] [--repeat 3]

The table is generated in memory (seeded): variant, converted, revenue and its
pre-period value, with a planted +8 % relative conversion lift. Each repeat times
``core.experiments.analysis.analyse_experiment`` with the page's defaults (both metrics, CUPED,
Holm, Bayesian view; the rank test is skipped above 1 M users per arm) and, separately,
the same with the sequential p-value and Newcombe interval. Prints a table (wall
seconds, CPU seconds of this process, and the 1-minute load average: on a shared 2-core
machine other work inflates wall time) and writes ``bench/experiments_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.experiments.analysis import ExperimentSpec, analyse_experiment

RESULTS_PATH = Path(__file__).resolve().parent / "experiments_results.json"
BUDGET_SECONDS = 3.0
SEED = 0


def make_table(rows: int, seed: int = SEED) -> pd.DataFrame:
    """Per-user rows with a planted effect (12.0 % -> 12.96 % conversion)."""
    rng = np.random.default_rng(seed)
    treated = rng.random(rows) < 0.5
    converted = rng.random(rows) < np.where(treated, 0.1296, 0.12)
    pre = np.round(rng.lognormal(3, 1, rows) * (rng.random(rows) < 0.6), 2)
    revenue = np.where(converted, np.round(rng.lognormal(3.5, 0.8, rows) + 0.05 * pre, 2),
                       0.0)
    return pd.DataFrame({
        "user_id": np.arange(rows),
        "variant": pd.array(np.where(treated, "treatment", "control"), dtype="str"),
        "converted": converted, "revenue": revenue, "pre_period_revenue": pre})


CASES = {
    "defaults (2 metrics, CUPED, Holm, Bayes)": ExperimentSpec(
        metrics=("converted", "revenue"), pre_col="pre_period_revenue"),
    "+ sequential p, Newcombe": ExperimentSpec(
        metrics=("converted", "revenue"), pre_col="pre_period_revenue", sequential=True,
        interval="newcombe"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = make_table(args.rows)
    generated = time.perf_counter() - start
    results = []
    for name, spec in CASES.items():
        times, cpu, loads = [], [], []
        for _ in range(args.repeat):
            # On a shared 2-core machine other work slows runs down: keep the load.
            loads.append(os.getloadavg()[0])
            start, start_cpu = time.perf_counter(), time.process_time()
            analysis = analyse_experiment(table, spec)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        conv = analysis.comparisons[0]
        results.append({"case": name, "seconds": times, "median": statistics.median(times),
                        "cpu_seconds": cpu, "load_average_1min": loads,
                        "p_value": conv.p_value, "relative_lift": conv.relative_lift})
    print(f"{args.rows:,} per-user rows (generated in {generated:.1f} s), "
          f"{args.repeat} repeats")
    print(f"{'case':<44} {'median s':>9} {'min s':>7} {'max s':>7} {'cpu s':>6} {'load':>5}")
    for r in results:
        print(f"{r['case']:<44} {r['median']:>9.2f} {min(r['seconds']):>7.2f} "
              f"{max(r['seconds']):>7.2f} {statistics.median(r['cpu_seconds']):>6.2f} "
              f"{max(r['load_average_1min']):>5.1f}")
    budget_ok = results[0]["median"] < BUDGET_SECONDS if args.rows >= 10_000_000 else None
    if budget_ok is not None:
        print(f"Budget: defaults on 10 M rows < {BUDGET_SECONDS:g} s: "
              f"{'PASS' if budget_ok else 'FAIL'}")
    RESULTS_PATH.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpu": platform.processor(),
                    "numpy": np.__version__, "pandas": pd.__version__},
        "rows": args.rows, "repeat": args.repeat, "results": results,
        "budget_seconds": BUDGET_SECONDS, "budget_pass": budget_ok}, indent=2))
    print(f"Wrote {RESULTS_PATH}")
    return 0 if budget_ok in (True, None) else 1


if __name__ == "__main__":
    raise SystemExit(main())
