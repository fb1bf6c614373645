"""ui.text: hostile strings come out as Markdown that shows exactly them.

CommonMark (with GitHub's tables and strikethrough) is checked by rendering with
markdown-it: the result must be one paragraph of plain text. Streamlit's own additions
(LaTeX, directives, icons, emoji, its logo, arrows, bare addresses) are checked against
the patterns its frontend looks for.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui.text import JOINER, code, inert

markdown_it = pytest.importorskip("markdown_it")
MD = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])

HOSTILE = [
    "![x](https://evil.example/p.png)",
    "[click](https://phish.example)",
    "[ref]: https://phish.example",
    "<https://phish.example>",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "&lt;b&gt; &amp; &#60;",
    "**bold** __bold__ *it* _it_ ~strike~ ~~strike~~",
    "`code` ``co`de``",
    "```python",
    "# Heading",
    "> quote",
    "- item",
    "+ item",
    "1. item",
    "2) item",
    "---",
    "***",
    "| a | b |",
    "a\\",
    "back\\slash \\* \\[",
    ":red[alarm] :blue-background[x] :green-badge[ok] :small[s] :shimmer[s]",
    ':color[x]{foreground="red"}',
    ":material/home: :material/warning:",
    ":smile: :+1: :streamlit:",
    "$x^2$ $$\\int_0^1 x$$ \\$5",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "www.phish.example and https://phish.example and mail me@phish.example",
    "line one\nline two\r\n\n  three  \t",
    "   leading and trailing   ",
    "two  trailing spaces  \nbreak",
    "tab\there",
    "{curly} (round) [square] #hash +plus .dot !bang |pipe",
    "Cluster 2 · 12% of users",
    "",
]


def _text(rendered: str) -> str:
    """The text of markdown-it's HTML: one paragraph, no other tag."""
    body = rendered.strip()
    if not body:
        return ""
    assert body.startswith("<p>") and body.endswith("</p>"), body
    inner = body[3:-4]
    assert "<" not in inner, body  # no tag of any kind inside the paragraph
    return html.unescape(inner).replace(JOINER, "")


def _shown(value: str) -> str:
    return " ".join(value.split())


@pytest.mark.parametrize("value", HOSTILE)
def test_inert_text_renders_as_itself(value):
    assert _text(MD.render(inert(value))) == _shown(value)


def _inside(rendered: str, start: str, end: str) -> str:
    """The text between ``start`` and ``end``, which must hold no tag."""
    body = rendered.strip()
    assert body.startswith(start) and body.endswith(end), body
    inner = body[len(start):-len(end)]
    assert "<" not in inner, body
    return html.unescape(inner).replace(JOINER, "")


@pytest.mark.parametrize("value", [v for v in HOSTILE if v.strip()])
def test_inert_text_renders_as_itself_in_bold_and_in_a_list_item(value):
    # The pages wrap names in ** ** and list them as "- name".
    assert _inside(MD.render(f"**{inert(value)}**"), "<p><strong>", "</strong></p>") \
        == _shown(value)
    assert _inside(MD.render(f"- {inert(value)}"), "<ul>\n<li>", "</li>\n</ul>") \
        == _shown(value)


#: What Streamlit's frontend looks for in Markdown besides CommonMark: the test for
#: LaTeX ($...$ not escaped), directives (:name[...] or :name{...}), icons, emoji
#: shortcodes and its logo (:name:), arrows and signs, and bare web and e-mail addresses.
STREAMLIT_SYNTAX = [
    re.compile(r"(?<!\\)\$"),
    re.compile(r"(?<!\\):[A-Za-z]"),
    re.compile(r":material/"),
    re.compile(r":[\w+-][\w_+-]*:"),
    re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)"),
    re.compile(r"https?://|www\.", re.IGNORECASE),
    re.compile(r"[-.\w+]+@[-\w]+"),
]


@pytest.mark.parametrize("value", HOSTILE)
def test_inert_text_has_none_of_streamlits_own_syntax(value):
    escaped = inert(value)
    # Streamlit reads these after escapes are undone: the joiner must still break them.
    unescaped = re.sub(r"\\(.)", r"\1", html.unescape(escaped))
    for pattern in STREAMLIT_SYNTAX[2:]:
        assert not pattern.search(unescaped), (pattern, escaped)
    for pattern in STREAMLIT_SYNTAX[:2]:
        assert not pattern.search(escaped), (pattern, escaped)


def test_inert_is_one_line_and_takes_any_value():
    assert inert(None) == ""
    assert inert(3) == "3"
    assert inert(" a \n\n b ") == "a b"
    assert "\n" not in inert("a\u2028b\u2029c\x85d\ve\ff")
    # Prose keeps its characters (only Markdown's are escaped): no joiner after ": ".
    assert inert("Sample: online shop (5,000 users)") == \
        "Sample\\: online shop \\(5,000 users\\)"


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn"))))
def test_any_text_renders_as_itself(value):
    value = value.replace(JOINER, "")
    # markdown-it decodes nothing else: only whitespace is folded, as in HTML.
    assert _text(MD.render(inert(value))) == " ".join(value.split())


@pytest.mark.parametrize("value", [*HOSTILE, "`", "``a``", "a`b", " `x` "])
def test_code_spans_show_the_text_as_typed(value):
    rendered = MD.render(code(value)).strip()
    shown = _shown(value)
    if not shown:
        return
    assert rendered.startswith("<p><code>") and rendered.endswith("</code></p>"), rendered
    text = html.unescape(rendered[len("<p><code>"):-len("</code></p>")])
    assert text.replace(JOINER, "") == shown
    assert ":material/" not in text
