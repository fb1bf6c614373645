"""Prediction: who will churn or convert, from the event log, evaluated on a time split.

- :mod:`core.predict.labels`: labels after a cutoff and the events before it (no leakage);
- :mod:`core.predict.models`: the recency baseline, logistic regression and gradient
  boosting behind one API, saved as JSON (boosting as skops, which holds no code);
- :mod:`core.predict.evaluate`: ROC-AUC and PR-AUC with bootstrap intervals, metrics at a
  threshold, calibration, gains and lift, metrics per group;
- :mod:`core.predict.explain`: coefficients, permutation importance, per-user reasons;
- :mod:`core.predict.propensity`: fit, test and score, the result dataclass;
- :mod:`core.predict.sql`: the logistic model as SQL;
- :mod:`core.predict.charts`: the evaluation's charts.
"""

from core.predict.labels import TARGETS, LabelSpec, check_window, events_before, label_users
from core.predict.models import MODELS, Model, model_from_json
from core.predict.propensity import (
    BANDS,
    PREDICTION_COLUMNS,
    SCORE_COLUMNS,
    PropensityConfig,
    PropensityResult,
    evaluate_propensity,
    fit_final,
    population_now,
    score_users,
)
from core.predict.sql import model_sql

__all__ = [
    "BANDS",
    "MODELS",
    "PREDICTION_COLUMNS",
    "SCORE_COLUMNS",
    "TARGETS",
    "LabelSpec",
    "Model",
    "PropensityConfig",
    "PropensityResult",
    "check_window",
    "evaluate_propensity",
    "events_before",
    "fit_final",
    "label_users",
    "model_from_json",
    "model_sql",
    "population_now",
    "score_users",
]
