"""Funnels: how many users go through a sequence of steps, split by persona or segment.

Conventions (the same text is on every result as ``convention``):

**Ordered** (the default, as Mixpanel's and PostHog's ordered funnels). A user enters
the funnel at an occurrence of step 1. From an entry, step k is the *first* occurrence
of step k at or after the time of step k-1 (other events may come in between; an event
at the same timestamp counts as in order; one event never counts for two steps). Every
step must happen within ``window`` of the entry: a step exactly ``window`` after the
entry counts, one microsecond later does not. A user who entered several times is
counted once, with the entry that reached the furthest step (ties: the earliest such
entry); the times between steps are those of that entry.

**Any order** (as PostHog's unordered funnels). A user enters at an occurrence of *any*
of the steps. From an entry at time t, the user has done every step that occurs at
least once in [t, t + window] (the entry's own step included). The funnel's row k
counts users who did at least k of the n steps within one window: "step 2" means "any 2
of the steps", not the second step listed. The user's entry is the one that covers the
most steps (ties: the earliest). The times between steps are between the first
occurrences of the distinct steps in that window, in time order. One event that matches
two step definitions counts for both.

A step is an event name, optionally with property filters (``page == "home"``); a
property value matches when its text equals the filter's text (numbers also match by
value: "2" matches 2.0).

Statistics. Across groups, a chi-square test of independence of converted (reached the
last step) against not, among entrants (:func:`scipy.stats.chi2_contingency`, with
Yates' correction when there are two groups, scipy's default); pairwise two-proportion
z-tests (pooled) with Holm's correction across the pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.journeys.order import (
    Timeline,
    check_events,
    codes_of,
    first_at_or_after,
    require_columns,
    timeline,
)
from core.segment.labels import sorted_labels

Order = Literal["ordered", "any"]
ORDERS: tuple[Order, ...] = ("ordered", "any")
#: Fewer than two steps is not a funnel; more than eight no longer fits a chart and is
#: usually better read as a path.
MIN_STEPS, MAX_STEPS = 2, 8
DEFAULT_WINDOW = pd.Timedelta(days=7)
#: Label of users without a group when groups are given.
NO_GROUP = "(no group)"
#: Label of everyone when no groups are given (and of the overall table).
ALL_USERS = "All users"
#: Cochran's rule: the chi-square approximation needs expected counts of at least 5.
MIN_EXPECTED = 5.0
#: Significance level of the pairwise comparisons (after Holm's correction).
ALPHA = 0.05
#: How many event names an error message lists.
LIST_EVENTS = 30
_MISSING = np.iinfo(np.int64).max

CONVENTION_ORDERED = (
    "Ordered funnel: a user enters at an occurrence of step 1; each next step is the first "
    "occurrence of that step at or after the previous step (other events may come between; "
    "equal timestamps count as in order; one event counts for one step only), all within "
    "the window from the entry (a step exactly at the window's end counts). A user who "
    "entered several times is counted with the entry that reached the furthest step "
    "(ties: the earliest); times between steps come from that entry.")
CONVENTION_ANY = (
    "Any-order funnel: a user enters at an occurrence of any step; from an entry at time t "
    "the user did every step that occurs in [t, t + window]. Row k counts users who did at "
    "least k of the steps within one window (any k of them, not the k-th listed). Each "
    "user is counted with the entry that covers most steps (ties: the earliest); times "
    "between steps are between the first occurrences of the distinct steps, in time order. "
    "One event that matches two step definitions counts for both.")


# spec --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One funnel step: an event name, optionally with property filters.

    Attributes
    ----------
    event : str
        The event name, as in the ``event`` column.
    filters : tuple of (property, value)
        Every property must equal its value (compared as text; numbers also by value).
    """

    event: str
    filters: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.event, str) or not self.event.strip():
            raise ConfigError(f"A funnel step needs an event name, not {self.event!r}. "
                              "Choose one of the events of the data.")
        try:
            filters = tuple((str(p), str(v)) for p, v in self.filters)
        except (TypeError, ValueError):
            raise ConfigError(
                f"The filters of step '{self.event}' must be (property, value) pairs, not "
                f"{self.filters!r}.") from None
        object.__setattr__(self, "filters", filters)

    @property
    def label(self) -> str:
        """The event name, with its filters in brackets: ``view (page = home)``."""
        if not self.filters:
            return self.event
        return f"{self.event} ({', '.join(f'{p} = {v}' for p, v in self.filters)})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"event": self.event, "filters": [[p, v] for p, v in self.filters]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        """Rebuild from :meth:`to_dict` output."""
        if not isinstance(data, dict) or "event" not in data:
            raise ConfigError(f"A saved funnel step must have an 'event', not {data!r}.")
        return cls(data["event"], tuple(tuple(f) for f in data.get("filters") or ()))


@dataclass(frozen=True)
class FunnelSpec:
    """A funnel: its steps, the conversion window and the step order.

    Raises
    ------
    ConfigError
        With fewer than 2 or more than 8 steps, a window that is not positive, an unknown
        order, or (in any order) the same step twice.
    """

    steps: tuple[Step, ...]
    window: pd.Timedelta = DEFAULT_WINDOW
    order: Order = "ordered"

    def __post_init__(self) -> None:
        steps = tuple(s if isinstance(s, Step) else Step(s) if isinstance(s, str)
                      else Step.from_dict(s) for s in self.steps)
        object.__setattr__(self, "steps", steps)
        if not MIN_STEPS <= len(steps) <= MAX_STEPS:
            raise ConfigError(f"A funnel has {MIN_STEPS} to {MAX_STEPS} steps; this one has "
                              f"{len(steps)}. Add or remove steps.")
        try:
            window = pd.Timedelta(self.window)
        except (TypeError, ValueError):
            raise ConfigError(f"The conversion window must be a duration such as '7 days', "
                              f"not {self.window!r}.") from None
        if pd.isna(window) or window <= pd.Timedelta(0):
            raise ConfigError(f"The conversion window must be positive, not {self.window!r}. "
                              "7 days is a common choice.")
        object.__setattr__(self, "window", window)
        if self.order not in ORDERS:
            raise ConfigError(f"The step order must be one of {', '.join(ORDERS)}, not "
                              f"{self.order!r}.")
        if self.order == "any" and len(set(steps)) < len(steps):
            raise ConfigError("In an any-order funnel the same step twice is one step. Remove "
                              "the repeated step or use the ordered funnel.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the window in seconds)."""
        return {"steps": [s.to_dict() for s in self.steps],
                "window_seconds": self.window.total_seconds(), "order": self.order}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunnelSpec:
        """Rebuild from :meth:`to_dict` output."""
        if not isinstance(data, dict) or "steps" not in data:
            raise ConfigError(f"A saved funnel must have 'steps', not {data!r}.")
        window = data.get("window_seconds")
        return cls(tuple(Step.from_dict(s) for s in data["steps"]),
                   DEFAULT_WINDOW if window is None else pd.Timedelta(seconds=float(window)),
                   data.get("order", "ordered"))


