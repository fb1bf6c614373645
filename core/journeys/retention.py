"""Retention by cohort, and the lifecycle of active users, per persona or segment.

Calendar periods are read in the data's time zone (``tz``, default UTC): a *week* is an
ISO week, Monday 00:00 to Sunday 24:00; a *month* is a calendar month. A user's
*cohort* is the period of their first event in the data; *period k* of a cohort is the
k-th period after it (period 0 is the cohort's own).

- ``mode="n_period"`` (N-day retention in Amplitude's and Mixpanel's words): a user is
  retained in period k when they have an event in exactly that period.
- ``mode="unbounded"``: retained in period k when they have an event in period k or
  any later one (so the shares never rise with k).

Cells whose period lies after the data's last period are missing, not 0: nothing is
known about them yet. The last period of the data is usually cut short, and a notice
says so. Users seen in the first period may have been active before the data starts;
they all count as new there.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice

Period = Literal["week", "month"]
Mode = Literal["n_period", "unbounded"]

#: Label of everyone when no grouping is given.
ALL_USERS = "All users"
#: Default number of periods after the cohort's own: a quarter of weeks, a year of months.
DEFAULT_MAX_PERIODS = 12
_EPOCH = pd.Timestamp("1970-01-01")
#: 1970-01-01 was a Thursday: day d falls in the Monday-based week (d + 3) // 7.
_THURSDAY_SHIFT = 3

LIFECYCLE_CONVENTION = (
    "Per period and group: new = first event in the data in this period; returning = "
    "active in this period and the previous one; resurrected = active in this period, "
    "not in the previous one, and seen before; dormant = active in the previous period "
    "and not in this one, shown as a negative count (as Mixpanel's and PostHog's "
    "lifecycle charts do). Active = new + returning + resurrected.")


@dataclass(frozen=True)
class RetentionResult:
    """A cohort retention table.

    Attributes
    ----------
    table : DataFrame
        Long form, one row per group, cohort and period: ``group``, ``cohort`` (start of
        the cohort's period, local date), ``cohort_label`` ("2024-03-04" for the ISO
        week starting that Monday, "2024-03" for a month), ``cohort_size``, ``period``
        (0, 1, ...), ``retained`` (users; missing beyond the data's end) and ``share``
        (retained / cohort_size; missing beyond the data's end).
    period : {"week", "month"}
    mode : {"n_period", "unbounded"}
    tz : str
    groups : list of str
    last_period_complete : bool
        False when the data ends before the last period does.
    data_start, data_end : Timestamp
        First and last event, in ``tz``.
    convention : str
    notices : list of Notice
    """

    table: pd.DataFrame
    period: Period
    mode: Mode
    tz: str
    groups: list[str]
    last_period_complete: bool
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    convention: str
    notices: list[Notice] = field(default_factory=list)

    def wide(self, group: str | None = None, value: Literal["share", "retained"] = "share",
             ) -> pd.DataFrame:
        """Cohorts as rows (with their size), periods as columns, for one group (or
        everyone pooled when ``group`` is None)."""
        part = pooled(self) if group is None else self.table[self.table["group"] == group]
        out = part.pivot(index=["cohort_label", "cohort_size"], columns="period", values=value)
        out.columns.name = "period"
        return out


@dataclass(frozen=True)
class _Activity:
    """Distinct (user, period) pairs: ``user`` codes with their ``period`` index,
    sorted by user then period; the group of each user."""

    user: np.ndarray
    period: np.ndarray
    user_group: np.ndarray
    group_names: list[str]
    first: int
    last: int
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    kind: Period
    tz: str
    notices: list[Notice]


def _check_tz(tz: str | None) -> str:
    name = "UTC" if tz is None else str(tz)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"Unknown time zone {name!r}. Give an IANA name such as "
                          "'Europe/Berlin' or 'UTC'.") from None
    return name


def _period_index(local: pd.Series, kind: Period) -> np.ndarray:
    """Period number of local (naive) times: Monday-based weeks or months since 1970."""
    if kind == "week":
        days = ((local - _EPOCH) // pd.Timedelta(days=1)).to_numpy(np.int64)
        return (days + _THURSDAY_SHIFT) // 7
    return (local.dt.year.to_numpy(np.int64) - 1970) * 12 + local.dt.month.to_numpy(np.int64) - 1


def period_start(index: int, kind: Period) -> pd.Timestamp:
    """The local date a period number starts on (a Monday, or the 1st of a month)."""
    if kind == "week":
        return _EPOCH + pd.Timedelta(days=7 * int(index) - _THURSDAY_SHIFT)
    return pd.Timestamp(year=1970 + int(index) // 12, month=int(index) % 12 + 1, day=1)


def period_label(index: int, kind: Period) -> str:
    """"2024-03-04" (the Monday of an ISO week) or "2024-03" (a month)."""
    start = period_start(index, kind)
    return start.strftime("%Y-%m-%d") if kind == "week" else start.strftime("%Y-%m")


def _period_name(kind: Period, n: int = 1) -> str:
    return kind if n == 1 else f"{kind}s"


def _activity(events: pd.DataFrame, kind: object, tz: str | None,
              groups: pd.Series | None) -> _Activity:
    if kind not in ("week", "month"):
        raise ConfigError(f"The period must be 'week' or 'month', not {kind!r}.")
    tz_name = _check_tz(tz)
    missing = [c for c in ("user_id", "ts") if c not in events.columns]
    if missing:
        raise DataError(f"The events have no column {', '.join(map(repr, missing))}; "
                        "retention needs user_id and ts.")
    notices: list[Notice] = []
    frame = events[["user_id", "ts"]]
    unusable = frame.isna().any(axis=1).to_numpy()
    if unusable.any():
        notices.append(Notice("rows_without_values",
                              f"{int(unusable.sum()):,} events without a user or time are "
                              "left out.", "warning"))
        frame = frame[~unusable]
    if frame.empty:
        raise DataError("There are no events with a user and a time. Load an event log.")
    local = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert(tz_name)
    data_start, data_end = local.min(), local.max()
    period = _period_index(local.dt.tz_localize(None), kind)  # type: ignore[arg-type]
    user_code, user_names = pd.factorize(frame["user_id"], sort=True)
    first, last = int(period.min()), int(period.max())
    key = user_code.astype(np.int64) * (last - first + 1) + (period - first)
    key = np.sort(key)
    key = key[np.r_[True, key[1:] != key[:-1]]]
    users, periods = key // (last - first + 1), key % (last - first + 1) + first
    if last == first:
        _refuse_short(kind, data_start, data_end)

    if groups is None:
        user_group = np.zeros(len(user_names), dtype=np.int64)
        group_names = [ALL_USERS]
    else:
        labels = pd.Series(pd.Index(user_names)).map(groups)
        lost = labels.isna().to_numpy()
        if lost.any():
            notices.append(Notice(
                "users_without_group",
                f"{int(lost.sum()):,} users have no group and are left out.", "warning"))
        text = labels.map(lambda v: None if pd.isna(v) else str(v))
        codes, names = pd.factorize(text, sort=True)
        user_group = codes.astype(np.int64)
        group_names = [str(n) for n in names]
        if not group_names:
            raise ConfigError("No user of the events has a group. Choose a grouping "
                              "that covers these users, or none.")
        keep = user_group[users] >= 0
        users, periods = users[keep], periods[keep]
    return _Activity(users, periods, user_group, group_names, first, last, data_start,
                     data_end, kind, tz_name, notices)  # type: ignore[arg-type]


def _refuse_short(kind: Period, start: pd.Timestamp, end: pd.Timestamp) -> None:
    span = f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({start.tzinfo})"
    if kind == "week":
        raise ConfigError(
            f"The data covers one ISO week only ({span}); weekly retention needs events "
            "in at least two weeks (Monday to Sunday). Load a longer period of events.")
    weeks = ((end.tz_localize(None) - _EPOCH).days + _THURSDAY_SHIFT) // 7 \
        - ((start.tz_localize(None) - _EPOCH).days + _THURSDAY_SHIFT) // 7
    hint = "Choose period = week." if weeks >= 1 else \
        "Load a longer period of events (weekly retention needs at least two weeks)."
    raise ConfigError(f"The data covers one calendar month only ({span}); monthly "
                      f"retention needs events in at least two months. {hint}")


def _edge_notices(act: _Activity) -> tuple[list[Notice], bool]:
    """Notices about the cut-short first and last periods; and whether the last is whole."""
    notices = []
    last_start = period_start(act.last, act.kind)
    next_start = period_start(act.last + 1, act.kind)
    days_in = (next_start - last_start).days
    covered = (act.data_end.tz_localize(None).normalize() - last_start).days + 1
    complete = covered >= days_in
    if not complete:
        notices.append(Notice(
            "last_period_incomplete",
            f"The last {act.kind} ({period_label(act.last, act.kind)}) has data for "
            f"{covered} of its {days_in} days (the data ends "
            f"{act.data_end:%Y-%m-%d %H:%M}); its cells count fewer users than a full "
            f"{act.kind} would.", "warning", "period"))
    first_start = period_start(act.first, act.kind)
    if act.data_start.tz_localize(None).normalize() > first_start:
        notices.append(Notice(
            "first_period_partial",
            f"The data starts {act.data_start:%Y-%m-%d}, within the {act.kind} of "
            f"{period_label(act.first, act.kind)}; users seen then may have been active "
            "before, and count as new.", "info", "period"))
    return notices, complete


def _convention(kind: Period, mode: Mode, tz: str) -> str:
    unit = "ISO weeks (Monday to Sunday)" if kind == "week" else "calendar months"
    rule = (f"retained in {kind} k = active in exactly the k-th {kind} after the cohort's "
            f"first" if mode == "n_period" else
            f"retained in {kind} k = active in the k-th {kind} after the cohort's first "
            "or in any later one")
    return (f"Cohorts by the {kind} of a user's first event, {unit} in {tz}; {rule}. "
            "Cells after the data's end are missing, not 0.")


def retention(events: pd.DataFrame, period: Period = "week", mode: Mode = "n_period",
              groups: pd.Series | None = None, max_periods: int = DEFAULT_MAX_PERIODS,
              tz: str | None = "UTC") -> RetentionResult:
    """Cohort retention: of the users first seen in each period, how many come back.

    Parameters
    ----------
    events : DataFrame
        Canonical events (``user_id``, ``ts`` in UTC).
    period : {"week", "month"}
        ISO weeks starting Monday, or calendar months, in ``tz``.
    mode : {"n_period", "unbounded"}
        Active in exactly period k, or in period k or later (see the module docstring).
    groups : Series, optional
        Group per user (persona, segment), indexed by user id; a table per group.
        Users without a group are left out (a notice counts them).
    max_periods : int, default 12
        Periods after the cohort's own (columns 0 .. max_periods).
    tz : str, default "UTC"
        Time zone the calendar is read in.

    Returns
    -------
    RetentionResult

    Raises
    ------
    ConfigError
        Unknown period, mode or time zone, or data within one period (the message says
        what to change).
    DataError
        No usable events.
    """
    if mode not in ("n_period", "unbounded"):
        raise ConfigError(f"The retention mode must be 'n_period' or 'unbounded', "
                          f"not {mode!r}.")
    if isinstance(max_periods, bool) or not isinstance(max_periods, int) or max_periods < 1:
        raise ConfigError(f"The number of periods must be a whole number >= 1, "
                          f"not {max_periods!r}.")
    act = _activity(events, period, tz, groups)
    notices = list(act.notices)
    edge, complete = _edge_notices(act)
    notices += edge
    n_groups = len(act.group_names)
    span = act.last - act.first
    n_k = min(max_periods, span) + 1

    # Per user: cohort (first period) and last period; pairs sorted by user then period.
    starts = np.r_[True, act.user[1:] != act.user[:-1]]
    ends = np.r_[act.user[1:] != act.user[:-1], True]
    cohort_of_user = np.repeat(act.period[starts] - act.first,
                               np.diff(np.r_[np.flatnonzero(starts), len(act.user)]))
    group_of_pair = act.user_group[act.user]
    n_cohorts = span + 1
    offset = act.period - act.first - cohort_of_user
    if mode == "n_period":
        keep = offset < n_k
        counts = np.zeros((n_groups, n_cohorts, n_k), dtype=np.int64)
        np.add.at(counts, (group_of_pair[keep], cohort_of_user[keep], offset[keep]), 1)
    else:
        reach = np.minimum(offset[ends], n_k - 1)  # last active offset, per user
        last_counts = np.zeros((n_groups, n_cohorts, n_k), dtype=np.int64)
        np.add.at(last_counts, (group_of_pair[ends], cohort_of_user[ends], reach), 1)
        counts = np.cumsum(last_counts[:, :, ::-1], axis=2)[:, :, ::-1]
    sizes = counts[:, :, 0]

    g_idx, c_idx, k_idx = np.meshgrid(np.arange(n_groups), np.arange(n_cohorts),
                                      np.arange(n_k), indexing="ij")
    observed = (c_idx + k_idx) <= span
    has_cohort = sizes[g_idx, c_idx] > 0
    rows = has_cohort.ravel()
    retained = pd.array(np.where(observed, counts, 0).ravel()[rows], dtype="Int64")
    retained[~observed.ravel()[rows]] = pd.NA
    size_col = sizes[g_idx, c_idx].ravel()[rows]
    cohort_index = c_idx.ravel()[rows] + act.first
    labels = {c: period_label(c, act.kind) for c in np.unique(cohort_index)}
    starts_of = {c: period_start(c, act.kind) for c in labels}
    table = pd.DataFrame({
        "group": pd.Series(np.asarray(act.group_names, dtype=object)[g_idx.ravel()[rows]],
                           dtype="str"),
        "cohort": pd.to_datetime([starts_of[c] for c in cohort_index]),
        "cohort_label": pd.Series([labels[c] for c in cohort_index], dtype="str"),
        "cohort_size": size_col.astype(np.int64),
        "period": k_idx.ravel()[rows].astype(np.int64),
        "retained": retained,
    })
    table["share"] = (table["retained"].astype("Float64") / table["cohort_size"]
                      ).astype(np.float64)
    if span > max_periods:
        notices.append(Notice(
            "periods_cut",
            f"The data spans {span + 1} {_period_name(act.kind, 2)}; the table shows "
            f"periods 0 to {max_periods}. Raise the number of periods to see more.",
            "info", "max_periods"))
    return RetentionResult(table, act.kind, mode, act.tz, act.group_names, complete,
                           act.data_start, act.data_end,
                           _convention(act.kind, mode, act.tz), notices)


def pooled(result: RetentionResult) -> pd.DataFrame:
    """The retention table with every group added together (group ``ALL_USERS``)."""
    table = result.table
    sizes = table[table["period"] == 0].groupby("cohort")["cohort_size"].sum()
    out = (table.groupby(["cohort", "cohort_label", "period"], as_index=False)
           .agg(retained=("retained", lambda s: s.sum() if s.notna().all() else pd.NA)))
    out["retained"] = out["retained"].astype("Int64")
    out["cohort_size"] = out["cohort"].map(sizes).astype(np.int64)
    out["share"] = (out["retained"].astype("Float64") / out["cohort_size"]).astype(np.float64)
    out.insert(0, "group", ALL_USERS)
    return out[["group", "cohort", "cohort_label", "cohort_size", "period", "retained",
                "share"]]


def retention_curve(result: RetentionResult) -> pd.DataFrame:
    """Per group and period: the users-weighted average share over the cohorts observed
    that far.

    Returns
    -------
    DataFrame
        ``group, period, cohorts, users, retained, share``: ``users`` is the total size
        of the cohorts with period k inside the data, ``retained`` their retained users,
        ``share = retained / users`` (so large cohorts weigh more).
    """
    seen = result.table[result.table["retained"].notna()]
    out = (seen.groupby(["group", "period"], as_index=False)
           .agg(cohorts=("cohort", "size"), users=("cohort_size", "sum"),
                retained=("retained", "sum")))
    out["retained"] = out["retained"].astype(np.int64)
    out["share"] = out["retained"] / out["users"]
    return out


def lifecycle(events: pd.DataFrame, period: Period = "week", groups: pd.Series | None = None,
              tz: str | None = "UTC") -> pd.DataFrame:
    """How active users split into new, returning and resurrected, and who went dormant.

    Per period (ISO week from Monday, or calendar month, in ``tz``) and group:

    - ``new``: users whose first event in the data is in this period;
    - ``returning``: active in this period and in the previous one;
    - ``resurrected``: active in this period, not in the previous one, seen before;
    - ``dormant``: active in the previous period, not in this one; a negative count, so
      that stacked bars show it below zero (Mixpanel's and PostHog's lifecycle);
    - ``active`` = new + returning + resurrected.

    Parameters
    ----------
    events : DataFrame
    period : {"week", "month"}
    groups : Series, optional
        Group per user, indexed by user id.
    tz : str, default "UTC"

    Returns
    -------
    DataFrame
        ``group, period, period_label, new, returning, resurrected, dormant, active``,
        every period from the first to the last of the data for every group.
        ``attrs["convention"]`` is :data:`LIFECYCLE_CONVENTION`, ``attrs["notices"]``
        the notices (a cut-short last period, the first period counting everyone new).

    Raises
    ------
    ConfigError
        Data within one period, unknown period or time zone.
    """
    act = _activity(events, period, tz, groups)
    edge, _ = _edge_notices(act)
    span = act.last - act.first
    n_groups = len(act.group_names)
    same_user_before = np.r_[False, act.user[1:] == act.user[:-1]]
    previous = np.r_[act.first - 2, act.period[:-1]]
    kind = np.where(~same_user_before, 0, np.where(previous == act.period - 1, 1, 2))
    group_of_pair = act.user_group[act.user]
    counts = np.zeros((n_groups, span + 1, 4), dtype=np.int64)
    np.add.at(counts, (group_of_pair, act.period - act.first, kind), 1)
    # Dormant in p + 1: active in p, and the user's next active period is not p + 1.
    same_user_after = np.r_[act.user[1:] == act.user[:-1], False]
    following = np.r_[act.period[1:], act.last + 2]
    gone = (~same_user_after | (following != act.period + 1)) & (act.period < act.last)
    np.add.at(counts, (group_of_pair[gone], act.period[gone] + 1 - act.first, 3), 1)

    g_idx, p_idx = np.meshgrid(np.arange(n_groups), np.arange(span + 1), indexing="ij")
    flat = counts.reshape(-1, 4)
    period_index = p_idx.ravel() + act.first
    out = pd.DataFrame({
        "group": pd.Series(np.asarray(act.group_names, dtype=object)[g_idx.ravel()],
                           dtype="str"),
        "period": pd.to_datetime([period_start(p, act.kind) for p in period_index]),
        "period_label": pd.Series([period_label(p, act.kind) for p in period_index],
                                  dtype="str"),
        "new": flat[:, 0],
        "returning": flat[:, 1],
        "resurrected": flat[:, 2],
        "dormant": -flat[:, 3],
    })
    out["active"] = out["new"] + out["returning"] + out["resurrected"]
    notices = list(act.notices) + edge
    notices.append(Notice(
        "first_period_all_new",
        f"Everyone active in the first {act.kind} of the data "
        f"({period_label(act.first, act.kind)}) counts as new: earlier activity is not "
        "in the data.", "info", "period"))
    out.attrs["convention"] = LIFECYCLE_CONVENTION + (
        f" Periods: {'ISO weeks from Monday' if act.kind == 'week' else 'calendar months'}"
        f" in {act.tz}.")
    out.attrs["notices"] = notices
    return out
