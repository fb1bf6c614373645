"""User text made inert for Streamlit's Markdown.

Almost every Streamlit text call renders Markdown: ``st.markdown``, ``st.caption``,
``st.info``/``warning``/``error``/``success``, ``st.title``/``header``/``subheader``,
``st.toast``, ``st.spinner``, metric labels, expander and tab labels, button labels,
radio options and every ``help`` tooltip. Besides GitHub-flavored Markdown (links,
images, emphasis, headings, lists, tables, autolinks for bare URLs and e-mail addresses)
Streamlit adds LaTeX (``$...$``), directives (``:red[...]``, ``:blue-badge[...]``,
``:small[...]``), Material icons (``:material/name:``), emoji shortcodes (``:smile:``),
the ``:streamlit:`` logo and typographic arrows (``->`` becomes an arrow). A name such as
``![x](https://evil.example/p.png)`` would make the browser fetch another host.

:func:`inert` turns any string into Markdown that shows exactly that string;
:func:`code` does the same inside an inline code span. Use them where a page puts a
file, dataset, persona, segment, rule, column, event or variant name, or any other
string from the analyst, the data or an imported workspace, into such a call. Values for
``st.dataframe``, ``st.table``, ``st.code``, ``st.json`` and text inputs are not Markdown
and stay as they are.
"""

from __future__ import annotations

import re

#: Shown between characters that Streamlit would otherwise read as a shortcode or an
#: arrow: U+2060 WORD JOINER, invisible and without a line break.
JOINER = "\u2060"
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: The characters Markdown or Streamlit give a meaning (emphasis, code, links, images,
#: headings, lists, tables, strikethrough, LaTeX, directives), backslash-escaped.
MARKDOWN_ACTIVE = "\\`*_{}[]()#+-.!|~$:"
_TABLE = str.maketrans({**{c: "\\" + c for c in MARKDOWN_ACTIVE}, **_HTML})
_WHITESPACE = re.compile(r"\s+")
#: Some features look for their pattern in the text after escapes are undone (a
#: backslash-escaped colon is a plain colon there), so only an invisible joiner stops
#: them: after a colon or an "@" not followed by a space (emoji :smile:, icons, the
#: :streamlit: logo, https://, bare e-mail addresses), in "www." (bare web addresses)
#: and inside -> <- <-> -- >= <= ~= standing alone (shown as arrows and signs). Prose
#: ("Sample: online shop") keeps its exact characters.
_JOIN_AT = re.compile(r"(?<=[:@])(?=\S|$)|(?<=www)(?=\.)"
                      r"|(?:(?<=^[-<>~])|(?<=\s[-<>~]))(?=(?:->|[-<>=])(?:\s|$))",
                      re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")


def _plain(value: object) -> str:
    """The value as one line of text: whitespace runs (newlines too) become one space."""
    text = "" if value is None else str(value)
    return _WHITESPACE.sub(" ", text).strip()


def inert(value: object) -> str:
    r"""Markdown that Streamlit shows as exactly ``value``, with nothing rendered.

    Parameters
    ----------
    value : object
        Any value; ``None`` gives an empty string, anything else is ``str(value)``.

    Returns
    -------
    str
        The text on one line (whitespace runs, newlines included, become one space;
        leading and trailing whitespace is dropped), with ``&``, ``<`` and ``>`` as HTML
        entities, the characters of :data:`MARKDOWN_ACTIVE` backslash-escaped, and an
        invisible word joiner where Streamlit would still find a shortcode, a bare
        address or an arrow (after ``:`` and ``@``, in ``www.``, in ``->``), so no
        link, image, HTML tag, emphasis, heading, list, table, LaTeX, directive, icon,
        emoji shortcode or typographic arrow comes out of it.

    Examples
    --------
    >>> inert("**bold** <b>")
    '\\*\\*bold\\*\\* &lt;b&gt;'
    """
    return _JOIN_AT.sub(JOINER, _plain(value)).translate(_TABLE)


def code(value: object) -> str:
    """An inline code span that shows exactly ``value`` (on one line).

    Parameters
    ----------
    value : object
        Any value; ``None`` gives an empty span's text, anything else ``str(value)``.

    Returns
    -------
    str
        The text between backtick fences one longer than its longest run of backticks,
        padded with a space when it starts or ends with a backtick. Inside a code span
        nothing is Markdown; only Streamlit's ``:material/`` rewrite reaches it, so a
        word joiner follows the colon there.
    """
    text = _plain(value).replace(":material/", f":{JOINER}material/")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
