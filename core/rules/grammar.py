"""The one-line rule syntax: a small grammar (never ``eval``), its parser and printer.

::

    persona = "Cart abandoners" and days_since_last_event > 2
        -> show reengage_modal in slot modal priority 10 cap 1/day holdout 10%

Conditions compare a name (feature, behavior signal, ``persona``, ``segment``) or a
windowed count (``count(add_to_cart, 7d)``, ``count("coupon_use", 48h)``) with a number
or a double-quoted text, using ``> >= < <= = !=`` (``==`` is read as ``=``), combined
with ``and``, ``or``, ``not`` and parentheses (``not`` binds tighter than ``and``, which
binds tighter than ``or``). After ``->`` comes ``show MODULE`` and optional parts in any
order: ``in slot SLOT``, ``priority N``, ``cap N/session`` or ``cap N/day`` (default
3/session) and ``holdout P%``. Keywords are case-insensitive.

A rule may span several lines (line breaks are spaces). Errors are
:class:`RuleSyntaxError` with the 1-based position of the problem (line and column when
the rule has several lines) and, for unknown names, the valid ones.
:func:`format_rule` prints a rule that parses back to the same rule.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.rules.model import (
    DEFAULT_CAP,
    DEFAULT_CAP_UNIT,
    DEFAULT_SLOT,
    MODULES,
    PERSONA,
    SEGMENT,
    Action,
    And,
    Comparison,
    Condition,
    Not,
    Or,
    WindowCount,
    window_problem,
)

GRAMMAR = r"""
start: expr ARROW action
?expr: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> not_
         | atom
?atom: LPAR expr RPAR -> group
     | comparison
comparison: subject OP value
subject: NAME -> name_subject
       | _COUNT LPAR event_ref COMMA WINDOW RPAR -> count_subject
?event_ref: NAME | STRING
?value: SIGNED_NUMBER | STRING
action: _SHOW NAME option*
option: _IN _SLOT NAME -> slot
      | PRIORITY SIGNED_INT -> priority
      | CAP INT SLASH CAP_UNIT -> cap
      | HOLDOUT NUMBER PERCENT -> holdout

