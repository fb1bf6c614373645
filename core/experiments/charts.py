"""Figures of an analysed experiment: forest plot of the intervals, posterior densities
and cumulative results over time. They only draw.

Variant and metric names come from the experiment's file: they are HTML-escaped
(:func:`core.common.style.esc`) wherever they enter a figure, as plotly renders HTML in
labels, legends and hover text.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from core.common.style import ACCENT, esc, style
from core.experiments.bayesian import BayesianResult
from core.experiments.compare import MetricComparison
from core.experiments.results import ResultRow, SegmentPanel
from core.experiments.words import metric_label

GREY = "#8A8F98"
RED = "#C8443A"
#: Colours of variants in order (control first, in grey).
VARIANT_COLOURS = [GREY, ACCENT, "#E08A1E", "#2E9E6A", "#9B4DCA", "#D14D8B"]


def forest_plot(rows: list[MetricComparison], alpha: float) -> go.Figure:
    """Relative lift of each metric x treatment with its interval; 0 marked."""
    labels, lifts, lows, highs, colours = [], [], [], [], []
    for r in rows:
        label = esc(f"{metric_label(r.metric, r.kind)} · {r.variant}")
        labels.append(label if r.estimable else f"{label} (too few users)")
        lifts.append(r.relative_lift * 100)
        # Too few users: no interval, so the bar is the point itself (not edge to edge).
        lo, hi = r.relative_lift_ci if r.estimable else (r.relative_lift,) * 2
        # One-sided intervals reach to infinity: draw them to the plot edge.
        lows.append(lo * 100 if math.isfinite(lo) else None)
        highs.append(hi * 100 if math.isfinite(hi) else None)
        colours.append(ACCENT if r.significant else GREY)
    finite = [v for v in lows + highs + lifts if v is not None and math.isfinite(v)]
    span = max([abs(v) for v in finite] + [1.0]) * 1.15
    lows = [-span if v is None else v for v in lows]
    highs = [span if v is None else v for v in highs]
    fig = go.Figure(go.Scatter(
        x=lifts, y=labels, mode="markers", marker={"size": 11, "color": colours},
        error_x={"type": "data", "symmetric": False,
                 "array": [h - m for h, m in zip(highs, lifts, strict=True)],
                 "arrayminus": [m - lo for m, lo in zip(lifts, lows, strict=True)],
                 "thickness": 2, "width": 6, "color": GREY},
        hovertemplate="%{y}: %{x:+.1f} %<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color=RED)
    fig.update_xaxes(title=f"Relative lift, % ({(1 - alpha) * 100:g} % interval; blue = "
                           "significant after correction)", range=[-span, span])
    fig.update_yaxes(autorange="reversed", title=None)
    return style(fig, "Effect of each variant (treatment minus control)",
                  height=max(220, 60 * len(rows) + 120))


def posterior_densities(result: BayesianResult, names: list[str], metric: str
                        ) -> go.Figure:
    """Beta posterior density of each variant's conversion rate."""
    lo = min(stats.beta.ppf(1e-4, a, b) for a, b in zip(result.alpha, result.beta,
                                                         strict=True))
    hi = max(stats.beta.ppf(1 - 1e-4, a, b) for a, b in zip(result.alpha, result.beta,
                                                             strict=True))
    x = np.linspace(lo, hi, 400)
    fig = go.Figure()
    for i, (name, a, b) in enumerate(zip(map(esc, names), result.alpha, result.beta,
                                         strict=True)):
        fig.add_trace(go.Scatter(
            x=x * 100, y=stats.beta.pdf(x, a, b) / 100, mode="lines", name=name,
            fill="tozeroy", line={"color": VARIANT_COLOURS[i % len(VARIANT_COLOURS)]},
            hovertemplate=f"{name}: %{{x:.2f}} %<extra></extra>"))
    fig.update_xaxes(title=f"{esc(metric_label(metric, 'conversion'))}, %")
    fig.update_yaxes(title="posterior density", showticklabels=False)
    prior = f"Beta({result.prior[0]:g}, {result.prior[1]:g})"
    return style(fig, f"Posterior of each variant's rate ({prior} prior)")


