"""Benchmark: the Map page's projections (t-SNE and UMAP) and the waits it announces.

Usage::

    python -m bench.bench_maps [--cases tsne tsne_3d tsne_perplexity umap tsne_sklearn]
    python -m bench.bench_maps --report

The matrix is the app's default preprocessing of the generated sample's feature table
for 100,000 users (``bench.bench_segmentation.feature_table``: ``generate_sample(100000,
90, seed=0)``, built once into ``bench/data/``); smaller maps are stratified samples of
it, as the page takes them. Each case runs in a fresh Python process:

- ``tsne``: 2-D t-SNE (openTSNE, FFT) of 1,000, 3,000, 10,000 and 20,000 users, one
  process each — budget 20 s for 20,000;
- ``tsne_3d``: 3-D t-SNE (Barnes-Hut) of 1,000, 3,000 and 5,000 users;
- ``tsne_perplexity``: 10,000 users at the slider's ends (5 and 50);
- ``umap``: in one process, as in the app's server: the warm-up (``warm_up_umap``,
  with the moment each metric is ready), then the preview (3,000 of the 100,000 users:
  seeded 2-D, seeded 3-D, unseeded, seeded with the manhattan metric, seeded with 50 and
  100 neighbours) — budget 3 s — then full maps of 5,000 and 20,000 users (seeded, as
  the page runs them) and of all 100,000 users (unseeded, every core) — budget 25 s —
  with the progress they report (how many reports, the longest wait between two);
- ``tsne_sklearn`` (not run by default): scikit-learn's TSNE, the page's former t-SNE, on
  3,000 and 10,000 users.

Every row has seconds, peak RSS (``VmHWM``, reset before each case where Linux allows),
the 1-minute load average before it, and the page's estimate for it
(``tsne_seconds`` / ``umap_seconds`` / ``umap_warm_up_seconds`` in
``core.segment.projection``) with its error; the warm-up's is against the moment the
default metric is ready, when the page stops waiting. The rows are also fitted to
``seconds = intercept + per_user * users ** exponent`` (UMAP: per 200 layout epochs), to
compare with ``SECONDS_MODEL``; ``--report`` measures nothing and prints the saved rows
with the estimates of the models now in the code (after refitting them).
Results are printed and written to ``bench/maps_results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_segmentation import feature_table
from bench.run_bench import machine, peak_rss_mb

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "maps_results.json"
USERS = 100_000
BUDGETS = {"tsne_2d_20000": 20.0, "umap_preview_seeded_2d": 3.0,
           "umap_preview_unseeded_2d": 3.0, "umap_full_100000": 25.0}
#: Largest error of an announced wait (DESIGN.md section 5).
ESTIMATE_TOLERANCE = 0.30
CASES = ("tsne", "tsne_3d", "tsne_perplexity", "umap", "tsne_sklearn")
DEFAULT_CASES = CASES[:4]
TSNE_SIZES = (1_000, 3_000, 10_000, 20_000)
TSNE_3D_SIZES = (1_000, 3_000, 5_000)


def _matrix(path: Path):
    import pandas as pd

    from core.features.table import DEFAULT_SELECTED
    from core.segment.preprocess import PreprocessConfig, Preprocessor, suggest_log

    # The app's defaults: the features selected by default, log where skewed.
    frame = pd.read_parquet(path)
    chosen = tuple(c for c in DEFAULT_SELECTED if c in frame.columns)
    config = PreprocessConfig(features=chosen, log_features=tuple(suggest_log(frame, chosen)[1]))
    return Preprocessor(config).fit_transform(frame)


def _reset_peak_rss() -> None:
    """Reset ``VmHWM`` to the current RSS (Linux: ``5`` to ``clear_refs``)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _timed(work) -> dict[str, Any]:
    _reset_peak_rss()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    detail = work()
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(),
            "load_avg_1min": load, **(detail or {})}


def _estimate(row: dict[str, Any]) -> float | None:
    """The page's announced wait for a row, from the models now in the code."""
    from core.segment import projection

    if row.get("kind") == "tsne":
        return projection.tsne_seconds(row["users"], row["dimensions"], row["perplexity"])
    if row.get("kind") == "umap":
        return projection.umap_seconds(row["users"], row["seeded"], row["preview"],
                                       row["n_neighbors"])
    if row.get("kind") == "warm_up":
        return projection.umap_warm_up_seconds("euclidean")
    return None


def _measured(row: dict[str, Any]) -> float:
    """The seconds an estimate is compared with (the warm-up: until the default metric)."""
    return row["ready_after_s"]["euclidean"] if row.get("kind") == "warm_up" \
        else row["seconds"]


def _sample(matrix, users: int):
    """The page's stratified sample of ``users`` users (the whole matrix at 100,000)."""
    from core.segment.clustering import stratified_sample

    return matrix if users >= len(matrix) else matrix[stratified_sample(matrix, users, 0)]