# result ------------------------------------------------------------------------------------
@dataclass
class GroupTest:
    """Chi-square test of independence: converted or not, by group, among entrants.

    Attributes
    ----------
    table : DataFrame
        Groups × ``converted`` / ``not_converted`` counts the test ran on.
    statistic, p_value : float
    dof : int
    n : int
        Entrants in the test.
    min_expected : float
        The smallest expected count (below 5 the p-value is approximate).
    """

    table: pd.DataFrame
    statistic: float
    p_value: float
    dof: int
    n: int
    min_expected: float


@dataclass
class FunnelResult:
    """A funnel computed on an event log.

    Attributes
    ----------
    spec : FunnelSpec
    steps : DataFrame
        One row per group and step: ``group``, ``step`` (1..n), ``label``, ``users``,
        ``dropped`` (users who reached the previous step but not this one),
        ``conversion_from_previous``, ``conversion_from_first``, and ``median_s``,
        ``q1_s``, ``q3_s`` (seconds from the previous step; NaN at step 1).
    overall : DataFrame
        The same for all entrants together (group :data:`ALL_USERS`).
    reached : Series
        Entrant user id -> number of steps reached (1..n). Users who never entered are
        not in it.
    step_times : DataFrame
        Entrant user id -> seconds from step k-1 to step k, in columns 2..n (NaN where
        the user did not reach step k).
    groups : Series
        Entrant user id -> group label.
    test : GroupTest or None
        None with fewer than two groups or when it cannot be computed (see notices).
    pairwise : DataFrame
        ``group_a``, ``group_b``, ``conversion_a``, ``conversion_b``, ``difference``,
        ``z``, ``p_value``, ``p_holm``, ``significant`` (p_holm < 0.05).
    notices : list of Notice
    convention : str
        How the funnel was counted, in words.
    """

    spec: FunnelSpec
    steps: pd.DataFrame
    overall: pd.DataFrame
    reached: pd.Series
    step_times: pd.DataFrame
    groups: pd.Series
    test: GroupTest | None
    pairwise: pd.DataFrame
    notices: list[Notice] = field(default_factory=list)
    convention: str = CONVENTION_ORDERED

    @property
    def group_labels(self) -> list[str]:
        """The groups in table order."""
        return list(dict.fromkeys(self.steps["group"]))

    @property
    def entrants(self) -> int:
        """Users who entered the funnel."""
        return len(self.reached)


