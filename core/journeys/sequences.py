"""Sequential patterns: which orders of events are frequent, and which tell personas apart.

A *sequence* is the events of one session (``unit="session"``: one per user and
``session_id``) or of a user's whole history (``unit="user"``), in time order; events with
the same timestamp keep the order of the file. Consecutive repeats of one event
(``page_view, page_view``) are collapsed into one by default, so that a pattern says
"viewed, then added to cart" however many pages were viewed in between.

A *pattern* ``a → b → c`` is contained in a sequence when its events occur in that order,
not necessarily next to each other. ``max_gap`` limits how far apart consecutive pattern
events may be: ``None`` any distance, ``0`` directly after each other, ``k`` at most ``k``
other events in between. The *support* of a pattern is the number of sequences that
contain it at least once (occurrences inside a sequence are not counted).

Patterns are mined with PrefixSpan (Pei et al., "PrefixSpan: Mining Sequential Patterns
Efficiently by Prefix-Projected Pattern Growth", ICDE 2001), written here on numpy arrays
with pseudo-projection: a projected database is an array of positions into the one flat
array of events, never a copy of the suffixes. Without a gap limit the projection keeps,
per sequence, the earliest position where the prefix can end (it leaves the longest
suffix); with a gap limit it keeps every position where an occurrence of the prefix ends,
since a later occurrence may be the one whose next event is close enough.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice
from core.common.progress import Progress

Unit = Literal["session", "user"]
Counted = Literal["users", "sequences"]

#: Default minimum support: a pattern must be in 2 % of the sequences. Lower values on a
#: clickstream of a dozen event types give tens of thousands of patterns nobody reads.
DEFAULT_MIN_SUPPORT = 0.02
#: Default longest pattern: four steps already cover view → cart → checkout → purchase.
DEFAULT_MAX_LENGTH = 4
#: Most patterns one mining run may find; beyond this it stops and asks for a higher
#: minimum support (a table of 20,000 patterns is not read, and the tests it feeds lose
#: power under the multiple-testing correction).
MAX_PATTERNS = 20_000
#: Refuse before mining when (frequent events) ** length, summed over the lengths, is
#: above this: the search could have to extend that many prefixes. The search itself
#: stops past MAX_PATTERNS (each extended prefix is a pattern found, costing about 3 ms
#: on 200 k sessions of the sample shop), so this only turns away, at once, settings
#: that are hopeless from the start (e.g. 40 frequent events and 4 steps: 2.6 M).
MAX_CANDIDATE_BOUND = 1_000_000
#: Groups with fewer sequences (or users) than this are left out of the comparison: a
#: share of a handful of users says little and only adds tests to the correction.
MIN_GROUP_SIZE = 20
#: Cochran's rule: the z-test needs every expected cell of the 2×2 table to be >= 5;
#: below that Fisher's exact test is used.
MIN_EXPECTED_FOR_Z = 5.0
#: The multiple-testing correction (statsmodels' name for Benjamini-Hochberg).
CORRECTION = "fdr_bh"
ARROW = " → "


@dataclass(frozen=True)
class Sequences:
    """Event sequences as one flat array of event codes with offsets.

    Attributes
    ----------
    items : ndarray of int32
        Event code of every position, sequence after sequence.
    offsets : ndarray of int64
        Sequence ``i`` is ``items[offsets[i]:offsets[i + 1]]``; ``len(offsets)`` is the
        number of sequences plus one.
    vocabulary : tuple of str
        Event name of each code.
    user_ids : ndarray
        User of each sequence; the sequences of one user are adjacent.
    session_ids : ndarray or None
        Session of each sequence (``unit="session"``), else None.
    unit : {"session", "user"}
    collapse_repeats : bool
        Whether consecutive repeats of an event were collapsed into one.
    notices : list of Notice
        Rows left out and how the sequences were built.
    """

    items: np.ndarray
    offsets: np.ndarray
    vocabulary: tuple[str, ...]
    user_ids: np.ndarray
    session_ids: np.ndarray | None
    unit: Unit
    collapse_repeats: bool
    notices: list[Notice] = field(default_factory=list)

    @property
    def n_sequences(self) -> int:
        """Number of sequences."""
        return len(self.offsets) - 1

    @property
    def n_users(self) -> int:
        """Number of distinct users."""
        return int(pd.unique(self.user_ids).size)

    def sequence(self, i: int) -> list[str]:
        """The event names of sequence ``i``."""
        return [self.vocabulary[c] for c in self.items[self.offsets[i]:self.offsets[i + 1]]]

    def subset(self, mask: np.ndarray) -> Sequences:
        """The sequences where ``mask`` (one bool per sequence) is true, same vocabulary."""
        mask = np.asarray(mask, dtype=bool)
        lengths = np.diff(self.offsets)[mask]
        starts = self.offsets[:-1][mask]
        items = self.items[_ranges(starts, lengths)]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        sessions = None if self.session_ids is None else self.session_ids[mask]
        return Sequences(items, offsets, self.vocabulary, self.user_ids[mask], sessions,
                         self.unit, self.collapse_repeats, [])


@dataclass(frozen=True)
class PatternResult:
    """Frequent patterns of one mining run.

    Attributes
    ----------
    table : DataFrame
        One row per pattern: ``pattern`` (names joined by " → "), ``events`` (tuple of
        names), ``length``, ``sequences`` (support: sequences containing it) and
        ``share`` (support over all sequences); sorted by support, then pattern.
    n_sequences : int
    min_count : int
        The minimum support as a number of sequences.
    settings : dict
        ``min_support``, ``max_length``, ``max_gap``, ``unit``, ``collapse_repeats``.
    convention : str
        What a pattern and its support mean, in words.
    notices : list of Notice
    """

    table: pd.DataFrame
    n_sequences: int
    min_count: int
    settings: dict
    convention: str
    notices: list[Notice] = field(default_factory=list)


# --------------------------------------------------------------------------- building


def build_sequences(events: pd.DataFrame, unit: Unit = "session",
                    collapse_repeats: bool = True) -> Sequences:
    """Turn the canonical events frame into sequences.

    Parameters
    ----------
    events : DataFrame
        ``user_id``, ``ts``, ``event`` and, for ``unit="session"``, ``session_id``.
    unit : {"session", "user"}
        One sequence per session or per user.
    collapse_repeats : bool, default True
        Collapse consecutive repeats of the same event into one.

    Returns
    -------
    Sequences

    Raises
    ------
    ConfigError
        Unknown unit.
    DataError
        Missing columns, or no event left.
    """
    if unit not in ("session", "user"):
        raise ConfigError(f"The sequence unit must be 'session' or 'user', not {unit!r}.")
    needed = ["user_id", "ts", "event"] + (["session_id"] if unit == "session" else [])
    missing = [c for c in needed if c not in events.columns]
    if missing:
        what = ", ".join(repr(c) for c in missing)
        hint = " Sessions are added when the data is loaded; or choose unit='user'." \
            if "session_id" in missing else ""
        raise DataError(f"The events have no column {what}; sequences need "
                        f"{', '.join(needed)}.{hint}")
    notices: list[Notice] = []
    frame = events[needed]
    unusable = frame.isna().any(axis=1).to_numpy()
    if unusable.any():
        notices.append(Notice(
            "rows_without_values",
            f"{int(unusable.sum()):,} events without a user, time, event name or session "
            "were left out of the sequences.", "warning"))
        frame = frame[~unusable]
    if frame.empty:
        raise DataError("There are no events to build sequences from. Load an event log "
                        "with user, time and event columns.")
    user_code, user_names = pd.factorize(frame["user_id"], sort=True)
    event_code, vocabulary = pd.factorize(frame["event"].astype(str), sort=True)
    ts = pd.DatetimeIndex(pd.to_datetime(frame["ts"], utc=True)).asi8
    file_order = np.arange(len(frame))
    if unit == "session":
        session_code, session_names = pd.factorize(frame["session_id"])
        order = np.lexsort((file_order, ts, session_code, user_code))
        seq_key = user_code[order].astype(np.int64) * (len(session_names) + 1) \
            + session_code[order]
    else:
        order = np.lexsort((file_order, ts, user_code))
        seq_key = user_code[order].astype(np.int64)
    items = event_code[order].astype(np.int32)
    new_seq = np.ones(len(items), dtype=bool)
    new_seq[1:] = seq_key[1:] != seq_key[:-1]
    if collapse_repeats:
        keep = new_seq.copy()
        keep[1:] |= items[1:] != items[:-1]
        items, new_seq, order = items[keep], new_seq[keep], order[keep]
    starts = np.flatnonzero(new_seq)
    offsets = np.append(starts, len(items)).astype(np.int64)
    first_rows = order[starts]
    user_ids = np.asarray(user_names)[user_code[first_rows]]
    session_ids = np.asarray(session_names)[session_code[first_rows]] \
        if unit == "session" else None
    return Sequences(items, offsets, tuple(str(v) for v in vocabulary), user_ids,
                     session_ids, unit, bool(collapse_repeats), notices)


# ------------------------------------------------------------------------- PrefixSpan


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """All positions ``start, start+1, ..., start+length-1`` of every range, in order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (a sort: faster here than np.unique's hashing)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


class _TooManyPatternsError(Exception):
    """Raised inside the search when more than the allowed number of patterns is found."""


@dataclass
class _Miner:
    """PrefixSpan over a :class:`Sequences` with pseudo-projection.

    ``extend(positions)`` takes the projected database of a prefix (sorted positions
    where an occurrence of the prefix ends) and returns, for each event that can follow,
    the projected database of the longer prefix.
    """

    seqs: Sequences
    max_gap: int | None

    def __post_init__(self) -> None:
        lengths = np.diff(self.seqs.offsets)
        self.seq_of_pos = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)

    def support(self, positions: np.ndarray) -> int:
        """Distinct sequences among sorted positions."""
        if positions.size == 0:
            return 0
        seq = self.seq_of_pos[positions]
        return int(1 + np.count_nonzero(seq[1:] != seq[:-1]))

    def sequences_of(self, positions: np.ndarray) -> np.ndarray:
        """The distinct sequence numbers among sorted positions."""
        seq = self.seq_of_pos[positions]
        if seq.size == 0:
            return seq
        return seq[np.r_[True, seq[1:] != seq[:-1]]]

    def _project(self, positions: np.ndarray, codes: np.ndarray,
                 ) -> dict[int, np.ndarray]:
        """Group candidate positions by event code into projected databases."""
        if positions.size == 0:
            return {}
        # Stable sort by code (a radix sort for codes that fit in 16 bits).
        small = np.uint8 if len(self.seqs.vocabulary) <= 256 else (
            np.uint16 if len(self.seqs.vocabulary) <= 65536 else codes.dtype)
        order = np.argsort(codes.astype(small, copy=False), kind="stable")
        positions, codes = positions[order], codes[order]
        cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        out = {}
        for chunk_pos, code in zip(np.split(positions, cuts), codes[np.r_[0, cuts]],
                                   strict=True):
            seq = self.seq_of_pos[chunk_pos]
            if self.max_gap is None:
                # Positions come entry by entry (one entry per sequence, ascending), so
                # the first of each sequence is where the longer prefix ends earliest.
                first = np.r_[True, seq[1:] != seq[:-1]]
                out[int(code)] = chunk_pos[first]
            else:
                # Windows of several entries of one sequence may overlap.
                out[int(code)] = _sorted_unique(chunk_pos)
        return out

    def start(self, allowed: np.ndarray) -> dict[int, np.ndarray]:
        """Projected databases of the one-event patterns whose code is allowed."""
        positions = np.arange(len(self.seqs.items), dtype=np.int64)
        keep = allowed[self.seqs.items]
        return self._project(positions[keep], self.seqs.items[keep])

    def extend(self, positions: np.ndarray, allowed: np.ndarray) -> dict[int, np.ndarray]:
        """Projected databases of every allowed one-event extension of a prefix."""
        starts = positions + 1
        ends = self.seqs.offsets[self.seq_of_pos[positions] + 1]
        if self.max_gap is not None:
            ends = np.minimum(ends, starts + self.max_gap + 1)
        candidates = _ranges(starts, np.maximum(ends - starts, 0))
        codes = self.seqs.items[candidates]
        keep = allowed[codes]
        return self._project(candidates[keep], codes[keep])


