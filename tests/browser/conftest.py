"""Start the real app on a free port and drive it with Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("PERSONA_LENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"Streamlit did not become healthy within {START_TIMEOUT_S} s")


@pytest.fixture(scope="session", autouse=True)
def _fresh_failure_shots():
    """Screenshots of failures from earlier runs would mislead: remove them."""
    for old in ARTIFACTS.glob("FAILED_*.png"):
        old.unlink()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """Run ``streamlit run app.py`` with its own workspace folder; yield its base URL."""
    yield from _serve(tmp_path_factory, [])


@pytest.fixture(scope="session")
def small_upload_server(tmp_path_factory):
    """The app with a 1 MB upload limit, to see what an oversized file gets."""
    yield from _serve(tmp_path_factory, ["--server.maxUploadSize", "1"],
                      {"PERSONA_LENS_AUTOLOAD": "0"})


def _serve(tmp_path_factory, extra_args: list[str], extra_env: dict | None = None,
           home: Path | None = None):
    home = home or tmp_path_factory.mktemp("persona_lens_home")
    port = _free_port()
    env = {**os.environ, "PERSONA_LENS_HOME": str(home), **(extra_env or {})}
    log = open(tmp_path_factory.mktemp("logs") / "streamlit.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", *extra_args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield {"url": url, "home": home, "log": Path(log.name), "process": process}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def fresh_server(tmp_path_factory):
    """Start a new server on a given workspace folder: ``start(home)`` -> its URL.

    Each call is a server process that has served nothing yet, so the first request
    meets Streamlit before any session has run the router.
    """
    running = []

    def start(home: Path) -> str:
        server = _serve(tmp_path_factory, [], {"PERSONA_LENS_UMAP_WARMUP": "0"}, home)
        info = next(server)
        running.append(server)
        return info["url"]

    yield start
    for server in running:
        server.close()


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make test`, which installs it.")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                  accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    if getattr(request.node, "failed_call", False):
        shoot(pg, f"FAILED_{request.node.name}")
    context.close()


def shoot(page, name: str) -> Path:
    """Save a full-page screenshot to tests/browser/artifacts/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # Streamlit scrolls inside its main container, so a full-page screenshot would stop
    # at the viewport: grow the viewport to the content for the picture.
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stAppViewContainer], section.main')].map(e => e.scrollHeight), "
        "document.body.scrollHeight)")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(600)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def save_a_step(page) -> str:
    """Take the cheapest step that saves (tick "Shared" on Home); return the workspace id
    the address then carries (a visit saves nothing before its first step)."""
    import re

    page.get_by_test_id("stCheckbox").filter(has_text="Shared").first.click()
    page.wait_for_url(re.compile(r"ws=[0-9a-f]{12}"), timeout=60_000)
    return re.search(r"ws=([0-9a-f]{12})", page.url).group(1)


def tooltip(page, widget, text: str) -> None:
    """Hover ``widget`` until its tooltip shows ``text`` (a first hover right after a
    rerun can land before the tooltip is bound)."""
    tip = page.get_by_text(text).first
    for _ in range(5):
        page.mouse.move(5, 5)
        widget.hover(force=True)
        try:
            tip.wait_for(timeout=3000)
            return
        except Exception:  # playwright's TimeoutError: hover again
            continue
    tip.wait_for(timeout=3000)


def no_bug(page) -> None:
    """No traceback and no bug message (ui.router.show_bug) on the page."""
    from ui.router import BUG_MESSAGE

    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text(BUG_MESSAGE).count() == 0, page.get_by_text(
        BUG_MESSAGE).first.inner_text()
