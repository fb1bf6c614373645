"""The segment export: one row per user with cluster, persona, segments and features.

This is the table a CRM or an e-mail tool imports. It is built from the workspace in
one call; the page and tests then write it with :func:`core.common.export.safe_csv_bytes`
(formula-injection safe) or :func:`core.common.export.parquet_bytes`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.predict import PREDICTION_COLUMNS
from core.workspace.segments import saved_selections, segment_memberships
from core.workspace.store import Workspace

#: Separator of the segments a user belongs to, in the ``segments`` column.
SEGMENT_SEPARATOR = "; "
#: The one rule segment a user gets when segments are exclusive (the highest priority).
WINNING_SEGMENT = "winning_segment"
#: Every rule and saved segment the user is in, overlapping, joined by SEGMENT_SEPARATOR.
ALL_SEGMENTS = "all_segments"
#: Shown in the cluster and persona columns for users left out of clustering.
NOT_CLUSTERED = "Not clustered"


@dataclass
class SegmentExport:
    """The export table (user id index) and what the analyst should know about it."""

    frame: pd.DataFrame
    users_total: int
    notices: list[Notice] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.frame)


def persona_options(ws: Workspace) -> list[str]:
    """Persona names of the clustering, and "Not clustered" when some users were left out."""
    labels = ws.persona_labels()
    if labels is None:
        return []
    names = sorted(labels.dropna().astype(str).unique(), key=_natural)
    features = ws.features
    if features is not None and len(features.index.difference(labels.index)):
        names.append(NOT_CLUSTERED)
    return names


def _natural(text: str) -> tuple:
    head, _, tail = text.rpartition(" ")
    return (head, int(tail), "") if tail.isdigit() else (text, -1, text)


def segment_export(ws: Workspace, features: list[str] | tuple[str, ...] = (),
                   personas: list[str] | tuple[str, ...] | None = None) -> SegmentExport:
    """Build the segment export of a workspace.

    Parameters
    ----------
    ws : Workspace
    features : list of str
        Feature columns to include.
    personas : list of str, optional
        Keep only users of these personas (names as in :func:`persona_options`);
        None or empty keeps everyone.

    Returns
    -------
    SegmentExport
        Columns ``cluster`` and ``persona`` (after clustering), ``winning_segment`` (the
        highest-priority rule segment, when there are rules), ``all_segments`` (every rule
        and saved segment the user is in, separated by ``"; "``), then the features, then
        the saved propensity scores and bands.

    Raises
    ------
    ConfigError
        No feature table, an unknown feature, or a persona filter before clustering.
    """
    table = ws.features
    if table is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    unknown = [f for f in features if f not in table.columns]
    if unknown:
        raise ConfigError(f"Unknown feature(s): {', '.join(unknown)}.")
    out = pd.DataFrame(index=table.index.rename("user_id"))
    notices: list[Notice] = []
    if ws.clusters is not None:
        out["cluster"] = ws.clusters["cluster"].reindex(out.index)
        out["persona"] = ws.persona_labels().reindex(out.index)
        left_out = int(out["cluster"].isna().sum())
        if left_out:
            notices.append(Notice("not_clustered", (
                f"{left_out:,} users were left out of clustering (missing values or "
                f"outliers excluded); their cluster and persona read '{NOT_CLUSTERED}'."),
                level="info"))
        out[["cluster", "persona"]] = out[["cluster", "persona"]].fillna(NOT_CLUSTERED)
    elif personas:
        raise ConfigError("Filtering by persona needs clusters: cluster the users first.")
    memberships = _segments(ws, table, out, notices)
    out[ALL_SEGMENTS] = memberships
    # Saved propensity scores travel with every export (the Propensity page's columns).
    scores = [c for c in table.columns if c in PREDICTION_COLUMNS and c not in features]
    for f in [*features, *scores]:
        out[f] = table[f]
    total = len(out)
    if personas:
        out = out[out["persona"].isin(list(personas))]
    return SegmentExport(out, total, notices)


def _segments(ws: Workspace, table: pd.DataFrame, out: pd.DataFrame,
              notices: list[Notice]) -> pd.Series:
    """Fill ``winning_segment`` in ``out``; return every segment of each user, joined.

    Segments are named as everywhere else (:mod:`core.workspace.segments`).
    """
    rules, broken = [], []
    for rule in ws.segment_rules.rules:
        usable = all(c.feature in table.columns for c in rule.conditions) \
            and rule.conditions and (ws.events is not None or not rule.windows())
        (rules if usable else broken).append(rule)
    if broken:
        notices.append(Notice("rules_skipped", (
            "Left out segment(s) whose features are no longer in the table (or that count "
            "a time window without an event log): "
            + ", ".join(r.name for r in broken) + ". Edit them on the Segments page."),
            level="info"))
    masks: list[tuple[str, np.ndarray]] = []
    if rules:
        result = segment_memberships(ws, rules, exclusive=True)
        out[WINNING_SEGMENT] = result.exclusive
        masks += [(rule.name, result.matrix[rule.name].to_numpy()) for rule in rules]
    masks += [(name, out.index.isin(ids)) for name, ids in saved_selections(ws).items()]
    joined = pd.Series("", index=out.index, dtype="str")
    for name, mask in masks:
        joined = joined.mask(pd.Series(mask, index=out.index), joined + SEGMENT_SEPARATOR + name)
    return joined.str.removeprefix(SEGMENT_SEPARATOR)


#: What each fixed column of the export holds (the features are described by name).
COLUMN_MEANINGS = {
    "user_id": "the user",
    "cluster": "the user's cluster label",
    "persona": "the persona name of the user's cluster",
    WINNING_SEGMENT: "the one rule segment the user gets when segments are exclusive: "
                     "the matching rule segment with the highest priority",
    ALL_SEGMENTS: f"every rule and saved segment the user is in (overlapping), joined by "
                  f"'{SEGMENT_SEPARATOR}'",
}


def model_sha256(model: dict | None) -> str | None:
    """SHA-256 of a model dict (its JSON with sorted keys), None without a model.

    The one hash that names a model: the segment export's side file and the persona
    report's reproducibility record both carry it.
    """
    if model is None:
        return None
    return hashlib.sha256(json.dumps(model, sort_keys=True, default=str).encode("utf-8")
                          ).hexdigest()


def export_info(ws: Workspace, export: SegmentExport, model: dict | None,
                personas: list[str] | tuple[str, ...] | None = None) -> dict:
    """The side file of a segment export: when and from what it was made.

    Returns
    -------
    dict
        ``format`` and ``version``, ``exported_at`` (UTC, ISO 8601), the workspace id and
        dataset, ``model_sha256`` (of the model JSON the clusters come from, None before
        clustering), the persona filter, the row count and what every column holds.
    """
    digest = model_sha256(model)
    columns = ["user_id", *map(str, export.frame.columns)]
    return {"format": "persona-lens-segment-export", "version": 1,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "workspace": ws.id, "dataset": ws.data.name, "model_sha256": digest,
            "personas": list(personas or []) or "all", "rows": export.rows,
            "columns": {c: COLUMN_MEANINGS.get(c, "feature") for c in columns}}
