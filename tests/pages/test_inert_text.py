"""Every page under AppTest with hostile names: a workspace whose file, dataset, persona,
segment, rule, event and column names (and a persona's texts) are Markdown and HTML
injections shows them as typed, never as a link, an image, a tag, emphasis, LaTeX or a
directive, and no page raises.

Core messages (notices, errors, verdict sentences) quote names as they are, so they are
shown inert too: the experiment's treatment is named like an injection as well.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.hostile import (
    COLUMN,
    CONTENT,
    EVENT,
    FILE,
    IMAGE,
    PERSONA,
    RULE,
    TAGS,
    fill_hostile_workspace,
)
from tests.pages.apptest import APP, TIMEOUT, no_errors, plotly_figures
from ui.text import inert

#: Where a hostile name shows on a fresh render of each page, as Markdown (the app's
#: own run draws the sidebar with the dataset's name).
SHOWN = {"app.py": [FILE], "pages/data.py": [FILE, COLUMN],
         "pages/personas.py": [PERSONA, CONTENT], "pages/rules.py": [RULE, EVENT],
         "pages/experiments.py": [FILE]}
PAGES = ["pages/home.py", "pages/data.py", "pages/features.py", "pages/segments.py",
         "pages/clustering.py", "pages/map.py", "pages/personas.py", "pages/rules.py",
         "pages/experiments.py", "pages/export.py", "pages/propensity.py",
         "pages/recommendations.py"]
#: Markdown that would render: a link or image, an HTML tag, emphasis, LaTeX, a
#: directive, an icon, a bare address.
RENDERS = [re.compile(p) for p in (
    r"(?<!\\)\]\(", r"(?<!\\)!\[", r"<[A-Za-z/!]", r"(?<!\\)\*\*bold", r"(?<!\\)\$[xy]",
    r"(?<!\\):red\[", r":material/(home|mail)", "https://")]
#: An inline code span: nothing in it is Markdown (Streamlit only rewrites ":material/").
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def _markdown(at: AppTest) -> list[str]:
    """Every text of the last run that Streamlit renders as Markdown: bodies of markdown,
    captions, alerts, headings, metrics and toasts, labels, help and radio options."""
    texts = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or node.type in ("code", "json", "text") \
                or not hasattr(proto, "DESCRIPTOR"):
            continue
        fields = proto.DESCRIPTOR.fields_by_name
        texts += [getattr(proto, f) for f in ("body", "label", "help") if f in fields]
        if node.type == "radio":
            texts += list(proto.options)
    return texts


def _check(at: AppTest, page: str) -> None:
    no_errors(at)
    texts = _markdown(at)
    for text in texts:
        prose = CODE_SPAN.sub("", text)
        for pattern in RENDERS:
            assert not pattern.search(prose), (page, pattern.pattern, text)
        assert ":material/home" not in text and ":material/mail" not in text, (page, text)
    joined = "\n".join(texts)
    for name in SHOWN.get(page, []):
        assert inert(name) in joined, (page, name)
    for figure in map(json.dumps, plotly_figures(at)):
        assert not [t for t in TAGS if t in figure], (page, figure[:2000])


@pytest.fixture
def hostile(home, monkeypatch) -> AppTest:
    """The app opened on the saved hostile workspace (from the URL's id)."""
    monkeypatch.setenv("PERSONA_LENS_AUTOLOAD", "0")
    maker = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    fill_hostile_workspace(maker.session_state["workspace"])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = maker.session_state["workspace"].id
    return at.run()


def test_every_page_shows_hostile_names_as_typed(hostile):
    at = hostile
    _check(at, "app.py")
    for page in PAGES:
        at.switch_page(page).run()
        _check(at, page)


def test_charts_escape_hostile_names(hostile):
    at = hostile
    at.switch_page("pages/segments.py").run()
    assert "&lt;b&gt;seg&lt;/b&gt;" in json.dumps(plotly_figures(at))
    at.switch_page("pages/map.py").run()
    at.selectbox(key="map.colour").set_value("Persona").run()
    _check(at, "pages/map.py")
    assert "&lt;b&gt;p&lt;/b&gt;" in json.dumps(plotly_figures(at))
    at.switch_page("pages/rules.py").run()
    assert "&lt;img src=x" in json.dumps(plotly_figures(at))
    at.switch_page("pages/data.py").run()
    assert "&lt;a href=" in json.dumps(plotly_figures(at))


def test_the_rules_explanation_shows_hostile_names_as_typed(hostile):
    at = hostile
    at.switch_page("pages/rules.py").run()
    user = str(at.session_state["workspace"].features.index[0])
    at.text_input(key="rules.user").set_value(user).run()
    _check(at, "pages/rules.py")
    assert any(inert(RULE) in text for text in _markdown(at))


def test_a_hostile_workspace_id_in_the_url_is_shown_as_typed(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = IMAGE
    at.run()
    no_errors(at)
    toasts = [t.value for t in at.toast]
    assert any(inert(IMAGE) in t for t in toasts), toasts
    assert not any(pattern.search(t) for t in toasts for pattern in RENDERS)


def test_a_bug_on_a_page_is_a_message_not_a_traceback(home, monkeypatch):
    """What fails on a page is said in one message, with its words inert; what the page
    drew before stays, and the next page works."""
    from core.features import charts
    from ui import router

    def broken(*args, **kwargs):
        raise RuntimeError("[boom](https://phish.example)")

    monkeypatch.setattr(charts, "histogram", broken)
    # Through the router, as on the server: it is what catches the failure.
    monkeypatch.setattr("ui.state.ensure_router", router.ensure_router)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/features.py").run()
    assert [e.value for e in at.exception] == []
    bug = [e.value for e in at.error if router.BUG_MESSAGE in e.value]
    assert len(bug) == 1 and "RuntimeError" in bug[0] and inert("[boom](https://") in bug[0]
    assert any(t.value == "Features" for t in at.title)  # drawn before the failure
    at.switch_page("pages/clustering.py").run()
    assert [e.value for e in at.exception] == [] and not [
        e for e in at.error if router.BUG_MESSAGE in e.value]
