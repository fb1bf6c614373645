"""Benchmark: events Parquet → sessions → per-user feature table, core vs pandas and Polars.

Usage::

    python -m bench.run_bench [--sizes 1000000 10000000] [--repeat 3]
                              [--impl core pandas polars] [--skip-baseline]

For each size a sample event log is generated once into ``bench/data/`` (reused on
later runs). Each implementation then runs ``--repeat`` times, every run in a fresh
Python process, so that its peak RSS is its own and no cache survives between runs.
The child times only the work (read, clean, sessionize, features), not interpreter
start-up or imports. The parent prints a table, checks that each baseline agrees with
core, checks the performance budget of DESIGN.md section 5 and writes
``bench/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_PATH = BENCH_DIR / "results.json"
#: The generated sample has about 56 events per user (measured), so this many users
#: give the requested number of events to within a few per cent.
EVENTS_PER_USER = 56
SAMPLE_DAYS = 90
SAMPLE_SEED = 0
DEFAULT_SIZES = (1_000_000, 10_000_000)
DEFAULT_REPEAT = 3

IMPLEMENTATIONS = {"core": "core (DuckDB)", "pandas": "pandas baseline",
                   "polars": "Polars baseline"}
#: The peers core is checked against and compared with (speed-up columns).
BASELINES = ("pandas", "polars")
#: Columns whose agreement decides PASS/FAIL: counts, money, recency and a ratio
#: with missing values, i.e. one of each kind of feature.
CHECK_COLUMNS = ("events", "sessions", "purchases", "revenue", "days_since_last_event",
                 "cart_abandonment_rate")
RTOL = 1e-6
#: Absolute floor so that two zeros with float noise (e.g. recency of the last user,
#: computed from epoch seconds as doubles) do not fail a relative test.
ATOL = 1e-9

#: DESIGN.md section 5: 10 M events → sessions + full feature table.
BUDGET_EVENTS = 10_000_000
BUDGET_SECONDS = 5.0
BUDGET_RSS_MB = 1024.0
#: Minimum speed-up of core over each baseline (its median / core's median).
BUDGET_SPEEDUP = {"pandas": 5.0, "polars": 2.0}
MB = 1024 * 1024


# --------------------------------------------------------------------------- child


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB.

    Returns
    -------
    float
        Linux's ``VmHWM``: the high-water mark of the current address space, so
        everything the run ever held at once, including what DuckDB or pandas freed
        before returning. ``getrusage``'s ``ru_maxrss`` is only the fallback because on
        Linux it survives fork and exec: a child started by a parent that once held
        2 GB would report 2 GB before doing anything.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def _child(impl: str, path: Path, result_file: Path, output: Path | None) -> None:
    """Run one implementation once and write its timing and peak RSS as JSON.

    Parameters
    ----------
    impl : {"core", "pandas", "polars"}
        Which implementation to run.
    path : Path
        Event Parquet file.
    result_file : Path
        Where the JSON result goes.
    output : Path, optional
        When given, the feature table is also saved here (after measuring) so the
        parent can compare implementations.
    """
    # Imports happen before the clock starts: the budget is about the work, and
    # import time is paid once per server process, not per load.
    if impl == "core":
        from core.features.pipeline import features_from_file

        def work() -> Any:
            return features_from_file(path)[0].frame
    elif impl == "pandas":
        from bench.baseline_pandas import features_pandas

        def work() -> Any:
            return features_pandas(path)
    else:
        from bench.baseline_polars import features_polars

        def work() -> Any:
            return features_polars(path)

    rss_before = peak_rss_mb()
    start = time.perf_counter()
    frame = work()
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "peak_rss_mb": peak_rss_mb(),
              "rss_after_imports_mb": rss_before,
              "users": len(frame), "columns": len(frame.columns)}
    if output is not None:
        frame.to_parquet(output)
    result_file.write_text(json.dumps(result))


def _run_child(impl: str, path: Path, output: Path | None) -> dict[str, Any]:
    """Start a fresh interpreter for one run and return its result (or its error)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        result_file = Path(tmp.name)
    cmd = [sys.executable, "-m", "bench.run_bench", "--child", impl, "--path", str(path),
           "--result-file", str(result_file)]
    if output is not None:
        cmd += ["--output", str(output)]
    load = os.getloadavg()[0]
    try:
        proc = subprocess.run(cmd, cwd=BENCH_DIR.parent, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-5:]
            return {"error": f"exit {proc.returncode}: " + " | ".join(tail),
                    "load_avg_1min_before": load}
        result = json.loads(result_file.read_text())
    finally:
        result_file.unlink(missing_ok=True)
    # Another process on a 2-core machine would distort the time; keep the evidence.
    result["load_avg_1min_before"] = load
    return result


