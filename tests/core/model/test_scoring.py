"""Scoring with a saved model: training labels reproduced, the SQL agrees, the CLI works."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.common import engine
from core.common.errors import DataError
from core.data import sample
from core.features.table import user_table_features
from core.model.fitting import cluster_table, preprocess_config
from core.model.portable import read_model, with_persona_names
from core.model.scoring import score_features
from core.model.sql import assignment_sql
from core.personas.state import PersonaState
from core.segment.clustering import ClusterConfig
from core.segment.preprocess import PreprocessConfig, suggest_log
from core.workspace import actions
from core.workspace.model import model_from_workspace
from core.workspace.store import Workspace

USERS = 5000
#: Two distances closer than this are a floating-point tie: SQL and numpy may differ.
TIE = 1e-9


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERSONA_LENS_HOME", str(tmp_path_factory.mktemp("home")))
        events = sample.generate_sample(n_users=USERS, days=90, seed=42).events
        ws = Workspace()
        actions.load_sample_into(ws, events, USERS, 90, 42)
        yield ws


def clustered(ws: Workspace, **pre) -> dict:
    chosen = ws.feature_info.selected
    config = PreprocessConfig(features=tuple(chosen),
                              log_features=tuple(suggest_log(ws.features, chosen)[1]), **pre)
    actions.cluster_into(ws, config, ClusterConfig(algorithm="kmeans", k=6, random_state=0))
    return model_from_workspace(ws)


def sql_memberships(model: dict, features: pd.DataFrame, table: str = "features",
                    **kwargs) -> pd.DataFrame:
    sql = assignment_sql(model, table=table, **kwargs)
    return engine.run(sql, **{table: features.reset_index()}).set_index("user_id")


def near_ties(result: pd.DataFrame, features: pd.DataFrame, model: dict) -> pd.Index:
    """Users whose two nearest centres are within TIE of each other."""
    from core.model.portable import ScoringModel

    scoring = ScoringModel.from_dict(model)
    matrix, index = scoring.preprocessor.transform(features)
    squared = ((matrix[:, None, :] - scoring.centroids[None]) ** 2).sum(axis=2)
    two = np.sort(squared, axis=1)[:, :2]
    return index[(two[:, 1] - two[:, 0]) < TIE]


@pytest.mark.parametrize("pca", ["none", "components"])
def test_scoring_the_training_data_reproduces_kmeans_labels(sample_ws, pca):
    model = clustered(sample_ws, pca=pca, pca_components=4)
    result = score_features(sample_ws.features, model)
    training = sample_ws.clusters["cluster"]
    assert result.excluded == 0 and len(result.memberships) == USERS
    assert result.memberships["cluster"].equals(training.reindex(result.memberships.index))
    assert (result.memberships["distance"] >= 0).all()
    # A model through JSON (as a file on disk) scores the same.
    again = score_features(sample_ws.features, json.loads(json.dumps(model)))
    assert again.memberships.equals(result.memberships)


def test_sql_agrees_with_core(sample_ws):
    for pca in ("none", "components"):
        model = clustered(sample_ws, pca=pca, pca_components=3)
        core_result = score_features(sample_ws.features, model).memberships
        sql_result = sql_memberships(model, sample_ws.features).reindex(core_result.index)
        differ = core_result.index[core_result["cluster"] != sql_result["cluster"]]
        assert set(differ) <= set(near_ties(core_result, sample_ws.features, model))
        assert len(differ) <= 2
        np.testing.assert_allclose(sql_result["distance"], core_result["distance"],
                                   rtol=1e-9, atol=1e-9)


def test_persona_names_reach_the_memberships_and_the_sql(sample_ws):
    model = clustered(sample_ws)
    hostile = "O'Brien\"; DROP TABLE features; --\nx"
    named = with_persona_names(model, {"Cluster 1": "Big spenders", "Cluster 2": hostile,
                                       "Cluster 99": "ignored", "Cluster 3": "  "})
    assert named["personas"] == {"Cluster 1": "Big spenders", "Cluster 2": hostile.strip()}
    result = score_features(sample_ws.features, named).memberships
    expected = result["cluster"].map({"Cluster 1": "Big spenders", "Cluster 2": hostile}
                                     ).fillna(result["cluster"])
    assert result["persona"].equals(expected.rename("persona"))
    sql = sql_memberships(named, sample_ws.features).reindex(result.index)
    assert (sql["persona"] == expected.str.replace("\n", " ")).all()
    # Clustering suggests names at once; a model without any gives no persona column.
    unnamed = {**model, "personas": {}}
    assert "persona" not in score_features(sample_ws.features, unnamed).memberships
    sample_ws.personas = PersonaState(names={"Cluster 4": "Dormant"})
    assert model_from_workspace(sample_ws)["personas"] == {"Cluster 4": "Dormant"}
    sample_ws.personas = PersonaState()


def test_missing_values_follow_the_saved_setting(sample_ws):
    new = sample_ws.features.head(200).copy()
    new.iloc[:7, new.columns.get_loc("revenue")] = np.nan
    imputed = score_features(new, clustered(sample_ws, missing="impute"))
    assert imputed.excluded == 0 and len(imputed.memberships) == 200
    assert any(n.code == "imputed" and "revenue (7)" in n.message for n in imputed.notices)
    model = clustered(sample_ws, missing="exclude")
    excluded = score_features(new, model)
    assert excluded.excluded == 7 and len(excluded.memberships) == 193
    assert excluded.notices[0].code == "excluded_missing"
    assert "7 of 200 users" in excluded.notices[0].message
    assert len(sql_memberships(model, new)) == 193
    with pytest.raises(DataError, match="lacks feature"):
        score_features(new.drop(columns="revenue"), model)


def test_sql_quotes_odd_column_names(tmp_path):
    rng = np.random.default_rng(1)
    names = ["order count", "select", 'a"b', "x; DROP TABLE t"]
    raw = pd.DataFrame({"customer": [f"c{i}" for i in range(300)],
                        **{n: rng.gamma(2.0, 3.0, 300) for n in names}})
    raw.loc[:5, "select"] = np.nan
    table = user_table_features(raw, "customer")
    pre = preprocess_config(table, names, "auto")
    segments, model, _ = cluster_table(table, pre, ClusterConfig(k=3))
    frame = table.frame.rename_axis("customer id")
    sql = sql_memberships(model, frame, table="my table", user_column="customer id")
    assert sql["cluster"].equals(segments["cluster"].reindex(sql.index).rename("cluster"))


def test_model_files_are_checked(tmp_path, sample_ws):
    model = clustered(sample_ws)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        read_model(bad)
    bad.write_text(json.dumps({**model, "format": "other"}))
    with pytest.raises(DataError, match="not a Persona Lens model"):
        read_model(bad)
    broken = json.loads(json.dumps(model))
    broken["cluster"]["centroids"] = [row[:-1] for row in broken["cluster"]["centroids"]]
    with pytest.raises(DataError, match="centres should be a table"):
        score_features(sample_ws.features, broken)
    with pytest.raises(DataError, match="does not exist"):
        read_model(tmp_path / "missing.json")


def test_cli_cluster_then_score(tmp_path, capsys):
    events, model = tmp_path / "events.parquet", tmp_path / "model.json"
    segments, scored = tmp_path / "segments.csv", tmp_path / "memberships.csv"
    features, query = tmp_path / "features.parquet", tmp_path / "assign.sql"
    assert main(["sample", "-o", str(events), "--users", "800", "--seed", "9"]) == 0
    assert main(["cluster", str(events), "--k", "5", "-o", str(segments),
                 "--model-out", str(model)]) == 0
    assert main(["score", str(events), "--model", str(model), "-o", str(scored),
                 "--sql-out", str(query)]) == 0
    assert "Scored 800 of 800 users" in capsys.readouterr().out
    trained = pd.read_csv(segments, index_col="user_id")["cluster"]
    result = pd.read_csv(scored, index_col="user_id")
    assert list(result.columns) == ["cluster", "distance"]
    assert result["cluster"].equals(trained.reindex(result.index))
    # The SQL on the feature table the `features` command writes gives the same clusters.
    assert main(["features", str(events), "-o", str(features)]) == 0
    table = pd.read_parquet(features).reset_index()
    via_sql = engine.run(query.read_text(), features=table).set_index("user_id")
    assert via_sql["cluster"].reindex(result.index).equals(result["cluster"])
    # --sql-dialect: the same query for BigQuery, read back as BigQuery writes it.
    bigquery = tmp_path / "assign_bq.sql"
    assert main(["score", str(events), "--model", str(model), "-o", str(scored),
                 "--sql-out", str(bigquery), "--sql-dialect", "bigquery"]) == 0
    assert "(BigQuery)" in capsys.readouterr().out and "FLOAT64" in bigquery.read_text()
    import sqlglot

    back = sqlglot.transpile(bigquery.read_text(), read="bigquery", write="duckdb")[0]
    via_bq = engine.run(back, features=table).set_index("user_id")
    assert via_bq["cluster"].reindex(result.index).equals(result["cluster"])


def test_cli_exit_codes(tmp_path, capsys):
    events, model = tmp_path / "events.csv", tmp_path / "model.json"
    assert main(["sample", "-o", str(events), "--users", "200", "--seed", "2"]) == 0
    model.write_text('{"format": "something else"}')
    assert main(["score", str(events), "--model", str(model), "-o",
                 str(tmp_path / "m.csv")]) == 3
    assert "not a Persona Lens model" in capsys.readouterr().err
    # Bad arguments (a wrong suffix, a missing file, missing options) exit 2.
    assert main(["score", str(events), "--model", str(model), "-o",
                 str(tmp_path / "m.xlsx")]) == 2
    assert "must end in .csv or .parquet" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "none.csv"), "--model", str(model), "-o",
                 str(tmp_path / "m.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["score", str(events)]) == 2  # --model and -o are required
