"""The persona report's A/B section: which experiment with which settings, the verdict
in sentences, and the numbers in a table with headers in words (fixed column widths,
so it wraps inside the page instead of widening it)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from core.common.errors import PersonaLensError
from core.experiments.frequentist import normalise_alternative
from core.experiments.inputs import ExperimentSpec
from core.experiments.words import CORRECTION_NAMES, fmt_pct, fmt_value, metric_label
from core.workspace.report_html import (
    cell_value,
    esc,
    grid_table,
    pairs_list,
)
from core.workspace.store import Workspace

COMPARISON_KEYS = frozenset({"metric", "kind", "variant", "control_value", "variant_value",
                             "difference"})
#: Keys of a per-segment row (:data:`core.experiments.breakdown.SEGMENT_COLUMNS`).
SEGMENT_KEYS = frozenset({"segment", "metric", "variant", "control_value", "treatment_value",
                          "difference"})
#: Per-segment rows printed at most; the Experiments page and its CSV have them all.
MAX_SEGMENT_ROWS = 60
HYPOTHESES = {"two-sided": "two-sided", "greater": "one-sided: treatment better",
              "less": "one-sided: treatment worse"}
INTERVALS = {"wald": "Wald (unpooled standard error)",
             "newcombe": "Newcombe hybrid score"}


def _num(value: object) -> float:
    """A summary number as a float; None (how JSON keeps NaN and infinity) as NaN."""
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _users(value: object) -> str:
    number = _num(value)
    return f"{number:,.0f} users" if math.isfinite(number) else ""


def _change(value: float, kind: str) -> str:
    """A difference: percentage points for rates, the metric's unit for means."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 100:+.2f} pp" if kind == "conversion" else f"{value:+,.2f}"


def _between(low: object, high: object, fmt: Callable[[float], str]) -> str:
    """An interval in words; a one-sided one has one bound."""
    lo, hi = _num(low), _num(high)
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{fmt(lo)} to {fmt(hi)}"
    if math.isfinite(lo):
        return f"{fmt(lo)} or more"
    if math.isfinite(hi):
        return f"{fmt(hi)} or less"
    return "no interval"


def _p(value: object) -> str:
    p = _num(value)
    if not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _unit(text: str) -> str:
    """Escaped, with a unit kept on the line of its number ("9.1 %", "+1.62 pp")."""
    return esc(text).replace(" %", "\u00a0%").replace(" pp", "\u00a0pp")


def _cell(main: str, sub: str = "") -> str:
    """A table cell: the number, and under it what qualifies it (both escaped)."""
    return _unit(main) + (f'<span class="sub">{_unit(sub)}</span>' if sub else "")


def _verdict(row: dict[str, Any], alarmed: bool) -> str:
    if row.get("estimable") is False:
        return '<span class="verdict ns">Too few users to tell</span>'
    if alarmed:
        return '<span class="verdict alarm">Do not trust: sample ratio mismatch</span>'
    if row.get("significant"):
        way = "higher" if _num(row.get("difference")) > 0 else "lower"
        return f'<span class="verdict sig">Significant: {way}</span>'
    return '<span class="verdict ns">Not significant</span>'


def _html_table(headers: list[str], rows: list[list[str]], widths: list[float],
                css: str) -> str:
    """A table of cells that are HTML already (escaped by the caller); fixed column
    widths in percent so it wraps inside any page instead of growing past it."""
    cols = "".join(f'<col style="width:{w:.1f}%">' for w in widths)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table class="grid {css}"><colgroup>{cols}</colgroup><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table>")


def _p_header(rows: list[dict[str, Any]], spec: ExperimentSpec | None) -> tuple[str, bool]:
    """The p-value column's header and whether it holds adjusted p-values."""
    adjusted = any(_num(r.get("family_size")) > 1 for r in rows) and (
        spec is None or spec.correction != "none")
    if not adjusted:
        return "p-value", False
    name = CORRECTION_NAMES.get(spec.correction, spec.correction) if spec else "adjusted"
    return f"p-value ({name})", True


