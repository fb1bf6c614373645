"""Experiment input: which column is which, settings, and per-variant sums.

Two layouts are accepted: per-user rows (variant, 0/1 conversion and/or numeric
metrics, optional pre-period value, timestamp and segment) and aggregated rows
(variant, users, conversions, and sum / sum of squares of numeric metrics).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError
from core.experiments.frequentist import CORRECTIONS, check_alpha, normalise_alternative

Layout = Literal["per_user", "aggregated"]
#: Names of common exports, tried in order (whole-name matches, case-insensitive).
_PATTERNS = {
    "variant": r"variant|variation|group|arm|bucket|treatment|ab_?group|experiment_?group|"
               r"cohort|test_?group",
    "user": r"user_?id|userid|user|client_?id|distinct_?id|anonymous_?id|visitor_?id|id",
    "conversion": r"converted|conversion|is_?converted|purchased|success|clicked|signed_?up",
    "pre": r"pre_.*|.*_pre|pre_?period.*|baseline_.*|.*_before|covariate",
    "ts": r"ts|timestamp|time|date|assigned_?at|exposed_?at|exposure_?time|event_?time",
    "segment": r"segment|persona|cluster|country|device|platform",
    "users": r"users|n|visitors|participants|exposures|trials|sample_?size|n_?users",
    "conversions": r"conversions|converted|successes|n_?converted|purchases",
}


@dataclass(frozen=True)
class ExperimentSpec:
    """What to analyse and how; JSON-ready through :meth:`to_dict`."""

    variant_col: str = "variant"
    control: str | None = None
    layout: Layout = "per_user"
    #: Per-user metric columns: 0/1 or true/false columns are conversions, others means.
    metrics: tuple[str, ...] = ()
    user_col: str | None = None
    pre_col: str | None = None
    ts_col: str | None = None
    segment_col: str | None = None
    #: Aggregated layout: users per row, converted users per metric, and numeric
    #: metrics as (name, sum column, sum-of-squares column).
    users_col: str | None = None
    conversion_cols: tuple[str, ...] = ()
    mean_cols: tuple[tuple[str, str, str], ...] = ()
    alpha: float = 0.05
    alternative: str = "two-sided"
    correction: str = "holm"
    #: Correction family: every comparison of the analysis ("all"), or each metric
    #: on its own ("per_metric": only its treatments against the control).
    family: Literal["per_metric", "all"] = "all"
    interval: Literal["wald", "newcombe"] = "wald"
    planned_weights: tuple[float, ...] | None = None
    prior: tuple[float, float] = (1.0, 1.0)
    rank_test: bool = True
    bootstrap: bool = False
    sequential: bool = False

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        normalise_alternative(self.alternative)
        if self.correction not in CORRECTIONS:
            raise ConfigError(f"Correction '{self.correction}' is not known; use one of "
                              f"{', '.join(CORRECTIONS)}.")
        if self.family not in ("per_metric", "all"):
            raise ConfigError("The correction family is 'per_metric' or 'all'.")
        if self.interval not in ("wald", "newcombe"):
            raise ConfigError("The interval is 'wald' or 'newcombe'.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentSpec:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("metrics", "conversion_cols"):
            if key in values:
                values[key] = tuple(values[key] or ())
        if "mean_cols" in values:
            values["mean_cols"] = tuple(tuple(t) for t in values["mean_cols"] or ())
        if values.get("planned_weights") is not None:
            values["planned_weights"] = tuple(values["planned_weights"])
        if "prior" in values:
            values["prior"] = tuple(values["prior"])
        return cls(**values)


@dataclass
class ColumnGuess:
    """Columns guessed from their names and contents; the page offers them as defaults."""

    layout: Layout
    variant: str | None
    user: str | None = None
    metrics: list[str] = field(default_factory=list)
    pre: str | None = None
    ts: str | None = None
    segment: str | None = None
    users: str | None = None
    conversions: list[str] = field(default_factory=list)
    mean_cols: list[tuple[str, str, str]] = field(default_factory=list)


def _find(columns: list[str], role: str, exclude: set[str] = frozenset()) -> str | None:
    pattern = re.compile(rf"^(?:{_PATTERNS[role]})$", re.IGNORECASE)
    return next((c for c in columns if c not in exclude and pattern.match(c)), None)


def is_binary(values: pd.Series) -> bool:
    """True for bool columns and numeric columns holding only 0 and 1 (and missing)."""
    if pd.api.types.is_bool_dtype(values):
        return True
    if not pd.api.types.is_numeric_dtype(values):
        return False
    v = values.to_numpy(dtype=float, na_value=np.nan)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(((v == 0) | (v == 1)).all())


def guess_columns(frame: pd.DataFrame) -> ColumnGuess:
    """Guess the layout and the role of each column from names and contents."""
    cols = [str(c) for c in frame.columns]
    variant = _find(cols, "variant")
    numeric = [c for c in cols if c != variant and (pd.api.types.is_numeric_dtype(frame[c])
                                                    or pd.api.types.is_bool_dtype(frame[c]))]
    users = _find(numeric, "users")
    user = _find(cols, "user", {variant} if variant else set())
    one_row_per_variant = variant is not None and frame[variant].nunique() == len(frame)
    if users is not None and (one_row_per_variant or user is None):
        conversions = [c for c in numeric if c != users and _find([c], "conversions")]
        sums = [c for c in numeric if c.endswith("_sum")]
        mean_cols = [(c[:-4], c, f"{c[:-4]}_sum_sq") for c in sums
                     if f"{c[:-4]}_sum_sq" in cols]
        return ColumnGuess("aggregated", variant, users=users, conversions=conversions,
                           mean_cols=mean_cols)
    pre = _find(numeric, "pre")
    ts = _find(cols, "ts")
    taken = {variant, user, pre, ts}
    conversion = _find(numeric, "conversion")
    metrics = ([conversion] if conversion else []) + [
        c for c in numeric if c not in taken and c != conversion and not c.startswith("pre")]
    segment = _find(cols, "segment", {c for c in taken if c})
    return ColumnGuess("per_user", variant, user=user, metrics=metrics, pre=pre, ts=ts,
                       segment=segment)


# ----------------------------------------------------------------------------- variants


@dataclass
class Variants:
    """Variant of each row as codes 0..k-1 with the control as 0."""

    names: list[str]
    codes: np.ndarray
    excluded_rows: int


def encode_variants(frame: pd.DataFrame, column: str, control: str | None) -> Variants:
    """Code the variant column with the control first and the rest in sorted order."""
    if column not in frame.columns:
        raise ConfigError(f"The variant column '{column}' is not in the data; choose one of "
                          f"{', '.join(map(str, frame.columns[:12]))}.")
    raw_codes, uniques = pd.factorize(frame[column], sort=True)
    names = [str(u) for u in uniques]
    if len(names) < 2:
        found = f"only '{names[0]}'" if names else "none"
        raise DataError(f"The variant column '{column}' has {found}: an experiment needs a "
                        "control and at least one treatment.")
    if control is None:
        control = next((n for n in names if n.lower() in ("control", "a", "baseline",
                                                          "ctrl", "0")), names[0])
    if control not in names:
        raise ConfigError(f"The control '{control}' is not a value of '{column}' (found "
                          f"{', '.join(names[:10])}). Pick the control among them.")
    order = [names.index(control)] + [i for i in range(len(names))
                                      if names[i] != control]
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    codes = np.where(raw_codes >= 0, remap[np.maximum(raw_codes, 0)], -1)
    return Variants([names[i] for i in order], codes, int((raw_codes < 0).sum()))


def parse_numbers(text: str | None, what: str) -> tuple[float, ...] | None:
    """Numbers separated by commas (a planned split, a prior), or None for empty text."""
    if not text or not text.strip():
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"{what} '{text}' must be numbers separated by commas.") from None


def numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A metric column as float64 (booleans as 0/1); refuses text columns."""
    if column not in frame.columns:
        raise ConfigError(f"The column '{column}' is not in the data.")
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = int(converted.isna().sum() - values.isna().sum())
        if bad:
            example = values[converted.isna() & values.notna()].iloc[0]
            raise DataError(f"The metric column '{column}' has {bad:,} values that are not "
                            f"numbers, e.g. '{example}'. Choose a numeric column.")
        values = converted
    return values.to_numpy(dtype=float, na_value=np.nan)


