"""Starter rules: four common-practice rules aimed at the personas (or at features)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.common.notices import Notice
from core.rules.context import RuleContext
from core.rules.evaluation import condition_mask
from core.rules.model import (
    MODULES,
    PERSONA,
    Action,
    And,
    Comparison,
    Rule,
    RuleSet,
    WindowCount,
    slugify,
)

#: A starter that reaches fewer users than this share is flagged (not added by default).
MIN_STARTER_SHARE = 0.01


@dataclass
class Starters:
    """Starter rules from the personas (or from features before clustering)."""

    rules: list[Rule]
    notices: list[Notice] = field(default_factory=list)


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
    notices = [] if context.persona is not None else [Notice(
        "no_personas", "No personas yet: starter rules use features. Cluster users on the "
                       "Clustering page for persona starters.", level="info")]
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


@dataclass(frozen=True)
class StarterCheck:
    """A starter rule next to the analyst's rules: its reach and why it may not be wanted.

    ``duplicate_of`` names an existing rule with the same condition, module and slot;
    ``rule`` carries an id no existing rule has, so adding it never replaces a rule.
    """

    rule: Rule
    users: int
    share: float
    duplicate_of: str | None = None

    @property
    def problems(self) -> list[str]:
        """Why the starter is not recommended, in words (empty: recommended)."""
        found = []
        if self.duplicate_of is not None:
            found.append(f"duplicates the rule '{self.duplicate_of}'")
        if self.share < MIN_STARTER_SHARE:
            found.append(f"reaches {self.share:.1%} of users (under "
                         f"{MIN_STARTER_SHARE:.0%})")
        return found

    @property
    def recommended(self) -> bool:
        return not self.problems


def check_starters(starters: list[Rule], rules: RuleSet, context: RuleContext
                   ) -> list[StarterCheck]:
    """Each starter's reach on ``context`` and whether it duplicates one of ``rules``.

    Parameters
    ----------
    starters : list of Rule
        From :func:`starter_rules`.
    rules : RuleSet
        The analyst's rules.
    context : RuleContext
        Holding every windowed count the starters use.

    Returns
    -------
    list of StarterCheck
        In the starters' order, with ids that are free in ``rules``.
    """
    same = {(r.condition, r.action.module, r.action.slot): r.name for r in rules.rules}
    taken = {r.id for r in rules.rules}
    n_users = max(len(context.users), 1)
    checks = []
    for rule in starters:
        free_id = rule.id if rule.id not in taken else slugify(rule.id, taken)
        taken.add(free_id)
        users = int(condition_mask(rule.condition, context).sum())
        checks.append(StarterCheck(
            Rule(free_id, rule.name, rule.condition, rule.action, rule.enabled,
                 rule.description), users, users / n_users,
            same.get((rule.condition, rule.action.module, rule.action.slot))))
    return checks


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
