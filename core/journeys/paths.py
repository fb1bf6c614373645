"""Paths: what users do after an event, or before one, step by step.

Conventions. Events are taken per user in time order (ties in the frame's order).

- **From a start event** (``start=``): each user's *first* occurrence of the event is
  column 0; columns 1..N are the next N events of that user.
- **To an end event** (``end=``): the user's first occurrence of the event is the last
  column; the N columns before it are the N events before it.
- ``collapse_repeats``: consecutive occurrences of the same event (a run of
  page_views) count as one before the steps are taken.
- ``within_session``: the path stops where the anchor event's session ends
  (``session_id``; events are per user, so the same session id of two users never mixes).
- At each step the ``top`` most frequent events (over all users; ties by name) keep their
  name and the rest are :data:`OTHER`. A user whose path has ended is :data:`LEFT` in that
  column and every later one (to an end event: :data:`NOT_STARTED` in that column and every
  earlier one). So every column holds every user who did the anchor event, and column 0 of
  a path from ``start`` has as many users as step 1 of a funnel whose first step is
  ``start``.
- The step matrix gives, per group and step, the share of the group's users at each
  event; its rows are the events that are in the top at some step, then :data:`OTHER`,
  then :data:`LEFT` (or :data:`NOT_STARTED`), so each column sums to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.journeys.funnels import ALL_USERS, event_list, group_of_users, order_groups
from core.journeys.order import check_events, codes_of, require_columns, timeline

Mode = Literal["start", "end"]
#: Label of the events outside a step's top.
OTHER = "(other)"
#: Label of users whose path from the start event has ended.
LEFT = "(left)"
#: Label of users with fewer events before the end event than the column needs.
NOT_STARTED = "(no earlier event)"
#: Longer paths fan out into more branches than a Sankey can show legibly.
MAX_STEPS = 10
#: A step with more events than this is unreadable in a Sankey column.
MAX_TOP = 20


@dataclass
class PathResult:
    """Paths from (or to) one event.

    Attributes
    ----------
    anchor : str
        The start or end event.
    mode : {"start", "end"}
    steps : int
        Columns besides the anchor's.
    users : int
        Users who did the anchor event (every column sums to it).
    nodes : DataFrame
        ``column`` (0 = leftmost), ``step`` (0 = the anchor; 1..N after it, -N..-1
        before it), ``label``, ``users``.
    links : DataFrame
        ``source_column``, ``source``, ``target_column``, ``target``, ``users``.
    step_matrix : dict of DataFrame
        Group (and :data:`~core.journeys.funnels.ALL_USERS`) -> events × steps, the share
        of the group's users at each event.
    step_counts : dict of DataFrame
        The same as user counts.
    group_sizes : Series
        Users per group who did the anchor event.
    notices : list of Notice
    convention : str
    """

    anchor: str
    mode: Mode
    steps: int
    users: int
    nodes: pd.DataFrame
    links: pd.DataFrame
    step_matrix: dict[str, pd.DataFrame]
    step_counts: dict[str, pd.DataFrame]
    group_sizes: pd.Series
    notices: list[Notice] = field(default_factory=list)
    convention: str = ""

    @property
    def groups(self) -> list[str]:
        """Groups in display order (without "All users" when there are groups)."""
        return list(self.group_sizes.index)

    def difference(self, group_a: str, group_b: str) -> pd.DataFrame:
        """Share of ``group_a`` minus share of ``group_b`` at each event and step.

        Raises
        ------
        ConfigError
            When a group is not in the result.
        """
        unknown = [g for g in (group_a, group_b) if g not in self.step_matrix]
        if unknown:
            raise ConfigError(
                f"There is no group {', '.join(map(repr, unknown))} in these paths. Groups "
                f"are: {', '.join(self.step_matrix)}.")
        a, b = self.step_matrix[group_a], self.step_matrix[group_b]
        rows = list(dict.fromkeys([*a.index, *b.index]))
        return a.reindex(rows).fillna(0.0) - b.reindex(rows).fillna(0.0)


def _convention(mode: Mode, anchor: str, steps: int, top: int, collapse: bool,
                within_session: bool) -> str:
    where = (f"the {steps} events after each user's first '{anchor}'" if mode == "start"
             else f"the {steps} events before each user's first '{anchor}'")
    parts = [f"Paths: {where}"]
    if collapse:
        parts.append("consecutive repeats of an event counted once")
    if within_session:
        parts.append("within the anchor event's session")
    ended = LEFT if mode == "start" else NOT_STARTED
    parts.append(f"per step the {top} most frequent events, the rest as '{OTHER}'; users "
                 f"without an event at a step are '{ended}' there and beyond, so every "
                 "column holds every user")
    return "; ".join(parts) + "."


def _check(events: pd.DataFrame, start: str | None, end: str | None, steps: int, top: int,
           within_session: bool) -> tuple[str, Mode]:
    check_events(events)
    if (start is None) == (end is None):
        raise ConfigError("Paths need exactly one of a start event (what users do next) or an "
                          "end event (what they did before). Choose one.")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or \
            not 1 <= steps <= MAX_STEPS:
        raise ConfigError(f"Paths have 1 to {MAX_STEPS} steps, not {steps!r}.")
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or \
            not 1 <= top <= MAX_TOP:
        raise ConfigError(f"Keep 1 to {MAX_TOP} events per step, not {top!r}.")
    if within_session:
        require_columns(events, ["session_id"], "Paths within a session")
    return (start, "start") if start is not None else (end, "end")  # type: ignore[return-value]


def paths(events: pd.DataFrame, start: str | None = None, end: str | None = None,
          steps: int = 5, groups: pd.Series | None = None, top: int = 6,
          collapse_repeats: bool = True, within_session: bool = False) -> PathResult:
    """The paths users take from ``start`` or to ``end`` (see the module docstring).

    Parameters
    ----------
    events : DataFrame
        Canonical events: ``user_id``, ``ts``, ``event`` (and ``session_id`` for
        ``within_session``).
    start, end : str
        Exactly one: the event paths start from, or end at.
    steps : int
        Events after (or before) the anchor, 1 to 10.
    groups : Series, optional
        Persona or segment per user id, for the step matrices; users missing from it are
        in "(no group)" (with a notice).
    top : int
        Events kept by name at each step.
    collapse_repeats : bool
        Count consecutive repeats of an event once.
    within_session : bool
        Stop each path at the end of the anchor event's session.

    Returns
    -------
    PathResult

    Raises
    ------
    ConfigError
        Without exactly one of start and end, with an event the data does not have (the
        message lists those it has), steps or top out of range, or ``within_session``
        without a session_id column.
    """
    anchor, mode = _check(events, start, end, steps, top, within_session)
    event_codes, names = codes_of(events["event"])
    number_of = {str(n): i for i, n in enumerate(names)}
    if anchor not in number_of:
        raise ConfigError(f"The event '{anchor}' is not in the data. Events there are: "
                          f"{event_list(names)}.")
    notices: list[Notice] = []
    clashes = [label for label in (OTHER, LEFT, NOT_STARTED) if label in number_of]
    if clashes:
        notices.append(Notice(
            "reserved_event_name", f"The data has an event called "
            f"{', '.join(map(repr, clashes))}, which is also the name paths give to grouped "
            "or ended steps; read those nodes with care.", subject=clashes[0]))
    tl = timeline(events)
    ev = event_codes[tl.rows].astype(np.int64)
    user = tl.user
    session = None
    if within_session:
        session_codes, _ = codes_of(events["session_id"]) if not \
            pd.api.types.is_integer_dtype(events["session_id"]) else \
            (events["session_id"].to_numpy(), None)
        session = np.asarray(session_codes)[tl.rows]
    if collapse_repeats and len(ev) > 1:
        repeat = np.r_[False, (user[1:] == user[:-1]) & (ev[1:] == ev[:-1])]
        if session is not None:
            repeat[1:] &= session[1:] == session[:-1]
        kept = np.flatnonzero(~repeat)
        ev, user = ev[kept], user[kept]
        session = None if session is None else session[kept]

    code = number_of[anchor]
    at_anchor = np.flatnonzero(ev == code)
    first = at_anchor[np.r_[True, user[at_anchor][1:] != user[at_anchor][:-1]]] \
        if len(at_anchor) else at_anchor
    n_users_total = len(tl.users)
    n_anchor = len(first)
    if n_anchor < n_users_total:
        notices.append(Notice(
            "users_without_event", f"{n_users_total - n_anchor:,} of {n_users_total:,} users "
            f"never did '{anchor}'; they are not in these paths.", level="info",
            subject=anchor))

    offsets = np.arange(1, steps + 1) if mode == "start" else np.arange(-steps, 0)
    where = first[:, None] + offsets[None, :]
    inside = (where >= 0) & (where < len(ev))
    clipped = np.clip(where, 0, max(len(ev) - 1, 0))
    valid = inside & (user[clipped] == user[first][:, None]) if len(ev) else inside
    if session is not None and len(ev):
        valid &= session[clipped] == session[first][:, None]
    # Once a path has ended it stays ended (towards the end event: it has not begun).
    valid = np.logical_and.accumulate(valid, axis=1) if mode == "start" else \
        np.logical_and.accumulate(valid[:, ::-1], axis=1)[:, ::-1]
    raw = np.where(valid, ev[clipped] if len(ev) else 0, -1)

    n_names = len(names)
    other_code, ended_code = n_names, n_names + 1
    ended_label = LEFT if mode == "start" else NOT_STARTED
    label_names = np.array([*map(str, names), OTHER, ended_label], dtype=object)
    shown = np.full_like(raw, ended_code)
    kept_codes: set[int] = set()
    for c in range(steps):
        column = raw[:, c]
        counts = np.bincount(column[column >= 0], minlength=n_names)
        ranked = sorted((i for i in np.flatnonzero(counts)), key=lambda i: (-counts[i],
                                                                          str(names[i])))
        keep = np.zeros(n_names, dtype=bool)
        keep[ranked[:top]] = True
        kept_codes.update(int(i) for i in ranked[:top])
        has = column >= 0
        shown[has, c] = np.where(keep[column[has]], column[has], other_code)

    anchor_column = np.full((n_anchor, 1), code)
    grid = np.hstack([anchor_column, shown]) if mode == "start" else \
        np.hstack([shown, anchor_column])
    step_numbers = np.r_[0, offsets] if mode == "start" else np.r_[offsets, 0]
    nodes, links = _nodes_and_links(grid, step_numbers, label_names)

    anchor_users = pd.Index(np.asarray(tl.users)[user[first]] if n_anchor else [],
                            name="user_id")
    group_labels, group_notices = group_of_users(anchor_users, groups,
                                                 what=f"users who did '{anchor}'")
    notices += group_notices
    row_codes = [*sorted(kept_codes, key=lambda i: str(names[i])), other_code, ended_code]
    matrix_codes = np.where(raw >= 0, raw, ended_code)
    matrix_codes = np.where((matrix_codes < n_names) & ~np.isin(matrix_codes, row_codes),
                            other_code, matrix_codes)
    order = order_groups(group_labels) if groups is not None else []
    step_counts, step_matrix = {}, {}
    labels_array = group_labels.to_numpy()
    for label in [ALL_USERS, *order]:
        inside_group = np.ones(n_anchor, dtype=bool) if label == ALL_USERS else \
            labels_array == label
        counts = _count_matrix(matrix_codes[inside_group], row_codes, n_names + 2)
        frame = pd.DataFrame(counts, index=pd.Index(label_names[row_codes], name="event"),
                             columns=pd.Index(offsets, name="step"))
        step_counts[label] = frame
        size = int(inside_group.sum())
        step_matrix[label] = frame / size if size else frame.astype(float)
    sizes = pd.Series({g: int((labels_array == g).sum()) for g in order} if order else
                      {ALL_USERS: n_anchor}, name="users", dtype=int)
    if n_anchor == 0:
        notices.append(Notice("no_paths", f"Nobody did '{anchor}', so there are no paths.",
                              subject=anchor))
    return PathResult(anchor=anchor, mode=mode, steps=steps, users=n_anchor, nodes=nodes,
                      links=links, step_matrix=step_matrix, step_counts=step_counts,
                      group_sizes=sizes, notices=notices,
                      convention=_convention(mode, anchor, steps, top, collapse_repeats,
                                             within_session))


def _count_matrix(codes: np.ndarray, row_codes: list[int], n_codes: int) -> np.ndarray:
    """Users per (row code, step column)."""
    out = np.zeros((len(row_codes), codes.shape[1]), dtype=np.int64)
    for c in range(codes.shape[1]):
        out[:, c] = np.bincount(codes[:, c], minlength=n_codes)[row_codes]
    return out


def _nodes_and_links(grid: np.ndarray, step_numbers: np.ndarray, label_names: np.ndarray
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_codes = len(label_names)
    node_rows, link_rows = [], []
    for c in range(grid.shape[1]):
        counts = np.bincount(grid[:, c], minlength=n_codes)
        for i in np.flatnonzero(counts):
            node_rows.append((c, int(step_numbers[c]), label_names[i], int(counts[i])))
        if c + 1 < grid.shape[1]:
            pairs = grid[:, c] * n_codes + grid[:, c + 1]
            values, counts = np.unique(pairs, return_counts=True)
            for value, count in zip(values, counts, strict=True):
                link_rows.append((c, label_names[value // n_codes], c + 1,
                                  label_names[value % n_codes], int(count)))
    nodes = pd.DataFrame(node_rows, columns=["column", "step", "label", "users"])
    # Within a column: the most frequent first, the grouped and ended nodes last.
    nodes["_last"] = nodes["label"].isin([OTHER, LEFT, NOT_STARTED])
    nodes = nodes.sort_values(["column", "_last", "users", "label"],
                              ascending=[True, True, False, True], ignore_index=True)
    nodes = nodes.drop(columns="_last")
    links = pd.DataFrame(link_rows, columns=["source_column", "source", "target_column",
                                             "target", "users"])
    return nodes, links
