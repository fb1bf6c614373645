"""Users who look like bots: far more events than anyone else.

A person rarely produces more than a few dozen times the events of the median user of a
log; crawlers, test accounts and scrapers produce hundreds of times as many and, left in,
define a "persona" of their own and stretch every scale. They are flagged, counted and
kept: the analyst excludes them with one click (or ``--exclude-bots``).
"""

from __future__ import annotations

import pandas as pd

#: A suspect has at least this many times the median user's events ...
BOT_MEDIAN_MULTIPLE = 30
#: ... and at least this many events (a log of light users is not full of bots).
BOT_MIN_EVENTS = 500
#: Ids listed in the load report (the count covers every suspect).
LISTED_SUSPECTS = 50


def suspected_bots(events_per_user: pd.Series) -> pd.Series:
    """The users (index) with their event counts that look like bots, most active first.

    Parameters
    ----------
    events_per_user : Series
        Events per user id.
    """
    if events_per_user.empty:
        return events_per_user
    median = float(events_per_user.median())
    limit = max(BOT_MIN_EVENTS, BOT_MEDIAN_MULTIPLE * median)
    return events_per_user[events_per_user >= limit].sort_values(ascending=False)


def bot_message(count: int, events: int, total_events: int, median: float) -> str:
    """What the load report says about the suspects."""
    return (f"{count:,} user(s) look like bots: each has at least "
            f"{BOT_MEDIAN_MULTIPLE}× the median user's {median:,.0f} events (and at least "
            f"{BOT_MIN_EVENTS:,}); together {events:,} of {total_events:,} events "
            f"({events / max(total_events, 1):.1%}). They are kept; exclude them on the "
            "Data page (or with --exclude-bots) so they do not form a persona of their own.")
