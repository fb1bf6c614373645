"""Per-user rows made ready to analyse: metrics read as numbers, one row per user.

Real exports repeat users: a purchase log has a row per order, a join can duplicate a
row. A user seen in more than one variant cannot be attributed to an arm and is left
out of every arm; a user repeated within one variant is kept once, converted when any
of their rows converted, with numeric metrics summed. Each step is counted in a notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.experiments.columns import EXAMPLES_SHOWN, metric_values
from core.experiments.inputs import ExperimentSpec, Variants, numeric_column


@dataclass
class PerUserRows:
    """The analysed table: one row per user, metric columns as floats (NaN = no value),
    the variant codes aligned with its rows, each metric's kind and what was done."""

    frame: pd.DataFrame
    variants: Variants
    kinds: dict[str, str]
    notices: list[Notice] = field(default_factory=list)


def per_user_rows(frame: pd.DataFrame, spec: ExperimentSpec, variants: Variants
                  ) -> PerUserRows:
    """Read the metrics and count each user once (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        Per-user rows as loaded.
    spec : ExperimentSpec
        Metrics, the user column, and the pre-period, timestamp and segment columns.
    variants : Variants
        The variant code of each row of ``frame``.

    Returns
    -------
    PerUserRows

    Raises
    ------
    ConfigError
        A named column is not in the data.
    """
    table, kinds, notices = _read_columns(frame, spec)
    if not spec.user_col:
        notices.append(Notice(
            "rows_are_users", "No user id column: each row is counted as one user, so a "
            "user repeated on several rows would be counted twice. Choose the user id "
            "column (User id; command line: --user-col) to count each user once.", "info"))
        return PerUserRows(table, variants, kinds, notices)
    if spec.user_col not in frame.columns:
        raise ConfigError(f"The user id column '{spec.user_col}' is not in the data.")
    table, variants, found = _one_row_per_user(table, frame[spec.user_col], variants,
                                               kinds, spec.user_col)
    return PerUserRows(table, variants, kinds, notices + found)


def _read_columns(frame: pd.DataFrame, spec: ExperimentSpec
                  ) -> tuple[pd.DataFrame, dict[str, str], list[Notice]]:
    """The metric, pre-period, timestamp and segment columns, positionally indexed."""
    columns: dict[str, object] = {}
    kinds: dict[str, str] = {}
    notices: list[Notice] = []
    for column in spec.metrics:
        read = metric_values(frame, column)
        columns[column], kinds[column] = read.values, read.kind
        notices.extend(read.notices())
    if spec.pre_col and spec.pre_col not in columns:
        columns[spec.pre_col] = numeric_column(frame, spec.pre_col)
    for column in (spec.ts_col, spec.segment_col):
        if column and column in frame.columns and column not in columns:
            columns[column] = frame[column].reset_index(drop=True)
    table = pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))
    return table, kinds, notices


def _user_codes(ids: pd.Series, column: str) -> tuple[np.ndarray, pd.Index, list[Notice]]:
    """A code per row for its user; rows without an id are each their own user."""
    if _strictly_increasing(ids):
        return np.arange(len(ids)), pd.Index(ids), []  # sorted unique ids: no hashing
    codes, uniques = pd.factorize(ids)
    missing = codes < 0
    notices = []
    if missing.any():
        codes = codes.copy()
        codes[missing] = len(uniques) + np.arange(int(missing.sum()))
        notices.append(Notice(
            "missing_user_id", f"{int(missing.sum()):,} rows have no user id in '{column}'; "
            "each is counted as its own user.", "warning", column))
    return codes, pd.Index(uniques), notices


def _strictly_increasing(ids: pd.Series) -> bool:
    """True for numeric ids in strictly increasing order (row numbers, sorted exports):
    they are unique, checked in one pass instead of hashing millions of ids."""
    if not pd.api.types.is_numeric_dtype(ids) or pd.api.types.is_bool_dtype(ids):
        return False
    values = ids.to_numpy(dtype=float, na_value=np.nan)
    return len(values) > 0 and bool((np.diff(values) > 0).all())


