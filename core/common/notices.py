"""One Notice type for every warning Persona Lens gives about a result.

Degenerate data that still has an answer returns a result with notices (as GrowthBook's
stats engine does); only unusable input raises a :class:`~core.common.errors.PersonaLensError`.
``code`` is for programs and tests, ``message`` for people, ``level`` says how much it
matters and ``subject`` what it is about. The app renders every notice with one helper
(``ui.errors.show_notices``); the command line prints them to standard error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Level = Literal["error", "warning", "info"]
LEVELS: tuple[Level, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Notice:
    """A machine-readable message about a result.

    Attributes
    ----------
    code : str
        Stable identifier, e.g. ``"fitted_on_sample"``.
    message : str
        What happened and, where it helps, what to do.
    level : {"error", "warning", "info"}
        ``error``: the result is not trustworthy; ``warning``: read it with care;
        ``info``: how it was computed.
    subject : str or None
        What the notice is about (a column, a feature, a rule id, a metric), if one thing.
    """

    code: str
    message: str
    level: Level = "warning"
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (as stored in a workspace)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notice:
        """Rebuild from :meth:`to_dict` output; older entries without a level are
        warnings."""
        level = data.get("level", "warning")
        return cls(str(data.get("code", "")), str(data.get("message", "")),
                   level if level in LEVELS else "warning", data.get("subject"))


def notices_from_json(items: list[dict[str, Any]] | None) -> list[Notice]:
    """Notices stored as dicts, in order."""
    return [Notice.from_dict(item) for item in items or []]


def notices_to_json(notices: list[Notice]) -> list[dict[str, Any]]:
    """Notices as dicts, in order."""
    return [n.to_dict() for n in notices]
