"""Fit, test and apply a churn or conversion model, honestly.

1. Labels at two cutoffs one horizon apart (:mod:`core.predict.labels`); features at
   each cutoff from the events before it only.
2. Every model learns at the earlier cutoff and is tested at the later one (a time
   split: the test users' futures were unknown when the model learned).
3. The model used for scores learns again at the later cutoff (the latest labels the
   data has) and scores every user on the features of the whole log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.common.notices import Notice
from core.common.progress import Progress, scaled
from core.features.table import FeatureConfig, informative, user_features
from core.predict.evaluate import (
    AtThreshold,
    Curves,
    GroupMetrics,
    ScoreMetrics,
    at_threshold,
    curves,
    lift_at,
    per_group,
    score_metrics,
    share_threshold,
)
from core.predict.explain import coefficients, permutation_table
from core.predict.labels import LabelSpec, check_balance, check_window, events_before, label_users
from core.predict.models import MODELS, RECENCY, Model, fit_model

#: The score and band columns each target adds to the feature table.
SCORE_COLUMNS = {"churn": ("churn_risk", "churn_risk_band"),
                 "conversion": ("conversion_propensity", "conversion_band")}
PREDICTION_COLUMNS = frozenset(c for pair in SCORE_COLUMNS.values() for c in pair)
BANDS = ("high", "medium", "low")


@dataclass(frozen=True)
class PropensityConfig:
    """What to predict, with which models and features."""

    labels: LabelSpec
    models: tuple[str, ...] = ("recency", "logistic", "boosting")
    #: Features the models use; empty: every informative numeric feature.
    features: tuple[str, ...] = ()
    seed: int = 0

    def to_dict(self) -> dict:
        return {"labels": self.labels.to_dict(), "models": list(self.models),
                "features": list(self.features), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict) -> PropensityConfig:
        return cls(LabelSpec.from_dict(data["labels"]), tuple(data.get("models", ())),
                   tuple(data.get("features", ())), int(data.get("seed", 0)))


@dataclass
class ModelEvaluation:
    """One model on the test cutoff."""

    key: str
    model: Model
    metrics: ScoreMetrics
    #: The default threshold: flags the share of users that was positive at the
    #: training cutoff (see :func:`share_threshold`).
    threshold: float
    at: AtThreshold
    curves: Curves
    lift_top10: float
    scores: pd.Series  # test users' scores

    @property
    def name(self) -> str:
        return MODELS[self.key].name


@dataclass
class PropensityResult:
    """The evaluation of every model, with what the page and report show."""

    config: PropensityConfig
    features: list[str]
    train_labels: pd.Series
    test_labels: pd.Series
    test_features: pd.DataFrame
    evaluations: dict[str, ModelEvaluation]
    best: str
    importance: pd.DataFrame
    coefficients: pd.DataFrame | None
    notices: list[Notice] = field(default_factory=list)

    def metrics_table(self) -> pd.DataFrame:
        """One row per model: ROC-AUC and PR-AUC with intervals, Brier, lift."""
        rows = []
        for key, ev in self.evaluations.items():
            m = ev.metrics
            rows.append({"model": ev.name, "key": key, "roc_auc": m.roc_auc.value,
                         "roc_auc_low": m.roc_auc.low, "roc_auc_high": m.roc_auc.high,
                         "pr_auc": m.pr_auc.value, "pr_auc_low": m.pr_auc.low,
                         "pr_auc_high": m.pr_auc.high, "brier": m.brier,
                         "lift_top10": ev.lift_top10, "threshold": ev.threshold,
                         "precision": ev.at.precision, "recall": ev.at.recall, "f1": ev.at.f1})
        return pd.DataFrame(rows)

    def by_group(self, groups: pd.Series, key: str | None = None,
                 threshold: float | None = None) -> GroupMetrics:
        """The metrics of model ``key`` (the best by default) per group of test users."""
        ev = self.evaluations[key or self.best]
        return per_group(self.test_labels, ev.scores, groups,
                         ev.threshold if threshold is None else threshold)


def features_at(events: pd.DataFrame, cutoff: pd.Timestamp,
                config: FeatureConfig) -> pd.DataFrame:
    """The feature table from the events before ``cutoff`` only."""
    return user_features(events_before(events, cutoff), config).frame


def model_features(table: pd.DataFrame, chosen: tuple[str, ...]) -> list[str]:
    """The features the models use: the chosen ones, or every informative numeric
    column (never a score of another model), each once: a column equal to an earlier
    one (``count_purchase`` and ``purchases``) would split its coefficient in two."""
    if chosen:
        missing = [f for f in chosen if f not in table.columns]
        if missing:
            raise ConfigError(f"Feature(s) not in the table at the cutoff: {', '.join(missing)}.")
        return list(chosen)
    candidates = [c for c in table.columns
                  if c not in PREDICTION_COLUMNS and informative(table[c])]
    return [c for c in candidates if c not in duplicate_columns(table[candidates])]


def duplicate_columns(table: pd.DataFrame) -> dict[str, str]:
    """Each column equal to an earlier one (values and missing places), with that one."""
    seen: dict[int, str] = {}
    duplicates = {}
    for column in table.columns:
        key = int(pd.util.hash_pandas_object(table[column], index=False).sum())
        first = seen.get(key)
        if first is not None and table[column].equals(table[first]):
            duplicates[column] = first
        else:
            seen.setdefault(key, column)
    return duplicates


def evaluate_propensity(events: pd.DataFrame, feature_config: FeatureConfig,
                        config: PropensityConfig, progress: Progress | None = None
                        ) -> PropensityResult:
    """Fit every model at the training cutoff and test it at the test cutoff.

    Raises
    ------
    ConfigError
        A window the data cannot label (see :func:`check_window`) or unknown features.
    DataError
        Too few users of either class at either cutoff.
    """
    spec = config.labels
    check_window(spec, events)
    report = progress or (lambda f, m: None)
    train_y = label_users(events, spec, spec.train_cutoff_ts)
    test_y = label_users(events, spec, spec.cutoff_ts)
    check_balance(train_y, "training")
    check_balance(test_y, "test")
    report(0.05, "Features at the training cutoff")
    train_table = features_at(events, spec.train_cutoff_ts, feature_config).loc[train_y.index]
    report(0.3, "Features at the test cutoff")
    test_table = features_at(events, spec.cutoff_ts, feature_config).loc[test_y.index]
    return evaluate_tables(config, train_table, train_y, test_table, test_y,
                           scaled(report, 0.55, 1.0))


def evaluate_tables(config: PropensityConfig, train_table: pd.DataFrame,
                    train_y: pd.Series, test_table: pd.DataFrame, test_y: pd.Series,
                    progress: Progress | None = None) -> PropensityResult:
    """The models' part of :func:`evaluate_propensity`, on feature tables at the two
    cutoffs (rows: the labelled users)."""
    report = progress or (lambda f, m: None)
    features = model_features(train_table, config.features)
    same = {c: f for c, f in duplicate_columns(train_table).items() if f in features}
    evaluations = {}
    for i, key in enumerate(config.models):
        report(0.8 * i / len(config.models), f"Fitting {MODELS[key].name}")
        evaluations[key] = _evaluate(key, train_table[features], train_y, test_table[features],
                                     test_y, config.seed)
    candidates = [k for k in evaluations if k != "recency"] or list(evaluations)
    best = max(candidates, key=lambda k: evaluations[k].metrics.roc_auc.value)
    report(0.8, "Permutation importance")
    importance = permutation_table(evaluations[best].model, test_table[features],
                                   test_y.to_numpy(), config.seed)
    logistic = evaluations.get("logistic")
    coef = coefficients(logistic.model) if logistic else None
    report(1.0, "Done")
    notices = _notices(config.labels, train_y, test_y, evaluations, best)
    if same and not config.features:
        notices.append(Notice("duplicate_features", "Left out as copies of another feature: "
                              + ", ".join(f"{c} (= {f})" for c, f in same.items()) + ".",
                              "info"))
    return PropensityResult(config, features, train_y, test_y, test_table[features],
                            evaluations, best, importance, coef, notices)


def _evaluate(key: str, x_train: pd.DataFrame, y_train: pd.Series, x_test: pd.DataFrame,
              y_test: pd.Series, seed: int) -> ModelEvaluation:
    model = fit_model(key, x_train, y_train.to_numpy(), seed)
    scores = model.predict(x_test)
    threshold = share_threshold(scores, float(y_train.mean()))
    y = y_test.to_numpy()
    return ModelEvaluation(key, model, score_metrics(y, scores, seed), threshold,
                           at_threshold(y, scores, threshold), curves(y, scores),
                           lift_at(y, scores, 0.10), pd.Series(scores, index=y_test.index))


def _notices(spec: LabelSpec, train_y: pd.Series, test_y: pd.Series,
             evaluations: dict[str, ModelEvaluation], best: str) -> list[Notice]:
    out = [Notice("time_split", f"Models learn from users at {spec.train_cutoff_ts:%Y-%m-%d}"
                  f" ({len(train_y):,} users, {train_y.mean():.1%} positive) and are tested "
                  f"on users at {spec.cutoff_ts:%Y-%m-%d} ({len(test_y):,} users, "
                  f"{test_y.mean():.1%} positive), each on features from before its "
                  "cutoff only.", "info")]
    base = evaluations.get("recency")
    if base is not None and best != "recency":
        gain = evaluations[best].metrics.roc_auc.value - base.metrics.roc_auc.value
        if gain < 0.01:
            out.append(Notice("no_better_than_recency",
                              f"{evaluations[best].name} is no better than recency alone "
                              f"(ROC-AUC {gain:+.3f}): the other features add little here.",
                              "warning"))
    return out


def fit_final(result: PropensityResult, key: str) -> tuple[Model, float]:
    """The model that scores users: ``key`` fitted at the test cutoff (the latest labels
    the data has, on the evaluation's own test users and features), and the share of
    users positive there."""
    y = result.test_labels
    x = result.test_features[[RECENCY]] if key == "recency" else result.test_features
    return fit_model(key, x, y.to_numpy(), result.config.seed), float(y.mean())


def score_users(model: Model, features: pd.DataFrame, target: str, base_rate: float,
                threshold: float | None = None, eligible: pd.Index | None = None
                ) -> pd.DataFrame:
    """Each user's score and band: high at or above ``threshold`` (by default the
    score that flags the ``base_rate`` share of users), medium at or above the base
    rate, low below it. Users not in ``eligible`` (for churn: already silent longer
    than the model's population allows) get no score and the band 'lapsed'."""
    score_col, band_col = SCORE_COLUMNS[target]
    scores = pd.Series(model.predict(features), index=features.index)
    if threshold is None:
        inside = scores if eligible is None else scores[scores.index.isin(eligible)]
        threshold = share_threshold(inside.to_numpy(), base_rate)
    band = pd.Series(np.select([scores >= threshold, scores >= base_rate],
                               ["high", "medium"], "low"), index=features.index)
    if eligible is not None:
        outside = ~features.index.isin(eligible)
        scores[outside] = np.nan
        band[outside] = "lapsed"
    return pd.DataFrame({score_col: scores, band_col: band}, index=features.index)


def population_now(events: pd.DataFrame, spec: LabelSpec) -> pd.Index | None:
    """The users a model applies to at the data's end (None: everyone)."""
    if not spec.active_within_days:
        return None
    last = events["ts"].max()
    recent = events["ts"] >= last - pd.Timedelta(days=spec.active_within_days)
    return pd.Index(events.loc[recent, "user_id"].astype(str).unique())

