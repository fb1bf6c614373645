"""Who churned or converted after a cutoff, from the event log alone.

The label of a user at a cutoff ``c`` with a horizon of ``h`` days looks only at events
in ``[c, c + h)``; the features of that user look only at events before ``c``
(:func:`events_before`), so nothing the label sees can reach the features.

- **churn**: the user has no event at all in ``[c, c + h)``;
- **conversion**: the user has at least one of the target events (a purchase, or any
  event the analyst picks) in ``[c, c + h)``.

Who is labelled (the *population*): users with an event before the cutoff, and, when
``active_within_days`` is set, an event in the ``active_within_days`` days before it (a
user who left months ago cannot churn again).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError

Target = Literal["churn", "conversion"]
TARGETS: tuple[Target, ...] = ("churn", "conversion")
#: The default horizon in days, shortened for short logs.
DEFAULT_HORIZON = 14
#: The smallest number of users of each class a model can learn from.
MIN_CLASS_USERS = 10


@dataclass(frozen=True)
class LabelSpec:
    """What is predicted and over which window.

    Attributes
    ----------
    target : {"churn", "conversion"}
    cutoff : str
        The test cutoff, ``YYYY-MM-DD`` (midnight UTC). Models are trained one horizon
        earlier (``cutoff - horizon_days``) and tested at the cutoff.
    horizon_days : int
        How many days after a cutoff the label looks at.
    target_events : tuple of str
        Conversion only: the events that count as converting.
    active_within_days : int or None
        Only users with an event in this many days before the cutoff are labelled
        (None: everyone seen before the cutoff).
    """

    target: Target = "churn"
    cutoff: str = ""
    horizon_days: int = 14
    target_events: tuple[str, ...] = field(default_factory=tuple)
    active_within_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "target_events": list(self.target_events)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelSpec:
        data = dict(data)
        data["target_events"] = tuple(str(e) for e in data.get("target_events", ()))
        return cls(**data)

    @property
    def cutoff_ts(self) -> pd.Timestamp:
        try:
            ts = pd.Timestamp(self.cutoff)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"The cutoff '{self.cutoff}' is not a date; use YYYY-MM-DD.") \
                from exc
        if pd.isna(ts):
            raise ConfigError("Pick a cutoff date (YYYY-MM-DD).")
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

    @property
    def train_cutoff_ts(self) -> pd.Timestamp:
        """The earlier cutoff the models learn from: one horizon before the test cutoff,
        so that its labels end where the test features end."""
        return self.cutoff_ts - pd.Timedelta(days=self.horizon_days)


def default_spec(events: pd.DataFrame, target: Target, purchase_events: tuple[str, ...] = (),
                 horizon: int | None = None, cutoff: str | None = None,
                 active_within_days: int | None = None) -> LabelSpec:
    """Settings that fit this data, for whatever is not given: a horizon of
    :data:`DEFAULT_HORIZON` days at most and a quarter of the period, the latest cutoff
    whose horizon the log covers, ``purchase_events`` as the conversion events, and for
    churn only users active in the two horizons before the cutoff."""
    first, last = data_period(events)
    days = max(1, int((last - first).days))
    horizon = horizon or max(1, min(DEFAULT_HORIZON, days // 4))
    cutoff = cutoff or f"{(last - pd.Timedelta(days=horizon)).floor('D'):%Y-%m-%d}"
    active = active_within_days or (2 * horizon if target == "churn" else None)
    targets = tuple(purchase_events) if target == "conversion" else ()
    return LabelSpec(target, cutoff, horizon, targets, active)


def utc(ts: pd.Series) -> pd.Series:
    """Timestamps as timezone-aware UTC."""
    return ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")


def data_period(events: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last event time (UTC)."""
    if len(events) == 0:
        raise DataError("There are no events to label. Load an event log first.")
    ts = utc(events["ts"])
    return ts.min(), ts.max()


