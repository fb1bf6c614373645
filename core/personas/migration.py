"""How users move between personas: two labelings compared, counted and drawn.

Two comparisons are offered:

- :func:`period_migration`: the first and the last N days of the event data (45 by
  default). Features are computed for each window with the clustering's own feature
  settings, transformed with the fitted preprocessing (fitted on the whole data, as for
  the clustering) and assigned to the nearest cluster centre in the preprocessed space.
  Users without events in a window count as "Not active" there.
- :func:`rerun_migration`: the personas before and after the last re-clustering of the
  same users (from the labels kept in the persona state's ``previous``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.features.table import FeatureConfig, user_features
from core.personas.state import PersonaState, from_snapshot
from core.segment.algorithms import nearest
from core.segment.fitted import FittedClusters
from core.segment.preprocess import Preprocessor

NOT_ACTIVE = "Not active"
NOT_PRESENT = "Not clustered"
DEFAULT_WINDOW_DAYS = 45
#: Count columns for this many event types are computed per window, so every count the
#: clustering used exists there (a type absent from a window is a true zero).
WINDOW_EVENT_TYPES = 50


@dataclass
class Migration:
    """Users per (before, after) persona pair.

    ``table`` is the crosstab (rows: before, columns: after); ``flows`` the non-zero
    pairs in long form (source, target, users).
    """

    before_name: str
    after_name: str
    table: pd.DataFrame
    notices: list[Notice] = field(default_factory=list)

    @property
    def flows(self) -> pd.DataFrame:
        long = self.table.stack().rename("users").reset_index()
        long.columns = ["source", "target", "users"]
        return long[long["users"] > 0].reset_index(drop=True)

    @property
    def users(self) -> int:
        return int(self.table.to_numpy().sum())

    @property
    def stayed(self) -> int:
        """Users with the same persona before and after."""
        common = self.table.index.intersection(self.table.columns)
        return int(sum(self.table.at[c, c] for c in common if c not in (NOT_ACTIVE,
                                                                         NOT_PRESENT)))


def compare(before: pd.Series, after: pd.Series, before_name: str = "Before",
            after_name: str = "After", missing: str = NOT_PRESENT) -> Migration:
    """Cross-tabulate two labelings of users (user id index); absent users are ``missing``."""
    users = before.index.union(after.index)
    frame = pd.DataFrame({"before": before.reindex(users).fillna(missing).astype(str),
                          "after": after.reindex(users).fillna(missing).astype(str)})
    table = pd.crosstab(frame["before"], frame["after"])
    table.index.name, table.columns.name = before_name, after_name
    return Migration(before_name, after_name, table)


def rerun_migration(state: PersonaState, labels: pd.Series) -> Migration | None:
    """Personas before and after the last re-clustering, or None when there is none.

    Only the same users can be compared; None also when the users changed.

    Parameters
    ----------
    state : PersonaState
        The personas of the current clustering (with ``previous``).
    labels : Series
        Each user's current cluster label (user id index).
    """
    previous = state.previous
    if not previous:
        return None
    before = from_snapshot(previous.get("snapshot", {}), labels.index)
    if before is None:
        return None
    old_names, new_names = previous.get("names", {}), state.names
    return compare(before.map(lambda label: old_names.get(label, label)),
                   labels.astype(str).map(lambda label: new_names.get(label, label)),
                   "Before the re-run", "After the re-run")


def _windows(events: pd.DataFrame, days: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    ts = pd.to_datetime(events["ts"], utc=True)
    first, last = ts.min(), ts.max()
    span = (last - first) / pd.Timedelta(days=1)
    if days < 1:
        raise ConfigError("A window needs at least 1 day.")
    if days > math.ceil(span / 2):
        raise ConfigError(f"The data covers {span:.0f} days, too few for two separate "
                          f"windows of {days} days. Choose at most {math.ceil(span / 2)} "
                          "days.")
    split = first + pd.Timedelta(days=days)
    # The windows never overlap: when they would by a fraction of a day, the last one
    # starts where the first ends.
    early = events[ts < split]
    late = events[ts >= max(split, last - pd.Timedelta(days=days))]
    return early, late, round(span)


def assign(pre: Preprocessor, centres: np.ndarray, order: list[str],
           features: pd.DataFrame) -> pd.Series:
    """Cluster label of each user in ``features`` by the nearest centre."""
    frame = features.copy()
    for column in pre.features_:
        if column not in frame and column.startswith("count_"):
            frame[column] = 0.0  # the event type did not occur in this window
    matrix, index = pre.transform(frame)
    return pd.Series(np.asarray(order, dtype=object)[nearest(matrix, centres)], index=index)


def period_migration(events: pd.DataFrame, feature_config: FeatureConfig,
                     fitted: FittedClusters, names: dict[str, str],
                     days: int = DEFAULT_WINDOW_DAYS) -> Migration:
    """Personas of the first ``days`` days against those of the last ``days`` days.

    Parameters
    ----------
    events : DataFrame
        The event log the clustering's features came from.
    feature_config : FeatureConfig
        The clustering's feature settings; each window's features use them.
    fitted : FittedClusters
        The fitted preprocessing and the cluster centres.
    names : dict
        ``{cluster label: persona name}``.
    days : int
        Length of each window.

    Raises
    ------
    ConfigError
        A period too short for two windows.
    DataError
        A window without events.
    """
    early, late, span = _windows(events, days)
    config = replace(feature_config, top_event_types=WINDOW_EVENT_TYPES)
    labelled = []
    for window in (early, late):
        if window.empty:
            raise DataError("A window has no events; choose a shorter window.")
        table = user_features(window, config)
        labels = assign(fitted.preprocessor, fitted.centroids, fitted.labels, table.frame)
        labelled.append(labels.map(lambda label: names.get(label, label)))
    result = compare(labelled[0], labelled[1], f"First {days} days", f"Last {days} days",
                     missing=NOT_ACTIVE)
    result.notices.append(Notice("windows", (
        f"The data covers {span} days. Each window's features are computed from its own "
        "events (recency counts to the end of the window) and assigned to the nearest "
        "cluster centre of the current clustering."), level="info"))
    return result
