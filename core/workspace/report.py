"""The persona report: one self-contained HTML file that opens offline.

The file carries plotly's JavaScript once, in the head, and every figure as a div with
its data, so it needs no network. Every string that comes from the analyst or the data
(dataset and column names, persona names, descriptions, A/B test text) is escaped with
:func:`html.escape`; inside figures, :mod:`core.personas.charts` escapes them too and
plotly's JSON writer escapes ``</`` so nothing can close a script element. A print
stylesheet keeps cards whole and hides interactive chrome, so the browser's "Save as
PDF" gives a clean document.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from core.personas import charts as persona_charts
from core.personas.profiles import ClusterProfiles, profile_clusters
from core.personas.state import PersonaState
from core.segment import algorithms
from core.segment.clustering import SILHOUETTE_SAMPLE
from core.segment.labels import NOISE_LABEL
from core.workspace.model import clustered_matrix
from core.workspace.personas import current_personas
from core.workspace.store import Workspace

FIGURE_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}
#: Width (px) figures take when printed: an A4 page less 14 mm margins at 96 dpi.
PRINT_WIDTH = 680


def esc(value: object) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def _figure(fig: go.Figure) -> str:
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, config=FIGURE_CONFIG)


def _rows(pairs: list[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f'<table class="facts">{body}</table>'


def _table(records: list[dict[str, Any]]) -> str:
    if not records:
        return ""
    columns = list(dict.fromkeys(k for r in records for k in r))
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(_value(r.get(c, '')))}</td>" for c in columns)
                   + "</tr>" for r in records)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _value(value: object) -> object:
    if isinstance(value, float):
        return f"{value:,.4g}" if np.isfinite(value) else "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else value


# sections ------------------------------------------------------------------------------
def data_section(ws: Workspace) -> str:
    """Source, date range, users, and everything excluded with the reason."""
    data, load = ws.data, ws.data.report
    facts = [("Source", data.name or "(unknown)"),
             ("Kind", "event log" if data.kind == "events" else "per-user table")]
    if data.first_ts:
        facts.append(("Period (UTC)", f"{data.first_ts} to {data.last_ts}"))
    facts.append(("Users", _value(data.users)))
    if data.events is not None:
        facts.append(("Events kept", _value(data.events)))
    excluded = []
    if load is not None:
        facts.append(("Rows read", _value(load.rows_read)))
        excluded = [{"What": "rows", "Reason": reason.replace("_", " "), "Count": count}
                    for reason, count in load.dropped.items() if count]
        if load.users_without_consent:
            excluded.append({"What": "users", "Reason": "no consent",
                             "Count": load.users_without_consent})
    section = ws.clustering
    if section is not None:
        for count, reason in ((section.report.excluded_missing, "missing feature values"),
                              (section.report.excluded_outliers, "outliers"),
                              (section.noise, "noise (no cluster)")):
            if count:
                excluded.append({"What": "users", "Reason": reason, "Count": count})
    parts = ["<h2>Data</h2>", _rows(facts)]
    if load is not None and load.pii_columns_dropped:
        parts.append(f"<p>Columns dropped as personal data: "
                     f"{esc(', '.join(load.pii_columns_dropped))}.</p>")
    if load is not None and load.pseudonymised:
        parts.append("<p>User ids are pseudonymised with a keyed hash.</p>")
    parts.append("<h3>Excluded</h3>" + (_table(excluded) if excluded
                                          else "<p>Nothing was excluded.</p>"))
    notes = [n.message for n in load.notices] if load is not None else []
    if notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in notes)
                     + "</ul>")
    return "\n".join(parts)


def quality_metrics(ws: Workspace) -> dict[str, float]:
    """Silhouette (on a sample: it is quadratic in users), Davies-Bouldin, Calinski-Harabasz,
    on the matrix the clustering used."""
    from sklearn.metrics import (
        calinski_harabasz_score,
        davies_bouldin_score,
        silhouette_score,
    )

    if ws.clustering is None or ws.clusters is None or ws.features is None:
        return {}
    matrix, users, _ = clustered_matrix(ws)
    labels = ws.clusters["cluster"].astype(str).reindex(users).to_numpy()
    keep = labels != NOISE_LABEL
    matrix, labels = matrix[keep], labels[keep]
    if len(set(labels)) < 2:
        return {}
    size = min(SILHOUETTE_SAMPLE, len(labels))
    return {"silhouette": float(silhouette_score(matrix, labels, sample_size=size,
                                                 random_state=0)),
            "silhouette_sample": size,
            "davies_bouldin": float(davies_bouldin_score(matrix, labels)),
            "calinski_harabasz": float(calinski_harabasz_score(matrix, labels))}


def method_section(ws: Workspace) -> str:
    """Features, preprocessing, algorithm and parameters, quality and stability."""
    section = ws.clustering
    if section is None:
        return "<h2>Method</h2><p>Not clustered yet.</p>"
    pre, cfg = section.preprocess, section.config
    rows = [{"Feature": f, "Log transformed": "yes" if f in pre.log_features else "",
             "Definition": ws.feature_info.definitions.get(f, "")} for f in pre.features]
    outliers = "kept as they are" if pre.outlier_method == "none" else (
        f"{'z-score' if pre.outlier_method == 'zscore' else 'IQR rule'}, threshold "
        f"{pre.threshold}, {pre.outlier_action}")
    pca = {"none": "none", "components": f"{pre.pca_components} components",
           "variance": f"{pre.pca_variance:.0%} of the variance"}
    declared = algorithms.REGISTRY[cfg.algorithm].parameters \
        if cfg.algorithm in algorithms.REGISTRY else ()
    params = {k: getattr(cfg, k) for k in declared}
    facts = [("Missing values", "median imputed" if pre.missing == "impute"
              else "user excluded"), ("Outliers", outliers), ("Scaling", pre.scaling),
             ("PCA", pca.get(pre.pca, "none")),
             ("Algorithm", algorithms.label(cfg.algorithm)),
             ("Parameters", ", ".join(f"{k} = {v}" for k, v in params.items()) or "defaults"),
             ("Clusters", section.n_clusters)]
    if section.sample_size:
        facts.append(("Fitted on a sample of", f"{section.sample_size:,} users"))
    metrics = quality_metrics(ws)
    if metrics:
        facts += [("Silhouette", f"{metrics['silhouette']:.3f} (on {metrics['silhouette_sample']:,}"
                                 " users; -1 to 1, higher is better)"),
                  ("Davies-Bouldin", f"{metrics['davies_bouldin']:.3f} (lower is better)"),
                  ("Calinski-Harabasz", f"{metrics['calinski_harabasz']:,.0f} (higher is "
                                        "better)")]
    if ws.sweep:
        facts.append(("k sweep", f"suggested k = {ws.sweep.suggested_k}: {ws.sweep.reason}"))
    stab = section.stability
    facts.append(("Stability", f"adjusted Rand index {stab.mean:.2f} ± {stab.sd:.2f} over "
                               f"{stab.runs} bootstrap refits"
                               + (" — unstable" if stab.unstable else "")
                  if stab else "not measured"))
    return "\n".join(["<h2>Method</h2>", _rows(facts), "<h3>Features</h3>", _table(rows)])


def persona_cards(profiles: ClusterProfiles, state: PersonaState) -> str:
    """One card per persona: who they are, their traits, chart and recommended action."""
    names, personas = state.names, state.personas
    cards = []
    for label in profiles.labels:
        info, name = personas.get(label, {}), names.get(label, label)
        badge = '<span class="badge">new</span>' if info.get("new") else ""
        share = f"{profiles.share_users[label]:.0%} of users"
        if profiles.share_revenue is not None:
            share += f", {profiles.share_revenue[label]:.0%} of revenue"
        traits = "".join(f"<li>{esc(t)}</li>" for t in info.get("traits", []))
        content = info.get("preferred_content") or "—"
        cards.append(f"""
