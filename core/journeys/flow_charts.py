"""Plotly figures of funnels and paths.

Every name from the analyst or the data (events, step labels, groups) goes into a figure
through :func:`core.common.style.esc`. Groups have the colour they have on every other
chart (:func:`core.segment.labels.label_colours`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.style import ACCENT, HEIGHT, esc, style
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
    fig.update_layout(barmode="group", showlegend=len(groups) > 1,
                      legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right",
                              "yanchor": "bottom"})
    fig.update_yaxes(title="Users")
    return style(fig, "Funnel: users at each step")


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


def _node_positions(nodes: pd.DataFrame, columns: int) -> tuple[list[float], list[float]]:
    """x per column, y stacked by size within a column (both in (0, 1))."""
    xs, ys = [], []
    for column, part in nodes.groupby("column", sort=True):
        share = part["users"].to_numpy() / max(part["users"].sum(), 1)
        centres = np.cumsum(share) - share / 2
        xs += [0.001 + 0.998 * column / max(columns - 1, 1)] * len(part)
        ys += list(0.001 + 0.998 * centres)
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
    xs, ys = _node_positions(nodes, columns)
    palette = colours or {}
    node_colours = [MUTED.get(label, palette.get(label, ACCENT)) for label in nodes["label"]]
    links = result.links
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": [f"{esc(label)} ({users:,})" for label, users in
                        zip(nodes["label"], nodes["users"], strict=True)],
              "x": xs, "y": ys, "color": node_colours, "pad": 12, "thickness": 14,
              "hovertemplate": "%{label}<extra></extra>"},
        link={"source": [index[(c, s)] for c, s in zip(links["source_column"],
                                                       links["source"], strict=True)],
              "target": [index[(c, t)] for c, t in zip(links["target_column"],
                                                       links["target"], strict=True)],
              "value": links["users"].to_numpy(), "color": "rgba(76, 95, 213, 0.25)",
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,} users"
                               "<extra></extra>"}))
    where = "from" if result.mode == "start" else "to"
    return style(fig, f"Paths {where} {esc(result.anchor)} ({result.users:,} users)",
                 height=max(HEIGHT, 460))


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
