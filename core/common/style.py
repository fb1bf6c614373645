"""The look every chart shares: height, margins, template and the accent colour.

Plotly renders a subset of HTML (links, bold, line breaks, styled spans) in titles, axis
and tick labels, legends, annotations and hover text, so every name that comes from the
analyst or the data goes into a figure through :func:`esc`; plotly shows the entities as
the characters typed.
"""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go

HEIGHT = 320
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
ACCENT = "#4C5FD5"


def esc(text: object) -> str:
    """A name made safe for plotly text: ``&``, ``<`` and ``>`` as HTML entities.

    Parameters
    ----------
    text : object
        A name or label; anything else is ``str(text)``.

    Returns
    -------
    str
        The text with ``&``, ``<`` and ``>`` escaped (quotes are left as they are).
    """
    return html.escape(str(text), quote=False)


def style(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    """Apply the shared title, height, margins and white template to a figure."""
    fig.update_layout(title=title, height=height, margin=MARGIN, template="plotly_white",
                      title_font_size=15)
    return fig


def short_number(value: float, missing: str = "n/a") -> str:
    """A number as prose shows it: 1,234 · 12.3 · 0.12 (``missing`` when not finite)."""
    if value is None or not math.isfinite(value):
        return missing
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"