def join_labels(frame: pd.DataFrame, labels: pd.Series, name: str,
                user_col: str = "user_id", missing: str = "(none)"
                ) -> tuple[pd.DataFrame, int]:
    """Add a label per user (persona, rule hold-out, ...) as column ``name``.

    Parameters
    ----------
    frame : DataFrame
        Per-user experiment rows with a ``user_col`` column.
    labels : Series
        Label per user id (index: user id), e.g. ``Workspace.persona_labels()``.
    name : str
        Name of the new column.
    missing : str
        Label of users the series does not cover.

    Returns
    -------
    (DataFrame, int)
        A copy with the new column, and the number of rows without a label.
    """
    if user_col not in frame.columns:
        raise ConfigError(f"Joining '{name}' needs a user id column; '{user_col}' is not in "
                          "the experiment data.")
    keys = frame[user_col].astype(str)
    index = labels.index.astype(str)
    mapped = keys.map(pd.Series(labels.to_numpy(), index=index).groupby(level=0).first())
    out = frame.copy()
    out[name] = mapped.astype(object).where(mapped.notna(), missing).astype(str)
    return out, int(mapped.isna().sum())


# ----------------------------------------------------------------------------- reading

_TRUE, _FALSE = {"true", "t", "yes", "y", "1"}, {"false", "f", "no", "n", "0"}


