"""Charts of the feature table: one feature's distribution and the correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.style import ACCENT, esc, style


def histogram(values: pd.Series, name: str, log_y: bool = False, bins: int = 50) -> go.Figure:
    """Histogram of one feature; missing values are left out (and counted in the title).

    Bins are counted here, so the figure carries ``bins`` bars rather than every value.
    The feature's name is HTML-escaped in the title and the axis (it can come from the
    data's columns).
    """
    name = esc(name)
    clean = values.dropna().astype(float)
    missing = len(values) - len(clean)
    if clean.nunique() <= 1:
        edges = np.array([clean.min() - 0.5, clean.min() + 0.5]) if len(clean) else \
            np.array([0.0, 1.0])
        counts = np.array([len(clean)])
    else:
        counts, edges = np.histogram(clean, bins=bins)
    fig = go.Figure(go.Bar(
        x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
        marker_color=ACCENT,
        customdata=np.column_stack([edges[:-1], edges[1:]]),
        hovertemplate="%{customdata[0]:.3g} to %{customdata[1]:.3g}: %{y:,} users"
                      "<extra></extra>"))
    if log_y:
        fig.update_yaxes(type="log")
    fig.update_layout(bargap=0.02)
    fig.update_xaxes(title=name)
    fig.update_yaxes(title="users")
    note = f" ({missing:,} missing not shown)" if missing else ""
    return style(fig, f"Distribution of {name}{note}")


def correlation_heatmap(frame: pd.DataFrame, method: str = "spearman") -> go.Figure:
    """Heatmap of pairwise correlations between feature columns."""
    corr = frame.astype(float).corr(method=method)
    labels = [esc(c) for c in corr.columns]  # names from the data; plotly renders HTML
    fig = go.Figure(go.Heatmap(
        z=corr.to_numpy(), x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
        reversescale=True, text=np.round(corr.to_numpy(), 2), texttemplate="%{text}",
        textfont={"size": 9}, hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>"))
    size = max(420, 26 * len(labels) + 160)
    fig.update_yaxes(autorange="reversed")
    return style(fig, f"Correlation ({method.title()})", height=size)
