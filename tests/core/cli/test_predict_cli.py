"""`python -m core predict fit|score|sql`: the metrics of the core evaluation on the same
cleaned events, a model file that scores another file like the core model, SQL that
gives the same scores in DuckDB, and clear exits for bad input."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from core.cli.main import main
from core.data.cleaning import clean_events
from core.data.mapping import guess_event_roles, guess_mapping
from core.data.readers import read_path
from core.features.table import FeatureConfig, user_features
from core.predict import model_from_json


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict_cli")
    events = folder / "events.parquet"
    assert main(["sample", "-o", str(events), "--users", "1200", "--days", "60",
                 "--seed", "5"]) == 0
    model = folder / "churn.json"
    metrics = folder / "metrics.csv"
    assert main(["predict", "fit", str(events), "--target", "churn", "--model", "logistic",
                 "-o", str(model), "--metrics-out", str(metrics)]) == 0
    return folder, events, model, metrics


def test_fit_writes_a_model_and_every_model_metrics(fitted):
    _, _, model, metrics = fitted
    document = json.loads(model.read_text())
    assert document["format"] == "persona-lens-propensity"
    assert document["model_key"] == "logistic"
    table = pd.read_csv(metrics)
    assert list(table["key"]) == ["recency", "logistic", "boosting"]
    assert (table["roc_auc_low"] <= table["roc_auc"]).all()
    assert (table["roc_auc"] <= table["roc_auc_high"]).all()
    labels = document["config"]["labels"]
    assert labels["target"] == "churn" and labels["active_within_days"] == 2 * \
        labels["horizon_days"]


def test_score_equals_the_model_on_core_features(fitted, tmp_path):
    _, events, model, _ = fitted
    out = tmp_path / "scores.csv"
    assert main(["predict", "score", str(events), "--model", str(model), "-o", str(out)]) == 0
    scores = pd.read_csv(out, index_col=0)
    document = json.loads(model.read_text())
    raw = read_path(events).frame
    cleaned = clean_events(raw, guess_mapping(list(raw.columns))).events
    config = FeatureConfig.from_dict(document["feature_config"])
    assert config.event_roles == guess_event_roles(cleaned["event"].unique())
    features = user_features(cleaned, config).frame
    expected = model_from_json(document["model"]).predict(features)
    scored = scores["churn_risk"].dropna()
    np.testing.assert_allclose(scored, pd.Series(expected, features.index).loc[scored.index],
                               rtol=1e-9)
    # Users silent for longer than the model's population are lapsed, not scored.
    lapsed = scores["churn_risk_band"] == "lapsed"
    assert scores.loc[lapsed, "churn_risk"].isna().all()
    last = cleaned.groupby("user_id")["ts"].max()
    quiet = last < cleaned["ts"].max() - pd.Timedelta(
        days=document["config"]["labels"]["active_within_days"])
    assert set(scores.index[lapsed]) == set(quiet.index[quiet])


def test_sql_gives_the_same_scores(fitted, tmp_path, capsys):
    _, events, model, _ = fitted
    capsys.readouterr()
    assert main(["predict", "sql", "--model", str(model)]) == 0
    sql = capsys.readouterr().out
    document = json.loads(model.read_text())
    raw = read_path(events).frame
    cleaned = clean_events(raw, guess_mapping(list(raw.columns))).events
    features = user_features(cleaned, FeatureConfig.from_dict(document["feature_config"])).frame
    con = duckdb.connect()
    con.register("features", features.reset_index())
    got = con.execute(sql).df().set_index("user_id")["churn_score"]
    np.testing.assert_allclose(got.loc[features.index],
                               model_from_json(document["model"]).predict(features), rtol=1e-9)


def test_bad_input_is_a_message_not_a_traceback(fitted, tmp_path, capsys):
    _, events, _, _ = fitted
    capsys.readouterr()
    code = main(["predict", "fit", str(events), "--horizon", "90", "-o",
                 str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert code == 3 and "needs more than 180 days of data" in err and "Traceback" not in err
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    code = main(["predict", "score", str(events), "--model", str(tmp_path / "other.json"),
                 "-o", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert code == 3 and "not a propensity model" in err


def test_score_with_a_workspace_model(tmp_path, monkeypatch, capsys):
    from core.data.sample import generate_sample
    from core.predict import PropensityConfig
    from core.workspace import actions
    from core.workspace.predict import default_spec, run_propensity, save_propensity

    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    ws = actions.new_workspace()
    events = generate_sample(n_users=800, days=60, seed=2).events
    actions.load_sample_into(ws, events, 800, 60, 2)
    result = run_propensity(ws, PropensityConfig(default_spec(ws, "churn"),
                                                 models=("recency", "logistic")))
    save_propensity(ws, result, "logistic")
    path = tmp_path / "events.parquet"
    events.to_parquet(path)
    out = tmp_path / "scores.csv"
    assert main(["predict", "score", str(path), "--workspace", ws.id, "-o", str(out)]) == 0
    scores = pd.read_csv(out, index_col=0)
    saved = ws.features["churn_risk"]
    np.testing.assert_allclose(scores["churn_risk"].dropna(),
                               saved.loc[scores["churn_risk"].dropna().index], rtol=1e-9)
    capsys.readouterr()
    assert main(["predict", "score", str(path), "--workspace", ws.id, "--target",
                 "conversion", "-o", str(out)]) == 3
    assert "No conversion model is saved" in capsys.readouterr().err