OnPattern = Callable[[tuple[int, ...], np.ndarray], None]


def _mine(miner: _Miner, min_count: int, max_length: int, *,
          only: set[tuple[int, ...]] | None = None, on_pattern: OnPattern | None = None,
          max_patterns: int | None = None, progress: Progress | None = None,
          counts: np.ndarray | None = None) -> list[tuple[tuple[int, ...], int]]:
    """Depth-first PrefixSpan: every pattern up to ``max_length`` events with support at
    least ``min_count``; with ``only``, just those patterns (found through their prefixes).

    ``on_pattern(codes, positions)`` is called for every pattern found with its projected
    database. Raises :class:`_TooManyPatternsError` past ``max_patterns``. ``counts`` are the
    supports of the single events, when already known.
    """
    vocabulary_size = len(miner.seqs.vocabulary)
    # With `only`: the events that may follow each prefix of the wanted patterns.
    next_events: dict[tuple[int, ...], list[int]] | None = None
    if only is not None:
        next_events = {}
        for p in only:
            for i in range(len(p)):
                next_events.setdefault(p[:i], []).append(p[i])

    def allowed_after(prefix: tuple[int, ...]) -> np.ndarray:
        mask = np.zeros(vocabulary_size, dtype=bool)
        mask[frequent if next_events is None else next_events.get(prefix, [])] = True
        return mask

    if next_events is None:
        if counts is None:
            counts = _event_supports(miner)
        frequent = np.flatnonzero(counts >= min_count)
    found: list[tuple[tuple[int, ...], int]] = []
    top = miner.start(allowed_after(()))
    stack = [((code,), top[code]) for code in sorted(top, reverse=True)]
    n_top = max(len(top), 1)
    while stack:
        pattern, positions = stack.pop()
        if len(pattern) == 1 and progress:
            # Depth first: when a one-event pattern comes up, the stack holds only the
            # one-event patterns still to do.
            progress((n_top - len(stack) - 1) / n_top,
                     f"Patterns starting with {miner.seqs.vocabulary[pattern[0]]}")
        support = miner.support(positions)
        if support < min_count:
            continue
        if only is None or pattern in only:
            found.append((pattern, support))
            if on_pattern is not None:
                on_pattern(pattern, positions)
            if max_patterns is not None and len(found) > max_patterns:
                raise _TooManyPatternsError(found)
        if len(pattern) < max_length:
            allowed = allowed_after(pattern)
            if allowed.any():
                longer = miner.extend(positions, allowed)
                stack.extend(((*pattern, code), longer[code])
                             for code in sorted(longer, reverse=True))
    if progress:
        progress(1.0, f"{len(found):,} patterns found")
    return found


