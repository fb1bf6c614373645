"""Rule-based segments: named conditions on features, evaluated without ``eval``.

A segment is conditions (feature, operator, value) combined with AND or OR, optionally
negated, with a priority. Memberships can overlap, or be made exclusive: a user then
belongs to the segment with the highest priority among those that match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.features.windows import window_column, windowed_counts

Operator = Literal[">", ">=", "<", "<=", "==", "!=", "between"]
OPERATORS: tuple[str, ...] = (">", ">=", "<", "<=", "==", "!=", "between")
#: Segments smaller than this share of users get a warning (editable on the page).
SMALL_SEGMENT_SHARE = 0.01


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


def bucket_presets(features: pd.DataFrame) -> list[SegmentRule]:
    """Bucket tables: sessions per week and time since last activity."""
    c = Condition
    rules = []
    if "sessions_per_week" in features:
        rules += [SegmentRule("Sessions/week < 5", (c("sessions_per_week", "<", 5),)),
                  SegmentRule("Sessions/week 5-15", (c("sessions_per_week", "between", 5,
                                                       15),)),
                  SegmentRule("Sessions/week > 15", (c("sessions_per_week", ">", 15),))]
    if "days_since_last_event" in features:
        rules += [SegmentRule("Active < 24 h ago", (c("days_since_last_event", "<", 1),)),
                  SegmentRule("Active 24-72 h ago", (c("days_since_last_event", "between", 1,
                                                       3),)),
                  SegmentRule("Active > 72 h ago", (c("days_since_last_event", ">", 3),))]
    return rules


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
    wanted = [w for r in rules for w in r.windows()]
    if wanted:
        if events is None:
            raise ConfigError("Conditions with a time window ('in the last N days') need an "
                              "event log; this data is a per-user table. Remove the window.")
        windowed = windowed_counts(events, wanted, event_roles or {}, features.index)
        features = features.join(windowed.drop(columns=features.columns, errors="ignore"))
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
