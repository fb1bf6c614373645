"""Benchmark: segmentation work on 100,000 users (DESIGN.md section 5).

Usage::

    python -m bench.bench_segmentation [--users 100000]

A feature table of the generated sample is built once into ``bench/data/`` and reused.
Each task then runs in a fresh Python process (its peak RSS is its own, and UMAP pays
its compile like a freshly started server), timing only the work:

- ``sweep``: K-Means for k = 2..10 with inertia, silhouette (sampled), Davies-Bouldin
  and Calinski-Harabasz — budget 5 s;
- ``umap_compile``: the one-time numba compile of a fresh process (what the app's
  background warm-up absorbs), then ``umap_preview`` (the map page's sampled preview)
  and ``umap_full`` (2-D UMAP of every user, all cores) — budget 60 s;
- ``umap_seeded``: the same full map with a seed (one thread, reproducible);
- ``hdbscan``: HDBSCAN of every user.

Results are printed and written to ``bench/segmentation_results.json``.
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
from typing import Any

from bench.run_bench import DATA_DIR, machine, peak_rss_mb

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "segmentation_results.json"
DEFAULT_USERS = 100_000
BUDGETS = {"sweep": 5.0, "umap_full": 60.0}
TASKS = ("sweep", "umap", "umap_seeded", "hdbscan")


def feature_table(users: int) -> Path:
    """The sample's feature table for ``users`` users, built once."""
    path = DATA_DIR / f"features_{users}.parquet"
    if not path.exists():
        from core.data.mapping import guess_mapping
        from core.data.sample import generate_sample
        from core.features.pipeline import features_from_source

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        events = generate_sample(users, 90, seed=0).events
        table, _ = features_from_source(events, guess_mapping(list(events.columns), events),
                                        "sample")
        table.frame.to_parquet(path)
    return path


def _matrix(path: Path):
    import pandas as pd

    from core.features.table import DEFAULT_SELECTED
    from core.segment.preprocess import PreprocessConfig, Preprocessor, suggest_log

    # The app's defaults: the features selected by default, log where skewed.
    frame = pd.read_parquet(path)
    chosen = tuple(c for c in DEFAULT_SELECTED if c in frame.columns)
    config = PreprocessConfig(features=chosen, log_features=tuple(suggest_log(frame, chosen)[1]))
    return Preprocessor(config).fit_transform(frame)


def _timed(work) -> dict[str, Any]:
    start = time.perf_counter()
    detail = work()
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(),
            **(detail or {})}


def _child(task: str, path: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    matrix = _matrix(path)
    index = pd.RangeIndex(len(matrix))
    out: dict[str, Any] = {"users": len(matrix), "features": matrix.shape[1]}
    if task == "sweep":
        from core.segment.clustering import k_sweep

        out["sweep"] = _timed(lambda: {"suggested_k": k_sweep(matrix, range(2, 11))
                                       .suggested_k})
    elif task in ("umap", "umap_seeded"):
        from core.segment.projection import UMAP_PREVIEW_SIZE, umap_projection, warm_up_umap

        seed = 0 if task == "umap_seeded" else None
        if task == "umap":
            out["umap_compile"] = _timed(lambda: {"warm_up_s": warm_up_umap()})
            out["umap_preview"] = _timed(lambda: umap_projection(
                matrix, index, sample_size=UMAP_PREVIEW_SIZE, random_state=seed) and None)
        out[f"{task}_full" if task == "umap" else task] = _timed(
            lambda: umap_projection(matrix, index, random_state=seed) and None)
    elif task == "hdbscan":
        from core.segment.clustering import ClusterConfig, fit_clusters

        def work():
            result = fit_clusters(matrix, ClusterConfig(algorithm="hdbscan",
                                                        min_cluster_size=200))
            return {"clusters": int(result.n_clusters),
                    "noise_share": float(np.mean(result.labels == -1))}
        out["hdbscan"] = _timed(work)
    return out


def _run_child(task: str, path: Path) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        result_file = Path(tmp.name)
    cmd = [sys.executable, "-m", "bench.bench_segmentation", "--child", task, "--path",
           str(path), "--result-file", str(result_file)]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, cwd=BENCH_DIR.parent, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: "
                + " | ".join(proc.stderr.strip().splitlines()[-5:])}
    result = json.loads(result_file.read_text())
    result_file.unlink(missing_ok=True)
    result["load_avg_1min_before"] = load
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--child", choices=TASKS, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        Path(args.result_file).write_text(json.dumps(_child(args.child, Path(args.path))))
        return 0
    path = feature_table(args.users)
    rows: dict[str, Any] = {}
    for task in args.tasks:
        print(f"running {task} on {args.users:,} users…", flush=True)
        result = _run_child(task, path)
        if "error" in result:
            print(f"  {task}: {result['error']}")
            rows[task] = result
            continue
        for name, value in result.items():
            if isinstance(value, dict):
                rows[name] = {**value, "load_avg_1min_before": result["load_avg_1min_before"]}
    print(f"\n{'work':<14}{'seconds':>9}{'peak RSS MB':>13}  budget   detail")
    for name, row in rows.items():
        if "error" in row:
            continue
        budget = BUDGETS.get(name)
        verdict = "" if budget is None else (
            f"≤{budget:.0f} s {'PASS' if row['seconds'] <= budget else 'FAIL'}")
        detail = {k: v for k, v in row.items()
                  if k not in ("seconds", "peak_rss_mb", "load_avg_1min_before")}
        print(f"{name:<14}{row['seconds']:>9.1f}{row['peak_rss_mb']:>13.0f}  {verdict:<9}"
              f"{detail}")
    # Running a subset of tasks updates their rows and keeps the others.
    kept = json.loads(RESULTS_PATH.read_text()) if RESULTS_PATH.exists() else {}
    if kept.get("users") == args.users:
        rows = {**kept.get("results", {}), **rows}
    RESULTS_PATH.write_text(json.dumps({"users": args.users, "machine": machine(),
                                        "results": rows}, indent=2))
    print(f"\nwrote {RESULTS_PATH.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
