"""The persona report's journeys section: the funnel per persona, the sequences that
set each persona apart and how many of each persona come back, from the workspace's
events with the Journeys pages' defaults (empty for a per-user table)."""

from __future__ import annotations

import pandas as pd

from core.common.errors import PersonaLensError
from core.journeys import (
    FunnelSpec,
    Step,
    build_sequences,
    distinguishing_patterns,
    funnel,
    retention,
    retention_curve,
)
from core.workspace.journeys import funnel_events
from core.workspace.report_html import esc
from core.workspace.store import Workspace

#: Patterns listed per persona, and the longest one searched (3 keeps the report fast).
TOP_PATTERNS = 3
PATTERN_LENGTH = 3
#: Weeks after the first at which the report reads each persona's retention.
RETENTION_WEEKS = (1, 2, 4, 8)


def journeys_section(ws: Workspace) -> str:
    """HTML of the journeys section, or "" when the workspace has no events or personas."""
    events, labels = ws.events, ws.persona_labels()
    if events is None or labels is None:
        return ""
    parts = ["<h2>Journeys</h2>"]
    for title, build in (("Funnel", _funnel), ("Sequences that set each persona apart",
                                                _patterns), ("Retention", _retention)):
        try:
            parts.append(f"<h3>{title}</h3>{build(ws, events, labels)}")
        except PersonaLensError as exc:  # a view this data cannot show says why
            parts.append(f"<h3>{title}</h3><p class='meta'>{esc(exc)}</p>")
    return f'<section class="journeys">{"".join(parts)}</section>'


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _funnel(ws: Workspace, events: pd.DataFrame, labels: pd.Series) -> str:
    names = funnel_events(ws, set(events["event"].unique()))
    if len(names) < 2:
        return ("<p class='meta'>The data names fewer than two funnel events (product view, "
                "add to cart, checkout, purchase): name them on the Data page.</p>")
    result = funnel(events, FunnelSpec(tuple(Step(n) for n in names)), labels)
    steps = result.steps
    rows = []
    for group, part in steps.groupby("group", sort=False):
        first = int(part["users"].iloc[0])
        cells = [f"{int(u):,} ({share:.0%})" for u, share in
                 zip(part["users"], part["conversion_from_first"], strict=True)]
        rows.append([esc(group), f"{first:,}", *cells[1:]])
    sentence = ""
    if result.test is not None:
        differs = "differs" if result.test.p_value < 0.05 else "does not differ"
        sentence = (f"<p>Conversion to {esc(names[-1])} {differs} between personas "
                    f"(χ² = {result.test.statistic:,.1f}, df = {result.test.dof}, "
                    f"p = {result.test.p_value:.2g}).</p>")
    return (f"<p class='meta'>{esc(result.convention)}</p>{sentence}"
            + _table(["Persona", f"Did {names[0]}", *(f"Then {n}" for n in names[1:])], rows))


def _patterns(ws: Workspace, events: pd.DataFrame, labels: pd.Series) -> str:
    table = distinguishing_patterns(build_sequences(events), labels,
                                    max_length=PATTERN_LENGTH)
    top = (table[table["significant"]].sort_values(["group", "ratio"], ascending=[True, False])
           .groupby("group", sort=False).head(TOP_PATTERNS))
    if top.empty:
        return "<p class='meta'>No session sequence is significantly more frequent in one " \
               "persona than in the others.</p>"
    rows = [[esc(r.group), esc(r.pattern), f"{r.share_in_group:.0%}",
             f"{r.share_elsewhere:.0%}", f"{r.ratio:.1f}×"] for r in top.itertuples()]
    return (f"<p class='meta'>{esc(table.attrs.get('convention', ''))}</p>"
            + _table(["Persona", "Sequence in a session", "Of its users", "Of everyone else",
                      "Ratio"], rows))


def _retention(ws: Workspace, events: pd.DataFrame, labels: pd.Series) -> str:
    result = retention(events, period="week", groups=labels, tz=ws.data.report.time_zone
                       if ws.data.report else None)
    curve = retention_curve(result)
    rows = []
    for group, part in curve.groupby("group", sort=False):
        share = part.set_index("period")["share"]
        rows.append([esc(group), *(f"{share[w]:.0%}" if w in share.index and
                                   pd.notna(share[w]) else "—" for w in RETENTION_WEEKS)])
    return (f"<p class='meta'>{esc(result.convention)}</p>"
            + _table(["Persona", *(f"Week {w}" for w in RETENTION_WEEKS)], rows))
