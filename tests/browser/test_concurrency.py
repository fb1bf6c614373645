"""Two tabs on one workspace, and a server killed in the middle of a save: the saved
workspace is always one whole revision."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest
from playwright.sync_api import expect

from core.workspace import revisions
from core.workspace.store import Workspace
from tests.browser.conftest import _serve, no_bug, save_a_step, shoot, tooltip
from ui.editing import BEHIND_HELP

pytestmark = pytest.mark.browser


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=90_000)


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()
    _idle(page)


def _load_sample(page, users: int) -> None:
    _nav(page, "Data")
    page.get_by_role("tab", name="Sample: online shop").click()
    box = page.get_by_label("Users", exact=True)
    box.fill(str(users))
    box.press("Enter")
    _idle(page)
    page.get_by_role("button", name="Load sample").click()


def test_a_tab_that_is_behind_is_refused_and_nothing_is_mixed(app_server, browser,
                                                                monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(app_server["home"]))
    contexts = [browser.new_context(viewport={"width": 1440, "height": 1000})
                for _ in range(2)]
    loader, clusterer = (c.new_page() for c in contexts)
    for tab in (loader, clusterer):
        tab.set_default_timeout(60_000)
    loader.goto(app_server["url"])
    loader.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    ws_id = save_a_step(loader)
    clusterer.goto(f"{app_server['url']}/clustering?ws={ws_id}")
    clusterer.get_by_role("button", name="Cluster", exact=True).wait_for(timeout=90_000)

    # One tab loads other data, the other then clusters the copy it read before.
    _load_sample(loader, 1200)
    loader.get_by_text("Loaded the sample: ").wait_for(timeout=90_000)
    fit = clusterer.get_by_role("button", name="Cluster", exact=True)
    fit.click()
    # The tab that is behind is told before it can do work that could not be saved: the
    # banner, and the changing buttons off with the reason (a click that raced the other
    # tab's save is refused by the save itself: tests/pages/test_concurrent_tabs.py).
    clusterer.get_by_text("This workspace changed in another tab or by another analyst. "
                          "Reload").wait_for(timeout=90_000)
    expect(fit).to_be_disabled(timeout=30_000)
    tooltip(clusterer, fit, BEHIND_HELP.replace("**", ""))
    assert clusterer.get_by_text("No clusters yet").count() == 1
    shoot(clusterer, "125_concurrent_behind")
    no_bug(clusterer)

    # On disk: the loader's revision, whole: its dataset, features and no clusters.
    saved = Workspace.load(ws_id)
    assert saved.data.users == 1200
    assert set(saved.features.index.astype(str)) == set(
        saved.events["user_id"].astype(str).unique())
    assert saved.clusters is None and saved.clustering is None

    # Reloading shows the latest; clustering then saves on top of it.
    clusterer.get_by_role("button", name="Reload the latest").click()
    _idle(clusterer)
    clusterer.get_by_text("1,200").first.wait_for()
    clusterer.get_by_role("button", name="Cluster", exact=True).click()
    clusterer.get_by_role("heading", name=re.compile(r"K-Means: \d+ clusters")).wait_for(
        timeout=90_000)
    after = Workspace.load(ws_id)
    assert after.saved_revision == saved.saved_revision + 1
    assert set(after.clusters.index) <= set(after.features.index)
    assert len(after.features) == 1200
    for context in contexts:
        context.close()


def test_a_server_killed_during_a_save_reopens_at_the_previous_revision(
        tmp_path_factory, browser, monkeypatch):
    home = tmp_path_factory.mktemp("killed_home")
    monkeypatch.setenv("PERSONA_LENS_HOME", str(home))
    server = _serve(tmp_path_factory, [], {"PERSONA_LENS_UMAP_WARMUP": "0"}, home)
    info = next(server)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(info["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    ws_id = save_a_step(page)
    folder = home / "workspaces" / ws_id
    assert revisions.head_revision(folder) == 1

    # Watch for the next save's folder and kill the server as soon as it is written to.
    killed = threading.Event()

    def kill_midway():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(tmp.is_dir() and any(tmp.iterdir()) for tmp in folder.glob(".tmp-*")):
                os.kill(info["process"].pid, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=kill_midway, daemon=True)
    watcher.start()
    _load_sample(page, 8_000)
    watcher.join(timeout=150)
    assert killed.is_set(), "the save was not caught in the middle"
    info["process"].wait(timeout=10)
    server.close()
    assert revisions.head_revision(folder) == 1
    assert list(folder.glob(".tmp-*")), "the half-written revision is left, not committed"

    # Restarted, the workspace opens at its previous revision: the 5,000-user sample.
    restarted = _serve(tmp_path_factory, [], {"PERSONA_LENS_UMAP_WARMUP": "0"}, home)
    again = next(restarted)
    try:
        page.goto(f"{again['url']}/?ws={ws_id}")
        page.get_by_text("5,000").first.wait_for(timeout=90_000)
        _idle(page)
        no_bug(page)
        reopened = Workspace.load(ws_id)
        assert reopened.saved_revision == 1 and reopened.data.users == 5000
        assert len(reopened.features) == 5000
    finally:
        context.close()
        restarted.close()