# matching ----------------------------------------------------------------------------------
def _equals(column: pd.Series, value: str) -> np.ndarray:
    """Rows whose value equals ``value`` as text (numbers also by value)."""
    if pd.api.types.is_bool_dtype(column):
        wanted = value.strip().lower()
        if wanted not in ("true", "false", "1", "0"):
            return np.zeros(len(column), dtype=bool)
        return column.fillna(False).to_numpy(dtype=bool) == (wanted in ("true", "1"))
    if pd.api.types.is_numeric_dtype(column):
        try:
            number = float(value)
        except ValueError:
            return np.zeros(len(column), dtype=bool)
        return (column.to_numpy(dtype=float, na_value=np.nan) == number)
    text = column.astype("string")
    return (text == value).fillna(False).to_numpy(dtype=bool)


def event_list(names: pd.Index) -> str:
    """The event names for a message: sorted, quoted, the first 30 and how many more."""
    names = sorted(map(str, names))
    shown = ", ".join(f"'{n}'" for n in names[:LIST_EVENTS])
    more = f" and {len(names) - LIST_EVENTS:,} more" if len(names) > LIST_EVENTS else ""
    return f"{shown}{more}" if names else "none"


def step_masks(events: pd.DataFrame, steps: tuple[Step, ...] | list[Step],
               what: str = "The funnel",
               event_codes: tuple[np.ndarray, pd.Index] | None = None
               ) -> tuple[list[np.ndarray], list[Notice]]:
    """One boolean row mask per step (event name and filters).

    Parameters
    ----------
    event_codes : (codes, names), optional
        :func:`core.journeys.order.codes_of` the ``event`` column, when the caller has it.

    Raises
    ------
    ConfigError
        When a step's event is not in the data (the message lists the events there are)
        or a filter's property is not a column.
    """
    check_events(events)
    require_columns(events, sorted({p for s in steps for p, _ in s.filters}), what)
    codes, names = event_codes or codes_of(events["event"])
    number_of = {str(name): i for i, name in enumerate(names)}
    by_event = {s.event: codes == number_of[s.event] for s in steps if s.event in number_of}
    missing = [s.event for s in steps if s.event not in by_event or not by_event[s.event].any()]
    if missing:
        present = names[np.unique(codes[codes >= 0])] if isinstance(
            events["event"].dtype, pd.CategoricalDtype) else names
        raise ConfigError(
            f"{what} uses the event(s) {', '.join(repr(m) for m in dict.fromkeys(missing))}, "
            f"which the data does not have. Events there are: {event_list(present)}.")
    masks, notices = [], []
    for number, step in enumerate(steps, start=1):
        mask = by_event[step.event]
        if step.filters:
            rows = np.flatnonzero(mask)
            keep = np.ones(len(rows), dtype=bool)
            for prop, value in step.filters:
                keep &= _equals(events[prop].iloc[rows], value)
            mask = np.zeros(len(events), dtype=bool)
            mask[rows[keep]] = True
            if not keep.any():
                notices.append(Notice(
                    "step_never_happens", f"No '{step.event}' event has "
                    f"{' and '.join(f'{p} = {v}' for p, v in step.filters)}: nobody can reach "
                    f"step {number}. Check the filter values.", subject=step.label))
        masks.append(mask)
    return masks, notices


