"""How users move between personas: two labelings compared, counted and drawn.

Two comparisons are offered:

- :func:`period_migration`: the first and the last N days of the event data (45 by
  default). Features are computed for each window with the clustering's own feature
  settings, transformed with the fitted preprocessing (fitted on the whole data, as for
  the clustering) and assigned to the nearest cluster centre in the preprocessed space.
  Users without events in a window count as "Not active" there.
- :func:`rerun_migration`: the personas before and after the last re-clustering of the
  same users (from the labels kept in the persona state's ``previous``).

Each comparison explains the movement (:class:`Movement`) in categories that add up to
every user: stayed in their persona, moved to another (from -> to counts), new (only in
the later window or run), dormant (only in the earlier one) and, for periods, users
active only between the windows; users who came back after a gap (no events between
the windows) are counted among those active in both, when the windows leave a gap.
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
#: Sankey node names of users without a persona on one side of a comparison: they say
#: what the users are and why (a persona may well be called "Dormant" itself).
NEW = "New: no events in the first {days} days"
DORMANT = "Dormant: no events in the last {days} days"
NEWLY_CLUSTERED = "New: not clustered before the re-run"
NO_LONGER_CLUSTERED = "Gone: not clustered by the re-run"
DEFAULT_WINDOW_DAYS = 45
#: Count columns for this many event types are computed per window, so every count the
#: clustering used exists there (a type absent from a window is a true zero).
WINDOW_EVENT_TYPES = 50


@dataclass
class Movement:
    """How users moved, in categories that add up to :attr:`total`.

    Attributes
    ----------
    kind : "period" or "rerun"
        Windows of the event data, or two clusterings of it.
    total : int
        Every user counted: ``stayed + moved + new + dormant + between``.
    stayed, moved : int
        Users with a persona on both sides: the same one, or another.
    new : int
        Users with a persona only on the later side (no events in the first window; not
        clustered by the earlier run).
    dormant : int
        Users with a persona only on the earlier side (no events in the last window; not
        clustered by the re-run).
    between : int
        Periods only: users whose events all fall between the two windows.
    returning, returning_same : int or None
        Periods with a gap between the windows: users active in both windows but not in
        between (came back), and how many of them in the same persona; None when the
        windows leave no gap (see ``returning_note``).
    returning_note : str
        How returning users were counted, or why they cannot be.
    moves : DataFrame
        ``From``, ``To``, ``Users``: every persona-to-persona move, most users first.
    days : int or None
        Window length of a period comparison.
    """

    kind: str
    total: int
    stayed: int
    moved: int
    new: int
    dormant: int
    between: int = 0
    returning: int | None = None
    returning_same: int | None = None
    returning_note: str = ""
    moves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["From", "To", "Users"]))
    days: int | None = None

    @property
    def incoming(self) -> str:
        """The Sankey node of users without a persona on the earlier side."""
        return NEW.format(days=self.days) if self.kind == "period" else NEWLY_CLUSTERED

    @property
    def outgoing(self) -> str:
        """The Sankey node of users without a persona on the later side."""
        return DORMANT.format(days=self.days) if self.kind == "period" \
            else NO_LONGER_CLUSTERED

    def categories(self) -> pd.DataFrame:
        """One row per category: ``Users``, ``Share`` of the total and what it means."""
        d = self.days
        if self.kind == "period":
            rows = [
                ("Stayed", self.stayed, "Active in both windows, the same persona in both."),
                ("Moved", self.moved, "Active in both windows, another persona in the last."),
                ("New", self.new, f"No events in the first {d} days (first seen after "
                 f"them), active in the last {d} days."),
                ("Dormant", self.dormant, f"Active in the first {d} days, no events in the "
                 f"last {d} days."),
                ("Only between the windows", self.between, f"Events only after the first "
                 f"{d} days and before the last {d} days."),
            ]
        else:
            rows = [
                ("Stayed", self.stayed, "The same persona before and after the re-run."),
                ("Moved", self.moved, "Another persona after the re-run."),
                ("New", self.new, "Clustered only by the re-run (the earlier run excluded "
                 "them for missing values or as outliers)."),
                ("No longer clustered", self.dormant, "Clustered only by the earlier run "
                 "(the re-run excluded them)."),
            ]
        table = pd.DataFrame(rows, columns=["Category", "Users", "Meaning"])
        table.insert(2, "Share", table["Users"] / self.total if self.total else 0.0)
        return table

    def sentence(self) -> str:
        """The categories in words ("Of 5,000 users: 1,910 stayed in their persona, ...")."""
        d = self.days
        parts = [f"{self.stayed:,} stayed in their persona",
                 f"{self.moved:,} moved to another persona"]
        if self.kind == "period":
            parts.append(f"{self.new:,} {'is' if self.new == 1 else 'are'} new in the last "
                         f"{d} days (no events in the first {d})")
            parts.append(f"{self.dormant:,} {'was' if self.dormant == 1 else 'were'} dormant "
                         f"(no events in the last {d} days)")
            if self.between:
                parts.append(f"{self.between:,} {'was' if self.between == 1 else 'were'} "
                             "active only between the two windows")
        else:
            if self.new:
                parts.append(f"{self.new:,} {'is' if self.new == 1 else 'are'} clustered "
                             "only by the re-run")
            if self.dormant:
                parts.append(f"{self.dormant:,} {'was' if self.dormant == 1 else 'were'} "
                             "clustered only by the earlier run")
        text = f"Of {self.total:,} users: " + ", ".join(parts[:-1]) + " and " + parts[-1] + "."
        if self.returning is not None:
            both = self.stayed + self.moved
            text += (f" Of the {both:,} active in both windows, {self.returning:,} came back "
                     f"after a gap (no events between the windows), {self.returning_same:,} "
                     "of them in the same persona.")
        return text


def movement(table: pd.DataFrame, kind: str, days: int | None = None, total: int | None = None,
             returning: int | None = None, returning_same: int | None = None,
             returning_note: str = "") -> Movement:
    """The categories of a crosstab of personas (rows: before, columns: after; users
    without a persona on a side in the row or column :data:`NOT_ACTIVE` /
    :data:`NOT_PRESENT`). ``total`` counts every user (those in no window too)."""
    missing = {NOT_ACTIVE, NOT_PRESENT}
    personas_before = [r for r in table.index if r not in missing]
    personas_after = [c for c in table.columns if c not in missing]
    inner = table.loc[personas_before, personas_after]
    same = [p for p in personas_before if p in personas_after]
    stayed = int(sum(inner.at[p, p] for p in same))
    both = int(inner.to_numpy().sum())
    new = int(table.loc[[r for r in table.index if r in missing], personas_after]
              .to_numpy().sum())
    dormant = int(table.loc[personas_before, [c for c in table.columns if c in missing]]
                  .to_numpy().sum())
    counted = int(table.to_numpy().sum())
    long = inner.stack().rename("Users").reset_index()
    long.columns = ["From", "To", "Users"]
    moves = long[(long["From"] != long["To"]) & (long["Users"] > 0)]
    moves = moves.sort_values(["Users", "From", "To"], ascending=[False, True, True],
                              kind="stable").reset_index(drop=True)
    moves["Users"] = moves["Users"].astype(int)
    total = counted if total is None else total
    return Movement(kind=kind, total=total, stayed=stayed, moved=both - stayed, new=new,
                    dormant=dormant, between=total - counted, returning=returning,
                    returning_same=returning_same, returning_note=returning_note,
                    moves=moves, days=days)


@dataclass
class Migration:
    """Users per (before, after) persona pair.

    ``table`` is the crosstab (rows: before, columns: after); ``flows`` the non-zero
    pairs in long form (source, target, users); ``movement`` the same users in
    categories (stayed, moved, new, dormant, ...), in words.
    """

    before_name: str
    after_name: str
    table: pd.DataFrame
    notices: list[Notice] = field(default_factory=list)
    movement: Movement | None = None

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
    result = compare(before.map(lambda label: old_names.get(label, label)),
                     labels.astype(str).map(lambda label: new_names.get(label, label)),
                     "Before the re-run", "After the re-run")
    result.movement = movement(result.table, "rerun", returning_note=(
        "A re-run clusters the same event data again, so users do not leave and come back "
        "between the two: they can only enter or leave through the exclusions (missing "
        "values, outliers). Compare the first and last days of the data to see users who "
        "came back after a gap."))
    return result


def _windows(events: pd.DataFrame, days: int
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, int]:
    """The first and the last ``days`` days, the events between them (None when the
    windows leave no time between them), and the span in days."""
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
    late_start = max(split, last - pd.Timedelta(days=days))
    early = events[ts < split]
    late = events[ts >= late_start]
    middle = events[(ts >= split) & (ts < late_start)] if late_start > split else None
    return early, late, middle, round(span)


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
    early, late, middle, span = _windows(events, days)
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
    both = labelled[0].index.intersection(labelled[1].index)
    if middle is None:
        returning = returning_same = None
        note = (f"Users who left and came back cannot be told apart here: the two windows "
                f"of {days} days cover all {span} days of the data, with no time between "
                "them. Choose shorter windows to count them.")
    else:
        back = both.difference(pd.Index(middle["user_id"].unique()))
        returning = len(back)
        returning_same = int((labelled[0][back] == labelled[1][back]).sum())
        note = (f"Returning: active in the first and the last {days} days, with no events "
                "between the two windows.")
    unassigned = sum(int(w["user_id"].nunique()) - len(lab)
                     for w, lab in zip((early, late), labelled, strict=True))
    result.movement = movement(result.table, "period", days=days,
                               total=int(events["user_id"].nunique()), returning=returning,
                               returning_same=returning_same, returning_note=note)
    if unassigned:
        result.notices.append(Notice("unassigned", (
            f"{unassigned:,} user-window(s) had events but could not be assigned to a "
            "persona (the preprocessing excludes them, e.g. for missing values); they "
            "count as not active in that window."), level="info"))
    result.notices.append(Notice("windows", (
        f"The data covers {span} days. Each window's features are computed from its own "
        "events (recency counts to the end of the window) and assigned to the nearest "
        "cluster centre of the current clustering."), level="info"))
    return result
