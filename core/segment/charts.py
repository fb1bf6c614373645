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


#: Loading arrows drawn and labelled on a biplot: the features that drive the two axes
#: most (longest loading vectors); more arrows crowd the middle of the map unreadably.
BIPLOT_ARROWS = 6


def biplot_features(loadings: pd.DataFrame, top: int = BIPLOT_ARROWS) -> list[str]:
    """The ``top`` features with the longest loading vectors on the first two axes."""
    strength = np.hypot(loadings.iloc[:, 0], loadings.iloc[:, 1])
    return [str(f) for f in strength.sort_values(ascending=False).index[:top]]


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


#: Biplot label layout: the plot's size in pixels (its height is fixed; the width is a
#: typical wide layout) and the size of a label character and line, for overlap checks.
PLOT_PX = (700, 440)
LABEL_CHAR_PX, LABEL_LINE_PX = 6.6, 20
#: Gap between an arrow's tip and its label, in pixels, and the extra steps outward a
#: label takes when it would cover one placed before it.
LABEL_GAP_PX, LABEL_STEP_PX, LABEL_STEPS = 6, 14, 8


def _add_loading_arrows(fig: go.Figure, coords: pd.DataFrame, loadings: pd.DataFrame) -> None:
    """Arrows from the origin for the strongest loadings, each labelled at its tip.

    A label sits just beyond its arrow's tip, pushed outward along the arrow (anchored on
    the side facing the origin, so it never covers its own arrow), on a semi-opaque
    background; a label that would cover an earlier one moves further out.
    """
    features = biplot_features(loadings)
    top = loadings.loc[features]
    strength = np.hypot(top.iloc[:, 0], top.iloc[:, 1])
    # Arrows are scaled so the longest reaches about 80 % of the points' spread.
    reach = 0.8 * coords.abs().quantile(0.95).min() / max(float(strength.max()), 1e-12)
    span = (coords.max() - coords.min()).to_numpy(float)
    span = np.where(span > 0, span, 1.0)
    px_per_unit = np.array(PLOT_PX) / span
    tips = top.to_numpy(float) * reach
    # The arrows are one line trace (the labels are the figure's only annotations): a
    # segment from the origin to each tip, an arrowhead marker pointing along it.
    xs = [v for x in tips[:, 0] for v in (0.0, x, None)]
    ys = [v for y in tips[:, 1] for v in (0.0, y, None)]
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="lines+markers", line={"color": "#333", "width": 1.5},
        marker={"symbol": "arrow", "angleref": "previous", "color": "#333",
                "size": [0, 10, 0] * len(tips)},
        hoverinfo="skip", showlegend=False, name="loadings"))
    placed: list[tuple[float, float, float, float]] = []
    for (feature, (dx, dy)), tip in zip(top.iterrows(), tips, strict=True):
        label = esc(feature)
        unit = np.array([dx, dy]) * px_per_unit
        unit = unit / max(float(np.hypot(*unit)), 1e-12)  # direction on screen
        size = (LABEL_CHAR_PX * len(str(feature)) + 8, LABEL_LINE_PX)
        box = None
        for step in range(LABEL_STEPS + 1):
            offset = unit * (LABEL_GAP_PX + step * LABEL_STEP_PX)
            box = _label_box(tip * px_per_unit + offset, unit, size)
            if not any(_overlap(box, other) for other in placed):
                break
        placed.append(box)
        centre = ((box[0] + box[2]) / 2 / px_per_unit[0], (box[1] + box[3]) / 2 / px_per_unit[1])
        fig.add_annotation(x=centre[0], y=centre[1], xref="x", yref="y", text=label,
                           showarrow=False, font={"size": 11, "color": "#111"},
                           bgcolor="rgba(255,255,255,0.85)", borderpad=2,
                           bordercolor="rgba(0,0,0,0.15)")


def _label_box(anchor: np.ndarray, direction: np.ndarray, size: tuple[float, float]
               ) -> tuple[float, float, float, float]:
    """The pixel box of a label whose nearest edge to the origin touches ``anchor``."""
    width, height = size
    # Scaled so the larger component is 1: the box's corner (or edge) facing the origin.
    centre = anchor + direction / max(float(np.abs(direction).max()), 1e-12) \
        * np.array([width / 2, height / 2])
    return (centre[0] - width / 2, centre[1] - height / 2,
            centre[0] + width / 2, centre[1] + height / 2)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]
             ) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