<section class="card">
  <header><h3>{esc(name)} {badge}</h3>
    <p class="meta">{esc(label)} · {int(profiles.sizes[label]):,} users · {esc(share)}</p>
  </header>
  <p class="description">{esc(info.get('description', ''))}</p>
  <div class="columns">
    <div>
      <h4>Traits</h4><ul>{traits}</ul>
      <h4>Preferred content</h4><p>{esc(content)}</p>
      <h4>Recommended action</h4><p class="action">{esc(info.get('action', ''))}</p>
    </div>
    <div class="figure">{_figure(persona_charts.traits(profiles, label, name))}</div>
  </div>
</section>""")
    return "\n".join(cards)


def experiment_section(ws: Workspace) -> str:
    """The A/B test summary written by the Experiments page, if there is one."""
    summary = ws.experiment.summary if ws.experiment else None
    if not summary:
        return ""
    parts = ["<h2>A/B test</h2>"]
    parts += [f"<p>{esc(s)}</p>" for s in summary.get("sentences", [])]
    parts.append(_table(summary.get("table", [])))
    conventions = summary.get("conventions", [])
    if conventions:
        parts.append("<ul class='notes'>" + "".join(f"<li>{esc(c)}</li>" for c in conventions)
                     + "</ul>")
    return f'<section class="experiment">{"".join(parts)}</section>'


# the document --------------------------------------------------------------------------
def build_report(ws: Workspace, profiles: ClusterProfiles | None = None) -> str:
    """Build the persona report of a clustered workspace as one HTML string.

    Personas are refreshed for the current clusters if needed (without saving).

    Parameters
    ----------
    ws : Workspace
    profiles : ClusterProfiles, optional
        The clusters' profiles when the caller already has them (the Personas page);
        computed from the workspace otherwise.

    Raises
    ------
    ConfigError
        The workspace has no clusters.
    """
    state = current_personas(ws)
    if profiles is None:
        profiles = profile_clusters(ws.features, ws.clusters["cluster"].astype(str),
                                    ws.clustering.preprocess.features)
    names = state.names
    features = persona_charts.profile_features(profiles, ws.clustering.preprocess.features)
    title = f"Personas of {ws.data.name or 'this data'}"
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    overview = "".join(f'<div class="figure wide">{_figure(f)}</div>' for f in (
        persona_charts.sizes(profiles, names), persona_charts.heatmap(profiles, names, features),
        persona_charts.snake(profiles, names, features)))
    toc = "".join(f"<li>{esc(names.get(label, label))}</li>" for label in profiles.labels)
    body = f"""
