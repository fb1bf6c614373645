"""Rule-based segments: named conditions on features, evaluated without ``eval``.

A segment is conditions (feature, operator, value) combined with AND or OR, optionally
negated, with a priority. Memberships can overlap, or be made exclusive: a user then
belongs to the segment with the highest priority among those that match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.features.windows import window_column, windowed_counts

Operator = Literal[">", ">=", "<", "<=", "==", "!=", "between"]
OPERATORS: tuple[str, ...] = (">", ">=", "<", "<=", "==", "!=", "between")
#: Segments smaller than this share of users get a warning (editable on the page).
SMALL_SEGMENT_SHARE = 0.01
#: A preset matching more than this share of users singles no one out in this data: it
#: describes the typical user, not a segment.
BROAD_PRESET_SHARE = 0.5
#: The share of users a percentile-based preset aims at: the top (or bottom) 10 %, the
#: usual cut for "heavy" or "light" users.
PERCENTILE_SHARE = 0.10
#: Bucket tables from this data's distribution cut at its terciles: three equal thirds.
BUCKET_QUANTILES = (1 / 3, 2 / 3)
#: Common tails tried when moving the thresholds of a rule with several conditions
#: together (1 %, 2 %, ..., 100 % of users beyond each threshold).
TAIL_GRID = tuple(np.round(np.arange(1, 101) / 100, 2))

Side = Literal["top", "bottom"]


@dataclass(frozen=True)
class Condition:
    """``feature operator value`` (``between`` takes ``value`` and ``upper``)."""

    feature: str
    operator: Operator
    value: float | str
    upper: float | None = None
    #: Count the feature over the last this many days only (counts and sums; see
    #: ``core.features.windows``); None means over the whole history.
    window_days: float | None = None

    @property
    def column(self) -> str:
        """The feature column this condition reads (a windowed one when it has a window)."""
        return self.feature if self.window_days is None \
            else window_column(self.feature, self.window_days)

    def mask(self, features: pd.DataFrame) -> pd.Series:
        """True for users meeting the condition; missing values never match."""
        if self.window_days is not None and self.column not in features.columns:
            raise ConfigError(f"'{self.text()}' needs the event log to count the window; "
                              "evaluate it with the events (a per-user table has none).")
        if self.feature not in features.columns:
            raise ConfigError(f"Unknown feature '{self.feature}' in a segment condition. "
                              f"Available: {', '.join(map(str, features.columns[:12]))}, ...")
        if self.operator not in OPERATORS:
            raise ConfigError(f"Unknown operator '{self.operator}'. Use one of "
                              f"{', '.join(OPERATORS)}.")
        column = features[self.column]
        if self.operator in ("==", "!="):
            result = column.astype(str) == str(self.value) if not \
                pd.api.types.is_numeric_dtype(column) else column == float(self.value)
            result = result if self.operator == "==" else ~result
            return result & column.notna()
        if not pd.api.types.is_numeric_dtype(column):
            raise ConfigError(f"'{self.feature}' is text: compare it with == or != only.")
        value = float(self.value)
        if self.operator == "between":
            if self.upper is None or float(self.upper) < value:
                raise ConfigError(f"'between' on '{self.feature}' needs an upper bound at "
                                  "least as large as the lower one.")
            return column.between(value, float(self.upper)).fillna(False)
        compare = {">": column.gt, ">=": column.ge, "<": column.lt, "<=": column.le}
        return compare[self.operator](value).fillna(False)

    def text(self) -> str:
        if self.operator == "between":
            return f"{self.column} between {self.value:g} and {self.upper:g}"
        value = f'"{self.value}"' if isinstance(self.value, str) else f"{self.value:g}"
        return f"{self.column} {self.operator} {value}"


@dataclass(frozen=True)
class SegmentRule:
    """A named segment defined by conditions."""

    name: str
    conditions: tuple[Condition, ...]
    combine: Literal["and", "or"] = "and"
    negate: bool = False
    priority: int = 0
    description: str = ""

    def mask(self, features: pd.DataFrame) -> pd.Series:
        """Membership of every user."""
        if not self.conditions:
            raise ConfigError(f"Segment '{self.name}' has no conditions.")
        masks = [c.mask(features) for c in self.conditions]
        result = np.logical_and.reduce(masks) if self.combine == "and" \
            else np.logical_or.reduce(masks)
        result = pd.Series(result, index=features.index)
        return ~result if self.negate else result

    def windows(self) -> list[tuple[str, float]]:
        """``(feature, days)`` of every condition with a time window."""
        return [(c.feature, c.window_days) for c in self.conditions
                if c.window_days is not None]

    def text(self) -> str:
        joined = f" {self.combine.upper()} ".join(c.text() for c in self.conditions)
        return f"NOT ({joined})" if self.negate else joined

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentRule:
        try:
            conditions = tuple(Condition(**c) for c in data["conditions"])
            return cls(name=str(data["name"]), conditions=conditions,
                       combine=data.get("combine", "and"), negate=bool(data.get("negate")),
                       priority=int(data.get("priority", 0)),
                       description=str(data.get("description", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"A saved segment rule is damaged ({exc}).") from exc


def presets(features: pd.DataFrame, windows: bool = True) -> list[SegmentRule]:
    """Common-practice segments for the features this table has (editable copies).

    With ``windows`` (an event log is there), "frequent buyers" counts purchases in the
    last 30 days; without it, it uses the purchase rate over the user's tenure.
    """
    c = Condition
    frequent = (c("purchases", ">", 5, window_days=30),) if windows \
        else (c("purchases_per_30_days", ">", 5),)
    candidates = [
        SegmentRule("High engagement", (c("sessions", ">", 10),), priority=50,
                    description="More than 10 sessions."),
        SegmentRule("Frequent buyers", frequent, priority=60,
                    description="More than 5 purchases in the last 30 days." if windows
                    else "More than 5 purchases per 30 days of tenure."),
        SegmentRule("Cart abandoners", (c("cart_abandonment_rate", ">=", 0.5),
                                        c("cart_adds", ">=", 2)), priority=40,
                    description="Half or more of their cart sessions end without a "
                                "purchase, with at least 2 cart adds."),
        SegmentRule("Content explorers", (c("events_per_session", ">=", 8),
                                          c("mean_session_duration_s", ">=", 180),
                                          c("purchases", "<=", 1)), priority=30,
                    description="Many page views and long sessions, few purchases."),
        SegmentRule("New visitors", (c("days_since_first_event", "<", 7),), priority=70,
                    description="First seen less than 7 days before the end of the data."),
        SegmentRule("At risk", (c("sessions", ">", 3), c("days_since_last_event", ">", 2)),
                    priority=20, description="More than 3 sessions but none in the last 48 h."),
    ]
    return [rule for rule in candidates
            if all(cond.feature in features.columns for cond in rule.conditions)]


#: Bucket tables: (table, feature, the name of each of its three buckets, the two cuts).
BUCKET_TABLES: tuple[tuple[str, str, tuple[str, str, str], tuple[float, float]], ...] = (
    ("Sessions/week", "sessions_per_week",
     ("Sessions/week < 5", "Sessions/week 5-15", "Sessions/week > 15"), (5, 15)),
    ("Time since last activity", "days_since_last_event",
     ("Active < 24 h ago", "Active 24-72 h ago", "Active > 72 h ago"), (1, 3)),
)


def _buckets(feature: str, names: tuple[str, str, str], cuts: tuple[float, float],
             description: str = "") -> list[SegmentRule]:
    """Below the first cut, between the cuts (both included), above the second."""
    low, high = cuts
    c = Condition
    return [SegmentRule(names[0], (c(feature, "<", low),), description=description),
            SegmentRule(names[1], (c(feature, "between", low, high),),
                        description=description),
            SegmentRule(names[2], (c(feature, ">", high),), description=description)]


def bucket_presets(features: pd.DataFrame) -> list[SegmentRule]:
    """Bucket tables: sessions per week and time since last activity."""
    return [rule for table in bucket_tables(features).values() for rule in table]


def bucket_tables(features: pd.DataFrame) -> dict[str, list[SegmentRule]]:
    """The bucket tables this feature table can fill, by table name."""
    return {table: _buckets(feature, names, cuts)
            for table, feature, names, cuts in BUCKET_TABLES if feature in features}


def percentile_buckets(features: pd.DataFrame, table: str) -> list[SegmentRule]:
    """A bucket table cut at this data's terciles (low, middle, high third of users)."""
    feature = next(f for t, f, _, _ in BUCKET_TABLES if t == table)
    values = pd.to_numeric(features[feature], errors="coerce").dropna().to_numpy(float)
    if not len(values):
        raise ConfigError(f"'{feature}' has no values in this data: no buckets to cut.")
    low, high = (readable(float(v)) for v in np.quantile(values, BUCKET_QUANTILES))
    names = (f"{table}: low third (< {low:.3g})",
             f"{table}: middle third ({low:.3g}-{high:.3g})",
             f"{table}: top third (> {high:.3g})")
    return _buckets(feature, names, (low, high),
                    description=f"{feature} cut at this data's terciles "
                                f"({low:.3g} and {high:.3g}).")


