"""The look every chart shares: height, margins, template and the accent colour."""

from __future__ import annotations

import plotly.graph_objects as go

HEIGHT = 320
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
ACCENT = "#4C5FD5"


def style(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    """Apply the shared title, height, margins and white template to a figure."""
    fig.update_layout(title=title, height=height, margin=MARGIN, template="plotly_white",
                      title_font_size=15)
    return fig