def _event_supports(miner: _Miner) -> np.ndarray:
    """Support of each single event: the sequences it occurs in."""
    key = miner.seq_of_pos * len(miner.seqs.vocabulary) + miner.seqs.items
    return np.bincount(_sorted_unique(key) % len(miner.seqs.vocabulary),
                       minlength=len(miner.seqs.vocabulary))


# ------------------------------------------------------------------------------ guards


def _min_count(min_support: float | int, n_sequences: int, what: str = "sequences") -> int:
    """The minimum support as a number of sequences (a share is rounded up)."""
    if isinstance(min_support, bool) or not isinstance(min_support, Real) \
            or not math.isfinite(float(min_support)) or min_support <= 0:
        raise ConfigError(
            f"The minimum support must be a share of the {what} between 0 and 1 "
            f"(e.g. 0.02) or a whole number of {what} (e.g. 50), not {min_support!r}.")
    if isinstance(min_support, Integral):
        return int(min_support)
    if min_support > 1:
        raise ConfigError(
            f"The minimum support {min_support!r} is above 1: give a share between 0 and "
            f"1 (e.g. 0.02) or a whole number of {what} (e.g. 50).")
    return max(1, math.ceil(float(min_support) * n_sequences - 1e-9))


def _check_shape(max_length: object, max_gap: object) -> None:
    if isinstance(max_length, bool) or not isinstance(max_length, Integral) or max_length < 1:
        raise ConfigError(f"The maximum length must be a whole number of events >= 1 "
                          f"(e.g. {DEFAULT_MAX_LENGTH}), not {max_length!r}.")
    if max_gap is not None and (isinstance(max_gap, bool) or not isinstance(max_gap, Integral)
                                or max_gap < 0):
        raise ConfigError(f"The maximum gap must be empty (any gap), 0 (events directly "
                          f"after each other) or a whole number >= 0, not {max_gap!r}.")


