"""From the feature table to the matrix that clustering and maps use.

Steps, in order: choose features, log-transform skewed counts, handle missing values
(impute the median or exclude the user), handle outliers (IQR rule or z-score; flag,
clip or exclude), scale (standard, robust or min-max) and optionally reduce with PCA.
Every user excluded and every value changed is counted in :class:`PreprocessReport`.

:class:`Preprocessor` follows scikit-learn: settings in ``__init__`` (one frozen
:class:`PreprocessConfig`), learning in :meth:`Preprocessor.fit`, learned attributes end
in ``_``. Fitted parameters serialise to JSON, so new users can be scored later with
exactly the same transformation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from core.common.errors import ConfigError, DataError

OutlierMethod = Literal["none", "iqr", "zscore"]
OutlierAction = Literal["flag", "clip", "exclude"]
Scaling = Literal["standard", "robust", "minmax", "none"]
PcaMode = Literal["none", "components", "variance"]
MissingAction = Literal["impute", "exclude"]

#: A log transform is suggested above this sample skewness (a common rule of thumb for
#: long-tailed counts).
SKEW_SUGGEST_LOG = 2.0
#: Tukey's fences: 1.5 x IQR beyond the quartiles.
DEFAULT_IQR_FACTOR = 1.5
#: Three standard deviations from the mean.
DEFAULT_Z_THRESHOLD = 3.0
#: Percentile bounds used when a feature's quartiles coincide (zero-inflated counts).
PERCENTILE_FALLBACK = 0.01
#: Clustering needs at least this many users once exclusions are applied.
MIN_USERS = 2


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of the preprocessing step."""

    features: tuple[str, ...]
    log_features: tuple[str, ...] = ()
    missing: MissingAction = "impute"
    outlier_method: OutlierMethod = "iqr"
    outlier_threshold: float | None = None
    outlier_action: OutlierAction = "clip"
    scaling: Scaling = "standard"
    pca: PcaMode = "none"
    pca_components: int = 5
    pca_variance: float = 0.9
    random_state: int = 0

    @property
    def threshold(self) -> float:
        """The outlier threshold, or the method's usual default."""
        if self.outlier_threshold is not None:
            return float(self.outlier_threshold)
        return DEFAULT_Z_THRESHOLD if self.outlier_method == "zscore" else DEFAULT_IQR_FACTOR

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return data | {"features": list(self.features), "log_features": list(self.log_features)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        data = dict(data)
        for key in ("features", "log_features"):  # JSON keeps them as lists
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


@dataclass
class PreprocessReport:
    """What preprocessing did, per feature and in total."""

    users_in: int
    users_out: int
    excluded_missing: int = 0
    excluded_outliers: int = 0
    imputed: dict[str, int] = field(default_factory=dict)
    outliers: dict[str, int] = field(default_factory=dict)
    skew: dict[str, float] = field(default_factory=dict)
    suggested_log: list[str] = field(default_factory=list)
    explained_variance: list[float] = field(default_factory=list)
    percentile_bounds: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _constant(values: pd.Series) -> bool:
    """Whether a column has at most one distinct value (missing values left out):
    ``nunique() <= 1``, from its range (hashing every value cost 8 ms per column of
    100 k users, three times per preprocessing)."""
    present = values.dropna()
    return present.empty or bool(present.min() == present.max())


def _check_features(frame: pd.DataFrame, features: tuple[str, ...]) -> None:
    if not features:
        raise ConfigError("Choose at least one feature to segment on.")
    unknown = [f for f in features if f not in frame.columns]
    if unknown:
        raise ConfigError(f"Unknown feature(s): {', '.join(unknown)}. Choose from the "
                          "feature table's columns.")
    not_numeric = [f for f in features if not pd.api.types.is_numeric_dtype(frame[f])]
    if not_numeric:
        raise ConfigError(f"Feature(s) {', '.join(not_numeric)} are not numeric; leave them "
                          "out of the segmentation.")
    empty = [f for f in features if frame[f].notna().sum() == 0]
    if empty:
        raise ConfigError(f"Feature(s) {', '.join(empty)} have no values at all. Leave them "
                          "out.")
    constant = [f for f in features if _constant(frame[f])]
    if constant:
        raise ConfigError(f"Feature(s) {', '.join(constant)} have the same value for every "
                          "user, so they cannot separate anyone. Leave them out.")


def suggest_log(frame: pd.DataFrame, features: list[str] | tuple[str, ...]
                ) -> tuple[dict[str, float], list[str]]:
    """Sample skewness per feature and those worth a log transform.

    A log transform is suggested for non-negative features with skew above
    :data:`SKEW_SUGGEST_LOG`.
    """
    skew: dict[str, float] = {}
    for f in features:
        values = frame[f].dropna().astype(float)
        skew[f] = float(stats.skew(values)) if not _constant(values) else 0.0
    suggested = [f for f in features if skew[f] > SKEW_SUGGEST_LOG
                 and frame[f].dropna().min() >= 0]
    return skew, suggested


class Preprocessor:
    """Turn a feature table into a scaled (and optionally PCA-reduced) matrix.

    Parameters
    ----------
    config : PreprocessConfig

    Attributes
    ----------
    features_ : list of str
    medians_ : dict
        Median per feature (after any log transform), used to impute.
    bounds_ : dict
        ``{feature: (low, high)}`` outlier bounds (after any log transform).
    center_, scale_ : ndarray
        Scaling: ``(x - center_) / scale_``.
    pca_components_, pca_mean_ : ndarray or None
    report_ : PreprocessReport
    index_ : Index
        Users kept by :meth:`fit`.
    outlier_flags_ : Series
        True for users with an outlier in any feature (kept when the action is "flag").
    """

    def __init__(self, config: PreprocessConfig) -> None:
        self.config = config

    # fitting ------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> Preprocessor:
        """Learn the transformation from the feature table (one row per user)."""
        self.fit_transform(frame)
        return self

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Learn the transformation and return the matrix of the users kept.

        Raises
        ------
        ConfigError
            Unknown, non-numeric, empty or constant features; bad PCA settings.
        DataError
            Fewer than two users left after exclusions, or every feature constant after
            outliers were removed.
        """
        cfg = self.config
        features = list(cfg.features)
        _check_features(frame, cfg.features)
        report = PreprocessReport(users_in=len(frame), users_out=len(frame))
        report.skew, report.suggested_log = suggest_log(frame, features)
        data = self._log(frame[features].astype(float))
        data = self._missing(data, report)
        data, flags = self._outliers(data, report)
        self._check_left(data, report)
        self.features_ = features
        self.index_ = data.index
        self.outlier_flags_ = flags.reindex(data.index).fillna(False)
        matrix = self._fit_scaling(data.to_numpy())
        matrix = self._fit_pca(matrix, report)
        report.users_out = len(data)
        self.report_ = report
        return matrix

    def _log(self, data: pd.DataFrame) -> pd.DataFrame:
        for f in self.config.log_features:
            if f not in data:
                raise ConfigError(f"Log transform asked for '{f}', which is not a chosen "
                                  "feature.")
            if (data[f].dropna() < 0).any():
                raise ConfigError(f"'{f}' has negative values, so log(1 + x) does not apply. "
                                  "Leave it untransformed.")
            data[f] = np.log1p(data[f])
        return data

    def _missing(self, data: pd.DataFrame, report: PreprocessReport) -> pd.DataFrame:
        self.medians_ = {f: float(data[f].median()) for f in data.columns}
        report.imputed = {f: int(n) for f, n in data.isna().sum().items() if n}
        if self.config.missing == "exclude":
            before = len(data)
            data = data.dropna()
            report.excluded_missing = before - len(data)
            report.imputed = {}
            return data
        return data.fillna(self.medians_)

    def _outliers(self, data: pd.DataFrame, report: PreprocessReport
                  ) -> tuple[pd.DataFrame, pd.Series]:
        cfg = self.config
        self.bounds_ = {}
        flags = pd.Series(False, index=data.index)
        if cfg.outlier_method == "none":
            return data, flags
        for f in data.columns:
            values = data[f]
            if cfg.outlier_method == "iqr":
                q1, q3 = values.quantile([0.25, 0.75])
                low, high = q1 - cfg.threshold * (q3 - q1), q3 + cfg.threshold * (q3 - q1)
                if q1 == q3:
                    # Most users share one value (0 purchases, say): Tukey's fences collapse
                    # onto it and clipping would erase the feature. Fall back to the 1st
                    # and 99th percentiles.
                    low, high = values.quantile([PERCENTILE_FALLBACK, 1 - PERCENTILE_FALLBACK])
                    report.percentile_bounds.append(f)
            else:
                mean, sd = values.mean(), values.std(ddof=0)
                low, high = mean - cfg.threshold * sd, mean + cfg.threshold * sd
            self.bounds_[f] = (float(low), float(high))
            outside = (values < low) | (values > high)
            report.outliers[f] = int(outside.sum())
            flags |= outside
        if cfg.outlier_action == "clip":
            data = data.clip(lower=pd.Series({f: b[0] for f, b in self.bounds_.items()}),
                             upper=pd.Series({f: b[1] for f, b in self.bounds_.items()}),
                             axis=1)
        elif cfg.outlier_action == "exclude":
            report.excluded_outliers = int(flags.sum())
            data = data[~flags]
        return data, flags

    def _check_left(self, data: pd.DataFrame, report: PreprocessReport) -> None:
        if len(data) < MIN_USERS:
            raise DataError(
                f"Only {len(data)} of {report.users_in:,} users are left after excluding "
                f"{report.excluded_missing:,} with missing values and "
                f"{report.excluded_outliers:,} with outliers. Impute missing values, clip "
                "outliers instead of excluding them, or choose other features.")
        constant = [f for f in data.columns if _constant(data[f])]
        if len(constant) == len(data.columns):
            raise DataError(
                "Every chosen feature is constant once outliers are handled "
                f"({', '.join(constant)}). Use a larger outlier threshold, flag outliers "
                "instead, or choose other features.")

    def _fit_scaling(self, matrix: np.ndarray) -> np.ndarray:
        kind = self.config.scaling
        if kind == "none":
            self.center_ = np.zeros(matrix.shape[1])
            self.scale_ = np.ones(matrix.shape[1])
        else:
            scaler = {"standard": StandardScaler(), "robust": RobustScaler(),
                      "minmax": MinMaxScaler()}[kind].fit(matrix)
            if kind == "standard":
                self.center_, self.scale_ = scaler.mean_, scaler.scale_
            elif kind == "robust":
                self.center_, self.scale_ = scaler.center_, scaler.scale_
            else:
                self.center_, self.scale_ = scaler.data_min_, scaler.data_range_
            # A feature constant after clipping has scale 0: leave it at 0, not NaN.
            self.scale_ = np.where(self.scale_ == 0, 1.0, self.scale_)
        return (matrix - self.center_) / self.scale_

    def _fit_pca(self, matrix: np.ndarray, report: PreprocessReport) -> np.ndarray:
        cfg = self.config
        self.pca_components_ = self.pca_mean_ = None
        if cfg.pca == "none":
            return matrix
        full = PCA(random_state=cfg.random_state).fit(matrix)
        report.explained_variance = [float(v) for v in full.explained_variance_ratio_]
        if cfg.pca == "components":
            if not 1 <= cfg.pca_components <= matrix.shape[1]:
                raise ConfigError(f"PCA components must be between 1 and the number of "
                                  f"features ({matrix.shape[1]}), not {cfg.pca_components}.")
            n = cfg.pca_components
        else:
            if not 0 < cfg.pca_variance <= 1:
                raise ConfigError("The share of variance to keep must be above 0 and at "
                                  "most 1 (e.g. 0.9).")
            cumulative = np.cumsum(full.explained_variance_ratio_)
            n = int(np.searchsorted(cumulative, cfg.pca_variance - 1e-12) + 1)
        self.pca_components_ = full.components_[:n]
        self.pca_mean_ = full.mean_
        return (matrix - self.pca_mean_) @ self.pca_components_.T

    # applying -----------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
        """Apply the learned transformation to (new) users.

        Missing values are imputed with the learned medians (or the user is left out
        when the setting is "exclude"); values beyond the learned outlier bounds are
        clipped when the action is clip or exclude, since a scored user cannot be
        dropped silently. Returns the matrix and the users it holds.
        """
        missing = [f for f in self.features_ if f not in frame.columns]
        if missing:
            raise DataError(f"The data lacks feature(s) {', '.join(missing)} that the model "
                            "was fitted on.")
        data = frame[self.features_].astype(float)
        for f in self.config.log_features:
            data[f] = np.log1p(data[f].clip(lower=0))
        data = data.dropna() if self.config.missing == "exclude" else data.fillna(self.medians_)
        if self.bounds_ and self.config.outlier_action in ("clip", "exclude"):
            data = data.clip(lower=pd.Series({f: b[0] for f, b in self.bounds_.items()}),
                             upper=pd.Series({f: b[1] for f, b in self.bounds_.items()}),
                             axis=1)
        matrix = (data.to_numpy() - self.center_) / self.scale_
        if self.pca_components_ is not None:
            matrix = (matrix - self.pca_mean_) @ self.pca_components_.T
        return matrix, data.index

    @property
    def output_names(self) -> list[str]:
        """Names of the matrix columns: features, or PC1, PC2, ..."""
        if self.pca_components_ is not None:
            return [f"PC{i + 1}" for i in range(len(self.pca_components_))]
        return list(self.features_)

    # persistence --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted parameters as JSON-ready data."""
        return {
            "config": self.config.to_dict(), "features": self.features_,
            "medians": self.medians_, "bounds": {f: list(b) for f, b in self.bounds_.items()},
            "center": self.center_.tolist(), "scale": self.scale_.tolist(),
            "pca_components": None if self.pca_components_ is None
            else self.pca_components_.tolist(),
            "pca_mean": None if self.pca_mean_ is None else self.pca_mean_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output."""
        try:
            pre = cls(PreprocessConfig.from_dict(data["config"]))
            pre.features_ = list(data["features"])
            pre.medians_ = {str(k): float(v) for k, v in data["medians"].items()}
            pre.bounds_ = {str(k): (float(v[0]), float(v[1]))
                           for k, v in data["bounds"].items()}
            pre.center_ = np.asarray(data["center"], dtype=float)
            pre.scale_ = np.asarray(data["scale"], dtype=float)
            comps, mean = data.get("pca_components"), data.get("pca_mean")
            pre.pca_components_ = None if comps is None else np.asarray(comps, dtype=float)
            pre.pca_mean_ = None if mean is None else np.asarray(mean, dtype=float)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise DataError(f"The preprocessing parameters are incomplete or damaged ({exc}).") \
                from exc
        if len(pre.center_) != len(pre.features_) or len(pre.scale_) != len(pre.features_):
            raise DataError("The preprocessing parameters do not match their feature list.")
        return pre
