"""Plotly figures of personas, shared by the Personas page and the HTML report.

Every name that comes from the analyst or the data (persona names, feature names) is
HTML-escaped before it enters a figure: plotly renders a subset of HTML in titles,
labels and hover text, and decodes the entities back to the plain characters, so a name
reads as typed and never becomes markup.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.style import ACCENT, HEIGHT, esc, style
from core.personas.migration import NOT_ACTIVE, NOT_PRESENT
from core.personas.profiles import ClusterProfiles, feature_label
from core.segment.charts import profile_heatmap
from core.segment.labels import label_colours, label_order

#: Features shown in the heatmap and the snake plot when the clustering used none.
MAX_PROFILE_FEATURES = 15
GREY = "#9E9E9E"


def _names(profiles: ClusterProfiles, names: dict[str, str]) -> list[str]:
    return [esc(names.get(label, label)) for label in profiles.labels]


def profile_features(profiles: ClusterProfiles, clustered_on: list[str] | tuple[str, ...]
                     ) -> list[str]:
    """Features to draw: those the clustering used, else the most distinguishing ones."""
    chosen = [f for f in clustered_on if f in profiles.z.columns]
    if chosen:
        return chosen
    spread = profiles.z.abs().max().sort_values(ascending=False, kind="stable")
    return list(spread.index[:MAX_PROFILE_FEATURES])


def sizes(profiles: ClusterProfiles, names: dict[str, str]) -> go.Figure:
    """Share of users and (when known) share of revenue per persona."""
    labels = _names(profiles, names)
    # Each persona's bars in its colour on every page; revenue is the hatched bar.
    colours = label_colours(profiles.labels)
    bar_colours = [colours[str(label)] for label in profiles.labels]
    fig = go.Figure(go.Bar(
        x=labels, y=profiles.share_users.to_numpy(), name="Share of users",
        marker_color=bar_colours, text=[f"{v:.0%}" for v in profiles.share_users],
        textposition="outside", customdata=profiles.sizes.to_numpy(),
        hovertemplate="%{x}: %{customdata:,} users (%{y:.1%})<extra></extra>"))
    if profiles.share_revenue is not None:
        fig.add_bar(x=labels, y=profiles.share_revenue.to_numpy(), name="Share of revenue",
                    marker={"color": "white", "line": {"color": bar_colours, "width": 1.5},
                            "pattern": {"shape": "/", "fgcolor": bar_colours, "size": 6}},
                    text=[f"{v:.0%}" for v in profiles.share_revenue],
                    textposition="outside",
                    hovertemplate="%{x}: %{y:.1%} of revenue<extra></extra>")
    fig.update_yaxes(tickformat=".0%", title=None)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": 1.02, "x": 1,
                                               "xanchor": "right", "yanchor": "bottom"})
    return style(fig, "Size and revenue of each persona")


def heatmap(profiles: ClusterProfiles, names: dict[str, str], features: list[str]
            ) -> go.Figure:
    """Standardised difference from everyone, personas × features."""
    table = profiles.z[features].copy()
    table.index = _names(profiles, names)
    table.columns = [esc(feature_label(f)) for f in features]
    fig = profile_heatmap(table)
    fig.update_layout(title="Persona profiles (standard deviations from everyone's mean)")
    return fig


def snake(profiles: ClusterProfiles, names: dict[str, str], features: list[str]) -> go.Figure:
    """Snake plot: one line per persona across the features (0 = everyone's mean)."""
    fig = go.Figure()
    x = [esc(feature_label(f)) for f in features]
    colours = label_colours(profiles.labels)
    for label, name in zip(profiles.labels, _names(profiles, names), strict=True):
        fig.add_trace(go.Scatter(
            x=x, y=profiles.z.loc[label, features].to_numpy(), mode="lines+markers",
            name=name, line={"color": colours[str(label)]},
            hovertemplate=f"{name}<br>%{{x}}: %{{y:.2f}} sd<extra></extra>"))
    fig.add_hline(y=0, line_color=GREY, line_dash="dot")
    fig.update_yaxes(title="sd from everyone")
    fig.update_xaxes(tickangle=-35)
    return style(fig, "Snake plot: how each persona differs, feature by feature", height=420)


def traits(profiles: ClusterProfiles, label: str, name: str, top: int = 8) -> go.Figure:
    """The persona's most distinguishing features as bars (sd from everyone)."""
    z = profiles.z.loc[label, profiles.distinct or list(profiles.z.columns)]
    chosen = z.abs().sort_values(ascending=False, kind="stable").index[:top][::-1]
    values = z[chosen]
    fig = go.Figure(go.Bar(
        x=values.to_numpy(), y=[esc(feature_label(f)) for f in chosen], orientation="h",
        marker_color=[ACCENT if v > 0 else "#C62828" for v in values],
        customdata=np.column_stack([profiles.means.loc[label, chosen].to_numpy(),
                                    profiles.everyone_mean[chosen].to_numpy()]),
        hovertemplate="%{y}: %{x:.2f} sd (%{customdata[0]:.3g} vs %{customdata[1]:.3g})"
                      "<extra></extra>"))
    fig.add_vline(x=0, line_color=GREY)
    fig.update_xaxes(title="sd from everyone")
    return style(fig, f"What sets {esc(name)} apart", height=HEIGHT)


def distribution(features: pd.DataFrame, labels: pd.Series, names: dict[str, str],
                 feature: str) -> go.Figure:
    """Box plot of one feature per persona (whiskers at 1.5 IQR, outliers not drawn).

    Quartiles and whiskers are computed here, so the figure carries five numbers per
    persona instead of every user's value.
    """
    values = features[feature].reindex(labels.index).astype(float)
    fig = go.Figure()
    colours = label_colours(labels.unique())
    for label in sorted(labels.unique(), key=label_order):
        members = values[labels == label].dropna()
        if members.empty:
            continue
        q1, median, q3 = members.quantile([0.25, 0.5, 0.75])
        reach = 1.5 * (q3 - q1)
        low = members[members >= q1 - reach].min()
        high = members[members <= q3 + reach].max()
        fig.add_trace(go.Box(
            x=[esc(names.get(label, label))], q1=[q1], median=[median], q3=[q3],
            lowerfence=[low], upperfence=[high], mean=[members.mean()],
            name=esc(names.get(label, label)), marker_color=colours[str(label)]))
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title=esc(feature_label(feature)))
    return style(fig, f"Distribution of {esc(feature_label(feature))} by persona "
                       "(box: quartiles; whiskers: 1.5 × IQR; dashed: mean)")


