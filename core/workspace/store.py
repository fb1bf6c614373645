"""The workspace: everything an analysis has produced, saved to disk after each step
so that a browser refresh or an app restart loses nothing.

A workspace is a folder holding ``workspace.json`` (settings and reports) and Parquet
files (events, features). Nothing in it is executable; nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.common.errors import ConfigError, DataError

FORMAT_VERSION = 1
#: Where workspaces live unless PERSONA_LENS_HOME says otherwise.
DEFAULT_HOME = Path.home() / ".persona_lens"
FRAMES = ("events", "features", "clusters", "segments", "experiment")
_ID_PATTERN = re.compile(r"^[a-f0-9]{12}$")


def home() -> Path:
    """Return the folder that holds workspaces."""
    return Path(os.environ.get("PERSONA_LENS_HOME", DEFAULT_HOME)) / "workspaces"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Workspace:
    """Settings, reports and frames of one analysis.

    Frames are loaded from disk on first use and written by :meth:`save`.
    """

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)
    dataset: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, str | None] = field(default_factory=dict)
    load_config: dict[str, Any] = field(default_factory=dict)
    event_roles: dict[str, list[str]] = field(default_factory=dict)
    load_report: dict[str, Any] | None = None
    feature_config: dict[str, Any] = field(default_factory=dict)
    feature_definitions: dict[str, str] = field(default_factory=dict)
    feature_notices: list[dict[str, str]] = field(default_factory=list)
    feature_kind: str = "events"
    selected_features: list[str] = field(default_factory=list)
    preprocess_config: dict[str, Any] = field(default_factory=dict)
    preprocess_report: dict[str, Any] = field(default_factory=dict)
    cluster_config: dict[str, Any] = field(default_factory=dict)
    cluster_notices: list[dict[str, str]] = field(default_factory=list)
    sweep: dict[str, Any] = field(default_factory=dict)
    stability: dict[str, Any] = field(default_factory=dict)
    segment_rules: list[dict[str, Any]] = field(default_factory=list)
    #: Named personas: ``{"names": {cluster label: persona name}, ...}`` plus whatever
    #: the Personas page keeps (descriptions, traits, centroids for matching).
    personas: dict[str, Any] = field(default_factory=dict)
    #: Personalization rules as edited on the Rules page (JSON-ready).
    rules: dict[str, Any] = field(default_factory=dict)
    #: A/B test settings and results of the Experiments page (JSON-ready).
    experiment: dict[str, Any] = field(default_factory=dict)
    pseudonym_key: str | None = None
    steps: dict[str, str] = field(default_factory=dict)
    _frames: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)
    _dirty: set[str] = field(default_factory=set, repr=False)

    # frames -------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return home() / self.id

    def frame(self, name: str) -> pd.DataFrame | None:
        """Return a stored frame (``events`` or ``features``), or None."""
        if name not in FRAMES:
            raise KeyError(name)
        if name not in self._frames:
            path = self.folder / f"{name}.parquet"
            self._frames[name] = pd.read_parquet(path) if path.exists() else None
        return self._frames[name]

    def set_frame(self, name: str, frame: pd.DataFrame | None) -> None:
        """Replace a frame; it is written on the next :meth:`save`."""
        if name not in FRAMES:
            raise KeyError(name)
        self._frames[name] = frame
        self._dirty.add(name)

    @property
    def events(self) -> pd.DataFrame | None:
        return self.frame("events")

    @property
    def features(self) -> pd.DataFrame | None:
        return self.frame("features")

    @property
    def clusters(self) -> pd.DataFrame | None:
        return self.frame("clusters")

    @property
    def segments(self) -> pd.DataFrame | None:
        """Saved segments in long form: columns ``segment`` and ``user_id``."""
        return self.frame("segments")

    def persona_labels(self) -> pd.Series | None:
        """Persona name of each clustered user (user id index), or None before clustering.

        A cluster without a given name keeps its label ("Cluster 3", "Noise").
        """
        clusters = self.clusters
        if clusters is None:
            return None
        names = self.personas.get("names", {})
        return clusters["cluster"].replace(names).rename("persona")

    def save_segment(self, name: str, user_ids: list[str]) -> int:
        """Store (or replace) a segment of users; return its size."""
        name = name.strip()
        if not name:
            raise ConfigError("Give the segment a name.")
        if not user_ids:
            raise ConfigError("The segment has no users: select some first.")
        current = self.segments
        rows = pd.DataFrame({"segment": name, "user_id": pd.Index(user_ids).unique()})
        if current is not None:
            current = current[current["segment"] != name]
            rows = pd.concat([current, rows], ignore_index=True)
        self.set_frame("segments", rows)
        self.save()
        return int((rows["segment"] == name).sum())

    @property
    def has_data(self) -> bool:
        return bool(self.dataset) and (self.events is not None or self.features is not None)

    def mark_step(self, step: str) -> None:
        """Record that a step finished now."""
        self.steps[step] = _now()

    def reset_data(self) -> None:
        """Forget the dataset and everything computed from it."""
        for name in FRAMES:
            self.set_frame(name, None)
        self.dataset, self.load_report, self.pseudonym_key = {}, None, None
        self.feature_definitions, self.feature_notices, self.selected_features = {}, [], []
        self.forget_clusters()
        self.steps = {}

    def forget_clusters(self) -> None:
        """Drop clustering results (the features they were made from changed)."""
        self.set_frame("clusters", None)
        self.preprocess_report, self.cluster_config, self.cluster_notices = {}, {}, []
        self.sweep, self.stability = {}, {}
        self.steps.pop("clusters", None)

    # persistence --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        return {"format_version": FORMAT_VERSION, **data}

    def save(self) -> None:
        """Write the settings and any changed frames, atomically per file."""
        self.updated = _now()
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(self._dirty):
            path = self.folder / f"{name}.parquet"
            frame = self._frames.get(name)
            if frame is None:
                path.unlink(missing_ok=True)
            else:
                tmp = path.with_suffix(".parquet.tmp")
                frame.to_parquet(tmp)
                tmp.replace(path)
        self._dirty.clear()
        tmp = self.folder / "workspace.json.tmp"
        tmp.write_text(json.dumps(self.to_json(), indent=2, default=str), encoding="utf-8")
        tmp.replace(self.folder / "workspace.json")

    @classmethod
    def load(cls, workspace_id: str) -> Workspace:
        """Load a saved workspace by id.

        Raises
        ------
        DataError
            When the id is malformed, the workspace does not exist or its file is damaged.
        """
        if not _ID_PATTERN.match(workspace_id or ""):
            raise DataError(f"'{workspace_id}' is not a workspace id.")
        path = home() / workspace_id / "workspace.json"
        if not path.exists():
            raise DataError(f"Workspace {workspace_id} was not found; it may have been deleted.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"Workspace {workspace_id} is damaged ({exc}); start a new one.") \
                from exc
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workspace:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise DataError(f"Workspace format {version} is not supported (expected "
                            f"{FORMAT_VERSION}).")
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
        values = {k: v for k, v in data.items() if k in known}
        if not _ID_PATTERN.match(str(values.get("id", ""))):
            raise DataError("The workspace file has no valid id.")
        return cls(**values)

    def delete(self) -> None:
        """Remove the workspace folder from disk."""
        shutil.rmtree(self.folder, ignore_errors=True)


def list_workspaces(limit: int = 20) -> list[dict[str, Any]]:
    """Return summaries of saved workspaces, most recently updated first."""
    root = home()
    if not root.exists():
        return []
    found = []
    for path in root.glob("*/workspace.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        found.append({"id": data.get("id"), "updated": data.get("updated", ""),
                      "dataset": data.get("dataset", {}).get("name", "(no data)")})
    return sorted(found, key=lambda d: d["updated"], reverse=True)[:limit]
