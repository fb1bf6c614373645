"""Which column is which: roles from names and values, and reading a metric column.

A real export holds more numbers than metrics: row numbers, item ids, positions,
timestamps in epoch seconds. Only columns that look like an outcome are default
metrics: conversion-like flags (0/1, true/false, yes/no in any case) and money-like
columns named so (revenue, amount, spend, sales, ...). Any column can still be chosen
by hand; :func:`metric_values` reads it and counts what it cannot use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice

#: Names of common exports, tried in order (whole-name matches, case-insensitive).
PATTERNS = {
    "variant": r"variant|variation|group|arm|bucket|treatment|ab_?group|experiment_?group|"
               r"cohort|test_?group",
    "user": r"user_?id|userid|user|client_?id|distinct_?id|anonymous_?id|visitor_?id|"
            r"customer_?id|customer|household_?(?:id|key)|member_?id|account_?id|uid|id",
    "conversion": r"converted|conversion|is_?converted|purchased|success|clicked|signed_?up",
    "pre": r"pre_.*|.*_pre|pre_?period.*|baseline_.*|.*_before|covariate",
    "ts": r"ts|timestamp|time|date|assigned_?at|exposed_?at|exposure_?time|event_?time",
    "segment": r"segment|persona|cluster|country|device|platform",
    "users": r"users|n|visitors|participants|exposures|trials|sample_?size|n_?users",
    "conversions": r"conversions|converted|successes|n_?converted|purchases",
}

#: Spellings of yes and no in flag columns (compared lower-case, stripped).
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})
#: A text column is read as a yes/no flag (or as numbers) when at least this share of
#: its non-empty values are yes/no words (or numbers): a few strays such as "maybe" or
#: "n/a" are then unknowns to count and leave out, while a column of mostly other words
#: is not a flag at all.
MIN_READABLE_SHARE = 0.8
#: A flag has two values; more than this many distinct spellings (yes, Yes, YES, y, 1,
#: plus a few strays) is not one. Checked first, so long text columns are rejected fast.
MAX_FLAG_SPELLINGS = 24
#: Shape checks (unique per row, sorted) need this many values: in a handful of rows
#: any metric can be unique or sorted by chance.
MIN_ROWS_FOR_SHAPE = 20
#: Examples of unusable values quoted in a notice.
EXAMPLES_SHOWN = 3

#: Name words of identifiers (the last word: user_id, order_key, item_idx).
_ID_LAST = {"id", "ids", "uuid", "guid", "key", "idx", "index"}
#: Name words of positions in a list or file (anywhere in the name: position, row_number).
_POSITION_WORDS = {"position", "pos", "rank", "ranking", "index", "idx", "row", "slot",
                   "rownum", "row_number"}
#: Whole names that identify a thing rather than measure it.
_THING_NAMES = {"item", "items", "sku", "product", "asin", "ean", "upc", "basket",
                "order", "session", "level_0"}
#: Name words of times (the last word: event_time, created_at, day).
_TIME_LAST = {"ts", "timestamp", "time", "date", "datetime", "epoch", "at", "day", "week",
              "month", "year", "hour", "minute"}
#: Name words of money: a continuous column is a default mean metric only when named so.
_MONEY_WORDS = {"revenue", "revenues", "value", "amount", "spend", "spent", "sales", "sale",
                "gmv", "price", "profit", "margin", "income", "payment", "payments", "paid",
                "cost", "arpu", "arppu", "ltv", "aov", "turnover", "usd", "eur", "gbp"}

Role = Literal["conversion", "money", "id", "other"]
Kind = Literal["conversion", "mean"]


def find(columns: list[str], role: str, exclude: set[str] = frozenset()) -> str | None:
    """The first column whose whole name matches the role's pattern."""
    pattern = re.compile(rf"^(?:{PATTERNS[role]})$", re.IGNORECASE)
    return next((c for c in columns if c not in exclude and pattern.match(c)), None)


def name_words(name: str) -> list[str]:
    """Lower-case words of a column name: ``itemId`` and ``item-ID`` give item, id."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def id_like_name(name: str) -> bool:
    """True for names of ids, positions and times (user_id, item, rank, row, event_time)."""
    words = name_words(name)
    joined = "_".join(words)
    if not words or re.fullmatch(r"unnamed_?\d*", joined):
        return True  # a written-out pandas index
    return (words[-1] in _ID_LAST or words[0] == "id" or joined in _THING_NAMES
            or joined in _POSITION_WORDS or any(w in _POSITION_WORDS for w in words)
            or words[-1] in _TIME_LAST)


def money_like_name(name: str) -> bool:
    """True for names such as revenue, sales_value, total_spend, amountUSD."""
    return any(w in _MONEY_WORDS for w in name_words(name))


def is_binary(values: pd.Series) -> bool:
    """True for bool columns and numeric columns holding only 0 and 1 (and missing)."""
    if pd.api.types.is_bool_dtype(values):
        return True
    if not pd.api.types.is_numeric_dtype(values):
        return False
    v = values.to_numpy(dtype=float, na_value=np.nan)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(((v == 0) | (v == 1)).all())


def is_text(values: pd.Series) -> bool:
    """True for object and string columns."""
    return pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)


def _spellings(values: pd.Series) -> pd.Series | None:
    """Counts of the stripped lower-case non-empty values, or None for too many."""
    raw = values.dropna().value_counts()
    if len(raw) > MAX_FLAG_SPELLINGS * 4:
        return None
    words = raw.index.astype(str).str.strip().str.lower()
    counts = raw.groupby(words).sum()
    counts = counts[counts.index != ""]
    return None if len(counts) > MAX_FLAG_SPELLINGS else counts


def yes_no_like(values: pd.Series) -> bool:
    """True for a text column whose values are mostly yes/no words (any case)."""
    if not is_text(values):
        return False
    counts = _spellings(values)
    if counts is None or counts.sum() == 0:
        return False
    known = counts[counts.index.isin(TRUE_WORDS | FALSE_WORDS)].sum()
    return bool(known / counts.sum() >= MIN_READABLE_SHARE)


def conversion_like(values: pd.Series) -> bool:
    """0/1, true/false or yes/no (any case, missing values allowed)."""
    return is_binary(values) or yes_no_like(values)


def id_like_values(values: pd.Series) -> bool:
    """Integer columns that are unique per row or sorted: ids, row numbers, epochs."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return False
    v = values.to_numpy(dtype=float, na_value=np.nan)
    v = v[np.isfinite(v)]
    if v.size < MIN_ROWS_FOR_SHAPE or not (v == np.round(v)).all():
        return False
    distinct = len(np.unique(v))
    if distinct <= 2:
        return False
    steps = np.diff(v)
    return distinct == v.size or bool((steps >= 0).all() or (steps <= 0).all())