def comparison_rows(summary: dict[str, Any], spec: ExperimentSpec | None
                    ) -> tuple[list[str], list[list[str]], list[float]]:
    """The A/B table in words: one row per metric x variant.

    Returns
    -------
    headers, rows, widths
        Column headers, HTML cells (every value escaped) and column widths in percent.
    """
    records = [r for r in summary.get("table") or [] if isinstance(r, dict)]
    alarmed = any(isinstance(a, dict) and a.get("code") == "srm"
                  for a in summary.get("alarms") or [])
    level = (1 - spec.alpha) * 100 if spec else 95
    p_header, adjusted = _p_header(records, spec)
    chance = any(r.get("prob_beats_control") is not None for r in records)
    headers = ["Metric", "Control", "Variant", f"Difference ({level:g} % CI)",
               "Relative lift", p_header]
    widths = [17, 13, 13, 16, 15, 11]
    if chance:
        headers.append("Chance to beat control")
        widths.append(9)
    headers.append("Verdict")
    widths.append(11 if chance else 15)
    rows = []
    for r in records:
        kind = str(r.get("kind", ""))
        control_value, variant_value = _num(r.get("control_value")), _num(r.get("variant_value"))
        p_value = r.get("p_adjusted") if adjusted else r.get("p_value")
        p_sub = f"unadjusted {_p(r.get('p_value'))}" if adjusted and abs(
            _num(r.get("p_adjusted")) - _num(r.get("p_value"))) > 1e-12 else ""
        cells = [
            _cell(metric_label(str(r.get("metric", "")), kind), str(r.get("test") or "")),
            _cell(f"{r.get('control', '')}: {fmt_value(control_value, kind)}",
                  _users(r.get("control_users"))),
            _cell(f"{r.get('variant', '')}: {fmt_value(variant_value, kind)}",
                  _users(r.get("variant_users"))),
            _cell(_change(_num(r.get("difference")), kind),
                  _between(r.get("difference_ci_low"), r.get("difference_ci_high"),
                           lambda v, k=kind: _change(v, k))),
            _cell(fmt_pct(_num(r.get("relative_lift"))),
                  _between(r.get("relative_lift_ci_low"), r.get("relative_lift_ci_high"),
                           fmt_pct)),
            _cell(_p(p_value), p_sub)]
        if chance:
            prob = _num(r.get("prob_beats_control"))
            cells.append(_cell(fmt_pct(prob, signed=False) if math.isfinite(prob) else "—"))
        cells.append(_verdict(r, alarmed))
        rows.append(cells)
    return headers, rows, widths


def segment_rows(summary: dict[str, Any], kinds: dict[str, str]
                 ) -> tuple[list[str], list[list[str]], list[float]]:
    """The per-segment breakdown, when the summary has one: one compact row per
    segment x metric x variant."""
    records = [r for r in summary.get("segments") or []
               if isinstance(r, dict) and set(r) >= SEGMENT_KEYS]
    headers = ["Segment", "Metric", "Variant", "Control", "Variant value", "Difference (CI)",
               "p-value (adjusted)", "Verdict"]
    widths = [15, 12, 11, 12, 12, 16, 10, 12]
    rows = []
    for r in records[:MAX_SEGMENT_ROWS]:
        kind = str(r.get("kind") or kinds.get(str(r.get("metric")), "mean"))
        rows.append([
            _cell(str(r.get("segment", ""))),
            _cell(metric_label(str(r.get("metric", "")), kind)),
            _cell(str(r.get("variant", ""))),
            _cell(fmt_value(_num(r.get("control_value")), kind), _users(r.get("control_n"))),
            _cell(fmt_value(_num(r.get("treatment_value")), kind),
                  _users(r.get("treatment_n"))),
            _cell(_change(_num(r.get("difference")), kind),
                  _between(r.get("ci_low"), r.get("ci_high"), lambda v, k=kind: _change(v, k))),
            _cell(_p(r.get("p_adjusted", r.get("p_value")))),
            _verdict(r, False)])
    return headers, rows, widths


def source_text(source: dict[str, Any]) -> str:
    name = str(source.get("name") or "(unnamed)")
    extra = [f"{k.replace('_', ' ')} = {cell_value(v)}" for k, v in source.items()
             if k != "name" and v not in (None, "", [], {})]
    return name + (f" ({', '.join(extra)})" if extra else "")