def _bound(n_frequent: int, max_length: int) -> int:
    """How many prefixes the search could visit: sum of n ** l for l = 1..max_length."""
    return sum(n_frequent ** length for length in range(1, max_length + 1))


def _support_text(count: int, n_sequences: int, what: str) -> str:
    share = count / n_sequences
    # Tiny supports keep their digits: "0.0%" would read as no support at all.
    percent = f"{share:.1%}" if share >= 0.001 else f"{share * 100:.2g}%"
    return f"{percent} of the {what} ({count:,})"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_bound(counts: np.ndarray, min_count: int, max_length: int, n_sequences: int,
                 what: str) -> None:
    """Refuse settings whose search could visit more than MAX_CANDIDATE_BOUND prefixes."""
    n_frequent = int(np.count_nonzero(counts >= min_count))
    if _bound(n_frequent, max_length) <= MAX_CANDIDATE_BOUND:
        return
    supports = np.sort(counts[counts >= min_count])[::-1]
    fitting = next(k for k in range(len(supports), -1, -1)
                   if _bound(k, max_length) <= MAX_CANDIDATE_BOUND)
    # With a minimum support just above the (fitting+1)-th most frequent event's, only
    # `fitting` events are frequent.
    needed = int(supports[fitting]) + 1
    length_fits = max(n for n in range(1, max_length + 1)
                      if _bound(n_frequent, n) <= MAX_CANDIDATE_BOUND) \
        if _bound(n_frequent, 1) <= MAX_CANDIDATE_BOUND else None
    advice = []
    if needed <= n_sequences:
        advice.append(f"raise the minimum support to at least "
                      f"{_support_text(needed, n_sequences, what)}")
    if length_fits:
        advice.append(f"lower the maximum length to {length_fits}")
    advice = advice or ["raise the minimum support"]
    raise ConfigError(
        f"{n_frequent:,} events reach the minimum support of "
        f"{_support_text(min_count, n_sequences, what)}; patterns of up to {max_length} "
        f"of them could number {_bound(n_frequent, max_length):,}, too many to search. "
        f"{_sentence(' or '.join(advice))}.")


