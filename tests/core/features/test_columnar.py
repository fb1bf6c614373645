"""The fast path (sorted columns, numpy) against the definition (an events table and the
feature SQL), on logs shaped like real exports: every user, every column, every value,
and the load report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.engine import Scratch
from core.data.cleaning import LoadConfig, clean_events, clean_into
from core.data.mapping import ColumnMapping, guess_event_roles, guess_mapping
from core.data.sample import generate_sample
from core.features.columnar import local_microseconds
from core.features.pipeline import features_from_source
from core.features.table import FeatureConfig, features_from_table, user_features
from tests.core.workspace.test_real_logs import grocery, purchases_yyyymmdd, ratings

RTOL = 1e-9


def _shop() -> pd.DataFrame:
    return generate_sample(n_users=300, days=60, seed=5).events


def _file_sessions() -> pd.DataFrame:
    """Session ids from the tracker, missing on some rows (those get gap sessions), and a
    session that resumes after a long gap."""
    rng = np.random.default_rng(8)
    rows = []
    start = pd.Timestamp("2024-03-01 08:00", tz="UTC")
    for u in range(60):
        t = start + pd.Timedelta(hours=int(rng.integers(0, 200)))
        for k in range(int(rng.integers(3, 25))):
            t += pd.Timedelta(minutes=float(rng.exponential(20)))
            session = None if rng.random() < 0.2 else f"s{u}-{k // 5}"
            event = rng.choice(["page_view", "add_to_cart", "purchase"], p=[.8, .15, .05])
            rows.append((f"user{u}", t.isoformat(), event, session,
                         float(rng.uniform(5, 50)) if event == "purchase" else None))
    return pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "session_id",
                                       "revenue"])


def _berlin_nights() -> pd.DataFrame:
    """Events around midnight and across both summer-time changes of Europe/Berlin."""
    rng = np.random.default_rng(9)
    moments = pd.to_datetime(["2024-03-30 22:30", "2024-03-31 00:59", "2024-03-31 01:30",
                              "2024-10-26 22:10", "2024-10-27 00:30", "2024-10-27 01:10",
                              "2024-10-27 02:05", "2024-06-01 21:59", "2024-06-01 22:01"],
                             utc=True)
    rows = [(f"u{u}", (m + pd.Timedelta(seconds=int(rng.integers(0, 3000)))).isoformat(),
             "page_view") for u in range(30) for m in moments if rng.random() < 0.7]
    return pd.DataFrame(rows, columns=["user_id", "ts", "event"])


def _double_fires() -> pd.DataFrame:
    """Exact duplicates, double clicks within a second, and the same instant twice with
    different products: what the cleaning rules decide on."""
    base = pd.Timestamp("2024-05-01 10:00:00", tz="UTC")
    rows = []
    for u in range(40):
        t = base + pd.Timedelta(minutes=u)
        for k in range(12):
            t += pd.Timedelta(seconds=30 + k)
            rows.append((f"u{u}", t, "view", f"p{k % 4}", "mobile"))
            if k % 3 == 0:
                rows.append((f"u{u}", t, "view", f"p{k % 4}", "mobile"))  # exact duplicate
            if k % 4 == 1:
                rows.append((f"u{u}", t + pd.Timedelta(milliseconds=400), "view",
                             f"p{k % 4}", "desktop"))  # double fire
            if k % 5 == 2:
                rows.append((f"u{u}", t, "view", f"p{(k + 1) % 4}", None))  # same instant
    frame = pd.DataFrame(rows, columns=["user_id", "ts", "event", "product_id", "device"])
    # Extra columns named like the helper names of queries must stay plain columns.
    return frame.assign(k=1, v="x", c=frame.index % 3, rid=7, d="2020-01-01", n=0)


CASES = {
    "shop": (_shop, {}, LoadConfig()),
    "grocery": (grocery, {}, LoadConfig()),
    "yyyymmdd": (purchases_yyyymmdd, {"ts": "date"}, LoadConfig(timestamp_unit="compact")),
    "ratings": (ratings, {}, LoadConfig()),
    "file_sessions": (_file_sessions, {}, LoadConfig()),
    "berlin": (_berlin_nights, {}, LoadConfig(time_zone="Europe/Berlin")),
    "double_fires": (_double_fires, {}, LoadConfig()),
    "sampled": (_shop, {}, LoadConfig(user_sample_share=0.5, exclude_bots=True)),
}


def _mapping(raw: pd.DataFrame, overrides: dict[str, str]) -> ColumnMapping:
    mapping = guess_mapping(list(raw.columns), raw)
    for role, column in overrides.items():
        mapping = mapping.with_role(role, column)
    return mapping


def _reference(raw, mapping, load_config):
    """The definition: clean into an events table, then the feature SQL."""
    with Scratch() as s:
        table, report, _ = clean_into(s, raw, mapping, load_config, source_name="log")
        names = [r[0] for r in s.rows(f"SELECT DISTINCT event FROM {table}")]
        config = FeatureConfig(event_roles=guess_event_roles(names),
                               time_zone=report.time_zone, top_event_types=5)
        return features_from_table(s, table, config), report, config


def assert_same_table(fast: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert list(fast.index) == list(reference.index)
    assert list(fast.columns) == list(reference.columns)
    for col in reference.columns:
        a, b = fast[col], reference[col]
        if not pd.api.types.is_numeric_dtype(b):
            assert a.tolist() == b.tolist(), col
            continue
        assert a.isna().tolist() == b.isna().tolist(), col
        np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=RTOL, atol=1e-9,
                                   equal_nan=True, err_msg=col)


@pytest.mark.parametrize("case", CASES)
def test_the_fast_path_gives_the_definitions_table_and_report(case):
    make, overrides, load_config = CASES[case]
    raw = make()
    mapping = _mapping(raw, overrides)
    reference, ref_report, config = _reference(raw, mapping, load_config)
    table, report = features_from_source(raw, mapping, "log", load_config, config)
    assert_same_table(table.frame, reference.frame)
    assert table.definitions == reference.definitions
    assert [n.code for n in table.notices] == [n.code for n in reference.notices]
    assert report.to_dict() == ref_report.to_dict()
    assert len(reference.frame) > 10


@pytest.mark.parametrize("case", ["shop", "file_sessions", "berlin", "grocery"])
def test_features_of_an_events_frame_match_the_definition(case):
    make, overrides, load_config = CASES[case]
    raw = make()
    mapping = _mapping(raw, overrides)
    reference, _, config = _reference(raw, mapping, load_config)
    events = clean_events(raw, mapping, load_config).events
    shuffled = events.sample(frac=1.0, random_state=1)  # any row order gives the same table
    assert_same_table(user_features(shuffled, config).frame, reference.frame)


def test_the_berlin_case_crosses_summer_time_and_midnight():
    t = pd.to_datetime(_berlin_nights()["ts"], utc=True)
    local = t.dt.tz_convert("Europe/Berlin")
    assert local.dt.tz_localize(None).dt.date.nunique() < t.dt.date.nunique() + 6
    assert {d.utcoffset().total_seconds() for d in local} == {3600.0, 7200.0}


def test_local_time_matches_the_zone_database():
    rng = np.random.default_rng(0)
    us = rng.integers(0, 60 * 365 * 86400, 5000) * 1_000_000 + rng.integers(0, 10**6, 5000)
    for zone in ("Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kolkata"):
        expected = (pd.to_datetime(us, unit="us", utc=True).tz_convert(zone)
                    .tz_localize(None).as_unit("us").asi8)
        assert np.array_equal(local_microseconds(us, zone), expected), zone
