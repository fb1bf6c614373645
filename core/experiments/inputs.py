"""Experiment input: the guessed columns, settings, the variants and their control, and
reading files.

Two layouts are accepted: per-user rows (variant, user id, conversion flags and/or
numeric metrics, optional pre-period value, timestamp and segment) and aggregated rows
(variant, users, conversions, and sum / sum of squares of numeric metrics). How a
column's role is read from its name and values lives in :mod:`core.experiments.columns`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.experiments.columns import (
    FALSE_WORDS,
    PATTERNS,
    TRUE_WORDS,
    find,
    metric_role,
    yes_no_like,
)
from core.experiments.frequentist import CORRECTIONS, check_alpha, normalise_alternative

Layout = Literal["per_user", "aggregated"]


@dataclass(frozen=True)
class ExperimentSpec:
    """What to analyse and how; JSON-ready through :meth:`to_dict`."""

    variant_col: str = "variant"
    control: str | None = None
    layout: Layout = "per_user"
    #: Per-user metric columns: 0/1, true/false or yes/no columns are conversions,
    #: others means (see :func:`core.experiments.columns.metric_values`).
    metrics: tuple[str, ...] = ()
    #: Per-user layout: the user id; each user is then counted once (see
    #: :mod:`core.experiments.users`). None: each row is a user.
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
    """Columns guessed from their names and contents; the page offers them as defaults.

    ``skipped`` says why each other number or flag column is not a default metric
    (an id, a position, a number not named like an outcome); any column can still be
    chosen by hand.
    """

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
    skipped: dict[str, str] = field(default_factory=dict)


def _numeric(frame: pd.DataFrame, column: str) -> bool:
    values = frame[column]
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def guess_columns(frame: pd.DataFrame) -> ColumnGuess:
    """Guess the layout and the role of each column from names and contents.

    Default metrics are conversion-like flags (0/1, true/false, yes/no) and numbers named
    like money (revenue, amount, spend, sales, ...); ids, positions, times and other
    numbers are not (see :func:`core.experiments.columns.metric_role`).
    """
    cols = [str(c) for c in frame.columns]
    variant = find(cols, "variant")
    numeric = [c for c in cols if c != variant and _numeric(frame, c)]
    users = find(numeric, "users")
    user = find(cols, "user", {variant} if variant else set())
    one_row_per_variant = variant is not None and frame[variant].nunique() == len(frame)
    if users is not None and (one_row_per_variant or user is None):
        conversions = [c for c in numeric if c != users and find([c], "conversions")]
        sums = [c for c in numeric if c.endswith("_sum")]
        mean_cols = [(c[:-4], c, f"{c[:-4]}_sum_sq") for c in sums
                     if f"{c[:-4]}_sum_sq" in cols]
        return ColumnGuess("aggregated", variant, users=users, conversions=conversions,
                           mean_cols=mean_cols)
    pre, ts = find(numeric, "pre"), find(cols, "ts")
    taken = {c for c in (variant, user, pre, ts) if c}
    segment = find(cols, "segment", taken)
    metrics, skipped = _guess_metrics(frame, [c for c in cols if c not in taken | {segment}])
    return ColumnGuess("per_user", variant, user=user, metrics=metrics, pre=pre, ts=ts,
                       segment=segment, skipped=skipped)


def _guess_metrics(frame: pd.DataFrame, candidates: list[str]
                   ) -> tuple[list[str], dict[str, str]]:
    """Default metrics (a conversion-named flag first) and why the others are not."""
    metrics, skipped = [], {}
    for column in candidates:
        if find([column], "pre") or column.lower().startswith("pre"):
            continue  # a pre-period covariate, offered for CUPED
        role, reason = metric_role(column, frame[column])
        if role in ("conversion", "money"):
            metrics.append(column)
        elif _numeric(frame, column) or yes_no_like(frame[column]):
            skipped[column] = reason
    metrics.sort(key=lambda c: find([c], "conversion") is None)
    return metrics, skipped


# ----------------------------------------------------------------------------- variants

#: Values that name the control, most telling first (compared lower-case, with
#: separators as spaces and words such as "variant" or "group" around them dropped).
CONTROL_NAMES = ("control", "ctrl", "ctl", "baseline", "base", "holdout", "hold out", "a",
                 "default", "original", "champion", "old", "0")
#: Words around a variant's name that say nothing about it ("Group A", "variant_a").
_VARIANT_WORDS = {"variant", "variation", "group", "arm", "bucket", "cohort", "version"}
#: Words that mark a control anywhere in a longer name ("A (control)", "control_v1").
_CONTROL_WORDS = ("control", "baseline", "holdout")


@dataclass(frozen=True)
class ControlChoice:
    """Which variant is the control and why."""

    name: str
    rule: Literal["named", "largest", "given"]
    reason: str

    @property
    def text(self) -> str:
        """The choice and why, e.g. "Control: 'A', because it is named like a control"."""
        return f"Control: '{self.name}', {self.reason}"

    def notice(self) -> Notice:
        """An info notice stating the choice and how to change it."""
        return Notice("control", f"{self.text}. Choose another with the Control setting "
                      "(command line: --control).", "info", self.name)


def _control_rank(name: str) -> int | None:
    """Position of a variant's name in :data:`CONTROL_NAMES`, or None."""
    words = re.sub(r"[^a-z0-9]+", " ", str(name).lower()).split()
    while len(words) > 1 and words[0] in _VARIANT_WORDS:
        words = words[1:]
    while len(words) > 1 and words[-1] in _VARIANT_WORDS:
        words = words[:-1]
    text = " ".join(words)
    if text in CONTROL_NAMES:
        return CONTROL_NAMES.index(text)
    hit = next((w for w in _CONTROL_WORDS if w in words), None)
    return None if hit is None else CONTROL_NAMES.index(hit)