def _too_many(found: list[tuple[tuple[int, ...], int]], max_patterns: int, min_count: int,
              max_length: int, n_sequences: int, what: str) -> ConfigError:
    supports = np.sort(np.array([s for _, s in found]))[::-1]
    # At any minimum support up to the max_patterns-th largest support found so far there
    # are more than max_patterns patterns; so it must be above that.
    needed = int(supports[max_patterns - 1]) + 1
    shorter = f" or lower the maximum length below {max_length}" if max_length > 1 else ""
    # The search stopped early, so this is a floor: below it there are surely too many.
    return ConfigError(
        f"More than {max_patterns:,} patterns reach the minimum support of "
        f"{_support_text(min_count, n_sequences, what)}. Raise the minimum support to at "
        f"least {_support_text(needed, n_sequences, what)} (the search stopped early, so a "
        f"higher value may be needed){shorter}.")


# ------------------------------------------------------------------------ public API


def _convention(unit: Unit, collapse: bool, max_gap: int | None) -> str:
    gap = "any number of other events may come between consecutive pattern events" \
        if max_gap is None else (
            "pattern events directly follow each other" if max_gap == 0 else
            f"at most {max_gap} other events between consecutive pattern events")
    repeats = "consecutive repeats of an event collapsed into one" if collapse \
        else "repeats kept"
    return (f"A sequence is one {unit}'s events in time order (ties in file order), "
            f"{repeats}. A pattern is events in this order; {gap}. Support = sequences "
            "containing the pattern at least once. Mined with PrefixSpan (Pei et al. 2001).")


def _names(seqs: Sequences, codes: Sequence[int]) -> tuple[str, ...]:
    return tuple(seqs.vocabulary[c] for c in codes)


def frequent_patterns(sequences: Sequences, min_support: float | int = DEFAULT_MIN_SUPPORT,
                      max_length: int = DEFAULT_MAX_LENGTH, max_gap: int | None = None,
                      max_patterns: int = MAX_PATTERNS, progress: Progress | None = None,
                      ) -> PatternResult:
    """Every pattern of up to ``max_length`` events in at least ``min_support`` sequences.

    Parameters
    ----------
    sequences : Sequences
        From :func:`build_sequences`.
    min_support : float or int, default 0.02
        A share of the sequences in (0, 1] (rounded up to a count) or a whole number of
        sequences.
    max_length : int, default 4
    max_gap : int or None, default None
        None: any gap; 0: contiguous; k: at most k events between consecutive pattern
        events.
    max_patterns : int, default 20,000
        Stop and raise past this many patterns.
    progress : callable, optional
        ``progress(fraction, message)``, once per first event.

    Returns
    -------
    PatternResult

    Raises
    ------
    ConfigError
        Invalid settings, or settings that would find too many patterns; the message
        names the minimum support (or maximum length) that would work.
    """
    _check_shape(max_length, max_gap)
    n = sequences.n_sequences
    min_count = _min_count(min_support, n)
    miner = _Miner(sequences, max_gap)
    counts = _event_supports(miner)
    _check_bound(counts, min_count, int(max_length), n, "sequences")
    try:
        found = _mine(miner, min_count, int(max_length), max_patterns=max_patterns,
                      progress=progress, counts=counts)
    except _TooManyPatternsError as exc:
        raise _too_many(exc.args[0], max_patterns, min_count, int(max_length), n,
                        "sequences") from None
    table = pd.DataFrame({
        "pattern": [ARROW.join(_names(sequences, p)) for p, _ in found],
        "events": [_names(sequences, p) for p, _ in found],
        "length": np.array([len(p) for p, _ in found], dtype=np.int64),
        "sequences": np.array([s for _, s in found], dtype=np.int64),
    })
    table["share"] = table["sequences"] / n if n else np.nan
    table = table.sort_values(["sequences", "length", "pattern"], ascending=[False, True, True],
                              ignore_index=True)
    notices = list(sequences.notices)
    if table.empty:
        notices.append(Notice(
            "no_frequent_patterns",
            f"No event is in {_support_text(min_count, n, 'sequences')}. Lower the "
            "minimum support.", "warning", "min_support"))
    settings = {"min_support": min_support, "max_length": int(max_length),
                "max_gap": max_gap, "unit": sequences.unit,
                "collapse_repeats": sequences.collapse_repeats}
    return PatternResult(table, n, min_count, settings,
                         _convention(sequences.unit, sequences.collapse_repeats, max_gap),
                         notices)