def check_window(spec: LabelSpec, events: pd.DataFrame) -> None:
    """Refuse a target, horizon or cutoff the data cannot label honestly.

    Raises
    ------
    ConfigError
        Unknown target, a horizon under one day or over half the data's period, no
        target events for conversion, a horizon that runs past the data's end (its
        labels would count users as churned only because the log stops), or a training
        cutoff before the data starts.
    """
    if spec.target not in TARGETS:
        raise ConfigError(f"Unknown target '{spec.target}'; use churn or conversion.")
    if spec.horizon_days < 1:
        raise ConfigError("The horizon must be at least one day.")
    if spec.active_within_days is not None and spec.active_within_days < 1:
        raise ConfigError("'Active within' must be at least one day, or off.")
    if spec.target == "conversion" and not spec.target_events:
        raise ConfigError("Pick the event(s) that count as converting (a purchase, say).")
    first, last = data_period(events)
    span = (last - first) / pd.Timedelta(days=1)
    if 2 * spec.horizon_days >= span:
        raise ConfigError(
            f"A {spec.horizon_days}-day horizon needs more than {2 * spec.horizon_days} days "
            f"of data (one horizon to learn from, one to test on, and history before "
            f"them); this log covers {span:.0f} days. Pick a horizon under {span / 2:.0f} "
            "days.")
    end = spec.cutoff_ts + pd.Timedelta(days=spec.horizon_days)
    if end > last + pd.Timedelta(seconds=1):
        latest = (last - pd.Timedelta(days=spec.horizon_days)).floor("D")
        raise ConfigError(
            f"A {spec.horizon_days}-day horizon after {spec.cutoff_ts:%Y-%m-%d} runs to "
            f"{end:%Y-%m-%d}, past the data's last event ({last:%Y-%m-%d %H:%M}): users "
            f"would look churned only because the log stops. Pick a cutoff on or before "
            f"{latest:%Y-%m-%d} or a shorter horizon.")
    if spec.train_cutoff_ts <= first:
        raise ConfigError(
            f"The models learn at the cutoff minus one horizon ({spec.train_cutoff_ts:%Y-%m-%d}"
            f"), which is not after the data's first event ({first:%Y-%m-%d}): pick a later "
            "cutoff or a shorter horizon.")


def events_before(events: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The events strictly before ``cutoff``: all the features at that cutoff may see."""
    return events[(utc(events["ts"]) < cutoff).to_numpy()]


def label_users(events: pd.DataFrame, spec: LabelSpec, cutoff: pd.Timestamp) -> pd.Series:
    """Each labelled user's outcome at ``cutoff``: 1 churned/converted, 0 not.

    Parameters
    ----------
    events : DataFrame
        Canonical events (``user_id``, ``ts``, ``event``).
    spec : LabelSpec
        Target, horizon, target events and population.
    cutoff : Timestamp
        The cutoff (UTC); the spec's test or training cutoff.

    Returns
    -------
    Series
        Integer labels indexed by ``user_id`` (the population), named ``label``.
    """
    ts = utc(events["ts"])
    users = events["user_id"].astype(str).to_numpy()
    before = (ts < cutoff).to_numpy()
    recent = before
    if spec.active_within_days:
        since = cutoff - pd.Timedelta(days=spec.active_within_days)
        recent = before & (ts >= since).to_numpy()
    population = pd.Index(np.unique(users[recent]), name="user_id")
    end = cutoff + pd.Timedelta(days=spec.horizon_days)
    after = ((ts >= cutoff) & (ts < end)).to_numpy()
    if spec.target == "conversion":
        after = after & np.isin(events["event"].astype(str).to_numpy(), list(spec.target_events))
    hit = pd.Index(np.unique(users[after]))
    positive = population.isin(hit)
    label = ~positive if spec.target == "churn" else positive
    return pd.Series(label.astype(np.int64), index=population, name="label")


def check_balance(labels: pd.Series, which: str) -> None:
    """Refuse a label set a model cannot learn from or be tested on.

    Raises
    ------
    DataError
        Fewer than :data:`MIN_CLASS_USERS` users on either side.
    """
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if min(positives, negatives) < MIN_CLASS_USERS:
        raise DataError(
            f"At the {which} cutoff {len(labels):,} users are labelled, {positives:,} "
            f"positive and {negatives:,} negative: at least {MIN_CLASS_USERS} of each are "
            "needed. Move the cutoff, change the horizon or the target events.")
