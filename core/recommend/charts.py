"""Charts of the offline evaluation (plotly figures).

Each method has one colour on every chart: the baselines in greys, the personalised
methods in the accent colours. Persona names come from the analyst and enter figure
text through :func:`core.common.style.esc`.
"""

from __future__ import annotations

import plotly.graph_objects as go

from core.common.errors import ConfigError
from core.common.style import ACCENT, HEIGHT, esc, style
from core.recommend.evaluation import ALL_USERS, METRICS, RANKING_METRICS, Evaluation, metric_label

METHOD_COLOURS = {"popularity": "#9E9E9E", "persona_popularity": "#616161",
                  "item_item": ACCENT, "als": "#EF553B"}
#: Pixels per persona on the per-persona chart, so long names stay readable.
_GROUP_PIXELS = 90


def _colour(method: str) -> str:
    return METHOD_COLOURS.get(method, ACCENT)


def metrics_chart(evaluation: Evaluation, metrics: tuple[str, ...] = RANKING_METRICS
                  ) -> go.Figure:
    """Grouped bars: one group per metric, one bar per method, for everyone.

    Parameters
    ----------
    evaluation : Evaluation
    metrics : tuple of str
        Metrics of the same scale (the ranking metrics by default; coverage is a share
        too, novelty is in bits and belongs on its own chart).
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"Unknown metric(s) {', '.join(unknown)}; choose from "
                          f"{', '.join(METRICS)}.")
    overall = evaluation.overall()
    labels = [metric_label(m, evaluation.k) for m in metrics]
    fig = go.Figure()
    for row in overall.itertuples(index=False):
        values = [getattr(row, m) for m in metrics]
        fig.add_trace(go.Bar(
            x=labels, y=values, name=esc(row.label), marker_color=_colour(row.method),
            text=[f"{v:.3f}" for v in values], textposition="outside", cliponaxis=False,
            hovertemplate=f"{esc(row.label)}<br>%{{x}} = %{{y:.4f}} ({row.users:,} users)"
                          "<extra></extra>"))
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15})
    fig.update_yaxes(title="Mean over the scored users", rangemode="tozero")
    return style(fig, f"Offline evaluation at k = {evaluation.k} "
                      f"({evaluation.users_scored:,} users scored)", height=HEIGHT + 40)


def persona_chart(evaluation: Evaluation, metric: str = "recall") -> go.Figure:
    """One group of bars per persona (everyone first), one bar per method, for one
    metric."""
    if metric not in METRICS:
        raise ConfigError(f"Unknown metric '{metric}'; choose from {', '.join(METRICS)}.")
    table = evaluation.table
    groups = [ALL_USERS, *sorted(g for g in table["group"].unique() if g != ALL_USERS)]
    label = metric_label(metric, evaluation.k)
    fig = go.Figure()
    for key in dict.fromkeys(table["method"]):
        part = table[table["method"] == key].set_index("group").reindex(groups)
        name = str(part["label"].dropna().iloc[0])
        fig.add_trace(go.Bar(
            x=[esc(g) for g in groups], y=part[metric], name=esc(name),
            marker_color=_colour(key), customdata=part["users"].fillna(0),
            hovertemplate=f"{esc(name)}<br>%{{x}}: {label} = %{{y:.4f}} "
                          "(%{customdata:,} users)<extra></extra>"))
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.2})
    fig.update_yaxes(title=label, rangemode="tozero")
    fig.update_xaxes(type="category")
    return style(fig, f"{label} per persona", height=max(HEIGHT + 40,
                                                         _GROUP_PIXELS * len(groups) // 2))