def sankey(table: pd.DataFrame, before: str, after: str,
           colours: dict[str, str] | None = None, incoming: str | None = None,
           outgoing: str | None = None) -> go.Figure:
    """Sankey diagram of users moving from the row personas to the column personas.

    A persona has the same colour on both sides, and with ``colours`` (persona name ->
    colour, :func:`core.segment.labels.label_colours`) the colour it has on every other
    chart; users without a persona on one side ("Not active", "Not clustered") are grey,
    drawn last in their column and, with ``incoming`` / ``outgoing``, named for what
    they are on that side (``"New"`` on the left, ``"Dormant"`` on the right), so both
    columns add up to the same users.
    """
    missing = (NOT_ACTIVE, NOT_PRESENT)
    rows = [r for r in table.index if r not in missing] + \
        [r for r in table.index if r in missing]
    columns = [c for c in table.columns if c not in missing] + \
        [c for c in table.columns if c in missing]
    table = table.loc[rows, columns]
    left = [incoming if incoming and r in missing else r for r in rows]
    right = [outgoing if outgoing and c in missing else c for c in columns]
    names = list(dict.fromkeys([*table.index, *table.columns]))
    known = {n: c for n, c in (colours or {}).items() if n in names}
    colour = {**label_colours([n for n in names if n not in known]), **known}
    colour.update({n: GREY for n in names if n in missing})
    node_colours = [colour[n] for n in [*rows, *columns]]
    nodes = [*left, *right]
    totals = [*table.sum(axis=1), *table.sum(axis=0)]
    flows = [(i, len(table.index) + j, int(table.iat[i, j]))
             for i in range(len(table.index)) for j in range(len(table.columns))
             if table.iat[i, j]]
    # Each column top to bottom in table order (personas, then the users without one),
    # placed by hand: plotly would otherwise float the grey nodes between the personas.
    x, y = [], []
    for column, side in ((table.sum(axis=1), 0.001), (table.sum(axis=0), 0.999)):
        share = column.to_numpy(dtype=float) / max(float(column.sum()), 1.0)
        gap = 0.04 if len(share) > 1 else 0.0
        room = 1.0 - gap * (len(share) - 1)
        top = 0.0
        for part in share:
            x.append(side)
            y.append(min(max(top + room * part / 2, 0.001), 0.999))
            top += room * part + gap
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": [f"{esc(n)} ({v:,})" for n, v in zip(nodes, totals, strict=True)],
              "pad": 14, "thickness": 16, "color": node_colours, "x": x, "y": y},
        link={"source": [f[0] for f in flows], "target": [f[1] for f in flows],
              "value": [f[2] for f in flows],
              "color": [_fade(colour[table.index[f[0]]]) for f in flows],
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,} users"
                               "<extra></extra>"}))
    fig.update_traces(textfont={"size": 12, "color": "#1f2330"})
    return style(fig, f"{esc(before)} → {esc(after)}", height=max(380, 34 * len(nodes)))


def _fade(colour: str) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},0.35)"
