"""Charts of retention, lifecycle and distinguishing patterns (plotly figures).

Names from the data (groups, events, patterns) go into figure text through
:func:`core.common.style.esc`; groups get the colours of :func:`core.segment.labels.label_colours`,
so a persona has the same colour here as on the clustering and persona pages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.errors import ConfigError
from core.common.style import ACCENT, HEIGHT, esc, style
from core.journeys.retention import ALL_USERS, RetentionResult, pooled
from core.segment.labels import GREY, label_colours

#: Lifecycle colours: growth in greens and blues, loss in grey below zero.
LIFECYCLE_COLOURS = {"new": "#2CA02C", "returning": "#1F77B4", "resurrected": "#FF7F0E",
                     "dormant": GREY}
#: Each pattern bar row needs this many pixels to keep its label readable.
_ROW_PIXELS = 26
#: Periods up to which a cohort cell shows its retained users under the share.
COUNT_TEXT_COLUMNS = 9


def _period_word(result: RetentionResult) -> str:
    return "Week" if result.period == "week" else "Month"


def retention_heatmap(result: RetentionResult, group: str | None = None) -> go.Figure:
    """Cohorts (rows) by periods (columns), the share as colour, "42 %<br>1,234" as text.

    Parameters
    ----------
    result : RetentionResult
    group : str, optional
        One group; None pools every group of the result.

    Returns
    -------
    plotly Figure
        Missing cells (after the data's end) are blank; hover gives the cohort, its size,
        the period, retained users and share.
    """
    if group is not None and group not in result.groups:
        raise ConfigError(f"No group {group!r} in this retention table; choose one of "
                          f"{', '.join(map(repr, result.groups))}.")
    table = pooled(result) if group is None else result.table[result.table["group"] == group]
    name = (result.groups[0] if len(result.groups) == 1 else ALL_USERS) \
        if group is None else group
    share = table.pivot(index="cohort_label", columns="period", values="share")
    retained = table.pivot(index="cohort_label", columns="period", values="retained")
    sizes = table.drop_duplicates("cohort_label").set_index("cohort_label")["cohort_size"]
    share = share.sort_index()
    retained = retained.reindex(index=share.index, columns=share.columns)
    size_of = sizes.reindex(share.index).to_numpy()
    # With many periods a cell is too narrow for two lines: the count stays in the hover.
    counts = share.shape[1] <= COUNT_TEXT_COLUMNS
    text = [["" if pd.isna(r) else f"{s:.0%}".replace("%", " %")
             + (f"<br>{int(r):,}" if counts else "")
             for s, r in zip(srow, rrow, strict=True)]
            for srow, rrow in zip(share.to_numpy(), retained.to_numpy(dtype=object),
                                  strict=True)]
    custom = np.dstack([np.broadcast_to(size_of[:, None], share.shape),
                        retained.to_numpy(dtype=float)])
    word = _period_word(result)
    rows = [f"{label} ({int(n):,})" for label, n in zip(share.index, size_of, strict=True)]
    fig = go.Figure(go.Heatmap(
        z=share.to_numpy(dtype=float), x=[f"{word} {k}" for k in share.columns], y=rows,
        text=text, texttemplate="%{text}", textfont={"size": 10}, customdata=custom,
        colorscale="Blues", zmin=0, zmax=1, colorbar={"title": "Retained", "tickformat": ".0%"},
        hoverongaps=False,
        hovertemplate=("Cohort %{y}<br>%{x}<br>Retained %{customdata[1]:,.0f} of "
                       "%{customdata[0]:,.0f} (%{z:.1%})<extra></extra>")))
    fig.update_yaxes(autorange="reversed", title=f"Cohort ({result.period} of first event)")
    mode = "exactly in period k" if result.mode == "n_period" else "in period k or later"
    height = max(HEIGHT, 60 + 28 * len(rows))
    return style(fig, f"Retention of {esc(name)}: active {mode}", height=height)


def retention_curves(curve: pd.DataFrame, colours: dict[str, str] | None = None) -> go.Figure:
    """One line per group: the users-weighted share retained per period.

    Parameters
    ----------
    curve : DataFrame
        From :func:`core.journeys.retention.retention_curve`.
    colours : dict, optional
        ``{group: colour}``; by default :func:`label_colours` of the groups.
    """
    groups = list(dict.fromkeys(curve["group"].astype(str)))
    colours = {**label_colours(groups), **(colours or {})}
    fig = go.Figure()
    for group in groups:
        part = curve[curve["group"].astype(str) == group].sort_values("period")
        fig.add_trace(go.Scatter(
            x=part["period"], y=part["share"], mode="lines+markers", name=esc(group),
            line={"color": colours.get(group, ACCENT)},
            customdata=np.column_stack([part["retained"], part["users"], part["cohorts"]]),
            hovertemplate=(f"{esc(group)}<br>Period %{{x}}: %{{y:.1%}}<br>"
                           "%{customdata[0]:,} of %{customdata[1]:,} users in "
                           "%{customdata[2]} cohorts<extra></extra>")))
    fig.update_xaxes(title="Periods after the first", dtick=1)
    fig.update_yaxes(title="Retained (weighted by cohort size)", tickformat=".0%",
                     rangemode="tozero")
    return style(fig, "Retention curves")


def lifecycle_bars(frame: pd.DataFrame, group: str | None = None) -> go.Figure:
    """Stacked bars per period: new, returning and resurrected above zero, dormant below.

    Parameters
    ----------
    frame : DataFrame
        From :func:`core.journeys.retention.lifecycle`.
    group : str, optional
        One group; None adds every group together.
    """
    if group is not None:
        if group not in set(frame["group"].astype(str)):
            raise ConfigError(f"No group {group!r} in this lifecycle table.")
        frame = frame[frame["group"].astype(str) == group]
    parts = ["new", "returning", "resurrected", "dormant"]
    totals = frame.groupby("period_label", sort=True)[parts].sum()
    fig = go.Figure()
    for part in parts:
        fig.add_trace(go.Bar(
            x=totals.index, y=totals[part], name=part.capitalize(),
            marker_color=LIFECYCLE_COLOURS[part],
            hovertemplate=f"{part.capitalize()}: %{{y:,}}<br>Period from %{{x}}"
                          "<extra></extra>"))
    fig.update_layout(barmode="relative", bargap=0.15)
    fig.update_yaxes(title="Users (dormant below zero)", zeroline=True, zerolinecolor="#555")
    fig.update_xaxes(title="Period (starting)", type="category")
    name = ALL_USERS if group is None else group
    return style(fig, f"Lifecycle of {esc(name)}")


def _wrapped(pattern: str, per_line: int = 3) -> str:
    """A long pattern on several lines, ``per_line`` events each (axis labels at 1024 px
    otherwise take half the chart)."""
    events = pattern.split(" → ")
    lines = [" → ".join(events[i:i + per_line]) for i in range(0, len(events), per_line)]
    return " →<br>".join(lines)


def patterns_chart(table: pd.DataFrame, top: int = 15, group: str | None = None,
                   ) -> go.Figure:
    """Horizontal bars of a group's share with each pattern against everyone else's.

    Parameters
    ----------
    table : DataFrame
        From :func:`core.journeys.sequences.distinguishing_patterns`.
    top : int, default 15
        The patterns with the largest ratio.
    group : str, optional
        The group to show; by default the first in the table.
    """
    if table.empty:
        return style(go.Figure(), "No distinguishing patterns")
    groups = list(dict.fromkeys(table["group"].astype(str)))
    group = groups[0] if group is None else str(group)
    if group not in groups:
        raise ConfigError(f"No group {group!r} in this pattern table; choose one of "
                          f"{', '.join(map(repr, groups))}.")
    part = table[table["group"].astype(str) == group]
    part = part.sort_values(["ratio", "share_in_group"], ascending=False).head(top)[::-1]
    labels = [_wrapped(esc(p)) for p in part["pattern"]]
    colour = label_colours(groups).get(group, ACCENT)
    ratio_text = ["∞×" if np.isinf(r) else f"{r:.1f}×" for r in part["ratio"]]
    fig = go.Figure([
        go.Bar(y=labels, x=part["share_elsewhere"], orientation="h", name="Everyone else",
               marker_color=GREY,
               customdata=np.column_stack([part["elsewhere"], part["elsewhere_size"]]),
               hovertemplate="%{y}<br>Everyone else: %{x:.1%} (%{customdata[0]:,} of "
                             "%{customdata[1]:,})<extra></extra>"),
        go.Bar(y=labels, x=part["share_in_group"], orientation="h", name=esc(group),
               marker_color=colour, text=ratio_text, textposition="outside",
               cliponaxis=False, textfont={"size": 12},
               customdata=np.column_stack([part["in_group"], part["group_size"],
                                           part["p_adjusted"]]),
               hovertemplate=(f"%{{y}}<br>{esc(group)}: %{{x:.1%}} (%{{customdata[0]:,}} "
                              "of %{customdata[1]:,})<br>adjusted p = "
                              "%{customdata[2]:.2g}<extra></extra>")),
    ])
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15})
    # Room right of the longest bar for its ratio label.
    longest = float(np.nanmax(part[["share_in_group", "share_elsewhere"]].to_numpy()))
    fig.update_xaxes(title="Share with the pattern", tickformat=".0%",
                     range=[0, min(longest * 1.18, 1.18)])
    lines = sum(label.count("<br>") + 1 for label in labels)
    height = max(HEIGHT, 80 + _ROW_PIXELS * len(part) + 12 * (lines - len(part)))
    return style(fig, f"Patterns that set {esc(group)} apart", height=height)