def metric_role(name: str, values: pd.Series) -> tuple[Role, str]:
    """The role of a column as a metric and why, in words.

    Returns
    -------
    (role, reason)
        ``conversion`` and ``money`` are default metrics (a rate and a mean); ``id``
        (ids, positions, times) and ``other`` are not, but can be chosen by hand.
    """
    if id_like_name(name):
        return "id", "named like an id, a position or a time"
    if conversion_like(values):
        return "conversion", "a yes/no flag"
    if id_like_values(values):
        return "id", "whole numbers that are unique per row or sorted, like an id"
    numeric = pd.api.types.is_numeric_dtype(values) and not is_text(values)
    if numeric and money_like_name(name):
        return "money", "named like money"
    if numeric:
        return "other", "a number not named like an outcome (choose it by hand)"
    return "other", "text"


# ----------------------------------------------------------------------------- reading


@dataclass
class MetricValues:
    """One metric column as floats (NaN where no usable value) with what was left out."""

    name: str
    kind: Kind
    values: np.ndarray
    empty: int = 0
    unusable: int = 0
    examples: list[str] = field(default_factory=list)
    expected: str = "numbers"

    def notices(self) -> list[Notice]:
        """A warning naming the unusable values, with a count and examples."""
        if not self.unusable:
            return []
        shown = ", ".join(f"'{e}'" for e in self.examples)
        empty = f" ({self.empty:,} more cells are empty)" if self.empty else ""
        return [Notice(
            "unusable_values", f"{self.name}: {self.unusable:,} values are not "
            f"{self.expected}, e.g. {shown}{empty}; those rows are left out of this metric. "
            "Fix them in the file, or map them to a value first.", "warning", self.name)]


def metric_values(frame: pd.DataFrame, column: str) -> MetricValues:
    """Read a metric column: flags as 0/1, numbers as floats, the rest counted.

    Parameters
    ----------
    frame : DataFrame
    column : str

    Returns
    -------
    MetricValues
        ``kind`` is "conversion" for bool, 0/1 and yes/no columns, else "mean".

    Raises
    ------
    ConfigError
        The column is not in the data.
    DataError
        The column is mostly text that is neither yes/no nor numbers.
    """
    if column not in frame.columns:
        raise ConfigError(f"The column '{column}' is not in the data.")
    values = frame[column]
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        floats = values.to_numpy(dtype=float, na_value=np.nan)
        kind: Kind = "conversion" if is_binary(values) else "mean"
        infinite = np.isinf(floats)
        bad = int(infinite.sum())
        if bad:
            floats = np.where(infinite, np.nan, floats)
        return MetricValues(column, kind, floats, int(values.isna().sum()), bad,
                            ["inf"] if bad else [])
    if yes_no_like(values):
        return _read_flags(column, values)
    return _read_numbers(column, values)


def _stripped(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.where(text != "", pd.NA)


def _examples(text: pd.Series, bad: pd.Series) -> list[str]:
    return [str(v) for v in text[bad].value_counts().index[:EXAMPLES_SHOWN]]


def _read_flags(column: str, values: pd.Series) -> MetricValues:
    text = _stripped(values)
    lower = text.str.lower()
    yes, no = lower.isin(TRUE_WORDS).fillna(False), lower.isin(FALSE_WORDS).fillna(False)
    floats = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
    bad = (text.notna() & ~yes & ~no).to_numpy(bool)
    return MetricValues(column, "conversion", floats, int(text.isna().sum()),
                        int(bad.sum()), _examples(text, bad), "yes/no")


def _read_numbers(column: str, values: pd.Series) -> MetricValues:
    text = _stripped(values)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = (text.notna() & numbers.isna()).to_numpy(bool)
    filled = int(text.notna().sum())
    if filled == 0 or bad.sum() > (1 - MIN_READABLE_SHARE) * filled:
        example = _examples(text, bad)[0] if bad.any() else ""
        raise DataError(f"The metric column '{column}' has {int(bad.sum()):,} values that "
                        f"are not numbers, e.g. '{example}'. Choose a numeric column.")
    floats = numbers.to_numpy(dtype=float, na_value=np.nan)
    return MetricValues(column, "mean", floats, int(text.isna().sum()), int(bad.sum()),
                        _examples(text, bad))
