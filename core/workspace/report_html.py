"""HTML pieces of the persona report: escaping, tables, label-value lists and
figures (plotly without its JavaScript, which the document carries once)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

FIGURE_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}


def esc(value: object) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def figure_html(fig: go.Figure) -> str:
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, config=FIGURE_CONFIG)


def facts_table(pairs: list[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f'<table class="facts">{body}</table>'


def breakable(value: object) -> str:
    """Escaped, with a line break allowed after each underscore of a snake_case name."""
    return esc(value).replace("_", "_<wbr>")


def grid_table(records: list[dict[str, Any]]) -> str:
    if not records:
        return ""
    columns = list(dict.fromkeys(k for r in records for k in r))
    head = "".join(f"<th>{breakable(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{breakable(cell_value(r.get(c, '')))}</td>"
                                    for c in columns) + "</tr>" for r in records)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def cell_value(value: object) -> object:
    if isinstance(value, float):
        return f"{value:,.4g}" if np.isfinite(value) else "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else value


def pairs_list(pairs: list[tuple[str, object]]) -> str:
    """Label and value, flowing in as many columns as the page has room for."""
    items = "".join(f'<li><span class="k">{esc(k)}</span>{esc(v)}</li>' for k, v in pairs)
    return f'<ul class="pairs">{items}</ul>'
