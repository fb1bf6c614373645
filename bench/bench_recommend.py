"""Benchmark: recommendations for 100 k users × 10 k items of implicit feedback.

Usage::

    python -m bench.bench_recommend [--users 100000] [--items 10000] [--factors 64]

Targets (the prediction and recommendation issue): ALS fit ≤ 30 s and top-10 for every
user ≤ 5 s. Item-item (cosine, 100 neighbours) and popularity are timed beside them
without a target, as is the top-10 with reasons and the persona fallback for everyone
(what the CSV export runs).

The data is synthetic and seeded, generated here (nothing is fetched): items fall in
100 genres of equal size, each user prefers one genre (70 % of their events) and items
are popularity-skewed within a genre; each user has 1 + Poisson(24) product events
(view, cart add, purchase with weights 1, 3, 5) over 90 days, about 2.5 M in all. It is
written once to ``bench/data/`` as Parquet. Each method then runs in a fresh process
that reads the file, builds the user × item matrix, fits and recommends, and reports its
times and peak RSS; ALS runs with ``--factors`` (64 by default, twice the app's default,
as a 10 k catalogue would want). Prints a table with PASS/FAIL against the targets and
writes ``bench/recommend_results.json`` with the machine and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.run_bench import DATA_DIR, machine, peak_rss_mb

RESULTS_PATH = Path(__file__).resolve().parent / "recommend_results.json"
TARGETS = {"als.fit": 30.0, "als.top10": 5.0}
METHODS = ("popularity", "item_item", "als")
GENRES = 100
PREFERRED_SHARE = 0.7
EVENTS_PER_USER = 24
#: Within a genre, item rank = floor(size × u ** 2): the first items are the most popular.
SKEW = 2.0
EVENT_MIX = {"product_view": 0.75, "add_to_cart": 0.17, "purchase": 0.08}
WEIGHTS = {"product_view": 1, "add_to_cart": 3, "purchase": 5}
DAYS = 90
SEED = 0


def synthetic_events(users: int, items: int, seed: int = SEED) -> pd.DataFrame:
    """Seeded implicit feedback: ``user_id, ts, event, product_id`` (module docstring)."""
    rng = np.random.default_rng(seed)
    per_genre = items // GENRES
    counts = 1 + rng.poisson(EVENTS_PER_USER, users)
    user = np.repeat(np.arange(users), counts)
    preferred = rng.integers(0, GENRES, users)[user]
    genre = np.where(rng.random(len(user)) < PREFERRED_SHARE, preferred,
                     rng.integers(0, GENRES, len(user)))
    rank = np.floor(per_genre * rng.random(len(user)) ** SKEW).astype(np.int64)
    item = genre * per_genre + rank
    event = rng.choice(list(EVENT_MIX), size=len(user), p=list(EVENT_MIX.values()))
    seconds = rng.integers(0, DAYS * 86_400, len(user))
    width, item_width = len(str(users)), len(str(items))
    return pd.DataFrame({
        "user_id": pd.array(np.char.add("u", np.char.zfill(user.astype(str), width)),
                            dtype="str"),
        "ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s"),
        "event": pd.array(event, dtype="str"),
        "product_id": pd.array(np.char.add("i", np.char.zfill(item.astype(str),
                                                              item_width)), dtype="str"),
    })


def data_path(users: int, items: int) -> Path:
    """Generate the events once; their Parquet file."""
    path = DATA_DIR / f"recommend_{users}x{items}.parquet"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        print(f"Generating {path.name}...", flush=True)
        partial = path.with_suffix(".partial.parquet")
        synthetic_events(users, items).to_parquet(partial, index=False)
        partial.rename(path)
    return path


def child(method: str, path: Path, factors: int) -> dict:
    """One method in this process: matrix, fit, top-10, top-10 with reasons."""
    from core.recommend import RecommendConfig, build_interactions, make, recommend_users

    events = pd.read_parquet(path)
    times = {}
    start = time.perf_counter()
    interactions = build_interactions(events, WEIGHTS)
    times["interactions"] = time.perf_counter() - start
    config = RecommendConfig(factors=factors)
    start = time.perf_counter()
    model = make(method, config).fit(interactions)
    times["fit"] = time.perf_counter() - start
    rows = np.arange(interactions.n_users)
    start = time.perf_counter()
    items, _ = model.recommend(rows, 10)
    times["top10"] = time.perf_counter() - start
    start = time.perf_counter()
    served = recommend_users(model, 10, method_key=method)
    times["top10_with_reasons"] = time.perf_counter() - start
    return {"times_s": times, "peak_rss_mb": peak_rss_mb(), "users": interactions.n_users,
            "items": interactions.n_items, "cells": int(interactions.matrix.nnz),
            "events": len(events), "empty_slots": int((items < 0).sum()),
            "rows_written": len(served.table),
            "factors": factors if method == "als" else None}


def run_child(method: str, path: Path, factors: int) -> dict:
    """:func:`child` in a fresh Python process (its imports and memory are its own)."""
    code = ("import json, sys; from pathlib import Path; from bench.bench_recommend import "
            "child; print(json.dumps(child(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))))")
    done = subprocess.run([sys.executable, "-c", code, method, str(path), str(factors)],
                          capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(users: int, items: int, factors: int) -> dict:
    path = data_path(users, items)
    load_before = [round(v, 2) for v in os.getloadavg()]
    results = {}
    for method in METHODS:
        print(f"Running {method}...", flush=True)
        results[method] = run_child(method, path, factors)
    checks = {}
    for name, target in TARGETS.items():
        method, step = name.split(".")
        seconds = results[method]["times_s"][step]
        checks[name] = {"seconds": seconds, "target_s": target, "passed": seconds <= target}
    return {"machine": machine(), "users": users, "items": items, "factors": factors,
            "load_average_before": load_before,
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "results": results, "checks": checks}


def report(out: dict) -> None:
    steps = ("interactions", "fit", "top10", "top10_with_reasons")
    print(f"{out['users']:,} users × {out['items']:,} items, "
          f"{out['results']['als']['events']:,} events "
          f"({out['results']['als']['cells']:,} user-item cells); ALS with "
          f"{out['factors']} factors")
    print(f"{'method':<12}" + "".join(f"{s + ' s':>22}" for s in steps) + f"{'peak MB':>10}")
    for method, row in out["results"].items():
        cells = []
        for step in steps:
            check = out["checks"].get(f"{method}.{step}")
            mark = "" if check is None else \
                f" {'PASS' if check['passed'] else 'FAIL'} ≤{check['target_s']:g}"
            cells.append(f"{row['times_s'][step]:.2f}{mark}")
        print(f"{method:<12}" + "".join(f"{c:>22}" for c in cells)
              + f"{row['peak_rss_mb']:>10,.0f}")
    print(f"load average {out['load_average_before']} before, "
          f"{out['load_average_after']} after; {out['machine']['usable_cores']} usable cores")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--factors", type=int, default=64)
    args = parser.parse_args(argv)
    out = run(args.users, args.items, args.factors)
    report(out)
    RESULTS_PATH.write_text(json.dumps(out, indent=2, default=str))
    print(f"Wrote {RESULTS_PATH}.")
    return 0 if all(c["passed"] for c in out["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
