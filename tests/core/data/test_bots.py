"""Users with far more events than anyone else are flagged as bots, counted, kept unless
excluded, and excluded with one call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.bots import BOT_MEDIAN_MULTIPLE, suspected_bots
from core.data.cleaning import LoadConfig, clean_events
from core.data.mapping import ColumnMapping, guess_mapping
from core.data.sample import generate_sample
from core.workspace import actions
from core.workspace.store import Workspace

MAPPING = ColumnMapping({"user_id": "user_id", "ts": "ts", "event": "event"})


def log_with_a_crawler() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [(f"u{u}", start + pd.Timedelta(hours=float(h)), "page_view")
            for u in range(200) for h in np.sort(rng.uniform(0, 2000, 20))]
    rows += [("crawler", start + pd.Timedelta(seconds=2 * i), f"page_{i % 97}")
             for i in range(5000)]
    return pd.DataFrame(rows, columns=["user_id", "ts", "event"])


def test_a_crawler_is_flagged_and_kept():
    report = clean_events(log_with_a_crawler(), MAPPING).report
    assert report.suspected_bots == ["crawler"] and report.suspected_bot_count == 1
    assert report.suspected_bot_events == 5000 and report.rows_kept == 9000
    notice = next(n for n in report.notices if n.code == "suspected_bots")
    assert notice.level == "warning" and "5,000 of 9,000 events" in notice.message


def test_excluded_bots_are_counted():
    result = clean_events(log_with_a_crawler(), MAPPING, LoadConfig(exclude_bots=True))
    assert "crawler" not in set(result.events["user_id"])
    assert result.report.dropped["suspected_bot"] == 5000 and result.report.rows_kept == 4000
    assert result.report.suspected_bot_count == 0


def test_the_rule_needs_both_many_events_and_many_times_the_median():
    counts = pd.Series({"a": 10, "b": 12, "c": 400, "d": 30 * 11})
    assert list(suspected_bots(counts).index) == []  # 400 < 500 events
    heavy = pd.Series({**{f"u{i}": 20 for i in range(50)}, "x": BOT_MEDIAN_MULTIPLE * 20})
    assert list(suspected_bots(heavy).index) == ["x"]


def test_the_sample_shops_planted_bots_are_the_ones_flagged(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    sample = generate_sample(n_users=3000, days=60, seed=4)
    planted = set(sample.personas.loc[sample.personas["persona"] == "bot", "user_id"])
    ws = Workspace()
    actions.load_sample_into(ws, sample.events, 3000, 60, 4)
    assert set(ws.data.report.suspected_bots) == planted and planted
    users, rows = ws.data.users, len(ws.events)
    assert actions.exclude_suspected_bots(ws) == len(planted)
    assert ws.data.users == users - len(planted)
    assert not set(ws.features.index) & planted
    assert ws.data.report.dropped["suspected_bot"] == rows - len(ws.events) > 0
    assert ws.data.report.rows_kept == len(ws.events)
    reopened = Workspace.load(ws.id)
    assert reopened.data.report.suspected_bot_count == 0
    assert reopened.data.load_config.exclude_bots
    with pytest.raises(Exception, match="No user looks like a bot"):
        actions.exclude_suspected_bots(reopened)


def test_the_mapping_of_the_crawler_log_is_guessed():
    assert guess_mapping(log_with_a_crawler().columns).mapped() == MAPPING.mapped()
