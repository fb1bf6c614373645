"""Rules as versioned JSON (export, import with schema validation, workspace storage)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from core.common.errors import ConfigError
from core.rules.grammar import format_rule
from core.rules.model import (
    DEFAULT_CAP,
    DEFAULT_CAP_UNIT,
    Action,
    And,
    Comparison,
    Condition,
    Not,
    Or,
    Rule,
    RuleSet,
    ServeSettings,
    WindowCount,
    parse_window,
    rules_from_list,
)

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
    a = rule.action
    data = {"id": rule.id, "name": rule.name, "enabled": rule.enabled,
            "description": rule.description, "text": format_rule(rule.condition, a),
            "condition": condition_to_json(rule.condition),
            "action": {"module": a.module, "slot": a.slot, "priority": a.priority,
                       "cap": {"count": a.cap, "per": a.cap_unit},
                       "holdout_percent": a.holdout_percent}}
    # Written only when known: files of rules saved before the times were recorded
    # stay as they were.
    data.update({key: value for key, value in (("created_at", rule.created_at),
                                               ("changed_at", rule.changed_at)) if value})
    return data


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
    check_depth(data)
    validator = jsonschema.Draft202012Validator(schema())
    problems = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [f"at {_json_path(p.absolute_path)}: {_short(p)}"
                 for p in problems[:MAX_SCHEMA_ERRORS]]
        more = len(problems) - len(lines)
        raise ConfigError("The rules file does not follow the rules schema "
                          f"(core/rules/schemas/rules.schema.json): {'; '.join(lines)}"
                          + (f"; and {more} more." if more else "."))
    rules = []
    for item in data["rules"]:
        a = item["action"]
        cap = a.get("cap", {"count": DEFAULT_CAP, "per": DEFAULT_CAP_UNIT})
        action = Action(a["module"], a["slot"], int(a.get("priority", 0)), int(cap["count"]),
                        cap["per"], float(a.get("holdout_percent", 0)))
        rules.append(Rule(item["id"], item["name"], condition_from_json(item["condition"]),
                          action, bool(item.get("enabled", True)),
                          str(item.get("description", "")), item.get("created_at"),
                          item.get("changed_at")))
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
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ConfigError(f"The rules file is not JSON ({exc}). Export rules from the Rules "
                          "page to get one.") from exc
    return rule_set_from_json(data)


#: Deepest JSON a rules file may be: a condition nests ``not``/``all``/``any`` and each
#: level is two JSON levels; the schema check and the reader recurse once per level.
MAX_JSON_DEPTH = 80


def check_depth(data: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ConfigError when ``data`` nests deeper than ``limit`` (checked without
    recursion, so the check itself cannot overflow)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ConfigError(f"The rules nest more than {limit} levels deep; a condition "
                              "that deep cannot be read. Simplify it.")
        children = node.values() if isinstance(node, dict) else \
            node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)


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
