"""Personalization rules: IF conditions THEN action, evaluated on every user.

A rule's condition combines comparisons with AND / OR / NOT. A comparison reads one
value per user: a feature (``days_since_last_event``), a recent-behavior signal
(``session_category_views``, see :mod:`core.behavior`), a windowed event count
(``count(add_to_cart, 7d)``), the user's persona (``persona = "Loyal buyers"``) or a
segment membership (``segment = "At risk"``). A comparison on a missing value is
false (so ``not`` of it is true).

The action shows a content module in a slot, with a priority, a frequency cap and an
optional hold-out share. How conflicts resolve (documented here, shown on the page):

1. Rules are grouped by slot. In a slot, eligible rules (matched, not held out) are
   ranked by priority, highest first; equal priorities keep the order of the list.
2. The winner is the first eligible rule: its module is what the user sees first.
3. Caps then share the slot's requests. The simulation serves ``sessions_per_day``
   sessions of ``requests_per_session`` slot requests each; every request goes to the
   highest-ranked rule that has not reached its cap (N per session, or N per day), so
   a low cap on the winner leaves room for the next rule, and a request no rule can take
   stays empty.
4. Hold-out: a user whose hash of (user id, rule id) falls under the rule's hold-out
   share is in that rule's control group: the rule is skipped for them and the slot
   falls through to the next eligible rule, as if the rule did not exist.

The text syntax (``persona = "X" and hours_since_last_event > 48 -> show reengage_modal
in slot modal priority 10 cap 1/day holdout 10%``) is in :mod:`core.rule_grammar`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Union

import jsonschema
import numpy as np
import pandas as pd

from core.errors import ConfigError

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


@dataclass(frozen=True)
class ServeSettings:
    """How many slot requests the cap simulation serves per user and day."""

    sessions_per_day: int = 2
    requests_per_session: int = 5

    def validate(self) -> None:
        if not 1 <= self.sessions_per_day <= 24 or not 1 <= self.requests_per_session <= 100:
            raise ConfigError("Simulate 1-24 sessions per day and 1-100 slot requests per "
                              "session.")


@dataclass(frozen=True)
class RuleNotice:
    """A machine-readable warning about rules or their evaluation."""

    code: str
    message: str
    rule_id: str | None = None


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


def parse_window(text: str) -> tuple[int, Literal["d", "h"]]:
    """Parse ``7d`` or ``48h`` into (amount, unit)."""
    match = _WINDOW.match(text.strip())
    if not match or int(match.group(1)) < 1:
        raise ConfigError(f"'{text}' is not a window; write a whole number of days or hours, "
                          "e.g. 7d or 48h.")
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


def holdout_hash(user_id: str, rule_id: str) -> float:
    """The hold-out draw of one user for one rule: uniform in [0, 1), the same every run.

    ``blake2b`` (8-byte digest) of the user id and of the rule id, combined by
    :func:`mix64`; the top 53 bits make the float. :func:`holdout_values` computes the
    same value for many users at once. A user is held out when the draw is under the
    rule's hold-out share.
    """
    return (mix64(blake64(user_id) ^ blake64(rule_id)) >> 11) / 2.0 ** 53


def blake64(text: str) -> int:
    """First 8 bytes of blake2b of the UTF-8 text, as an unsigned integer."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(),
                          "little")


def mix64(value: int) -> int:
    """SplitMix64 finaliser: spreads every input bit over the whole 64-bit output."""
    mask = (1 << 64) - 1
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & mask
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & mask
    return value ^ (value >> 31)


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


# --------------------------------------------------------------------------- context
@dataclass
class RuleContext:
    """Everything rules read, one row per user (``values`` index = user ids).

    ``values`` holds features, behavior signals and windowed counts (columns named like
    ``count(add_to_cart, 7d)``); ``persona`` is aligned to it (None before clustering);
    ``segments`` maps a segment name to a boolean membership array aligned to it.
    """

    values: pd.DataFrame
    persona: pd.Series | None = None
    segments: dict[str, np.ndarray] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    now: pd.Timestamp | None = None
    definitions: dict[str, str] = field(default_factory=dict)
    notices: list[RuleNotice] = field(default_factory=list)

    @property
    def users(self) -> pd.Index:
        return self.values.index

    @cached_property
    def user_hashes(self) -> np.ndarray:
        """blake2b of every user id (the user half of each hold-out draw)."""
        return np.fromiter((blake64(str(u)) for u in self.users), dtype=np.uint64,
                           count=len(self.users))

    def subset(self, user_ids: list[str]) -> RuleContext:
        """The same context for some users only (e.g. one user's explanation)."""
        missing = [u for u in user_ids if u not in self.users]
        if missing:
            raise ConfigError(f"User '{missing[0]}' is not in the data. Check the id (ids "
                              f"look like '{self.users[0]}').")
        positions = self.users.get_indexer(user_ids)
        return RuleContext(self.values.iloc[positions], None if self.persona is None
                           else self.persona.iloc[positions],
                           {k: v[positions] for k, v in self.segments.items()}, self.events,
                           self.now, self.definitions, self.notices)

    def vocabulary(self):
        """The names rules may use here (see :class:`core.rule_grammar.Vocabulary`)."""
        from core.rule_grammar import Vocabulary  # the grammar imports this module's model

        numeric, text = [], {}
        for column in self.values.columns:
            if column.startswith("count("):
                continue
            if pd.api.types.is_numeric_dtype(self.values[column]):
                numeric.append(str(column))
            else:
                text[str(column)] = tuple(sorted(map(str, self.values[column].dropna()
                                                     .unique()))[:50])
        personas = None if self.persona is None else \
            tuple(sorted(map(str, self.persona.dropna().unique())))
        return Vocabulary(tuple(numeric), text, personas, tuple(self.segments), self.events)


