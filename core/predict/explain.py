"""Why a model scores as it does: for everyone (coefficients, permutation importance)
and for one user (the features that push that user's score, in words)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from core.predict.models import LogisticModel, Model

#: Test users the permutation importance is measured on (a sample above this).
IMPORTANCE_USERS = 5_000
IMPORTANCE_REPEATS = 5


def readable(feature: str) -> str:
    """``days_since_last_event`` -> 'days since last event'."""
    return feature.replace("_", " ").removesuffix(" s").strip()


def coefficients(model: LogisticModel) -> pd.DataFrame:
    """The logistic model's coefficients per standard deviation of each (possibly
    log-transformed) feature, largest effect first."""
    table = pd.DataFrame({"feature": model.features, "coefficient": model.coef,
                          "transform": ["log(1 + x)" if f in model.logged else "x"
                                        for f in model.features]})
    table["odds_ratio_per_sd"] = np.exp(table["coefficient"])
    return table.reindex(table["coefficient"].abs().sort_values(ascending=False).index) \
        .reset_index(drop=True)


class _Scorer:
    """The minimal estimator scikit-learn's permutation importance calls."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> _Scorer:  # pragma: no cover
        return self


def permutation_table(model: Model, x: pd.DataFrame, y: np.ndarray,
                      seed: int = 0) -> pd.DataFrame:
    """The drop in test ROC-AUC when each feature's values are shuffled (mean and
    standard deviation over :data:`IMPORTANCE_REPEATS` shuffles, on at most
    :data:`IMPORTANCE_USERS` test users), largest first."""
    x = x[model.features]
    if len(x) > IMPORTANCE_USERS:
        pick = np.random.default_rng(seed).choice(len(x), IMPORTANCE_USERS, replace=False)
        x, y = x.iloc[np.sort(pick)], np.asarray(y)[np.sort(pick)]

    def auc(scorer: _Scorer, xs: pd.DataFrame, ys: np.ndarray) -> float:
        return roc_auc_score(ys, scorer.model.predict(xs))

    result = permutation_importance(_Scorer(model), x, y, scoring=auc,
                                    n_repeats=IMPORTANCE_REPEATS, random_state=seed)
    table = pd.DataFrame({"feature": model.features, "auc_drop": result.importances_mean,
                          "auc_drop_sd": result.importances_std})
    return table.sort_values("auc_drop", ascending=False).reset_index(drop=True)


@dataclass(frozen=True)
class Reason:
    """One feature's push on one user's score."""

    feature: str
    value: float
    typical: float
    push: float  # on the log-odds; > 0 raises the score

    def sentence(self, outcome: str) -> str:
        """E.g. 'days since last event 41 (typical 6) raises the churn risk'."""
        verb = "raises" if self.push > 0 else "lowers"
        return (f"{readable(self.feature)} {_fmt(self.value)} (typical {_fmt(self.typical)}) "
                f"{verb} the {outcome}")


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "missing"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"


def user_reasons(model: Model, row: pd.DataFrame, typical: pd.Series,
                 top: int = 3) -> list[Reason]:
    """The ``top`` features that push one user's score most, up or down.

    Parameters
    ----------
    model : fitted model
    row : DataFrame
        The user's features (one row).
    typical : Series
        A typical value per feature (the median of everyone scored), for the words.
    """
    push = model.contributions(row).iloc[0]
    order = push.abs().sort_values(ascending=False).index[:top]
    values = row.iloc[0]
    return [Reason(str(f), float(pd.to_numeric(values[f], errors="coerce")),
                   float(typical.get(f, np.nan)), float(push[f]))
            for f in order if abs(push[f]) > 1e-9]
