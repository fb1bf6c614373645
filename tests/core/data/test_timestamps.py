"""Event times are never guessed silently: compact dates are dates, one day order per
column (stated, or asked), no date is invented for a time of day, and implausible times
are flagged."""

from __future__ import annotations

import pandas as pd
import pytest

from core.common.errors import ConfigError, DataError
from core.data.cleaning import LoadConfig, clean_events
from core.data.mapping import ColumnMapping

MAPPING = ColumnMapping({"user_id": "user", "ts": "when", "revenue": "value"})


def load(when: list, unit: str = "auto"):
    raw = pd.DataFrame({"user": [f"u{i % 3}" for i in range(len(when))], "when": when,
                        "value": [10.0 + i for i in range(len(when))]})
    return clean_events(raw, MAPPING, LoadConfig(timestamp_unit=unit))


def times(result) -> list[str]:
    return sorted(result.events["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"))


@pytest.mark.parametrize("column", [[19970101, 19970315, 19980630],
                                    ["19970101", "19970315", "19980630"]])
def test_compact_dates_are_dates_not_epoch_seconds(column):
    result = load(column)
    assert times(result) == ["1997-01-01 00:00:00", "1997-03-15 00:00:00",
                             "1998-06-30 00:00:00"]
    assert "compact dates" in result.report.timestamp_format
    assert not [n for n in result.report.notices if n.code == "implausible_times"]


def test_compact_date_times():
    result = load([20240301143000, 20240302090501])
    assert times(result) == ["2024-03-01 14:30:00", "2024-03-02 09:05:01"]


def test_one_day_order_for_the_whole_column_read_from_the_values():
    result = load(["01/03/2024", "13/03/2024", "02/03/2024"])
    assert times(result) == ["2024-03-01 00:00:00", "2024-03-02 00:00:00",
                             "2024-03-13 00:00:00"]
    note = next(n for n in result.report.notices if n.code == "day_order")
    assert "day first" in note.message and "day first" in result.report.timestamp_format
    result = load(["12/31/2024", "01/03/2024"])
    assert times(result) == ["2024-01-03 00:00:00", "2024-12-31 00:00:00"]


def test_an_ambiguous_column_asks_and_the_setting_answers():
    with pytest.raises(ConfigError, match="day first or month first"):
        load(["01/03/2024", "02/03/2024"])
    assert times(load(["01/03/2024", "02/03/2024"], "dayfirst")) == [
        "2024-03-01 00:00:00", "2024-03-02 00:00:00"]
    assert times(load(["01/03/2024", "02/03/2024"], "monthfirst")) == [
        "2024-01-03 00:00:00", "2024-02-03 00:00:00"]
    with pytest.raises(ConfigError, match="cannot be read so"):
        load(["13/03/2024", "01/03/2024"], "monthfirst")


def test_a_column_mixing_day_orders_is_refused():
    with pytest.raises(DataError, match="mixes day-first and month-first"):
        load(["13/03/2024", "03/14/2024"])


def test_a_time_without_a_date_is_not_today():
    result = load(["2024-03-01T10:00:00Z", "12:00", "13:30:15"])
    assert times(result) == ["2024-03-01 10:00:00"]
    assert result.report.dropped["unparseable_timestamp"] == 2
    note = next(n for n in result.report.notices if n.code == "time_without_date")
    assert "2 value(s)" in note.message
    with pytest.raises(DataError, match="time of day but no date") as only_times:
        load(["12:00", "13:30:15"])
    assert "'12:00'" in str(only_times.value)


def test_excel_serials_read_when_asked_and_flagged_when_not():
    serials = [45352.5, 45353.25]  # 2024-03-01 12:00 and 2024-03-02 06:00
    assert times(load(serials, "excel")) == ["2024-03-01 12:00:00", "2024-03-02 06:00:00"]
    guessed = load(serials)
    flag = next(n for n in guessed.report.notices if n.code == "implausible_times")
    assert flag.level == "warning" and "2 before 1990" in flag.message
    assert "Excel serial" in flag.message


