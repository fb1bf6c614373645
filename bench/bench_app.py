"""Benchmark the waits an analyst sees in the browser: server start to the first chart,
and a 1.5 M-row CSV uploaded on the Data page to its features shown.

Usage::

    python -m bench.bench_app [--rows 1500000] [--skip-upload]

A real ``streamlit run app.py`` in its own workspace folder, driven by Playwright in
Debian's Chromium (``/usr/bin/chromium``). Times are wall clock from the analyst's side:

- ``start_to_first_chart``: from starting the server process to the first chart drawn
  (the Features page opened by its address; Home has no chart), with the sample
  loaded and the map warm-up running as it does for a user;
- ``upload_to_features``: from choosing the file to the Features page showing its table
  (``upload_s`` until the mapping shows, then ``load_s`` from pressing Load events to
  the loaded message, then ``features_page_s``); the progress bar's values are sampled
  every 0.2 s to show that it moves.

Writes ``bench/app_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.run_bench import machine as machine_info

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "app_results.json"
DATA_DIR = BENCH_DIR / "data"
CHROMIUM = os.environ.get("PERSONA_LENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TARGETS = {"start_to_first_chart": 8.0, "upload_to_features": 10.0}
#: The sample shop has about 56 events per user.
EVENTS_PER_USER = 56


def upload_file(rows: int) -> Path:
    """A CSV of about ``rows`` sample events (generated once into bench/data)."""
    path = DATA_DIR / f"upload_{rows}.csv"
    if not path.exists():
        from core.data.sample import generate_sample

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        events = generate_sample(n_users=round(rows / EVENTS_PER_USER), days=90, seed=3).events
        partial = path.with_suffix(".partial")
        events.to_csv(partial, index=False)
        partial.replace(path)
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(home: Path) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    env = {**os.environ, "PERSONA_LENS_HOME": str(home)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return process, url, started
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the server exited") from None
            time.sleep(0.05)


def _idle(page) -> None:
    page.wait_for_timeout(200)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=180_000)


def measure(rows: int, skip_upload: bool) -> dict:
    from playwright.sync_api import sync_playwright

    results: dict = {}
    with tempfile.TemporaryDirectory() as home, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(180_000)
        load = os.getloadavg()[0]
        process, url, started = _start(Path(home))
        try:
            healthy = time.perf_counter() - started
            page.goto(url + "/features")
            page.locator(".js-plotly-plot").first.wait_for()
            results["start_to_first_chart"] = {
                "seconds": time.perf_counter() - started, "server_healthy_s": healthy,
                "load_avg_1min_before": load}
            _idle(page)
            if not skip_upload:
                results["upload_to_features"] = _upload(page, upload_file(rows), rows)
        finally:
            process.terminate()
            process.wait(timeout=30)
            browser.close()
    return results


def _upload(page, path: Path, rows: int) -> dict:
    load = os.getloadavg()[0]
    page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
    page.get_by_role("heading", name="Data").first.wait_for()
    _idle(page)
    start = time.perf_counter()
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_role("button", name="Load events").wait_for()
    _idle(page)
    uploaded = time.perf_counter()
    page.get_by_role("button", name="Load events").click()
    progress = []
    message = page.get_by_text("Loaded ", exact=False).filter(has_text="events of")
    while not message.count():
        value = page.evaluate(
            "() => { const b = document.querySelector('[data-testid=stProgress]');"
            " if (!b) return null; const v = b.querySelector('[aria-valuenow]');"
            " return (v ? v.getAttribute('aria-valuenow') + ' ' : '') + b.innerText; }")
        if value is not None and (not progress or progress[-1][1] != value):
            progress.append((round(time.perf_counter() - uploaded, 2), value))
        page.wait_for_timeout(200)
    loaded = time.perf_counter()
    _idle(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Features", exact=True).click()
    page.get_by_role("heading", name="Features").first.wait_for()
    page.get_by_test_id("stDataFrame").first.wait_for()
    _idle(page)
    done = time.perf_counter()
    return {"seconds": done - start, "rows_in_file": rows, "file_mb": path.stat().st_size / 1e6,
            "upload_s": uploaded - start, "load_s": loaded - uploaded,
            "features_page_s": done - loaded, "progress": progress,
            "progress_values_seen": len(progress), "load_avg_1min_before": load}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--skip-upload", action="store_true")
    args = parser.parse_args(argv)
    results = measure(args.rows, args.skip_upload)
    for name, result in results.items():
        result["target_s"] = TARGETS[name]
        result["passed"] = result["seconds"] <= TARGETS[name]
        verdict = "PASS" if result["passed"] else "FAIL"
        print(f"{name:24s} {result['seconds']:6.2f} s  (target {TARGETS[name]:g} s) {verdict}"
              f"  load {result['load_avg_1min_before']:.2f}")
    if "upload_to_features" in results:
        up = results["upload_to_features"]
        print(f"  upload {up['upload_s']:.2f} s, load {up['load_s']:.2f} s, features page "
              f"{up['features_page_s']:.2f} s; progress values seen: {up['progress']}")
    RESULTS_PATH.write_text(json.dumps({"machine": machine_info(), "results": results},
                                       indent=2))
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
