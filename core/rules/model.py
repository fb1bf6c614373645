"""The rule model: conditions, actions, rules and rule sets (no evaluation here).

See :mod:`core.rules` for how rules are evaluated and how conflicts resolve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal, Union

from core.common.errors import ConfigError

Op = Literal[">", ">=", "<", "<=", "=", "!="]
OPS: tuple[str, ...] = (">", ">=", "<", "<=", "=", "!=")
CapUnit = Literal["session", "day"]
#: Common practice: at most 3 impressions of a module per session.
DEFAULT_CAP = 3
DEFAULT_CAP_UNIT: CapUnit = "session"
#: Subjects that are memberships rather than values.
PERSONA, SEGMENT = "persona", "segment"
#: Content modules the app knows: label and the slot each usually goes in.
MODULES: dict[str, tuple[str, str]] = {
    "recommendation_carousel": ("Recommendation carousel", "home_carousel"),
    "reengage_modal": ("Re-engagement modal with an offer", "modal"),
    "welcome_module": ("Welcome module", "hero"),
    "loyalty_offer": ("Loyalty offer", "banner"),
    "email": ("Email", "email"),
    "push": ("Push notification", "push"),
}
#: Modules that show each user's own recommended items (Recommendations page): the
#: evaluation table lists them in an ``items`` column for the users served the module.
RECOMMENDATION_MODULES = frozenset({"recommendation_carousel"})
DEFAULT_SLOT = "main"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WINDOW = re.compile(r"^(\d+)([dh])$")


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class WindowCount:
    """Events of one type (a funnel step or an event name) in the last N days or hours."""

    event: str
    amount: int
    unit: Literal["d", "h"] = "d"

    @property
    def days(self) -> float:
        return self.amount if self.unit == "d" else self.amount / 24

    @property
    def window(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def column(self) -> str:
        """Name of the column holding this count in an evaluation context."""
        return f"count({self.event}, {self.window})"


@dataclass(frozen=True)
class Comparison:
    """``subject op value``; the subject is a name or a :class:`WindowCount`."""

    subject: str | WindowCount
    op: Op
    value: float | str

    @property
    def column(self) -> str:
        return self.subject.column if isinstance(self.subject, WindowCount) else self.subject


@dataclass(frozen=True)
class Not:
    child: Condition


@dataclass(frozen=True)
class And:
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Condition, ...]


Condition = Union[Comparison, Not, And, Or]  # noqa: UP007 (a runtime alias, used in isinstance)


@dataclass(frozen=True)
class Action:
    """What a matching user gets: a module in a slot, ranked and capped."""

    module: str
    slot: str = DEFAULT_SLOT
    priority: int = 0
    cap: int = DEFAULT_CAP
    cap_unit: CapUnit = DEFAULT_CAP_UNIT
    holdout_percent: float = 0.0

    def validate(self) -> None:
        """Raise ConfigError for impossible values."""
        for what, name in (("module", self.module), ("slot", self.slot)):
            if not _IDENT.match(name or ""):
                raise ConfigError(f"The {what} '{name}' must be a name of letters, digits and "
                                  "underscores, starting with a letter (e.g. reengage_modal).")
        if self.cap < 1:
            raise ConfigError(f"A frequency cap must be at least 1 (got {self.cap}); remove "
                              "the rule instead of capping it at 0.")
        if self.cap_unit not in ("session", "day"):
            raise ConfigError(f"Caps count per session or per day, not '{self.cap_unit}'.")
        if not 0 <= self.holdout_percent < 100:
            raise ConfigError(f"A hold-out share must be from 0% to under 100% (got "
                              f"{self.holdout_percent:g}%).")


@dataclass(frozen=True)
class Rule:
    """A named IF-THEN rule; ``id`` is stable (hold-outs hash it), ``name`` is for people."""

    id: str
    name: str
    condition: Condition
    action: Action
    enabled: bool = True
    description: str = ""
    #: When the rule was first saved in the workspace, and when its condition or action
    #: last changed (ISO 8601, UTC); None when unknown (rules saved before the app
    #: recorded these times). Set by :func:`stamp_times` when rules are stored.
    created_at: str | None = None
    changed_at: str | None = None

    @property
    def since(self) -> str | None:
        """When the rule's current condition and action were saved, or None."""
        return self.changed_at or self.created_at


@dataclass(frozen=True)
class ServeSettings:
    """How many slot requests the cap simulation serves per user and day."""

    sessions_per_day: int = 2
    requests_per_session: int = 5

    def validate(self) -> None:
        if not 1 <= self.sessions_per_day <= 24 or not 1 <= self.requests_per_session <= 100:
            raise ConfigError("Simulate 1-24 sessions per day and 1-100 slot requests per "
                              "session.")


