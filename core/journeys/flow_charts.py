"""Plotly figures of funnels and paths.

Every name from the analyst or the data (events, step labels, groups) goes into a figure
through :func:`core.common.style.esc`. Groups have the colour they have on every other
chart (:func:`core.segment.labels.label_colours`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.style import ACCENT, HEIGHT, MARGIN, esc, style
from core.journeys.funnels import ALL_USERS, FunnelResult
from core.journeys.paths import LEFT, NOT_STARTED, OTHER, PathResult
from core.segment.labels import GREY, label_colours

#: Diverging scale for differences (blue below zero, red above), centred at zero.
DIVERGING = "RdBu_r"
#: Sankey nodes for the grouped and ended steps.
MUTED = {OTHER: "#BDBDBD", LEFT: "#E0E0E0", NOT_STARTED: "#E0E0E0"}


def _group_colours(groups: list[str]) -> dict[str, str]:
    colours = label_colours(groups)
    colours.setdefault(ALL_USERS, ACCENT)
    if groups == [ALL_USERS]:
        colours[ALL_USERS] = ACCENT
    return colours


def funnel_chart(result: FunnelResult) -> go.Figure:
    """Users at each step, one bar per group, labelled with the conversion from step 1."""
    fig = go.Figure()
    groups = result.group_labels
    colours = _group_colours(groups)
    for group in groups:
        part = result.steps[result.steps["group"] == group]
        labels = [f"{k}. {esc(label)}" for k, label in zip(part["step"], part["label"],
                                                             strict=True)]
        conversion = part["conversion_from_first"].fillna(0).to_numpy()
        previous = part["conversion_from_previous"].fillna(0).to_numpy()
        fig.add_bar(
            x=labels, y=part["users"].to_numpy(), name=esc(group),
            marker_color=colours.get(group, GREY),
            text=[f"{c:.0%}" for c in conversion], textposition="outside",
            customdata=np.column_stack([conversion, previous]),
            hovertemplate=(f"{esc(group)}<br>%{{x}}: %{{y:,}} users<br>%{{customdata[0]:.1%}} "
                           "of step 1, %{customdata[1]:.1%} of the previous step"
                           "<extra></extra>"))
    # The legend goes under the plot: above it, six personas took three rows at 1024 px
    # and squeezed the bars; the height grows with the groups instead.
    fig.update_layout(barmode="group", showlegend=len(groups) > 1,
                      legend={"orientation": "h", "y": -0.18, "x": 0, "yanchor": "top"})
    fig.update_yaxes(title="Users")
    return style(fig, "Funnel: users at each step",
                 height=HEIGHT + 40 + (24 * ((len(groups) + 2) // 3) if len(groups) > 1 else 0))


def time_to_convert_chart(result: FunnelResult) -> go.Figure:
    """Box plots of the time from each step to the next (hours), per group."""
    fig = go.Figure()
    groups = result.group_labels
    colours = _group_colours(groups)
    labels = {int(k): label for k, label in zip(result.overall["step"],
                                                 result.overall["label"], strict=True)}
    for group in groups:
        inside = (result.groups == group).to_numpy()
        times = result.step_times[inside]
        xs, ys = [], []
        for step in times.columns:
            hours = times[step].dropna().to_numpy() / 3600
            xs += [f"{step - 1}→{step}. {esc(labels.get(int(step), step))}"] * len(hours)
            ys.append(hours)
        fig.add_box(x=xs, y=np.concatenate(ys) if ys else [], name=esc(group),
                    marker_color=colours.get(group, GREY), boxpoints=False)
    fig.update_layout(boxmode="group", showlegend=len(groups) > 1)
    fig.update_yaxes(title="Hours from the previous step", type="log")
    return style(fig, "Time from step to step")


#: Gap between a column's nodes (px), and the share of its users under which a node is
#: drawn without a label (its users are in the hover), so labels do not run together.
NODE_PAD = 12
LABEL_MIN_SHARE = 0.05


def _sankey_height(nodes: pd.DataFrame) -> int:
    """Tall enough for the fullest column's nodes and their gaps."""
    fullest = int(nodes.groupby("column").size().max()) if len(nodes) else 1
    return max(460, 34 * fullest + 140)


def _node_positions(nodes: pd.DataFrame, columns: int, plot_px: float
                    ) -> tuple[list[float], list[float]]:
    """x per column; y the centre of each node stacked by size within its column, with
    the gaps plotly puts between nodes taken out of the height, so that the last node
    of a full column still ends inside the plot (both in (0, 1))."""
    xs, ys = [], []
    pad = NODE_PAD / max(plot_px, 1.0)
    for column, part in nodes.groupby("column", sort=True):
        share = part["users"].to_numpy() / max(part["users"].sum(), 1)
        room = max(1.0 - pad * (len(part) - 1), 0.2)
        before = np.cumsum(share) - share
        centres = before * room + np.arange(len(part)) * pad + share * room / 2
        # The last column stops short of the edge, leaving room for its labels.
        xs += [0.001 + 0.86 * column / max(columns - 1, 1)] * len(part)
        ys += list(np.clip(centres, 0.001, 0.999))
    return xs, ys


