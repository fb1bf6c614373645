"""The models: the logistic model equals scikit-learn's on the same preprocessing, its
SQL gives the same scores in DuckDB, both models survive their JSON, a saved boosting
model holding other code is refused, and explanations point at the planted signal."""

from __future__ import annotations

import base64
import os

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from core.common.errors import ConfigError, DataError
from core.predict import model_from_json, model_sql
from core.predict.explain import permutation_table, user_reasons
from core.predict.models import fit_model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 1500
    frame = pd.DataFrame({
        "days_since_last_event": rng.exponential(10, n),
        "sessions": rng.poisson(4, n).astype(float),
        "revenue": np.where(rng.random(n) < 0.3, rng.lognormal(3, 1, n), 0.0),
        "noise": rng.normal(0, 1, n)}, index=pd.Index([f"u{i}" for i in range(n)],
                                                     name="user_id"))
    frame.loc[frame.sample(frac=0.1, random_state=1).index, "sessions"] = np.nan
    logit = -1 + 0.15 * frame["days_since_last_event"] - 0.4 * frame["sessions"].fillna(4)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return frame, y


def test_logistic_equals_scikit_learn_on_the_same_preprocessing(data):
    frame, y = data
    model = fit_model("logistic", frame, y)
    assert "revenue" in model.logged and "noise" not in model.logged
    x = frame.to_numpy(float).copy()
    for j, name in enumerate(frame.columns):
        if name in model.logged:
            x[:, j] = np.log1p(x[:, j])
    x = np.where(np.isnan(x), np.nanmedian(x, axis=0), x)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    reference = LogisticRegression(C=1.0, max_iter=2000).fit(z, y)
    np.testing.assert_allclose(model.predict(frame), reference.predict_proba(z)[:, 1],
                               rtol=1e-6)


def test_sql_scores_equal_python_in_duckdb(data):
    frame, y = data
    model = fit_model("logistic", frame, y)
    table = frame.reset_index()
    con = duckdb.connect()
    con.register("features", table)
    sql_scores = con.execute(model_sql(model)).df().set_index("user_id")["score"]
    np.testing.assert_allclose(sql_scores.loc[frame.index], model.predict(frame), rtol=1e-9)
    boosting = fit_model("boosting", frame, y)
    with pytest.raises(ConfigError, match="cannot be written as one SQL"):
        model_sql(boosting)


@pytest.mark.parametrize("key", ["recency", "logistic", "boosting"])
def test_models_survive_their_json(data, key):
    frame, y = data
    model = fit_model(key, frame, y)
    again = model_from_json(model.to_json())
    np.testing.assert_array_equal(again.predict(frame), model.predict(frame))


def test_a_saved_model_with_other_code_is_refused():
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    blob = sio.dumps(FunctionTransformer(func=os.system))
    document = {"type": "boosting", "key": "boosting", "features": ["x"], "medians": [0.0],
                "skops": base64.b64encode(blob).decode()}
    with pytest.raises(DataError, match="not trusted"):
        model_from_json(document)
    with pytest.raises(DataError, match="damaged"):
        model_from_json({**document, "skops": "bm90IGEgbW9kZWw="})
    # Only trusted types, but not a boosting model.
    harmless = base64.b64encode(sio.dumps(FunctionTransformer(func=np.log1p))).decode()
    with pytest.raises(DataError, match="not a gradient boosting model"):
        model_from_json({**document, "skops": harmless})


def test_explanations_find_the_planted_features(data):
    frame, y = data
    half = len(frame) // 2
    for key in ("logistic", "boosting"):
        model = fit_model(key, frame.iloc[:half], y[:half])
        importance = permutation_table(model, frame.iloc[half:], y[half:])
        assert set(importance["feature"].head(2)) == {"days_since_last_event", "sessions"}
        assert importance.set_index("feature").loc["noise", "auc_drop"] < 0.01
        # The user silent longest: recency is what raises their score.
        user = frame["days_since_last_event"].idxmax()
        reasons = user_reasons(model, frame.loc[[user]], frame.median())
        assert reasons[0].feature == "days_since_last_event" and reasons[0].push > 0
        assert "raises the churn risk" in reasons[0].sentence("churn risk")


def test_permutation_importance_agrees_with_scikit_learn(data):
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score

    frame, y = data
    model = fit_model("logistic", frame, y)

    class Fitted:
        def fit(self, x, y):
            return self

    ours = permutation_table(model, frame, y, repeats=20).set_index("feature")
    theirs = permutation_importance(
        Fitted(), frame, y, n_repeats=20, random_state=0,
        scoring=lambda _, x, t: roc_auc_score(t, model.predict(x)))
    for j, name in enumerate(frame.columns):
        spread = np.hypot(ours.loc[name, "auc_drop_sd"], theirs.importances_std[j]) / np.sqrt(20)
        assert ours.loc[name, "auc_drop"] == pytest.approx(theirs.importances_mean[j],
                                                           abs=4 * spread + 1e-3)