# --------------------------------------------------------------------------- helpers
def leaves(condition: Condition) -> list[Comparison]:
    """Every comparison in a condition, left to right."""
    if isinstance(condition, Comparison):
        return [condition]
    if isinstance(condition, Not):
        return leaves(condition.child)
    return [leaf for child in condition.children for leaf in leaves(child)]


def window_counts_needed(rules: list[Rule]) -> list[WindowCount]:
    """The windowed counts the rules compare, each once, in order of appearance."""
    seen: dict[WindowCount, None] = {}
    for rule in rules:
        for leaf in leaves(rule.condition):
            if isinstance(leaf.subject, WindowCount):
                seen.setdefault(leaf.subject)
    return list(seen)


#: The longest window a count may look back: ten years, in its unit.
MAX_WINDOW = {"d": 3650, "h": 87600}


def window_problem(amount: int, unit: str) -> str | None:
    """Why a window of ``amount`` ``unit`` cannot be used, or None."""
    if amount < 1:
        return "A window is at least 1 hour or 1 day"
    if amount > MAX_WINDOW[unit]:
        return (f"A window is at most ten years ({MAX_WINDOW['d']:,}d or "
                f"{MAX_WINDOW['h']:,}h)")
    return None


def parse_window(text: str) -> tuple[int, Literal["d", "h"]]:
    """Parse ``7d`` or ``48h`` into (amount, unit), at most :data:`MAX_WINDOW`."""
    match = _WINDOW.match(text.strip())
    if not match:
        raise ConfigError(f"'{text}' is not a window; write a whole number of days or hours, "
                          "e.g. 7d or 48h.")
    problem = window_problem(int(match.group(1)), match.group(2))
    if problem:
        raise ConfigError(f"'{text}': {problem}.")
    return int(match.group(1)), match.group(2)  # type: ignore[return-value]


def slugify(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A rule id from a name: lower case, underscores, unique among ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40] or "rule"
    if base[0].isdigit():
        base = f"rule_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def stamp_times(previous: RuleSet, current: RuleSet, now: str) -> RuleSet:
    """``current`` with each rule's creation and change times carried over or set.

    A rule whose id is new gets ``created_at = now`` (unless it already has one, e.g.
    from an imported file); a rule whose condition or action differ from the stored one
    of the same id keeps its ``created_at`` and gets ``changed_at = now``; otherwise
    (renamed, switched on or off, reordered) the stored times are kept, None included.
    """
    before = {r.id: r for r in previous.rules}
    stamped = []
    for rule in current.rules:
        old = before.get(rule.id)
        if old is None:
            created, changed = rule.created_at or now, rule.changed_at
        elif (old.condition, old.action) != (rule.condition, rule.action):
            created, changed = old.created_at or rule.created_at, now
        else:
            created = old.created_at or rule.created_at
            changed = old.changed_at or rule.changed_at
        stamped.append(replace(rule, created_at=created, changed_at=changed))
    return RuleSet(stamped, current.settings)


def rules_from_list(rules: list[Rule]) -> list[Rule]:
    """Check ids are unique and actions valid; return the list."""
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"Rule ids must be unique; repeated: {', '.join(duplicates)}.")
    for rule in rules:
        if not _IDENT.match(rule.id):
            raise ConfigError(f"Rule id '{rule.id}' must be letters, digits and underscores.")
        rule.action.validate()
    return rules


@dataclass
class RuleSet:
    """Rules in list order (ties in priority go to the earlier rule) and settings."""

    rules: list[Rule] = field(default_factory=list)
    settings: ServeSettings = field(default_factory=ServeSettings)

    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise ConfigError(f"There is no rule '{rule_id}'. Rules: "
                          f"{', '.join(r.id for r in self.rules) or '(none)'}.")

    def upsert(self, rule: Rule) -> RuleSet:
        """A copy with ``rule`` replacing the rule of the same id, or appended."""
        replaced = [rule if r.id == rule.id else r for r in self.rules]
        if all(r.id != rule.id for r in self.rules):
            replaced.append(rule)
        return RuleSet(rules_from_list(replaced), self.settings)

    def without(self, rule_ids: list[str]) -> RuleSet:
        return RuleSet([r for r in self.rules if r.id not in set(rule_ids)], self.settings)

    def new_id(self, name: str) -> str:
        return slugify(name, {r.id for r in self.rules})