#: Significant digits of a threshold taken from the data: 2.35 reads as a rule, 2.35216
#: does not, and the rounding moves a segment by a handful of users at most.
THRESHOLD_DIGITS = 3


def readable(value: float) -> float:
    """A threshold rounded to :data:`THRESHOLD_DIGITS` significant digits."""
    return float(f"{value:.{THRESHOLD_DIGITS}g}")


def percentile_threshold(values: pd.Series, share: float, side: Side = "top") -> float:
    """The value the top (or bottom) ``share`` of users reach.

    The ``1 - share`` (or ``share``) quantile of the known values, numpy's linear
    interpolation. For a whole-number feature (counts) it is rounded up (bottom: down)
    to a whole number: ``purchases >= 3.4`` and ``purchases >= 4`` select the same users,
    and the second reads as a rule.
    """
    if not 0 < share <= 1:
        raise ConfigError(f"A percentile share must be above 0 and at most 1, not {share}.")
    known = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    if not len(known):
        raise ConfigError(f"'{values.name}' has no values in this data: no percentile "
                          "to set a threshold at.")
    threshold = float(np.quantile(known, 1 - share if side == "top" else share))
    if np.array_equal(known, np.round(known)):
        threshold = float(np.ceil(threshold) if side == "top" else np.floor(threshold))
    return threshold


