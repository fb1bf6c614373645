"""Charts of the loaded event log: events per day and the top event types."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.common.style import ACCENT, HEIGHT, style


def events_per_day(per_day: list[tuple[str, int]]) -> go.Figure:
    """Bar chart of events per calendar day (UTC)."""
    frame = pd.DataFrame(per_day, columns=["day", "events"])
    frame["day"] = pd.to_datetime(frame["day"])
    fig = px.bar(frame, x="day", y="events", color_discrete_sequence=[ACCENT])
    fig.update_xaxes(title=None)
    return style(fig, "Events per day (UTC)")


def top_events(top: list[tuple[str, int]]) -> go.Figure:
    """Horizontal bar chart of the most frequent event types."""
    frame = pd.DataFrame(top, columns=["event", "count"]).iloc[::-1]
    fig = px.bar(frame, x="count", y="event", orientation="h",
                 color_discrete_sequence=[ACCENT])
    fig.update_yaxes(title=None)
    return style(fig, "Top event types", height=max(HEIGHT, 24 * len(frame) + 80))
