"""The workspace: everything an analysis has produced, saved to disk after each step
so that a browser refresh or an app restart loses nothing.

A workspace is a folder of whole revisions (see :mod:`core.workspace.revisions`), each
holding ``workspace.json`` (typed sections, see :mod:`core.workspace.sections`, and a
format version, see :mod:`core.workspace.migrations`) and Parquet files (events,
features, cluster labels, saved segments, the experiment table). A save writes a new
revision and switches it in atomically; a save from a copy that is behind is refused.
Nothing in it is executable; nothing is unpickled.

Every part has a revision counter (:data:`PARTS`) that the actions raise when they change
it; cache keys in ``ui/`` are built from them (:meth:`Workspace.version`). Only
``core.workspace`` changes a workspace: pages and ``ui/`` call its actions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.common.errors import (
    ConfigError,
    DataError,
    ReadOnlyWorkspaceError,
    WorkspaceConflictError,
)
from core.personas.state import PersonaState
from core.segment.runs import ClusterRun
from core.workspace import revisions
from core.workspace.migrations import FORMAT_VERSION, migrate
from core.workspace.sections import (
    ClusterSection,
    DataSection,
    ExperimentSection,
    FeatureSection,
    PredictSection,
    RecommendSection,
    RulesSection,
    SegmentSection,
    SweepSection,
    expect_type,
    parse,
)

#: Where workspaces live unless PERSONA_LENS_HOME says otherwise.
DEFAULT_HOME = Path.home() / ".persona_lens"
FRAMES = ("events", "features", "clusters", "segments", "experiment", "predictions")
#: The parts of a workspace with a revision counter each.
PARTS = ("data", "features", "clusters", "personas", "segments", "rules", "experiment",
         "predictions", "recommend")
_ID_PATTERN = re.compile(r"^[a-f0-9]{12}$")


def home() -> Path:
    """Return the folder that holds workspaces."""
    return Path(os.environ.get("PERSONA_LENS_HOME", DEFAULT_HOME)) / "workspaces"


def now_utc() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    """A fresh workspace id (12 hexadecimal characters)."""
    return uuid.uuid4().hex[:12]


@dataclass
class Workspace:
    """Sections and frames of one analysis.

    Frames are loaded from disk on first use and written by :meth:`save`.
    """

    id: str = field(default_factory=new_id)
    created: str = field(default_factory=now_utc)
    updated: str = field(default_factory=now_utc)
    data: DataSection = field(default_factory=DataSection)
    feature_info: FeatureSection = field(default_factory=FeatureSection)
    sweep: SweepSection | None = None
    clustering: ClusterSection | None = None
    personas: PersonaState = field(default_factory=PersonaState)
    segment_rules: SegmentSection = field(default_factory=SegmentSection)
    rules: RulesSection = field(default_factory=RulesSection)
    experiment: ExperimentSection | None = None
    prediction: PredictSection = field(default_factory=PredictSection)
    recommend: RecommendSection = field(default_factory=RecommendSection)
    #: Every clustering fit, oldest first, at most ``core.segment.runs.MAX_RUNS``.
    runs: list[ClusterRun] = field(default_factory=list)
    #: When each step last finished (shown on Home).
    steps: dict[str, str] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)
    #: The revision on disk this copy was read from or last saved as (0: never saved).
    saved_revision: int = 0
    #: Why this copy may not be saved (a viewer's), or None.
    read_only: str | None = field(default=None, repr=False)
    #: Checks a revision holding new data before it is switched in (the disk quota, see
    #: :func:`core.workspace.housekeeping.quota_guard`); in memory only.
    guard: Callable[[Path], None] | None = field(default=None, repr=False)
    #: Called once before the first save writes anything (team mode records the owner).
    before_first_save: Callable[[], None] | None = field(default=None, repr=False)
    #: Called at the start of every save; raises when the saver may no longer change the
    #: workspace (team mode reads the access list again: a share revoked a moment ago).
    authorize: Callable[[], None] | None = field(default=None, repr=False)
    #: A random tag per part, new at every change (see :meth:`version`).
    tags: dict[str, str] = field(default_factory=dict)
    _frames: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)
    _dirty: set[str] = field(default_factory=set, repr=False)
    #: What the last persona refresh reported, with the fingerprint it was for (kept in
    #: memory only: :func:`core.workspace.personas.refresh_personas` returns it again
    #: while the clusters stay the same).
    _refresh: tuple[str, Any] | None = field(default=None, repr=False)

    # frames -------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return home() / self.id

    @property
    def is_saved(self) -> bool:
        """Whether this workspace exists on disk (a visit saves nothing until a step)."""
        return self.saved_revision > 0 or self._legacy_files

    @property
    def _legacy_files(self) -> bool:
        return self.saved_revision == 0 and (self.folder / revisions.SETTINGS_FILE).exists()

    def frame(self, name: str) -> pd.DataFrame | None:
        """Return a stored frame (see :data:`FRAMES`), or None.

        Raises
        ------
        WorkspaceConflictError
            When the revision this copy was read from has been removed since (the copy is
            several saves behind): reading a newer revision's frame would mix the two.
        """
        if name not in FRAMES:
            raise KeyError(name)
        if name not in self._frames:
            self._frames[name] = self._read_frame(name)
        return self._frames[name]

    def _read_frame(self, name: str) -> pd.DataFrame | None:
        if not self.is_saved:
            return None
        source = revisions.revision_folder(self.folder, self.saved_revision)
        if not (source / revisions.SETTINGS_FILE).exists():
            raise WorkspaceConflictError(revisions.CONFLICT_MESSAGE)
        path = source / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None

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
        """Each clustered user's label (column ``cluster``), user id index."""
        return self.frame("clusters")

    @property
    def segments(self) -> pd.DataFrame | None:
        """Saved selections in long form: columns ``segment`` and ``user_id``."""
        return self.frame("segments")

    @property
    def experiment_table(self) -> pd.DataFrame | None:
        return self.frame("experiment")

    @property
    def has_data(self) -> bool:
        return self.data.loaded and (self.events is not None or self.features is not None)

    def persona_labels(self) -> pd.Series | None:
        """Persona name of each clustered user (user id index), or None before clustering.

        A cluster without a given name keeps its label ("Cluster 3", "Noise").
        """
        clusters = self.clusters
        if clusters is None:
            return None
        labels = clusters["cluster"].astype(str)
        return labels.map(lambda label: self.personas.names.get(label, label)).rename("persona")

    # revisions ----------------------------------------------------------------------
    def revision(self, part: str) -> int:
        """How many times ``part`` (see :data:`PARTS`) has changed."""
        if part not in PARTS:
            raise KeyError(part)
        return self.revisions.get(part, 0)

    def changed(self, *parts: str) -> None:
        """Record that ``parts`` changed: their revision counters go up by one and they get
        a new random tag."""
        for part in parts:
            self.revisions[part] = self.revision(part) + 1
            self.tags[part] = uuid.uuid4().hex[:8]

    def version(self, *parts: str) -> str:
        """A cache key that changes whenever any of ``parts`` changes (all by default).

        Besides the counters it holds each part's random tag, so two copies that changed
        the same part apart (a viewer's refused change, a tab that is behind) never share
        a key, and caches never serve one copy's result to the other.
        """
        chosen = parts or PARTS
        return f"{self.id}:" + ",".join(f"{p}{self.revision(p)}{self.tags.get(p, '')}"
                                        for p in chosen)

    def mark_step(self, step: str) -> None:
        """Record that a step finished now."""
        self.steps[step] = now_utc()

    # persistence --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The settings as JSON-ready data (frames are saved beside them)."""
        return {
            "format_version": FORMAT_VERSION, "id": self.id, "created": self.created,
            "updated": self.updated, "steps": dict(self.steps),
            "revisions": dict(self.revisions), "tags": dict(self.tags),
            "data": self.data.to_json(), "feature_info": self.feature_info.to_json(),
            "sweep": None if self.sweep is None else self.sweep.to_json(),
            "clustering": None if self.clustering is None else self.clustering.to_json(),
            "personas": self.personas.to_json(),
            "segments": self.segment_rules.to_json(), "rules": self.rules.to_json(),
            "experiment": None if self.experiment is None else self.experiment.to_json(),
            "runs": [run.to_json() for run in self.runs],
            "prediction": self.prediction.to_json(), "recommend": self.recommend.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workspace:
        """Rebuild a workspace from its settings, migrating older formats.

        Raises
        ------
        DataError
            When the id is missing or malformed, or a section is damaged.
        """
        data = migrate(data)
        if not _ID_PATTERN.match(str(data.get("id", ""))):
            raise DataError("The workspace file has no valid id.")
        steps, revisions = data.get("steps") or {}, data.get("revisions") or {}
        if not isinstance(steps, dict) or not isinstance(revisions, dict):
            raise DataError("The workspace's steps or revisions are damaged.")
        return cls(
            id=data["id"], created=str(data.get("created") or now_utc()),
            updated=str(data.get("updated") or now_utc()),
            data=DataSection.from_json(data.get("data")),
            feature_info=FeatureSection.from_json(data.get("feature_info")),
            sweep=SweepSection.from_json(data.get("sweep")),
            clustering=ClusterSection.from_json(data.get("clustering")),
            personas=parse("persona", lambda: PersonaState.from_json(
                expect_type("persona", data.get("personas") or {}, dict))),
            segment_rules=SegmentSection.from_json(data.get("segments")),
            rules=RulesSection.from_json(data.get("rules")),
            experiment=ExperimentSection.from_json(data.get("experiment")),
            # Workspaces saved before runs were kept have none.
            runs=parse("runs", lambda: [ClusterRun.from_json(r) for r in expect_type(
                "runs", data.get("runs") or [], list)]),
            prediction=PredictSection.from_json(data.get("prediction")),
            recommend=RecommendSection.from_json(data.get("recommend")),
            steps={str(k): str(v) for k, v in steps.items()},
            revisions={str(k): int(v) for k, v in revisions.items() if k in PARTS},
            tags={str(k): str(v)[:16] for k, v in (data.get("tags") or {}).items()
                  if k in PARTS} if isinstance(data.get("tags"), dict) else {})

    def save(self, before_commit: Callable[[Path], None] | None = None) -> None:
        """Save everything as the next revision, switched in atomically.

        Frames that did not change since the revision this copy was read from are carried
        over as hard links; changed ones are written. ``before_commit(folder)`` may look at
        the written revision and raise to refuse it; by default :attr:`guard` does (the
        disk quota).

        Raises
        ------
        ReadOnlyWorkspaceError
            When the copy is a viewer's (:attr:`read_only`).
        WorkspaceConflictError
            When another tab or analyst saved the workspace since this copy was read; the
            newer revision stays as it is.
        """
        if self.read_only:
            raise ReadOnlyWorkspaceError(self.read_only)
        if self.authorize is not None:
            self.authorize()
        head = revisions.head_revision(self.folder)
        if (head or 0) != self.saved_revision:
            raise WorkspaceConflictError(revisions.CONFLICT_MESSAGE)
        if head is None and self.before_first_save is not None:
            self.before_first_save()
        if before_commit is None:
            before_commit = self.guard
        self.updated = now_utc()
        number = self.saved_revision + 1
        tmp = revisions.start_revision(self.folder)
        try:
            self._write_revision(tmp, number)
            if before_commit is not None:
                before_commit(tmp)
        except BaseException:
            revisions.discard(tmp)
            raise
        revisions.commit_revision(self.folder, tmp, number)
        self.saved_revision = number
        self._dirty.clear()
        revisions.prune(self.folder)

    def keep(self) -> None:
        """Save a change that follows from looking at the workspace (personas refreshed
        for new clusters, the latest experiment analysis, a page's settings).

        A viewer's copy, or one that is behind (the page says so and offers a reload),
        keeps it in memory only instead of refusing the page.
        """
        if self.read_only:
            return
        try:
            self.save()
        except WorkspaceConflictError:
            return

    def _write_revision(self, tmp: Path, number: int) -> None:
        previous = revisions.revision_folder(self.folder, self.saved_revision)
        for name in FRAMES:
            file = f"{name}.parquet"
            if name not in self._dirty:
                if self.is_saved:
                    revisions.keep_file(previous, tmp, file)
                continue
            frame = self._frames.get(name)
            if frame is not None:
                frame.to_parquet(tmp / file)
                revisions.flush_file(tmp / file)
        settings = {**self.to_json(), "saved_revision": number}
        revisions.write_durably(tmp / revisions.SETTINGS_FILE,
                                json.dumps(settings, indent=2, default=str))

    @classmethod
    def load(cls, workspace_id: str, revision: int | None = None) -> Workspace:
        """Load a saved workspace by id: its newest revision, or ``revision``.

        Raises
        ------
        DataError
            When the id is malformed, the workspace (or that revision, removed once newer
            ones came) does not exist or its file is damaged.
        """
        if not _ID_PATTERN.match(workspace_id or ""):
            raise DataError(f"'{workspace_id}' is not a workspace id.")
        folder = home() / workspace_id
        number = revisions.head_revision(folder)
        if revision is not None:
            number = revision if revision in revisions.saved_revisions(folder) else None
        if number is None:
            raise DataError(f"Workspace {workspace_id} was not found; it may have been deleted.")
        data = read_settings(folder, number)
        if data is None:
            raise DataError(f"Workspace {workspace_id} is damaged; start a new one.")
        if data.get("id") != workspace_id:
            raise DataError(f"Workspace {workspace_id} is damaged (its settings name another "
                            "id); start a new one.")
        ws = cls.from_json(data)
        ws.saved_revision = number
        return ws

    def delete(self) -> None:
        """Remove the workspace folder from disk."""
        shutil.rmtree(self.folder, ignore_errors=True)


def list_workspaces(limit: int = 20, visible: Callable[[str], bool] | None = None
                    ) -> list[dict[str, Any]]:
    """Return summaries of saved workspaces, most recently updated first.

    Parameters
    ----------
    visible : callable, optional
        Given a workspace id, whether to list it (team mode lists only the analyst's own
        and those shared with them); all are listed without it.
    """
    found = []
    for folder in saved_folders():
        data = read_settings(folder)
        if data is None or (visible is not None and not visible(folder.name)):
            continue
        # Format 1 kept the dataset under "dataset", format 2 under "data".
        section = data.get("data") or data.get("dataset") or {}
        found.append({"id": data.get("id"), "updated": data.get("updated", ""),
                      "dataset": section.get("name") or "(no data)"})
    return sorted(found, key=lambda d: d["updated"], reverse=True)[:limit]


def is_workspace_id(text: str | None) -> bool:
    """Whether ``text`` has the form of a workspace id (so it is safe in a path)."""
    return bool(_ID_PATTERN.match(text or ""))


def saved_folders() -> list[Path]:
    """The folders of every workspace on disk (well-formed ids only)."""
    root = home()
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and _ID_PATTERN.match(p.name)]


def read_settings(folder: Path, number: int | None = None) -> dict[str, Any] | None:
    """The ``workspace.json`` of a revision (the newest by default), or None when there is
    none or it cannot be read."""
    number = revisions.head_revision(folder) if number is None else number
    if number is None:
        return None
    path = revisions.revision_folder(folder, number) / revisions.SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def require_events(ws: Workspace, needs: str) -> pd.DataFrame:
    """The workspace's cleaned, sessionized events.

    Parameters
    ----------
    needs : str
        What needs them, for the message: "Journeys need an event log".

    Raises
    ------
    ConfigError
        The workspace holds a per-user table (no events) or nothing.
    """
    events = ws.events
    if events is None:
        what = ("a per-user table, which has no events" if ws.features is not None
                else "no data yet")
        raise ConfigError(f"{needs}; this workspace holds {what}. Load events (one row per "
                          "event) on the Data page.")
    return events


def require_features(ws: Workspace) -> pd.DataFrame:
    """The workspace's feature table.

    Raises
    ------
    ConfigError
        When no data has been loaded yet.
    """
    features = ws.features
    if features is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    return features
