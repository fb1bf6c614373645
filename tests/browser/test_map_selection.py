"""Box-select users on the map, save them as a segment and find it with the right size."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser


def test_box_select_on_the_map_saves_a_segment(app_server, page):
    page.goto(app_server["url"] + "/map")
    page.get_by_role("heading", name="Map").first.wait_for(timeout=90_000)
    page.get_by_text("Drag a box or a lasso over some points").wait_for(timeout=90_000)
    drag = page.locator(".js-plotly-plot .nsewdrag").first
    drag.wait_for()
    box = drag.bounding_box()
    # A box over the middle of the plot, where the bulk of the users sit.
    x0, y0 = box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25
    x1, y1 = box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10)
    page.mouse.up()
    selected = page.get_by_text(re.compile(r"[\d,]+ users selected"))
    selected.wait_for(timeout=60_000)
    count = int(re.search(r"([\d,]+) users selected", selected.inner_text()).group(1)
                .replace(",", ""))
    assert 0 < count < 5000
    page.get_by_label("Segment name").fill("Middle of the map")
    page.get_by_role("button", name="Save as segment").click()
    page.get_by_text(f"Saved segment 'Middle of the map' with {count:,} users").wait_for()
    table = page.get_by_test_id("stDataFrame").last
    table.wait_for()
    shoot(page, "08_map_selection")
    page.get_by_text("Saved segments").wait_for()

    # The saved selection is a segment on the Segments page, with the same size.
    page.get_by_test_id("stSidebarNav").get_by_text("Segments", exact=True).click()
    page.get_by_role("heading", name="Segments").first.wait_for()
    presets = page.get_by_test_id("stMultiSelect").filter(has_text="Presets")
    presets.click()
    page.keyboard.type("High engagement")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Add presets").click()
    page.get_by_text("Added 1 segment(s).").wait_for(timeout=60_000)
    page.get_by_text("Overlap: users in both segments").wait_for()
    # The grid is drawn on a canvas; the overlap heatmap is SVG text: segment names on
    # the axes and each segment's size on the diagonal.
    heatmap = page.locator(".js-plotly-plot").filter(has_text="Overlap")
    # Named as everywhere else: no rule segment is called so, so no " (map)" suffix.
    heatmap.get_by_text("Middle of the map").first.wait_for()
    assert heatmap.get_by_text("Middle of the map (map)").count() == 0
    heatmap.get_by_text(str(count), exact=True).first.wait_for()
    # And the saved segment on disk holds exactly the selected users.
    ws_id = re.search(r"ws=([0-9a-f]{12})", page.url).group(1)
    newest = max((app_server["home"] / "workspaces" / ws_id).glob("rev-*"))
    saved = pd.read_parquet(newest / "segments.parquet")
    assert (saved["segment"] == "Middle of the map").sum() == count
    shoot(page, "09_segments")


def test_umap_preview_then_the_full_map(app_server, page):
    """UMAP compiles in the background from start-up; the preview comes first, then the
    full map on request, and box selection works on it too."""
    page.goto(app_server["url"] + "/map")
    page.get_by_role("heading", name="Map").first.wait_for(timeout=90_000)
    page.get_by_test_id("stRadio").filter(has_text="Method").get_by_text("UMAP").click()
    page.get_by_text("UMAP of a stratified sample of 3,000 of 5,000 users").wait_for(
        timeout=300_000)
    shoot(page, "08b_map_umap_preview")
    page.get_by_role("button", name="Map all 5,000 users").click()
    page.get_by_text("UMAP of all 5,000 users; distances").wait_for(timeout=300_000)
    drag = page.locator(".js-plotly-plot .nsewdrag").first
    drag.wait_for()
    page.wait_for_timeout(1000)  # the new figure replaces the preview's
    box = drag.bounding_box()
    # Most of the plot area: some users are certainly inside.
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9, steps=10)
    page.mouse.up()
    selected = page.get_by_text(re.compile(r"[\d,]+ users selected"))
    selected.wait_for(timeout=60_000)
    # The selection's rerun keeps the full map: shares are of all 5,000 users.
    assert page.get_by_text("UMAP of all 5,000 users").is_visible()
    count = int(re.search(r"([\d,]+) users selected", selected.inner_text()).group(1)
                .replace(",", ""))
    line = selected.locator("xpath=..").inner_text()  # the bold count's paragraph
    share = re.search(r"\(([\d.]+)% of those on the map\)", line).group(1)
    assert f"{count / 5000:.1%}" == f"{share}%"
    shoot(page, "08c_map_umap_full")