def test_a_span_from_1970_to_2099_is_flagged():
    result = load(["1970-01-01T00:00:00Z", "2024-05-01T10:00:00Z", "2099-01-01T00:00:00Z"])
    flag = next(n for n in result.report.notices if n.code == "implausible_times")
    assert "1 before 1990-01-01 and 1 after tomorrow" in flag.message
    assert result.report.rows_kept == 3  # kept, and said


def test_an_unknown_format_setting_is_refused():
    with pytest.raises(ConfigError, match="Unknown timestamp format"):
        load(["2024-01-01"], "yyyy")


def test_the_time_zone_comes_from_the_offsets_and_drives_local_features():
    from core.features.table import FeatureConfig, user_features

    # Tokyo shoppers at 09:00-11:00 local time, which is 00:00-02:00 UTC.
    when = [f"2024-03-0{d}T{h:02d}:15:00+09:00" for d in (2, 3, 4) for h in (9, 10, 11)]
    result = load(when)
    assert result.report.time_zone == "Etc/GMT-9"
    assert "+09:00" in result.report.time_zone_reason
    local = user_features(result.events, FeatureConfig(time_zone=result.report.time_zone))
    utc = user_features(result.events, FeatureConfig())
    assert (local.frame["night_share"] == 0).all()  # daytime in Tokyo
    assert (utc.frame["night_share"] == 1).all()  # "night owls" in UTC
    # 2024-03-02 and 03-03 are a Saturday and a Sunday in Tokyo.
    assert local.frame["weekend_share"].sum() > 0


def test_a_set_time_zone_wins_and_a_wrong_one_is_refused():
    raw = pd.DataFrame({"user": ["u1"], "when": ["2024-03-01T23:30:00Z"], "value": [1.0]})
    report = clean_events(raw, MAPPING, LoadConfig(time_zone="Europe/Berlin")).report
    assert report.time_zone == "Europe/Berlin" and report.time_zone_reason == "as set"
    assert load(["2024-03-01T10:00:00Z"]).report.time_zone == "UTC"
    with pytest.raises(ConfigError, match="not a time zone"):
        clean_events(raw, MAPPING, LoadConfig(time_zone="Mars/Olympus"))


ISO_VALUES = ["2024-03-01T10:00:00+09:00", "2024-03-01 10:00:00.250+0530",
              " 2024-03-01T23:59:59Z ", "2024-03-02", "2024-03-02 07:30",
              "2024-02-29T12:00:00-03:00", "2023-10-29T02:30:00+01:00", "", None]


def test_iso_text_read_in_duckdb_gives_the_instants_pandas_gives():
    result = load(ISO_VALUES)
    expected = pd.to_datetime(pd.Series([v.strip() for v in ISO_VALUES if v and v.strip()]),
                              utc=True, format="ISO8601")
    assert times(result) == sorted(expected.dt.strftime("%Y-%m-%d %H:%M:%S"))
    assert sorted(result.events["ts"]) == sorted(expected)  # to the microsecond
    assert result.report.timestamp_format == "ISO 8601 text (no offset means UTC)"


@pytest.mark.parametrize(("offsets", "zone"), [
    (["+09:00"] * 9 + ["Z"], "Etc/GMT-9"),  # 90 % carry +09:00
    (["+0530"] * 10, "Asia/Kolkata"),
    (["+09:00"] * 8 + ["Z", ""], "UTC"),  # 80 %: no zone guessed
    (["Z"] * 10, "UTC"),
])
def test_the_dominant_offset_is_found_in_duckdb_as_in_pandas(offsets, zone):
    from core.data.timestamps import dominant_offset

    when = [f"2024-03-0{1 + i % 5}T10:{i:02d}:00{o}" for i, o in enumerate(offsets)]
    assert load(when).report.time_zone == zone
    expected = dominant_offset(pd.Series(when))
    assert (zone == "UTC") == (expected is None)


def test_one_value_duckdb_cannot_read_sends_the_column_to_pandas():
    # A time of day without a date: never read as today, counted and dropped.
    result = load(["2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z", "10:30"])
    assert times(result) == ["2024-03-01 10:00:00", "2024-03-01 11:00:00"]
    assert [n for n in result.report.notices if n.code == "time_without_date"]
