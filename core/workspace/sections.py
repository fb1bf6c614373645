"""The typed parts of a saved workspace, each with ``to_json`` and ``from_json``.

A section holds the settings and results of one step; the frames (events, features,
cluster labels, saved segments, the experiment table) are Parquet files beside it.
``from_json`` trusts nothing: a value of the wrong type is a :class:`DataError` naming
the section, never a page that breaks later far from the cause. Where a domain package
already has the dataclass (load settings and report, feature settings, preprocessing and
clustering settings, the fitted clusters, persona state, rule set, experiment settings),
the section holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeVar

from core.common.errors import DataError, PersonaLensError
from core.common.notices import Notice, notices_from_json, notices_to_json
from core.data.cleaning import LoadConfig, LoadReport
from core.experiments.inputs import ExperimentSpec
from core.features.table import FeatureConfig
from core.rules.json_io import load_workspace_rules, rule_set_to_json
from core.rules.model import RuleSet
from core.segment.clustering import ClusterConfig
from core.segment.fitted import FittedClusters
from core.segment.preprocess import PreprocessConfig, PreprocessReport
from core.segment.rule_segments import SegmentRule

T = TypeVar("T")
DataKind = Literal["events", "users"]


def parse(section: str, build: Callable[[], T]) -> T:
    """Run ``build``; turn any failure to read the stored values into a DataError."""
    try:
        return build()
    except PersonaLensError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"The workspace's {section} settings are damaged ({exc}); load the "
                        "data again or import a fresh export.") from exc


def expect_type(section: str, data: Any, kind: type | tuple[type, ...]) -> Any:
    """``data`` when it has the type a section needs, else a DataError naming both."""
    if not isinstance(data, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DataError(f"The workspace's {section} settings should be {names}, not "
                        f"{type(data).__name__}. Nothing was loaded.")
    return data


@dataclass
class DataSection:
    """What was loaded and how: source, size, period, column mapping, cleaning, report."""

    name: str = ""
    kind: DataKind = "events"
    #: Size, days and seed when the data is the generated sample.
    sample: dict[str, int] | None = None
    users: int | None = None
    events: int | None = None
    first_ts: str | None = None
    last_ts: str | None = None
    mapping: dict[str, str | None] = field(default_factory=dict)
    load_config: LoadConfig | None = None
    #: Event names per funnel step.
    event_roles: dict[str, list[str]] = field(default_factory=dict)
    report: LoadReport | None = None
    #: The key of the keyed hash that pseudonymised the user ids (never exported unless
    #: asked for).
    pseudonym_key: str | None = None

    @property
    def loaded(self) -> bool:
        return bool(self.name)

    def to_json(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)},
                "load_config": None if self.load_config is None else self.load_config.to_dict(),
                "report": None if self.report is None else self.report.to_dict()}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DataSection:
        data = dict(expect_type("data", data or {}, dict))

        def build() -> DataSection:
            config, report = data.pop("load_config", None), data.pop("report", None)
            section = cls(**data)
            section.load_config = None if not config else LoadConfig.from_dict(config)
            section.report = None if not report else LoadReport.from_dict(report)
            expect_type("data", section.mapping, dict)
            expect_type("data", section.event_roles, dict)
            return section

        return parse("data", build)


@dataclass
class FeatureSection:
    """How the feature table was made, what each feature means, and which are chosen."""

    kind: DataKind = "events"
    config: FeatureConfig | None = None
    definitions: dict[str, str] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    #: Features chosen for segmentation on the Features page.
    selected: list[str] = field(default_factory=list)
    #: Sequential patterns added as features (Patterns page): each ``{"pattern": [...],
    #: "unit", "max_gap", "collapse_repeats"}``, added again when the table is recomputed.
    patterns: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": None if self.config is None
                else self.config.to_dict(), "definitions": self.definitions,
                "notices": notices_to_json(self.notices), "selected": list(self.selected),
                "patterns": [dict(p) for p in self.patterns]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> FeatureSection:
        data = expect_type("feature", data or {}, dict)
        return parse("feature", lambda: cls(
            kind=data.get("kind", "events"),
            config=FeatureConfig.from_dict(data["config"]) if data.get("config") else None,
            definitions=dict(expect_type("feature", data.get("definitions", {}), dict)),
            notices=notices_from_json(expect_type("feature", data.get("notices", []), list)),
            selected=[str(f) for f in expect_type("feature", data.get("selected", []), list)],
            patterns=[dict(expect_type("feature", p, dict))
                      for p in expect_type("feature", data.get("patterns", []), list)]))


@dataclass
class SweepSection:
    """The k sweep: quality per k, the elbow and the suggestion with its reason."""

    table: list[dict[str, float]]
    knee_k: int | None
    suggested_k: int
    reason: str
    algorithm: str
    silhouette_sample: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SweepSection | None:
        if not data:
            return None
        return parse("sweep", lambda: cls(**expect_type("sweep", data, dict)))


@dataclass
class StabilitySection:
    """Agreement of bootstrap refits with the clustering (adjusted Rand index)."""

    mean: float
    sd: float
    runs: int
    unstable: bool
    scores: list[float]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ClusterSection:
    """One clustering: its preprocessing and settings, what they did, and the fit."""

    preprocess: PreprocessConfig
    report: PreprocessReport
    config: ClusterConfig
    n_clusters: int
    noise: int = 0
    sample_size: int | None = None
    notices: list[Notice] = field(default_factory=list)
    #: The fitted preprocessing and centres, kept so nothing refits from settings.
    #: None only for clusterings saved by format 1 (rebuilt once on first use).
    fitted: FittedClusters | None = None
    stability: StabilitySection | None = None

    def to_json(self) -> dict[str, Any]:
        return {"preprocess": self.preprocess.to_dict(), "report": self.report.to_dict(),
                "config": asdict(self.config), "n_clusters": self.n_clusters,
                "noise": self.noise, "sample_size": self.sample_size,
                "notices": notices_to_json(self.notices),
                "fitted": None if self.fitted is None else self.fitted.to_json(),
                "stability": None if self.stability is None else self.stability.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ClusterSection | None:
        if not data:
            return None
        data = expect_type("clustering", data, dict)
        known = {f.name for f in fields(ClusterConfig)}
        return parse("clustering", lambda: cls(
            preprocess=PreprocessConfig.from_dict(data["preprocess"]),
            report=PreprocessReport(**data["report"]),
            config=ClusterConfig(**{k: v for k, v in data["config"].items() if k in known}),
            n_clusters=int(data["n_clusters"]), noise=int(data.get("noise", 0)),
            sample_size=data.get("sample_size"),
            notices=notices_from_json(data.get("notices")),
            fitted=FittedClusters.from_json(data["fitted"]) if data.get("fitted") else None,
            stability=StabilitySection(**data["stability"]) if data.get("stability")
            else None))


@dataclass
class SegmentSection:
    """Rule segments defined on the Segments page, in priority order of the list."""

    rules: list[SegmentRule] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SegmentSection:
        data = expect_type("segment", data or {}, dict)
        rules = expect_type("segment", data.get("rules", []), list)
        return parse("segment", lambda: cls([SegmentRule.from_dict(r) for r in rules]))


@dataclass
class RulesSection:
    """The personalization rules of the Rules page."""

    rule_set: RuleSet = field(default_factory=RuleSet)

    def to_json(self) -> dict[str, Any]:
        return rule_set_to_json(self.rule_set)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RulesSection:
        data = expect_type("rules", data or {}, dict)
        return cls(load_workspace_rules(data))


@dataclass
class ExperimentSection:
    """The A/B test: where its table came from, how it is analysed, the summary."""

    #: ``{"name": ...}`` plus the sample's size, days and seed, or the file name.
    source: dict[str, Any] = field(default_factory=dict)
    spec: ExperimentSpec | None = None
    #: The analysis summary the persona report prints (sentences, table, conventions).
    summary: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source,
                "spec": None if self.spec is None else self.spec.to_dict(),
                "summary": self.summary}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ExperimentSection | None:
        if not data:
            return None
        data = expect_type("experiment", data, dict)
        return parse("experiment", lambda: cls(
            source=dict(expect_type("experiment", data.get("source", {}), dict)),
            spec=ExperimentSpec.from_dict(data["spec"]) if data.get("spec") else None,
            summary=expect_type("experiment", data.get("summary"), (dict, type(None)))))


@dataclass
class PredictSection:
    """The propensity models of the Propensity page: one entry per target (``churn``,
    ``conversion``), each the settings, the evaluation summary and the saved model as
    JSON-ready data (see :mod:`core.workspace.predict`)."""

    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"targets": {k: dict(v) for k, v in self.targets.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PredictSection:
        data = expect_type("prediction", data or {}, dict)
        targets = expect_type("prediction", data.get("targets", {}), dict)
        return parse("prediction", lambda: cls(
            {str(k): dict(expect_type("prediction", v, dict)) for k, v in targets.items()}))


@dataclass
class RecommendSection:
    """The Recommendations page's settings as JSON-ready data (parsed and checked by
    :mod:`core.workspace.recommend`)."""

    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"settings": dict(self.settings)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RecommendSection:
        data = expect_type("recommendation", data or {}, dict)
        return cls(dict(expect_type("recommendation", data.get("settings", {}), dict)))