@dataclass(frozen=True)
class PresetCheck:
    """How a preset (or a bucket table) fits this data, and its percentile version.

    ``flagged`` names the rules that match fewer than ``SMALL_SEGMENT_SHARE`` or more
    than ``BROAD_PRESET_SHARE`` of the users; ``suggestion`` is the same preset with its
    thresholds at this data's percentiles (empty when it has no threshold to move).
    """

    name: str
    rules: tuple[SegmentRule, ...]
    shares: tuple[float, ...]
    flagged: tuple[str, ...] = ()
    suggestion: tuple[SegmentRule, ...] = ()
    suggestion_shares: tuple[float, ...] = ()
    #: What the suggestion does, e.g. "top 10 %" or "terciles".
    suggestion_kind: str = ""

    def share_of(self, rule_name: str) -> float:
        return dict(zip([r.name for r in self.rules], self.shares, strict=True))[rule_name]

    def message(self) -> str | None:
        """"'At risk' (sessions > 3 AND ...) matches 63 % of users in this data."."""
        if not self.flagged:
            return None
        parts = [f"'{n}' ({self._rule(n).text()}) matches {percent(self.share_of(n))}"
                 for n in self.flagged]
        return " and ".join(parts) + " of users in this data."

    def offer(self) -> str:
        """The percentile version in words, with its share(s) of users."""
        if not self.suggestion:
            return ""
        if len(self.suggestion) == 1:
            return (f"{self.suggestion_kind}: {self.suggestion[0].text()} "
                    f"({percent(self.suggestion_shares[0])} of users)")
        return f"{self.suggestion_kind}: " + ", ".join(
            f"{r.text()} ({percent(s)})"
            for r, s in zip(self.suggestion, self.suggestion_shares, strict=True))

    def _rule(self, name: str) -> SegmentRule:
        return next(r for r in self.rules if r.name == name)


def percent(share: float) -> str:
    """A share for a sentence: "0 %", "0.9 %", "63 %"."""
    if share == 0:
        return "0 %"
    return f"{share * 100:.1f} %" if share < 0.1 else f"{share * 100:.0f} %"


def _share(rule: SegmentRule, features: pd.DataFrame) -> float:
    return float(rule.mask(features).mean()) if len(features) else 0.0


def _off(share: float) -> bool:
    return share < SMALL_SEGMENT_SHARE or share > BROAD_PRESET_SHARE