def choose_control(names: list[str], users: np.ndarray | list[float],
                   given: str | None = None) -> ControlChoice:
    """The control: the given one, else the variant named like a control, else the
    variant with the most users.

    Parameters
    ----------
    names : list of str
        Variant names.
    users : array-like
        Users (or rows) per variant, in the order of ``names``.
    given : str, optional
        The analyst's choice; it must be one of ``names``.

    Returns
    -------
    ControlChoice
    """
    users = np.asarray(users, dtype=float)
    ranked = [(rank, -users[i], i) for i, n in enumerate(names)
              if (rank := _control_rank(n)) is not None]
    if ranked:
        i = min(ranked)[2]
        default = ControlChoice(names[i], "named", "because it is named like a control "
                                "(control, baseline, base, A, default, original, champion)")
    else:
        i = int(np.argmax(users))
        default = ControlChoice(names[i], "largest", f"the variant with the most users "
                                f"({users[i]:,.0f}): no variant is named like a control "
                                "(control, baseline, A, default, ...)")
    if given is None or given == default.name:
        return default
    return ControlChoice(given, "given", f"as chosen (by default it would be "
                         f"'{default.name}', {default.reason.split(' (')[0]})")


@dataclass
class Variants:
    """Variant of each row as codes 0..k-1 with the control as 0."""

    names: list[str]
    codes: np.ndarray
    excluded_rows: int

    def with_control(self, control: str, column: str = "variant") -> Variants:
        """The same variants recoded with ``control`` as 0, the rest in their order."""
        if control not in self.names:
            raise ConfigError(f"The control '{control}' is not a value of '{column}' (found "
                              f"{', '.join(self.names[:10])}). Pick the control among them.")
        first = self.names.index(control)
        order = [first] + [i for i in range(len(self.names)) if i != first]
        remap = np.empty(len(self.names), dtype=np.int64)
        remap[order] = np.arange(len(self.names))
        codes = np.where(self.codes >= 0, remap[np.maximum(self.codes, 0)], -1)
        return Variants([self.names[i] for i in order], codes, self.excluded_rows)

    def counts(self) -> np.ndarray:
        """Rows per variant."""
        keep = self.codes >= 0
        return np.bincount(self.codes[keep], minlength=len(self.names)).astype(float)


def factorize_variants(frame: pd.DataFrame, column: str) -> Variants:
    """Code the variant column in sorted order (no control chosen yet)."""
    if column not in frame.columns:
        raise ConfigError(f"The variant column '{column}' is not in the data; choose one of "
                          f"{', '.join(map(str, frame.columns[:12]))}.")
    raw_codes, uniques = pd.factorize(frame[column], sort=True)
    names = [str(u) for u in uniques]
    if len(names) < 2:
        found = f"only '{names[0]}'" if names else "none"
        raise DataError(f"The variant column '{column}' has {found}: an experiment needs a "
                        "control and at least one treatment.")
    return Variants(names, raw_codes.astype(np.int64), int((raw_codes < 0).sum()))


def encode_variants(frame: pd.DataFrame, column: str, control: str | None) -> Variants:
    """Code the variant column with the control first (see :func:`choose_control`, by
    rows) and the rest in sorted order."""
    variants = factorize_variants(frame, column)
    if control is not None:
        return variants.with_control(control, column)
    return variants.with_control(choose_control(variants.names, variants.counts()).name,
                                 column)


def default_control(frame: pd.DataFrame, column: str, user_col: str | None = None
                    ) -> ControlChoice:
    """The control the analysis would choose: by name, else the variant with the most
    distinct users (rows when there is no user column)."""
    variants = factorize_variants(frame, column)
    if user_col and user_col in frame.columns:
        keep = variants.codes >= 0
        users = (pd.Series(frame[user_col].to_numpy()[keep])
                 .groupby(variants.codes[keep]).nunique()
                 .reindex(range(len(variants.names)), fill_value=0).to_numpy())
    else:
        users = variants.counts()
    return choose_control(variants.names, users)


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


