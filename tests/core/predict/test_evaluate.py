"""The evaluation against scikit-learn: ROC-AUC and average precision (weighted, with
ties), the bootstrap against a plain resampling loop, the confusion matrix and its
rates, gains and lift by hand, and the per-group table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from core.predict.evaluate import (
    at_threshold,
    curves,
    lift_at,
    per_group,
    score_metrics,
    share_threshold,
    weighted_auc_ap,
)


@pytest.fixture
def scored():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 700)
    # Rounded scores: many ties, which the two areas must count as scikit-learn does.
    score = np.clip(np.round(rng.normal(0.4 + 0.2 * y, 0.2), 1), 0, 1)
    return y, score


def test_areas_equal_scikit_learn_with_weights_and_ties(scored):
    y, score = scored
    weights = np.random.default_rng(4).integers(0, 4, (5, len(y))).astype(float)
    auc, ap = weighted_auc_ap(y, score, weights)
    for i, w in enumerate(weights):
        assert auc[i] == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)
        assert ap[i] == pytest.approx(average_precision_score(y, score, sample_weight=w),
                                      abs=1e-12)


def test_bootstrap_equals_resampling_users(scored):
    y, score = scored
    metrics = score_metrics(y, score, seed=7, resamples=50)
    rng = np.random.default_rng(7)
    aucs = []
    for _ in range(2):  # the first block of 25 resamples, drawn the same way
        counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=25)
        for c in counts:
            picked = np.repeat(np.arange(len(y)), c)
            aucs.append(roc_auc_score(y[picked], score[picked]))
    low, high = np.percentile(aucs, [2.5, 97.5])
    assert metrics.roc_auc.value == pytest.approx(roc_auc_score(y, score))
    assert (metrics.roc_auc.low, metrics.roc_auc.high) == pytest.approx((low, high))
    assert metrics.roc_auc.low < metrics.roc_auc.value < metrics.roc_auc.high
    assert metrics.brier == pytest.approx(brier_score_loss(y, score))


def test_threshold_metrics_equal_scikit_learn(scored):
    y, score = scored
    at = at_threshold(y, score, 0.5)
    flag = (score >= 0.5).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, flag).ravel()
    assert (at.tp, at.fp, at.fn, at.tn) == (tp, fp, fn, tn)
    assert at.precision == pytest.approx(precision_score(y, flag))
    assert at.recall == pytest.approx(recall_score(y, flag))
    assert at.f1 == pytest.approx(f1_score(y, flag))
    assert at.flagged_share == pytest.approx(flag.mean())


def test_share_threshold_flags_that_share():
    score = np.arange(100) / 100
    assert (score >= share_threshold(score, 0.2)).sum() == 20


def test_gains_and_lift_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    gains = curves(y, score).gains
    # Top 30 % (3 users: 1, 0, 1) hold 2 of the 3 positives.
    row = gains[np.isclose(gains["targeted"], 0.3)].iloc[0]
    assert row["captured"] == pytest.approx(2 / 3)
    assert row["lift"] == pytest.approx((2 / 3) / 0.3)
    assert gains["captured"].iloc[-1] == pytest.approx(1.0)
    assert lift_at(y, score, 0.2) == pytest.approx((1 / 2) / 0.3)
    observed, predicted = calibration_curve(y, score, n_bins=10, strategy="quantile")
    cal = curves(y, score).calibration
    np.testing.assert_allclose(cal["observed"], observed)
    np.testing.assert_allclose(cal["predicted"], predicted)


def test_per_group_matches_each_group_alone(scored):
    y, score = scored
    index = pd.Index([f"u{i}" for i in range(len(y))])
    groups = pd.Series(np.where(np.arange(len(y)) % 3 == 0, "A", "B"), index=index)
    groups.iloc[:5] = "tiny"
    table = per_group(pd.Series(y, index), pd.Series(score, index), groups, 0.5).table
    for name, part in groups.groupby(groups):
        row = table.set_index("group").loc[name]
        pick = index.get_indexer(part.index)
        assert row["users"] == len(part)
        assert row["base_rate"] == pytest.approx(y[pick].mean())
        if name == "tiny":
            assert np.isnan(row["roc_auc"])
        else:
            assert row["roc_auc"] == pytest.approx(roc_auc_score(y[pick], score[pick]))
            assert row["pr_auc"] == pytest.approx(average_precision_score(y[pick], score[pick]))
