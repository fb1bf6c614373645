"""Persona Lens on Apache Spark: a session for a master (``local[2]``, ``spark://``,
``yarn``) or a Spark Connect URL (``sc://``), and persona assignment of a big per-user
feature table with the model's SQL written for Spark."""

from core.spark.scoring import SparkScore, score_on_spark
from core.spark.session import spark_session

__all__ = ["SparkScore", "score_on_spark", "spark_session"]
