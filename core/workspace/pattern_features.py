"""A sequential pattern as a feature column of the workspace.

The Patterns page finds orders of events that are frequent, or that set a persona apart;
:func:`add_pattern_feature` turns one into a 1/0 column of the feature table
(``did_product_view_then_add_to_cart``) with its definition, so that the Segments,
Clustering and Rules pages can use it like any other feature.

Each added pattern is recorded in the workspace's feature section, and
:func:`add_recorded_patterns` adds them again whenever the feature table is recomputed
from the events (with a notice for a pattern whose events the data no longer has).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, PersonaLensError
from core.common.notices import Notice
from core.journeys.sequences import Unit, pattern_feature
from core.workspace.journeys import journey_events
from core.workspace.store import Workspace

#: How the definition of a pattern feature begins (see
#: :func:`core.journeys.sequences.pattern_definition`): a column whose definition does not
#: is one of the table's own and is never replaced.
PATTERN_DEFINITION_START = "1 if the user did "


def add_pattern_feature(ws: Workspace, pattern: Sequence[str], unit: Unit = "session",
                        max_gap: int | None = None, collapse_repeats: bool = True) -> str:
    """Add "did the user do ``pattern``" (1/0) as a feature column; return its name.

    Parameters
    ----------
    ws : Workspace
        Needs an event log and its feature table; updated in place and saved.
    pattern : sequence of str
        Event names in order, e.g. ``("product_view", "add_to_cart")``.
    unit : {"session", "user"}
        Within one session, or anywhere in the user's history.
    max_gap : int or None
        None: any number of other events between consecutive steps; 0: directly after
        each other; k: at most k other events in between.
    collapse_repeats : bool, default True
        Consecutive repeats of an event count once (as on the Patterns page).

    Returns
    -------
    str
        The column name, :func:`core.journeys.sequences.pattern_feature_name`. Users of
        the feature table without events get 0. Adding the same pattern again replaces
        the column and its definition.

    Raises
    ------
    ConfigError
        No event log or feature table, an empty pattern or an event the data does not
        have.
    """
    events = journey_events(ws)
    features = ws.features
    if features is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    spec = {"pattern": [str(e) for e in pattern], "unit": unit, "max_gap": max_gap,
            "collapse_repeats": bool(collapse_repeats)}
    updated, name, definition = _with_pattern(events, features, spec,
                                              ws.feature_info.definitions)
    ws.set_frame("features", updated)
    ws.feature_info.definitions = {**ws.feature_info.definitions, name: definition}
    ws.feature_info.patterns = [*(p for p in ws.feature_info.patterns
                                  if _name(p) != name), {**spec, "name": name}]
    ws.changed("features")
    ws.save()
    return name


def add_recorded_patterns(events: pd.DataFrame, features: pd.DataFrame,
                          patterns: list[dict], definitions: dict[str, str]
                          ) -> tuple[pd.DataFrame, dict[str, str], list[dict], list[Notice]]:
    """``features`` with the recorded pattern features added again (after a recompute).

    Returns the table, the definitions, the patterns still recorded and a notice for
    each pattern that could not be added (its events are no longer in the data).
    """
    kept, notices = [], []
    for spec in patterns:
        try:
            features, name, definition = _with_pattern(events, features, spec, definitions)
        except PersonaLensError as exc:
            notices.append(Notice("pattern_feature_dropped", f"The pattern feature "
                                  f"'{_name(spec)}' was not added again: {exc}",
                                  level="warning"))
            continue
        definitions = {**definitions, name: definition}
        kept.append(spec)
    return features, definitions, kept, notices


def _name(spec: dict) -> str:
    return str(spec.get("name", ""))


def _with_pattern(events: pd.DataFrame, features: pd.DataFrame, spec: dict,
                  definitions: dict[str, str]) -> tuple[pd.DataFrame, str, str]:
    feature = pattern_feature(events, list(spec["pattern"]), unit=spec["unit"],
                              max_gap=spec["max_gap"], value="flag",
                              collapse_repeats=spec["collapse_repeats"])
    name = str(feature.name)
    earlier = definitions.get(name, "")
    if name in features.columns and not earlier.startswith(PATTERN_DEFINITION_START):
        raise ConfigError(f"The feature table already has a column '{name}' that is not a "
                          "pattern feature; nothing was added.")
    column = feature.reindex(features.index, fill_value=0).fillna(0).astype(np.int64)
    updated = features.copy()
    updated[name] = column.to_numpy()
    return updated, name, feature.attrs["definition"]
