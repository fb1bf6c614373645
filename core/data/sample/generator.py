"""The public entry points of the sample: :func:`generate_sample` and :func:`write_sample`.

They check the arguments, run the stages (population, sessions and events, churn,
pages, tracking noise, experiment) on independent random streams and turn the integer
codes into the string columns of the event log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from core.common.errors import ConfigError
from core.data.sample.churn import draw_churn, kept_events
from core.data.sample.events import add_tracking_noise, draw_sessions_and_events
from core.data.sample.experiment import draw_experiment
from core.data.sample.pages import page_vocabulary, pages_and_products, product_vocabulary
from core.data.sample.population import draw_users, timeline
from core.data.sample.profiles import (
    CATEGORIES,
    DEVICES,
    EVENT_TYPES,
    K_BOT,
    KINDS,
    PERSONAS,
    PROFILES,
)

_PARQUET_ROW_GROUP = 122_880
_DEFAULT_END = pd.Timestamp("2026-06-30 23:59:59", tz="UTC")
_MIN_DAYS = 7


class SampleDataArgumentError(ConfigError, ValueError):
    """An argument of :func:`generate_sample` is out of range.

    It is a ``ConfigError`` (so pages show it as a message) and a ``ValueError``
    (the usual Python contract for a bad argument value).
    """


@dataclass(frozen=True)
class SampleData:
    """A generated clickstream with its planted ground truth.

    Attributes
    ----------
    events : pandas.DataFrame
        The event log, one row per event, sorted by ``user_id`` then ``ts``. Columns
        ``user_id, ts, event, revenue, page, category, product_id, scroll_depth,
        duration_s, device``. The ground truth is not in it.
    personas : pandas.DataFrame
        ``user_id, persona, churn_day``: one row per user, bots have persona
        ``"bot"``. ``churn_day`` (``datetime64[ns, UTC]``) is the midnight starting the
        first day a churned user is gone: every event of the user is before it; their
        visits got shallower over the four weeks and rarer over the three weeks before
        it (see :mod:`core.data.sample.churn`). It is missing (NaT) for users who stay.
        A churn day may fall in the last days of the period, too late to show in the
        log.
    experiment : pandas.DataFrame
        ``user_id, variant, converted, revenue, pre_period_revenue``: one row per
        non-bot user of an A/B test with a planted, persona-dependent lift.
    planted_lift : dict of str to float
        Persona -> absolute lift in conversion probability given to treatment.
    planted_churn : dict of str to float
        Persona -> probability that a user of the persona with the persona's usual cart
        abandonment churns (0 for new visitors and dormant users, who never do).
        Users who abandon more carts than usual churn more often.
    """

    events: pd.DataFrame
    personas: pd.DataFrame
    experiment: pd.DataFrame
    planted_lift: dict[str, float]
    planted_churn: dict[str, float] = field(default_factory=dict)


def _validate(n_users: object, days: object, seed: object) -> None:
    for name, value, minimum, why in (
        ("n_users", n_users, 1, "at least one user"),
        ("days", days, _MIN_DAYS, "at least a week, so weekly rhythms and personas fit"),
    ):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
            raise SampleDataArgumentError(
                f"{name} must be a whole number >= {minimum} ({why}), got {value!r}. "
                f"Choose {name} >= {minimum}."
            )
    if not isinstance(seed, Integral) or isinstance(seed, bool) or seed < 0:
        raise SampleDataArgumentError(
            f"seed must be a whole number >= 0, got {seed!r}. Choose e.g. seed=0."
        )


def _as_utc(end: object) -> pd.Timestamp:
    stamp = pd.Timestamp(end)
    if pd.isna(stamp):
        raise SampleDataArgumentError(f"end must be a timestamp, got {end!r}.")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _strings(codes: np.ndarray, vocabulary: list[str] | np.ndarray) -> pd.Series:
    """pandas ``str`` column from integer codes; code -1 becomes missing.

    Going through an Arrow dictionary array is about ten times faster than
    ``Categorical.astype(str)`` on millions of rows.
    """
    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(codes, mask=codes < 0)
    array = pa.DictionaryArray.from_arrays(indices, pa.array(list(vocabulary), pa.string()))
    return pd.Series(pd.array(array.cast(pa.large_string()), dtype="str"))


def _user_ids(n_users: int) -> np.ndarray:
    width = len(str(n_users))
    return np.array([f"u{i:0{width}d}" for i in range(1, n_users + 1)])


def _events_frame(columns: dict, ts: pd.DatetimeIndex, user_ids: np.ndarray) -> pd.DataFrame:
    """The event log from the integer-coded columns and the event timestamps."""
    return pd.DataFrame(
        {
            "user_id": _strings(columns["user"], user_ids),
            "ts": ts,
            "event": _strings(columns["event"], list(EVENT_TYPES)),
            "revenue": columns["revenue"],
            "page": _strings(columns["page"], page_vocabulary()),
            "category": _strings(columns["category"], list(CATEGORIES)),
            "product_id": _strings(columns["product"], product_vocabulary()),
            "scroll_depth": columns["scroll_depth"],
            "duration_s": columns["duration_s"],
            "device": _strings(columns["device"], list(DEVICES)),
        }
    )


def generate_sample(
    n_users: int = 5000,
    days: int = 90,
    seed: int = 0,
    end: pd.Timestamp | None = None,
) -> SampleData:
    """Generate a seeded online-shop clickstream with planted personas.

    Parameters
    ----------
    n_users : int, default 5000
        Number of users, at least 1. About 0.2 % of them are bots (at least one from
        500 users on, none below). The default size gives about 280,000 events;
        the event count grows linearly (about 56 events per user).
    days : int, default 90
        Length of the period, at least 7. Personas are tuned for about 90 days: new
        visitors appear in the last 14 days, dormant users are silent in the last
        30 (in periods shorter than about 45 days: the last half) and churners leave
        in the last 28 (in periods shorter than 56 days: the last half).
    seed : int, default 0
        Seed of the random generator; the same arguments give identical frames.
    end : pandas.Timestamp, optional
        End of the period; defaults to 2026-06-30 23:59:59 UTC so that the output
        never depends on today's date. Naive timestamps are taken as UTC.

    Returns
    -------
    SampleData
        ``events`` (the log, sorted by user then time), ``personas`` (ground truth:
        persona and churn day), ``experiment`` (A/B test per non-bot user),
        ``planted_lift`` and ``planted_churn``.

    Raises
    ------
    SampleDataArgumentError
        A ``ValueError`` (and ``ConfigError``) when ``n_users < 1``, ``days < 7`` or
        the seed is not a non-negative integer.

    Examples
    --------
    >>> sample = generate_sample(n_users=600, days=30, seed=1)
    >>> sorted(sample.personas["persona"].unique())[:2]
    ['bargain_hunter', 'bot']
    """
    _validate(n_users, days, seed)
    end_ts = _DEFAULT_END if end is None else _as_utc(end)
    tl = timeline(end_ts, int(days))
    # Independent streams per stage, so that tuning one stage (say the pages) does
    # not reshuffle the others (say the A/B test).
    # The churn stream is the last child, so adding it left the others as they were.
    rng_users, rng_sessions, rng_pages, rng_noise, rng_experiment, rng_churn = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6)
    )

    users = draw_users(int(n_users), tl, rng_users)
    ev = draw_sessions_and_events(users, tl, rng_sessions)
    churn = draw_churn(users, ev, tl, rng_churn)
    details = pages_and_products(users, ev, rng_pages)
    columns = {"user": ev.user, "t": ev.t, "event": ev.event, **details}
    # Churn only takes events away, after every other stage has drawn its numbers for
    # the whole clickstream, so that the users who stay keep exactly their events.
    kept = kept_events(churn, ev)
    is_bot = users.kind[columns["user"]] == K_BOT
    del ev, details
    columns = add_tracking_noise(columns, is_bot, rng_noise, keep=kept)
    del is_bot, kept

    user_ids = _user_ids(int(n_users))
    # Millisecond timestamps, like most trackers send.
    ns = np.round(columns.pop("t") * 1e3).astype(np.int64) * 1_000_000
    ts = pd.to_datetime(ns + tl.origin.as_unit("ns").value, unit="ns", utc=True)
    events = _events_frame(columns, ts, user_ids)
    churned = churn.churn_day >= 0
    churn_day = tl.origin.as_unit("ns") + pd.to_timedelta(
        np.where(churned, churn.churn_day, np.nan), unit="D"
    )
    personas = pd.DataFrame(
        {
            "user_id": pd.array(user_ids, dtype="str"),
            "persona": _strings(users.kind, list(KINDS)),
            "churn_day": churn_day,
        }
    )
    experiment = draw_experiment(users.kind, user_ids, rng_experiment)
    planted_lift = {p: float(PROFILES[p].conversion_lift) for p in PERSONAS}
    planted_churn = {p: float(PROFILES[p].churn_p) for p in PERSONAS}
    return SampleData(events, personas, experiment, planted_lift, planted_churn)


def write_sample(path: str | PathLike[str], n_users: int = 5000, days: int = 90,
                 seed: int = 0, *, end: pd.Timestamp | None = None) -> SampleData:
    """Generate a sample and write its event log to a Parquet or CSV file.

    Parameters
    ----------
    path : str or path-like
        Target file; the suffix chooses the format: ``.parquet`` or ``.csv``.
    n_users, days, seed, end
        As in :func:`generate_sample`.

    Returns
    -------
    SampleData
        The generated sample (ground truth and experiment are not written).

    Raises
    ------
    SampleDataArgumentError
        For an unsupported suffix or out-of-range arguments.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise SampleDataArgumentError(
            f"Cannot write sample data to '{target.name}': the file name must end in "
            f"'.parquet' or '.csv', got '{suffix or '(no suffix)'}'."
        )
    sample = generate_sample(n_users=n_users, days=days, seed=seed, end=end)
    if suffix == ".parquet":
        # Row groups of DuckDB's own size let a reader scan the file on every core.
        sample.events.to_parquet(target, index=False, row_group_size=_PARQUET_ROW_GROUP)
    else:
        sample.events.to_csv(target, index=False)
    return sample