<main class="wrap">
<header class="title"><h1>{esc(title)}</h1>
<p class="meta">Persona Lens report · {esc(created)} · {len(profiles.labels)} personas,
{int(profiles.sizes.sum()):,} users</p><ol class="toc">{toc}</ol></header>
<section>{data_section(ws)}</section>
<section>{method_section(ws)}</section>
<section class="personas"><h2>Personas</h2>{overview}</section>
{persona_cards(profiles, state)}
{experiment_section(ws)}
<footer><p>Standardised differences compare each persona's mean with everyone's, in
standard deviations of everyone (values winsorised at the 1st and 99th percentiles).</p>
</footer>
</main>"""
    return _document(title, body)


def _document(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>{body}
<script type="text/javascript">{PRINT_SCRIPT}</script>
</body></html>
"""


STYLE = """
:root { --ink: #1f2330; --muted: #5b6170; --line: #e3e5ec; --accent: #4C5FD5; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f7fb; }
.wrap { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 28px; margin: 0 0 4px; } h2 { margin: 36px 0 12px; font-size: 22px; }
h3 { margin: 18px 0 6px; } h4 { margin: 12px 0 2px; font-size: 14px; color: var(--muted); }
.meta { color: var(--muted); margin: 0; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
          padding: 4px 20px 16px; margin: 16px 0; }
.card header h3 { font-size: 20px; margin-bottom: 0; }
.badge { background: #FFE8B0; color: #6B4E00; font-size: 12px; padding: 2px 8px;
         border-radius: 10px; vertical-align: middle; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.2fr); gap: 20px; }
.action { background: #EEF1FF; border-left: 4px solid var(--accent); padding: 6px 10px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
.facts th { text-align: left; color: var(--muted); font-weight: 500; padding: 3px 18px 3px 0;
            vertical-align: top; white-space: nowrap; }
.grid th, .grid td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; }
.grid th { background: #f0f1f6; }
.toc { columns: 2; color: var(--muted); }
.figure { min-width: 0; } .figure.wide { margin: 8px 0; }
footer { color: var(--muted); font-size: 13px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { background: #fff; font-size: 11pt; }
  .wrap { max-width: none; padding: 0; }
  section { border: none; padding: 0; margin: 0 0 10mm; }
  .card { border: 1px solid #ccc; padding: 4mm 6mm; break-inside: avoid;
          page-break-inside: avoid; }
  .figure, table, .facts, h2, h3 { break-inside: avoid; page-break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  .personas { break-before: page; page-break-before: always; }
  .columns { grid-template-columns: 1fr; }
  .modebar, .modebar-container, .no-print { display: none !important; }
}
"""

# Figures are responsive on screen; for printing they take the printable width and go
# back afterwards (Chrome does not resize them for the print layout on its own).
PRINT_SCRIPT = f"""
(function () {{
  function plots() {{ return document.querySelectorAll('.js-plotly-plot'); }}
  window.addEventListener('beforeprint', function () {{
    plots().forEach(function (p) {{ Plotly.relayout(p, {{width: {PRINT_WIDTH}}}); }});
  }});
  window.addEventListener('afterprint', function () {{
    plots().forEach(function (p) {{ Plotly.relayout(p, {{width: null, autosize: true}}); }});
  }});
}})();
"""
