"""How good a propensity score is on users it never saw: ROC-AUC and average precision
with bootstrap intervals, the metrics at a threshold, calibration, gains and lift.

Conventions (named on the page and in the report):

- **ROC-AUC**: area under the ROC curve, ties counted half (Mann-Whitney).
- **PR-AUC**: average precision, the step-wise area under the precision-recall curve
  (scikit-learn's ``average_precision_score``), not the trapezoid.
- **Intervals**: 95 % percentile bootstrap over test users, :data:`BOOTSTRAP` resamples
  with a fixed seed, computed as multinomial weights on one sort of the scores.
- **Calibration**: mean predicted against observed rate in :data:`CALIBRATION_BINS`
  equal-count bins, and the Brier score.
- **Gains**: the share of all positives among the top x % of users by score; lift is
  that share divided by x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

BOOTSTRAP = 200
CALIBRATION_BINS = 10
#: Users per resample block, so that the weight matrix stays small.
_BLOCK = 25


@dataclass(frozen=True)
class Interval:
    """A value with its 95 % bootstrap interval."""

    value: float
    low: float
    high: float


@dataclass
class ScoreMetrics:
    """ROC-AUC and PR-AUC of one score on one test set."""

    roc_auc: Interval
    pr_auc: Interval
    brier: float
    base_rate: float
    n: int


def _ranked(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels in descending score order and the end of each run of tied scores."""
    order = np.argsort(-score, kind="stable")
    s, labels = score[order], y[order].astype(np.float64)
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    return order, labels, ends


def weighted_auc_ap(y: np.ndarray, score: np.ndarray, weights: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUC and average precision for each row of ``weights`` (users' weights, e.g.
    bootstrap counts), equal to scikit-learn's with ``sample_weight``.

    Parameters
    ----------
    y : array of 0/1, score : array of float
    weights : array (resamples, users)

    Returns
    -------
    auc, ap : arrays (resamples,)
    """
    order, labels, ends = _ranked(np.asarray(y), np.asarray(score, dtype=np.float64))
    w = np.atleast_2d(weights)[:, order]
    tp = np.cumsum(w * labels, axis=1)[:, ends]
    fp = np.cumsum(w * (1 - labels), axis=1)[:, ends]
    p_total, n_total = tp[:, -1:], fp[:, -1:]
    zeros = np.zeros((len(w), 1))
    d_tp, d_fp = np.diff(tp, prepend=zeros, axis=1), np.diff(fp, prepend=zeros, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Each negative counts the positives ranked above it, ties as half.
        auc = (d_fp * (tp - d_tp) + 0.5 * d_fp * d_tp).sum(axis=1) / (p_total * n_total)[:, 0]
        precision = tp / (tp + fp)
        ap = (d_tp * precision).sum(axis=1) / p_total[:, 0]
    return auc, ap


def score_metrics(y: np.ndarray, score: np.ndarray, seed: int = 0,
                  resamples: int = BOOTSTRAP) -> ScoreMetrics:
    """ROC-AUC and PR-AUC with 95 % percentile bootstrap intervals, and the Brier score."""
    y, score = np.asarray(y), np.asarray(score, dtype=np.float64)
    auc, ap = weighted_auc_ap(y, score, np.ones((1, len(y))))
    rng = np.random.default_rng(seed)
    boot_auc, boot_ap = [], []
    for start in range(0, resamples, _BLOCK):
        size = min(_BLOCK, resamples - start)
        counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=size)
        a, p = weighted_auc_ap(y, score, counts.astype(np.float64))
        boot_auc.append(a)
        boot_ap.append(p)
    boot_auc, boot_ap = np.concatenate(boot_auc), np.concatenate(boot_ap)

    def interval(value: float, boot: np.ndarray) -> Interval:
        boot = boot[np.isfinite(boot)]
        if len(boot) == 0:
            return Interval(value, float("nan"), float("nan"))
        low, high = np.percentile(boot, [2.5, 97.5])
        return Interval(value, float(low), float(high))

    return ScoreMetrics(interval(float(auc[0]), boot_auc), interval(float(ap[0]), boot_ap),
                        float(brier_score_loss(y, score)), float(y.mean()), len(y))


@dataclass(frozen=True)
class AtThreshold:
    """The decision ``score >= threshold`` against the truth."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    @property
    def flagged_share(self) -> float:
        total = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.fp) / total if total else float("nan")


