"""Plotly figure builders shared by the pages and the report. They only draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

HEIGHT = 320
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
ACCENT = "#4C5FD5"


def _style(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=MARGIN, template="plotly_white",
                      title_font_size=15)
    return fig


def events_per_day(per_day: list[tuple[str, int]]) -> go.Figure:
    """Bar chart of events per calendar day (UTC)."""
    frame = pd.DataFrame(per_day, columns=["day", "events"])
    frame["day"] = pd.to_datetime(frame["day"])
    fig = px.bar(frame, x="day", y="events", color_discrete_sequence=[ACCENT])
    fig.update_xaxes(title=None)
    return _style(fig, "Events per day (UTC)")


def top_events(top: list[tuple[str, int]]) -> go.Figure:
    """Horizontal bar chart of the most frequent event types."""
    frame = pd.DataFrame(top, columns=["event", "count"]).iloc[::-1]
    fig = px.bar(frame, x="count", y="event", orientation="h",
                 color_discrete_sequence=[ACCENT])
    fig.update_yaxes(title=None)
    return _style(fig, "Top event types", height=max(HEIGHT, 24 * len(frame) + 80))


def histogram(values: pd.Series, name: str, log_y: bool = False, bins: int = 50) -> go.Figure:
    """Histogram of one feature; missing values are left out (and counted in the title).

    Bins are counted here, so the figure carries ``bins`` bars rather than every value.
    """
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
    return _style(fig, f"Distribution of {name}{note}")


def correlation_heatmap(frame: pd.DataFrame, method: str = "spearman") -> go.Figure:
    """Heatmap of pairwise correlations between feature columns."""
    corr = frame.astype(float).corr(method=method)
    labels = list(corr.columns)
    fig = go.Figure(go.Heatmap(
        z=corr.to_numpy(), x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
        reversescale=True, text=np.round(corr.to_numpy(), 2), texttemplate="%{text}",
        textfont={"size": 9}, hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>"))
    size = max(420, 26 * len(labels) + 160)
    fig.update_yaxes(autorange="reversed")
    return _style(fig, f"Correlation ({method.title()})", height=size)


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
    return _style(fig, "Choosing k: green = suggested, red dashed = elbow of inertia",
                  height=320)


def cluster_sizes(names: pd.Series) -> go.Figure:
    """Users per cluster (noise last)."""
    counts = names.value_counts()
    order = sorted(counts.index, key=lambda n: (n == "Noise", int(n.split()[-1])
                                                if n != "Noise" else 0))
    counts = counts.loc[order]
    fig = go.Figure(go.Bar(x=counts.index, y=counts.to_numpy(), marker_color=[
        "#9E9E9E" if n == "Noise" else ACCENT for n in counts.index],
        text=[f"{v:,} ({v / counts.sum():.0%})" for v in counts], textposition="outside"))
    fig.update_yaxes(title="users")
    return _style(fig, "Cluster sizes")


def profile_heatmap(profile: pd.DataFrame) -> go.Figure:
    """Standardised difference of each cluster's mean from everyone's, per feature."""
    fig = go.Figure(go.Heatmap(
        z=profile.to_numpy(), x=list(profile.columns), y=list(profile.index),
        colorscale="RdBu", reversescale=True, zmid=0, text=np.round(profile.to_numpy(), 2),
        texttemplate="%{text}", textfont={"size": 10},
        hovertemplate="%{y}, %{x}: %{z:.2f} sd from everyone<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _style(fig, "Cluster profiles (standard deviations from everyone's mean)",
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
    return _style(fig, f"Dendrogram ({linkage} linkage, {len(rows):,} users, "
                       f"last {len(parts['ivl'])} groups)", height=380)


#: Loading arrows drawn on a biplot: the features that drive the two axes most.
BIPLOT_ARROWS = 6


def projection_scatter(plot: pd.DataFrame, axes: list[str], colour: str,
                       hover: list[str] | None = None,
                       loadings: pd.DataFrame | None = None) -> go.Figure:
    """Users on a 2-D or 3-D map, coloured by a label or a feature.

    ``plot`` holds the axis columns, ``colour``, ``user_id`` and the ``hover`` features.
    With ``loadings`` (PCA, 2-D) the strongest features are drawn as arrows (a biplot).
    A feature's colour scale spans its 1st-99th percentiles, so a few extreme users (bots)
    do not paint everyone else the same shade.
    """
    categorical = not pd.api.types.is_numeric_dtype(plot[colour])
    shading = {"category_orders": {colour: sorted(plot[colour].astype(str).unique(),
                                                  key=lambda n: (len(n), n))}} \
        if categorical else {
            "color_continuous_scale": "Viridis",
            "range_color": tuple(plot[colour].quantile([0.01, 0.99]).astype(float))}
    hover_data = {"user_id": True, **{f: ":.3g" for f in hover or []},
                  **({} if categorical else {colour: ":.3g"}),
                  **{axis: ":.2f" for axis in axes}}
    if len(axes) == 3:
        fig = px.scatter_3d(plot, x=axes[0], y=axes[1], z=axes[2], color=colour,
                            hover_data=hover_data, opacity=0.7, height=620, **shading)
        fig.update_traces(marker_size=3)
        fig.update_layout(template="plotly_white", margin={"l": 0, "r": 0, "t": 30, "b": 0})
        return fig
    fig = px.scatter(plot, x=axes[0], y=axes[1], color=colour, custom_data=["user_id"],
                     hover_data=hover_data, opacity=0.7, height=560, **shading)
    fig.update_traces(marker_size=5)
    if loadings is not None:
        _add_loading_arrows(fig, plot[axes], loadings[axes[:2]])
    # Without select as the drag mode, a drag zooms and no selection reaches the app.
    fig.update_layout(dragmode="select", template="plotly_white",
                      margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title=colour)
    return fig


def _add_loading_arrows(fig: go.Figure, coords: pd.DataFrame, loadings: pd.DataFrame) -> None:
    strength = np.hypot(loadings.iloc[:, 0], loadings.iloc[:, 1])
    top = loadings.loc[strength.sort_values(ascending=False).index[:BIPLOT_ARROWS]]
    # Arrows are scaled so the longest reaches about 80 % of the points' spread.
    reach = 0.8 * coords.abs().quantile(0.95).min() / max(float(strength.max()), 1e-12)
    for feature, (dx, dy) in top.iterrows():
        fig.add_annotation(x=dx * reach, y=dy * reach, ax=0, ay=0, axref="x", ayref="y",
                           xref="x", yref="y", text=str(feature), showarrow=True,
                           arrowhead=2, arrowwidth=1.5, arrowcolor="#333",
                           font={"size": 11, "color": "#111"}, bgcolor="rgba(255,255,255,0.7)")