def cumulative_chart(timeline: pd.DataFrame, metric: str, kind: str) -> go.Figure:
    """Cumulative value per variant by day, and the daily p-values below."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4],
                        vertical_spacing=0.08)
    scale = 100 if kind == "conversion" else 1
    for i, (variant, part) in enumerate(timeline.groupby("variant", sort=False)):
        name = esc(variant)
        colour = VARIANT_COLOURS[i % len(VARIANT_COLOURS)]
        fig.add_trace(go.Scatter(x=part["day"], y=part["value"] * scale, name=name,
                                 line={"color": colour}), row=1, col=1)
        if part["p_value"].notna().any():
            fig.add_trace(go.Scatter(x=part["day"], y=part["p_value"],
                                     name=f"{name}: fixed-horizon p", line={"color": colour,
                                                                           "dash": "dot"}),
                          row=2, col=1)
            fig.add_trace(go.Scatter(x=part["day"], y=part["sequential_p"],
                                     name=f"{name}: sequential p", line={"color": colour}),
                          row=2, col=1)
    unit = " (%)" if kind == "conversion" else ""
    fig.update_yaxes(title=f"cumulative {esc(metric_label(metric, kind))}{unit}", row=1,
                     col=1)
    fig.update_yaxes(title="p-value", type="log", row=2, col=1)
    return style(fig, "Cumulative results by day (UTC)", height=520)


GREEN = "#2E9E6A"
#: Colour of each direction of a result.
DIRECTION_COLOURS = {"win": GREEN, "loss": RED, "inconclusive": GREY, "doubtful": "#E08A1E"}


def _whisker_span(values: list[float]) -> float:
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return max([*finite, 1e-09]) * 1.15


def _scaled(kind: str) -> tuple[float, str]:
    return (100.0, " pp") if kind == "conversion" else (1.0, "")


def results_row_chart(rows: list[ResultRow], alpha: float) -> go.Figure:
    """Each row's difference (treatment minus control) with its interval as a
    horizontal whisker, 0 marked; green for a win, red for a loss, grey when
    inconclusive, orange when doubtful.

    Rows of one metric share its unit (percentage points for rates); rows of several
    metrics are drawn as relative lift (%), the only scale they share.
    """
    same = len({(r.metric, r.kind) for r in rows}) == 1
    labels, centres, lows, highs, colours, texts = [], [], [], [], [], []
    for r in rows:
        if same:
            scale, unit = _scaled(r.kind)
            centre, (lo, hi) = r.difference, r.difference_ci
        else:
            scale, unit = 100.0, " %"
            centre, (lo, hi) = r.relative_lift, r.relative_lift_ci
        labels.append(esc(r.variant if same else f"{r.label} · {r.variant}"))
        centres.append(centre * scale)
        lows.append(lo * scale)
        highs.append(hi * scale)
        colours.append(DIRECTION_COLOURS[r.status])
        texts.append(esc(r.badge))
    span = _whisker_span([v for v in centres + lows + highs if math.isfinite(v)])
    # One-sided intervals reach to infinity: drawn to the plot's edge. Too few users
    # give no interval (NaN): the point alone.
    lows = [-span if v == -math.inf else c if math.isnan(v) else v
            for v, c in zip(lows, centres, strict=True)]
    highs = [span if v == math.inf else c if math.isnan(v) else v
             for v, c in zip(highs, centres, strict=True)]
    unit = _scaled(rows[0].kind)[1] if same else " %"
    fig = go.Figure()
    for label, c, lo, hi, colour, text in zip(labels, centres, lows, highs, colours, texts,
                                              strict=True):
        fig.add_trace(go.Scatter(
            x=[lo, hi], y=[label, label], mode="lines", line={"color": colour, "width": 8},
            opacity=0.45, hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(
            x=[c], y=[label], mode="markers+text", text=[f"{c:+,.3g}{unit}"],
            textposition="top center", marker={"size": 13, "color": colour,
                                                "line": {"color": "white", "width": 1.5}},
            customdata=[[lo, hi, text]], showlegend=False,
            hovertemplate=(f"%{{y}}: %{{x:+,.3g}}{unit} (%{{customdata[0]:+,.3g}} to "
                           f"%{{customdata[1]:+,.3g}}{unit}) · "
                           "%{customdata[2]}<extra></extra>")))
    fig.add_vline(x=0, line_color="#444", line_width=1)
    what = "difference" if same else "relative lift"
    fig.update_xaxes(title=None, range=[-span, span], zeroline=False,
                     ticksuffix=unit.strip() and f" {unit.strip()}")
    fig.update_yaxes(title=None, autorange="reversed", automargin=True)
    fig = style(fig, f"{what.capitalize()}, treatment minus control "
                     f"({(1 - alpha) * 100:g} % interval)", height=70 + 46 * len(rows))
    fig.update_layout(title_font_size=12, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def segment_forest(panels: list[SegmentPanel], alpha: float, noun: str = "segment"
                   ) -> go.Figure:
    """Forest plot of the effect in each segment with its interval, per metric x
    treatment; the total as a diamond and a dotted reference line. Segment sizes are in
    the labels; colours as in :func:`results_row_chart` (significance after the
    per-metric correction)."""
    from plotly.subplots import make_subplots

    counts = [len(p.rows) + 1 for p in panels]
    fig = make_subplots(rows=len(panels), cols=1, row_heights=counts,
                        vertical_spacing=min(0.12, 0.5 / max(len(panels), 1)),
                        subplot_titles=[esc(f"{p.label} · {p.variant}") for p in panels])
    for i, panel in enumerate(panels, start=1):
        scale, unit = _scaled(panel.kind)
        total_label = f"<b>All users</b> (n = {panel.total_users:,})"
        labels = [total_label] + [esc(f"{s} (n = {int(c + t):,})") for s, c, t in zip(
            panel.rows["segment"], panel.rows["control_n"], panel.rows["treatment_n"],
            strict=True)]
        centre = [panel.total_difference * scale, *list(panel.rows["difference"] * scale)]
        lows = [panel.total_ci[0] * scale, *list(panel.rows["ci_low"] * scale)]
        highs = [panel.total_ci[1] * scale, *list(panel.rows["ci_high"] * scale)]
        colours = [DIRECTION_COLOURS[panel.total_direction]] + [
            DIRECTION_COLOURS[d] for d in panel.rows["direction"]]
        finite = [v for v in centre + lows + highs if v is not None and math.isfinite(v)]
        span = max([abs(v) for v in finite] + [1e-9]) * 1.15
        # No interval (too few users): the point alone.
        err_plus = [h - c if math.isfinite(h) and math.isfinite(c) else 0
                    for h, c in zip(highs, centre, strict=True)]
        err_minus = [c - lo if math.isfinite(lo) and math.isfinite(c) else 0
                     for lo, c in zip(lows, centre, strict=True)]
        p_adj = [float("nan"), *list(panel.rows["p_adjusted"])]
        fig.add_trace(go.Scatter(
            x=centre, y=labels, mode="markers",
            marker={"size": [15] + [10] * len(panel.rows), "color": colours,
                    "symbol": ["diamond"] + ["circle"] * len(panel.rows)},
            error_x={"type": "data", "symmetric": False, "array": err_plus,
                     "arrayminus": err_minus, "thickness": 2, "width": 5, "color": GREY},
            customdata=[[lo, hi, p] for lo, hi, p in zip(lows, highs, p_adj, strict=True)],
            hovertemplate=(f"%{{y}}: %{{x:+,.3g}}{unit} (%{{customdata[0]:+,.3g}} to "
                           f"%{{customdata[1]:+,.3g}}), adjusted p %{{customdata[2]:.3g}}"
                           "<extra></extra>"),
            showlegend=False), row=i, col=1)
        if math.isfinite(centre[0]):
            fig.add_vline(x=centre[0], line_dash="dot", line_color=ACCENT, row=i, col=1)
        fig.add_vline(x=0, line_color="#444", line_width=1, row=i, col=1)
        fig.update_xaxes(range=[-span, span], zeroline=False, row=i, col=1,
                         ticksuffix=unit and f" {unit.strip()}")
        fig.update_yaxes(autorange="reversed", automargin=True, row=i, col=1)
    fig = style(fig, f"Effect in each {noun} (difference, {(1 - alpha) * 100:g} % "
                     "interval; ◆ all users, dotted line its effect)",
                height=max(260, 34 * sum(counts) + 90 * len(panels)))
    fig.update_annotations(font_size=13)
    return fig
