"""The analyst's path in real Chromium: upload a CSV, fix a column mapping, load, reach
the Features page and download the feature CSV; screenshots of every page visited."""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import no_bug, shoot

pytestmark = pytest.mark.browser

# 6 users; the timestamp column is called "when", which no export uses, so the analyst
# has to map it by hand. Revenue is "amount" (recognised), events are "action".
N_USERS = 6
EVENTS_PER_USER = 4


def _upload_csv(tmp_path) -> tuple[str, pd.DataFrame]:
    rows = []
    for u in range(N_USERS):
        for i, action in enumerate(["page_view", "product_view", "add_to_cart", "purchase"]):
            rows.append({"visitor_id": f"v{u:03d}", "when": f"2025-05-{u + 1:02d}T10:0{i}:00Z",
                         "action": action, "amount": 20.0 + u if action == "purchase" else None,
                         "email": f"person{u}@example.com"})
    frame = pd.DataFrame(rows)
    path = tmp_path / "shop_export.csv"
    frame.to_csv(path, index=False)
    return str(path), frame


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=90_000)


def _select(page, label: str, option: str) -> None:
    """Choose an option in a selectbox.

    Streamlit 1.67's combobox does not always open its list on a click (seen after
    switching pages); the arrow key always opens it, as it would for a user.
    """
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        box.get_by_role("combobox").click()
        try:
            wanted.wait_for(timeout=1500)
        except PlaywrightTimeout:
            page.keyboard.press("ArrowDown")
        wanted.click()
        _wait_idle(page)
        if box.get_by_role("combobox").input_value() == option:
            return
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()
    _wait_idle(page)


def test_upload_map_and_download_features(app_server, page, tmp_path):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    _wait_idle(page)
    shoot(page, "01_home")

    _nav(page, "Data")
    page.get_by_text("Load report · Sample: online shop").wait_for()
    shoot(page, "02_data_sample")

    _nav(page, "Features")
    page.get_by_text("Showing the 1,000 users with the highest events of 5,000").wait_for()
    page.get_by_text("Correlation (Spearman)").first.wait_for()
    shoot(page, "02b_features_sample")

    _nav(page, "Clustering")
    page.get_by_role("button", name="Run sweep").click()
    page.get_by_text("Suggested: k =").wait_for(timeout=90_000)
    _wait_idle(page)
    page.get_by_role("button", name="Cluster", exact=True).click()
    page.get_by_text("Cluster profiles").first.wait_for(timeout=90_000)
    _wait_idle(page)
    shoot(page, "02c_clustering_sample")
    _nav(page, "Data")

    csv_path, source = _upload_csv(tmp_path)
    page.locator('input[type="file"]').set_input_files(csv_path)
    page.get_by_text("shop_export.csv").first.wait_for()
    _wait_idle(page)
    page.get_by_text("An event log (one row per event)").click()
    _wait_idle(page)
    page.get_by_text("No column looks like a timestamp").wait_for()
    _select(page, "Timestamp *", "when")
    pii = page.get_by_test_id("stMultiSelect").filter(has_text="Columns with personal data")
    pii.click()
    page.keyboard.type("email")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    _wait_idle(page)
    pii.get_by_text("email").wait_for()
    shoot(page, "03_data_mapping")
    page.get_by_role("button", name="Load events").click()
    page.get_by_text("Loaded 24 events of 6 users from shop_export.csv").wait_for(timeout=90_000)
    _wait_idle(page)
    page.get_by_text("Load report · shop_export.csv").wait_for()
    shoot(page, "04_data_loaded")

    _nav(page, "Features")
    page.get_by_role("button", name="Download CSV").first.wait_for()
    _wait_idle(page)
    shoot(page, "05_features")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").first.click()
    download = info.value
    assert download.suggested_filename == "user_features.csv"
    features = pd.read_csv(download.path(), index_col="user_id")
    assert sorted(features.index) == sorted(source["visitor_id"].unique())
    assert (features["events"] == EVENTS_PER_USER).all()
    assert (features["purchases"] == 1).all()
    assert features.loc["v005", "revenue"] == 25.0
    assert "email" not in features.columns

    # A refresh brings the same workspace back (its id is in the address).
    page.reload()
    page.get_by_role("heading", name="Features").first.wait_for(timeout=90_000)
    _wait_idle(page)
    page.get_by_test_id("stSidebar").get_by_text("shop_export.csv").wait_for()


def test_bad_upload_shows_a_message_and_the_app_stays_usable(app_server, page, tmp_path):
    page.goto(app_server["url"] + "/data")
    page.get_by_role("heading", name="Data").first.wait_for(timeout=90_000)
    _wait_idle(page)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    page.locator('input[type="file"]').set_input_files(str(empty))
    page.get_by_text("'empty.csv' is empty (0 bytes)").wait_for(timeout=60_000)
    no_bug(page)
    shoot(page, "06_data_bad_file")
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("user;ts;event\na;2025-01-01T00:00:00Z;x\n")
    page.locator('input[type="file"]').set_input_files(str(semicolons))
    page.get_by_text("delimiter Semicolon ;").wait_for()
    _wait_idle(page)
    no_bug(page)
