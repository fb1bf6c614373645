"""AppTest fixtures.

AppTest resets Streamlit's legacy ``pages/`` mode before every run, so after
``switch_page`` each run executes the page file on its own, with AppTest's own page
hash that the router's pages do not know: the router guard (``ui.router``) would show
Home instead. The guard is for the real server (the browser tests open deep links on
a fresh server), so page tests switch it off.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_router_guard(monkeypatch):
    monkeypatch.setattr("ui.state.ensure_router", lambda: None)


@pytest.fixture(autouse=True)
def _no_umap_warm_up_at_start(monkeypatch):
    """Compiling UMAP in the background would slow every other page test; the Map page
    starts it itself when UMAP is chosen."""
    monkeypatch.setenv("PERSONA_LENS_UMAP_WARMUP", "0")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty workspace folder for the test."""
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path
