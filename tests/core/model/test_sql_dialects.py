"""The assignment query in every warehouse dialect: written by sqlglot from one source,
read back in that dialect, it still assigns every user as the Python scorer does, and
every name from the data stays a literal or an identifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from core.common import engine
from core.common.dialects import DIALECTS
from core.common.errors import ConfigError
from core.features.table import user_table_features
from core.model.fitting import cluster_table, preprocess_config
from core.model.portable import with_persona_names
from core.model.scoring import score_features
from core.model.sql import assignment_sql
from core.segment.clustering import ClusterConfig

#: Names from the data that each dialect quotes or escapes differently.
COLUMNS = ["order count", "select", 'a"b', "x`y", "back\\slash"]
PERSONAS = ["O'Brien\"; DROP TABLE features; --", "C:\\new\\table", "`tick` and \"quote\""]


def named_model(columns: list[str], personas: list[str], users: int, seed: int
                ) -> tuple[dict, pd.DataFrame]:
    """A 3-cluster model of a per-user table with these columns (some values missing)
    and persona names, and the table (user id index)."""
    rng = np.random.default_rng(seed)
    raw = pd.DataFrame({"customer": [f"c{i}" for i in range(users)],
                        **{n: rng.gamma(2.0, 3.0, users) for n in columns}})
    raw.loc[:4, "select"] = np.nan
    table = user_table_features(raw, "customer")
    pre = preprocess_config(table, columns, "auto")
    _, model, _ = cluster_table(table, pre, ClusterConfig(k=3, random_state=0))
    named = with_persona_names(model, dict(zip(model["cluster"]["labels"], personas,
                                               strict=True)))
    return named, table.frame


@pytest.fixture(scope="module")
def fitted():
    model, frame = named_model(COLUMNS, PERSONAS, users=400, seed=7)
    return model, frame.rename_axis("customer id")


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_each_dialect_read_back_assigns_like_the_python_scorer(fitted, dialect):
    model, frame = fitted
    sql = assignment_sql(model, table="my schema.my table", user_column="customer id",
                         dialect=dialect)
    assert DIALECTS[dialect] in sql.splitlines()[1]
    # Read in its own dialect, then run on DuckDB: what the warehouse would compute.
    runnable = sqlglot.transpile(sql, read=dialect, write="duckdb")[0].replace(
        '"my schema"."my table"', "features")
    result = engine.run(runnable, features=frame.reset_index()).set_index("user_id")
    expected = score_features(frame, model).memberships
    result = result.reindex(expected.index)
    assert result["cluster"].equals(expected["cluster"])
    assert result["persona"].equals(expected["persona"])
    np.testing.assert_allclose(result["distance"], expected["distance"], rtol=1e-9)


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_names_stay_literals_and_identifiers_in_each_dialect(fitted, dialect):
    model, _ = fitted
    tree = sqlglot.parse_one(assignment_sql(model, user_column="customer id",
                                            dialect=dialect), read=dialect)
    literals = {lit.this for lit in tree.find_all(exp.Literal) if lit.is_string}
    assert set(PERSONAS) <= literals
    identifiers = {i.this for i in tree.find_all(exp.Identifier)}
    assert set(COLUMNS) | {"customer id"} <= identifiers
    # One statement: nothing a name holds ends the query or starts another.
    assert len(sqlglot.parse(assignment_sql(model, dialect=dialect), read=dialect)) == 1


def test_dialect_specific_spellings(fitted):
    model, _ = fitted
    assert "`order count`" in assignment_sql(model, dialect="spark")
    assert "FLOAT64" in assignment_sql(model, dialect="bigquery")
    assert "DOUBLE PRECISION" in assignment_sql(model, dialect="postgres")
    assert '"order count"' in assignment_sql(model, dialect="snowflake")


def test_an_unknown_dialect_is_refused(fitted):
    with pytest.raises(ConfigError, match=r"Unknown SQL dialect 'oracle'.*duckdb, spark"):
        assignment_sql(fitted[0], dialect="oracle")
