"""The per-user feature table of a big event log, computed on Spark.

The same definitions as on one machine: the loader's typing, timestamps, events and
report (:func:`core.data.portable.clean_in_sql`) and the feature SQL
(:func:`core.features.table.features_from_table`) run on a
:class:`core.spark.engine.SparkScratch`, which writes each query in Spark SQL. Only
the per-user aggregates come back to the driver, for the rates, scores and RFM
quintiles that need every user at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.common.progress import Progress, scaled, silent
from core.data.cleaning import INTERNAL_PREFIX, LoadConfig, LoadReport
from core.data.mapping import ColumnMapping, guess_event_roles, guess_mapping
from core.data.portable import clean_in_sql
from core.data.timestamps import ROW_ID
from core.features.table import FeatureConfig, FeatureTable, features_from_table
from core.spark.engine import SparkScratch
from core.spark.scoring import read_parquet

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Rows read to guess the column mapping (as the Data page guesses from a preview).
MAPPING_SAMPLE_ROWS = 10_000


def features_on_spark(spark: SparkSession, inputs: list[str | Path],
                      overrides: dict[str, str | None] | None = None,
                      load_config: LoadConfig = LoadConfig(),
                      feature_config: FeatureConfig | None = None,
                      source_name: str | None = None,
                      progress: Progress | None = None
                      ) -> tuple[FeatureTable, LoadReport, ColumnMapping]:
    """Clean, sessionize and build the feature table of Parquet event files on Spark.

    Parameters
    ----------
    spark : SparkSession
    inputs : list
        Parquet files, folders or globs (one table).
    overrides : dict, optional
        Role to column (None unmaps), over the mapping guessed from the first rows.
    load_config, feature_config
        As for :func:`core.features.pipeline.features_from_source`; the funnel events are
        guessed from the event names when ``feature_config`` is None.

    Returns
    -------
    (FeatureTable, LoadReport, ColumnMapping)
    """
    step = progress or silent
    step(0.0, "Reading the files")
    frame = read_parquet(spark, inputs)
    columns = [c for c in frame.columns if not c.startswith(INTERNAL_PREFIX)]
    preview = frame.select(*columns).limit(MAPPING_SAMPLE_ROWS).toArrow().to_pandas()
    frame = numbered(frame.select(*columns, "_metadata"))
    mapping = guess_mapping(columns, preview)
    for role, column in (overrides or {}).items():
        mapping = mapping.with_role(role, column)
    name = source_name or ", ".join(map(str, inputs))
    with SparkScratch(spark) as s:
        raw = s.frame(frame, "raw")
        events, report = clean_in_sql(s, raw, columns, mapping, load_config, name,
                                      scaled(step, 0.0, 0.7))
        step(0.7, "Computing features")
        if feature_config is None:
            names = [r[0] for r in s.rows(f"SELECT DISTINCT event FROM {events}")]
            feature_config = FeatureConfig(event_roles=guess_event_roles(names),
                                           time_zone=report.time_zone)
        table = features_from_table(s, events, feature_config)
    step(1.0, "Done")
    return table, report, mapping


def numbered(frame):
    """The rows with the loader's row number: the position in the files, taken in path
    order (Parquet's row index plus the rows of the files before).

    ``monotonically_increasing_id()`` would not do: Spark may compute it anew for each
    use of the table, and the cleaning joins the table to itself (a cross join with its
    own latest time came out empty).
    """
    from pyspark.sql import functions as sf

    files = frame.groupBy(sf.col("_metadata.file_path").alias("__pl_file")).count()
    sizes = sorted((row["__pl_file"], row["count"]) for row in files.collect())
    offsets, start = [], 0
    for path, count in sizes:
        offsets.append((path, start))
        start += count
    table = frame.sparkSession.createDataFrame(offsets, "__pl_file string, __pl_offset long")
    return (frame.withColumn("__pl_file", sf.col("_metadata.file_path"))
            .join(sf.broadcast(table), "__pl_file")
            .withColumn(ROW_ID, sf.col("_metadata.row_index") + sf.col("__pl_offset"))
            .drop("__pl_file", "__pl_offset", "_metadata"))
