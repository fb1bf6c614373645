"""Benchmark: segmentation work on 100,000 users (DESIGN.md section 5).

Usage::

    python -m bench.bench_segmentation [--users 100000] [--tasks sweep stability pages]

A feature table of the generated sample is built once into ``bench/data/`` and reused.
Each task then runs in a fresh Python process (its peak RSS is its own, and UMAP pays
its compile like a freshly started server), timing only the work:

- ``sweep``: K-Means for k = 2..10 with inertia, silhouette (sampled), Davies-Bouldin
  and Calinski-Harabasz — budget 3 s; ``sweep_minibatch``: the same with MiniBatch
  K-Means, the sweep the Clustering page runs by default above 50,000 users — budget
  3 s; ``preprocess``: the app's default preprocessing of the feature table;
- ``stability``: the Clustering page's "Check stability" (``stability_into``, 10
  bootstrap refits) on the 5,000-user sample the app starts with, clustered with the
  page's defaults (K-Means, k = 6) — budget 5 s; ``stability_100k``: the same
  measure on the 100 k workspace below (MiniBatch K-Means, the page's default there);
- ``pages``: the Clustering, Segments and Personas pages under
  ``streamlit.testing.v1.AppTest`` on a saved workspace of ``--users`` users (events,
  four rule segments, a Map selection, a sweep, three runs, stability), built once into
  the temporary folder and reused; each page is opened (cold: ``open``), run again
  (``rerun``), then each widget is changed to a new value, back, and to the new value
  again, timing each ``run()`` — budget 0.3 s for every change (``page.<page>.<key>``
  holds the slowest of the three). Streamlit's server compiles a page once; AppTest
  compiles it on every run (``ScriptCache`` per run), so the bench shares one
  ``ScriptCache`` across runs as the server does;
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
BUDGETS = {"sweep": 3.0, "sweep_minibatch": 3.0, "stability": 5.0}
#: Seconds any widget change may take to redraw a page (DESIGN.md section 5).
PAGE_BUDGET = 0.3
#: UMAP and t-SNE are measured by bench/bench_maps.py.
TASKS = ("sweep", "stability", "pages", "hdbscan")
#: The sample the app starts with (``ui.state.DEFAULT_SAMPLE``).
APP_SAMPLE = {"n_users": 5000, "days": 90, "seed": 42}
#: Rebuild the cached page workspace when this changes.
WORKSPACE_RECIPE = "2"
#: The widget changes timed on each page: (AppTest element kind, key, new value).
PAGE_CHANGES: dict[str, list[tuple[str, str, Any]]] = {
    "clustering": [("number_input", "cluster.k", 7), ("number_input", "cluster.seed", 3),
                   ("number_input", "cluster.runs", 12),
                   ("slider", "cluster.k_range", [2, 12]),
                   ("multiselect", "cluster.compare_runs", ["Run 2", "Run 3"])],
    "segments": [("toggle", "segments.exclusive", True),
                 ("number_input", "segments.small", 2.0),
                 ("selectbox", "segments.edit_choice", "Map selection")],
    "personas": [("radio", "personas.table", "Median"),
                 ("selectbox", "personas.feature", "revenue"),
                 ("radio", "personas.migration", "rerun")],
}


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
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    detail = work()
    # CPU seconds too: on a shared 2-core machine a one-thread task's wall time grows
    # with the other work, its CPU time much less.
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "peak_rss_mb": peak_rss_mb(), "load_avg_1min": load, **(detail or {})}


def workspace_home(users: int) -> Path:
    """The folder (``PERSONA_LENS_HOME``) of the pages' saved workspace."""
    return Path(tempfile.gettempdir()) / f"persona_lens_bench_{users}"