def _examples(uniques: pd.Index, codes: np.ndarray) -> str:
    shown = [str(uniques[c]) for c in codes[:EXAMPLES_SHOWN] if c < len(uniques)]
    return f", e.g. {', '.join(repr(s) for s in shown)}" if shown else ""


def _one_row_per_user(table: pd.DataFrame, ids: pd.Series, variants: Variants,
                      kinds: dict[str, str], column: str
                      ) -> tuple[pd.DataFrame, Variants, list[Notice]]:
    codes, uniques, notices = _user_codes(ids, column)
    assigned = variants.codes >= 0
    users = int(codes.max()) + 1 if len(codes) else 0
    rows_per_user = np.bincount(codes[assigned], minlength=users)
    if (rows_per_user <= 1).all():
        notices.append(Notice("one_row_per_user", f"Each user id in '{column}' appears on "
                              "one row.", "info", column))
        return table, variants, notices
    k = len(variants.names)
    pairs = np.unique(codes[assigned] * k + variants.codes[assigned])
    mixed = np.bincount(pairs // k, minlength=users) > 1
    if mixed.any():
        notices.append(_mixed_notice(mixed, rows_per_user, uniques))
    keep = assigned & ~mixed[codes]
    repeated = (rows_per_user > 1) & ~mixed
    if repeated.any():
        notices.append(_repeated_notice(repeated, rows_per_user, uniques, kinds, column))
    return (*_collapse(table, codes, variants, keep, kinds), notices)


def _mixed_notice(mixed: np.ndarray, rows_per_user: np.ndarray, uniques: pd.Index) -> Notice:
    who = np.flatnonzero(mixed)
    return Notice(
        "mixed_variant_users", f"{len(who):,} users appear in more than one variant "
        f"({int(rows_per_user[who].sum()):,} rows){_examples(uniques, who)}: which arm they "
        "saw cannot be told, so they are left out of every arm. Many such users point to "
        "broken assignment or logging.", "warning")


def _repeated_notice(repeated: np.ndarray, rows_per_user: np.ndarray, uniques: pd.Index,
                     kinds: dict[str, str], column: str) -> Notice:
    who = np.flatnonzero(repeated)
    extra = int(rows_per_user[who].sum()) - len(who)
    flags = [m for m, k in kinds.items() if k == "conversion"]
    sums = [m for m, k in kinds.items() if k == "mean"]
    rule = []
    if flags:
        rule.append(f"{', '.join(flags)} counts as converted if any of their rows did")
    if sums:
        rule.append(f"{', '.join(sums)} is summed over their rows")
    rule.append("other columns (pre-period, timestamp, segment) take their first non-empty "
                "value")
    return Notice(
        "duplicate_users", f"{len(who):,} users appear on more than one row of the same "
        f"variant in '{column}' ({extra:,} extra rows){_examples(uniques, who)}. Each is "
        f"counted once: {'; '.join(rule)}.", "warning", column)


def _collapse(table: pd.DataFrame, codes: np.ndarray, variants: Variants, keep: np.ndarray,
              kinds: dict[str, str]) -> tuple[pd.DataFrame, Variants]:
    """One row per kept user, in order of first appearance."""
    kept = table.loc[keep].reset_index(drop=True)
    groups = kept.groupby(codes[keep], sort=False)
    out = groups.first() if len(kept.columns) else pd.DataFrame(index=groups.size().index)
    for metric, kind in kinds.items():
        out[metric] = (groups[metric].max() if kind == "conversion"
                       else groups[metric].sum(min_count=1))
    user_variant = pd.Series(variants.codes[keep]).groupby(codes[keep], sort=False).first()
    out = out.reset_index(drop=True)
    dropped = variants.excluded_rows
    return out, Variants(variants.names, user_variant.to_numpy(np.int64), dropped)
