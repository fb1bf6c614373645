"""Workspace format versions and the migrations between them.

Every ``workspace.json`` (in a workspace folder or an exported zip) carries
``format_version``. :func:`migrate` brings any version this code knows up to
:data:`FORMAT_VERSION`, one step at a time, on the JSON alone; a newer version than this
code writes is refused with a message. Add a step by writing ``_vN_to_vN1`` and listing
it in :data:`STEPS`; never change an old step (the fixtures in ``tests/fixtures`` were
written by the code of their version and must keep opening).

Versions
--------
1. Flat settings: ``dataset``, ``mapping``, ``load_config``, ``feature_config``,
   ``preprocess_config``, ``cluster_config`` ... as plain dicts.
2. Typed sections (:mod:`core.workspace.sections`): ``data``, ``feature_info``,
   ``sweep``, ``clustering`` (with the fitted model), ``personas``, ``segments``,
   ``rules``, ``experiment``; one revision counter per part.

Optional fields added within a version need no step when absent means empty: ``runs``
(every clustering fit, :mod:`core.segment.runs`) and the personas' ``history`` (the
re-clusterings they were matched to) read as empty lists from workspaces written before
them, format 1 included (``tests/fixtures/workspace_v1``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.common.errors import DataError

FORMAT_VERSION = 2
Json = dict[str, Any]


def _v1_to_v2(old: Json) -> Json:
    """Group the flat settings into sections; the fit is rebuilt on first use."""
    dataset = old.get("dataset") or {}
    data = {key: dataset.get(key) for key in ("name", "kind", "sample", "users", "events",
                                              "first_ts", "last_ts")}
    data.update(name=dataset.get("name", ""), kind=dataset.get("kind", "events"),
                mapping=old.get("mapping") or {}, load_config=old.get("load_config") or None,
                event_roles=old.get("event_roles") or {}, report=old.get("load_report"),
                pseudonym_key=old.get("pseudonym_key"))
    cluster_config = dict(old.get("cluster_config") or {})
    clustering = None
    if cluster_config and old.get("preprocess_config"):
        counts = {key: cluster_config.pop(key, None) for key in
                  ("n_clusters", "noise", "sample_size")}
        clustering = {"preprocess": old["preprocess_config"],
                      "report": old.get("preprocess_report") or {},
                      "config": cluster_config, "n_clusters": counts["n_clusters"] or 0,
                      "noise": counts["noise"] or 0, "sample_size": counts["sample_size"],
                      "notices": old.get("cluster_notices") or [], "fitted": None,
                      "stability": old.get("stability") or None}
    experiment = old.get("experiment") or {}
    return {
        "format_version": 2, "id": old.get("id"), "created": old.get("created"),
        "updated": old.get("updated"), "steps": old.get("steps") or {}, "revisions": {},
        "data": data,
        "feature_info": {"kind": old.get("feature_kind", "events"),
                         "config": old.get("feature_config") or None,
                         "definitions": old.get("feature_definitions") or {},
                         "notices": old.get("feature_notices") or [],
                         "selected": old.get("selected_features") or []},
        "sweep": old.get("sweep") or None,
        "clustering": clustering,
        "personas": old.get("personas") or {},
        "segments": {"rules": old.get("segment_rules") or []},
        "rules": old.get("rules") or {},
        "experiment": {"source": experiment.get("source", {}),
                       "spec": experiment.get("settings"),
                       "summary": experiment.get("summary")} if experiment else None,
    }


#: ``STEPS[n]`` turns version ``n`` into version ``n + 1``.
STEPS: dict[int, Callable[[Json], Json]] = {1: _v1_to_v2}


def migrate(data: Json) -> Json:
    """Bring a ``workspace.json`` of any known version up to :data:`FORMAT_VERSION`.

    Raises
    ------
    DataError
        When the version is missing, unknown or newer than this code.
    """
    if not isinstance(data, dict):
        raise DataError("workspace.json is not a JSON object.")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DataError(f"workspace.json has format version {version!r}, which no version "
                        "of Persona Lens wrote.")
    if version > FORMAT_VERSION:
        raise DataError(f"workspace.json has format version {version}; this version of "
                        f"Persona Lens reads versions 1 to {FORMAT_VERSION}. Update Persona "
                        "Lens to open it.")
    while version < FORMAT_VERSION:
        data = STEPS[version](data)
        version = data["format_version"]
    return data
