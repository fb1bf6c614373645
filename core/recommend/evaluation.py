"""Offline evaluation on a time split: learn from the past, score against what came next.

The convention (also :data:`CONVENTION`, and a notice with code
``evaluation_convention`` on every result):

- every method learns only from the interactions *before* the cutoff (an event at or
  after it never enters training);
- a user's relevant items are the items they interacted with at or after the cutoff
  that they had not interacted with before it (re-visits are not discoveries); items
  nobody interacted with before the cutoff cannot be recommended and are left out;
- scored users have history before the cutoff and at least one relevant item; users
  without relevant items, and new users (no history before the cutoff), are not scored,
  and notices count them;
- each scored user gets the method's top k items they had not seen, gaps filled with
  popular items as :mod:`core.recommend.serve` fills them for real users;
- the metrics are those of :mod:`core.recommend.metrics`, averaged over the scored users
  (overall and per persona); coverage and novelty describe the lists of those users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.common.progress import Progress, scaled
from core.recommend import metrics
from core.recommend.interactions import (
    Interactions,
    check_weights,
    from_rows,
    item_column_of,
    weighted_rows,
)
from core.recommend.methods import RecommendConfig, available, make, method
from core.recommend.popularity import group_codes
from core.recommend.serve import fallback_for, served

ALL_USERS = "All users"
DEFAULT_K = 10
#: The default cutoff leaves the last fifth of the interactions for the test.
TEST_SHARE = 0.2
#: Metric columns of :attr:`Evaluation.table`, in the order they are shown.
METRICS = ("precision", "recall", "map", "ndcg", "coverage", "novelty")
RANKING_METRICS = ("precision", "recall", "map", "ndcg")
METRIC_LABELS = {"precision": "Precision@{k}", "recall": "Recall@{k}", "map": "MAP@{k}",
                 "ndcg": "NDCG@{k}", "coverage": "Coverage", "novelty": "Novelty (bits)"}

CONVENTION = (
    "Time split: each method learns from the interactions before the cutoff; a user's "
    "relevant items are those they interacted with at or after the cutoff and not "
    "before it; only users with history before the cutoff and at least one relevant item "
    "are scored. Each gets the method's top {k} unseen items (gaps filled with popular "
    "items, as served). Precision@{k} = hits / {k}; recall@{k} = hits / relevant items; "
    "MAP@{k} = mean of AP@{k} = Σ precision at each hit / min(relevant, {k}); NDCG@{k} "
    "with binary relevance and 1/log2(rank + 1) discounts; coverage = share of the "
    "catalogue recommended to anyone scored; novelty = mean −log2 of the share of "
    "training users who interacted with a recommended item.")


def metric_label(metric: str, k: int) -> str:
    """"Recall@10", "Coverage"."""
    return METRIC_LABELS[metric].format(k=k)


@dataclass(frozen=True)
class TimeSplit:
    """Training interactions and test relevance around a cutoff.

    Attributes
    ----------
    train : Interactions
        From the events before the cutoff only.
    relevant : csr_matrix, (train users, train items)
        1 where the item is relevant to the user (module docstring).
    cutoff : Timestamp (UTC)
    notices : list of Notice
    """

    train: Interactions
    relevant: sp.csr_matrix
    cutoff: pd.Timestamp
    notices: list[Notice] = field(default_factory=list)

    @property
    def scored_rows(self) -> np.ndarray:
        """Training rows with at least one relevant item."""
        return np.flatnonzero(np.diff(self.relevant.indptr) > 0)


def parse_cutoff(cutoff: object) -> pd.Timestamp:
    """A cutoff as a UTC timestamp (a date is its midnight, naive times are UTC)."""
    try:
        stamp = pd.Timestamp(cutoff)
    except (TypeError, ValueError):
        raise ConfigError(f"The cutoff {cutoff!r} is not a date; give one such as "
                          "2024-03-01.") from None
    if pd.isna(stamp):
        raise ConfigError("The cutoff is missing; give a date such as 2024-03-01.")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def default_cutoff(times: pd.Series) -> pd.Timestamp:
    """The day that leaves about the last fifth of the interactions after it."""
    utc = pd.to_datetime(times, utc=True)
    return utc.quantile(1 - TEST_SHARE).floor("D")


def time_split(events: pd.DataFrame, weights: Mapping[str, object], cutoff: object = None,
               item_column: str | None = None) -> TimeSplit:
    """Split the interactions at ``cutoff`` (default :func:`default_cutoff`).

    Raises
    ------
    ConfigError
        A cutoff with no interaction before it or none after it (the message gives the
        data's range).
    """
    rows, notices = weighted_rows(events, weights, item_column)
    times = pd.to_datetime(rows["ts"], utc=True)
    cut = default_cutoff(times) if cutoff is None else parse_cutoff(cutoff)
    before = (times < cut).to_numpy()
    if before.all() or not before.any():
        side = "after" if before.all() else "before"
        raise ConfigError(f"No interaction falls {side} the cutoff {cut:%Y-%m-%d %H:%M} UTC; "
                          f"the interactions run from {times.min():%Y-%m-%d} to "
                          f"{times.max():%Y-%m-%d}. Choose a cutoff inside that range.")
    train = from_rows(rows[before], check_weights(weights), item_column_of(events, item_column),
                      notices)
    test = rows[~before]
    u = train.users.get_indexer(test["user_id"])
    i = train.items.get_indexer(test["item"])
    inside = (u >= 0) & (i >= 0)
    pairs = np.unique(u[inside].astype(np.int64) * train.n_items + i[inside])
    relevant = sp.csr_matrix((np.ones(len(pairs), dtype=np.float32),
                              (pairs // train.n_items, pairs % train.n_items)),
                             shape=train.matrix.shape)
    seen = train.matrix.copy()
    seen.data[:] = 1.0
    relevant = relevant - relevant.multiply(seen)
    relevant.eliminate_zeros()
    notices = notices + _split_notices(cut, train, test, u, i, relevant)
    return TimeSplit(train, relevant.tocsr(), cut, notices)


def _split_notices(cut: pd.Timestamp, train: Interactions, test: pd.DataFrame,
                   u: np.ndarray, i: np.ndarray, relevant: sp.csr_matrix) -> list[Notice]:
    scored = int((np.diff(relevant.indptr) > 0).sum())
    test_users = test["user_id"].nunique()
    new_users = test.loc[u < 0, "user_id"].nunique()
    notices = [Notice("time_split", f"Trained on {int(train.counts.sum()):,} interactions "
                      f"before {cut:%Y-%m-%d %H:%M} UTC ({train.n_users:,} users, "
                      f"{train.n_items:,} items); {len(test):,} interactions of "
                      f"{test_users:,} users at or after it are the test.", "info", "cutoff")]
    if new_users:
        notices.append(Notice("new_users_not_scored", f"Users without history before the "
                              f"cutoff: {new_users:,}; they would get the cold-start list and "
                              "are not scored.", "info", "users"))
    no_relevant = test_users - new_users - scored
    if no_relevant:
        notices.append(Notice("users_without_test_items", f"Users who came back only to items "
                              f"they already had: {no_relevant:,}; with no relevant item they "
                              "are not scored.", "info", "users"))
    new_items = int(((u >= 0) & (i < 0)).sum())
    if new_items:
        notices.append(Notice("new_items_left_out", f"Test interactions on items nobody had "
                              f"before the cutoff: {new_items:,}; no method can recommend "
                              "them, so they are left out.", "info", "items"))
    if scored == 0:
        notices.append(Notice("nothing_to_score", "No user has a relevant item after the "
                              "cutoff, so nothing can be scored. Choose an earlier cutoff.",
                              "error", "cutoff"))
    return notices


@dataclass(frozen=True)
class Evaluation:
    """Metrics of every method on one time split.

    Attributes
    ----------
    table : DataFrame
        One row per method and group (``ALL_USERS`` first): ``method, label, baseline,
        group, users`` (scored) and the :data:`METRICS`.
    per_user : DataFrame
        ``method, user_id, group, relevant, hits, precision, recall, map, ndcg``.
    k : int
    cutoff : Timestamp
    convention : str
    notices : list of Notice
    users_scored : int
    """

    table: pd.DataFrame
    per_user: pd.DataFrame
    k: int
    cutoff: pd.Timestamp
    convention: str
    notices: list[Notice]
    users_scored: int

    def overall(self) -> pd.DataFrame:
        """The rows of everyone, one per method."""
        return self.table[self.table["group"] == ALL_USERS].reset_index(drop=True)

    def long(self) -> pd.DataFrame:
        """Tidy form: ``method, label, group, users, metric, value``."""
        return self.table.melt(id_vars=["method", "label", "baseline", "group", "users"],
                               value_vars=list(METRICS), var_name="metric")

    def best(self, metric: str = "recall") -> str:
        """The method with the highest ``metric`` for everyone."""
        overall = self.overall()
        return str(overall.loc[overall[metric].idxmax(), "method"])


def _scores(key: str, split: TimeSplit, rows: np.ndarray, k: int, groups: pd.Series | None,
            config: RecommendConfig, progress: Progress | None
            ) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-user metrics of one method, and the lists they were computed on."""
    train = split.train
    model = make(key, config, groups, progress).fit(train)
    items, _, _ = served(model, rows, k, fallback_for(train, groups))
    relevant = split.relevant[rows]
    hit = metrics.hits(items, relevant)
    n_relevant = metrics.relevant_counts(relevant)
    frame = pd.DataFrame({"method": key, "row": rows, "relevant": n_relevant,
                          "hits": hit.sum(axis=1),
                          "precision": metrics.precision_at_k(hit),
                          "recall": metrics.recall_at_k(hit, n_relevant),
                          "map": metrics.average_precision_at_k(hit, n_relevant),
                          "ndcg": metrics.ndcg_at_k(hit, n_relevant)})
    return frame, items


def _summary(key: str, frame: pd.DataFrame, items: np.ndarray, group: str,
             train: Interactions, share: np.ndarray) -> dict:
    info = method(key)
    return {"method": key, "label": info.label, "baseline": info.baseline, "group": group,
            "users": len(frame), **{m: float(frame[m].mean()) for m in RANKING_METRICS},
            "coverage": metrics.coverage(items, train.n_items),
            "novelty": metrics.novelty(items, share)}


def evaluate_split(split: TimeSplit, methods: Sequence[str] | None = None, k: int = DEFAULT_K,
                   groups: pd.Series | None = None, config: RecommendConfig | None = None,
                   progress: Progress | None = None) -> Evaluation:
    """Score every method on a :class:`TimeSplit` (see :func:`evaluate`)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 100:
        raise ConfigError(f"k must be a whole number from 1 to 100, not {k!r}.")
    keys = list(methods) if methods is not None else available(groups is not None)
    config = config or RecommendConfig()
    train, rows = split.train, split.scored_rows
    codes, names = group_codes(train, groups)
    share = train.item_users() / train.n_users
    summaries, frames = [], []
    for number, key in enumerate(keys):
        step = scaled(progress, number / len(keys), (number + 1) / len(keys))
        if progress:
            progress(number / len(keys), f"Evaluating {method(key).label}")
        frame, items = _scores(key, split, rows, k, groups, config, step) if len(rows) else \
            (pd.DataFrame(columns=["method", "row", "relevant", "hits", *RANKING_METRICS]),
             np.empty((0, k), dtype=np.int64))
        frame["group"] = [names[c] if c >= 0 else None for c in codes[frame["row"]]] \
            if len(frame) else []
        summaries.append(_summary(key, frame, items, ALL_USERS, train, share))
        for code, name in enumerate(names):
            mine = (codes[rows] == code) if len(rows) else np.zeros(0, dtype=bool)
            if mine.any():
                summaries.append(_summary(key, frame[mine], items[mine], name, train, share))
        frames.append(frame)
    if progress:
        progress(1.0, "Evaluated")
    per_user = pd.concat(frames, ignore_index=True)
    per_user.insert(1, "user_id", train.users.to_numpy()[per_user["row"].to_numpy(int)])
    convention = CONVENTION.format(k=k)
    notices = [*split.notices, Notice("evaluation_convention", convention, "info",
                                      "relevance")]
    return Evaluation(pd.DataFrame(summaries), per_user.drop(columns="row"), int(k),
                      split.cutoff, convention, notices, len(rows))


def evaluate(events: pd.DataFrame, weights: Mapping[str, object],
             methods: Sequence[str] | None = None, k: int = DEFAULT_K, cutoff: object = None,
             groups: pd.Series | None = None, config: RecommendConfig | None = None,
             item_column: str | None = None, progress: Progress | None = None) -> Evaluation:
    """Offline evaluation of recommendation methods on a time split.

    Parameters
    ----------
    events : DataFrame
        Canonical events with an item column.
    weights : mapping of str to float
        Weight per event name (as for :func:`~core.recommend.interactions.build_interactions`).
    methods : sequence of str, optional
        Registered method keys; default every method that can run (the persona
        popularity only with ``groups``).
    k : int, default 10
        Length of the lists scored (1-100).
    cutoff : date, optional
        Default: the day that leaves the last fifth of the interactions for the test.
    groups : Series, optional
        Persona per user id: metrics per persona too, and gaps filled per persona.
    config : RecommendConfig, optional
    item_column : str, optional
    progress : callable, optional

    Returns
    -------
    Evaluation
        The convention is in the module docstring, :attr:`Evaluation.convention` and a
        notice with code ``evaluation_convention``.
    """
    split = time_split(events, weights, cutoff, item_column)
    return evaluate_split(split, methods, k, groups, config, progress)
