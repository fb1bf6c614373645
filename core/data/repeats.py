"""Exact duplicates, double fires and the debounce window, as passes over sorted keys.

The rows come sorted by user key, time and row id (one sort, done by DuckDB). Both rules
only ever compare rows of one user that are close in time, so they look back along that
order a few rows at a time instead of sorting again by identity: on 10 M clickstream
rows the three lexsorts this replaced took 10 s, these passes under half a second.

The keys are 64-bit hashes of typed values (see :func:`core.data.cleaning._row_keys`):
``uk`` of the user, ``uek`` of the user with the event's identity (event, product, order,
value, quantity, page, category), ``h`` of the whole typed row; ``t`` is the time in
microseconds and ``rid`` the row's position in the file.
"""

from __future__ import annotations

import numpy as np

#: Typical double-fire of a tracker (double click, re-render) is well under a second.
DEFAULT_DEBOUNCE_SECONDS = 1.0
#: Rows sharing their user and instant with a different item: above this share the log
#: holds line items of baskets or ratings made in bulk, not a clickstream, and repeats
#: within a second are real (measured: 89 % of a grocery log's rows, 51 % of a rating
#: log's, under 1 % of the sample shop's clickstream).
SHARED_INSTANT_SHARE = 0.05
MICROSECONDS_PER_DAY = 86_400_000_000

Keys = dict[str, np.ndarray]


def same_instant_groups(keys: Keys) -> tuple[np.ndarray, np.ndarray]:
    """Rows that share their user and instant with another row, and a group number.

    Returns
    -------
    (rows, group) : ndarray, ndarray
        Positions (in key order) of the rows whose user and time equal a neighbour's,
        and for each the number of its (user, instant) group; each group is contiguous.
    """
    uk, t = keys["uk"], keys["t"]
    same = (uk[1:] == uk[:-1]) & (t[1:] == t[:-1])
    member = np.zeros(len(t), dtype=bool)
    member[1:] |= same
    member[:-1] |= same
    rows = np.flatnonzero(member)
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = ~same[rows[1:] - 1] | (rows[1:] != rows[:-1] + 1)
    return rows, np.cumsum(starts) - 1


def exact_duplicates(keys: Keys, groups: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Rows equal to an earlier row of the file in user, time and every kept value.

    Among identical rows the first of the file is kept, whatever the sort put first.
    """
    rows, group = groups
    duplicate = np.zeros(len(keys["t"]), dtype=bool)
    if not len(rows):
        return duplicate
    h, rid = keys["h"][rows], keys["rid"][rows]
    order = np.lexsort((rid, h, group))
    g, hh = group[order], h[order]
    again = np.zeros(len(order), dtype=bool)
    again[1:] = (g[1:] == g[:-1]) & (hh[1:] == hh[:-1])
    duplicate[rows[order]] = again
    return duplicate


def repeats(keys: Keys, seconds: float) -> np.ndarray:
    """Rows less than ``seconds`` after the same user's previous event of the same identity.

    Among rows at one instant the first of the file is kept. Looking back one row more per
    pass, only rows still within the window of the row that many places back stay in play,
    so a clickstream needs a handful of passes over a shrinking set.
    """
    t, uk, uek = keys["t"], keys["uk"], keys["uek"]
    repeat = np.zeros(len(t), dtype=bool)
    window_us = round(seconds * 1_000_000)
    if window_us <= 0 or len(t) < 2:
        return repeat
    active = np.arange(1, len(t), dtype=np.int32 if len(t) < 2**31 else np.int64)
    lag = 1
    while len(active):
        back = active - lag
        near = (uk[back] == uk[active]) & (t[active] - t[back] < window_us)
        active, back = active[near], back[near]
        repeat[active[uek[back] == uek[active]]] = True
        lag += 1
        active = active[active >= lag]
    return repeat


def shared_instant_share(keys: Keys, rows: np.ndarray,
                         groups: tuple[np.ndarray, np.ndarray]) -> float:
    """Share of ``rows`` whose user has another row with a different identity at the same
    instant (the line items of a basket, ratings saved together).

    Parameters
    ----------
    keys : dict
        Sorted keys.
    rows : ndarray of bool
        The rows to consider (those that are not exact duplicates).
    groups : tuple
        :func:`same_instant_groups` of the keys.
    """
    total = int(rows.sum())
    members, group = groups
    if total < 2 or not len(members):
        return 0.0
    inside = rows[members]
    members, group = members[inside], group[inside]
    uek = keys["uek"][members]
    order = np.lexsort((uek, group))
    g, u = group[order], uek[order]
    new_identity = np.ones(len(order), dtype=bool)
    new_identity[1:] = (g[1:] != g[:-1]) | (u[1:] != u[:-1])
    identities = np.bincount(g, weights=new_identity)
    return float((identities[g] > 1).sum() / total)


def debounce_window(keys: Keys, rows: np.ndarray, groups: tuple[np.ndarray, np.ndarray],
                    configured: float | None, has_order_id: bool) -> tuple[float, str]:
    """The debounce window in seconds (0 = off) and the reason, said to the analyst.

    A window set in the settings is used as it is. Otherwise repeats within
    :data:`DEFAULT_DEBOUNCE_SECONDS` are double fires of a clickstream tracker, except
    when the log is not a clickstream: an order or basket id is mapped, every time is a
    whole day (a date column), or more than :data:`SHARED_INSTANT_SHARE` of the rows
    share their user and instant with another item (basket line items, bulk ratings).
    """
    if configured is not None or has_order_id:
        return choose_window(configured, has_order_id, False, 0.0)
    t = keys["t"][rows]
    whole_days = bool(len(t)) and not (t % MICROSECONDS_PER_DAY).any()
    share = 0.0 if whole_days else shared_instant_share(keys, rows, groups)
    return choose_window(None, False, whole_days, share)


def choose_window(configured: float | None, has_order_id: bool, whole_days: bool,
                  share: float) -> tuple[float, str]:
    """The rule of :func:`debounce_window` on its figures (whether every time is a whole
    day, the share of rows sharing their user and instant with another item), which
    :mod:`core.data.portable` computes in SQL."""
    if configured is not None:
        seconds = float(configured)
        return seconds, (f"{seconds:g} s, as set" if seconds else "off, as set")
    if has_order_id:
        return 0.0, ("off: an order / basket id is mapped, so rows at one instant are the "
                     "line items of an order")
    if whole_days:
        return 0.0, "off: every time is a whole day (dates without a time of day)"
    if share > SHARED_INSTANT_SHARE:
        return 0.0, (f"off: {share:.0%} of the rows share their user and instant with a "
                     "different item, as the line items of a basket or ratings saved "
                     "together do")
    return DEFAULT_DEBOUNCE_SECONDS, (
        f"{DEFAULT_DEBOUNCE_SECONDS:g} s: a clickstream ({share:.1%} of the rows share "
        "their user and instant with another item)")