def paths_sankey(result: PathResult, colours: dict[str, str] | None = None) -> go.Figure:
    """The paths as a Sankey, one column per step, nodes labelled with their users.

    Parameters
    ----------
    result : PathResult
    colours : dict, optional
        ``{event: colour}``; other events get the accent colour, grouped and ended nodes
        grey.
    """
    nodes = result.nodes.sort_values(["column"], kind="stable").reset_index(drop=True)
    index = {(c, label): i for i, (c, label) in enumerate(zip(nodes["column"],
                                                               nodes["label"], strict=True))}
    columns = int(nodes["column"].max()) + 1 if len(nodes) else 1
    height = _sankey_height(nodes)
    xs, ys = _node_positions(nodes, columns, height - MARGIN["t"] - MARGIN["b"])
    palette = colours or {}
    node_colours = [MUTED.get(label, palette.get(label, ACCENT)) for label in nodes["label"]]
    full = [f"{esc(label)}<br>{users:,}" for label, users in
            zip(nodes["label"], nodes["users"], strict=True)]
    column_users = nodes.groupby("column")["users"].transform("sum").clip(lower=1)
    shown = [text if users / total >= LABEL_MIN_SHARE else "" for text, users, total in
             zip(full, nodes["users"], column_users, strict=True)]
    links = result.links
    sources = [index[(c, s)] for c, s in zip(links["source_column"], links["source"],
                                               strict=True)]
    targets = [index[(c, t)] for c, t in zip(links["target_column"], links["target"],
                                               strict=True)]
    values = list(links["users"].to_numpy())
    link_colours = ["rgba(76, 95, 213, 0.25)"] * len(sources)
    # plotly draws the labels of nodes without outgoing links on their left, over the
    # previous column's labels: an invisible node at the right edge, linked from the
    # last column by links too thin to see, keeps every label on the right.
    last = [i for i, c in enumerate(nodes["column"]) if c == columns - 1]
    outline = ["#444444"] * len(nodes)
    if len(nodes) and columns > 1:
        sink = len(nodes)
        shown, full, node_colours = [*shown, ""], [*full, ""], [*node_colours, "rgba(0,0,0,0)"]
        xs, ys = [*xs, 0.999], [*ys, 0.5]
        sources += last
        targets += [sink] * len(last)
        values += [1e-6 * max(int(nodes["users"].max()), 1)] * len(last)
        link_colours += ["rgba(0,0,0,0)"] * len(last)
        outline.append("rgba(0,0,0,0)")
    fig = go.Figure(go.Sankey(
        arrangement="fixed",
        node={"label": shown, "customdata": full,
              "x": xs, "y": ys, "color": node_colours, "pad": NODE_PAD, "thickness": 14,
              "line": {"color": outline, "width": 0.5},
              "hovertemplate": "%{customdata}<extra></extra>"},
        link={"source": sources, "target": targets, "value": values, "color": link_colours,
              "hovertemplate": "%{source.customdata} → %{target.customdata}: %{value:,} users"
                               "<extra></extra>"}))
    where = "from" if result.mode == "start" else "to"
    fig = style(fig, f"Paths {where} {esc(result.anchor)} ({result.users:,} users)",
                height=height)
    fig.update_layout(margin={**MARGIN, "r": 10})
    return fig


def step_matrix_heatmap(matrix: pd.DataFrame, title: str,
                        counts: pd.DataFrame | None = None) -> go.Figure:
    """Share of users at each event (rows) and step (columns), as % in the cells.

    Parameters
    ----------
    matrix : DataFrame
        One of :attr:`PathResult.step_matrix`.
    title : str
        Escaped here.
    counts : DataFrame, optional
        The matching :attr:`PathResult.step_counts`, shown on hover.
    """
    values = matrix.to_numpy(dtype=float)
    hover_counts = (counts.reindex(index=matrix.index, columns=matrix.columns).fillna(0)
                    .to_numpy() if counts is not None else np.full(values.shape, np.nan))
    fig = go.Figure(go.Heatmap(
        z=values, x=[f"Step {c}" for c in matrix.columns],
        y=[esc(label) for label in matrix.index], colorscale="Blues", zmin=0,
        zmax=max(float(np.nanmax(values)) if values.size else 1.0, 1e-9),
        text=[[f"{v:.0%}" for v in row] for row in values], texttemplate="%{text}",
        customdata=hover_counts,
        hovertemplate=("%{y}, %{x}: %{z:.1%}" + (" (%{customdata:,} users)"
                                                 if counts is not None else "")
                       + "<extra></extra>"),
        colorbar={"tickformat": ".0%"}))
    fig.update_yaxes(autorange="reversed")
    return style(fig, esc(title), height=max(HEIGHT, 24 * len(matrix) + 120))


def difference_heatmap(diff: pd.DataFrame, title: str = "Difference in share of users"
                       ) -> go.Figure:
    """Share differences (percentage points) with a diverging scale centred at zero."""
    values = diff.to_numpy(dtype=float)
    bound = max(float(np.nanmax(np.abs(values))) if values.size else 0.0, 1e-9)
    fig = go.Figure(go.Heatmap(
        z=values, x=[f"Step {c}" for c in diff.columns],
        y=[esc(label) for label in diff.index], colorscale=DIVERGING, zmid=0,
        zmin=-bound, zmax=bound,
        text=[[f"{v * 100:+.0f} pt" for v in row] for row in values],
        texttemplate="%{text}",
        hovertemplate="%{y}, %{x}: %{z:+.1%}<extra></extra>",
        colorbar={"tickformat": "+.0%"}))
    fig.update_yaxes(autorange="reversed")
    return style(fig, esc(title), height=max(HEIGHT, 24 * len(diff) + 120))
