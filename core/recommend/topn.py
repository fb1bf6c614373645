"""The n best columns of each row of a dense score block, exactly, ties by lower column.

A full partition of every row costs about 75 ns per score (0.3 s for 4,096 users × 10,000
items); recommending to 100,000 users would spend 8 s in it alone. So wide rows go
through a bound first: the columns are dealt into groups of :data:`GROUPS`, and only
the n groups with the largest maxima can hold the n best scores (every other group's
maximum is below the n-th best). Those n × 32 columns are then ranked exactly. When a
group left out ties with the boundary, the row is ranked on all its columns instead, so
the result is always that of the exact pick.
"""

from __future__ import annotations

import numpy as np

NO_ITEM = -1
#: Columns per group of the bound: 32 balances finding the best groups (fewer, larger
#: groups) against ranking their columns (more, smaller ones); measured on 4,096 × 10,000.
GROUPS = 32
#: Rows narrower than this are ranked on all their columns directly.
BOUNDED_FROM = 1024


def _exact(values: np.ndarray, columns: np.ndarray | None, n: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Rank every finite value of each row; ``columns`` names the column of each value
    (None: its position), ascending along each row so that ties go to the lower one."""
    rows, width = values.shape
    items = np.full((rows, n), NO_ITEM, dtype=np.int64)
    best = np.full((rows, n), np.nan, dtype=np.float32)
    k = min(n, width)
    if rows == 0 or k == 0:
        return items, best
    # The k-th best value of each row; every value at least as good is a candidate (ties
    # at the boundary included); candidates are then ordered by value and column.
    kth = -np.partition(-values, k - 1, axis=1)[:, k - 1]
    row, pos = np.nonzero((values >= kth[:, None]) & np.isfinite(values))
    value = values[row, pos]
    col = pos if columns is None else columns[row, pos]
    order = np.lexsort((col, -value, row))
    row, col, value = row[order], col[order], value[order]
    rank = np.arange(len(row)) - np.searchsorted(row, np.arange(rows))[row]
    take = rank < k
    items[row[take], rank[take]] = col[take]
    best[row[take], rank[take]] = value[take]
    return items, best


def _best_groups(maxima: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n groups with the largest maxima per row (``maxima`` row-major, rows × groups)
    and the rows whose n-th largest maximum ties with a group left out."""
    count = maxima.shape[1]
    # argpartition without negating: the n largest are the last n (no copy of -maxima).
    chosen = np.argpartition(maxima, count - n, axis=1)[:, count - n:]
    bound = np.take_along_axis(maxima, chosen, axis=1).min(axis=1)
    tied = np.isfinite(bound) & ((maxima >= bound[:, None]).sum(axis=1) > n)
    return chosen, tied


def _candidates_by_user(scores: np.ndarray, n: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bound on a column-major block (users the fast axis, as ALS scores them):
    groups of :data:`GROUPS` consecutive items, each step reading memory in order.

    Returns the candidate columns and their values, ``(rows, n * GROUPS)`` each, and the
    rows whose boundary ties with a group left out."""
    by_item = scores.T  # row-major (items, users)
    width, rows = by_item.shape
    full = width // GROUPS * GROUPS
    maxima = by_item[:full].reshape(-1, GROUPS, rows).max(axis=1)
    if full < width:
        maxima = np.vstack([maxima, by_item[full:].max(axis=0)[None, :]])
    chosen, tied = _best_groups(np.ascontiguousarray(maxima.T), n)
    columns = (chosen[:, :, None] * GROUPS + np.arange(GROUPS)).reshape(rows, -1)
    values = np.take(by_item.ravel(), np.minimum(columns, width - 1) * rows
                     + np.arange(rows)[:, None])
    values[columns >= width] = -np.inf
    return columns, values, tied


def _candidates_by_row(scores: np.ndarray, n: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bound on a row-major block: group b is the columns b, b + w, b + 2w... (w the
    number of groups), so each step is one elementwise maximum of two column slices."""
    rows, width = scores.shape
    count = -(-width // GROUPS)
    maxima = scores[:, :count].copy()
    for start in range(count, width, count):
        part = scores[:, start:start + count]
        np.maximum(maxima[:, :part.shape[1]], part, out=maxima[:, :part.shape[1]])
    chosen, tied = _best_groups(maxima, n)
    columns = (chosen[:, :, None] + count * np.arange(GROUPS)).reshape(rows, -1)
    values = np.take(scores.ravel(), np.arange(rows)[:, None] * width
                     + np.minimum(columns, width - 1))
    values[columns >= width] = -np.inf
    return columns, values, tied


def top_n(scores: np.ndarray, n: int, floor: float | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best columns of each row of ``scores``, ties by lower column.

    Parameters
    ----------
    scores : ndarray, (rows, items)
        ``-inf`` marks columns that must not be picked (seen items); modified in place.
    n : int
    floor : float, optional
        Scores at or below it are no evidence and are not picked either.

    Returns
    -------
    items : ndarray of int64, (rows, n)
        ``-1`` where a row has fewer than ``n`` columns to pick.
    values : ndarray of float32, (rows, n)
        ``nan`` there.
    """
    rows, width = scores.shape
    if floor is not None:
        scores[scores <= floor] = -np.inf
    if width < max(BOUNDED_FROM, 4 * n * GROUPS) or rows == 0 or n == 0:
        return _exact(scores, None, n)
    # Only the n groups with the largest maxima can hold the n best (module docstring).
    column_major = scores.flags.f_contiguous and not scores.flags.c_contiguous
    columns, values, tied = (_candidates_by_user if column_major else _candidates_by_row)(
        scores, n)
    items, best = _exact(values, columns, n)
    if tied.any():
        items[tied], best[tied] = _exact(scores[tied], None, n)
    return items, best
