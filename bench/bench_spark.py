"""Benchmark the feature table on Apache Spark (local mode) beside DuckDB.

Usage::

    python -m bench.bench_spark [--sizes 10000000 50000000] [--master local[2]]
                                [--driver-memory 6g]

Each run is the command line a user would type (``python -m core features FILE -o OUT``,
with ``--engine spark --master local[2]`` for Spark) in a fresh process. Times are wall
clock; memory is the peak resident set of the whole process tree, sampled every 0.2 s
(for Spark in local mode the driver and the executors share one JVM, listed apart from
the Python driver). Both outputs are compared: the same users and the largest relative
difference of any feature. Writes ``bench/spark_results.json``.

The 50 M file is the 10 M sample five times over with the users renamed (generating
50 M events directly needs about 13 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from bench.run_bench import DATA_DIR, machine, sample_path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "spark_results.json"
MB = 1024 * 1024


def copies_path(size: int, base: int = 10_000_000) -> Path:
    """A file of ``size`` events made of the ``base`` sample with users renamed."""
    if size <= base:
        return sample_path(size)
    path = DATA_DIR / f"events_{size}.parquet"
    if path.exists():
        return path
    import duckdb

    source, times = sample_path(base), round(size / base)
    partial = path.with_suffix(".partial.parquet")
    parts = " UNION ALL ".join(
        f"SELECT * REPLACE (user_id || '-{k}' AS user_id) FROM read_parquet('{source}')"
        for k in range(times))
    duckdb.sql(f"COPY ({parts}) TO '{partial}' (FORMAT parquet)")
    partial.replace(path)
    return path


def _measure(cmd: list[str]) -> dict:
    """Run a command, sampling the memory of its process tree; its time and peaks."""
    start = time.perf_counter()
    load = os.getloadavg()[0]
    process = psutil.Popen(cmd, cwd=BENCH_DIR.parent, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    peak_tree = peak_python = peak_jvm = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            rss = {p.pid: p.memory_info().rss for p in tree if p.is_running()}
        except psutil.Error:
            continue
        jvm = sum(v for pid, v in rss.items() if pid != process.pid)
        peak_tree = max(peak_tree, sum(rss.values()))
        peak_python = max(peak_python, rss.get(process.pid, 0))
        peak_jvm = max(peak_jvm, jvm)
        time.sleep(0.2)
    out, err = process.communicate()
    result = {"seconds": time.perf_counter() - start, "exit_code": process.returncode,
              "peak_rss_mb": peak_tree / MB, "peak_python_mb": peak_python / MB,
              "peak_jvm_mb": peak_jvm / MB, "load_avg_1min_before": load,
              "stdout": out.strip().splitlines()[:3]}
    if process.returncode:
        result["stderr_tail"] = err.strip().splitlines()[-5:]
    return result


def _agreement(a: Path, b: Path) -> dict:
    left, right = pd.read_parquet(a), pd.read_parquet(b)
    same_users = left.index.equals(right.index) or set(left.index) == set(right.index)
    right = right.reindex(left.index)
    worst = 0.0
    for col in left.columns:
        if pd.api.types.is_numeric_dtype(left[col]):
            x, y = left[col].astype(float).to_numpy(), right[col].astype(float).to_numpy()
            both = ~(np.isnan(x) | np.isnan(y))
            if (np.isnan(x) != np.isnan(y)).any():
                worst = float("inf")
            scale = np.maximum(np.abs(y[both]), 1e-12)
            if both.any():
                worst = max(worst, float(np.max(np.abs(x[both] - y[both]) / scale)))
    return {"same_users": bool(same_users), "users": len(left),
            "max_relative_difference": worst}


def run(sizes: list[int], master: str, driver_memory: str) -> dict:
    results = {}
    for size in sizes:
        path = copies_path(size)
        with tempfile.TemporaryDirectory() as tmp:
            duck, spark = Path(tmp) / "duckdb.parquet", Path(tmp) / "spark.parquet"
            core = [sys.executable, "-m", "core", "features", str(path)]
            print(f"{path.name}: DuckDB...", flush=True)
            duckdb_run = _measure([*core, "-o", str(duck)])
            print(f"  {duckdb_run['seconds']:.1f} s, {duckdb_run['peak_rss_mb']:,.0f} MB; "
                  f"Spark {master}...", flush=True)
            spark_run = _measure([*core, "-o", str(spark), "--engine", "spark", "--master",
                                  master, "--driver-memory", driver_memory])
            print(f"  {spark_run['seconds']:.1f} s, {spark_run['peak_rss_mb']:,.0f} MB "
                  f"(JVM {spark_run['peak_jvm_mb']:,.0f} MB)", flush=True)
            agreement = _agreement(spark, duck) if not (
                duckdb_run["exit_code"] or spark_run["exit_code"]) else None
        results[str(size)] = {"file": path.name, "file_mb": path.stat().st_size / MB,
                              "duckdb": duckdb_run, "spark": spark_run,
                              "agreement": agreement}
        print(f"  agreement: {agreement}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 50_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    args = parser.parse_args(argv)
    results = run(args.sizes, args.master, args.driver_memory)
    RESULTS_PATH.write_text(json.dumps({"machine": machine(), "master": args.master,
                                        "driver_memory": args.driver_memory,
                                        "results": results}, indent=2))
    ok = all(r["spark"]["exit_code"] == 0 and r["agreement"]
             and r["agreement"]["same_users"] for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
