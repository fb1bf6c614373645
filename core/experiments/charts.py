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