def infer_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns that hold only numbers or true/false into numbers or booleans.

    CSV files are read as text (:mod:`core.data.readers` keeps ids such as ``00123`` intact);
    id-like and variant-like columns stay text.
    """
    out = frame.copy()
    keep_text = re.compile(rf"^(?:{_PATTERNS['user']}|{_PATTERNS['variant']})$", re.I)
    for col in out.columns:
        values = out[col]
        if keep_text.match(str(col)) or not (pd.api.types.is_object_dtype(values)
                                              or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string").str.strip().str.lower()
        seen = set(text.dropna().unique())
        if seen and seen <= _TRUE | _FALSE and not seen <= {"0", "1"}:
            out[col] = text.map(lambda v: None if pd.isna(v) else v in _TRUE).astype(
                "boolean")
            continue
        numbers = pd.to_numeric(text.replace("", None), errors="coerce")
        if seen and int(numbers.isna().sum()) == int(text.replace("", None).isna().sum()):
            out[col] = numbers.astype(float)
    return out


def read_experiment_bytes(data: bytes, name: str) -> pd.DataFrame:
    """Read an uploaded experiment file (CSV, Parquet, JSON lines, Excel) with types."""
    from core.data.readers import read_bytes

    return infer_types(read_bytes(data, name).frame)


def read_experiment_path(path) -> pd.DataFrame:
    """Read an experiment file from disk with types (see :func:`infer_types`)."""
    from core.data.readers import read_path

    return infer_types(read_path(path).frame)


#: Label of experiment users a rule does not reach when its hold-out groups are joined.
NOT_REACHED = "(not reached)"


@dataclass(frozen=True)
class RuleTest:
    """A rule's own test: the group of each user it reaches and the planned hold-out."""

    groups: pd.Series
    holdout_share: float

    def planned_split(self) -> str:
        """Weights in the page's order: control ("holdout") first, then "treatment"."""
        return f"{self.holdout_share * 100:g},{(1 - self.holdout_share) * 100:g}"


def rule_test_groups(matched: pd.DataFrame, held_out: pd.DataFrame,
                     rules: dict[str, tuple[str, float]]) -> dict[str, RuleTest]:
    """The test groups of each rule with a hold-out: who saw it and who was held out.

    Parameters
    ----------
    matched, held_out : DataFrame
        Users × rule id booleans from the rule simulation (held out = matched and drawn
        into the rule's hold-out).
    rules : dict
        Rule id -> (rule name, hold-out share in [0, 1]) for the rules with a hold-out.

    Returns
    -------
    dict
        ``"Rule test: <name>"`` -> :class:`RuleTest` whose ``groups`` holds "holdout" or
        "treatment" (user id index) for the users the rule reaches; the others are absent.
    """
    tests = {}
    for rule_id, (name, share) in rules.items():
        reached = matched[rule_id].to_numpy(bool)
        held = held_out[rule_id].to_numpy(bool)[reached]
        groups = pd.Series(np.where(held, "holdout", "treatment"),
                           index=matched.index[reached].astype(str))
        tests[f"Rule test: {name}"] = RuleTest(groups, share)
    return tests
