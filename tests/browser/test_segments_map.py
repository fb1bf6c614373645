"""The Segments page's live size in a real browser, and the Map's PCA biplot with its
labels at the arrow tips, at 1440 and 1024 pixels wide (screenshots for a person)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import no_bug, shoot
from tests.browser.test_load_to_features import _nav, _wait_idle

pytestmark = pytest.mark.browser

#: The biplot's label boxes (plotly annotations) and the plot area, in page pixels.
LABEL_BOXES = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')][0];
  const area = plot.querySelector('.nsewdrag').getBoundingClientRect();
  const labels = [...plot.querySelectorAll('.annotation')].map(a => {
    const r = a.getBoundingClientRect();
    return {text: a.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
  });
  const box = plot.getBoundingClientRect();
  return {labels, area: {x0: area.left, y0: area.top, x1: area.right, y1: area.bottom},
          plot: {x0: box.left, y0: box.top, x1: box.right, y1: box.bottom}};
}"""


def _context(browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


def _live_users(page) -> int:
    line = page.get_by_text(re.compile(r"Matches [\d,]+ users")).first
    line.wait_for()
    return int(re.search(r"Matches ([\d,]+) users", line.inner_text()).group(1)
               .replace(",", ""))


def _type_value(page, value: str) -> None:
    """Type ``value`` into the value cell of the first condition row of the grid."""
    editor = page.get_by_test_id("stDataFrame").first
    editor.scroll_into_view_if_needed()
    box = editor.bounding_box()
    page.mouse.click(box["x"] + 80, box["y"] + 35 + 17)
    page.wait_for_timeout(300)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # opens the cell's editor
    page.wait_for_timeout(500)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(value, delay=50)
    page.keyboard.press("Enter")
    _wait_idle(page)


@pytest.mark.parametrize("width", [1440, 1024])
def test_segments_live_size_and_map_biplot(app_server, browser, width):
    context, page = _context(browser, width)
    try:
        page.goto(app_server["url"])
        page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
        _wait_idle(page)
        _nav(page, "Segments")
        page.get_by_text("Add presets").first.wait_for()
        # Presets say how they fit this data: "At risk" is most of the sample.
        page.get_by_text(re.compile(r"'At risk' .* matches \d+ % of users in this data"))\
            .first.wait_for()
        presets = page.get_by_test_id("stMultiSelect").filter(has_text="Presets")
        presets.click()
        page.keyboard.type("High engagement")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Add presets").click()
        page.get_by_text("Added 1 segment(s).").wait_for()
        _wait_idle(page)
        # Open it in the editor: the live size is there at once.
        page.get_by_role("button", name="Edit conditions").click()
        _wait_idle(page)
        page.get_by_text("Edit segment 'High engagement'").wait_for()
        before = _live_users(page)
        assert 0 < before < 5000
        # Type a stricter value into the grid (a canvas): select the first row's feature
        # cell, move two cells right to its value and type over it. A canvas takes keys
        # only once it has drawn and has the focus, which a busy machine can delay: the
        # typing is tried again (at most three times) until the live size follows.
        for attempt in range(3):
            _type_value(page, "20")
            try:
                page.wait_for_function(
                    "b => !document.body.innerText.includes('Matches ' + b + ' users')",
                    arg=f"{before:,}", timeout=15_000)
                break
            except Exception:  # playwright's TimeoutError
                if attempt == 2:
                    raise
        after = _live_users(page)
        assert 0 < after < before
        no_bug(page)
        shoot(page, f"90_segments_{width}")

        _nav(page, "Map")
        page.get_by_text("Feature arrows (biplot)").wait_for(timeout=120_000)
        page.locator(".js-plotly-plot .annotation").first.wait_for(timeout=120_000)
        _wait_idle(page)
        page.get_by_text(re.compile(r"Arrows: the 6 of \d+ features")).wait_for()
        layout = page.evaluate(LABEL_BOXES)
        labels = layout["labels"]
        assert len(labels) == 6
        for i, a in enumerate(labels):
            # Inside the figure, not cut off at its edges.
            assert a["x0"] >= layout["plot"]["x0"] - 1 and a["x1"] <= layout["plot"]["x1"] + 1
            assert a["y0"] >= layout["plot"]["y0"] - 1 and a["y1"] <= layout["plot"]["y1"] + 1
            for b in labels[i + 1:]:
                overlap = (min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]),
                           min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]))
                assert overlap[0] <= 1 or overlap[1] <= 1, (a, b)
        no_bug(page)
        shoot(page, f"91_map_biplot_{width}")
    finally:
        context.close()
