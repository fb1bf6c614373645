"""The persona report in Chromium: no horizontal scrolling at 1440, 1024 or 800 px, and
printed on A4 or Letter nothing is wider than the page's printable width.

The report is one offline HTML file: it is built in Python for a clustered sample with
an A/B test and opened with file://, no app server needed. Screenshots go to
tests/browser/artifacts/70_report_*.png (look at them).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from core.data.sample import generate_sample
from core.experiments.analysis import ExperimentSpec, analyse_experiment, guess_columns
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig
from core.workspace import actions, personas
from core.workspace.report import PAGE_MARGIN_MM, PRINT_WIDTH, build_report
from core.workspace.store import Workspace
from tests.browser.conftest import ARTIFACTS, shoot

pytestmark = pytest.mark.browser

USERS = 2000
#: Paper widths in mm; the printable width is this less two margins, at 96 px per inch.
PAPERS = {"A4": 210.0, "Letter": 215.9}
MM_PER_INCH = 25.4

#: Elements whose right edge lies beyond ``limit`` px, described for the failure message.
#: Inside a figure only the figure itself counts (its svg clips what it holds); text a
#: figure cuts off is :data:`CLIPPED_JS`'s business.
OVERFLOW_JS = """(limit) => [...document.querySelectorAll('body *')].filter(e => {
  if (e.closest('svg') && e.tagName.toLowerCase() !== 'svg') return false;
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.right > limit + 1
         && getComputedStyle(e).visibility !== 'hidden';
}).slice(0, 8).map(e => `${e.tagName}.${e.getAttribute('class') || ''}: `
                     + `${Math.round(e.getBoundingClientRect().right)} px`)"""
#: Text in a figure that the figure's edge cuts (a tick label or legend entry too long).
CLIPPED_JS = """() => [...document.querySelectorAll('svg.main-svg')].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].filter(t => {
    const r = t.getBoundingClientRect();
    return t.textContent.trim() && r.width > 0
           && (r.right > box.right + 2 || r.left < box.left - 2);
  }).map(t => t.textContent.slice(0, 40));
}).slice(0, 8)"""
PLOT_WIDTHS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(
  p => p.querySelector('.main-svg').getBoundingClientRect().width)"""


def printable_px(paper: str) -> int:
    return int((PAPERS[paper] - 2 * PAGE_MARGIN_MM) / MM_PER_INCH * 96)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PERSONA_LENS_HOME", str(tmp_path_factory.mktemp("home")))
    sample = generate_sample(n_users=USERS, days=90, seed=42)
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, USERS, 90, 42)
    actions.cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                          ClusterConfig(k=5, random_state=0))
    personas.refresh_personas(ws)
    personas.update_persona(ws, "Cluster 2", name="A persona with a rather long name "
                            "that_has_a_very_long_snake_case_word_in_it_too")
    actions.store_experiment_table(ws, sample.experiment, {"name": "Sample experiment"})
    guess = guess_columns(sample.experiment)
    spec = ExperimentSpec(variant_col=guess.variant, metrics=tuple(guess.metrics),
                          user_col=guess.user, pre_col=guess.pre)
    actions.record_experiment_analysis(ws, spec,
                                       analyse_experiment(sample.experiment, spec).summary())
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(build_report(ws), encoding="utf-8")
    mp.undo()
    return path


def open_report(browser, path, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length"
                           " >= 8")
    return context, page


@pytest.mark.parametrize("width", [1440, 1024, 800])
def test_no_horizontal_overflow_on_screen(browser, report_file, width):
    context, page = open_report(browser, report_file, width)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") == width
        assert page.evaluate(OVERFLOW_JS, width) == []
        assert page.evaluate(CLIPPED_JS) == []
        headers = page.locator("table.ab th").all_inner_texts()
        assert "Difference (95 % CI)" in headers and not any("_" in h for h in headers)
        if width in (1440, 1024):
            shoot(page, f"70_report_{width}")
    finally:
        context.close()


@pytest.mark.parametrize("paper", list(PAPERS))
def test_printed_report_fits_the_page(browser, report_file, paper):
    """Laid out at the printable width under print media, nothing sticks out; the PDF
    Chromium prints has pages of that size."""
    width = printable_px(paper)
    context, page = open_report(browser, report_file, width)
    try:
        page.emulate_media(media="print")
        # The print helper resizes every figure to the printable width.
        page.wait_for_function(f"({PLOT_WIDTHS_JS})().every(w => w <= {PRINT_WIDTH})")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(OVERFLOW_JS, width) == []
        assert page.evaluate(CLIPPED_JS) == []
        # Cards are kept whole on a page; tables wrap inside it.
        assert page.evaluate("getComputedStyle(document.querySelector('.card')).breakInside")\
            == "avoid"
        assert page.evaluate("getComputedStyle(document.querySelector('table.ab'))"
                             ".tableLayout") == "fixed"
        if paper == "A4":
            page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            shoot(page, "70_report_print_794")
        # Back to no emulation ("screen" would make page.pdf print the screen styles),
        # and to a laptop's window: printing must not depend on the window's width.
        page.emulate_media(media="null")
        page.set_viewport_size({"width": 1024, "height": 900})
        page.wait_for_function(f"({PLOT_WIDTHS_JS})().some(w => w > {PRINT_WIDTH})")
        pdf = page.pdf(format=paper, print_background=True)
        # After printing the figures are responsive again.
        page.wait_for_function(f"({PLOT_WIDTHS_JS})().some(w => w > {PRINT_WIDTH})")
    finally:
        context.close()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert 4 <= pages <= 30, pages
    target = ARTIFACTS / f"70_report_{paper}.pdf"
    target.write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(target),
                        str(ARTIFACTS / f"70_report_{paper}_page")], check=True, timeout=60)