# --------------------------------------------------------------------------- parent


def sample_path(size: int) -> Path:
    """Generate the sample of about ``size`` events once and return its path.

    Parameters
    ----------
    size : int
        Requested number of events.

    Returns
    -------
    Path
        ``bench/data/events_<size>.parquet``.
    """
    path = DATA_DIR / f"events_{size}.parquet"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    n_users = round(size / EVENTS_PER_USER)
    print(f"Generating {path.name} ({n_users:,} users)...", flush=True)
    # Write under a temporary name and rename, so an interrupted run never leaves a
    # truncated file that later runs would reuse.
    partial = path.with_suffix(".partial.parquet")
    # Generate in a child too: 10 M events need ~2.7 GB, which this process would
    # otherwise keep as heap while it runs the measurements.
    code = ("import sys; from core.data.sample import write_sample; "
            "write_sample(sys.argv[1], n_users=int(sys.argv[2]), days=int(sys.argv[3]), "
            "seed=int(sys.argv[4]))")
    subprocess.run([sys.executable, "-c", code, str(partial), str(n_users), str(SAMPLE_DAYS),
                    str(SAMPLE_SEED)], cwd=BENCH_DIR.parent, check=True)
    partial.replace(path)
    return path


def compare(core_file: Path, peer_file: Path, peer: str = "pandas") -> dict[str, Any]:
    """Compare core's feature table with a baseline's, both saved by the children.

    Parameters
    ----------
    core_file, peer_file : Path
        Parquet files of the feature tables, indexed by user id.
    peer : str
        The baseline's key in :data:`IMPLEMENTATIONS`, for the report.

    Returns
    -------
    dict
        ``peer``, ``same_users``, per-column ``max_abs_diff``, ``max_rel_diff`` and
        ``mismatches`` for :data:`CHECK_COLUMNS` (``checked``) and every other shared
        column (``other``), and ``passed``.
    """
    import numpy as np
    import pandas as pd

    core = pd.read_parquet(core_file)
    base = pd.read_parquet(peer_file)
    same_users = (len(core) == len(base)
                  and core.index.sort_values().equals(base.index.sort_values()))
    base = base.reindex(core.index)
    columns: dict[str, dict[str, Any]] = {}
    # Users with any differing value: tells one systematic difference (every user)
    # from a rule that differs only on a few users' events.
    differing = pd.Series(False, index=core.index)
    for col in [c for c in core.columns if c in base.columns]:
        a, b = core[col], base[col]
        if not pd.api.types.is_numeric_dtype(a):
            unequal = a.astype(str) != b.astype(str)
            differing |= unequal
            columns[col] = {"mismatches": int(unequal.sum())}
            continue
        x, y = a.to_numpy(float), b.to_numpy(float)
        both = ~np.isnan(x) & ~np.isnan(y)
        diff = np.abs(x - y)[both]
        scale = np.maximum(np.abs(x), np.abs(y))[both]
        rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
        close = np.isclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True)
        differing |= ~close
        columns[col] = {"max_abs_diff": float(diff.max()) if diff.size else 0.0,
                        "max_rel_diff": float(rel.max()) if rel.size else 0.0,
                        "mismatches": int((~close).sum())}
    missing = [c for c in CHECK_COLUMNS if c not in columns]
    checked = {c: columns[c] for c in CHECK_COLUMNS if c in columns}
    passed = same_users and not missing and all(v["mismatches"] == 0
                                                for v in checked.values())
    return {"peer": peer, "same_users": bool(same_users), "users_core": len(core),
            "users_peer": len(base), "missing_columns": missing,
            "users_with_any_difference": int(differing.sum()),
            "only_in_core": [c for c in core.columns if c not in base.columns],
            "only_in_peer": [c for c in base.columns if c not in core.columns],
            "checked": checked,
            "other": {c: v for c, v in columns.items() if c not in CHECK_COLUMNS},
            "passed": bool(passed)}


