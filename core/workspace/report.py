"""The persona report: one self-contained HTML file that opens offline.

The file carries plotly's JavaScript once, in the head, and every figure as a div with
its data, so it needs no network. Every string that comes from the analyst or the data
(dataset and column names, persona names, descriptions, A/B test text) is escaped with
:func:`html.escape`; inside figures, :mod:`core.personas.charts` escapes them too and
plotly's JSON writer escapes ``</`` so nothing can close a script element; the
reproducibility record's JSON escapes ``<``, ``>`` and ``&`` the same way.

Layout: tables wrap inside the page (the A/B table has fixed column widths and headers
in words), nothing is wider than an 800 px window, and the print stylesheet sets no
paper size, so A4 and Letter both print without cut-offs: figures take the printable
width while printing, cards are kept whole and interactive chrome is hidden. Each
persona has the colour the app's charts give it (:func:`core.segment.labels.label_colours`).
The last section, "How to reproduce this report", lists the data, settings, seeds and
the model's SHA-256, and carries the same record as ``<script type="application/json"
id="reproduce">``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from plotly.offline import get_plotlyjs

from core.personas import charts as persona_charts
from core.personas.profiles import ClusterProfiles, profile_clusters
from core.personas.state import PersonaState
from core.segment import algorithms
from core.segment.clustering import SILHOUETTE_SAMPLE
from core.segment.labels import NOISE_LABEL, label_colours
from core.workspace.model import clustered_matrix, model_from_workspace
from core.workspace.personas import current_personas, profile_table
from core.workspace.predict import persona_risk
from core.workspace.report_experiment import experiment_section
from core.workspace.report_html import (
    cell_value,
    esc,
    facts_table,
    figure_html,
    grid_table,
)
from core.workspace.report_journeys import journeys_section
from core.workspace.report_predict import propensity_section, risk_sentence
from core.workspace.report_reproduce import (
    SILHOUETTE_RANDOM_STATE,
    reproduce_record,
    reproduce_section,
)
from core.workspace.store import Workspace

#: Page margin when printed. No paper size is set, so A4 and Letter both print as chosen.
PAGE_MARGIN_MM = 14
#: Width (px) figures take when printed: the narrower printable width of A4 (210 mm) and
#: Letter (215.9 mm) less the margins, at 96 px per inch, is 688 px; a little less.
PRINT_WIDTH = 680
#: Figures inside a persona card: the card's border and padding (about 45 px) less.
CARD_PRINT_WIDTH = 630
#: Longest persona name a chart shows whole (a tick label of about 200 px).
CHART_NAME_LENGTH = 32


def chart_names(names: dict[str, str]) -> dict[str, str]:
    """Persona names as the report's charts show them: cut at :data:`CHART_NAME_LENGTH`
    characters with an ellipsis, so a long name does not squeeze or clip a chart (the
    cards, the contents and the tables show the whole name)."""
    return {label: name if len(name) <= CHART_NAME_LENGTH
            else name[:CHART_NAME_LENGTH - 1].rstrip() + "…" for label, name in names.items()}


# sections ------------------------------------------------------------------------------
def data_section(ws: Workspace) -> str:
    """Source, date range, users, and everything excluded with the reason."""
    data, load = ws.data, ws.data.report
    facts = [("Source", data.name or "(unknown)"),
             ("Kind", "event log" if data.kind == "events" else "per-user table")]
    if data.first_ts:
        facts.append(("Period (UTC)", f"{data.first_ts} to {data.last_ts}"))
    facts.append(("Users", cell_value(data.users)))
    if data.events is not None:
        facts.append(("Events kept", cell_value(data.events)))
    excluded = []
    if load is not None:
        facts.append(("Rows read", cell_value(load.rows_read)))
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
    parts = ["<h2>Data</h2>", facts_table(facts)]
    if load is not None and load.pii_columns_dropped:
        parts.append(f"<p>Columns dropped as personal data: "
                     f"{esc(', '.join(load.pii_columns_dropped))}.</p>")
    if load is not None and load.pseudonymised:
        parts.append("<p>User ids are pseudonymised with a keyed hash.</p>")
    parts.append("<h3>Excluded</h3>" + (grid_table(excluded) if excluded
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
                                                 random_state=SILHOUETTE_RANDOM_STATE)),
            "silhouette_sample": size,
            "davies_bouldin": float(davies_bouldin_score(matrix, labels)),
            "calinski_harabasz": float(calinski_harabasz_score(matrix, labels))}


def method_section(ws: Workspace, metrics: dict[str, float] | None = None) -> str:
    """Features, preprocessing, algorithm and parameters, quality and stability
    (``metrics``: :func:`quality_metrics`, computed when not given)."""
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
    metrics = quality_metrics(ws) if metrics is None else metrics
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
    return "\n".join(["<h2>Method</h2>", facts_table(facts), "<h3>Features</h3>", grid_table(rows)])


def persona_cards(profiles: ClusterProfiles, state: PersonaState,
                  risk: pd.DataFrame | None = None) -> str:
    """One card per persona: who they are, their traits, chart and recommended action
    (and, with ``risk`` from :func:`core.workspace.predict.persona_risk`, the share at
    risk)."""
    names, personas = state.names, state.personas
    colours = label_colours(profiles.labels)
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
<section class="card" style="--persona: {esc(colours[str(label)])}">
  <header><h3><span class="swatch"></span>{esc(name)} {badge}</h3>
    <p class="meta">{esc(label)} · {int(profiles.sizes[label]):,} users · {esc(share)}</p>
  </header>
  <p class="description">{esc(info.get('description', ''))}</p>
  {f'<p class="risk">{esc(at_risk)}</p>' if (at_risk := risk_sentence(risk, name)) else ''}
  <div class="columns">
    <div>
      <h4>Traits</h4><ul>{traits}</ul>
      <h4>Preferred content</h4><p>{esc(content)}</p>
      <h4>Recommended action</h4><p class="action">{esc(info.get('action', ''))}</p>
    </div>
    <div class="figure">{figure_html(persona_charts.traits(
        profiles, label, chart_names({label: name})[label]))}</div>
  </div>
</section>""")
    return "\n".join(cards)


