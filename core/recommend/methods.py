"""The recommendation methods, what each one does and needs, and their settings.

Every method is one :class:`Method` in :data:`REGISTRY`, declared once so that the page,
the command line and the evaluation read it instead of keeping their own lists:

- ``description``: one line an analyst reads next to the choice;
- ``personalised``: it uses each user's own history (else every user of a group gets
  the same list);
- ``baseline``: a yardstick the personalised methods should beat;
- ``needs_groups``: it needs a persona per user (available once users are clustered);
- ``reason``: what its reasons name: a similar history item (``similar_item``), the
  closest history item in the learned taste factors (``taste``), or popularity
  (``popular``);
- ``parameters``: the :class:`RecommendConfig` fields it reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import pandas as pd

from core.common.errors import ConfigError
from core.common.progress import Progress
from core.recommend import als, item_item
from core.recommend.base import Recommender
from core.recommend.popularity import PopularityRecommender

Reason = Literal["similar_item", "taste", "popular"]

#: ``(low, high)`` of each numeric setting: outside is a ConfigError naming the range.
BOUNDS: dict[str, tuple[float, float]] = {
    "neighbours": (1, 1000), "factors": (2, 512), "iterations": (1, 100),
    "regularization": (1e-6, 1000.0), "alpha": (1e-3, 1000.0), "random_state": (0, 2**32 - 1),
}
INTEGERS = ("neighbours", "factors", "iterations", "random_state")


@dataclass(frozen=True)
class RecommendConfig:
    """Settings of the methods (each reads the fields its :class:`Method` lists).

    Attributes
    ----------
    neighbours : int, default 100
        Item-item: similar items kept per item.
    factors : int, default 32
        ALS: length of the user and item vectors.
    iterations : int, default 15
        ALS: alternating steps.
    regularization : float, default 40.0
        ALS: L2 penalty on the vectors.
    alpha : float, default 1.0
        ALS: confidence per unit of interaction weight.
    random_state : int, default 0
        ALS: seed of the starting vectors.
    """

    neighbours: int = item_item.DEFAULT_NEIGHBOURS
    factors: int = als.DEFAULT_FACTORS
    iterations: int = als.DEFAULT_ITERATIONS
    regularization: float = als.DEFAULT_REGULARIZATION
    alpha: float = als.DEFAULT_ALPHA
    random_state: int = 0

    def __post_init__(self) -> None:
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            integer = name in INTEGERS
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (integer and not float(value).is_integer()) or \
                    not math.isfinite(value) or not low <= value <= high:
                kind = "a whole number" if integer else "a number"
                raise ConfigError(f"The setting '{name}' must be {kind} from {low:g} to "
                                  f"{high:g}, not {value!r}.")
            object.__setattr__(self, name, int(value) if integer else float(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RecommendConfig:
        """Rebuild from :meth:`to_dict`; unknown keys are a ConfigError."""
        data = dict(data or {})
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"Unknown recommendation setting(s): {', '.join(sorted(unknown))}.")
        return cls(**data)


Maker = Callable[[RecommendConfig, "pd.Series | None", "Progress | None"], Recommender]


@dataclass(frozen=True)
class Method:
    """One recommendation method: its name, what it does and needs, and how to make it."""

    key: str
    label: str
    description: str
    make: Maker
    personalised: bool
    baseline: bool
    needs_groups: bool
    reason: Reason
    parameters: tuple[str, ...]


def _popularity(config: RecommendConfig, groups: pd.Series | None,
                progress: Progress | None) -> Recommender:
    return PopularityRecommender()


def _persona_popularity(config: RecommendConfig, groups: pd.Series | None,
                        progress: Progress | None) -> Recommender:
    if groups is None:
        raise ConfigError("Popular in the persona needs personas: cluster the users first "
                          "(Clustering page).")
    return PopularityRecommender(groups)


def _item_item(config: RecommendConfig, groups: pd.Series | None,
               progress: Progress | None) -> Recommender:
    return item_item.ItemItemRecommender(config.neighbours, progress)


def _als(config: RecommendConfig, groups: pd.Series | None,
         progress: Progress | None) -> Recommender:
    return als.ALSRecommender(config.factors, config.iterations, config.regularization,
                              config.alpha, config.random_state, progress=progress)


REGISTRY: dict[str, Method] = {m.key: m for m in (
    Method("popularity", "Popular with everyone",
           "The items most users interacted with; the same list for everyone (the "
           "baseline).", _popularity, personalised=False, baseline=True,
           needs_groups=False, reason="popular", parameters=()),
    Method("persona_popularity", "Popular in the persona",
           "The items most users of the user's persona interacted with; the same list for "
           "a whole persona.", _persona_popularity, personalised=False, baseline=True,
           needs_groups=True, reason="popular", parameters=()),
    Method("item_item", "Item-item (cosine)",
           "Items that the same users interacted with as the items in this user's "
           "history (cosine similarity, nearest neighbours only).", _item_item,
           personalised=True, baseline=False, needs_groups=False, reason="similar_item",
           parameters=("neighbours",)),
    Method("als", "Matrix factorisation (ALS)",
           "Taste factors learned from everyone's interactions (implicit ALS); finds items "
           "that users with a similar taste chose.", _als, personalised=True,
           baseline=False, needs_groups=False, reason="taste",
           parameters=("factors", "iterations", "regularization", "alpha", "random_state")),
)}


def method(key: str) -> Method:
    """The registered method called ``key``.

    Raises
    ------
    ConfigError
        When no method has that key.
    """
    try:
        return REGISTRY[key]
    except KeyError:
        raise ConfigError(f"Unknown recommendation method '{key}'. Choose one of "
                          f"{', '.join(REGISTRY)}.") from None


def available(has_groups: bool) -> list[str]:
    """Keys of the methods that can run: those needing personas only with them."""
    return [m.key for m in REGISTRY.values() if has_groups or not m.needs_groups]


def make(key: str, config: RecommendConfig | None = None, groups: pd.Series | None = None,
         progress: Progress | None = None) -> Recommender:
    """An unfitted recommender of method ``key`` with the settings it reads."""
    return method(key).make(config or RecommendConfig(), groups, progress)