def at_threshold(y: np.ndarray, score: np.ndarray, threshold: float) -> AtThreshold:
    """The confusion matrix of flagging users whose score is at least ``threshold``."""
    y = np.asarray(y).astype(bool)
    flag = np.asarray(score) >= threshold
    return AtThreshold(float(threshold), int((flag & y).sum()), int((flag & ~y).sum()),
                       int((~flag & y).sum()), int((~flag & ~y).sum()))


def share_threshold(score: np.ndarray, share: float) -> float:
    """The score above which the top ``share`` of users lie: the default threshold
    flags as many users as were positive at the training cutoff (it uses no test
    label, and unlike an F1-best threshold on training scores it is not thrown off by
    a model that fits its training users too closely)."""
    score = np.asarray(score, dtype=np.float64)
    if len(score) == 0:
        return float("nan")
    return float(np.quantile(score, min(max(1 - share, 0.0), 1.0), method="higher"))


@dataclass
class Curves:
    """Calibration and gains, ready to draw."""

    calibration: pd.DataFrame  # predicted, observed
    gains: pd.DataFrame  # targeted share, captured share, lift


def curves(y: np.ndarray, score: np.ndarray) -> Curves:
    """Calibration (equal-count bins) and the cumulative gains and lift."""
    y, score = np.asarray(y), np.asarray(score, dtype=np.float64)
    observed, predicted = calibration_curve(y, score, n_bins=CALIBRATION_BINS,
                                            strategy="quantile")
    _, labels, _ = _ranked(y, score)
    captured = np.cumsum(labels) / max(labels.sum(), 1)
    targeted = np.arange(1, len(y) + 1) / len(y)
    steps = np.unique(np.clip(np.ceil(np.linspace(0, 1, 101)[1:] * len(y)).astype(int) - 1,
                              0, len(y) - 1))
    gains = pd.DataFrame({"targeted": targeted[steps], "captured": captured[steps]})
    gains["lift"] = gains["captured"] / gains["targeted"]
    return Curves(pd.DataFrame({"predicted": predicted, "observed": observed}), gains)


def lift_at(y: np.ndarray, score: np.ndarray, share: float) -> float:
    """The lift of the top ``share`` of users by score (1 = no better than random)."""
    y, score = np.asarray(y), np.asarray(score, dtype=np.float64)
    n_top = max(1, int(np.ceil(share * len(y))))
    top = np.argsort(-score, kind="stable")[:n_top]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


@dataclass
class GroupMetrics:
    """The metrics per persona (or any grouping), one row each."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def per_group(y: pd.Series, score: pd.Series, groups: pd.Series, threshold: float,
              min_users: int = 30) -> GroupMetrics:
    """Users, base rate, mean score, ROC-AUC, PR-AUC and the metrics at ``threshold`` for
    each group; AUCs are missing for a group with fewer than ``min_users`` users or one
    class only."""
    frame = pd.DataFrame({"y": y, "score": score}).join(groups.rename("group"), how="inner")
    rows, notes = [], []
    for name, part in frame.groupby("group", sort=True, observed=True):
        at = at_threshold(part["y"].to_numpy(), part["score"].to_numpy(), threshold)
        row = {"group": name, "users": len(part), "base_rate": part["y"].mean(),
               "mean_score": part["score"].mean(), "roc_auc": np.nan, "pr_auc": np.nan,
               "precision": at.precision, "recall": at.recall,
               "flagged_share": at.flagged_share}
        if len(part) >= min_users and part["y"].nunique() == 2:
            auc, ap = weighted_auc_ap(part["y"].to_numpy(), part["score"].to_numpy(),
                                      np.ones((1, len(part))))
            row["roc_auc"], row["pr_auc"] = float(auc[0]), float(ap[0])
        else:
            notes.append(f"{name}: AUCs not shown ({len(part)} users"
                         f"{', one class only' if part['y'].nunique() < 2 else ''}).")
        rows.append(row)
    return GroupMetrics(pd.DataFrame(rows), notes)
