"""Recommendations from similar users, evaluated offline.

From canonical events and a weight per event name, a user × item matrix of summed
weights (:mod:`core.recommend.interactions`); then, behind one fit / recommend API
(:mod:`core.recommend.base`):

- :mod:`core.recommend.popularity`: the popularity baseline, overall or per persona;
- :mod:`core.recommend.item_item`: item-item collaborative filtering (cosine, nearest
  neighbours);
- :mod:`core.recommend.als`: implicit-feedback matrix factorisation (``implicit``'s ALS);

registered with what each does and needs in :mod:`core.recommend.methods`. Top-N for
every user with a reason per item and the cold-start fallback is
:mod:`core.recommend.serve` (reasons in :mod:`core.recommend.reasons`); each persona's
popular and distinctive items :mod:`core.recommend.persona_items`; the time-split
evaluation :mod:`core.recommend.evaluation` (metrics in :mod:`core.recommend.metrics`),
and its charts :mod:`core.recommend.charts`.
"""

from core.recommend.evaluation import Evaluation, TimeSplit, evaluate, time_split
from core.recommend.interactions import Interactions, build_interactions
from core.recommend.methods import REGISTRY, RecommendConfig, make, method
from core.recommend.persona_items import distinctive_items, popular_items
from core.recommend.serve import Recommendations, recommend_users

__all__ = [
    "REGISTRY",
    "Evaluation",
    "Interactions",
    "RecommendConfig",
    "Recommendations",
    "TimeSplit",
    "build_interactions",
    "distinctive_items",
    "evaluate",
    "make",
    "method",
    "popular_items",
    "recommend_users",
    "time_split",
]
