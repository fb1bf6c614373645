"""What the Recommendations page reads from and keeps in a workspace.

The settings (event weights, method, list length, evaluation cutoff and k, the
methods' settings) live in ``ws.recommend.settings`` as JSON-ready data, parsed and
checked by :class:`RecommendSettings`; saving them raises the ``recommend`` revision.
The recommendations themselves are recomputed from the events, the personas and the
settings (the page caches them per revision), so nothing stale is ever kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import pandas as pd

from core.common.errors import ConfigError
from core.common.export import safe_csv_bytes
from core.common.progress import Progress
from core.recommend import (
    Evaluation,
    Interactions,
    Recommendations,
    RecommendConfig,
    build_interactions,
    distinctive_items,
    evaluate,
    make,
    method,
    popular_items,
    recommend_users,
)
from core.recommend.evaluation import DEFAULT_K, default_cutoff, parse_cutoff
from core.recommend.interactions import DEFAULT_ITEM_COLUMN, check_weights, item_column_of
from core.recommend.methods import available
from core.recommend.persona_items import DEFAULT_MIN_SUPPORT
from core.recommend.reasons import phrase_book
from core.workspace.store import Workspace, require_events

#: Default weight of each funnel role's event: a cart add says more than a view, a
#: purchase most. Checkout is left out: it usually names no product.
ROLE_WEIGHTS = {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
DEFAULT_METHOD = "item_item"
DEFAULT_N = 10
MAX_N = 100


@dataclass(frozen=True)
class RecommendSettings:
    """The Recommendations page's settings.

    Attributes
    ----------
    weights : dict of str to float
        Weight per event name; 0 or missing: not an interaction.
    method : str
        Registered method key (:data:`core.recommend.REGISTRY`).
    n : int
        Recommendations per user (1-100).
    k : int
        List length of the offline evaluation (1-100).
    cutoff : str or None
        ISO date of the evaluation's time split; None: the day that leaves the last
        fifth of the interactions for the test.
    item_column : str
    min_support : int
        Users of a persona an item needs to be called distinctive.
    config : RecommendConfig
    """

    weights: dict[str, float] = field(default_factory=dict)
    method: str = DEFAULT_METHOD
    n: int = DEFAULT_N
    k: int = DEFAULT_K
    cutoff: str | None = None
    item_column: str = DEFAULT_ITEM_COLUMN
    min_support: int = DEFAULT_MIN_SUPPORT
    config: RecommendConfig = field(default_factory=RecommendConfig)

    def __post_init__(self) -> None:
        method(self.method)
        for name, high in (("n", MAX_N), ("k", MAX_N), ("min_support", 1_000_000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value) or not float(value).is_integer() or \
                    not 1 <= value <= high:
                raise ConfigError(f"The setting '{name}' must be a whole number from 1 to "
                                  f"{high:,}, not {value!r}.")
            object.__setattr__(self, name, int(value))
        if self.weights:
            check_weights(self.weights)
        object.__setattr__(self, "weights", {str(k): float(v)
                                             for k, v in self.weights.items()})
        if self.cutoff is not None:
            object.__setattr__(self, "cutoff",
                               parse_cutoff(self.cutoff).strftime("%Y-%m-%d"))
        if not isinstance(self.item_column, str) or not self.item_column:
            raise ConfigError("The item column must be a column name.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (as kept in ``ws.recommend.settings``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "config"}
        return {**out, "weights": dict(self.weights), "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RecommendSettings:
        """Rebuild from :meth:`to_dict`; unknown keys or bad values are a ConfigError."""
        if data is not None and not isinstance(data, dict):
            raise ConfigError("The recommendation settings must be a mapping.")
        data = dict(data or {})
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"Unknown recommendation setting(s): {', '.join(sorted(unknown))}.")
        weights = data.pop("weights", {}) or {}
        if not isinstance(weights, dict):
            raise ConfigError("The event weights must be a mapping of event name to number.")
        config = data.pop("config", None)
        if config is not None and not isinstance(config, dict):
            raise ConfigError("The methods' settings must be a mapping.")
        return cls(weights=weights, config=RecommendConfig.from_dict(config), **data)


# ------------------------------------------------------------------------------ reading
def recommend_events(ws: Workspace) -> pd.DataFrame:
    """The workspace's events (see :func:`core.workspace.store.require_events`)."""
    return require_events(ws, "Recommendations need an event log with the items users "
                              "viewed or bought")


def event_names(ws: Workspace) -> list[str]:
    """The events of the data, most frequent first."""
    return [str(e) for e in recommend_events(ws)["event"].value_counts().index]


def event_items(ws: Workspace, item_column: str = DEFAULT_ITEM_COLUMN) -> pd.DataFrame:
    """Per event of the data, most frequent first: ``event``, ``events`` and
    ``with_item`` (how many name an item; 0 for all without the item column)."""
    events = recommend_events(ws)
    names = events["event"].astype(str)
    if item_column in events.columns:
        item = events[item_column].astype("string")
        named = (item.notna() & (item != "")).to_numpy()
    else:
        named = pd.Series(False, index=events.index).to_numpy()
    table = pd.DataFrame({"event": names.to_numpy(), "named": named}).groupby(
        "event", sort=False).agg(events=("named", "size"), with_item=("named", "sum"))
    table = table.sort_values(["events"], ascending=False, kind="stable")
    return table.reset_index().astype({"events": "int64", "with_item": "int64"})


def item_columns(ws: Workspace) -> list[str]:
    """Columns of the events that could hold items: text columns other than the user,
    time, event and session."""
    events = recommend_events(ws)
    skip = {"user_id", "ts", "event", "session_id"}
    return [str(c) for c in events.columns if c not in skip and
            not pd.api.types.is_numeric_dtype(events[c]) and
            not pd.api.types.is_datetime64_any_dtype(events[c])]


