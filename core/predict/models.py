"""The propensity models: a recency baseline, a regularised logistic regression and
gradient boosting, behind one small API (``predict``, ``contributions``, ``to_json``).

The logistic models keep their whole preprocessing in plain numbers (which columns are
log-transformed, the medians that fill missing values, the means and scales), so that
the same score comes from Python, from the saved JSON and from SQL
(:mod:`core.predict.sql`). Gradient boosting is scikit-learn's
``HistGradientBoostingClassifier``, saved with skops (a format that holds no code) and
loaded trusting only the tree type it needs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController

from core.common.errors import ConfigError, DataError

#: The feature the baseline uses: how long since the user's last event.
RECENCY = "days_since_last_event"
#: A non-negative column this skewed is modelled as log(1 + x).
SKEW_TO_LOG = 1.0
#: Threads (OpenMP and BLAS) for fitting and scoring. One: with other work on a 2-core
#: machine (the app, a browser), more threads spin-wait; a 1-second boosting fit took
#: 23 s and a logistic fit was 4× slower.
THREADS = 1
_THREADPOOLS = ThreadpoolController()  # finds the thread pools once (7 ms each time)
#: The only type a saved boosting model may contain beyond scikit-learn's defaults.
_TRUSTED = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


@dataclass(frozen=True)
class ModelInfo:
    """What a model is, for the page, the report and the command line."""

    key: str
    name: str
    description: str
    #: Whether the fitted model can be written as one SQL expression.
    sql: bool


MODELS = {
    "recency": ModelInfo("recency", "Recency alone (baseline)",
                         "Logistic regression on days since the last event only: what "
                         "'long time no see' already tells.", sql=True),
    "logistic": ModelInfo("logistic", "Logistic regression",
                          "L2-regularised (C = 1) on standardised features; skewed counts "
                          "as log(1 + x); missing values filled with the training median.",
                          sql=True),
    "boosting": ModelInfo("boosting", "Gradient boosting",
                          "scikit-learn HistGradientBoosting (200 trees at most, learning "
                          "rate 0.1, early stopping on 10 % of the users above 10,000); "
                          "missing values handled by the trees.", sql=False),
}


def _matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DataError(f"The model needs feature(s) this table does not have: "
                        f"{', '.join(missing)}. Compute the same features first.")
    return frame[features].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64, copy=True)


@dataclass
class LogisticModel:
    """A fitted logistic regression with its preprocessing as numbers."""

    key: str
    features: list[str]
    logged: list[str]
    medians: list[float]
    means: list[float]
    scales: list[float]
    coef: list[float]
    intercept: float

    def standardised(self, frame: pd.DataFrame) -> np.ndarray:
        """The matrix the coefficients apply to (log, fill, standardise)."""
        return self._standardise(_matrix(frame, self.features))

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        for j, name in enumerate(self.features):
            if name in self.logged:
                x[:, j] = np.log1p(np.clip(x[:, j], 0, None))
        x = np.where(np.isnan(x), np.asarray(self.medians), x)
        return (x - np.asarray(self.means)) / np.asarray(self.scales)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each feature's push on each user's log-odds (coefficient × standardised
        value), users as rows."""
        z = self.standardised(frame) * np.asarray(self.coef)
        return pd.DataFrame(z, index=frame.index, columns=self.features)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The probability of the positive class for each row."""
        return self.predict_matrix(_matrix(frame, self.features))

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """:meth:`predict` on the raw feature matrix (columns in :attr:`features` order)."""
        logit = self.intercept + self._standardise(x.copy()) @ np.asarray(self.coef)
        return 1.0 / (1.0 + np.exp(-logit))

    def to_json(self) -> dict[str, Any]:
        return {"type": "logistic", "key": self.key, "features": self.features,
                "logged": self.logged, "medians": self.medians, "means": self.means,
                "scales": self.scales, "coef": self.coef, "intercept": self.intercept}


def fit_logistic(x: pd.DataFrame, y: np.ndarray, key: str = "logistic",
                 c: float = 1.0) -> LogisticModel:
    """Fit a logistic regression on ``x``'s columns (see :data:`MODELS`)."""
    features = list(x.columns)
    raw = _matrix(x, features)
    logged = [f for j, f in enumerate(features) if _skewed(raw[:, j])]
    for j, name in enumerate(features):
        if name in logged:
            raw[:, j] = np.log1p(raw[:, j])
    medians = np.nan_to_num(np.nanmedian(raw, axis=0)) if len(raw) else np.zeros(len(features))
    filled = np.where(np.isnan(raw), medians, raw)
    means, scales = filled.mean(axis=0), filled.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    z = (filled - means) / scales
    with _THREADPOOLS.limit(limits=THREADS):
        fit = LogisticRegression(C=c, max_iter=2000).fit(z, y)
    return LogisticModel(key, features, logged, medians.tolist(), means.tolist(),
                         scales.tolist(), fit.coef_[0].tolist(), float(fit.intercept_[0]))