def build_context(features: pd.DataFrame, signals: pd.DataFrame | None = None,
                  persona: pd.Series | None = None,
                  segments: dict[str, pd.Index] | None = None,
                  counts: pd.DataFrame | None = None, events: tuple[str, ...] = (),
                  now: pd.Timestamp | None = None,
                  definitions: dict[str, str] | None = None) -> RuleContext:
    """Join features, behavior signals and windowed counts into one context.

    Parameters
    ----------
    features : DataFrame
        Per-user features (``user_id`` index); its users are the users evaluated.
    signals, counts : DataFrame, optional
        More per-user columns (from :mod:`core.behavior`), aligned on the user id.
    persona : Series, optional
        Persona name per user id; users without one never match a persona condition.
    segments : dict, optional
        Segment name → the user ids in it.
    events : tuple of str
        Names ``count(EVENT, ...)`` accepts (funnel steps and event names).
    now : Timestamp, optional
        End of the data, for the record.
    definitions : dict, optional
        One line per column, shown when choosing a name.
    """
    values = features
    for extra in (signals, counts):
        if extra is not None:
            values = values.join(extra.drop(columns=[c for c in extra.columns
                                                     if c in values.columns]), how="left")
    notices = []
    aligned = None
    if persona is not None:
        aligned = persona.reindex(values.index)
        missing = int(aligned.isna().sum())
        if missing:
            notices.append(RuleNotice("users_without_persona", (
                f"{missing:,} user(s) have no persona (not clustered); persona conditions "
                "never match them.")))
    members = {name: values.index.isin(ids) for name, ids in (segments or {}).items()}
    return RuleContext(values, aligned, members, tuple(events), now, dict(definitions or {}),
                       notices)


# --------------------------------------------------------------------------- masks
def comparison_mask(leaf: Comparison, context: RuleContext) -> np.ndarray:
    """True for users meeting one comparison; missing values never match."""
    if leaf.subject == PERSONA:
        if context.persona is None:
            raise ConfigError("A rule compares personas, but users are not clustered yet. "
                              "Cluster them on the Clustering page (on the command line: "
                              "pass --personas), or remove the condition.")
        return _equality(context.persona, leaf)
    if leaf.subject == SEGMENT:
        if leaf.value not in context.segments:
            raise ConfigError(f"A rule uses segment \"{leaf.value}\", which does not exist. "
                              f"Segments: {', '.join(context.segments) or '(none)'}.")
        member = context.segments[str(leaf.value)]
        return member if leaf.op == "=" else ~member
    if leaf.column not in context.values.columns:
        raise ConfigError(f"A rule uses '{leaf.column}', which this data does not have. "
                          "Edit the rule, or compute it (behavior signals need the event log).")
    column = context.values[leaf.column]
    if not pd.api.types.is_numeric_dtype(column) or isinstance(leaf.value, str):
        return _equality(column, leaf)
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    compare = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal,
               "=": np.equal, "!=": np.not_equal}[leaf.op]
    return compare(values, float(leaf.value)) & ~np.isnan(values)


def _equality(column: pd.Series, leaf: Comparison) -> np.ndarray:
    if leaf.op not in ("=", "!="):
        raise ConfigError(f"'{leaf.column}' holds text: compare it with = or != only.")
    present = column.notna().to_numpy()
    equal = (column.astype("string") == str(leaf.value)).fillna(False).to_numpy(dtype=bool)
    return (equal if leaf.op == "=" else ~equal) & present


def condition_mask(condition: Condition, context: RuleContext,
                   cache: dict[Comparison, np.ndarray] | None = None) -> np.ndarray:
    """True for users meeting a condition; ``cache`` shares comparisons between rules."""
    cache = {} if cache is None else cache
    if isinstance(condition, Comparison):
        if condition not in cache:
            cache[condition] = comparison_mask(condition, context)
        return cache[condition]
    if isinstance(condition, Not):
        return ~condition_mask(condition.child, context, cache)
    masks = [condition_mask(c, context, cache) for c in condition.children]
    return np.logical_and.reduce(masks) if isinstance(condition, And) \
        else np.logical_or.reduce(masks)


def holdout_values(user_hashes: np.ndarray, rule_id: str) -> np.ndarray:
    """Hold-out draws of many users for one rule; equal to :func:`holdout_hash` each."""
    value = user_hashes ^ np.uint64(blake64(rule_id))
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    value = value ^ (value >> np.uint64(31))
    return (value >> np.uint64(11)).astype(np.float64) / 2.0 ** 53


