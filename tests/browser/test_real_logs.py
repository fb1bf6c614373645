"""Real-shaped files through the uploader: grocery line items and a purchase log with
YYYYMMDD dates load with a banner that says what happened, the first sweep runs on the
default features, and the personas' names agree with their numbers."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.workspace.store import Workspace
from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle
from tests.core.workspace.test_real_logs import grocery, purchases_yyyymmdd

pytestmark = pytest.mark.browser


def _upload_and_load(page, path, monkeypatch, home) -> Workspace:
    page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
    page.get_by_role("heading", name="Data").first.wait_for(timeout=90_000)
    _wait_idle(page)
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for(timeout=60_000)
    _wait_idle(page)
    page.get_by_role("button", name="Load events").click()
    page.get_by_text(f"from {path.name}").first.wait_for(timeout=120_000)
    _wait_idle(page)
    monkeypatch.setenv("PERSONA_LENS_HOME", str(home))
    return Workspace.load(re.search(r"ws=([0-9a-f]{12})", page.url).group(1))


def _sweep_fit_and_name(page) -> None:
    _nav(page, "Clustering")
    page.get_by_role("button", name="Run sweep").click()
    page.get_by_text("Suggested: k =").wait_for(timeout=120_000)
    _wait_idle(page)
    page.get_by_role("button", name="Use k =").click()
    _wait_idle(page)
    page.get_by_role("button", name="Cluster", exact=True).click()
    page.get_by_text("Cluster profiles").first.wait_for(timeout=120_000)
    _wait_idle(page)
    no_bug(page)
    _nav(page, "Personas")
    page.get_by_text("What sets").first.wait_for(timeout=120_000)
    _wait_idle(page)


def test_grocery_line_items_and_compact_dates(app_server, page, tmp_path, monkeypatch):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)

    baskets = tmp_path / "transactions.csv"
    raw = grocery(households=150)
    raw.to_csv(baskets, index=False)
    ws = _upload_and_load(page, baskets, monkeypatch, app_server["home"])
    # Every line item is kept and the banner says so, not a quiet green.
    page.get_by_text(f"Loaded {len(raw):,} events of 150 users from transactions.csv").wait_for()
    page.get_by_text("Debounce off: an order / basket id is mapped").wait_for()
    page.get_by_text("No event column: every row is one 'purchase' event.").wait_for()
    shoot(page, "40_data_grocery")
    assert ws.data.report.rows_kept == len(raw)
    assert ws.features["orders"].sum() == raw["basket_id"].nunique()
    _sweep_fit_and_name(page)
    shoot(page, "41_personas_grocery")
    ws = Workspace.load(ws.id)
    lapsed = ws.features["days_since_last_event"].groupby(ws.clusters["cluster"]).median()
    for label, name in ws.personas.names.items():
        page.get_by_role("heading", name=name).first.wait_for()
        if name.startswith("Dormant"):
            assert label == lapsed.idxmax()
    assert page.get_by_text("Preferred content: event purchase").count() == 0

    cdnow = tmp_path / "cdnow.txt"
    log = purchases_yyyymmdd()
    log.to_csv(cdnow, index=False, sep=" ")
    ws = _upload_and_load(page, cdnow, monkeypatch, app_server["home"])
    page.get_by_text("Timestamps read as compact dates").wait_for()
    page.get_by_text("Debounce off: every time is a whole day").wait_for()
    page.get_by_text("1997-01").first.wait_for()
    shoot(page, "42_data_compact_dates")
    assert ws.data.first_ts.startswith("1997") and not ws.data.first_ts.startswith("1970")
    assert "night_share" not in ws.feature_info.selected
    _sweep_fit_and_name(page)
    shoot(page, "43_personas_compact_dates")
    kept = pd.Series(Workspace.load(ws.id).personas.names)
    assert len(kept) >= 2 and kept.is_unique
