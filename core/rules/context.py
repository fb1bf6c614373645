"""The evaluation context: one row of values per user, personas and segments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.features.windows import event_window_counts
from core.rules.grammar import Vocabulary
from core.rules.holdout import blake64
from core.rules.model import WindowCount
from core.segment.labels import sorted_labels


@dataclass
class RuleContext:
    """Everything rules read, one row per user (``values`` index = user ids).

    ``values`` holds features, behavior signals and windowed counts (columns named like
    ``count(add_to_cart, 7d)``); ``persona`` is aligned to it (None before clustering);
    ``segments`` maps a segment name to a boolean membership array aligned to it.
    """

    values: pd.DataFrame
    persona: pd.Series | None = None
    segments: dict[str, np.ndarray] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    now: pd.Timestamp | None = None
    definitions: dict[str, str] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)

    @property
    def users(self) -> pd.Index:
        return self.values.index

    @cached_property
    def user_hashes(self) -> np.ndarray:
        """blake2b of every user id (the user half of each hold-out draw)."""
        return np.fromiter((blake64(str(u)) for u in self.users), dtype=np.uint64,
                           count=len(self.users))

    def subset(self, user_ids: list[str]) -> RuleContext:
        """The same context for some users only (e.g. one user's explanation)."""
        missing = [u for u in user_ids if u not in self.users]
        if missing:
            raise ConfigError(f"User '{missing[0]}' is not in the data. Check the id (ids "
                              f"look like '{self.users[0]}').")
        positions = self.users.get_indexer(user_ids)
        return RuleContext(self.values.iloc[positions], None if self.persona is None
                           else self.persona.iloc[positions],
                           {k: v[positions] for k, v in self.segments.items()}, self.events,
                           self.now, self.definitions, self.notices)

    def vocabulary(self):
        """The names rules may use here (see :class:`core.rules.grammar.Vocabulary`)."""
        numeric, text = [], {}
        for column in self.values.columns:
            if column.startswith("count("):
                continue
            if pd.api.types.is_numeric_dtype(self.values[column]):
                numeric.append(str(column))
            else:
                text[str(column)] = tuple(sorted(map(str, self.values[column].dropna()
                                                     .unique()))[:50])
        personas = None if self.persona is None else \
            tuple(sorted_labels(self.persona.dropna()))
        return Vocabulary(tuple(numeric), text, personas, tuple(self.segments), self.events)


def build_context(features: pd.DataFrame, signals: pd.DataFrame | None = None,
                  persona: pd.Series | None = None,
                  segments: dict[str, pd.Index] | None = None,
                  counts: pd.DataFrame | None = None, events: tuple[str, ...] = (),
                  now: pd.Timestamp | None = None,
                  definitions: dict[str, str] | None = None) -> RuleContext:
    """Join features, behavior signals and windowed counts into one context.

    Parameters
    ----------
    features : DataFrame
        Per-user features (``user_id`` index); its users are the users evaluated.
    signals, counts : DataFrame, optional
        More per-user columns (from :mod:`core.features.signals`), aligned on the user id.
    persona : Series, optional
        Persona name per user id; users without one never match a persona condition.
    segments : dict, optional
        Segment name → the user ids in it.
    events : tuple of str
        Names ``count(EVENT, ...)`` accepts (funnel steps and event names).
    now : Timestamp, optional
        End of the data, for the record.
    definitions : dict, optional
        One line per column, shown when choosing a name.
    """
    values = features
    for extra in (signals, counts):
        if extra is not None:
            values = values.join(extra.drop(columns=[c for c in extra.columns
                                                     if c in values.columns]), how="left")
    notices = []
    aligned = None
    if persona is not None:
        aligned = persona.reindex(values.index)
        missing = int(aligned.isna().sum())
        if missing:
            notices.append(Notice("users_without_persona", (
                f"{missing:,} user(s) have no persona (not clustered); persona conditions "
                "never match them."), level="info"))
    members = {name: values.index.isin(ids) for name, ids in (segments or {}).items()}
    return RuleContext(values, aligned, members, tuple(events), now, dict(definitions or {}),
                       notices)


# --------------------------------------------------------------------------- counts
def count_columns(events: pd.DataFrame, event_roles: dict[str, list[str]],
                  counts: list[WindowCount], now: pd.Timestamp | None = None,
                  users: pd.Index | None = None) -> pd.DataFrame:
    """One column per windowed count (a funnel step counts all its event names)."""
    wanted = {count.column: (event_roles.get(count.event) or [count.event], count.days)
              for count in counts}
    frame = event_window_counts(events, wanted, now)  # one scan for every count
    index = pd.Index(events["user_id"].unique(), name="user_id") if users is None else users
    return frame.reindex(index, fill_value=0).astype("int64")


def event_names(events: pd.DataFrame | None, event_roles: dict[str, list[str]]
                ) -> tuple[str, ...]:
    """Names ``count(...)`` accepts: funnel steps that have events, then event names."""
    steps = [step for step, names in event_roles.items() if names]
    raw = [] if events is None else sorted(map(str, events["event"].dropna().unique()))
    return tuple(dict.fromkeys([*steps, *raw]))


def with_counts(context: RuleContext, events: pd.DataFrame | None,
                event_roles: dict[str, list[str]], counts: list[WindowCount]) -> RuleContext:
    """The context with windowed count columns added; everything else is shared.

    Lets a cached context without counts serve rules with any counts, so behavior signals
    and segments are computed once per data version.

    Raises
    ------
    ConfigError
        When there is no event log to count on.
    """
    if events is None or events.empty:
        raise ConfigError("Windowed counts need the event log; this workspace has only a "
                          "per-user table.")
    missing = [c for c in counts if c.column not in context.values.columns]
    if not missing:
        return context
    frame = count_columns(events, event_roles, missing, context.now, context.users)
    counted = replace(context, values=context.values.join(frame))
    if "user_hashes" in context.__dict__:  # same users: keep the computed hashes
        counted.user_hashes = context.user_hashes
    return counted
