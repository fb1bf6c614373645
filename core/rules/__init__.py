"""Personalization rules: IF conditions THEN action, evaluated on every user.

A rule's condition combines comparisons with AND / OR / NOT. A comparison reads one
value per user: a feature (``days_since_last_event``), a recent-behavior signal
(``session_category_views``, see :mod:`core.features.signals`), a windowed event count
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
in slot modal priority 10 cap 1/day holdout 10%``) is in :mod:`core.rules.grammar`.

The code is split by job; this module exports the names other packages use (a short
list; the rest stay in their modules):

- :mod:`core.rules.model`: conditions, actions, rules, rule sets;
- :mod:`core.rules.context`: the per-user values rules read (built from frames);
- :mod:`core.rules.holdout`: hold-out draws and the hold-out table;
- :mod:`core.rules.evaluation`: condition masks and the simulation (conflicts, caps, hold-outs);
- :mod:`core.rules.explanations`: "why am I seeing this" verdicts and the evaluation table;
- :mod:`core.rules.json_io`: JSON export and import with schema validation;
- :mod:`core.rules.starters`: starter rules;
- :mod:`core.rules.form`: conditions from the page's form rows.
"""

from core.rules.context import (
    RuleContext,
    build_context,
    count_columns,
    event_names,
    with_counts,
)
from core.rules.evaluation import Simulation, condition_mask, simulate
from core.rules.explanations import evaluation_table, explain_user, with_items
from core.rules.form import COUNT_CHOICE, condition_from_rows
from core.rules.holdout import holdout_hash, holdout_table
from core.rules.json_io import (
    load_workspace_rules,
    read_rules,
    rule_set_to_json,
    rules_json_bytes,
    schema,
)
from core.rules.model import (
    MODULES,
    OPS,
    Action,
    Rule,
    RuleSet,
    ServeSettings,
    WindowCount,
    window_counts_needed,
)
from core.rules.starters import StarterCheck, check_starters, starter_rules

__all__ = [
    "COUNT_CHOICE",
    "MODULES",
    "OPS",
    "Action",
    "Rule",
    "RuleContext",
    "RuleSet",
    "ServeSettings",
    "Simulation",
    "StarterCheck",
    "WindowCount",
    "build_context",
    "check_starters",
    "condition_from_rows",
    "condition_mask",
    "count_columns",
    "evaluation_table",
    "event_names",
    "explain_user",
    "holdout_hash",
    "holdout_table",
    "load_workspace_rules",
    "read_rules",
    "rule_set_to_json",
    "rules_json_bytes",
    "schema",
    "simulate",
    "starter_rules",
    "window_counts_needed",
    "with_counts",
    "with_items",
]