def _tsne(matrix, users: int, dimensions: int, perplexity: float = 30.0) -> dict[str, Any]:
    import pandas as pd

    from core.segment.projection import tsne_projection

    index = pd.RangeIndex(len(matrix))
    seen: list[float] = []
    row = _timed(lambda: {"placed": len(tsne_projection(
        matrix, index, dimensions=dimensions, perplexity=perplexity, sample_size=users,
        progress=lambda fraction, message: seen.append(fraction)).coords)})
    return {**row, "kind": "tsne", "users": users, "dimensions": dimensions,
            "perplexity": perplexity, "progress_reports": len(seen)}


def _umap(matrix) -> dict[str, dict[str, Any]]:
    import pandas as pd

    from core.segment.projection import (
        UMAP_PREVIEW_SIZE,
        umap_epochs,
        umap_projection,
        warm_up_umap,
    )

    out: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    ready: dict[str, float] = {}
    out["umap_warm_up"] = {**_timed(lambda: warm_up_umap(
        ready=lambda metric: ready.__setitem__(metric, time.perf_counter() - start))
        and {"ready_after_s": ready}), "kind": "warm_up"}
    index = pd.RangeIndex(len(matrix))
    previews = {"umap_preview_seeded_2d": {"random_state": 0},
                "umap_preview_seeded_3d": {"random_state": 0, "dimensions": 3},
                "umap_preview_unseeded_2d": {"random_state": None},
                "umap_preview_seeded_manhattan": {"random_state": 0, "metric": "manhattan"},
                "umap_preview_seeded_50_neighbours": {"random_state": 0, "n_neighbors": 50},
                "umap_preview_seeded_100_neighbours": {"random_state": 0,
                                                       "n_neighbors": 100}}
    for name, kwargs in previews.items():
        out[name] = {**_timed(lambda kw=kwargs: umap_projection(
            matrix, index, sample_size=UMAP_PREVIEW_SIZE, **kw) and None),
            "kind": "umap", "users": UMAP_PREVIEW_SIZE, "preview": True,
            "seeded": kwargs["random_state"] is not None,
            "n_neighbors": kwargs.get("n_neighbors", 15),
            "epochs": umap_epochs(UMAP_PREVIEW_SIZE, preview=True)}
    for users, seed in ((5_000, 0), (20_000, 0), (len(matrix), None)):
        data = _sample(matrix, users)
        reports: list[tuple[float, float]] = []
        t0 = time.perf_counter()

        def progress(fraction: float, message: str, reports=reports, t0=t0) -> None:
            reports.append((time.perf_counter() - t0, fraction))
        row = _timed(lambda data=data, seed=seed, progress=progress: umap_projection(
            data, pd.RangeIndex(len(data)), random_state=seed, progress=progress) and None)
        times = [t for t, _ in reports]
        gaps = [b - a for a, b in zip([0.0, *times], [*times, row["seconds"]], strict=True)]
        laid_out = next(((t, f) for t, f in reports if 0.02 < f < 1.0), (None, None))
        out[f"umap_full_{users}"] = {
            **row, "kind": "umap", "users": users, "seeded": seed is not None,
            "preview": False, "n_neighbors": 15, "epochs": umap_epochs(users),
            "progress_reports": len(reports), "longest_wait_between_reports_s": max(gaps),
            "neighbours_done_after_s": laid_out[0], "neighbours_share_reported": laid_out[1]}
    return out


def _tsne_sklearn(matrix) -> dict[str, dict[str, Any]]:
    from sklearn.manifold import TSNE

    out = {}
    for users in (3_000, 10_000):
        data = _sample(matrix, users)
        out[f"tsne_sklearn_{users}"] = {**_timed(lambda data=data: TSNE(
            n_components=2, init="pca", random_state=0).fit_transform(data) is None),
            "users": users}
    return out


def _child(case: str, path: Path, users: int | None) -> dict[str, dict[str, Any]]:
    matrix = _matrix(path)
    if case == "tsne":
        return {f"tsne_2d_{users}": _tsne(matrix, users, 2)}
    if case == "tsne_3d":
        return {f"tsne_3d_{users}": _tsne(matrix, users, 3)}
    if case == "tsne_perplexity":
        return {f"tsne_2d_10000_perplexity_{users}": _tsne(matrix, 10_000, 2, float(users))}
    if case == "umap":
        return _umap(matrix)
    return _tsne_sklearn(matrix)