def machine() -> dict[str, Any]:
    """Describe the machine and library versions the numbers were measured with."""
    import duckdb
    import numpy
    import pandas
    import psutil
    import pyarrow

    try:
        import polars
        polars_version = polars.__version__
    except ImportError:  # the other benchmarks share this helper and do not need it
        polars_version = None

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "logical_cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)),
            "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pandas.__version__,
            "numpy": numpy.__version__, "pyarrow": pyarrow.__version__,
            "polars": polars_version}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median time, fastest time and worst peak RSS of the runs that succeeded."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return {"median_s": None, "peak_rss_mb": None, "errors": [r["error"] for r in runs]}
    return {"median_s": statistics.median(r["seconds"] for r in good),
            "min_s": min(r["seconds"] for r in good),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in good),
            "errors": [r["error"] for r in runs if "error" in r]}


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def run(sizes: list[int], repeat: int, impls: list[str]) -> dict[str, Any]:
    """Run the benchmark, print the progress and return everything measured.

    Parameters
    ----------
    sizes : list of int
        Numbers of events to benchmark.
    repeat : int
        Runs per implementation and size.
    impls : list of str
        Keys of :data:`IMPLEMENTATIONS` to run, in that order.

    Returns
    -------
    dict
        The content written to ``bench/results.json``.
    """
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(), "repeat": repeat, "implementations": impls, "sizes": {}}
    for size in sizes:
        path = sample_path(size)
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
        entry: dict[str, Any] = {"file": path.name, "rows": rows,
                                 "runs": {i: [] for i in impls}}
        outputs = {i: DATA_DIR / f"features_{i}_{size}.parquet" for i in impls}
        for output in outputs.values():
            output.unlink(missing_ok=True)  # never compare against a stale run's table
        # Interleave the implementations so that a slow spell of the machine (another
        # job on a 2-core box) hits all of them rather than one.
        for k in range(repeat):
            for impl in impls:
                print(f"  {size:>12,} events  {IMPLEMENTATIONS[impl]:<16} run {k + 1}/{repeat}",
                      end="", flush=True)
                result = _run_child(impl, path, outputs[impl] if k == 0 else None)
                entry["runs"][impl].append(result)
                print(f"  {result['seconds']:7.2f} s  {result['peak_rss_mb']:7.0f} MB  "
                      f"load {result['load_avg_1min_before']:.2f}"
                      if "error" not in result else f"  FAILED {result['error']}", flush=True)
        entry["summary"] = {i: _summary(entry["runs"][i]) for i in impls}
        for impl in impls:
            mine = entry["summary"][impl]["median_s"]
            for peer in BASELINES:
                base = entry["summary"].get(peer, {}).get("median_s")
                entry["summary"][impl][f"speedup_vs_{peer}"] = (base / mine if base and mine
                                                                else None)
        if "core" in impls and outputs["core"].exists():
            entry["agreement"] = {peer: compare(outputs["core"], outputs[peer], peer)
                                  for peer in BASELINES
                                  if peer in impls and outputs[peer].exists()}
        results["sizes"][str(size)] = entry
    results["budget"] = _budget(results)
    return results