# the A/B test --------------------------------------------------------------------------
#: Keys a row of the summary's table needs for the readable table
#: (:func:`core.experiments.words.comparison_table`); other tables are shown as they are.
# the document --------------------------------------------------------------------------
def build_report(ws: Workspace, profiles: ClusterProfiles | None = None,
                 model: dict[str, Any] | None = None) -> str:
    """Build the persona report of a clustered workspace as one HTML string.

    Personas are refreshed for the current clusters if needed (without saving).

    Parameters
    ----------
    ws : Workspace
    profiles : ClusterProfiles, optional
        The clusters' profiles when the caller already has them (the Personas page);
        computed from the workspace otherwise.
    model : dict, optional
        The model of the clusters when the caller already has it (the Export page), so
        the report names the same model SHA-256 as the segment export's info file; made
        with :func:`core.workspace.model.model_from_workspace` otherwise.

    Raises
    ------
    ConfigError
        The workspace has no clusters.
    """
    state = current_personas(ws)
    if profiles is None:
        profiles = profile_clusters(profile_table(ws), ws.clusters["cluster"].astype(str),
                                    ws.clustering.preprocess.features)
    names = state.names
    short = chart_names({label: names.get(label, label) for label in profiles.labels})
    features = persona_charts.profile_features(profiles, ws.clustering.preprocess.features)
    title = f"Personas of {ws.data.name or 'this data'}"
    now = datetime.now(UTC)
    created = now.strftime("%Y-%m-%d %H:%M UTC")
    metrics = quality_metrics(ws)
    record = reproduce_record(ws, model_from_workspace(ws) if model is None else model,
                              now.isoformat(timespec="seconds"), metrics)
    overview = "".join(f'<div class="figure wide">{figure_html(f)}</div>' for f in (
        persona_charts.sizes(profiles, short), persona_charts.heatmap(profiles, short, features),
        persona_charts.snake(profiles, short, features)))
    colours = label_colours(profiles.labels)
    toc = "".join(f'<li><span class="swatch" style="--persona: {esc(colours[str(label)])}">'
                  f"</span>{esc(names.get(label, label))}</li>" for label in profiles.labels)
    body = f"""
<main class="wrap">
<header class="title"><h1>{esc(title)}</h1>
<p class="meta">Persona Lens report · {esc(created)} · {len(profiles.labels)} personas,
{int(profiles.sizes.sum()):,} users</p><ol class="toc">{toc}</ol></header>
<section>{data_section(ws)}</section>
<section>{method_section(ws, metrics)}</section>
<section class="personas"><h2>Personas</h2>{overview}</section>
{persona_cards(profiles, state, persona_risk(ws))}
{journeys_section(ws)}
{propensity_section(ws)}
{experiment_section(ws)}
{reproduce_section(record)}
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


STYLE = f"""
:root {{ --ink: #1f2330; --muted: #5b6170; --line: #e3e5ec; --accent: #4C5FD5; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f7fb; }}
.wrap {{ max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }}
h1 {{ font-size: 28px; margin: 0 0 4px; }} h2 {{ margin: 36px 0 12px; font-size: 22px; }}
h3 {{ margin: 18px 0 6px; }} h4 {{ margin: 12px 0 2px; font-size: 14px; color: var(--muted); }}
h1, h2, h3, h4, p, li, td, code {{ overflow-wrap: anywhere; }}
th {{ overflow-wrap: break-word; }}
.meta {{ color: var(--muted); margin: 0; }}
section {{ background: #fff; border: 1px solid var(--line); border-radius: 10px;
          padding: 4px 20px 16px; margin: 16px 0; min-width: 0; }}
.card {{ border-left: 6px solid var(--persona, var(--line)); }}
.card header h3 {{ font-size: 20px; margin-bottom: 0; }}
.swatch {{ display: inline-block; width: 0.75em; height: 0.75em; border-radius: 50%;
          margin-right: 0.45em; background: var(--persona, var(--line));
          -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
.badge {{ background: #FFE8B0; color: #6B4E00; font-size: 12px; padding: 2px 8px;
         border-radius: 10px; vertical-align: middle; }}
.columns {{ display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.2fr); gap: 20px; }}
.action {{ background: #EEF1FF; border-left: 4px solid var(--accent); padding: 6px 10px; }}
.risk {{ font-weight: 600; margin: 4px 0 8px; }}
.alarm {{ background: #FDECEA; border-left: 4px solid #C62828; padding: 6px 10px; }}
table {{ border-collapse: collapse; margin: 8px 0; font-size: 14px; max-width: 100%; }}
.facts {{ width: 100%; }}
.facts th {{ text-align: left; color: var(--muted); font-weight: 500; padding: 3px 18px 3px 0;
            vertical-align: top; width: 12em; }}
.facts td {{ padding: 3px 0; vertical-align: top; }}
.grid {{ width: 100%; }}
.grid th, .grid td {{ border: 1px solid var(--line); padding: 4px 8px; text-align: left;
                     vertical-align: top; }}
.grid th {{ background: #f0f1f6; font-weight: 600; }}
.ab, .segments {{ table-layout: fixed; font-size: 13.5px; }}
.sub {{ display: block; color: var(--muted); font-size: 12px; line-height: 1.35; }}
.verdict.sig {{ font-weight: 600; }} .verdict.ns {{ color: var(--muted); }}
.verdict.alarm {{ color: #B71C1C; font-weight: 600; background: none; border: 0; padding: 0; }}
.pairs {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr));
         gap: 6px 20px; list-style: none; padding: 0; margin: 8px 0 12px; }}
.pairs .k {{ display: block; color: var(--muted); font-size: 12px; }}
code {{ font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: #f3f4f8; border-radius: 4px; padding: 0 3px; }}
code.hash {{ word-break: break-all; }}
.reproduce-facts code {{ display: inline-block; margin: 1px 0; }}
.toc {{ columns: 2; color: var(--muted); }}
.figure {{ min-width: 0; max-width: 100%; }} .figure.wide {{ margin: 8px 0; }}
.js-plotly-plot, .plot-container {{ max-width: 100%; }}
.notes {{ font-size: 13px; }}
footer {{ color: var(--muted); font-size: 13px; }}
@media (max-width: 860px) {{
  .wrap {{ padding: 16px 14px 32px; }}
  section {{ padding: 4px 14px 12px; }}
  .columns {{ grid-template-columns: minmax(0, 1fr); }}
  .toc {{ columns: 1; }}
}}
@page {{ margin: {PAGE_MARGIN_MM}mm; }}
@media print {{
  body {{ background: #fff; font-size: 10.5pt; }}
  .wrap {{ max-width: none; padding: 0; }}
  section {{ border: none; padding: 0; margin: 0 0 8mm; border-radius: 0; }}
  .card {{ border: 1px solid #ccc; border-left: 6px solid var(--persona, #ccc);
          padding: 3mm 5mm; break-inside: avoid; page-break-inside: avoid;
          -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
  .figure, tr, .facts tr, .pairs li, .alarm, .action {{ break-inside: avoid;
                                                       page-break-inside: avoid; }}
  thead {{ display: table-header-group; }}
  table {{ font-size: 9pt; }} .ab, .segments {{ font-size: 8.5pt; }}
  .grid th, .grid td {{ padding: 3px 5px; }}
  .sub {{ font-size: 7.5pt; }}
  h2, h3, h4 {{ break-after: avoid; page-break-after: avoid; }}
  .personas {{ break-before: page; page-break-before: always; }}
  .notes {{ font-size: 8.5pt; }}
  .columns {{ grid-template-columns: minmax(0, 1fr); }}
  .modebar, .modebar-container, .no-print {{ display: none !important; }}
}}
"""

# Figures are responsive on screen; for printing they take the printable width and go
# back afterwards (Chrome does not resize them for the print layout on its own). Chrome
# fires beforeprint for its print dialog and for print-to-PDF; the media query change
# covers print emulation.
PRINT_SCRIPT = f"""
(function () {{
  function plots() {{ return document.querySelectorAll('.js-plotly-plot'); }}
  var printing = false;
  function toPrint() {{
    if (printing) return;
    printing = true;
    plots().forEach(function (p) {{
      Plotly.relayout(p, {{width: p.closest('.card') ? {CARD_PRINT_WIDTH} : {PRINT_WIDTH}}});
    }});
  }}
  function toScreen() {{
    if (!printing) return;
    printing = false;
    plots().forEach(function (p) {{ Plotly.relayout(p, {{width: null, autosize: true}}); }});
  }}
  window.addEventListener('beforeprint', toPrint);
  window.addEventListener('afterprint', toScreen);
  var media = window.matchMedia('print');
  media.addEventListener('change', function (e) {{ if (e.matches) toPrint(); else toScreen(); }});
}})();
"""
