"""Conditions from the Rules page's form rows (the text syntax is in core.rules.grammar)."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.common.errors import ConfigError
from core.rules.model import (
    OPS,
    PERSONA,
    SEGMENT,
    And,
    Comparison,
    Condition,
    Not,
    Or,
    WindowCount,
    parse_window,
)

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
