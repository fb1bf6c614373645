"""Charts of clustering runs and of per-cluster stability.

Clusters have their colour of every other chart (:func:`core.segment.labels.label_colours`);
run and cluster names are HTML-escaped where they enter a figure
(:func:`core.common.style.esc`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.style import esc, style
from core.segment.clustering import JACCARD_HIGHLY_STABLE, JACCARD_STABLE, JACCARD_UNSTABLE
from core.segment.labels import label_colours, sorted_labels

GREY = "#9E9E9E"
#: How much a chart of results from other settings is faded (see :func:`out_of_date`).
FADED_OPACITY = 0.4


def run_sizes(sizes: pd.DataFrame) -> go.Figure:
    """One stacked bar per run: its clusters' users, each cluster in its colour.

    Parameters
    ----------
    sizes : DataFrame
        ``Run``, ``Cluster``, ``Users``, ``Share`` (:attr:`RunComparison.sizes`).
    """
    runs = list(dict.fromkeys(sizes["Run"]))
    clusters = sorted_labels(sizes["Cluster"])
    colours = label_colours(clusters)
    fig = go.Figure()
    for cluster in clusters:
        part = sizes[sizes["Cluster"] == cluster].set_index("Run").reindex(runs)
        users = part["Users"].fillna(0).astype(int).to_numpy()
        share = part["Share"].fillna(0.0).to_numpy()
        fig.add_trace(go.Bar(
            y=[esc(r) for r in runs], x=users, orientation="h", name=esc(cluster),
            marker_color=colours[cluster], customdata=share,
            text=[f"{s:.0%}" if s >= 0.06 else "" for s in share], textposition="inside",
            insidetextanchor="middle", textangle=0,
            hovertemplate=f"%{{y}}, {esc(cluster)}: %{{x:,}} users (%{{customdata:.1%}})"
                          "<extra></extra>"))
    fig.update_layout(barmode="stack", yaxis={"autorange": "reversed"},
                      # At the foot of the figure, below the tick labels.
                      legend={"orientation": "h", "yref": "container", "y": 0,
                              "yanchor": "bottom", "x": 0, "traceorder": "normal"})
    fig.update_xaxes(tickformat=",")
    rows_of_legend = 1 + len(clusters) // 5
    fig = style(fig, "Cluster sizes by run (users)",
                height=max(280, 130 + 44 * len(runs) + 22 * rows_of_legend))
    # Room under the axis for the legend, so it never covers the tick labels.
    fig.update_layout(margin={**fig.layout.margin.to_plotly_json(),
                              "b": 36 + 22 * rows_of_legend})
    return fig


def ari_heatmap(ari: pd.DataFrame, common: pd.DataFrame | None = None) -> go.Figure:
    """Adjusted Rand index between every two runs (1 = the same clustering, about 0 =
    no more agreement than chance), on the users both clustered."""
    names = [esc(n) for n in ari.index]
    values = ari.to_numpy(dtype=float)
    text = [["" if np.isnan(v) else f"{v:.2f}" for v in row] for row in values]
    custom = common.to_numpy() if common is not None else np.zeros_like(values)
    fig = go.Figure(go.Heatmap(
        z=values, x=names, y=names, zmin=0, zmax=1, colorscale="Blues", text=text,
        texttemplate="%{text}", customdata=custom, colorbar={"title": "ARI"},
        hovertemplate="%{y} vs %{x}: ARI %{z:.3f} on %{customdata:,} users in both"
                      "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return style(fig, "Agreement between runs (ARI)",
                 height=max(300, 120 + 40 * len(names)))


def cluster_stability(values: pd.Series) -> go.Figure:
    """Mean best-match Jaccard per cluster over bootstrap refits, with Hennig's lines:
    below 0.6 unstable, above 0.75 stable, above 0.85 highly stable (named in the right
    margin, clear of the bars)."""
    labels = sorted_labels(values.index)
    colours = label_colours(labels)
    y = values.reindex(labels).to_numpy(dtype=float)
    fig = go.Figure(go.Bar(
        x=[esc(label) for label in labels], y=y, marker_color=[colours[lab] for lab in labels],
        text=["" if np.isnan(v) else f"{v:.2f}" for v in y], textposition="outside",
        cliponaxis=False, hovertemplate="%{x}: mean Jaccard %{y:.3f}<extra></extra>"))
    for level, text, colour in ((JACCARD_UNSTABLE, "unstable below", "#C62828"),
                                (JACCARD_STABLE, "stable", "#2E7D32"),
                                (JACCARD_HIGHLY_STABLE, "highly stable", "#1B5E20")):
        fig.add_hline(y=level, line_dash="dash", line_color=colour, line_width=1.5)
        fig.add_annotation(x=1, xref="paper", xanchor="left", y=level, yref="y",
                           text=f"{level:g} {text}", showarrow=False, xshift=4,
                           font={"size": 10, "color": colour})
    fig.update_yaxes(range=[0, 1.1], title="mean Jaccard")
    fig.update_layout(bargap=0.45)
    fig = style(fig, "Stability per cluster (mean Jaccard)")
    fig.update_layout(margin={**fig.layout.margin.to_plotly_json(), "r": 100})
    return fig


def out_of_date(fig: go.Figure, note: str = "out of date: the settings above changed"
                ) -> go.Figure:
    """Fade a chart of results from other settings and say so in its title (the chart
    stays readable: nothing is hidden)."""
    fig.update_traces(opacity=FADED_OPACITY)
    title = fig.layout.title.text or ""
    fig.update_layout(title={"text": f"{title} <span style='color:{GREY}'>({esc(note)})"
                                     "</span>"})
    return fig