def label_join_problem(frame: pd.DataFrame, labels: pd.Series | None,
                       user_col: str | None, what: str = "persona") -> str | None:
    """Why labels per user (personas) cannot be joined to the experiment, or None.

    Parameters
    ----------
    frame : DataFrame
        The experiment rows.
    labels : Series or None
        Label per user id (index: user id); None when there are none (not clustered).
    user_col : str or None
        The experiment's user id column.
    what : str
        What the labels are, for the message.

    Returns
    -------
    str or None
        A sentence saying why there is no breakdown by ``what``, or None when at least
        one user of the experiment has a label.
    """
    if labels is None or len(labels) == 0:
        return f"No breakdown by {what}: the workspace has no {what}s yet (cluster first)."
    if not user_col or user_col not in frame.columns:
        return (f"No breakdown by {what}: the experiment data has no user id column, so its "
                f"users cannot be matched to the {what}s. Choose the user id column, or "
                "another column to break down by.")
    keys = frame[user_col].dropna().astype(str)
    if not keys.isin(labels.index.astype(str)).any():
        return (f"No breakdown by {what}: none of the {keys.nunique():,} user ids in "
                f"'{user_col}' is a user of the clustered workspace.")
    return None


# ----------------------------------------------------------------------------- reading

#: Text of numbers that are also yes/no words: such columns stay numbers.
_NUMBER_FLAGS = {"0", "1", "0.0", "1.0"}


def infer_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns that hold only numbers or true/false into numbers or booleans.

    CSV files are read as text (:mod:`core.data.readers` keeps ids such as ``00123`` intact);
    id-like and variant-like columns stay text.
    """
    out = frame.copy()
    keep_text = re.compile(rf"^(?:{PATTERNS['user']}|{PATTERNS['variant']})$", re.I)
    for col in out.columns:
        values = out[col]
        if keep_text.match(str(col)) or not (pd.api.types.is_object_dtype(values)
                                              or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string").str.strip().str.lower()
        seen = set(text.dropna().unique())
        if seen and seen <= TRUE_WORDS | FALSE_WORDS and not seen <= _NUMBER_FLAGS:
            out[col] = text.map(lambda v: None if pd.isna(v) else v in TRUE_WORDS).astype(
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


def read_experiment_path(path, notes: list[Notice] | None = None) -> pd.DataFrame:
    """Read an experiment file from disk with types (see :func:`infer_types`); the
    reader's notes (encoding, delimiter, renamed columns, sheets) are appended to
    ``notes`` when given."""
    from core.data.readers import read_path

    raw = read_path(path)
    if notes is not None:
        notes += [Notice("read", note, "info") for note in raw.notes]
    return infer_types(raw.frame)


#: Label of experiment users a rule does not reach when its hold-out groups are joined.
NOT_REACHED = "(not reached)"


@dataclass(frozen=True)
class RuleTest:
    """A rule's own test: the group of each user it reaches and the planned hold-out."""

    groups: pd.Series
    holdout_share: float
    #: When the rule's current version was saved (ISO 8601, UTC); None when unknown.
    since: str | None = None
    #: The rule's name, for messages.
    rule: str = ""

    def planned_split(self) -> str:
        """Weights in the page's order: control ("holdout") first, then "treatment"."""
        return f"{self.holdout_share * 100:g},{(1 - self.holdout_share) * 100:g}"


def rule_test_groups(matched: pd.DataFrame, held_out: pd.DataFrame,
                     rules: dict[str, tuple]) -> dict[str, RuleTest]:
    """The test groups of each rule with a hold-out: who saw it and who was held out.

    Parameters
    ----------
    matched, held_out : DataFrame
        Users × rule id booleans from the rule simulation (held out = matched and drawn
        into the rule's hold-out).
    rules : dict
        Rule id -> (rule name, hold-out share in [0, 1]) for the rules with a hold-out,
        optionally with a third item: when the rule's current version was saved (ISO
        8601, UTC, or None when unknown).

    Returns
    -------
    dict
        ``"Rule test: <name>"`` -> :class:`RuleTest` whose ``groups`` holds "holdout" or
        "treatment" (user id index) for the users the rule reaches; the others are absent.
    """
    tests = {}
    for rule_id, (name, share, *since) in rules.items():
        reached = matched[rule_id].to_numpy(bool)
        held = held_out[rule_id].to_numpy(bool)[reached]
        groups = pd.Series(np.where(held, "holdout", "treatment"),
                           index=matched.index[reached].astype(str))
        tests[f"Rule test: {name}"] = RuleTest(groups, share, since[0] if since else None,
                                               name)
    return tests
