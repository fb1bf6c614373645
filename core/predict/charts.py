"""Charts of a propensity evaluation (plotly figures): ROC and precision-recall curves,
calibration, cumulative gains, the confusion matrix, feature importance and the
metrics per persona. Persona names go into figure text through
:func:`core.common.style.esc` and keep their colours from
:func:`core.segment.labels.label_colours`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import precision_recall_curve, roc_curve

from core.common.style import ACCENT, HEIGHT, esc, style
from core.predict.evaluate import AtThreshold
from core.predict.explain import readable
from core.predict.propensity import PropensityResult
from core.segment.labels import GREY, label_colours

#: One colour per model, the baseline grey.
MODEL_COLOURS = {"recency": GREY, "logistic": ACCENT, "boosting": "#E4572E"}
_CHANCE = {"dash": "dot", "color": GREY, "width": 1}


def roc_chart(result: PropensityResult) -> go.Figure:
    """The ROC curve of every model on the test users, with the chance diagonal."""
    fig = go.Figure()
    y = result.test_labels.to_numpy()
    for key, ev in result.evaluations.items():
        fpr, tpr, _ = roc_curve(y, ev.scores.to_numpy())
        m = ev.metrics.roc_auc
        fig.add_scatter(x=fpr, y=tpr, mode="lines", line={"color": MODEL_COLOURS[key]},
                        name=f"{ev.name}: {m.value:.3f} [{m.low:.3f}, {m.high:.3f}]")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=_CHANCE, name="Chance: 0.5")
    fig.update_xaxes(title="False positive rate", range=[0, 1])
    fig.update_yaxes(title="True positive rate (recall)", range=[0, 1.02])
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, "ROC curve (test users); legend: ROC-AUC [95 % bootstrap]", HEIGHT + 60)


def pr_chart(result: PropensityResult) -> go.Figure:
    """The precision-recall curve of every model, with the base rate as the floor."""
    fig = go.Figure()
    y = result.test_labels.to_numpy()
    for key, ev in result.evaluations.items():
        precision, recall, _ = precision_recall_curve(y, ev.scores.to_numpy())
        m = ev.metrics.pr_auc
        fig.add_scatter(x=recall, y=precision, mode="lines",
                        line={"color": MODEL_COLOURS[key], "shape": "hv"},
                        name=f"{ev.name}: {m.value:.3f} [{m.low:.3f}, {m.high:.3f}]")
    base = float(y.mean())
    fig.add_scatter(x=[0, 1], y=[base, base], mode="lines", line=_CHANCE,
                    name=f"Base rate: {base:.3f}")
    fig.update_xaxes(title="Recall", range=[0, 1])
    fig.update_yaxes(title="Precision", range=[0, 1.02])
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, "Precision-recall (test users); legend: average precision [95 %]",
                 HEIGHT + 60)


def calibration_chart(result: PropensityResult) -> go.Figure:
    """Mean predicted against observed rate in equal-count bins, per model."""
    fig = go.Figure()
    for key, ev in result.evaluations.items():
        cal = ev.curves.calibration
        fig.add_scatter(x=cal["predicted"], y=cal["observed"], mode="lines+markers",
                        line={"color": MODEL_COLOURS[key]},
                        name=f"{ev.name} (Brier {ev.metrics.brier:.3f})")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=_CHANCE, name="Perfectly calibrated")
    fig.update_xaxes(title="Mean predicted probability (10 equal-count bins)", range=[0, 1])
    fig.update_yaxes(title="Observed rate", range=[0, 1.02])
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, "Calibration (test users)", HEIGHT + 60)


def gains_chart(result: PropensityResult) -> go.Figure:
    """Cumulative gains: the share of all positives among the top x % of users."""
    fig = go.Figure()
    for key, ev in result.evaluations.items():
        g = ev.curves.gains
        fig.add_scatter(x=np.append(0, g["targeted"]) * 100, y=np.append(0, g["captured"]) * 100,
                        mode="lines", line={"color": MODEL_COLOURS[key]},
                        name=f"{ev.name} (lift at top 10 %: {ev.lift_top10:.2f}×)",
                        customdata=np.append(np.nan, g["lift"]),
                        hovertemplate="top %{x:.0f} % of users: %{y:.1f} % of positives, "
                                      "lift %{customdata:.2f}×<extra></extra>")
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", line=_CHANCE, name="Random")
    fig.update_xaxes(title="Users targeted, highest score first (%)", range=[0, 100])
    fig.update_yaxes(title="Positives captured (%)", range=[0, 102])
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, "Cumulative gains (test users)", HEIGHT + 60)


def confusion_chart(at: AtThreshold, positive: str, negative: str) -> go.Figure:
    """The confusion matrix at a threshold, counts and shares of all test users."""
    cells = np.array([[at.tp, at.fn], [at.fp, at.tn]])
    total = max(int(cells.sum()), 1)
    text = [[f"{v:,}<br>{v / total:.1%}" for v in row] for row in cells]
    fig = go.Figure(go.Heatmap(
        z=cells, x=[f"Flagged {esc(positive)}", "Not flagged"],
        y=[f"Actually {esc(positive)}", f"Actually {esc(negative)}"], text=text,
        texttemplate="%{text}", colorscale="Blues", showscale=False,
        hovertemplate="%{y}, %{x}: %{z:,}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return style(fig, f"Confusion matrix at threshold {at.threshold:.3f}", 280)


def importance_chart(table: pd.DataFrame, top: int = 15) -> go.Figure:
    """Permutation importance: the drop in test ROC-AUC when a feature is shuffled."""
    part = table.head(top).iloc[::-1]
    fig = go.Figure(go.Bar(
        x=part["auc_drop"], y=[esc(readable(f)) for f in part["feature"]], orientation="h",
        marker_color=ACCENT, error_x={"type": "data", "array": part["auc_drop_sd"]},
        hovertemplate="%{y}: ROC-AUC drops %{x:.4f}<extra></extra>"))
    fig.update_xaxes(title="Drop in ROC-AUC when shuffled (mean ± sd of 5 shuffles)")
    return style(fig, "Permutation importance (best model, test users)",
                 max(HEIGHT, 24 * len(part) + 90))


def group_chart(table: pd.DataFrame, outcome: str,
                colours: dict[str, str] | None = None) -> go.Figure:
    """Per persona: the observed rate and the mean score side by side (``colours``:
    each persona's colour, see :func:`core.segment.labels.label_colours`)."""
    names = [str(g) for g in table["group"]]
    colours = {**label_colours(names), **(colours or {})}
    fig = go.Figure()
    fig.add_bar(x=[esc(n) for n in names], y=table["base_rate"], name=f"Observed {outcome}",
                marker_color=[colours[n] for n in names],
                hovertemplate="%{x}: %{y:.1%} observed<extra></extra>")
    fig.add_bar(x=[esc(n) for n in names], y=table["mean_score"], name="Mean score",
                marker_color=[colours[n] for n in names], marker_pattern_shape="/",
                hovertemplate="%{x}: %{y:.1%} predicted<extra></extra>")
    fig.update_yaxes(title="Share of test users", tickformat=".0%")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.2})
    return style(fig, f"Observed {outcome} and mean score per persona (test users)")
