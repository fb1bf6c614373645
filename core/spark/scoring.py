"""Assign the users of a per-user feature table to a model's personas on Spark.

The query is the model's own assignment SQL (:func:`core.model.sql.assignment_sql`)
written for Spark SQL, so a warehouse, Spark and the Python scorer apply the same
preprocessing and pick the same nearest centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.common.errors import DataError
from core.common.notices import Notice
from core.model.portable import ScoringModel
from core.model.sql import assignment_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: The temporary view the assignment query reads.
VIEW = "persona_lens_features"


@dataclass
class SparkScore:
    """The memberships as a Spark DataFrame (``user_id``, ``cluster``, ``persona`` when
    named, ``distance``), with the counts the command line reports."""

    memberships: DataFrame
    users_in: int
    sizes: dict[str, int]
    notices: list[Notice] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return sum(self.sizes.values())

    @property
    def excluded(self) -> int:
        return self.users_in - self.scored


def read_parquet(spark: SparkSession, paths: list[str | Path]) -> DataFrame:
    """Parquet files, folders of them or globs, read by Spark as one table.

    Raises
    ------
    DataError
        When a path matches nothing or is not Parquet.
    """
    from pyspark.errors import AnalysisException

    try:
        return spark.read.parquet(*[str(p) for p in paths])
    except AnalysisException as exc:
        raise DataError(f"Spark could not read {', '.join(map(str, paths))} as Parquet: "
                        f"{str(exc).splitlines()[0]}") from exc


def score_on_spark(spark: SparkSession, features: DataFrame, model: dict | ScoringModel,
                   user_column: str = "user_id") -> SparkScore:
    """Assign every user of a per-user feature table (one row per user) on Spark.

    Raises
    ------
    DataError
        When the table lacks the user column or one of the model's features.
    """
    scoring = model if isinstance(model, ScoringModel) else ScoringModel.from_dict(model)
    needed = [user_column, *scoring.preprocessor.features_]
    missing = [c for c in needed if c not in features.columns]
    if missing:
        what = "user id column" if missing[0] == user_column else "feature(s)"
        raise DataError(
            f"The table lacks the model's {what} {', '.join(missing)}. Score the per-user "
            "feature table (`python -m core features ... --engine spark` writes it), with "
            "--user-column naming its id column.")
    from pyspark.sql import functions as sf

    user = sf.col(f"`{user_column.replace('`', '``')}`")
    counts = features.agg(sf.count(sf.lit(1)).alias("rows"),
                          sf.count_distinct(user).alias("users"),
                          sf.count(user).alias("ids")).first()
    if counts["ids"] < counts["rows"] or counts["users"] < counts["rows"]:
        raise DataError(
            f"The table has {counts['rows']:,} rows but {counts['users']:,} distinct "
            f"user ids in '{user_column}' ({counts['rows'] - counts['ids']:,} rows without "
            "one): a per-user feature table has one row per user. Is this an event log? "
            "Compute its features first.")
    features.createOrReplaceTempView(VIEW)
    memberships = spark.sql(assignment_sql(scoring, VIEW, user_column, dialect="spark"))
    memberships = memberships.cache()
    sizes = {row["cluster"]: row["count"] for row in
             memberships.groupBy("cluster").count().orderBy("count", ascending=False)
             .collect()}
    users_in = counts["rows"]
    notices = []
    left_out = users_in - sum(sizes.values())
    if left_out:
        notices.append(Notice("excluded_missing", (
            f"{left_out:,} of {users_in:,} users were left out: they miss a value of a "
            "feature and the model leaves such users out (as it was fitted).")))
    return SparkScore(memberships, users_in, sizes, notices)
