"""Kept events as sorted numpy columns: what the fast feature path works on.

A 10 M-event file never becomes a table of rows here. DuckDB has already sorted the kept
rows' keys (:class:`core.data.cleaning.Decisions`); the other values stream out of the
typed view in batches and land at each row's place in that order, as numbers and codes.
The same columns can be made from a canonical events frame (:func:`columns_from_frame`),
so every caller of the feature table goes one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common.engine import Scratch, quote_ident
from core.data.cleaning import (
    NUMERIC_ROLES,
    TOP_EVENTS,
    CleanRows,
    Summary,
)
from core.data.timestamps import ROW_ID

MICROSECONDS_PER_DAY = 86_400_000_000
#: Text roles the features count distinct values of.
CODED_ROLES = ("category", "product_id", "order_id")
#: Rows per batch streamed out of DuckDB: big enough to amortise the call, small enough
#: that DuckDB holds little besides (measured on 10 M rows: 1 M-row batches, 300 MB;
#: 250 k, 130 MB).
BATCH_ROWS = 250_000
#: Columns whose missing values share one 64-bit mask column.
MASK_BITS = 63


@dataclass
class EventColumns:
    """Kept events as columns, sorted by user and time (ties in file order).

    Attributes
    ----------
    user : ndarray of int32
        The user's number, 0 to ``n_users - 1``, non-decreasing.
    user_ids : ndarray of object
        The id of each user number.
    t : ndarray of int64
        Microseconds since the epoch, UTC; non-decreasing within a user.
    event : ndarray of int32
        Index into ``event_names``.
    session : ndarray of int64
        A number per (user, session), different for every session of the data.
    numeric : dict
        Revenue, quantity, scroll depth and time on page as float64 (NaN = missing).
    text : dict
        Category, product and order as codes (-1 = missing).
    missing : dict
        Missing values per other column (page, extras and the above), for the report.
    """

    user: np.ndarray
    user_ids: np.ndarray
    t: np.ndarray
    event: np.ndarray
    event_names: list[str]
    session: np.ndarray
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    text: dict[str, np.ndarray] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """First row and one past the last row of each user."""
        counts = np.bincount(self.user, minlength=self.n_users)
        ends = np.cumsum(counts)
        return ends - counts, ends

    def events_per_user(self) -> pd.Series:
        return pd.Series(np.bincount(self.user, minlength=self.n_users),
                         index=pd.Index(self.user_ids, name="user_id"))

    def event_counts(self) -> pd.Series:
        """Events per name, most frequent first, ties by name (as SQL orders them)."""
        counts = pd.Series(np.bincount(self.event, minlength=len(self.event_names)),
                           index=pd.Index(self.event_names, dtype=object))
        counts = counts[counts > 0]
        order = np.lexsort((np.array(counts.index, dtype=object).astype(str), -counts.values))
        return counts.iloc[order]

    def summary(self) -> Summary:
        """What the events amount to, as :func:`core.data.cleaning.summary_of` reports."""
        t = self.t
        day = t // MICROSECONDS_PER_DAY
        first_day = int(day.min())
        counts = np.bincount(day - first_day)
        days = np.flatnonzero(counts)
        per_day = counts[days]
        labels = np.datetime_as_string((days + first_day).astype("datetime64[D]"))
        top = self.event_counts().head(TOP_EVENTS)
        return Summary(
            rows_kept=len(t), users=self.n_users, sessions=int(self.session.max()) + 1,
            first_ts=_stamp(int(t.min())), last_ts=_stamp(int(t.max())),
            per_day=[(str(d), int(n)) for d, n in zip(labels, per_day, strict=True)],
            top_events=[(str(e), int(n)) for e, n in top.items()],
            missing={c: n for c, n in self.missing.items() if n})


def _stamp(us: int) -> str:
    return str(np.datetime64(us, "us").astype("datetime64[s]")) + "Z"


def kept_users(s: Scratch, rows: CleanRows) -> tuple[np.ndarray, np.ndarray]:
    """Each kept row's user number and each number's user id."""
    uk = rows.decisions.uk
    new_user = np.ones(len(uk), dtype=bool)
    new_user[1:] = uk[1:] != uk[:-1]
    user = (np.cumsum(new_user) - 1).astype(np.int32)
    # Without the validity test, which would parse the whole row: ids of rows dropped
    # for other reasons are looked up by nobody.
    user_ids = _names(s, f"SELECT hash(user_id) AS __pl_k, any_value(user_id) AS __pl_v FROM "
                         f"{rows.typed} WHERE user_id IS NOT NULL GROUP BY 1", uk[new_user])
    return user, user_ids


def columns_from_rows(s: Scratch, rows: CleanRows, user: np.ndarray, user_ids: np.ndarray,
                      has_file_sessions: bool, dropped_users: np.ndarray | None = None
                      ) -> EventColumns:
    """Stream the kept rows' values out of the typed view into sorted columns.

    Parameters
    ----------
    s : Scratch
        The scratch the rows were cleaned in.
    rows : CleanRows
        From :func:`core.data.cleaning.clean_rows`.
    user, user_ids : ndarray
        From :func:`kept_users` (the ids may have been pseudonymised since).
    has_file_sessions : bool
        Whether a session id column is mapped (gap sessions fill where it is missing).
    dropped_users : ndarray of bool, optional
        Per user number, whether the user's rows are left out (excluded bots).
    """
    decisions, typed = rows.decisions, rows.typed
    rid, t, gap = decisions.rid, decisions.t, decisions.session
    if dropped_users is not None and dropped_users.any():
        keep = ~dropped_users[user]
        rid, t, gap = rid[keep], t[keep], gap[keep]
        user = (np.cumsum(~dropped_users) - 1).astype(np.int32)[user[keep]]
        user_ids = user_ids[~dropped_users]
    n = len(t)
    position = np.full(rows.rows_read, -1, dtype=np.int32)
    position[rid] = np.arange(n, dtype=np.int32)
    present = set(rows.columns)
    numeric = [r for r in NUMERIC_ROLES if r in present]
    coded = ["event", *(r for r in CODED_ROLES if r in present)]
    flagged = [c for c in rows.columns if c not in ("user_id", "ts", "event", "session_id")
               and c not in numeric and c not in coded]
    masks = [flagged[i:i + MASK_BITS] for i in range(0, len(flagged), MASK_BITS)]
    # Text values become dense codes through a join with their distinct values (read
    # without the validity test, which would parse the whole row again).
    tables = {r: s.create(f"codes_{r}", f"SELECT v, CAST(row_number() OVER () - 1 AS INTEGER) "
                                        f"AS c FROM (SELECT DISTINCT {r} AS v FROM {typed} "
                                        f"WHERE {r} IS NOT NULL)")
              for r in coded}
    select = [f"e.{ROW_ID}"]
    select += [f"coalesce(e.{r}, 'NaN'::DOUBLE) AS {r}" for r in numeric]
    select += [f"coalesce(c_{r}.c, -1) AS {r}" for r in coded]
    joins = " ".join(f"LEFT JOIN {tables[r]} c_{r} ON e.{r} = c_{r}.v" for r in coded)
    if has_file_sessions:
        select.append("CASE WHEN e.session_id IS NULL THEN NULL ELSE hash(e.session_id) END "
                      "AS __pl_session_key")
    select += [_mask_sql(group, f"__pl_mask_{i}") for i, group in enumerate(masks)]
    out = {r: np.full(n, np.nan) for r in numeric}
    out |= {r: np.full(n, -1, dtype=np.int32) for r in coded}
    out |= {f"mask_{i}": np.zeros(n, dtype=_MASK_TYPES[_mask_width(group)][1])
            for i, group in enumerate(masks)}
    if has_file_sessions:
        out["session_key"] = np.zeros(n, dtype=np.uint64)
        out["session_null"] = np.zeros(n, dtype=bool)
    # Every row comes, valid or not: rows that are not kept have no place and are
    # skipped, which costs less than parsing each whole row again to test it.
    reader = s.con.sql(f"SELECT {', '.join(select)} FROM {typed} e {joins}"
                       ).to_arrow_reader(BATCH_ROWS)
    with reader:
        for batch in reader:
            _place(batch, position, out)
    del position
    names = {r: _code_names(s, tables[r]) for r in coded}
    missing = {r: int(np.isnan(out[r]).sum()) for r in numeric}
    missing |= {r: int(np.count_nonzero(out[r] < 0)) for r in coded if r != "event"}
    for i, group in enumerate(masks):
        mask = out.pop(f"mask_{i}")
        for b, c in enumerate(group):
            missing[c] = int(np.count_nonzero((mask >> b) & 1))
    missing = {c: missing[c] for c in rows.columns if c in missing}
    session = _sessions(user, gap, out if has_file_sessions else None)
    return EventColumns(user=user, user_ids=user_ids, t=t, event=out["event"],
                        event_names=[str(e) for e in names["event"]], session=session,
                        numeric={r: out[r] for r in numeric},
                        text={r: out[r] for r in coded if r != "event"}, missing=missing)


#: Unsigned integer types by bits: the narrowest that holds a mask column.
_MASK_TYPES = {8: ("UTINYINT", np.uint8), 16: ("USMALLINT", np.uint16),
               32: ("UINTEGER", np.uint32), 64: ("UBIGINT", np.uint64)}


def _mask_width(group: list[str]) -> int:
    return next(bits for bits in _MASK_TYPES if len(group) <= bits)


def _mask_sql(group: list[str], alias: str) -> str:
    """SQL for one bit per column of ``group``, set where the value is missing."""
    bits = " | ".join(f"(CAST(e.{quote_ident(c)} IS NULL AS UBIGINT) << {b})"
                      for b, c in enumerate(group))
    return f"CAST({bits} AS {_MASK_TYPES[_mask_width(group)][0]}) AS {alias}"


def _code_names(s: Scratch, table: str) -> np.ndarray:
    """The values of a code table, indexed by code."""
    frame = s.df(f"SELECT c, v FROM {table} ORDER BY c")
    return frame["v"].to_numpy(object)


def _place(batch, position: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """Put one batch's values at their rows' places; rows not kept are skipped."""
    where = position[batch.column(ROW_ID).to_numpy()]
    kept = where >= 0
    where = where[kept]
    for name in batch.schema.names:
        if name == ROW_ID:
            continue
        column = batch.column(name)
        key = name.removeprefix("__pl_")
        if key == "session_key":
            out["session_null"][where] = column.is_null().to_numpy(zero_copy_only=False)[kept]
            column = column.fill_null(0)
        out[key][where] = column.to_numpy(zero_copy_only=False)[kept]


def _names(s: Scratch, sql: str, keys: np.ndarray) -> np.ndarray:
    """The value behind each hash key, from a query of (key, value) rows."""
    table = s.df(sql)
    lookup = pd.Series(table.iloc[:, 1].to_numpy(object),
                       index=table.iloc[:, 0].to_numpy(np.uint64))
    return lookup.reindex(keys).to_numpy(object)


def _sessions(user: np.ndarray, gap: np.ndarray, file: dict[str, np.ndarray] | None
              ) -> np.ndarray:
    """A number per (user, session): gap sessions are numbered in row order; with a
    session id column, its values where present and gap sessions where missing."""
    if file is None:
        starts = np.ones(len(gap), dtype=bool)
        starts[1:] = (user[1:] != user[:-1]) | (gap[1:] != gap[:-1])
        return np.cumsum(starts) - 1
    key = np.where(file["session_null"], gap.astype(np.uint64), file["session_key"])
    frame = pd.DataFrame({"u": user, "k": key, "gap": file["session_null"]})
    return frame.groupby(["u", "gap", "k"], sort=False).ngroup().to_numpy(np.int64)


def columns_from_frame(events: pd.DataFrame) -> EventColumns:
    """Columns of a canonical events frame (user_id, ts, event, session_id and the
    optional roles), in user and time order.

    Parameters
    ----------
    events : DataFrame
        Canonical events as :func:`core.data.cleaning.clean_events` returns them; ``ts``
        naive UTC or time-zone aware.
    """
    ts = events["ts"]
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    t = ts.to_numpy().astype("datetime64[us]").astype(np.int64)
    user_code, user_ids = pd.factorize(events["user_id"].astype(str), sort=False)
    sorted_rows = bool(np.all(np.diff(user_code) >= 0)) and bool(np.all(
        (np.diff(t) >= 0) | (np.diff(user_code) != 0)))
    order = None if sorted_rows else np.lexsort((t, user_code))

    def arranged(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    user = arranged(user_code).astype(np.int32)
    if order is not None:
        # Numbers follow the new order, so that a user's number is its rank.
        first = np.ones(len(user), dtype=bool)
        first[1:] = user[1:] != user[:-1]
        user_ids = np.asarray(user_ids, dtype=object)[user[first]]
        user = (np.cumsum(first) - 1).astype(np.int32)
    event_code, event_names = pd.factorize(events["event"].astype(str))
    session = pd.DataFrame({"u": user_code, "s": events["session_id"].to_numpy()}).groupby(
        ["u", "s"], sort=False, dropna=False).ngroup().to_numpy(np.int64)
    numeric = {r: arranged(pd.to_numeric(events[r], errors="coerce").to_numpy(float))
               for r in NUMERIC_ROLES if r in events}
    text = {r: arranged(pd.factorize(events[r])[0].astype(np.int64))
            for r in CODED_ROLES if r in events}
    skip = {"user_id", "ts", "event", "session_id"}
    missing = {str(c): int(events[c].isna().sum()) for c in events.columns if c not in skip}
    return EventColumns(user=user, user_ids=np.asarray(user_ids, dtype=object),
                        t=arranged(t), event=arranged(event_code).astype(np.int32),
                        event_names=[str(e) for e in event_names],
                        session=arranged(session), numeric=numeric, text=text,
                        missing=missing)
