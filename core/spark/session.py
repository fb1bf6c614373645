"""The Spark session: local mode on this machine, a cluster's master, or Spark Connect."""

from __future__ import annotations

import os
import shutil
import warnings
from typing import TYPE_CHECKING

from core.common.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The default master: Spark inside this process's JVM on two cores.
DEFAULT_MASTER = "local[2]"
#: Shuffle partitions in local mode: Spark's default of 200 makes a small job spend its
#: time scheduling empty tasks (adaptive execution merges them on a cluster).
LOCAL_SHUFFLE_PARTITIONS = 8


def spark_session(master: str = DEFAULT_MASTER, driver_memory: str | None = None,
                  app_name: str = "persona-lens") -> SparkSession:
    """A Spark session for ``master``, in UTC (as every time in Persona Lens).

    Parameters
    ----------
    master : str
        ``local[N]`` (this machine), ``spark://host:7077``, ``yarn``, ``k8s://...``,
        or ``sc://host:15002`` for a Spark Connect server.
    driver_memory : str, optional
        Such as ``"4g"``; in local mode the driver also runs the executors, so this is
        all the memory the job has.

    Raises
    ------
    ConfigError
        When PySpark or Java is missing, or the master is not understood.
    """
    # Persona Lens hands tables to Spark and back through Arrow, not PySpark's pandas
    # conversions, which this warning is about.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is in requirements.txt
        raise ConfigError("PySpark is not installed: run `make setup` (or pip install -r "
                          "requirements.txt).") from exc
    builder = SparkSession.builder.appName(app_name)
    if master.startswith("sc://"):
        return _connect(builder, master)
    if not (master.startswith(("local", "spark://", "k8s://", "mesos://"))
            or master == "yarn"):
        raise ConfigError(f"'{master}' is not a Spark master; use local[2], "
                          "spark://host:7077, yarn, k8s://... or sc://host:15002.")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise ConfigError("Spark needs a Java runtime (17 or newer) and none was found: "
                          "install one (Debian: apt-get install default-jre-headless; "
                          "`make test` does that) or set JAVA_HOME.")
    builder = (builder.master(master)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               # pandas writes nanosecond timestamps, which Spark cannot read as times:
               # as epoch nanoseconds they are recognised by their magnitude.
               .config("spark.sql.legacy.parquet.nanosAsLong", "true"))
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _connect(builder, url: str) -> SparkSession:
    try:
        spark = builder.remote(url).getOrCreate()
    except ImportError as exc:
        raise ConfigError("A Spark Connect URL needs PySpark's Connect client: pip install "
                          "'pyspark[connect]' (grpcio and its friends).") from exc
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark
