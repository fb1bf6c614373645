"""'Why am I seeing this?': per-user verdicts and the per-user evaluation table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from core.rules.context import RuleContext
from core.rules.evaluation import Outcome, Simulation, condition_mask, format_percent, simulate
from core.rules.grammar import format_comparison
from core.rules.holdout import holdout_hash
from core.rules.model import (
    PERSONA,
    RECOMMENDATION_MODULES,
    SEGMENT,
    And,
    Comparison,
    Condition,
    Not,
    Rule,
    RuleSet,
    leaves,
)


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


#: Columns of :func:`evaluation_table`.
_COLUMNS = ["user_id", "slot", "action", "winning_rule", "rule_name",
            "impressions_per_day", "holdout", "holdout_rules", "explanation"]


def evaluation_table(sim: Simulation, context: RuleContext) -> pd.DataFrame:
    """One row per user and slot that some rule matches: the hand-off table.

    Columns: ``user_id``, ``slot``, ``action`` (module shown first; empty when every
    matching rule holds the user out), ``winning_rule``, ``rule_name``,
    ``impressions_per_day``, ``holdout`` (the user is in the hold-out of a matching rule
    of this slot), ``holdout_rules`` and ``explanation`` (the winning rule's conditions
    with the user's values).
    """
    parts = [_slot_table(sim, context, slot) for slot in sim.winner.columns]
    if not parts:
        return pd.DataFrame(columns=_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def with_items(table: pd.DataFrame, items: pd.Series) -> pd.DataFrame:
    """The evaluation table with an ``items`` column: for rows whose action is one of
    :data:`~core.rules.model.RECOMMENDATION_MODULES`, the user's recommended items
    (``items``: user id -> "item; item; ..."), else empty."""
    shows = table["action"].isin(list(RECOMMENDATION_MODULES))
    values = table["user_id"].astype(str).map(items.astype(str)).fillna("")
    return table.assign(items=values.where(shows, ""))


def _slot_table(sim: Simulation, context: RuleContext, slot: str) -> pd.DataFrame:
    """The evaluation rows of one slot: users some rule of the slot matches."""
    by_id = {r.id: r for r in sim.rules}
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
        positions = rows[wins]
        explanation[wins] = _condition_text(by_id[rule_id], context, positions)
        impressions[wins] = sim.impressions[rule_id].to_numpy()[positions]
    none = winner == ""
    explanation[none] = "held out of every matching rule: " + held_ids[none].astype(object)
    return pd.DataFrame({
        "user_id": sim.users[rows].astype(str), "slot": slot,
        "action": [by_id[w].action.module if w else "" for w in winner],
        "winning_rule": winner, "rule_name": [by_id[w].name if w else "" for w in winner],
        "impressions_per_day": impressions, "holdout": held.any(axis=1),
        "holdout_rules": held_ids, "explanation": explanation})


def _condition_text(rule: Rule, context: RuleContext, positions: np.ndarray) -> np.ndarray:
    """A rule's comparisons with each user's values, e.g. ``sessions > 3 [5]; ...``."""
    text = np.full(len(positions), "", dtype=object)
    for k, leaf in enumerate(leaves(rule.condition)):
        values = _leaf_strings(leaf, context, positions)
        text = text + ("; " if k else "") + f"{format_comparison(leaf)} [" + \
            values.astype(object) + "]"
    return text