def experiment_settings(ws: Workspace, summary: dict[str, Any]) -> list[tuple[str, str]]:
    """What the A/B section reports on: the experiment and the settings of its analysis."""
    section = ws.experiment
    spec = section.spec if section else None
    pairs = [("Experiment", source_text(section.source if section else {}))]
    table = ws.experiment_table
    if table is not None:
        pairs.append(("Rows", f"{len(table):,}"))
    records = [r for r in summary.get("table") or [] if isinstance(r, dict)]
    if records and set(records[0]) >= COMPARISON_KEYS:
        first = [r for r in records if r.get("metric") == records[0].get("metric")]
        users = _num(first[0].get("control_users")) + sum(
            _num(r.get("variant_users")) for r in first)
        if math.isfinite(users):
            pairs.append(("Users analysed", f"{users:,.0f}"))
    control = summary.get("control") if isinstance(summary.get("control"), dict) else {}
    if spec is not None:
        pairs.append(("Variant column", spec.variant_col))
    if control.get("name") is not None:
        pairs.append(("Control", f"{control['name']}"
                      + (f", {control['reason']}" if control.get("reason") else "")))
    if spec is None:
        return pairs
    metrics = spec.metrics or (*spec.conversion_cols, *(m[0] for m in spec.mean_cols))
    if metrics:
        pairs.append(("Metrics", ", ".join(map(str, metrics))))
    try:
        hypothesis = HYPOTHESES[normalise_alternative(spec.alternative)]
    except PersonaLensError:
        hypothesis = str(spec.alternative)
    weights = ", ".join(f"{w:g}" for w in spec.planned_weights) if spec.planned_weights \
        else "equal"
    extras = [name for name, on in (("Mann-Whitney rank test", spec.rank_test),
                                    ("bootstrap interval", spec.bootstrap),
                                    ("sequential p-value", spec.sequential)) if on]
    pairs += [("Significance level", f"α = {spec.alpha:g} ({(1 - spec.alpha) * 100:g} % "
                                     "intervals)"),
              ("Hypothesis", hypothesis),
              ("Correction", f"{CORRECTION_NAMES.get(spec.correction, spec.correction)}, "
                             + ("each metric on its own" if spec.family == "per_metric"
                                else "over all comparisons")),
              ("Difference interval", INTERVALS.get(spec.interval, spec.interval)),
              ("Bayesian prior", f"Beta({spec.prior[0]:g}, {spec.prior[1]:g})"),
              ("Planned split", weights),
              ("Pre-period (CUPED)", spec.pre_col or "none")]
    for label, column in (("User column", spec.user_col), ("Segment column", spec.segment_col),
                          ("Timestamp column", spec.ts_col)):
        if column:
            pairs.append((label, column))
    if extras:
        pairs.append(("Also computed", ", ".join(extras)))
    return pairs


def experiment_section(ws: Workspace) -> str:
    """The A/B test written by the Experiments page, if there is one: which experiment
    with which settings, the verdict in sentences, and a table of the numbers in words."""
    summary = ws.experiment.summary if ws.experiment else None
    if not summary:
        return ""
    spec = ws.experiment.spec
    parts = ["<h2>A/B test</h2>", pairs_list(experiment_settings(ws, summary))]
    alarms = [a.get("message", "") for a in summary.get("alarms") or [] if isinstance(a, dict)]
    parts += [f'<p class="alarm">{esc(a)}</p>' for a in alarms if a]
    parts += [f"<p>{esc(s)}</p>" for s in summary.get("sentences", [])]
    records = [r for r in summary.get("table") or [] if isinstance(r, dict)]
    if records and all(set(r) >= COMPARISON_KEYS for r in records):
        parts.append(_html_table(*comparison_rows(summary, spec), css="ab"))
    else:  # a summary of another shape: every column, named in words
        parts.append(grid_table([{str(k).replace("_", " "): v for k, v in r.items()}
                             for r in records]))
    kinds = {str(r.get("metric")): str(r.get("kind")) for r in records}
    headers, rows, widths = segment_rows(summary, kinds)
    if rows:
        column = summary.get("segment_column") or (spec.segment_col if spec else None)
        total = len(summary.get("segments") or [])
        parts.append(f"<h3>By {esc(column or 'segment')}</h3>"
                     + _html_table(headers, rows, widths, css="segments")
                     + (f"<p class='meta'>The first {len(rows)} of {total:,} rows; the "
                        "Experiments page has them all.</p>" if total > len(rows) else ""))
    conventions = summary.get("conventions", [])
    if conventions:
        parts.append("<h4>How the numbers are computed</h4><ul class='notes'>"
                     + "".join(f"<li>{esc(c)}</li>" for c in conventions) + "</ul>")
    return f'<section class="experiment">{"".join(parts)}</section>'
