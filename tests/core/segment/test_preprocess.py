"""Preprocessing on tiny tables; expected values worked out by hand in the comments."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from core.common.errors import ConfigError, DataError
from core.segment.preprocess import PreprocessConfig, Preprocessor, suggest_log


def frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.Index([f"u{i}" for i in range(n)], name="user_id"))


def test_iqr_clip_then_standard_scaling():
    # a = [1, 2, 3, 4, 100]: Q1 2, Q3 4, IQR 2 -> fences [-1, 7]; 100 is clipped to 7.
    # Clipped [1, 2, 3, 4, 7]: mean 3.4, population sd sqrt(21.2 / 5) = 2.05913.
    data = frame(a=[1.0, 2, 3, 4, 100], b=[1.0, 2, 3, 4, 5])
    pre = Preprocessor(PreprocessConfig(features=("a", "b")))
    matrix = pre.fit_transform(data)
    assert pre.bounds_["a"] == (-1.0, 7.0)
    assert pre.report_.outliers == {"a": 1, "b": 0}
    assert matrix[0, 0] == pytest.approx((1 - 3.4) / math.sqrt(21.2 / 5))
    assert matrix[4, 0] == pytest.approx((7 - 3.4) / math.sqrt(21.2 / 5))
    assert pre.report_.users_out == 5
    assert pre.outlier_flags_.tolist() == [False, False, False, False, True]


def test_exclude_and_flag_outliers():
    data = frame(a=[1.0, 2, 3, 4, 100], b=[5.0, 4, 3, 2, 1])
    excluded = Preprocessor(PreprocessConfig(features=("a", "b"), outlier_action="exclude"))
    matrix = excluded.fit_transform(data)
    assert matrix.shape == (4, 2)
    assert excluded.report_.excluded_outliers == 1
    assert list(excluded.index_) == ["u0", "u1", "u2", "u3"]
    flagged = Preprocessor(PreprocessConfig(features=("a",), outlier_action="flag",
                                            scaling="none"))
    assert flagged.fit_transform(data)[:, 0].tolist() == [1, 2, 3, 4, 100]  # unchanged
    assert flagged.outlier_flags_["u4"]


def test_zscore_threshold():
    # Nine zeros and a 10: mean 1, population sd 3. Threshold 3 -> bounds [-8, 10]
    # (10 is inside); threshold 2 -> [-5, 7] (10 is an outlier).
    values = [0.0] * 9 + [10.0]
    wide = Preprocessor(PreprocessConfig(features=("a",), outlier_method="zscore"))
    wide.fit(frame(a=values))
    assert wide.bounds_["a"] == pytest.approx((-8.0, 10.0))
    assert wide.report_.outliers == {"a": 0}
    narrow = Preprocessor(PreprocessConfig(features=("a",), outlier_method="zscore",
                                           outlier_threshold=2.0))
    narrow.fit(frame(a=values))
    assert narrow.report_.outliers == {"a": 1}


def test_missing_values_imputed_or_excluded_and_counted():
    data = frame(a=[1.0, np.nan, 3.0, 5.0], b=[1.0, 2.0, np.nan, 4.0])
    imputed = Preprocessor(PreprocessConfig(features=("a", "b"), outlier_method="none",
                                            scaling="none"))
    matrix = imputed.fit_transform(data)
    assert imputed.report_.imputed == {"a": 1, "b": 1}
    assert matrix[1, 0] == 3.0  # median of 1, 3, 5
    assert matrix[2, 1] == 2.0  # median of 1, 2, 4
    excluded = Preprocessor(PreprocessConfig(features=("a", "b"), missing="exclude",
                                             outlier_method="none"))
    assert excluded.fit_transform(data).shape == (2, 2)
    assert excluded.report_.excluded_missing == 2


def test_scalings():
    data = frame(a=[0.0, 5.0, 10.0], b=[1.0, 2.0, 4.0])
    minmax = Preprocessor(PreprocessConfig(features=("a", "b"), scaling="minmax",
                                           outlier_method="none")).fit_transform(data)
    assert minmax[:, 0].tolist() == [0.0, 0.5, 1.0]
    assert minmax[:, 1].tolist() == pytest.approx([0.0, 1 / 3, 1.0])
    robust = Preprocessor(PreprocessConfig(features=("a",), scaling="robust",
                                           outlier_method="none")).fit_transform(data)
    # Median 5, IQR 7.5 - 2.5 = 5.
    assert robust[:, 0].tolist() == [-1.0, 0.0, 1.0]


def test_log_transform_and_skew_suggestion():
    rng = np.random.default_rng(0)
    data = frame(counts=rng.exponential(1.0, 2000) ** 3, even=rng.normal(size=2000))
    skew, suggested = suggest_log(data, ["counts", "even"])
    assert skew["counts"] > 2 and abs(skew["even"]) < 0.3
    assert suggested == ["counts"]
    pre = Preprocessor(PreprocessConfig(features=("counts",), log_features=("counts",),
                                        outlier_method="none", scaling="none"))
    assert pre.fit_transform(data)[:, 0] == pytest.approx(np.log1p(data["counts"]))
    with pytest.raises(ConfigError, match="negative"):
        Preprocessor(PreprocessConfig(features=("even",), log_features=("even",))).fit(data)


def test_pca_by_components_and_by_variance():
    rng = np.random.default_rng(1)
    base = rng.normal(size=500)
    data = frame(a=base, b=base * 2 + rng.normal(scale=0.1, size=500),
                 c=rng.normal(size=500))
    pre = Preprocessor(PreprocessConfig(features=("a", "b", "c"), pca="components",
                                        pca_components=2, outlier_method="none"))
    matrix = pre.fit_transform(data)
    assert matrix.shape == (500, 2)
    scaled = (data.to_numpy() - data.mean().to_numpy()) / data.std(ddof=0).to_numpy()
    reference = PCA(random_state=0).fit(scaled)
    assert pre.report_.explained_variance == pytest.approx(
        reference.explained_variance_ratio_.tolist())
    assert pre.output_names == ["PC1", "PC2"]
    # a and b are one signal, c another: two thirds of the variance is in PC1, and 90 %
    # needs two components.
    by_variance = Preprocessor(PreprocessConfig(features=("a", "b", "c"), pca="variance",
                                                pca_variance=0.9, outlier_method="none"))
    assert by_variance.fit_transform(data).shape == (500, 2)
    with pytest.raises(ConfigError, match="between 1 and"):
        Preprocessor(PreprocessConfig(features=("a", "b"), pca="components",
                                      pca_components=3)).fit(data)


def test_bad_feature_choices_are_refused():
    data = frame(a=[1.0, 2.0, 3.0], same=[7.0, 7.0, 7.0], empty=[np.nan] * 3,
                 name=["x", "y", "z"])
    with pytest.raises(ConfigError, match="at least one feature"):
        Preprocessor(PreprocessConfig(features=())).fit(data)
    with pytest.raises(ConfigError, match="same value for every user"):
        Preprocessor(PreprocessConfig(features=("a", "same"))).fit(data)
    with pytest.raises(ConfigError, match="no values"):
        Preprocessor(PreprocessConfig(features=("a", "empty"))).fit(data)
    with pytest.raises(ConfigError, match="not numeric"):
        Preprocessor(PreprocessConfig(features=("name",))).fit(data)
    with pytest.raises(ConfigError, match="Unknown feature"):
        Preprocessor(PreprocessConfig(features=("nope",))).fit(data)


def test_everything_constant_after_outlier_exclusion():
    # Q1 = Q3 = 5, so the fences are [5, 5]: 100 goes and every value left is 5.
    data = frame(a=[5.0, 5, 5, 5, 100])
    with pytest.raises(DataError, match="constant once outliers are handled"):
        Preprocessor(PreprocessConfig(features=("a",), outlier_action="exclude")).fit(data)


def test_too_few_users_left():
    # Every user misses one of the two features, so excluding missing values leaves none.
    data = frame(a=[1.0, 2.0, np.nan, np.nan], b=[np.nan, np.nan, 1.0, 2.0])
    with pytest.raises(DataError, match="Only 0 of 4 users"):
        Preprocessor(PreprocessConfig(features=("a", "b"), missing="exclude")).fit(data)


def test_json_round_trip_reproduces_the_matrix():
    rng = np.random.default_rng(2)
    data = frame(a=rng.exponential(size=300), b=rng.normal(size=300),
                 c=rng.integers(0, 5, 300).astype(float))
    data.iloc[3, 0] = np.nan
    pre = Preprocessor(PreprocessConfig(features=("a", "b", "c"), log_features=("a",),
                                        pca="components", pca_components=2))
    fitted = pre.fit_transform(data)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    matrix, index = again.transform(data)
    assert list(index) == list(data.index)
    np.testing.assert_allclose(matrix, fitted, atol=1e-12)
    with pytest.raises(DataError, match="incomplete or damaged"):
        Preprocessor.from_dict({"config": {"features": ["a"]}})


def test_zero_inflated_feature_falls_back_to_percentiles():
    # 90 of 100 users never used a coupon: Q1 = Q3 = 0, so Tukey's fences are [0, 0] and
    # clipping would set everyone to 0. Percentiles 1 and 99 keep the buyers apart.
    coupons = [0.0] * 90 + [1.0, 1, 2, 2, 3, 3, 4, 5, 6, 40]
    data = frame(coupons=coupons, other=list(np.arange(100.0)))
    pre = Preprocessor(PreprocessConfig(features=("coupons", "other"), scaling="none"))
    matrix = pre.fit_transform(data)
    assert pre.report_.percentile_bounds == ["coupons"]
    low, high = pre.bounds_["coupons"]
    assert low == 0.0 and high == pytest.approx(np.percentile(coupons, 99))
    assert matrix[:, 0].max() == pytest.approx(high) and matrix[95, 0] == 3.0
