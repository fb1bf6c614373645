"""Rule evaluation: condition masks, then the simulation that resolves conflicts and caps.

The conflict rules (priority, list order, caps, hold-outs) are documented in
:mod:`core.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.rules.context import RuleContext
from core.rules.holdout import holdout_values
from core.rules.model import (
    PERSONA,
    SEGMENT,
    Action,
    And,
    Comparison,
    Condition,
    Not,
    Rule,
    RuleSet,
    ServeSettings,
    rules_from_list,
)


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
    notices: list[Notice] = field(default_factory=list)

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