// Keywords end at a word boundary, so that names such as "notable" stay names.
_AND.2: /and\b/i
_OR.2: /or\b/i
_NOT.2: /not\b/i
_COUNT.2: /count\b/i
_SHOW.2: /show\b/i
_IN.2: /in\b/i
_SLOT.2: /slot\b/i
PRIORITY.2: /priority\b/i
CAP.2: /cap\b/i
HOLDOUT.2: /holdout\b/i
CAP_UNIT.2: /(session|day)\b/i
WINDOW.2: /\d+[dh]\b/
ARROW: "->"
OP: ">=" | "<=" | "!=" | "==" | "=" | ">" | "<"
LPAR: "("
RPAR: ")"
COMMA: ","
SLASH: "/"
PERCENT: "%"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: ESCAPED_STRING
%import common.ESCAPED_STRING
%import common.SIGNED_NUMBER
%import common.SIGNED_INT
%import common.NUMBER
%import common.INT
%import common.WS
%ignore WS
"""
KEYWORDS = frozenset({"and", "or", "not", "count", "show", "in", "slot", "priority", "cap",
                      "holdout", "session", "day"})
_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: What each terminal means to a person, for "expected ..." messages.
_EXPECTED_WORDS = {
    "NAME": "a name", "STRING": 'a text in double quotes', "SIGNED_NUMBER": "a number",
    "NUMBER": "a number", "INT": "a whole number", "SIGNED_INT": "a whole number",
    "OP": "a comparison (>, >=, <, <=, =, !=)", "ARROW": "'->'", "_AND": "'and'",
    "_OR": "'or'", "_NOT": "'not'", "_COUNT": "'count'", "_SHOW": "'show'", "_IN": "'in slot'",
    "_SLOT": "'slot'", "PRIORITY": "'priority'", "CAP": "'cap'", "HOLDOUT": "'holdout'",
    "CAP_UNIT": "'session' or 'day'", "WINDOW": "a window such as 7d or 48h",
    "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "SLASH": "'/'", "PERCENT": "'%'",
    "$END": "the end of the rule",
}
#: Names listed in an error message at most (the closest ones first).
MAX_LISTED_NAMES = 40
#: Limits on one rule line: longer or deeper rules are refused with a message.
MAX_RULE_CHARS = 4000
MAX_NESTING = 32


@dataclass(frozen=True)
class Vocabulary:
    """The names a rule may use, from the current data.

    ``personas`` is None before clustering (a persona condition is then an error that
    says so); ``text_values`` lists the values of text features such as ``rfm_segment``.
    """

    numeric: tuple[str, ...] = ()
    text_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    personas: tuple[str, ...] | None = None
    segments: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    modules: tuple[str, ...] = tuple(MODULES)

    def subjects(self) -> list[str]:
        """Every name a comparison can start with."""
        return [PERSONA, SEGMENT, *self.numeric, *self.text_values]


class RuleSyntaxError(ConfigError):
    """A rule's text cannot be read: what is wrong, where, and the valid names.

    ``column`` is the 1-based position of the problem in the whole text (the column, for
    a rule on one line); ``line`` and ``line_column`` place it in a rule of several lines.
    """

    def __init__(self, problem: str, text: str, column: int, valid: list[str] | None = None):
        self.problem, self.text, self.column = problem, text, column
        self.valid = list(valid or [])
        before = text[:max(column - 1, 0)]
        self.line = before.count("\n") + 1
        self.line_column = column - (before.rfind("\n") + 1)
        message = f"{problem} ({self.where})."
        if self.valid:
            shown = self.valid[:MAX_LISTED_NAMES]
            more = len(self.valid) - len(shown)
            message += " Valid: " + ", ".join(shown) + (f" and {more} more." if more else ".")
        super().__init__(message)

    @property
    def where(self) -> str:
        """'column C', or 'line L, column C' for a rule of several lines."""
        if "\n" in self.text:
            return f"line {self.line}, column {self.line_column}"
        return f"column {self.column}"

    def pointer(self) -> str:
        """The line of the problem with a caret under it."""
        line = self.text.split("\n")[self.line - 1] if self.text else ""
        return f"{line}\n{' ' * (self.line_column - 1)}^"


@dataclass(frozen=True)
class ParsedRule:
    """The condition and action read from a line, and warnings (unknown module...)."""

    condition: Condition
    action: Action
    notices: tuple[Notice, ...] = ()


# --------------------------------------------------------------------------- parse
def parse_rule(text: str, vocabulary: Vocabulary | None = None) -> ParsedRule:
    """Parse one rule, written on one line or several.

    Parameters
    ----------
    text : str
        ``CONDITION -> show MODULE [in slot S] [priority N] [cap N/session|day]
        [holdout P%]``.
    vocabulary : Vocabulary, optional
        Names to check against; without it only the syntax is checked.

    Returns
    -------
    ParsedRule

    Raises
    ------
    RuleSyntaxError
        With the column of the problem and the valid names or tokens.
    """
    if not text or not text.strip():
        raise RuleSyntaxError("The rule is empty; write e.g. 'sessions > 3 -> show "
                              "loyalty_offer'", text or "", 1)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_size(text)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, vocabulary) from None
    reader = _Reader(text, vocabulary)
    condition = reader.condition(tree.children[0])
    action = reader.action(tree.children[2])
    return ParsedRule(condition, action, tuple(reader.notices))


def _check_size(text: str) -> None:
    """Refuse a rule too long or nested too deep to read (and to show) before parsing it:
    the parser and printer recurse once per level."""
    if len(text) > MAX_RULE_CHARS:
        raise RuleSyntaxError(f"A rule is at most {MAX_RULE_CHARS:,} characters; split this "
                              f"one ({len(text):,}) into several rules", text[:80], 1)
    depth = deepest = 0
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)  # brackets in quotes do not nest
    for i, char in enumerate(outside):
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            raise RuleSyntaxError(f"A rule nests at most {MAX_NESTING} brackets deep",
                                  text, i + 1)
    nots = len(re.findall(r"\bnot\b", outside, flags=re.IGNORECASE))
    if nots > MAX_NESTING:
        raise RuleSyntaxError(f"A rule has at most {MAX_NESTING} 'not's", text, 1)


def _syntax_error(exc: UnexpectedInput, text: str, vocabulary: Vocabulary | None
                  ) -> RuleSyntaxError:
    if isinstance(exc, UnexpectedCharacters):
        column = exc.pos_in_stream + 1
        expected = sorted(exc.allowed or [])
        found = f"'{text[column - 1]}'"
    else:
        token = getattr(exc, "token", None)
        at_end = isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END")
        column = len(text.rstrip()) + 1 if at_end else token.start_pos + 1
        expected = sorted(getattr(exc, "expected", None) or [])
        found = "end of the rule" if at_end else f"'{token}'"
    words = [_EXPECTED_WORDS.get(t, t) for t in expected]
    if expected == ["RPAR", "_AND", "_OR"] or expected == ["ARROW", "_AND", "_OR"]:
        words = [_EXPECTED_WORDS[expected[0]], "and", "or"]
    problem = f"Unexpected {found}: expected {_join(words)}"
    return RuleSyntaxError(problem, text, column,
                           _names_for(expected, text, column, vocabulary))


def _names_for(expected: list[str], text: str, column: int,
               vocabulary: Vocabulary | None) -> list[str]:
    """Valid names to list when a name was expected, from the words before the problem."""
    if vocabulary is None or "NAME" not in expected:
        return []
    before = text[:column - 1].rstrip().lower()
    if re.search(r"\bshow$", before):
        return list(vocabulary.modules)
    if re.search(r"\bcount\s*\($", before):
        return list(vocabulary.events)
    if re.search(r"\bslot$", before):
        return []
    return [*vocabulary.subjects(), "count(EVENT, 7d)"]


def _join(words: list[str]) -> str:
    unique = list(dict.fromkeys(words))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]


class _Reader:
    """Turns the parse tree into the rule model, checking names with their positions."""

    def __init__(self, text: str, vocabulary: Vocabulary | None):
        self.text, self.vocabulary = text, vocabulary
        self.notices: list[Notice] = []

    def error(self, problem: str, token: Token, valid: list[str] | None = None) -> None:
        raise RuleSyntaxError(problem, self.text, token.start_pos + 1, valid)

    # conditions ---------------------------------------------------------------------
    def condition(self, node: Tree | Token) -> Condition:
        kind = node.data
        if kind == "group":
            return self.condition(node.children[1])
        if kind == "not_":
            return Not(self.condition(node.children[0]))
        if kind in ("and_expr", "or_expr"):
            children = tuple(self.condition(c) for c in node.children)
            return And(children) if kind == "and_expr" else Or(children)
        return self.comparison(node)

    def comparison(self, node: Tree) -> Comparison:
        subject_node, op_token, value_token = node.children
        op = "=" if op_token == "==" else str(op_token)
        value = self.value(value_token)
        if subject_node.data == "count_subject":
            event_token, window_token = subject_node.children[1], subject_node.children[3]
            subject = WindowCount(self.event(event_token), int(window_token[:-1]),
                                  window_token[-1])  # type: ignore[arg-type]
            problem = window_problem(int(window_token[:-1]), window_token[-1])
            if problem:
                self.error(problem, window_token)
            self.expect_number(value, value_token, subject.column)
            return Comparison(subject, op, value)  # type: ignore[arg-type]
        name_token = subject_node.children[0]
        self.check_subject(str(name_token), name_token, op, op_token, value, value_token)
        return Comparison(str(name_token), op, value)  # type: ignore[arg-type]

    def value(self, token: Token) -> float | str:
        if token.type == "STRING":
            try:
                return json.loads(token)
            except json.JSONDecodeError:
                self.error("This text has an escape sequence that is not allowed; use \\\" "
                           "for a quote and \\\\ for a backslash", token)
        number = float(token)
        if not math.isfinite(number):
            self.error("The number is too large", token)
        return number

    def expect_number(self, value: float | str, token: Token, name: str) -> None:
        if isinstance(value, str):
            self.error(f"'{name}' is a number: compare it with a number, not a text", token)

    def check_subject(self, name: str, token: Token, op: str, op_token: Token,
                      value: float | str, value_token: Token) -> None:
        vocab = self.vocabulary
        if name in (PERSONA, SEGMENT):
            if op not in ("=", "!="):
                self.error(f"'{name}' is a membership: use = or !=", op_token, ["=", "!="])
            if not isinstance(value, str):
                self.error(f"Write the {name} name in double quotes", value_token)
            if vocab is None:
                return
            known = vocab.personas if name == PERSONA else vocab.segments
            if known is None:
                self.error("There are no personas yet: cluster users on the Clustering page, "
                           "or use features and behavior instead", token)
            if value not in known:
                self.error(f"Unknown {name} \"{value}\"", value_token,
                           _closest(str(value), list(known)))
            return
        if vocab is None:
            return
        if name in vocab.text_values:
            if op not in ("=", "!="):
                self.error(f"'{name}' is a text: use = or !=", op_token, ["=", "!="])
            if not isinstance(value, str):
                self.error(f"'{name}' is a text: write the value in double quotes",
                           value_token, list(vocab.text_values[name]))
            return
        if name not in vocab.numeric:
            self.error(f"Unknown name '{name}'", token, _closest(name, vocab.subjects()))
        self.expect_number(value, value_token, name)

    def event(self, token: Token) -> str:
        name = json.loads(token) if token.type == "STRING" else str(token)
        if self.vocabulary is not None and name not in self.vocabulary.events:
            self.error(f"Unknown event '{name}'", token,
                       _closest(name, list(self.vocabulary.events)))
        return name

    # action -------------------------------------------------------------------------
    def action(self, node: Tree) -> Action:
        module_token, *options = node.children
        values: dict[str, object] = {}
        for option in options:
            if option.data in values:
                self.error(f"'{option.data}' is given twice", option.children[0])
            values[option.data] = option
        slot = str(values["slot"].children[0]) if "slot" in values else \
            MODULES.get(str(module_token), ("", DEFAULT_SLOT))[1]
        priority = int(values["priority"].children[1]) if "priority" in values else 0
        cap, unit = DEFAULT_CAP, DEFAULT_CAP_UNIT
        if "cap" in values:
            cap_token, unit_token = values["cap"].children[1], values["cap"].children[3]
            cap, unit = int(cap_token), str(unit_token).lower()
            if cap < 1:
                self.error("A frequency cap is at least 1", cap_token)
        holdout = 0.0
        if "holdout" in values:
            share_token = values["holdout"].children[1]
            holdout = float(share_token)
            if holdout >= 100:
                self.error("A hold-out share is under 100%", share_token)
        if self.vocabulary is not None and str(module_token) not in self.vocabulary.modules:
            self.notices.append(Notice(
                "unknown_module", f"'{module_token}' is not one of the known modules "
                f"({', '.join(self.vocabulary.modules)}); make sure the serving system has "
                "it."))
        return Action(str(module_token), slot, priority, cap, unit,  # type: ignore[arg-type]
                      holdout)


def _closest(name: str, valid: list[str]) -> list[str]:
    """Valid names with the closest matches first."""
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
    return close + [v for v in valid if v not in close]


# --------------------------------------------------------------------------- print
def format_number(value: float) -> str:
    """Shortest text that reads back as the same float (``2`` for 2.0)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _format_name(name: str) -> str:
    if not _NAME.match(name) or name.lower() in KEYWORDS:
        raise ConfigError(f"'{name}' cannot be written in the rule syntax: names are letters, "
                          "digits and underscores and not a keyword.")
    return name