# ------------------------------------------------------------ distinguishing patterns


def _two_proportion_tests(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray,
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values and the test used per row: the pooled two-proportion z-test
    when every expected count of the 2×2 table is >= 5, else Fisher's exact test."""
    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    pooled = (x1 + x2) / (n1 + n2)
    expected = np.minimum.reduce([n1 * pooled, n1 * (1 - pooled), n2 * pooled,
                                  n2 * (1 - pooled)])
    use_z = expected >= MIN_EXPECTED_FOR_Z
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x1 / n1 - x2 / n2) / se
    p = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
    for i in np.flatnonzero(~use_z):
        table = [[int(x1[i]), int(n1[i] - x1[i])], [int(x2[i]), int(n2[i] - x2[i])]]
        p[i] = stats.fisher_exact(table, alternative="two-sided").pvalue
    tests = np.where(use_z, "two-proportion z-test (pooled)", "Fisher's exact test")
    return p, tests


def _unit_counter(miner: _Miner, units: np.ndarray, store: dict[tuple[int, ...], int],
                  distinct: bool) -> OnPattern:
    """A callback storing, per pattern, how many units (distinct users when ``distinct``,
    else sequences) have it; ``units`` is the unit of each sequence of the miner."""
    def on_pattern(codes: tuple[int, ...], positions: np.ndarray) -> None:
        hit = units[miner.sequences_of(positions)]
        store[codes] = _sorted_unique(hit).size if distinct else int(hit.size)
    return on_pattern


