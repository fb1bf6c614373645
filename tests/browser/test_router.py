"""Deep links on a server that has served nothing yet open inside the router."""

from __future__ import annotations

import pytest

from core.data.sample import generate_sample
from core.workspace import actions
from core.workspace.store import Workspace

pytestmark = pytest.mark.browser


def _saved_workspace(home, monkeypatch) -> str:
    monkeypatch.setenv("PERSONA_LENS_HOME", str(home))
    ws = Workspace()
    sample = generate_sample(n_users=300, days=30, seed=5)
    actions.load_sample_into(ws, sample.events, n_users=300, days=30, seed=5)
    return ws.id


def _inside_router(page) -> None:
    """The router's sidebar is there: its sections, and the loaded data."""
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_text("Personalize").wait_for(timeout=60_000)
    page.get_by_text("LOADED DATA").wait_for()
    assert page.get_by_text("Page not found").count() == 0


def test_deep_link_is_the_first_request_after_a_start(fresh_server, page, tmp_path,
                                                       monkeypatch):
    home = tmp_path / "home"
    ws_id = _saved_workspace(home, monkeypatch)
    url = fresh_server(home)
    page.goto(f"{url}/clustering?ws={ws_id}")
    page.get_by_role("heading", name="Clustering").first.wait_for(timeout=90_000)
    _inside_router(page)
    page.get_by_text("Sample: online shop").first.wait_for()
    assert f"ws={ws_id}" in page.url and "/clustering" in page.url

    url = fresh_server(home)
    page.goto(f"{url}/export?ws={ws_id}")
    page.get_by_role("heading", name="Export").first.wait_for(timeout=90_000)
    _inside_router(page)
    page.wait_for_timeout(1000)  # a late "Page not found" dialog would show by now
    assert page.get_by_text("Page not found").count() == 0
    assert "/export" in page.url