def percentile_rule(rule: SegmentRule, features: pd.DataFrame,
                    share: float = PERCENTILE_SHARE) -> SegmentRule | None:
    """The rule with its thresholds at this data's percentiles, so about ``share`` match.

    One condition ``f > x`` becomes ``f >= p(100 - 100 share)`` (``<`` becomes ``<=`` the
    ``100 share`` percentile): the top (bottom) ``share`` of users. Where ties put far
    more users at that value (most users have 0 purchases), the strict ``>`` is taken if
    it comes closer to ``share``. With several conditions every threshold moves to the
    same tail of its feature, the tail whose combined rule comes closest to ``share``.
    Text comparisons and ``between`` stay as they are; a rule with none of ``<``, ``<=``,
    ``>``, ``>=`` or a negated rule has no percentile version (None).
    """
    movable = [i for i, c in enumerate(rule.conditions) if c.operator in (">", ">=", "<", "<=")]
    if not movable or rule.negate:
        return None

    def at(tail: float, strict: bool = False) -> SegmentRule:
        conditions = list(rule.conditions)
        for i in movable:
            c = conditions[i]
            side: Side = "top" if c.operator in (">", ">=") else "bottom"
            threshold = readable(percentile_threshold(features[c.column], tail, side))
            operator = (">" if strict else ">=") if side == "top" else ("<" if strict else "<=")
            conditions[i] = replace(c, operator=operator, value=threshold)
        return replace(rule, conditions=tuple(conditions))

    if len(rule.conditions) == 1:
        candidates = [at(share), at(share, strict=True)]
    else:
        candidates = [at(float(t)) for t in TAIL_GRID]
    best = min(candidates, key=lambda r: abs(_share(r, features) - share))
    if _share(best, features) == 0:
        return None
    return replace(best, description=f"The {percent(share)} of users furthest along: "
                                     f"{best.text()}, from this data's percentiles.")


def check_preset(rule: SegmentRule, features: pd.DataFrame,
                 share: float = PERCENTILE_SHARE) -> PresetCheck:
    """The share of users a preset matches; when it is off, its percentile version."""
    matched = _share(rule, features)
    if not _off(matched):
        return PresetCheck(rule.name, (rule,), (matched,))
    better = percentile_rule(rule, features, share)
    kind = "bottom" if all(c.operator in ("<", "<=") for c in rule.conditions
                           if c.operator in (">", ">=", "<", "<=")) else "top"
    return PresetCheck(rule.name, (rule,), (matched,), (rule.name,),
                       (better,) if better else (),
                       (_share(better, features),) if better else (),
                       f"{kind} {percent(share)}")


def check_bucket_table(table: str, rules: list[SegmentRule], features: pd.DataFrame
                       ) -> PresetCheck:
    """The share of each bucket; when one is off, the table cut at this data's terciles."""
    shares = tuple(_share(r, features) for r in rules)
    flagged = tuple(r.name for r, s in zip(rules, shares, strict=True) if _off(s))
    if not flagged:
        return PresetCheck(table, tuple(rules), shares)
    better = percentile_buckets(features, table)
    return PresetCheck(table, tuple(rules), shares, flagged, tuple(better),
                       tuple(_share(r, features) for r in better), "this data's terciles")


def preset_checks(features: pd.DataFrame, windows: bool = True,
                  share: float = PERCENTILE_SHARE) -> list[PresetCheck]:
    """Every preset of :func:`presets` and table of :func:`bucket_tables` checked on
    ``features``, which must hold the windowed columns the presets read (see
    :func:`with_windows`)."""
    checks = [check_preset(rule, features, share) for rule in presets(features, windows)]
    return checks + [check_bucket_table(table, rules, features)
                     for table, rules in bucket_tables(features).items()]


@dataclass
class Memberships:
    """Users per segment, overlapping or exclusive, with sizes and warnings."""

    matrix: pd.DataFrame
    exclusive: pd.Series | None = None
    warnings: list[str] = field(default_factory=list)

    def sizes(self) -> pd.Series:
        if self.exclusive is not None:
            return self.exclusive.value_counts()
        return self.matrix.sum()

    def overlap(self) -> pd.DataFrame:
        """Users in both segments, for every pair."""
        m = self.matrix.astype(int)
        return m.T @ m


