"""The feature table on Spark (local mode) against DuckDB's, on logs shaped like real
exports: the same users, every column equal (relative tolerance 1e-9, missing in
both), the same drop counts and the same load report figures."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.mapping import guess_event_roles
from core.features.pipeline import features_from_source
from core.features.table import FeatureConfig
from core.spark.features import features_on_spark
from core.spark.session import spark_session
from tests.core.data.test_portable import PORTABLE
from tests.core.features.test_columnar import _mapping, assert_same_table

pytestmark = pytest.mark.slow

#: Clickstream, basket line items, YYYYMMDD purchases, float-epoch ratings, the
#: tracker's session ids with gaps, Europe/Berlin's summer time, and double fires.
SPARK_CASES = ["shop", "grocery", "yyyymmdd", "ratings", "file_sessions", "berlin",
               "double_fires_1s"]
REPORT_FIELDS = ("rows_read", "rows_kept", "dropped", "users", "sessions", "first_ts",
                 "last_ts", "debounce_seconds", "debounce_reason", "time_zone",
                 "timestamp_format", "top_events", "events_per_day", "suspected_bots")


@pytest.mark.parametrize("case", SPARK_CASES)
def test_spark_builds_the_feature_table_duckdb_builds(case, tmp_path):
    make, overrides, load_config = PORTABLE[case]
    raw = make()
    path = tmp_path / "events.parquet"
    # Microseconds, as Spark, BigQuery and most exports write times.
    raw.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    spark = spark_session("local[2]")
    table, report, mapping = features_on_spark(spark, [path], overrides, load_config)
    assert mapping.to_dict() == _mapping(raw, overrides).to_dict()
    names = [event for event, _ in report.top_events]
    config = FeatureConfig(event_roles=guess_event_roles(sorted(set(raw.get(
        mapping.get("event"), names)))) if mapping.get("event") else
        guess_event_roles(names), time_zone=report.time_zone)
    reference, ref_report = features_from_source(path, mapping, str(path), load_config, config)
    assert_same_table(table.frame, reference.frame)
    assert table.definitions == reference.definitions
    for field in REPORT_FIELDS:
        assert getattr(report, field) == getattr(ref_report, field), field
    assert len(reference.frame) > 10


def test_cli_features_on_spark_writes_the_table_and_says_where_it_came_from(tmp_path,
                                                                            capsys):
    from core.cli.main import main
    from core.data.readers import read_path

    folder = tmp_path / "events"
    assert main(["sample", "-o", str(tmp_path / "all.parquet"), "--users", "150",
                 "--seed", "4"]) == 0
    events = pd.read_parquet(tmp_path / "all.parquet")
    folder.mkdir()
    for i, part in enumerate((events.iloc[:2000], events.iloc[2000:])):
        part.to_parquet(folder / f"part-{i}.parquet", index=False, coerce_timestamps="us",
                        allow_truncated_timestamps=True)
    spark_out, duck_out = tmp_path / "spark.parquet", tmp_path / "duck.parquet"
    assert main(["features", str(folder / "*.parquet"), "-o", str(spark_out),
                 "--engine", "spark", "--session-gap", "20m"]) == 0
    printed = capsys.readouterr().out
    assert "rows on Spark (local[2]), kept" in printed and "150 users" in printed
    assert main(["features", str(tmp_path / "all.parquet"), "-o", str(duck_out),
                 "--session-gap", "20m"]) == 0
    assert_same_table(pd.read_parquet(spark_out), pd.read_parquet(duck_out))
    raw = read_path(spark_out)
    assert raw.provenance == ("A feature table made by `python -m core features` on Apache "
                            f"Spark (local[2]) from {folder / '*.parquet'}.")
    # A folder for the default engine is refused with the way out.
    assert main(["features", str(folder), "-o", str(duck_out)]) == 2
    assert "--engine spark" in capsys.readouterr().err