def _skewed(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    if len(present) < 3 or present.min() < 0 or present.std() == 0:
        return False
    skew = float(((present - present.mean()) ** 3).mean() / present.std() ** 3)
    return skew > SKEW_TO_LOG


@dataclass
class BoostingModel:
    """A fitted HistGradientBoostingClassifier and the medians its explanations use."""

    features: list[str]
    estimator: HistGradientBoostingClassifier
    medians: list[float] = field(default_factory=list)
    key: str = "boosting"

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_matrix(_matrix(frame, self.features))

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        return self._proba(x)

    def _proba(self, x: np.ndarray) -> np.ndarray:
        with _THREADPOOLS.limit(limits=THREADS):
            return self.estimator.predict_proba(x)[:, 1]

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each feature's push on each user's log-odds: the change when that one
        feature is set to the training median (a one-at-a-time explanation)."""
        x = _matrix(frame, self.features)
        base = _logit(self._proba(x))
        out = np.empty_like(x)
        for j, median in enumerate(self.medians):
            moved = x.copy()
            moved[:, j] = median
            out[:, j] = base - _logit(self._proba(moved))
        return pd.DataFrame(out, index=frame.index, columns=self.features)

    def to_json(self) -> dict[str, Any]:
        import skops.io as sio

        return {"type": "boosting", "key": self.key, "features": self.features,
                "medians": self.medians,
                "skops": base64.b64encode(sio.dumps(self.estimator)).decode("ascii")}


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def fit_boosting(x: pd.DataFrame, y: np.ndarray, seed: int = 0) -> BoostingModel:
    """Fit gradient boosting on ``x``'s columns (see :data:`MODELS`)."""
    features = list(x.columns)
    raw = _matrix(x, features)
    estimator = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, l2_regularization=1.0, random_state=seed,
        early_stopping="auto")
    with _THREADPOOLS.limit(limits=THREADS):
        estimator.fit(raw, y)
    medians = np.nan_to_num(np.nanmedian(raw, axis=0)) if len(raw) else np.zeros(len(features))
    return BoostingModel(features, estimator, medians.tolist())


Model = LogisticModel | BoostingModel


def fit_model(key: str, x: pd.DataFrame, y: np.ndarray, seed: int = 0) -> Model:
    """Fit the model ``key`` of :data:`MODELS` (the baseline uses :data:`RECENCY` only)."""
    if key == "recency":
        if RECENCY not in x.columns:
            raise ConfigError(f"The recency baseline needs '{RECENCY}', which this feature "
                              "table does not have.")
        return fit_logistic(x[[RECENCY]], y, key="recency")
    if key == "logistic":
        return fit_logistic(x, y)
    if key == "boosting":
        return fit_boosting(x, y, seed)
    raise ConfigError(f"Unknown model '{key}'; use one of {', '.join(MODELS)}.")


def model_from_json(data: dict[str, Any]) -> Model:
    """Rebuild a saved model.

    Raises
    ------
    DataError
        The saved model is damaged or of an unknown type.
    """
    try:
        kind = data["type"]
        if kind == "logistic":
            return LogisticModel(
                str(data["key"]), [str(f) for f in data["features"]],
                [str(f) for f in data["logged"]], *[[float(v) for v in data[k]] for k in
                                                     ("medians", "means", "scales", "coef")],
                float(data["intercept"]))
        if kind == "boosting":
            import skops.io as sio

            blob = base64.b64decode(data["skops"])
            untrusted = sio.get_untrusted_types(data=blob)
            if set(untrusted) - set(_TRUSTED):
                raise DataError("The saved boosting model holds types that are not "
                                f"trusted ({', '.join(untrusted)}); fit it again.")
            estimator = sio.loads(blob, trusted=untrusted)
            if not isinstance(estimator, HistGradientBoostingClassifier):
                raise DataError("The saved model is not a gradient boosting model; fit it "
                                "again.")
            return BoostingModel([str(f) for f in data["features"]], estimator,
                                 [float(v) for v in data["medians"]])
    except DataError:
        raise
    except Exception as exc:  # a damaged file can fail in many ways inside skops
        raise DataError(f"The saved model is damaged ({exc}); fit it again.") from exc
    raise DataError(f"Unknown saved model type '{kind}'; fit it again.")
