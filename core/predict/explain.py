"""Why a model scores as it does: for everyone (coefficients, permutation importance)
and for one user (the features that push that user's score, in words)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from core.common.style import short_number
from core.predict.evaluate import weighted_auc_ap
from core.predict.models import LogisticModel, Model

#: Test users the permutation importance is measured on (a sample above this).
IMPORTANCE_USERS = 2_000
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


def permutation_table(model: Model, x: pd.DataFrame, y: np.ndarray, seed: int = 0,
                      repeats: int = IMPORTANCE_REPEATS) -> pd.DataFrame:
    """The drop in test ROC-AUC when each feature's values are shuffled (mean and
    standard deviation over :data:`IMPORTANCE_REPEATS` shuffles, on at most
    :data:`IMPORTANCE_USERS` test users), largest first.

    The permutation importance of Breiman (2001) as scikit-learn's
    ``permutation_importance`` computes it, written on the model's matrix directly:
    the five shuffled copies of a column are scored in one call, which makes it several
    times faster here.
    """
    rng = np.random.default_rng(seed)
    matrix = x[model.features].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    y = np.asarray(y)
    if len(matrix) > IMPORTANCE_USERS:
        pick = np.sort(rng.choice(len(matrix), IMPORTANCE_USERS, replace=False))
        matrix, y = matrix[pick], y[pick]
    n = len(matrix)
    base = roc_auc_score(y, model.predict_matrix(matrix))
    weights = np.kron(np.eye(repeats), np.ones(n))
    drops = np.empty((len(model.features), repeats))
    for j in range(len(model.features)):
        stacked = np.tile(matrix, (repeats, 1))
        for r in range(repeats):
            stacked[r * n:(r + 1) * n, j] = matrix[rng.permutation(n), j]
        scores = model.predict_matrix(stacked)
        auc, _ = weighted_auc_ap(np.tile(y, repeats), scores, weights)
        drops[j] = base - auc
    table = pd.DataFrame({"feature": model.features, "auc_drop": drops.mean(axis=1),
                          "auc_drop_sd": drops.std(axis=1)})
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
        value = short_number(self.value, "missing")
        typical = short_number(self.typical, "missing")
        return f"{readable(self.feature)} {value} (typical {typical}) {verb} the {outcome}"


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