def evaluate(features: pd.DataFrame, rules: list[SegmentRule], exclusive: bool = False,
             small_share: float = SMALL_SEGMENT_SHARE, events: pd.DataFrame | None = None,
             event_roles: dict[str, list[str]] | None = None) -> Memberships:
    """Evaluate segment rules on every user.

    Conditions with a time window are counted on ``events`` (with ``event_roles`` for
    funnel counts such as purchases); the other conditions read ``features``.

    With ``exclusive``, a user matching several segments belongs to the one with the
    highest priority (ties: the earlier rule); users matching none are "Unsegmented".
    """
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ConfigError("Two segments share a name; give each a unique name.")
    features = with_windows(features, rules, events, event_roles)
    matrix = pd.DataFrame({r.name: r.mask(features) for r in rules}, index=features.index)
    result = Memberships(matrix)
    if exclusive and rules:
        order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
        chosen = pd.Series("Unsegmented", index=features.index)
        for i in reversed(order):
            chosen = chosen.mask(matrix[rules[i].name], rules[i].name)
        result.exclusive = chosen
    for name, size in result.sizes().items():
        if name != "Unsegmented" and size < small_share * len(features):
            result.warnings.append(
                f"'{name}' holds {size:,} users ({size / len(features):.1%}), under "
                f"{small_share:.0%}: too small to act on or to measure reliably.")
    return result


def with_windows(features: pd.DataFrame, rules: list[SegmentRule],
                 events: pd.DataFrame | None = None,
                 event_roles: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """``features`` with the windowed columns the rules' time-window conditions read."""
    wanted = [w for r in rules for w in r.windows()]
    if not wanted:
        return features
    if events is None:
        raise ConfigError("Conditions with a time window ('in the last N days') need an "
                          "event log; this data is a per-user table. Remove the window.")
    windowed = windowed_counts(events, wanted, event_roles or {}, features.index)
    return features.join(windowed.drop(columns=features.columns, errors="ignore"))


def rule_from_rows(name: str, rows: list[dict[str, Any]], combine: str = "and",
                   negate: bool = False, priority: int = 0) -> SegmentRule:
    """Build a rule from edited table rows ``{feature, operator, value, upper, window_days}``.

    Blank rows are skipped; a value that looks like a number is a number, otherwise
    text (for == and != on text features such as the RFM segment).
    """
    name = (name or "").strip()
    if not name:
        raise ConfigError("Give the segment a name.")
    conditions = []
    for i, row in enumerate(rows, start=1):
        feature, operator = row.get("feature"), row.get("operator")
        value = row.get("value")
        if not feature and (value is None or str(value).strip() == ""):
            continue
        if not feature or not operator or value is None or str(value).strip() == "":
            raise ConfigError(f"Condition {i} is incomplete: choose a feature, an operator "
                              "and a value.")
        text = str(value).strip()
        try:
            parsed: float | str = float(text)
        except ValueError:
            parsed = text
        conditions.append(Condition(str(feature), operator, parsed, _number(row.get("upper")),
                                    _number(row.get("window_days"))))
    if not conditions:
        raise ConfigError("Add at least one condition.")
    if combine not in ("and", "or"):
        raise ConfigError("Combine conditions with 'and' or 'or'.")
    return SegmentRule(name, tuple(conditions), combine, bool(negate), int(priority))  # type: ignore[arg-type]


def _number(value: Any) -> float | None:
    """A blank cell (None, NaN, empty text) is no value."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return None
    return float(value)


def default_operator(features: pd.DataFrame, feature: str) -> str:
    """The operator a new condition on ``feature`` starts with: ``>=`` for a number,
    ``==`` for text (the only comparisons text has)."""
    if feature in features and not pd.api.types.is_numeric_dtype(features[feature]):
        return "=="
    return ">="


def draft_rule(rows: list[dict[str, Any]], combine: str = "and", negate: bool = False
               ) -> tuple[SegmentRule | None, list[int]]:
    """The rule of the complete rows so far (for a live size while the analyst types)
    and the numbers of the incomplete ones; None while no row is complete."""
    complete, incomplete = [], []
    for i, row in enumerate(rows, start=1):
        try:
            rule_from_rows("draft", [row])
        except (ConfigError, ValueError):
            blank = not row.get("feature") and (row.get("value") is None
                                                or str(row.get("value")).strip() == "")
            if not blank:
                incomplete.append(i)
            continue
        complete.append(row)
    if not complete:
        return None, incomplete
    return rule_from_rows("draft", complete, combine if combine in ("and", "or") else "and",
                          negate), incomplete
