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

The code is split by job; this module re-exports every public name, so
``from core.rules import X`` works for all of them:

- :mod:`core.rules.model`: conditions, actions, rules, rule sets;
- :mod:`core.rules.context`: the per-user values rules read (from a workspace or frames);
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
    context_from_workspace,
    count_columns,
    event_names,
    with_counts,
    workspace_segments,
)
from core.rules.evaluation import (
    Outcome,
    Simulation,
    comparison_mask,
    condition_mask,
    format_percent,
    ranked,
    serve,
    simulate,
)
from core.rules.explanations import (
    ConditionRow,
    RuleVerdict,
    UserExplanation,
    condition_rows,
    evaluation_table,
    explain_user,
    user_value,
)
from core.rules.form import (
    COUNT_CHOICE,
    condition_from_rows,
)
from core.rules.holdout import (
    blake64,
    holdout_hash,
    holdout_table,
    holdout_values,
    mix64,
)
from core.rules.json_io import (
    MAX_SCHEMA_ERRORS,
    RULES_FORMAT,
    RULES_VERSION,
    SCHEMA_PATH,
    condition_from_json,
    condition_to_json,
    load_workspace_rules,
    read_rules,
    rule_set_from_json,
    rule_set_to_json,
    rule_to_json,
    rules_json_bytes,
    schema,
)
from core.rules.model import (
    DEFAULT_CAP,
    DEFAULT_CAP_UNIT,
    DEFAULT_SLOT,
    MODULES,
    OPS,
    PERSONA,
    SEGMENT,
    Action,
    And,
    CapUnit,
    Comparison,
    Condition,
    Not,
    Op,
    Or,
    Rule,
    RuleSet,
    ServeSettings,
    WindowCount,
    leaves,
    parse_window,
    rules_from_list,
    slugify,
    window_counts_needed,
)
from core.rules.starters import (
    Starters,
    starter_rules,
)

__all__ = [
    "COUNT_CHOICE",
    "DEFAULT_CAP",
    "DEFAULT_CAP_UNIT",
    "DEFAULT_SLOT",
    "MAX_SCHEMA_ERRORS",
    "MODULES",
    "OPS",
    "PERSONA",
    "RULES_FORMAT",
    "RULES_VERSION",
    "SCHEMA_PATH",
    "SEGMENT",
    "Action",
    "And",
    "CapUnit",
    "Comparison",
    "Condition",
    "ConditionRow",
    "Not",
    "Notice",
    "Op",
    "Or",
    "Outcome",
    "Rule",
    "RuleContext",
    "RuleSet",
    "RuleVerdict",
    "ServeSettings",
    "Simulation",
    "Starters",
    "UserExplanation",
    "WindowCount",
    "blake64",
    "build_context",
    "comparison_mask",
    "condition_from_json",
    "condition_from_rows",
    "condition_mask",
    "condition_rows",
    "condition_to_json",
    "context_from_workspace",
    "count_columns",
    "evaluation_table",
    "event_names",
    "explain_user",
    "format_percent",
    "holdout_hash",
    "holdout_table",
    "holdout_values",
    "leaves",
    "load_workspace_rules",
    "mix64",
    "parse_window",
    "ranked",
    "read_rules",
    "rule_set_from_json",
    "rule_set_to_json",
    "rule_to_json",
    "rules_from_list",
    "rules_json_bytes",
    "schema",
    "serve",
    "simulate",
    "slugify",
    "starter_rules",
    "user_value",
    "window_counts_needed",
    "with_counts",
    "workspace_segments",
]
