"""From canonical events and analyst weights to a user × item matrix.

Each event name gets a weight (product view 1, cart add 3, purchase 5, say); events with
weight 0 or without one are not interactions. The matrix holds, per user and item, the
sum of the weights of that user's events on that item. Two matrices with the same
pattern travel with it: how many events each cell sums, and the strongest event of the
cell (the one with the highest weight), which the reasons put into words ("viewed",
"bought").

Rows of a weighted event without an item (a checkout has no product) cannot be placed in
the matrix: they are counted and reported as a notice, never dropped silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice

#: The item column used when none is named: the canonical product role of the Data page.
DEFAULT_ITEM_COLUMN = "product_id"
#: A weight above this is almost certainly a typo (weights are relative importances).
MAX_WEIGHT = 1000.0
#: How many event names a notice lists before "and N more".
NAMES_LISTED = 5


@dataclass(frozen=True)
class Interactions:
    """The user × item interactions of an event log.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        ``(len(users), len(items))``, float32: summed event weights per user and item.
    counts : scipy.sparse.csr_matrix
        Same pattern, int32: the number of weighted events in each cell.
    strongest : scipy.sparse.csr_matrix
        Same pattern, int16: ``1 +`` the position in :attr:`events` of the cell's
        highest-weight event (stored plus one so that no stored value is 0).
    users, items : pandas.Index
        User and item ids of the rows and columns, sorted.
    events : tuple of str
        The weighted event names, highest weight first (ties by name).
    weights : dict of str to float
        The analyst's weights of those events.
    item_column : str
        The events' column the items came from.
    notices : list of Notice
        Rows left out and why.
    """

    matrix: sp.csr_matrix
    counts: sp.csr_matrix
    strongest: sp.csr_matrix
    users: pd.Index
    items: pd.Index
    events: tuple[str, ...]
    weights: dict[str, float]
    item_column: str
    notices: list[Notice] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def rows_of(self, user_ids: object) -> np.ndarray:
        """Row of each user id, -1 for users without interactions."""
        return self.users.get_indexer(pd.Index(user_ids))

    def history(self, row: int) -> np.ndarray:
        """Item columns the user of ``row`` interacted with, in column order."""
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        return self.matrix.indices[start:end]

    def history_table(self, user_id: object) -> pd.DataFrame:
        """One user's items: ``item, weight`` (summed), ``events`` and ``strongest`` (the
        highest-weight event), heaviest first; empty for a user without interactions."""
        row = self.users.get_indexer([str(user_id)])[0]
        if row < 0:
            return pd.DataFrame({"item": pd.Series(dtype="str"),
                                 "weight": pd.Series(dtype="float64"),
                                 "events": pd.Series(dtype="int64"),
                                 "strongest": pd.Series(dtype="str")})
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        codes = self.strongest.data[start:end].astype(np.int64) - 1
        table = pd.DataFrame({
            "item": pd.Series(self.items.to_numpy()[self.history(row)].astype(str), dtype="str"),
            "weight": self.matrix.data[start:end].astype(np.float64),
            "events": self.counts.data[start:end].astype(np.int64),
            "strongest": pd.Series(np.asarray(self.events, dtype=object)[codes], dtype="str")})
        return table.sort_values(["weight", "item"], ascending=[False, True],
                                 ignore_index=True)

    def item_users(self) -> np.ndarray:
        """How many users interacted with each item (the popularity of the catalogue)."""
        return np.diff(self.matrix.tocsc().indptr).astype(np.int64)


def check_weights(weights: Mapping[str, object]) -> dict[str, float]:
    """The weights as floats, those above 0 only.

    Raises
    ------
    ConfigError
        A weight that is not a finite number from 0 to :data:`MAX_WEIGHT`, or no weight
        above 0.
    """
    if not isinstance(weights, Mapping):
        raise ConfigError("Event weights must be a mapping of event name to number.")
    checked = {}
    for name, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or not 0 <= value <= MAX_WEIGHT:
            raise ConfigError(f"The weight of '{name}' must be a number from 0 to "
                              f"{MAX_WEIGHT:g}, not {value!r}. Give 0 to leave the event "
                              "out.")
        if value > 0:
            checked[str(name)] = float(value)
    if not checked:
        raise ConfigError("No event has a weight above 0, so there are no interactions. "
                          "Give at least one event (a product view, a purchase) a weight.")
    return checked


def item_column_of(events: pd.DataFrame, item_column: str | None = None) -> str:
    """The events' item column: ``item_column`` or :data:`DEFAULT_ITEM_COLUMN`.

    Raises
    ------
    ConfigError
        The column is not in the events.
    """
    column = item_column or DEFAULT_ITEM_COLUMN
    if column not in events.columns:
        hint = ("Map the product (item) column on the Data page, or name the column that "
                "holds the items." if item_column is None else "Choose one of the events' "
                f"columns: {', '.join(map(str, events.columns))}.")
        raise ConfigError(f"The events have no item column '{column}', so there is nothing "
                          f"to recommend. {hint}")
    return column


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_LISTED])
    return shown + (f" and {len(names) - NAMES_LISTED} more" if len(names) > NAMES_LISTED
                    else "")


def _placeable(frame: pd.DataFrame, item: pd.Series, column: str, used: list[str]
               ) -> tuple[np.ndarray, list[Notice]]:
    """Which weighted events have a user and an item; notices counting the others.

    Raises
    ------
    DataError
        None has an item.
    """
    no_item = (item.isna() | (item == "")).to_numpy()
    no_user = frame["user_id"].isna().to_numpy() & ~no_item
    notices = []
    if no_item.any():
        per_event = frame.loc[no_item, "event"].value_counts()
        detail = ", ".join(f"{int(n):,} {e}" for e, n in per_event.items())
        notices.append(Notice(
            "rows_without_item",
            f"{int(no_item.sum()):,} weighted events have no {column} and are left out "
            f"({detail}).", "warning", column))
    if no_user.any():
        notices.append(Notice("rows_without_user", f"{int(no_user.sum()):,} weighted events "
                              "have no user and are left out.", "warning", "user_id"))
    keep = ~(no_item | no_user)
    if not keep.any():
        raise DataError(f"None of the weighted events ({_listed(used)}) has a {column}. "
                        "Weight events that name an item, or choose another item column.")
    return keep, notices


def weighted_rows(events: pd.DataFrame, weights: Mapping[str, object],
                  item_column: str | None = None) -> tuple[pd.DataFrame, list[Notice]]:
    """The events that are interactions: weighted, with a user and an item.

    Parameters
    ----------
    events : DataFrame
        Canonical events (``user_id``, ``ts``, ``event`` and the item column).
    weights : mapping of str to float
        Weight per event name; 0 or missing leaves the event out.
    item_column : str, optional
        Default :data:`DEFAULT_ITEM_COLUMN`.

    Returns
    -------
    rows : DataFrame
        ``user_id, ts, event, item, weight`` (user and item as text).
    notices : list of Notice
        ``rows_without_item`` (counted per event), ``events_not_weighted``.

    Raises
    ------
    ConfigError
        No item column, no weight above 0, or none of the weighted events in the data.
    DataError
        Weighted events exist but none has an item.
    """
    checked = check_weights(weights)
    column = item_column_of(events, item_column)
    missing = [c for c in ("user_id", "ts", "event") if c not in events.columns]
    if missing:
        raise DataError(f"The events have no column {', '.join(map(repr, missing))}; "
                        "recommendations need user_id, ts and event.")
    names = events["event"].astype("string")
    present = set(names.dropna().unique())
    used = [e for e in checked if e in present]
    if not used:
        raise ConfigError(f"None of the weighted events ({_listed(sorted(checked))}) is in "
                          f"the data. Weight events the data has: "
                          f"{_listed(sorted(present))}.")
    notices: list[Notice] = []
    ignored = sorted(present - set(used))
    if ignored:
        notices.append(Notice("events_not_weighted", f"Events without a weight are not "
                              f"interactions: {_listed(ignored)}.", "info", "weights"))
    frame = events.loc[names.isin(used).fillna(False).to_numpy(),
                       ["user_id", "ts", "event", column]]
    item = frame[column].astype("string")
    keep, dropped = _placeable(frame, item, column, used)
    notices += dropped
    kept = frame[keep]
    rows = pd.DataFrame({"user_id": kept["user_id"].astype(str), "ts": kept["ts"],
                         "event": kept["event"].astype(str),
                         "item": item[keep].astype(str)}).reset_index(drop=True)
    rows["weight"] = rows["event"].map(checked).astype(np.float32)
    return rows, notices


def event_order(weights: Mapping[str, float]) -> tuple[str, ...]:
    """Event names by weight, highest first, ties by name (the codes of ``strongest``)."""
    return tuple(sorted(weights, key=lambda e: (-weights[e], e)))


def from_rows(rows: pd.DataFrame, weights: Mapping[str, float], item_column: str,
              notices: list[Notice] | None = None, users: pd.Index | None = None,
              items: pd.Index | None = None) -> Interactions:
    """The interactions of :func:`weighted_rows` output.

    ``users`` and ``items`` fix the rows and columns (rows of other users or items are
    not counted; the evaluation maps test events onto the training catalogue this way);
    by default they are the sorted ids of ``rows``.
    """
    checked = {e: float(w) for e, w in weights.items() if w > 0}
    order = event_order(checked)
    users = pd.Index(np.sort(rows["user_id"].unique()) if users is None else users)
    items = pd.Index(np.sort(rows["item"].unique()) if items is None else items)
    u = users.get_indexer(rows["user_id"])
    i = items.get_indexer(rows["item"])
    inside = (u >= 0) & (i >= 0)
    rank = pd.Index(order).get_indexer(rows["event"])[inside]
    pairs = pd.DataFrame({"key": u[inside].astype(np.int64) * max(len(items), 1) + i[inside],
                          "weight": rows["weight"].to_numpy()[inside], "rank": rank})
    cells = pairs.groupby("key", sort=True).agg(weight=("weight", "sum"),
                                                count=("weight", "size"),
                                                rank=("rank", "min"))
    key = cells.index.to_numpy()
    row, col = key // max(len(items), 1), key % max(len(items), 1)
    indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=len(users)))]
    shape = (len(users), len(items))

    def matrix(values: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((values, col.astype(np.int32), indptr), shape=shape)

    return Interactions(matrix(cells["weight"].to_numpy(np.float32)),
                        matrix(cells["count"].to_numpy(np.int32)),
                        matrix((cells["rank"].to_numpy() + 1).astype(np.int16)),
                        users, items, order, checked, item_column, list(notices or []))


def build_interactions(events: pd.DataFrame, weights: Mapping[str, object],
                       item_column: str | None = None) -> Interactions:
    """The user × item matrix of summed weights of an event log.

    Parameters
    ----------
    events : DataFrame
        Canonical events: ``user_id``, ``ts``, ``event`` and the item column.
    weights : mapping of str to float
        Weight per event name, e.g. ``{"product_view": 1, "add_to_cart": 3,
        "purchase": 5}``; events with weight 0 or not listed are ignored.
    item_column : str, optional
        Default ``product_id``.

    Returns
    -------
    Interactions
        With notices counting the rows left out (weighted events without an item).

    Raises
    ------
    ConfigError
        No item column, no weight above 0, or no weighted event in the data.
    DataError
        No weighted event names an item.

    Examples
    --------
    >>> events = pd.DataFrame({"user_id": ["a", "a", "b"], "ts": pd.to_datetime(
    ...     ["2024-01-01", "2024-01-02", "2024-01-01"]), "event": ["view", "buy", "view"],
    ...     "product_id": ["x", "x", "y"]})
    >>> build_interactions(events, {"view": 1, "buy": 5}).matrix.toarray().tolist()
    [[6.0, 0.0], [0.0, 1.0]]
    """
    rows, notices = weighted_rows(events, weights, item_column)
    return from_rows(rows, check_weights(weights), item_column_of(events, item_column),
                     notices)
