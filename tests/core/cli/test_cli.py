"""The command line: `python -m core sample|features|cluster|sweep`. One test runs it as a
subprocess, as a user would; the others call the same entry point in this process (each
subprocess would spend seconds importing pandas and scikit-learn again)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli.common import parse_duration_minutes, parse_mapping
from core.common.errors import ConfigError
from tests.cli_run import run_cli

ROOT = Path(__file__).resolve().parents[3]


def run_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


run = run_cli


def test_sample_then_features(tmp_path):
    events = tmp_path / "events.parquet"
    truth = tmp_path / "truth.csv"
    experiment = tmp_path / "ab.parquet"
    done = run_process("sample", "-o", str(events), "--users", "300", "--seed", "5",
                       "--truth", str(truth), "--experiment", str(experiment))
    assert done.returncode == 0, done.stderr
    assert "events of 300 users" in done.stdout
    assert len(pd.read_csv(truth)) == 300
    ab = pd.read_parquet(experiment)
    assert {"variant", "converted", "revenue", "pre_period_revenue"} <= set(ab.columns)
    out = tmp_path / "features.csv"
    done = run("features", str(events), "-o", str(out), "--session-gap", "1h")
    assert done.returncode == 0, done.stderr
    features = pd.read_csv(out, index_col="user_id")
    assert len(features) == 300
    sampled = tmp_path / "sampled.csv"
    done = run("features", str(events), "-o", str(sampled), "--user-share", "0.5")
    assert done.returncode == 0 and "not sampled" in done.stdout
    assert 100 < len(pd.read_csv(sampled)) < 200
    assert {"sessions", "revenue", "rfm_segment"} <= set(features.columns)
    narrower = tmp_path / "narrow.parquet"
    # The sample's in-session gaps reach 5 minutes, so a 2-minute gap splits sessions.
    assert run("features", str(events), "-o", str(narrower), "--session-gap", "2m"
               ).returncode == 0
    # A shorter gap can only split sessions: nobody has fewer.
    short = pd.read_parquet(narrower)
    assert (short["sessions"] >= features.loc[short.index, "sessions"]).all()
    assert (short["sessions"] > features.loc[short.index, "sessions"]).any()


def test_mapping_override_from_csv(tmp_path):
    source = tmp_path / "export.csv"
    pd.DataFrame({"who": ["a", "a", "b"], "when": ["2024-01-01T00:00:00Z",
                                                   "2024-01-01T02:00:00Z",
                                                   "2024-01-02T00:00:00Z"],
                  "what": ["view", "view", "purchase"]}).to_csv(source, index=False)
    out = tmp_path / "f.csv"
    missing = run("features", str(source), "-o", str(out))
    assert missing.returncode == 3
    assert "No column is mapped to User id" in missing.stderr
    done = run("features", str(source), "-o", str(out), "--map", "user_id=who",
               "--map", "ts=when", "--map", "event=what")
    assert done.returncode == 0, done.stderr
    features = pd.read_csv(out, index_col="user_id")
    assert features.loc["a", "sessions"] == 2  # two hours apart


def test_errors_have_exit_codes(tmp_path):
    absent = run("features", str(tmp_path / "nope.parquet"), "-o", str(tmp_path / "x.csv"))
    assert absent.returncode == 2 and "does not exist" in absent.stderr
    assert run("features").returncode == 2  # argparse: missing arguments
    wrong_suffix = run("sample", "-o", str(tmp_path / "x.txt"))
    assert wrong_suffix.returncode == 2 and ".csv or .parquet" in wrong_suffix.stderr


def test_duration_and_mapping_parsers():
    assert parse_duration_minutes("30m") == 30
    assert parse_duration_minutes("1h") == 60
    assert parse_duration_minutes("90s") == 1.5
    assert parse_duration_minutes("45") == 45
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration_minutes("soon")
    assert parse_mapping(["ts=event_time", "session_id="]) == {"ts": "event_time",
                                                              "session_id": None}
    with pytest.raises(ConfigError, match="ROLE=COLUMN"):
        parse_mapping(["timestamp=event_time"])


def test_cluster_and_sweep(tmp_path):
    import json

    events = tmp_path / "events.parquet"
    assert run("sample", "-o", str(events), "--users", "600", "--seed", "2").returncode == 0
    segments = tmp_path / "segments.csv"
    model = tmp_path / "model.json"
    done = run("cluster", str(events), "--k", "4", "-o", str(segments),
               "--model-out", str(model))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(segments, index_col="user_id")
    assert len(table) == 600
    assert set(table["cluster"]) == {"Cluster 1", "Cluster 2", "Cluster 3", "Cluster 4"}
    saved = json.loads(model.read_text())
    assert saved["format"] == "persona-lens-model"
    assert len(saved["cluster"]["centroids"]) == 4
    assert saved["preprocess"]["features"] == list(table.columns[1:])
    again = tmp_path / "again.csv"
    assert run("cluster", str(events), "--k", "4", "-o", str(again)).returncode == 0
    assert (pd.read_csv(again, index_col="user_id")["cluster"] == table["cluster"]).all()
    # A feature table is a valid input too, and the sweep reports JSON.
    features = tmp_path / "features.csv"
    assert run("features", str(events), "-o", str(features)).returncode == 0
    sweep = run("sweep", str(features), "--k", "2-5", "--json",
                "--features", "sessions_per_week,revenue,days_since_last_event")
    assert sweep.returncode == 0, sweep.stderr
    result = json.loads(sweep.stdout)
    assert [row["k"] for row in result["table"]] == [2, 3, 4, 5]
    assert result["suggested_k"] in (2, 3, 4, 5) and "silhouette" in result["reason"]
    bad = run("cluster", str(events), "--k", "5000", "-o", str(again))
    assert bad.returncode == 2 and "from 2 up to 100" in bad.stderr
    unknown = run("sweep", str(features), "--features", "nope")
    assert unknown.returncode == 3 and "Unknown feature" in unknown.stderr