def format_value(value: float | str) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) \
        else format_number(value)


def format_subject(subject: str | WindowCount) -> str:
    if isinstance(subject, WindowCount):
        event = subject.event if _NAME.match(subject.event) and \
            subject.event.lower() not in KEYWORDS else json.dumps(subject.event,
                                                                  ensure_ascii=False)
        return f"count({event}, {subject.window})"
    return _format_name(subject)


def format_comparison(leaf: Comparison) -> str:
    return f"{format_subject(leaf.subject)} {leaf.op} {format_value(leaf.value)}"


def format_condition(condition: Condition) -> str:
    """A condition in the text syntax, with parentheses only where needed."""
    if isinstance(condition, Comparison):
        return format_comparison(condition)
    if isinstance(condition, Not):
        inner = format_condition(condition.child)
        return f"not ({inner})" if isinstance(condition.child, (And, Or)) else f"not {inner}"
    if len(condition.children) < 2:
        raise ConfigError("'and' and 'or' need at least two conditions.")
    word = " and " if isinstance(condition, And) else " or "
    # A nested group of the same kind, or an 'or' inside an 'and', was parenthesised.
    wrap = (And, Or) if isinstance(condition, And) else (Or,)
    return word.join(f"({format_condition(c)})" if isinstance(c, wrap)
                     else format_condition(c) for c in condition.children)


def format_action(action: Action) -> str:
    text = (f"show {_format_name(action.module)} in slot {_format_name(action.slot)} "
            f"priority {action.priority} cap {action.cap}/{action.cap_unit}")
    if action.holdout_percent:
        text += f" holdout {format_number(action.holdout_percent)}%"
    return text


def format_rule(condition: Condition, action: Action) -> str:
    """One line that :func:`parse_rule` reads back to the same condition and action."""
    return f"{format_condition(condition)} -> {format_action(action)}"
