"""The options and the output of commands that can run on Spark (``--engine spark``)."""

from __future__ import annotations

import argparse
import glob
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli.common import argument, input_file, write_table
from core.common.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Paths Spark reads itself (a lake or a cluster's file system), never checked here.
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
#: Output rows collected to the driver for one CSV file; above, write Parquet.
MAX_CSV_ROWS = 5_000_000


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--master`` and ``--driver-memory``."""
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="duckdb on this machine (default), or Apache Spark")
    parser.add_argument("--master", default="local[2]",
                        help="with --engine spark: local[N], spark://host:7077, yarn, "
                             "k8s://..., or a Spark Connect URL sc://host:15002 "
                             "(default: local[2])")
    parser.add_argument("--driver-memory", metavar="SIZE",
                        help="with --engine spark: the driver's memory, e.g. 4g (in local "
                             "mode all the job has)")


def spark_inputs(text: str) -> list[str]:
    """A Parquet file, a folder of them or a glob, checked when it is on this machine.

    Raises
    ------
    ConfigError
        When nothing on this machine matches.
    """
    if REMOTE.match(text):
        return [text]
    if any(ch in text for ch in "*?["):
        if not glob.glob(text):
            raise ConfigError(f"No file matches '{text}'. Check the pattern.")
        return [text]
    path = Path(text)
    if path.is_dir():
        if not any(path.rglob("*.parquet")):
            raise ConfigError(f"The folder '{text}' holds no .parquet file.")
        return [text]
    return [str(input_file(text))]


def write_spark_table(frame: DataFrame, path: Path) -> str:
    """Write a Spark table: ``.parquet`` as Spark's folder of part files (replacing one
    Spark wrote before), ``.csv`` as one file through the driver; return what was
    written, in words.

    Raises
    ------
    ConfigError
        When a CSV would exceed :data:`MAX_CSV_ROWS`, or the Parquet path is a folder
        Spark did not write.
    """
    if path.suffix.lower() == ".csv":
        rows = frame.count()
        if rows > MAX_CSV_ROWS:
            raise ConfigError(f"{rows:,} rows are too many for one CSV file written by the "
                              "driver; write .parquet instead (a folder of part files).")
        table = frame.toArrow().to_pandas()
        write_table(table.set_index(table.columns[0]), path)
        return f"{path} ({rows:,} rows)"
    if path.is_dir() and not (path / "_SUCCESS").exists():
        raise ConfigError(f"'{path}' is a folder Spark did not write; give a new name.")
    if path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    frame.write.mode("overwrite").parquet(str(path))
    parts = len(list(path.glob("*.parquet")))
    return f"{path}/ ({parts} Parquet part file{'s' if parts != 1 else ''})"


def events_input(text: str) -> str:
    """An existing file, or (for ``--engine spark``) a folder, a glob or a remote path;
    a local path that does not exist is refused at once."""
    if REMOTE.match(text) or any(ch in text for ch in "*?[") or Path(text).is_dir():
        return text
    return str(input_file(text))


EVENTS_INPUT = argument(events_input)


def not_one_file(text: str) -> str | None:
    """Why the default engine cannot read ``text`` (a folder, a glob, a remote path),
    or None when it is one file."""
    if Path(text).is_file():
        return None
    what = "is a folder; give one file inside it" if Path(text).is_dir() else \
        "is not one file on this machine; give one file"
    return f"'{text}' {what} (folders, globs and lake paths are read with --engine spark)."