def role_weights(roles: dict[str, list[str]], events: pd.DataFrame,
                 item_column: str = DEFAULT_ITEM_COLUMN) -> dict[str, float]:
    """Weights of the funnel roles' events (product view 1, cart add 3, purchase 5),
    only for events in ``events``; without any, 1 for every event that names an item."""
    present = set(events["event"].astype(str).unique())
    weights = {}
    for role, weight in ROLE_WEIGHTS.items():
        name = next((str(n) for n in roles.get(role, []) if str(n) in present), None)
        if name is not None and name not in weights:
            weights[name] = weight
    if weights or item_column not in events.columns:
        return weights
    named = events.loc[events[item_column].notna(), "event"].astype(str).unique()
    return {str(e): 1.0 for e in sorted(named)}


def default_weights(ws: Workspace, item_column: str = DEFAULT_ITEM_COLUMN) -> dict[str, float]:
    """Weights from the workspace's funnel events (see :func:`role_weights`)."""
    return role_weights(ws.data.event_roles or {}, recommend_events(ws), item_column)


def settings_problem(ws: Workspace) -> str | None:
    """What is wrong with the saved settings (they are then replaced by the defaults),
    or None."""
    try:
        RecommendSettings.from_dict(ws.recommend.settings or None)
    except ConfigError as exc:
        return (f"The saved recommendation settings cannot be used ({exc}); the defaults "
                "are shown instead.")
    return None


def recommend_settings(ws: Workspace) -> RecommendSettings:
    """The saved settings, with weights only for events the data has (the defaults when
    none is left); the defaults when nothing is saved or the saved settings cannot be
    used (:func:`settings_problem` says why)."""
    try:
        settings = RecommendSettings.from_dict(ws.recommend.settings or None)
    except ConfigError:
        settings = RecommendSettings()
    present = set(event_names(ws))
    weights = {e: w for e, w in settings.weights.items() if e in present}
    if not any(w > 0 for w in weights.values()):
        weights = default_weights(ws, settings.item_column)
    if settings.method not in available(ws.clusters is not None):
        settings = replace(settings, method=DEFAULT_METHOD)
    return replace(settings, weights=weights)


def suggested_cutoff(ws: Workspace, weights: dict[str, float]) -> pd.Timestamp | None:
    """The evaluation's default cutoff for these weights (None without any weighted
    event in the data)."""
    events = recommend_events(ws)
    weighted = [e for e, w in weights.items() if w > 0]
    times = events.loc[events["event"].astype(str).isin(weighted).to_numpy(), "ts"]
    return default_cutoff(times) if len(times) else None


def persona_groups(ws: Workspace) -> pd.Series | None:
    """Each clustered user's persona name, or None before clustering."""
    return ws.persona_labels()


def check_settings(ws: Workspace, settings: RecommendSettings) -> None:
    """Raise the ConfigError recommending would raise: no item column in the events, or
    no event weighted above 0."""
    item_column_of(recommend_events(ws), settings.item_column)
    check_weights(settings.weights)


# ------------------------------------------------------------------------------ writing
def save_settings(ws: Workspace, settings: RecommendSettings) -> None:
    """Keep the page's settings and save the workspace (the ``recommend`` revision goes
    up)."""
    if not isinstance(settings, RecommendSettings):
        raise ConfigError("Save RecommendSettings, not a plain mapping.")
    check_weights(settings.weights)
    ws.recommend.settings = settings.to_dict()
    ws.changed("recommend")
    ws.keep()


# ---------------------------------------------------------------------------- computing
def workspace_interactions(ws: Workspace, settings: RecommendSettings) -> Interactions:
    """The user × item matrix of the workspace's events under the settings' weights."""
    return build_interactions(recommend_events(ws), settings.weights, settings.item_column)


def build_recommendations(ws: Workspace, settings: RecommendSettings,
                          interactions: Interactions | None = None,
                          progress: Progress | None = None) -> Recommendations:
    """Top-N with reasons for every user of the events; users without interactions get
    their persona's popular items (or everyone's before clustering)."""
    interactions = interactions or workspace_interactions(ws, settings)
    groups = persona_groups(ws)
    model = make(settings.method, settings.config, groups, progress).fit(interactions)
    users = recommend_events(ws)["user_id"].astype(str).unique()
    book = phrase_book(interactions.events, ws.data.event_roles)
    result = recommend_users(model, settings.n, users, groups, book, settings.method)
    return replace(result, notices=[*interactions.notices, *result.notices])


def evaluate_workspace(ws: Workspace, settings: RecommendSettings,
                       progress: Progress | None = None) -> Evaluation:
    """Every method that can run (and the baselines) on a time split of the events,
    overall and per persona."""
    groups = persona_groups(ws)
    return evaluate(recommend_events(ws), settings.weights, available(groups is not None),
                    settings.k, settings.cutoff, groups, settings.config,
                    settings.item_column, progress)


def persona_item_tables(ws: Workspace, settings: RecommendSettings,
                        interactions: Interactions | None = None, top: int = 10
                        ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Each persona's popular items and its distinctive items (None before
    clustering: then the popular items are everyone's)."""
    interactions = interactions or workspace_interactions(ws, settings)
    groups = persona_groups(ws)
    popular = popular_items(interactions, groups, top)
    distinctive = None if groups is None else \
        distinctive_items(interactions, groups, settings.min_support, top)
    return popular, distinctive


def recommendations_csv(recommendations: Recommendations) -> bytes:
    """Per-user recommendations as CSV, formula-safe: one row per user and rank."""
    table = recommendations.table.assign(method=recommendations.method)
    return safe_csv_bytes(table, index=False)
