"""Was a rule's test recorded while the rule existed?

A rule's hold-out groups can be joined to any experiment table (the draw is a hash of
the user and the rule id), even one whose outcomes were recorded before the rule was
written. Such a comparison measures nothing about the rule: the two groups differ only
by chance. :func:`rule_timing` compares the rows' timestamps with the time the rule's
current version was saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from core.common.notices import Notice

TimingStatus = Literal["ok", "before", "no_timestamp", "unknown_time", "unreadable"]
#: The warning shown (and written into the verdict) for outcomes before the rule.
BEFORE_RULE = "outcomes recorded before the rule existed: this is not a test of the rule"


@dataclass(frozen=True)
class RuleTiming:
    """How the outcomes of a rule's test lie against the rule's time."""

    status: TimingStatus
    message: str
    #: The time the rule's current version was saved (UTC), when known.
    since: pd.Timestamp | None = None
    rows: int = 0
    rows_before: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None

    @property
    def trusted(self) -> bool:
        """False when the test cannot be a test of the rule (outcomes before it)."""
        return self.status != "before"

    @property
    def caveat(self) -> str | None:
        """The reason written into the verdict, or None."""
        return BEFORE_RULE if self.status == "before" else None

    def notice(self) -> Notice:
        """The timing as a notice: an error (an alarm of the verdict) when the outcomes
        precede the rule, else information."""
        return Notice(f"rule_timing_{self.status}", self.message,
                      "error" if self.status == "before" else "info")

    def sentence(self, text: str) -> str:
        """A verdict sentence with the caveat written into it (unchanged without one)."""
        return f"{text.rstrip('.')} — but {self.caveat}." if self.caveat else text


def _utc(value) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def rule_timing(timestamps: pd.Series | None, since: object, rule: str) -> RuleTiming:
    """Compare a rule test's outcome times with the time of the rule.

    Parameters
    ----------
    timestamps : Series or None
        The time of each row of the test (the chosen timestamp column, rows outside the
        rule's reach already left out), or None when no timestamp column is chosen.
        Times without an offset are read as UTC.
    since : str, datetime or None
        When the rule's current version was saved (ISO 8601, UTC); None when unknown
        (rules saved before the app recorded it).
    rule : str
        The rule's name, for the messages.

    Returns
    -------
    RuleTiming
        ``before`` when any outcome precedes the rule; ``no_timestamp`` and
        ``unknown_time`` when the timing cannot be checked, ``unreadable`` when no
        timestamp can be read; ``ok`` otherwise.
    """
    start = _utc(since)
    if timestamps is None:
        return RuleTiming("no_timestamp", (
            f"No timestamp column is chosen, so whether the outcomes of '{rule}' were "
            "recorded after the rule existed cannot be checked. Choose the timestamp "
            "column under Columns and settings."), start)
    if start is None:
        return RuleTiming("unknown_time", (
            f"The rule '{rule}' has no known creation time (it was saved before the app "
            "recorded one), so whether its outcomes were recorded after it existed cannot "
            "be checked. Save the rule again to record the time from now on."))
    stamps = pd.to_datetime(timestamps, utc=True, errors="coerce")
    readable = stamps.dropna()
    if readable.empty:
        return RuleTiming("unreadable", (
            "No timestamp of the test can be read, so whether its outcomes were recorded "
            f"after the rule '{rule}' existed cannot be checked."), start, len(stamps))
    before = int((readable < start).sum())
    first, last = readable.min(), readable.max()
    if before:
        share = before / len(readable)
        return RuleTiming("before", (
            f"{BEFORE_RULE[0].upper()}{BEFORE_RULE[1:]}. {before:,} of {len(readable):,} "
            f"outcomes ({share:.0%}) were recorded before '{rule}' was saved on "
            f"{start:%Y-%m-%d %H:%M} UTC (outcomes from {first:%Y-%m-%d} to "
            f"{last:%Y-%m-%d}): the hold-out and treatment groups differ only by chance "
            "there. Analyse outcomes recorded after the rule went live."),
            start, len(readable), before, first, last)
    return RuleTiming("ok", (
        f"Every outcome was recorded after '{rule}' was saved on {start:%Y-%m-%d %H:%M} "
        "UTC."), start, len(readable), 0, first, last)
