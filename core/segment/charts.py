"""Charts of clustering and maps: the k sweep, sizes, profiles, dendrogram, scatter.

Names from the analyst or the data (cluster labels, persona and segment names, feature
names, user ids) are HTML-escaped where these functions put them into a figure
(:func:`core.common.style.esc`), except in :func:`profile_heatmap`, whose callers pass
the labels they want shown, escaped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.common.style import ACCENT, esc, style
from core.segment.labels import label_colours, sorted_labels


def sweep_panels(table: pd.DataFrame, knee_k: int | None, suggested_k: int) -> go.Figure:
    """Inertia (with the elbow), silhouette, Davies-Bouldin, Calinski-Harabasz and BIC."""
    from plotly.subplots import make_subplots

    metrics = [("inertia", "Inertia (lower is tighter)"),
               ("silhouette", "Silhouette (higher is better)"),
               ("davies_bouldin", "Davies-Bouldin (lower is better)"),
               ("calinski_harabasz", "Calinski-Harabasz (higher is better)")]
    if "bic" in table:
        metrics.append(("bic", "BIC (lower is better)"))
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[t for _, t in metrics])
    for i, (col, _) in enumerate(metrics, start=1):
        fig.add_trace(go.Scatter(x=table["k"], y=table[col], mode="lines+markers",
                                 marker_color=ACCENT, name=col, showlegend=False), 1, i)
        fig.add_vline(x=suggested_k, line_dash="dot", line_color="#2E7D32", row=1, col=i)
        if col == "inertia" and knee_k is not None:
            fig.add_vline(x=knee_k, line_dash="dash", line_color="#C62828", row=1, col=i)
    fig.update_xaxes(title="k", dtick=1)
    fig.update_annotations(font_size=12)
    return style(fig, "Choosing k: green = suggested, red dashed = elbow of inertia",
                  height=320)


def cluster_sizes(names: pd.Series) -> go.Figure:
    """Users per cluster (noise last)."""
    counts = names.value_counts()
    counts = counts.loc[sorted_labels(counts.index)]
    colours = label_colours(counts.index)
    fig = go.Figure(go.Bar(x=[esc(n) for n in counts.index], y=counts.to_numpy(),
                           marker_color=[colours[str(n)] for n in counts.index],
        text=[f"{v:,} ({v / counts.sum():.0%})" for v in counts], textposition="outside"))
    fig.update_yaxes(title="users")
    return style(fig, "Cluster sizes")


def profile_heatmap(profile: pd.DataFrame) -> go.Figure:
    """Standardised difference of each cluster's mean from everyone's, per feature.

    The index and columns are shown as they are: escape names with
    :func:`core.common.style.esc` first.
    """
    fig = go.Figure(go.Heatmap(
        z=profile.to_numpy(), x=list(profile.columns), y=list(profile.index),
        colorscale="RdBu", reversescale=True, zmid=0, text=np.round(profile.to_numpy(), 2),
        texttemplate="%{text}", textfont={"size": 10},
        hovertemplate="%{y}, %{x}: %{z:.2f} sd from everyone<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return style(fig, "Cluster profiles (standard deviations from everyone's mean, "
                      "values winsorised at the 1st and 99th percentiles)",
                  height=max(300, 40 * len(profile) + 140))


def dendrogram(matrix: np.ndarray, linkage: str = "ward", leaves: int = 30,
               sample: int = 2_000, random_state: int = 0) -> go.Figure:
    """Merge tree of agglomerative clustering on a sample, cut to the last merges.

    Drawn from SciPy's hierarchy on at most ``sample`` users (the tree of every user
    would be unreadable and quadratic in memory); leaves show how many users they hold.
    """
    from scipy.cluster import hierarchy

    rng = np.random.default_rng(random_state)
    rows = rng.choice(len(matrix), size=min(sample, len(matrix)), replace=False)
    tree = hierarchy.linkage(matrix[rows], method=linkage)
    parts = hierarchy.dendrogram(tree, truncate_mode="lastp", p=leaves, no_plot=True)
    fig = go.Figure()
    for xs, ys in zip(parts["icoord"], parts["dcoord"], strict=True):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": ACCENT},
                                 hoverinfo="skip", showlegend=False))
    ticks = [5 + 10 * i for i in range(len(parts["ivl"]))]
    fig.update_xaxes(tickvals=ticks, ticktext=parts["ivl"], tickangle=-60, title=None)
    fig.update_yaxes(title="merge distance")
    return style(fig, f"Dendrogram ({linkage} linkage, {len(rows):,} users, "
                       f"last {len(parts['ivl'])} groups)", height=380)


#: Loading arrows drawn on a biplot: the features that drive the two axes most.
BIPLOT_ARROWS = 6


def projection_scatter(plot: pd.DataFrame, axes: list[str], colour: str,
                       hover: list[str] | None = None,
                       loadings: pd.DataFrame | None = None,
                       colours: dict[str, str] | None = None) -> go.Figure:
    """Users on a 2-D or 3-D map, coloured by a label or a feature.

    ``plot`` holds the axis columns, ``colour``, ``user_id`` and the ``hover`` features.
    With ``loadings`` (PCA, 2-D) the strongest features are drawn as arrows (a biplot).
    A feature's colour scale spans its 1st-99th percentiles, so a few extreme users (bots)
    do not paint everyone else the same shade. Labels take ``colours`` (label or persona
    name -> colour), else :func:`core.segment.labels.label_colours` of the values.
    """
    plot, colour, hover = _escaped(plot, axes, colour, hover or [])
    categorical = not pd.api.types.is_numeric_dtype(plot[colour])
    # The plot's labels are escaped already; the given colours are keyed by raw names.
    shading = {"category_orders": {colour: sorted_labels(plot[colour].dropna())},
               "color_discrete_map": {esc(k): v for k, v in colours.items()} if colours
               else label_colours(plot[colour].dropna().unique())} \
        if categorical else {
            "color_continuous_scale": "Viridis",
            "range_color": tuple(plot[colour].quantile([0.01, 0.99]).astype(float))}
    hover_data = {SHOWN_ID: True, **{f: ":.3g" for f in hover},
                  **({} if categorical else {colour: ":.3g"}),
                  **{axis: ":.2f" for axis in axes}}
    if len(axes) == 3:
        fig = px.scatter_3d(plot, x=axes[0], y=axes[1], z=axes[2], color=colour,
                            hover_data=hover_data, labels={SHOWN_ID: "user_id"},
                            opacity=0.7, height=620, **shading)
        fig.update_traces(marker_size=3)
        fig.update_layout(template="plotly_white", margin={"l": 0, "r": 0, "t": 30, "b": 0})
        return fig
    fig = px.scatter(plot, x=axes[0], y=axes[1], color=colour, custom_data=["user_id"],
                     hover_data=hover_data, labels={SHOWN_ID: "user_id"}, opacity=0.7,
                     height=560, **shading)
    fig.update_traces(marker_size=5)
    if loadings is not None:
        _add_loading_arrows(fig, plot[axes], loadings[axes[:2]])
    # Without select as the drag mode, a drag zooms and no selection reaches the app.
    fig.update_layout(dragmode="select", template="plotly_white",
                      margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title=colour)
    return fig


#: The column of HTML-escaped user ids shown on hover (the raw ids stay the custom data
#: that a selection returns).
SHOWN_ID = "user_id (shown)"


def _escaped(plot: pd.DataFrame, axes: list[str], colour: str, hover: list[str]
             ) -> tuple[pd.DataFrame, str, list[str]]:
    """The plot with every shown name and label HTML-escaped, and the new column names."""
    names = {c: esc(c) for c in plot.columns if c not in (*axes, "user_id")}
    plot = plot.rename(columns=names)
    plot[SHOWN_ID] = plot["user_id"].astype(str).map(esc)
    colour = names.get(colour, colour)
    if not pd.api.types.is_numeric_dtype(plot[colour]):
        plot[colour] = plot[colour].map(lambda v: v if pd.isna(v) else esc(v))
    return plot, colour, [names.get(f, f) for f in hover]


def _add_loading_arrows(fig: go.Figure, coords: pd.DataFrame, loadings: pd.DataFrame) -> None:
    strength = np.hypot(loadings.iloc[:, 0], loadings.iloc[:, 1])
    top = loadings.loc[strength.sort_values(ascending=False).index[:BIPLOT_ARROWS]]
    # Arrows are scaled so the longest reaches about 80 % of the points' spread.
    reach = 0.8 * coords.abs().quantile(0.95).min() / max(float(strength.max()), 1e-12)
    for feature, (dx, dy) in top.iterrows():
        fig.add_annotation(x=dx * reach, y=dy * reach, ax=0, ay=0, axref="x", ayref="y",
                           xref="x", yref="y", text=esc(feature), showarrow=True,
                           arrowhead=2, arrowwidth=1.5, arrowcolor="#333",
                           font={"size": 11, "color": "#111"}, bgcolor="rgba(255,255,255,0.7)")