def page_workspace(users: int) -> str:
    """The id of a saved workspace of the sample shop with ``users`` users, as an analyst
    leaves it after an afternoon: four rule segments, a selection saved on the Map, a
    sweep, three runs and the stability of the last; built once and reused."""
    home = workspace_home(users)
    marker = home / "bench_workspace.json"
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept.get("recipe") == WORKSPACE_RECIPE and (home / kept["id"]).exists():
            return kept["id"]
    os.environ["PERSONA_LENS_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    from core.data.sample import generate_sample
    from core.segment.clustering import ClusterConfig
    from core.segment.preprocess import PreprocessConfig, suggest_log
    from core.segment.rule_segments import presets
    from core.workspace import actions
    from core.workspace.segments import save_segment, set_segment_rules

    print(f"building the pages' workspace of {users:,} users (once)…", flush=True)
    events = generate_sample(users, 90, seed=0).events
    ws = actions.new_workspace()
    actions.load_sample_into(ws, events, users, 90, 0)
    del events
    set_segment_rules(ws, presets(ws.features, windows=False)[:4])
    save_segment(ws, "Map selection", list(ws.features.index[::7].astype(str)))
    chosen = tuple(ws.feature_info.selected)
    pre = PreprocessConfig(features=chosen,
                           log_features=tuple(suggest_log(ws.features, chosen)[1]))
    # The page's defaults above 50,000 users: MiniBatch K-Means, for the sweep too.
    algorithm = "minibatch" if users > 50_000 else "kmeans"
    actions.sweep_into(ws, pre, list(range(2, 11)), algorithm)
    for k in (5, 7, 6):
        actions.cluster_into(ws, pre, ClusterConfig(algorithm=algorithm, k=k))
    actions.stability_into(ws, 10)
    marker.write_text(json.dumps({"id": ws.id, "recipe": WORKSPACE_RECIPE}))
    return ws.id


def _page_child(page: str, users: int) -> dict[str, Any]:
    """Open ``page`` on the saved workspace under AppTest and time widget changes."""
    os.environ.update({"PERSONA_LENS_HOME": str(workspace_home(users)),
                       "PERSONA_LENS_AUTOLOAD": "0", "PERSONA_LENS_UMAP_WARMUP": "0"})
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest, app_test, local_script_runner

    import ui.state

    # As tests/pages/conftest.py: AppTest's page hashes are not the router's.
    ui.state.ensure_router = lambda: None
    # The server compiles each script once; AppTest makes a ScriptCache per run.
    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared

    ws_id = json.loads((workspace_home(users) / "bench_workspace.json").read_text())["id"]
    at = AppTest.from_file(str(BENCH_DIR.parent / "app.py"), default_timeout=900)
    at.query_params["ws"] = ws_id
    at.run()
    out: dict[str, Any] = {}

    def timed_run(name: str) -> float:
        load = os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        at.run()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        problems = [e.value for e in at.exception] + [e.value for e in at.error]
        if problems:
            raise RuntimeError(f"{page}, {name}: {problems[0]}")
        out.setdefault(name, {"runs": [], "cpu_runs": [], "load_avg_1min": []})
        out[name]["runs"].append(round(seconds, 4))
        out[name]["cpu_runs"].append(round(cpu, 4))
        out[name]["load_avg_1min"].append(round(load, 2))
        return seconds

    at.switch_page(f"pages/{page}.py")
    timed_run(f"page.{page}.open")
    timed_run(f"page.{page}.rerun")
    for kind, key, value in PAGE_CHANGES[page]:
        before = getattr(at, kind)(key=key).value
        for shown in (value, before, value):
            getattr(at, kind)(key=key).set_value(shown)
            timed_run(f"page.{page}.{key}")
    rows = {}
    for name, row in out.items():
        rows[name] = {"seconds": max(row["runs"]), "runs": row["runs"],
                      "cpu_runs": row["cpu_runs"], "load_avg_1min": max(row["load_avg_1min"]),
                      "peak_rss_mb": peak_rss_mb()}
    rows[f"page.{page}.open"]["charts"] = len(at.get("plotly_chart"))
    return rows


def _stability_child(users: int) -> dict[str, Any]:
    import numpy as np

    from core.data.sample import generate_sample
    from core.segment.algorithms import THREADS
    from core.segment.clustering import ClusterConfig, stability
    from core.segment.preprocess import PreprocessConfig, suggest_log
    from core.segment.runs import label_code
    from core.workspace import actions
    from core.workspace.model import clustered_matrix
    from core.workspace.store import Workspace

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as home:
        os.environ["PERSONA_LENS_HOME"] = home
        ws = actions.new_workspace()
        events = generate_sample(**APP_SAMPLE).events
        actions.load_sample_into(ws, events, **APP_SAMPLE)
        chosen = tuple(ws.feature_info.selected)
        pre = PreprocessConfig(features=chosen,
                               log_features=tuple(suggest_log(ws.features, chosen)[1]))
        actions.cluster_into(ws, pre, ClusterConfig(k=6))  # the page's defaults
        out["stability"] = _timed(lambda: {
            "ari": actions.stability_into(ws, 10).mean, "users": len(ws.clusters),
            "refits": 10, "threads": THREADS})
    os.environ["PERSONA_LENS_HOME"] = str(workspace_home(users))
    big = Workspace.load(json.loads((workspace_home(users) / "bench_workspace.json")
                                    .read_text())["id"])
    matrix, _, _ = clustered_matrix(big)
    codes = big.clusters["cluster"].astype(str).map(label_code).to_numpy(dtype=int)
    config = big.clustering.config
    out["stability_100k"] = _timed(lambda: {
        "ari": float(np.mean(stability(matrix, config, runs=10, reference=codes).scores)),
        "users": len(matrix), "algorithm": config.algorithm, "refits": 10})
    return out


def _child(task: str, path: Path, users: int) -> dict[str, Any]:
    import numpy as np

    if task == "stability":
        return _stability_child(users)
    if task.startswith("page:"):
        return _page_child(task.split(":", 1)[1], users)
    matrix = _matrix(path)
    out: dict[str, Any] = {"users": len(matrix), "features": matrix.shape[1]}
    if task == "sweep":
        from core.segment.algorithms import THREADS
        from core.segment.clustering import k_sweep

        out["preprocess"] = _timed(lambda: {"shape": list(_matrix(path).shape)})
        for name, algorithm in (("sweep", "kmeans"), ("sweep_minibatch", "minibatch")):
            out[name] = _timed(lambda a=algorithm: {
                "suggested_k": k_sweep(matrix, range(2, 11), algorithm=a).suggested_k,
                "threads": THREADS})
    elif task == "hdbscan":
        from core.segment.clustering import ClusterConfig, fit_clusters

        def work():
            result = fit_clusters(matrix, ClusterConfig(algorithm="hdbscan",
                                                        min_cluster_size=200))
            return {"clusters": int(result.n_clusters),
                    "noise_share": float(np.mean(result.labels == -1))}
        out["hdbscan"] = _timed(work)
    return out


def _run_child(task: str, path: Path, users: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        result_file = Path(tmp.name)
    cmd = [sys.executable, "-m", "bench.bench_segmentation", "--child", task, "--path",
           str(path), "--users", str(users), "--result-file", str(result_file)]
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


def _budget(name: str) -> float | None:
    return PAGE_BUDGET if name.startswith("page.") and not name.endswith(".open") \
        else BUDGETS.get(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--pages", nargs="+", default=list(PAGE_CHANGES),
                        choices=list(PAGE_CHANGES), help="pages the pages task opens")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        Path(args.result_file).write_text(json.dumps(_child(args.child, Path(args.path),
                                                            args.users)))
        return 0
    path = feature_table(args.users)
    if {"stability", "pages"} & set(args.tasks):
        page_workspace(args.users)
    children = [c for task in args.tasks for c in (
        [f"page:{p}" for p in args.pages] if task == "pages" else [task])]
    rows: dict[str, Any] = {}
    for task in children:
        print(f"running {task} on {args.users:,} users…", flush=True)
        result = _run_child(task, path, args.users)
        if "error" in result:
            print(f"  {task}: {result['error']}")
            rows[task] = result
            continue
        for name, value in result.items():
            if isinstance(value, dict):
                rows[name] = {**value, "load_avg_1min_before": result["load_avg_1min_before"]}
    print(f"\n{'work':<38}{'seconds':>9}{'peak RSS MB':>13}{'load':>6}  budget     detail")
    for name, row in rows.items():
        if "error" in row:
            continue
        budget = _budget(name)
        verdict = "" if budget is None else (
            f"≤{budget:g} s {'PASS' if row['seconds'] <= budget else 'FAIL'}")
        detail = {k: v for k, v in row.items() if k not in (
            "seconds", "peak_rss_mb", "load_avg_1min_before", "load_avg_1min")}
        load = row.get("load_avg_1min", row["load_avg_1min_before"])
        print(f"{name:<38}{row['seconds']:>9.2f}{row['peak_rss_mb']:>13.0f}{load:>6.1f}  "
              f"{verdict:<11}{detail}")
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