def _run_child(case: str, path: Path, users: int | None = None) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        result_file = Path(tmp.name)
    cmd = [sys.executable, "-m", "bench.bench_maps", "--child", case, "--path", str(path),
           "--result-file", str(result_file)] + (["--users", str(users)] if users else [])
    proc = subprocess.run(cmd, cwd=BENCH_DIR.parent, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        return {case: {"error": f"exit {proc.returncode}: "
                       + " | ".join(proc.stderr.strip().splitlines()[-5:])}}
    result = json.loads(result_file.read_text())
    result_file.unlink(missing_ok=True)
    return result


def _fit(rows: list[dict[str, Any]], work, power: bool = False) -> list[float] | None:
    """Least squares ``seconds = intercept + per_user * work ** exponent``: a straight line
    (exponent 1), or with ``power`` a power law through the origin (log-log)."""
    import numpy as np

    if len(rows) < 2:
        return None
    x = np.array([work(r) for r in rows], dtype=float)
    y = np.array([r["seconds"] for r in rows])
    if power:
        exponent, log_scale = np.polyfit(np.log(x), np.log(y), 1)
        return [0.0, float(np.exp(log_scale)), float(exponent)]
    per_user, intercept = np.polyfit(x, y, 1)
    return [float(intercept), float(per_user), 1.0]


def _models(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from core.segment.projection import SECONDS_MODEL, _epochs

    def pick(kind: str, **want) -> list[dict[str, Any]]:
        return [r for r in rows.values() if r.get("kind") == kind
                and all(r.get(k) == v for k, v in want.items())]

    def work(r: dict[str, Any]) -> float:
        return r["users"] * _epochs(r["users"], r["preview"]) / 200
    fitted = {
        "tsne_2d": _fit(pick("tsne", dimensions=2, perplexity=30.0), lambda r: r["users"]),
        "tsne_3d": _fit(pick("tsne", dimensions=3), lambda r: r["users"], power=True),
        "umap_seeded": _fit(pick("umap", seeded=True, n_neighbors=15), work),
        "umap_parallel": _fit(pick("umap", seeded=False, n_neighbors=15), work),
    }
    return {"fitted": fitted, "in_code": SECONDS_MODEL}


def report(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Print the rows with the estimates of the models now in the code, and the models
    refitted to the rows; return the rows (with their estimates) and the models."""
    print(f"\n{'case':<38}{'seconds':>8}{'estimate':>9}{'error':>7}{'RSS MB':>8}{'load':>6}"
          "  budget")
    for name, row in rows.items():
        if "error" in row:
            print(f"{name:<38}{row['error']}")
            continue
        estimate = _estimate(row)
        if estimate is not None:
            row["estimate_s"] = estimate
            row["estimate_error"] = estimate / _measured(row) - 1
        budget = BUDGETS.get(name)
        verdict = "" if budget is None else \
            f"≤{budget:.0f} s {'PASS' if row['seconds'] <= budget else 'FAIL'}"
        error = row.get("estimate_error")
        honest = "" if error is None or abs(error) <= ESTIMATE_TOLERANCE else " estimate off"
        print(f"{name:<38}{_measured(row):>8.1f}"
              f"{'' if estimate is None else f'{estimate:.1f}':>9}"
              f"{'' if error is None else f'{error:+.0%}':>7}{row['peak_rss_mb']:>8.0f}"
              f"{row['load_avg_1min']:>6.1f}  {verdict}{honest}")
    models = _models(rows)
    print("\nseconds = intercept + per_user * users ** exponent (UMAP: per 200 epochs)")
    for kind, fit in models["fitted"].items():
        print(f"  {kind:<14} fitted {fit and tuple(round(v, 6) for v in fit)}   in code "
              f"{models['in_code'][kind]}")
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), choices=CASES)
    parser.add_argument("--report", action="store_true",
                        help="measure nothing: print the saved rows with the estimates of "
                             "the models now in the code")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        Path(args.result_file).write_text(json.dumps(
            _child(args.child, Path(args.path), args.users)))
        return 0
    kept = json.loads(RESULTS_PATH.read_text()) if RESULTS_PATH.exists() else {}
    rows: dict[str, Any] = {}
    if not args.report:
        path = feature_table(USERS)
        runs = {"tsne": TSNE_SIZES, "tsne_3d": TSNE_3D_SIZES, "tsne_perplexity": (5, 50),
                "umap": (None,), "tsne_sklearn": (None,)}
        for case in args.cases:
            for users in runs[case]:
                print(f"running {case}{'' if users is None else f' {users:,}'}…", flush=True)
                rows.update(_run_child(case, path, users))
    # Running some cases updates their rows and keeps the others.
    rows = {**kept.get("results", {}), **rows}
    models = report(rows)
    RESULTS_PATH.write_text(json.dumps({
        "users": USERS, "machine": kept.get("machine") if args.report else machine(),
        "date": kept.get("date") if args.report else time.strftime("%Y-%m-%d %H:%M"),
        "models": models, "results": rows}, indent=2))
    print(f"\nwrote {RESULTS_PATH.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