def holdout_table(rules: list[Rule], user_ids: pd.Index | list[str]) -> pd.DataFrame:
    """Hold-out group of every user for every rule that has a hold-out.

    Parameters
    ----------
    rules : list of Rule
        Rules without a hold-out share are skipped.
    user_ids : Index or list
        Users to assign (all of them, matched or not: join with the evaluation to keep
        the users a rule reaches).

    Returns
    -------
    DataFrame
        Columns ``user_id``, ``rule_id``, ``group`` ("holdout" or "treatment") and
        ``draw`` (the uniform draw; held out when ``draw < holdout share``).
    """
    ids = pd.Index(user_ids).astype(str)
    hashes = np.fromiter((blake64(u) for u in ids), dtype=np.uint64, count=len(ids))
    parts = []
    for rule in rules:
        if rule.action.holdout_percent > 0:
            draw = holdout_values(hashes, rule.id)
            held = draw < rule.action.holdout_percent / 100
            parts.append(pd.DataFrame({"user_id": ids, "rule_id": rule.id,
                                       "group": np.where(held, "holdout", "treatment"),
                                       "draw": draw}))
    if not parts:
        return pd.DataFrame({"user_id": pd.Series(dtype=str), "rule_id": pd.Series(dtype=str),
                             "group": pd.Series(dtype=str), "draw": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- simulation
Outcome = Literal["wins", "shown after caps", "lost on priority", "held out", "not matched"]


@dataclass
class Simulation:
    """Every enabled rule evaluated on every user, with conflicts resolved.

    ``matched`` and ``held_out`` are users × rule id booleans (held out = matched and in
    the rule's hold-out); ``impressions`` counts what each rule shows each user in one
    simulated day; ``winner`` holds, per user and slot, the id of the rule seen first
    ("" when none is eligible). ``reach``, ``conflicts`` and ``overlap`` are tables for
    people; ``unreached`` are the users no rule matches.
    """

    rules: list[Rule]
    matched: pd.DataFrame
    held_out: pd.DataFrame
    impressions: pd.DataFrame
    winner: pd.DataFrame
    reach: pd.DataFrame
    conflicts: pd.DataFrame
    overlap: pd.DataFrame
    unreached: pd.Index
    settings: ServeSettings
    notices: list[RuleNotice] = field(default_factory=list)

    @property
    def users(self) -> pd.Index:
        return self.matched.index

    @property
    def reached_share(self) -> float:
        return 1 - len(self.unreached) / max(len(self.users), 1)

    def conflicted_users(self) -> int:
        """Users matched by two or more rules for the same slot."""
        counts = [self.matched[[r.id for r in self.rules if r.action.slot == slot]].sum(axis=1)
                  for slot in self.winner.columns]
        if not counts:
            return 0
        return int(np.logical_or.reduce([c.to_numpy() >= 2 for c in counts]).sum())


def ranked(rules: list[Rule]) -> list[Rule]:
    """Rules of one slot in serving order: priority (highest first), then list order."""
    return [r for _, r in sorted(enumerate(rules), key=lambda p: (-p[1].action.priority,
                                                                   p[0]))]


def serve(actions: list[Action], settings: ServeSettings) -> list[int]:
    """Impressions per action in one simulated day; ``actions`` in serving order.

    Each slot request goes to the first action that is under both its caps.
    """
    day_left = [a.cap if a.cap_unit == "day" else np.inf for a in actions]
    shown = [0] * len(actions)
    for _ in range(settings.sessions_per_day):
        session_left = [a.cap if a.cap_unit == "session" else np.inf for a in actions]
        for _ in range(settings.requests_per_session):
            for i in range(len(actions)):
                if session_left[i] > 0 and day_left[i] > 0:
                    session_left[i] -= 1
                    day_left[i] -= 1
                    shown[i] += 1
                    break
    return shown


def simulate(rule_set: RuleSet, context: RuleContext) -> Simulation:
    """Evaluate the enabled rules on every user of the context.

    Parameters
    ----------
    rule_set : RuleSet
        Rules (list order breaks priority ties) and serving settings.
    context : RuleContext
        Users and their values.

    Returns
    -------
    Simulation
    """
    rule_set.settings.validate()
    rules = rules_from_list(rule_set.enabled())
    users = context.users
    cache: dict[Comparison, np.ndarray] = {}
    matched = pd.DataFrame({r.id: condition_mask(r.condition, context, cache) for r in rules},
                           index=users, columns=[r.id for r in rules], dtype=bool)
    held = pd.DataFrame(False, index=users, columns=matched.columns)
    for rule in rules:
        if rule.action.holdout_percent > 0:
            draw = holdout_values(context.user_hashes, rule.id)
            held[rule.id] = matched[rule.id].to_numpy() & \
                (draw < rule.action.holdout_percent / 100)
    impressions = pd.DataFrame(0, index=users, columns=matched.columns, dtype=np.int32)
    winner = pd.DataFrame(index=users)
    conflicts = []
    for slot in dict.fromkeys(r.action.slot for r in rules):
        order = ranked([r for r in rules if r.action.slot == slot])
        result = _serve_slot(order, matched, held, rule_set.settings)
        impressions[[r.id for r in order]] = result.impressions
        winner[slot] = result.winner
        conflicts.extend(result.conflicts)
    any_match = matched.to_numpy().any(axis=1) if rules else np.zeros(len(users), bool)
    sim = Simulation(rules, matched, held, impressions, winner, pd.DataFrame(),
                     _conflict_table(conflicts), _overlap(matched), users[~any_match],
                     rule_set.settings, list(context.notices))
    sim.reach = _reach(sim)
    return sim


@dataclass
class _SlotResult:
    impressions: np.ndarray
    winner: np.ndarray
    conflicts: list[dict]


def _serve_slot(order: list[Rule], matched: pd.DataFrame, held: pd.DataFrame,
                settings: ServeSettings) -> _SlotResult:
    """Serve one slot for every user, once per distinct pattern of matches."""
    ids = [r.id for r in order]
    if len(ids) > 62:
        raise ConfigError("A slot has more than 62 rules; split them over more slots.")
    bits = np.left_shift(np.int64(1), np.arange(len(ids), dtype=np.int64))
    m = matched[ids].to_numpy()
    e = m & ~held[ids].to_numpy()
    keys = np.column_stack([m.astype(np.int64) @ bits, e.astype(np.int64) @ bits])
    patterns, inverse, counts = np.unique(keys, axis=0, return_inverse=True,
                                          return_counts=True)
    table = np.zeros((len(patterns), len(ids)), dtype=np.int32)
    winners = np.full(len(patterns), "", dtype=object)
    conflicts: list[dict] = []
    for p, (m_code, e_code) in enumerate(patterns):
        eligible = [i for i in range(len(ids)) if e_code >> i & 1]
        shown = serve([order[i].action for i in eligible], settings)
        table[p, eligible] = shown
        winners[p] = ids[eligible[0]] if eligible else ""
        present = [i for i in range(len(ids)) if m_code >> i & 1]
        if len(present) >= 2:
            conflicts.extend(_pattern_conflicts(order, present, eligible, table[p],
                                                int(counts[p])))
    inverse = inverse.ravel()
    return _SlotResult(table[inverse], winners[inverse].astype(str), conflicts)


def _pattern_conflicts(order: list[Rule], present: list[int], eligible: list[int],
                       shown: np.ndarray, users: int) -> list[dict]:
    """How one pattern of several matching rules in a slot resolves, rule by rule."""
    slot = order[0].action.slot
    win = order[eligible[0]] if eligible else None
    rows = []
    for i in present:
        rule = order[i]
        if win is not None and rule.id == win.id:
            continue
        if i not in eligible:
            how = f"hold-out ({format_percent(rule.action.holdout_percent)})"
        elif win.action.priority > rule.action.priority:
            how = f"priority {win.action.priority} > {rule.action.priority}"
        else:
            how = f"same priority {rule.action.priority}: earlier in the list"
        rows.append({"slot": slot, "winner": win.id if win else "", "loser": rule.id,
                     "resolved_by": how, "users": users,
                     "loser_still_shown": users if shown[i] > 0 else 0})
    return rows


def format_percent(value: float) -> str:
    return f"{value:g}%"


def _conflict_table(rows: list[dict]) -> pd.DataFrame:
    columns = ["slot", "winner", "loser", "resolved_by", "users", "loser_still_shown"]
    if not rows:
        return pd.DataFrame(columns=columns).astype({"users": int, "loser_still_shown": int})
    frame = pd.DataFrame(rows)
    return (frame.groupby(columns[:4], as_index=False, sort=False)[columns[4:]].sum()
            .sort_values(["slot", "users"], ascending=[True, False], ignore_index=True))


def _overlap(matched: pd.DataFrame) -> pd.DataFrame:
    m = matched.to_numpy().astype(np.int32)
    return pd.DataFrame(m.T @ m, index=matched.columns, columns=matched.columns)


def _reach(sim: Simulation) -> pd.DataFrame:
    n = max(len(sim.users), 1)
    rows = []
    for rule in sim.rules:
        matched = int(sim.matched[rule.id].sum())
        wins = int((sim.winner[rule.action.slot] == rule.id).sum())
        rows.append({
            "rule_id": rule.id, "name": rule.name, "slot": rule.action.slot,
            "module": rule.action.module, "priority": rule.action.priority,
            "users": matched, "share": matched / n,
            "held_out": int(sim.held_out[rule.id].sum()), "wins": wins,
            "shown": int((sim.impressions[rule.id] > 0).sum()),
            "impressions_per_day": int(sim.impressions[rule.id].sum()),
        })
    return pd.DataFrame(rows, columns=["rule_id", "name", "slot", "module", "priority",
                                       "users", "share", "held_out", "wins", "shown",
                                       "impressions_per_day"])


# --------------------------------------------------------------------------- explanations
@dataclass(frozen=True)
class ConditionRow:
    """One line of a condition tree with the user's value and whether it holds."""

    depth: int
    text: str
    value: str
    holds: bool


@dataclass(frozen=True)
class RuleVerdict:
    """What one rule does for one user, and why."""

    rule_id: str
    name: str
    slot: str
    module: str
    priority: int
    outcome: Outcome | Literal["disabled"]
    reason: str
    impressions: int
    holdout_draw: float | None
    conditions: tuple[ConditionRow, ...]


@dataclass(frozen=True)
class UserExplanation:
    """'Why am I seeing this?': the winner per slot and a verdict per rule."""

    user_id: str
    winners: dict[str, str]
    verdicts: tuple[RuleVerdict, ...]


def explain_user(rule_set: RuleSet, context: RuleContext, user_id: str) -> UserExplanation:
    """Which rules fire for one user, which lose on priority, cap or hold-out, and why.

    The user is simulated exactly as in :func:`simulate`, so the verdicts agree with it.
    """
    user_id = str(user_id).strip()
    one = context.subset([user_id])
    sim = simulate(rule_set, one)
    verdicts = []
    for rule in rule_set.rules:
        rows = tuple(condition_rows(rule.condition, one))
        if not rule.enabled:
            verdicts.append(RuleVerdict(rule.id, rule.name, rule.action.slot,
                                        rule.action.module, rule.action.priority, "disabled",
                                        "The rule is switched off.", 0, None, rows))
            continue
        verdicts.append(_verdict(rule, sim, rows))
    winners = {slot: str(sim.winner[slot].iloc[0]) for slot in sim.winner.columns}
    return UserExplanation(user_id, winners, tuple(verdicts))


def _verdict(rule: Rule, sim: Simulation, rows: tuple[ConditionRow, ...]) -> RuleVerdict:
    action, settings = rule.action, sim.settings
    shown = int(sim.impressions[rule.id].iloc[0])
    draw = None
    if action.holdout_percent > 0:
        draw = holdout_hash(str(sim.users[0]), rule.id)
    winner_id = str(sim.winner[action.slot].iloc[0])
    requests = settings.sessions_per_day * settings.requests_per_session
    cap = f"{action.cap}/{action.cap_unit}"
    if not sim.matched[rule.id].iloc[0]:
        failed = [f"{r.text} (value {r.value})" for r in rows if not r.holds and r.value]
        outcome, reason = "not matched", "The condition is false" + (
            f": {'; '.join(failed[:3])}." if failed else ".")
    elif sim.held_out[rule.id].iloc[0]:
        outcome, reason = "held out", (
            f"In this rule's {format_percent(action.holdout_percent)} hold-out (draw "
            f"{draw:.3f} < {action.holdout_percent / 100:g}): the rule is skipped for this "
            "user, who is in its control group.")
    elif winner_id == rule.id:
        outcome = "wins"
        reason = f"Wins slot '{action.slot}' (priority {action.priority})"
        reason += f"; shown {shown} of {requests} requests a day (cap {cap})." \
            if shown < requests else f"; shown on all {requests} requests a day."
    else:
        win = next(r for r in sim.rules if r.id == winner_id)
        why = f"priority {win.action.priority} > {action.priority}" \
            if win.action.priority > action.priority else \
            f"same priority {action.priority}, '{win.name}' is earlier in the list"
        if shown:
            outcome = "shown after caps"
            reason = (f"Loses slot '{action.slot}' to '{win.name}' ({why}), but is shown "
                      f"{shown} time(s) a day once higher rules reach their caps.")
        else:
            outcome = "lost on priority"
            reason = (f"Loses slot '{action.slot}' to '{win.name}' ({why}); higher rules "
                      f"fill all {requests} requests a day within their caps.")
    return RuleVerdict(rule.id, rule.name, action.slot, action.module, action.priority,
                       outcome, reason, shown, draw, rows)  # type: ignore[arg-type]


def condition_rows(condition: Condition, context: RuleContext, depth: int = 0
                   ) -> list[ConditionRow]:
    """The condition tree of the first user in ``context``, line by line."""
    from core.rule_grammar import format_comparison  # the grammar imports this model

    holds = bool(condition_mask(condition, context)[0])
    if isinstance(condition, Comparison):
        return [ConditionRow(depth, format_comparison(condition),
                             user_value(condition, context), holds)]
    if isinstance(condition, Not):
        head = ConditionRow(depth, "not:", "", holds)
        return [head, *condition_rows(condition.child, context, depth + 1)]
    head = ConditionRow(depth, "all of:" if isinstance(condition, And) else "any of:", "",
                        holds)
    return [head, *[row for c in condition.children
                    for row in condition_rows(c, context, depth + 1)]]


def user_value(leaf: Comparison, context: RuleContext, position: int = 0) -> str:
    """The value a comparison reads for one user, as text ("missing" when none)."""
    if leaf.subject == PERSONA:
        value = None if context.persona is None else context.persona.iloc[position]
    elif leaf.subject == SEGMENT:
        member = context.segments.get(str(leaf.value))
        return "missing" if member is None else ("member" if member[position]
                                                 else "not a member")
    elif leaf.column in context.values.columns:
        value = context.values[leaf.column].iloc[position]
    else:
        value = None
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "missing"
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def _leaf_strings(leaf: Comparison, context: RuleContext, rows: np.ndarray) -> np.ndarray:
    """The value each of ``rows`` (positions) reads for a comparison, as text."""
    if leaf.subject == SEGMENT:
        member = context.segments.get(str(leaf.value), np.zeros(len(context.users), bool))
        return np.where(member[rows], "member", "not a member")
    column = context.persona if leaf.subject == PERSONA else context.values[leaf.column]
    values = column.iloc[rows]
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        text = np.char.mod("%.4g", numbers)
        return np.where(np.isnan(numbers), "missing", text)
    return values.astype("string").fillna("missing").to_numpy(dtype=str)


def evaluation_table(sim: Simulation, context: RuleContext) -> pd.DataFrame:
    """One row per user and slot that some rule matches: the hand-off table.

    Columns: ``user_id``, ``slot``, ``action`` (module shown first; empty when every
    matching rule holds the user out), ``winning_rule``, ``rule_name``,
    ``impressions_per_day``, ``holdout`` (the user is in the hold-out of a matching rule
    of this slot), ``holdout_rules`` and ``explanation`` (the winning rule's conditions
    with the user's values).
    """
    from core.rule_grammar import format_comparison  # the grammar imports this model

    by_id = {r.id: r for r in sim.rules}
    parts = []
    for slot in sim.winner.columns:
        ids = [r.id for r in sim.rules if r.action.slot == slot]
        m = sim.matched[ids].to_numpy()
        rows = np.flatnonzero(m.any(axis=1))
        winner = sim.winner[slot].to_numpy()[rows]
        held = sim.held_out[ids].to_numpy()[rows]
        held_ids = np.full(len(rows), "", dtype=object)
        some = np.flatnonzero(held.any(axis=1))
        held_ids[some] = [";".join(np.array(ids)[h]) for h in held[some]]
        explanation = np.full(len(rows), "", dtype=object)
        impressions = np.zeros(len(rows), dtype=np.int64)
        for rule_id in ids:
            wins = winner == rule_id
            if not wins.any():
                continue
            rule, positions = by_id[rule_id], rows[wins]
            text = np.full(len(positions), "", dtype=object)
            for k, leaf in enumerate(leaves(rule.condition)):
                values = _leaf_strings(leaf, context, positions)
                text = text + ("; " if k else "") + f"{format_comparison(leaf)} [" + \
                    values.astype(object) + "]"
            explanation[wins] = text
            impressions[wins] = sim.impressions[rule_id].to_numpy()[positions]
        none = winner == ""
        explanation[none] = "held out of every matching rule: " + held_ids[none].astype(object)
        parts.append(pd.DataFrame({
            "user_id": sim.users[rows].astype(str), "slot": slot,
            "action": [by_id[w].action.module if w else "" for w in winner],
            "winning_rule": winner, "rule_name": [by_id[w].name if w else "" for w in winner],
            "impressions_per_day": impressions, "holdout": held.any(axis=1),
            "holdout_rules": held_ids, "explanation": explanation}))
    if not parts:
        return pd.DataFrame(columns=["user_id", "slot", "action", "winning_rule", "rule_name",
                                     "impressions_per_day", "holdout", "holdout_rules",
                                     "explanation"])
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- JSON
RULES_FORMAT = "persona-lens-rules"
RULES_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schemas" / "rules.schema.json"
#: Schema problems listed in one error message at most.
MAX_SCHEMA_ERRORS = 5


def condition_to_json(condition: Condition) -> dict[str, Any]:
    """A condition as the JSON tree of the schema (``all`` / ``any`` / ``not``)."""
    if isinstance(condition, Comparison):
        subject = condition.subject
        head: dict[str, Any] = {"count": {"event": subject.event, "window": subject.window}} \
            if isinstance(subject, WindowCount) else {"subject": subject}
        return {**head, "op": condition.op, "value": condition.value}
    if isinstance(condition, Not):
        return {"not": condition_to_json(condition.child)}
    key = "all" if isinstance(condition, And) else "any"
    return {key: [condition_to_json(c) for c in condition.children]}


def condition_from_json(data: dict[str, Any]) -> Condition:
    """Inverse of :func:`condition_to_json` (input already checked by the schema)."""
    if "all" in data:
        return And(tuple(condition_from_json(c) for c in data["all"]))
    if "any" in data:
        return Or(tuple(condition_from_json(c) for c in data["any"]))
    if "not" in data:
        return Not(condition_from_json(data["not"]))
    value = data["value"]
    value = value if isinstance(value, str) else float(value)
    if "count" in data:
        amount, unit = parse_window(data["count"]["window"])
        return Comparison(WindowCount(data["count"]["event"], amount, unit), data["op"], value)
    return Comparison(data["subject"], data["op"], value)


def rule_to_json(rule: Rule) -> dict[str, Any]:
    from core.rule_grammar import format_rule  # the grammar imports this module's model

    a = rule.action
    return {"id": rule.id, "name": rule.name, "enabled": rule.enabled,
            "description": rule.description, "text": format_rule(rule.condition, a),
            "condition": condition_to_json(rule.condition),
            "action": {"module": a.module, "slot": a.slot, "priority": a.priority,
                       "cap": {"count": a.cap, "per": a.cap_unit},
                       "holdout_percent": a.holdout_percent}}


def rule_set_to_json(rule_set: RuleSet, exported: str | None = None) -> dict[str, Any]:
    """The versioned JSON document of :data:`SCHEMA_PATH` (``exported``: a UTC time)."""
    data: dict[str, Any] = {"format": RULES_FORMAT, "version": RULES_VERSION}
    if exported:
        data["exported"] = exported
    s = rule_set.settings
    data["settings"] = {"sessions_per_day": s.sessions_per_day,
                        "requests_per_session": s.requests_per_session}
    data["rules"] = [rule_to_json(r) for r in rule_set.rules]
    return data


def schema() -> dict[str, Any]:
    """The JSON schema of exported rules."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def rule_set_from_json(data: Any) -> RuleSet:
    """Validate a rules document against the schema and build the rule set.

    Raises
    ------
    ConfigError
        Listing where the document breaks the schema (JSON path and problem).
    """
    validator = jsonschema.Draft202012Validator(schema())
    problems = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [f"at {_json_path(p.absolute_path)}: {_short(p)}"
                 for p in problems[:MAX_SCHEMA_ERRORS]]
        more = len(problems) - len(lines)
        raise ConfigError("The rules file does not follow the rules schema "
                          f"(core/schemas/rules.schema.json): {'; '.join(lines)}"
                          + (f"; and {more} more." if more else "."))
    rules = []
    for item in data["rules"]:
        a = item["action"]
        cap = a.get("cap", {"count": DEFAULT_CAP, "per": DEFAULT_CAP_UNIT})
        action = Action(a["module"], a["slot"], int(a.get("priority", 0)), int(cap["count"]),
                        cap["per"], float(a.get("holdout_percent", 0)))
        rules.append(Rule(item["id"], item["name"], condition_from_json(item["condition"]),
                          action, bool(item.get("enabled", True)),
                          str(item.get("description", ""))))
    settings = ServeSettings(**data.get("settings", {}))
    settings.validate()
    return RuleSet(rules_from_list(rules), settings)


def _json_path(path) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return f"${parts}"


def _short(error: jsonschema.ValidationError) -> str:
    message = error.message
    return message if len(message) <= 160 else message[:157] + "..."


def read_rules(text: str | bytes) -> RuleSet:
    """Read an exported rules file (JSON text)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The rules file is not JSON ({exc}). Export rules from the Rules "
                          "page to get one.") from exc
    return rule_set_from_json(data)


def rules_json_bytes(rule_set: RuleSet) -> bytes:
    """The export file: indented JSON with the export time."""
    exported = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(rule_set_to_json(rule_set, exported), indent=2,
                      ensure_ascii=False).encode("utf-8")


def load_workspace_rules(stored: dict[str, Any]) -> RuleSet:
    """The rule set kept in ``Workspace.rules`` (empty when nothing is stored)."""
    if not stored:
        return RuleSet()
    return rule_set_from_json(stored)


# --------------------------------------------------------------------------- starters
@dataclass
class Starters:
    """Starter rules from the personas (or from features before clustering)."""

    rules: list[Rule]
    notices: list[RuleNotice] = field(default_factory=list)


#: (key, module, priority, cap, unit, hold-out %): the four common-practice starters.
_STARTERS = (
    ("engaged", "recommendation_carousel", 20, 3, "session", 0.0),
    ("churn", "reengage_modal", 30, 1, "day", 10.0),
    ("new", "welcome_module", 40, 1, "session", 0.0),
    ("loyal", "loyalty_offer", 10, 1, "day", 0.0),
)
#: Which persona each starter targets: the one with the highest (or lowest, "-")
#: mean of the first of these features the table has.
_TARGET_FEATURES = {
    "new": ("-days_since_first_event", "-tenure_days"),
    "loyal": ("purchases_per_30_days", "purchases", "revenue"),
    "churn": ("days_since_last_event",),
    "engaged": ("engagement_score", "events_per_session", "events"),
}


def starter_rules(context: RuleContext) -> Starters:
    """Common-practice starters, editable: engaged and viewed products more than twice in
    the last 7 days → recommendation carousel, churn risk (no activity for 48 h) →
    re-engagement modal (10% hold-out), new → welcome module, loyal → loyalty offer.

    With personas, each starter targets the persona whose mean of a telling feature is
    highest (lowest days since first event for new visitors), each persona once; before
    clustering, or when there are too few personas, the condition is on features.
    """
    values = context.values
    personas = _pick_personas(context) if context.persona is not None else {}
    notices = [] if context.persona is not None else [RuleNotice(
        "no_personas", "No personas yet: starter rules use features. Cluster users on the "
                       "Clustering page for persona starters.")]
    views = Comparison(WindowCount("product_view", 7), ">", 2.0) \
        if "product_view" in context.events else _cmp(values, "product_views", ">", 2)
    extra = {"engaged": views,
             "churn": _behaviour(values, "hours_since_last_event", ">=", 48,
                                 "days_since_last_event", ">=", 2)}
    fallback = {"engaged": _top_quartile(values, "engagement_score"),
                "churn": _cmp(values, "sessions", ">", 3),
                "new": _cmp(values, "days_since_first_event", "<", 7),
                "loyal": _top_quartile(values, "purchases_per_30_days", positive=True)}
    rules: list[Rule] = []
    for key, module, priority, cap, unit, holdout in _STARTERS:
        persona = personas.get(key)
        head = Comparison(PERSONA, "=", persona) if persona else fallback[key]
        parts = [c for c in (head, extra.get(key)) if c is not None]
        if not parts or (persona is None and head is None):
            continue
        condition = parts[0] if len(parts) == 1 else And(tuple(parts))
        label = MODULES[module][0]
        name = f"{label} for {persona}" if persona else f"{label} ({key} users)"
        action = Action(module, MODULES[module][1], priority, cap, unit, holdout)  # type: ignore[arg-type]
        rules.append(Rule(slugify(f"{key}_{module}", {r.id for r in rules}), name,
                          condition, action))
    return Starters(rules, notices)


def _pick_personas(context: RuleContext) -> dict[str, str]:
    """Starter key → persona, each persona used once."""
    values, persona = context.values, context.persona
    means = values.select_dtypes("number").groupby(persona.to_numpy()).mean()
    chosen: dict[str, str] = {}
    for key in ("new", "loyal", "churn", "engaged"):
        for spec in _TARGET_FEATURES[key]:
            column = spec.lstrip("-")
            if column not in means.columns:
                continue
            order = means[column].dropna().sort_values(ascending=spec.startswith("-"))
            free = [p for p in order.index if p not in chosen.values()]
            if free:
                chosen[key] = str(free[0])
            break
    return chosen


def _cmp(values: pd.DataFrame, column: str, op: str, value: float) -> Comparison | None:
    return Comparison(column, op, float(value)) if column in values.columns else None  # type: ignore[arg-type]


def _behaviour(values: pd.DataFrame, *specs) -> Comparison | None:
    """The first comparison whose column exists (signal, then feature)."""
    for i in range(0, len(specs), 3):
        found = _cmp(values, *specs[i:i + 3])
        if found is not None:
            return found
    return None


def _top_quartile(values: pd.DataFrame, column: str, positive: bool = False
                  ) -> Comparison | None:
    """``column > q75`` with the threshold rounded to two significant digits."""
    if column not in values.columns:
        return None
    series = values[column].dropna()
    series = series[series > 0] if positive else series
    if series.empty:
        return None
    threshold = float(f"{series.quantile(0.75):.2g}")
    return Comparison(column, ">", threshold)


# --------------------------------------------------------------------------- workspace
def count_columns(events: pd.DataFrame, event_roles: dict[str, list[str]],
                  counts: list[WindowCount], now: pd.Timestamp | None = None,
                  users: pd.Index | None = None) -> pd.DataFrame:
    """One column per windowed count (a funnel step counts all its event names)."""
    from core.behavior import window_counts

    columns = {}
    for count in counts:
        names = event_roles.get(count.event) or [count.event]
        columns[count.column] = window_counts(events, names, count.days, now, users)
    return pd.DataFrame(columns, index=users)


def event_names(events: pd.DataFrame | None, event_roles: dict[str, list[str]]
                ) -> tuple[str, ...]:
    """Names ``count(...)`` accepts: funnel steps that have events, then event names."""
    steps = [step for step, names in event_roles.items() if names]
    raw = [] if events is None else sorted(map(str, events["event"].dropna().unique()))
    return tuple(dict.fromkeys([*steps, *raw]))


def workspace_segments(ws) -> dict[str, pd.Index]:
    """Members of the Segments page's rule segments and of saved selections.

    A saved selection named like a rule segment is called "NAME (map)", as on the
    Segments page.
    """
    from core.analysis import segment_memberships  # one evaluation path for every page

    features = ws.features
    members: dict[str, pd.Index] = {}
    if ws.segment_rules:
        matrix = segment_memberships(ws).matrix
        members = {str(name): features.index[matrix[name].to_numpy()] for name in matrix}
    saved = ws.segments
    if saved is not None and not saved.empty:
        for name, ids in saved.groupby("segment")["user_id"]:
            key = f"{name} (map)" if name in members else str(name)
            members[key] = pd.Index(ids.astype(str))
    return members


def context_from_workspace(ws, counts: list[WindowCount] = ()) -> RuleContext:
    """Build the evaluation context of a workspace: features, signals, personas, segments.

    Parameters
    ----------
    ws : Workspace
        Needs a feature table; the event log (for signals and counts), clusters (for
        personas) and segments are used when present.
    counts : list of WindowCount
        Windowed counts to compute (see :func:`window_counts_needed`).
    """
    from core.behavior import SIGNAL_DEFINITIONS, behavior_signals, data_now
    from core.features import DEFINITIONS

    features = ws.features
    if features is None:
        raise ConfigError("There is no feature table yet. Load data on the Data page.")
    events, roles = ws.events, ws.event_roles or {}
    signals = count_frame = now = None
    notices: list[RuleNotice] = []
    if events is not None and not events.empty:
        now = data_now(events)
        result = behavior_signals(events, roles, now, users=features.index)
        signals = result.frame
        notices += [RuleNotice(n.code, n.message) for n in result.notices]
        if counts:
            count_frame = count_columns(events, roles, list(counts), now, features.index)
    elif counts:
        raise ConfigError("Windowed counts need the event log; this workspace has only a "
                          "per-user table.")
    else:
        notices.append(RuleNotice("no_events", "There is no event log: behavior signals and "
                                               "windowed counts are not available."))
    definitions = {**DEFINITIONS, **ws.feature_definitions, **SIGNAL_DEFINITIONS}
    context = build_context(features, signals, ws.persona_labels(),
                            workspace_segments(ws),
                            count_frame, event_names(events, roles), now, definitions)
    context.notices = notices + context.notices
    return context


# --------------------------------------------------------------------------- form
#: The form's "what" for a windowed count (then the event and window columns apply).
COUNT_CHOICE = "count of an event"


def condition_from_rows(rows: list[dict[str, Any]], combine: str = "and",
                        negate: bool = False) -> Condition:
    """A condition from form rows ``{what, event, window, op, value}``.

    Blank rows are skipped. ``what`` is a name (feature, signal, ``persona``,
    ``segment``) or :data:`COUNT_CHOICE` (then ``event`` and ``window`` such as ``7d``).
    A value that reads as a number is a number, except for persona and segment names.
    """
    leaves_: list[Condition] = []
    for i, row in enumerate(rows, start=1):
        what, op, value = row.get("what"), row.get("op"), _blank(row.get("value"))
        if not what and value is None:
            continue
        if not what or not op or value is None:
            raise ConfigError(f"Condition {i} is incomplete: choose what to compare, an "
                              "operator and a value.")
        if op not in OPS:
            raise ConfigError(f"Condition {i}: the operator must be one of {', '.join(OPS)}.")
        if what == COUNT_CHOICE:
            event = _blank(row.get("event"))
            if event is None:
                raise ConfigError(f"Condition {i}: choose the event to count.")
            amount, unit = parse_window(str(row.get("window") or "7d"))
            subject: str | WindowCount = WindowCount(str(event), amount, unit)
        else:
            subject = str(what)
        leaves_.append(Comparison(subject, op, _form_value(subject, str(value))))
    if not leaves_:
        raise ConfigError("Add at least one condition.")
    if combine not in ("and", "or"):
        raise ConfigError("Combine conditions with 'and' or 'or'.")
    condition = leaves_[0] if len(leaves_) == 1 else \
        (And if combine == "and" else Or)(tuple(leaves_))
    return Not(condition) if negate else condition


def _blank(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return None if str(value).strip() == "" else value


def _form_value(subject: str | WindowCount, text: str) -> float | str:
    text = text.strip()
    if subject in (PERSONA, SEGMENT):
        return text.strip('"')
    try:
        number = float(text)
    except ValueError:
        return text.strip('"')
    return number if np.isfinite(number) else text