# the passes --------------------------------------------------------------------------------
def _ordered_pass(tl: Timeline, positions: list[np.ndarray], window_us: int,
                  overlaps: dict[int, list[int]]
                  ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Entries (positions of step-1 rows), steps reached per entry and step times.

    ``overlaps[k]`` lists the earlier steps whose definition can match a row of step k.
    """
    entries = positions[0]
    entry_user, t0 = tl.user[entries], tl.ts[entries]
    n_entries = len(entries)
    reached = np.ones(n_entries, dtype=np.int64)
    alive = np.ones(n_entries, dtype=bool)
    current = entries.copy()
    used = [entries]
    found = [t0]
    for k in range(1, len(positions)):
        idx = positions[k]
        if len(idx) == 0:
            alive[:] = False
            used.append(np.full(n_entries, -1))
            found.append(np.full(n_entries, _MISSING))
            continue
        keys = tl.key[idx]
        pos = first_at_or_after(keys, tl.key[current])
        # One event counts for one step: skip rows taken by earlier steps (only possible
        # at the same timestamp, and only when the step definitions overlap).
        overlapping = overlaps.get(k, [])
        for _ in overlapping:
            for j in overlapping:
                clipped = np.minimum(pos, len(idx) - 1)
                pos = pos + ((pos < len(idx)) & (idx[clipped] == used[j]))
        ok = alive & (pos < len(idx))
        candidate = idx[np.minimum(pos, len(idx) - 1)]
        ok &= (tl.user[candidate] == entry_user) & (tl.ts[candidate] - t0 <= window_us)
        alive = ok
        reached += ok
        current = np.where(ok, candidate, current)
        used.append(np.where(ok, candidate, -1))
        found.append(np.where(ok, tl.ts[candidate], _MISSING))
    return entries, reached, found


def _any_pass(tl: Timeline, positions: list[np.ndarray], window_us: int,
              overlaps: dict[int, list[int]]
              ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Entries (every step row), distinct steps within the window, first times per step."""
    entries = np.arange(len(tl), dtype=np.int64)
    entry_key, entry_user, t0 = tl.key, tl.user, tl.ts
    reached = np.zeros(len(entries), dtype=np.int64)
    found = []
    for idx in positions:
        if len(idx) == 0:
            found.append(np.full(len(entries), _MISSING))
            continue
        pos = first_at_or_after(tl.key[idx], entry_key)
        candidate = idx[np.minimum(pos, len(idx) - 1)]
        ok = (pos < len(idx)) & (tl.user[candidate] == entry_user) & \
            (tl.ts[candidate] - t0 <= window_us)
        reached += ok
        found.append(np.where(ok, tl.ts[candidate], _MISSING))
    return entries, reached, found


def _best_entries(user: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Per user (rows grouped by user, in time order): the first entry with the most
    steps reached. Returns indices into the entries."""
    if len(user) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    best = np.maximum.reduceat(reached, starts)
    best_of_row = np.repeat(best, np.diff(np.r_[starts, len(user)]))
    candidates = np.flatnonzero(reached == best_of_row)
    cand_user = user[candidates]
    return candidates[np.r_[True, cand_user[1:] != cand_user[:-1]]]


# tables ------------------------------------------------------------------------------------
def _step_table(group: str, reached: np.ndarray, times: np.ndarray, labels: list[str]
                ) -> list[dict[str, Any]]:
    rows = []
    counts = [int((reached >= k).sum()) for k in range(1, len(labels) + 1)]
    for k, label in enumerate(labels, start=1):
        users, first = counts[k - 1], counts[0]
        previous = counts[k - 2] if k > 1 else users
        row = {"group": group, "step": k, "label": label, "users": users,
               "dropped": previous - users,
               "conversion_from_previous": users / previous if previous else np.nan,
               "conversion_from_first": users / first if first else np.nan,
               "median_s": np.nan, "q1_s": np.nan, "q3_s": np.nan}
        if k > 1 and users:
            values = times[reached >= k, k - 2]
            row["q1_s"], row["median_s"], row["q3_s"] = np.percentile(values, [25, 50, 75])
        rows.append(row)
    return rows


STEP_COLUMNS = ["group", "step", "label", "users", "dropped", "conversion_from_previous",
                "conversion_from_first", "median_s", "q1_s", "q3_s"]
PAIRWISE_COLUMNS = ["group_a", "group_b", "conversion_a", "conversion_b", "difference", "z",
                    "p_value", "p_holm", "significant"]


def _group_tests(reached: pd.Series, groups: pd.Series, n_steps: int
                 ) -> tuple[GroupTest | None, pd.DataFrame, list[Notice]]:
    empty = pd.DataFrame(columns=PAIRWISE_COLUMNS)
    labels = list(dict.fromkeys(groups))
    if len(labels) < 2:
        return None, empty, []
    converted = (reached == n_steps).groupby(groups, sort=False).sum().reindex(labels)
    entrants = groups.value_counts(sort=False).reindex(labels)
    table = pd.DataFrame({"converted": converted.astype(int),
                          "not_converted": (entrants - converted).astype(int)})
    table.index.name = "group"
    notices: list[Notice] = []
    if table["converted"].sum() == 0 or table["not_converted"].sum() == 0:
        everyone = "nobody" if table["converted"].sum() == 0 else "every entrant"
        notices.append(Notice(
            "no_group_test", f"The groups cannot be compared: {everyone} reached the last "
            "step, in every group.", level="info"))
        test = None
    else:
        result = stats.chi2_contingency(table.to_numpy())
        min_expected = float(np.min(result.expected_freq))
        test = GroupTest(table, float(result.statistic), float(result.pvalue),
                         int(result.dof), int(table.to_numpy().sum()), min_expected)
        if min_expected < MIN_EXPECTED:
            notices.append(Notice(
                "chi_square_small_expected", f"Some groups are small: the smallest expected "
                f"count is {min_expected:.1f} (below {MIN_EXPECTED:g}), so the chi-square "
                "p-value is only approximate. Compare larger groups or merge small ones.",
                subject="chi-square"))
    rows = []
    for a, b in combinations(labels, 2):
        xa, na = int(table.at[a, "converted"]), int(entrants[a])
        xb, nb = int(table.at[b, "converted"]), int(entrants[b])
        pa, pb = xa / na, xb / nb
        pooled = (xa + xb) / (na + nb)
        se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        z = (pa - pb) / se if se > 0 else 0.0
        rows.append({"group_a": a, "group_b": b, "conversion_a": pa, "conversion_b": pb,
                     "difference": pa - pb, "z": float(z),
                     "p_value": float(2 * stats.norm.sf(abs(z)))})
    pairwise = pd.DataFrame(rows)
    pairwise["p_holm"] = multipletests(pairwise["p_value"], method="holm")[1]
    pairwise["significant"] = pairwise["p_holm"] < ALPHA
    return test, pairwise[PAIRWISE_COLUMNS], notices


def group_of_users(users: pd.Index, groups: pd.Series | None, what: str = "entrants"
                   ) -> tuple[pd.Series, list[Notice]]:
    """The group of each user: ``groups`` looked up by user id, :data:`NO_GROUP` for users
    missing from it (with a notice), :data:`ALL_USERS` without groups."""
    if groups is None:
        return pd.Series(ALL_USERS, index=users, dtype=object), []
    lookup = pd.Series(groups.to_numpy(), index=groups.index.astype(str))
    lookup = lookup[~lookup.index.duplicated(keep="first")]
    mapped = lookup.reindex(users.astype(str))
    missing = int(mapped.isna().sum())
    labels = pd.Series(mapped.astype(object).where(mapped.notna(), NO_GROUP).map(str)
                       .to_numpy(), index=users, dtype=object)
    notices = []
    if missing:
        notices.append(Notice(
            "ungrouped_users", f"{missing:,} of {len(users):,} {what} have no persona or "
            f"segment; they are counted in '{NO_GROUP}'.", level="info"))
    return labels, notices


def order_groups(labels: pd.Series) -> list[str]:
    """Group labels in display order: cluster order, :data:`NO_GROUP` last."""
    ordered = [g for g in sorted_labels(labels.unique()) if g != NO_GROUP]
    return ordered + ([NO_GROUP] if (labels == NO_GROUP).any() else [])


# entry point -------------------------------------------------------------------------------
def funnel(events: pd.DataFrame, spec: FunnelSpec, groups: pd.Series | None = None
           ) -> FunnelResult:
    """Count a funnel on an event log, per group.

    Parameters
    ----------
    events : DataFrame
        Canonical events: ``user_id``, ``ts`` (UTC), ``event`` and property columns.
    spec : FunnelSpec
        Steps, window and order (see the module docstring for the exact rules).
    groups : Series, optional
        Persona or segment per user id. Entrants missing from it are counted in
        "(no group)" (with a notice).

    Returns
    -------
    FunnelResult

    Raises
    ------
    ConfigError
        When a step's event is not in the data (the message lists the events there are)
        or a filter names a column the data does not have.
    """
    masks, notices = step_masks(events, spec.steps)
    union = np.logical_or.reduce(masks)
    tl = timeline(events, union)
    in_order = [m[tl.rows] for m in masks]
    positions = [np.flatnonzero(m) for m in in_order]
    overlaps = {k: [j for j in range(k) if (in_order[j] & in_order[k]).any()]
                for k in range(1, len(masks))}
    window_us = int(spec.window / pd.Timedelta(microseconds=1))
    n = len(spec.steps)
    run = _ordered_pass if spec.order == "ordered" else _any_pass
    entries, reached, found = run(tl, positions, window_us, overlaps)
    chosen = _best_entries(tl.user[entries], reached)
    reached_best = reached[chosen]
    times = np.column_stack([f[chosen] for f in found]) if len(chosen) else \
        np.zeros((0, n), dtype=np.int64)
    if spec.order == "any":
        times = np.sort(times, axis=1)
    with np.errstate(invalid="ignore"):
        gaps = np.diff(np.where(times == _MISSING, np.nan, times.astype(float)), axis=1) / 1e6
    user_ids = tl.users[tl.user[entries[chosen]]]
    reached_series = pd.Series(reached_best, index=pd.Index(user_ids, name="user_id"),
                               name="reached")
    step_times = pd.DataFrame(gaps, index=reached_series.index,
                              columns=pd.Index(range(2, n + 1), name="step"))
    labels = [s.label for s in spec.steps] if spec.order == "ordered" else \
        [f"{k} of {n} steps" for k in range(1, n + 1)]
    group_labels, group_notices = group_of_users(reached_series.index, groups)
    notices += group_notices
    rows = []
    order = order_groups(group_labels) if groups is not None else [ALL_USERS]
    for label in order:
        inside = (group_labels == label).to_numpy()
        rows += _step_table(label, reached_best[inside], gaps[inside], labels)
    overall = pd.DataFrame(_step_table(ALL_USERS, reached_best, gaps, labels),
                           columns=STEP_COLUMNS)
    steps = pd.DataFrame(rows, columns=STEP_COLUMNS) if rows else overall.iloc[:0]
    if len(chosen) == 0:
        notices.append(Notice(
            "no_entrants", f"Nobody entered the funnel: no user has "
            f"'{spec.steps[0].label}'" + (" or any other step" if spec.order == "any"
                                          else "") + ".", level="warning"))
    test, pairwise, test_notices = (None, pd.DataFrame(columns=PAIRWISE_COLUMNS), []) \
        if groups is None else _group_tests(reached_series, group_labels, n)
    if groups is not None and len(order) < 2 and len(chosen):
        test_notices.append(Notice(
            "one_group", "All entrants are in one group, so there is nothing to compare.",
            level="info"))
    return FunnelResult(spec=spec, steps=steps, overall=overall, reached=reached_series,
                        step_times=step_times, groups=group_labels, test=test,
                        pairwise=pairwise, notices=notices + test_notices,
                        convention=CONVENTION_ORDERED if spec.order == "ordered"
                        else CONVENTION_ANY)


def dropped_at(result: FunnelResult, step: int) -> pd.Index:
    """Users who reached exactly ``step - 1`` steps: those who dropped before ``step``.

    Raises
    ------
    ConfigError
        Unless 2 <= step <= number of steps.
    """
    n = len(result.spec.steps)
    if not isinstance(step, int | np.integer) or not 2 <= step <= n:
        raise ConfigError(f"Users drop out before steps 2 to {n} of this funnel, not before "
                          f"{step!r}.")
    return result.reached.index[result.reached.to_numpy() == step - 1]