def distinguishing_patterns(sequences: Sequences, groups: pd.Series,
                            min_support: float | int = DEFAULT_MIN_SUPPORT,
                            max_length: int = DEFAULT_MAX_LENGTH, max_gap: int | None = None,
                            count: Counted = "users", alpha: float = 0.05,
                            max_patterns: int = MAX_PATTERNS,
                            progress: Progress | None = None) -> pd.DataFrame:
    """Patterns frequent in a group, compared with everyone else.

    For each group, PrefixSpan finds the patterns in at least ``min_support`` of the
    group's sequences; each is then counted in the group and in all other groups
    together. With ``count="users"`` (default) the compared shares are of *users* who
    have the pattern in at least one of their sequences, so that one user's sessions do
    not count as independent observations; ``count="sequences"`` compares shares of
    sequences (for ``unit="user"`` both are the same).

    The difference of the two shares is tested per pattern with the pooled
    two-proportion z-test, or Fisher's exact test when an expected count of the 2×2
    table is below 5 (column ``test`` names it); p-values are corrected over every
    pattern of every group with Benjamini-Hochberg (``multipletests(method="fdr_bh")``).

    Parameters
    ----------
    sequences : Sequences
    groups : Series
        Group (persona, segment) per user, indexed by user id. Users without a group are
        left out, and a notice says how many.
    min_support, max_length, max_gap, max_patterns
        As in :func:`frequent_patterns`; ``min_support`` applies within each group.
    count : {"users", "sequences"}
        What the compared shares count.
    alpha : float, default 0.05
        False discovery rate for the ``significant`` column.

    Returns
    -------
    DataFrame
        Columns ``group, pattern, length, in_group, group_size, share_in_group,
        elsewhere, elsewhere_size, share_elsewhere, ratio, difference, test, p_value,
        p_adjusted, significant``; ratio = share_in_group / share_elsewhere (inf when
        nobody elsewhere has the pattern), difference = share_in_group −
        share_elsewhere. Sorted by group, then ratio (largest first). ``attrs`` holds
        ``notices`` (list of Notice), ``convention`` and ``correction``.

    Raises
    ------
    ConfigError
        Fewer than two groups, invalid settings or too many patterns.
    """
    _check_shape(max_length, max_gap)
    if count not in ("users", "sequences"):
        raise ConfigError(f"Count 'users' or 'sequences', not {count!r}.")
    if not 0 < alpha < 1:
        raise ConfigError(f"The false discovery rate must be between 0 and 1, not {alpha!r}.")
    notices: list[Notice] = list(sequences.notices)
    labels = pd.Series(sequences.user_ids).map(groups)
    lost = labels.isna().to_numpy()
    if lost.any():
        lost_users = pd.unique(sequences.user_ids[lost]).size
        notices.append(Notice(
            "users_without_group",
            f"{lost_users:,} users ({int(lost.sum()):,} sequences) have no group and are "
            "left out of the comparison.", "warning"))
    seqs = sequences.subset(~lost) if lost.any() else sequences
    labels = labels[~lost].astype(str).to_numpy()
    group_code, group_names = pd.factorize(labels, sort=True)
    group_names = [str(g) for g in group_names]
    if len(group_names) < 2:
        raise ConfigError(
            "Distinguishing patterns compare a group with the others, and "
            f"{'only one group has' if group_names else 'no user has'} users here. "
            "Choose a grouping with at least two groups (personas or segments).")
    user_code = pd.factorize(seqs.user_ids)[0]
    unit_code = user_code if count == "users" else np.arange(seqs.n_sequences)
    unit_group = np.full(unit_code.max() + 1, -1)
    unit_group[unit_code] = group_code
    sizes = np.bincount(unit_group, minlength=len(group_names))
    seq_sizes = np.bincount(group_code, minlength=len(group_names))
    what = "users" if count == "users" else "sequences"
    total = int(sizes.sum())

    rows = []
    candidates: list[int] = [g for g in range(len(group_names))
                             if sizes[g] >= MIN_GROUP_SIZE and total - sizes[g] >= 1]
    for g in range(len(group_names)):
        if g not in candidates:
            notices.append(Notice(
                "group_too_small",
                f"Group '{group_names[g]}' has {sizes[g]:,} {what}, fewer than "
                f"{MIN_GROUP_SIZE}; its patterns are not compared.", "warning",
                group_names[g]))
    for step, g in enumerate(candidates):
        inside = group_code == g
        part_in, part_out = seqs.subset(inside), seqs.subset(~inside)
        units_in, units_out = unit_code[inside], unit_code[~inside]
        min_count = _min_count(min_support, int(seq_sizes[g]))
        miner_in = _Miner(part_in, max_gap)
        counts = _event_supports(miner_in)
        _check_bound(counts, min_count, int(max_length), int(seq_sizes[g]),
                     f"sequences of '{group_names[g]}'")
        hits_in: dict[tuple[int, ...], int] = {}
        hits_out: dict[tuple[int, ...], int] = {}

        try:
            found = _mine(miner_in, min_count, int(max_length),
                          on_pattern=_unit_counter(miner_in, units_in, hits_in, count == "users"),
                          max_patterns=max_patterns, counts=counts)
        except _TooManyPatternsError as exc:
            raise _too_many(exc.args[0], max_patterns, min_count, int(max_length),
                            int(seq_sizes[g]), f"sequences of '{group_names[g]}'") from None
        miner_out = _Miner(part_out, max_gap)
        _mine(miner_out, 1, int(max_length), only={p for p, _ in found},
              on_pattern=_unit_counter(miner_out, units_out, hits_out,
                                          count == "users"))
        for codes, _ in found:
            rows.append((group_names[g], ARROW.join(_names(seqs, codes)), len(codes),
                         hits_in[codes], int(sizes[g]), hits_out.get(codes, 0),
                         total - int(sizes[g])))
        if progress:
            progress((step + 1) / len(candidates), f"Patterns of {group_names[g]}")
    table = pd.DataFrame(rows, columns=["group", "pattern", "length", "in_group",
                                        "group_size", "elsewhere", "elsewhere_size"])
    for col in ("length", "in_group", "group_size", "elsewhere", "elsewhere_size"):
        table[col] = table[col].astype(np.int64)
    table["share_in_group"] = table["in_group"] / table["group_size"]
    table["share_elsewhere"] = table["elsewhere"] / table["elsewhere_size"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = table["share_in_group"] / table["share_elsewhere"]
    table["difference"] = table["share_in_group"] - table["share_elsewhere"]
    if len(table):
        p, tests = _two_proportion_tests(table["in_group"], table["group_size"],
                                         table["elsewhere"], table["elsewhere_size"])
        reject, p_adj, _, _ = multipletests(p, alpha=alpha, method=CORRECTION)
    else:
        p = tests = p_adj = reject = np.zeros(0)
    table["test"] = pd.Series(tests, dtype="str") if len(table) else pd.Series(dtype="str")
    table["p_value"] = np.asarray(p, dtype=np.float64)
    table["p_adjusted"] = np.asarray(p_adj, dtype=np.float64)
    table["significant"] = np.asarray(reject, dtype=bool)
    table = table.sort_values(["group", "ratio", "share_in_group", "pattern"],
                              ascending=[True, False, False, True], ignore_index=True)
    table = table[["group", "pattern", "length", "in_group", "group_size",
                   "share_in_group", "elsewhere", "elsewhere_size", "share_elsewhere",
                   "ratio", "difference", "test", "p_value", "p_adjusted", "significant"]]
    if count == "sequences" and sequences.unit == "session":
        notices.append(Notice(
            "sessions_not_independent",
            "Shares count sessions, and one user's sessions are not independent: the "
            "p-values are too small. Count users for the test.", "info"))
    table.attrs["notices"] = notices
    table.attrs["correction"] = f"Benjamini-Hochberg (statsmodels {CORRECTION!r}) over " \
                                f"all {len(table):,} patterns tried, false discovery rate " \
                                f"{alpha:g}"
    table.attrs["convention"] = (
        _convention(sequences.unit, sequences.collapse_repeats, max_gap)
        + f" Shares are of the {what} with the pattern; a pattern is tried for a group "
        "when it is frequent in that group's sequences.")
    return table


# --------------------------------------------------------------------- pattern feature


def _slug(name: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")
    return slug or "event"


def pattern_feature_name(pattern: Sequence[str], value: Literal["flag", "count"] = "flag",
                         ) -> str:
    """The feature column name of a pattern: ``did_view_then_cart`` (``_sessions`` for a
    count)."""
    name = "did_" + "_then_".join(_slug(e) for e in pattern)
    return name + "_sessions" if value == "count" else name


def pattern_definition(pattern: Sequence[str], unit: Unit = "session",
                       max_gap: int | None = None, value: Literal["flag", "count"] = "flag",
                       collapse_repeats: bool = True) -> str:
    """One line saying what the pattern feature counts."""
    steps = ", then ".join(f"'{e}'" for e in pattern)
    gap = "" if max_gap is None or len(pattern) < 2 else (
        " directly after each other" if max_gap == 0 else
        f" with at most {max_gap} other events between steps")
    repeats = " (consecutive repeats counted once)" if collapse_repeats else ""
    where = "in one session" if unit == "session" else "over their history"
    if value == "count":
        return f"Number of the user's sessions with {steps}{gap}{repeats}."
    return f"1 if the user did {steps} {where}{gap}{repeats}, else 0."


def pattern_feature(events: pd.DataFrame, pattern: Sequence[str], unit: Unit = "session",
                    max_gap: int | None = None, value: Literal["flag", "count"] = "flag",
                    collapse_repeats: bool = True) -> pd.Series:
    """Per user: did they do ``pattern`` (1/0), or in how many sessions (``value="count"``).

    Parameters
    ----------
    events : DataFrame
        Canonical events.
    pattern : sequence of str
        Event names in order, e.g. ``["product_view", "add_to_cart"]``.
    unit : {"session", "user"}
        Within one session, or anywhere in the user's history.
    max_gap : int or None
        As in :func:`frequent_patterns`.
    value : {"flag", "count"}
        1/0, or the number of sessions with the pattern (``unit="session"`` only).
    collapse_repeats : bool, default True

    Returns
    -------
    Series of int64
        Indexed by ``user_id`` (every user of the events), named
        :func:`pattern_feature_name`; ``attrs["definition"]`` holds the definition.

    Raises
    ------
    ConfigError
        An empty pattern, an event the data does not have, or a count over users.
    """
    pattern = [str(e) for e in pattern]
    if not pattern:
        raise ConfigError("The pattern has no events. Choose one or more events in order.")
    if value not in ("flag", "count"):
        raise ConfigError(f"The value must be 'flag' or 'count', not {value!r}.")
    if value == "count" and unit != "session":
        raise ConfigError("A count of sessions needs unit='session'; over whole user "
                          "histories the feature is a 1/0 flag.")
    _check_shape(max(len(pattern), 1), max_gap)
    seqs = build_sequences(events, unit, collapse_repeats)
    unknown = [e for e in pattern if e not in seqs.vocabulary]
    if unknown:
        raise ConfigError(
            f"The data has no event {', '.join(repr(e) for e in unknown)}. Choose among "
            f"{', '.join(repr(e) for e in seqs.vocabulary[:20])}.")
    codes = tuple(seqs.vocabulary.index(e) for e in pattern)
    miner = _Miner(seqs, max_gap)
    hits: list[np.ndarray] = []

    def keep(found: tuple[int, ...], positions: np.ndarray) -> None:
        if found == codes:
            hits.append(miner.sequences_of(positions))

    _mine(miner, 1, len(codes), only={codes}, on_pattern=keep)
    users = pd.Index(pd.unique(seqs.user_ids), name="user_id")
    per_user = pd.Series(seqs.user_ids[hits[0]] if hits else [], dtype=object).value_counts()
    out = per_user.reindex(users, fill_value=0).astype(np.int64)
    if value == "flag":
        out = (out > 0).astype(np.int64)
    out.name = pattern_feature_name(pattern, value)
    out.attrs["definition"] = pattern_definition(pattern, unit, max_gap, value,
                                                 collapse_repeats)
    return out