def _budget(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate the DESIGN.md budget lines on the 10 M-event size, if core ran on it.

    A speed-up line whose baseline was not run is listed with ``passed`` None.
    """
    entry = results["sizes"].get(str(BUDGET_EVENTS))
    if entry is None or "core" not in entry["summary"]:
        return []
    core = entry["summary"]["core"]
    lines = [(f"median time ≤ {BUDGET_SECONDS:g} s", core["median_s"], BUDGET_SECONDS, "s",
              "le"),
             (f"peak RSS ≤ {BUDGET_RSS_MB / 1024:g} GB", core["peak_rss_mb"], BUDGET_RSS_MB,
              "MB", "le")]
    for peer, limit in BUDGET_SPEEDUP.items():
        lines.append((f"≥ {limit:g}× faster than {peer}", core.get(f"speedup_vs_{peer}"),
                      limit, "×", "ge" if peer in entry["summary"] else "not run"))
    out = []
    for name, value, limit, unit, how in lines:
        if how == "not run":
            ok = None
        else:
            ok = value is not None and (value <= limit if how == "le" else value >= limit)
        out.append({"line": name, "value": value, "limit": limit, "unit": unit,
                    "passed": None if ok is None else bool(ok)})
    return out


def _speedup(value: float | None) -> str:
    return f"{value:8.1f}×" if value else f"{'—':>9}"


def report(results: dict[str, Any]) -> None:
    """Print the timing table, the agreement checks and the budget."""
    m = results["machine"]
    print(f"\n{m['cpu']}, {m['usable_cores']} cores, {m['ram_gb']} GB RAM; Python "
          f"{m['python']}, duckdb {m['duckdb']}, pandas {m['pandas']}, polars "
          f"{m.get('polars')}; median of {results['repeat']} runs, each in a fresh "
          "process\n")
    header = (f"{'events':>12}  {'implementation':<16} {'median s':>9} {'peak RSS MB':>12} "
              f"{'vs pandas':>9} {'vs polars':>9} {'load 1 min':>10}")
    print(header)
    print("-" * len(header))
    for entry in results["sizes"].values():
        for impl, summary in entry["summary"].items():
            loads = [r["load_avg_1min_before"] for r in entry["runs"][impl]]
            print(f"{entry['rows']:>12,}  {IMPLEMENTATIONS[impl]:<16} "
                  f"{_fmt(summary['median_s'], '9.2f')} {_fmt(summary['peak_rss_mb'], '12.0f')} "
                  f"{_speedup(summary.get('speedup_vs_pandas'))} "
                  f"{_speedup(summary.get('speedup_vs_polars'))} "
                  f"{statistics.median(loads):>10.2f}")
    print("(vs X: X's median / this median; load: median 1-minute load average before "
          "the runs)")
    for entry in results["sizes"].values():
        for peer, agreement in entry.get("agreement", {}).items():
            _report_agreement(entry["rows"], peer, agreement)
    if results["budget"]:
        print(f"\nBudget (DESIGN.md §5, {BUDGET_EVENTS:,} events, core):")
        for line in results["budget"]:
            value = _fmt(line["value"], ".2f")
            verdict = {True: "PASS", False: "FAIL", None: "SKIP"}[line["passed"]]
            measured = f"measured {value} {line['unit']}" if line["passed"] is not None \
                else "baseline not run"
            print(f"  {verdict}  {line['line']:<26} {measured}")
    else:
        print(f"\nBudget not evaluated: it is defined for core at {BUDGET_EVENTS:,} events.")


def _report_agreement(rows: int, peer: str, agreement: dict[str, Any]) -> None:
    """Print one baseline's agreement with core."""
    name = IMPLEMENTATIONS[peer]
    print(f"\nAgreement of core and the {name} on {rows:,} events: users "
          f"{agreement['users_core']:,} (core) vs {agreement['users_peer']:,} ({peer}), "
          f"{'same' if agreement['same_users'] else 'DIFFERENT'} ids")
    print(f"  {'column':<26} {'max abs diff':>13} {'max rel diff':>13} {'mismatches':>11}")
    for col, v in agreement["checked"].items():
        print(f"  {col:<26} {v['max_abs_diff']:>13.3g} {v['max_rel_diff']:>13.3g} "
              f"{v['mismatches']:>11,}")
    others = ", ".join(f"{c} ({v['mismatches']:,})"
                       for c, v in agreement["other"].items() if v["mismatches"])
    print(f"  other shared columns: {len(agreement['other'])}, with mismatches: "
          f"{others or 'none'}")
    print(f"  users with any differing value: {agreement['users_with_any_difference']:,}")
    for side in ("core", "peer"):
        if agreement[f"only_in_{side}"]:
            print(f"  only in {peer if side == 'peer' else 'core'}: "
                  f"{', '.join(agreement[f'only_in_{side}'])}")
    if agreement["missing_columns"]:
        print(f"  missing check columns: {', '.join(agreement['missing_columns'])}")
    print(f"  {'PASS' if agreement['passed'] else 'FAIL'}: core and {peer} agree within "
          f"rtol {RTOL:g} on {', '.join(CHECK_COLUMNS)}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench.run_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="numbers of events (default: 1000000 10000000)")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help="runs per implementation and size; the median is reported")
    parser.add_argument("--impl", nargs="+", choices=list(IMPLEMENTATIONS),
                        help="implementations to run (default: all); a baseline is "
                             "checked against core only when core runs too")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="run the core implementation only (same as --impl core)")
    # Internal: one measured run inside a fresh interpreter.
    parser.add_argument("--child", choices=sorted(IMPLEMENTATIONS), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.path, args.result_file, args.output)
        return 0
    if args.repeat < 1 or any(s < EVENTS_PER_USER for s in args.sizes):
        parser.error(f"--repeat must be ≥ 1 and every size ≥ {EVENTS_PER_USER} events.")
    if args.skip_baseline and args.impl and args.impl != ["core"]:
        parser.error("--skip-baseline runs core only; leave out --impl or give --impl core.")
    chosen = ["core"] if args.skip_baseline else (args.impl or list(IMPLEMENTATIONS))
    impls = [i for i in IMPLEMENTATIONS if i in chosen]
    results = run(args.sizes, args.repeat, impls)
    report(results)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nWrote {RESULTS_PATH.relative_to(BENCH_DIR.parent)}")
    failed = any(not agreement["passed"] for e in results["sizes"].values()
                 for agreement in e.get("agreement", {}).values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
