"""Persona assignment on Spark (local mode): the model's SQL written for Spark assigns
every user as the Python scorer does, from the command line too."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main
from core.common.errors import DataError
from core.model.scoring import score_features
from core.spark.scoring import read_parquet, score_on_spark
from core.spark.session import spark_session
from tests.core.model.test_sql_dialects import named_model

pytestmark = pytest.mark.slow

COLUMNS = ["order count", "select", "x`y"]
PERSONAS = ["O'Brien\"; DROP TABLE t; --", "C:\\new", "`tick`"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model with persona names and odd column names, and its feature table on disk
    as a folder of two Parquet parts."""
    model, frame = named_model(COLUMNS, PERSONAS, users=600, seed=3)
    table_frame = frame
    folder = tmp_path_factory.mktemp("features") / "features"
    folder.mkdir()
    frame = table_frame.rename_axis("user_id").reset_index()
    frame.iloc[:300].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[300:].to_parquet(folder / "part-1.parquet", index=False)
    model_path = folder.parent / "model.json"
    model_path.write_text(json.dumps(model))
    return model, table_frame, folder, model_path


@pytest.fixture
def spark():
    """The running local session (a new one after the command line stopped its own)."""
    return spark_session("local[2]")


def test_spark_assigns_every_user_as_the_python_scorer(spark, fitted):
    model, frame, folder, _ = fitted
    result = score_on_spark(spark, read_parquet(spark, [folder]), model)
    got = result.memberships.toArrow().to_pandas().set_index("user_id")
    expected = score_features(frame, model).memberships
    assert result.users_in == 600 and result.scored == len(expected)
    got = got.reindex(expected.index)
    assert got["cluster"].equals(expected["cluster"])
    assert got["persona"].equals(expected["persona"])
    np.testing.assert_allclose(got["distance"], expected["distance"], rtol=1e-9)
    assert result.sizes == expected["cluster"].value_counts().to_dict()


def test_a_table_without_the_features_or_with_repeated_users_is_refused(spark, fitted):
    model, frame, _, _ = fitted
    table = spark.createDataFrame(frame.reset_index().rename(columns={"select": "other"}))
    with pytest.raises(DataError, match=r"lacks the model.s feature.* select"):
        score_on_spark(spark, table, model)
    twice = spark.createDataFrame(pd.concat([frame, frame.head(3)]).reset_index())
    with pytest.raises(DataError, match="603 rows but 600 distinct user ids"):
        score_on_spark(spark, twice, model)


def test_cli_score_on_spark_writes_parquet_parts_and_csv(fitted, tmp_path, capsys):
    model, frame, folder, model_path = fitted
    out = tmp_path / "memberships.parquet"
    args = ["score", str(folder), "--model", str(model_path), "-o", str(out),
            "--engine", "spark", "--master", "local[2]"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Scored 600 of 600 users on Spark (local[2];" in printed
    assert out.is_dir() and (out / "_SUCCESS").exists()
    expected = score_features(frame, model).memberships
    written = pd.read_parquet(out).set_index("user_id").reindex(expected.index)
    assert written["persona"].equals(expected["persona"])
    assert main(args) == 0  # a folder Spark wrote is replaced
    csv = tmp_path / "memberships.csv"
    assert main([*args[:5], str(csv), *args[6:]]) == 0
    read = pd.read_csv(csv, index_col="user_id").reindex(expected.index)
    assert read["cluster"].equals(expected["cluster"])


def test_cli_says_what_is_wrong_with_a_spark_input(tmp_path, fitted, capsys):
    _, _, _, model_path = fitted
    out = tmp_path / "m.parquet"
    code = main(["score", str(tmp_path / "none*.parquet"), "--model", str(model_path),
                 "-o", str(out), "--engine", "spark"])
    assert code != 0 and "No file matches" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    code = main(["score", str(tmp_path / "empty"), "--model", str(model_path),
                 "-o", str(out), "--engine", "spark"])
    assert code != 0 and "holds no .parquet file" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["double_fires_1s", "file_sessions", "grocery"])
def test_the_portable_cleaning_rules_decide_on_spark_as_the_loader(spark, case):
    """The decisions SQL written for Spark by sqlglot, on the typed rows, keeps the rows
    and numbers the sessions the loader's numpy passes do."""
    from core.common.dialects import in_dialect
    from core.common.engine import Scratch
    from core.data.cleaning import IDENTITY_ROLES, clean_rows
    from core.data.portable import decisions_sql, valid_rows_sql
    from core.data.timestamps import ROW_ID
    from tests.core.data.test_portable import PORTABLE, assert_same_decisions
    from tests.core.features.test_columnar import _mapping

    make, overrides, config = PORTABLE[case]
    raw = make()
    mapping = _mapping(raw, overrides)
    with Scratch() as s:
        rows = clean_rows(s, raw, mapping, config)
        typed = s.con.sql(f"SELECT * FROM {rows.typed}").to_arrow_table()
    spark.createDataFrame(typed.to_pandas()).createOrReplaceTempView("typed")
    identity = ["event", *[r for r in IDENTITY_ROLES if mapping.get(r)]]
    sql = decisions_sql(valid_rows_sql("typed"), rows.columns, identity,
                        config.drop_exact_duplicates, rows.window[0],
                        config.session_gap_minutes)
    decided = spark.sql(in_dialect(sql, "spark")).select(
        ROW_ID, "__pl_duplicate", "__pl_repeat", "__pl_gap_session").toArrow().to_pandas()
    assert_same_decisions(decided, rows)
