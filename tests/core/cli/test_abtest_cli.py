"""`python -m core abtest` on files shaped like real exports, run through its entry point: the
guessed metrics and control are said on standard output, alarms sit next to the
verdict (text and JSON), repeated users are counted once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from tests.cli_run import run_cli
from tests.core.experiments.test_real_files import _users, _with_repeats, export

ROOT = Path(__file__).resolve().parents[3]


def abtest(*args: str) -> subprocess.CompletedProcess:
    return run_cli("abtest", *args)


@pytest.fixture
def shop_csv(tmp_path) -> Path:
    path = tmp_path / "shop_export.csv"
    export(variants=("A", "B")).to_csv(path, index=False)
    return path


def test_a_shop_export_is_read_with_its_real_metrics_and_control(shop_csv):
    done = abtest(str(shop_csv))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("B raises conversion from")
    assert lines[1].startswith(("B raises mean revenue from", "B lowers mean revenue from"))
    assert not any(w in done.stdout.split("\n\n")[0] for w in ("item id", "position",
                                                               "mean row"))
    assert "Control: 'A', because it is named like a control" in done.stdout
    assert "Not used as metrics by default (name them with --metric): row (" in done.stdout
    assert "item_id (named like an id" in done.stdout
    assert "7 values are not yes/no, e.g. 'maybe'" in done.stderr
    assert "Each user id in 'user_id' appears on one row" in done.stderr


def test_metric_and_control_can_be_picked_by_hand(shop_csv):
    done = abtest(str(shop_csv), "--metric", "position", "--control", "B")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("A ") and "mean position" in done.stdout.splitlines()[0]
    assert "Control: 'B', as chosen (by default it would be 'A'" in done.stdout
    assert "Not used as metrics by default" not in done.stdout


def test_a_sample_ratio_mismatch_is_printed_next_to_the_verdict(tmp_path):
    path = tmp_path / "srm.csv"
    _users(5000, 500, 4500, 600, names=("control", "treatment")).to_csv(path, index=False)
    srm_p = stats.chisquare([5000, 4500]).pvalue
    text = abtest(str(path))
    assert text.returncode == 0, text.stderr
    first, second = text.stdout.splitlines()[:2]
    assert first.startswith(f"ALARM: Sample ratio mismatch (p = {srm_p:.2g}): the split "
                            "is not what was planned; do not trust this result.")
    assert "significant at α = 0.05 — but sample ratio mismatch" in second
    payload = json.loads(abtest(str(path), "--json").stdout)
    assert payload["srm"]["alarm"] is True
    assert payload["srm"]["p_value"] == pytest.approx(srm_p)
    assert [a["code"] for a in payload["alarms"]] == ["srm"]
    assert payload["alarms"][0]["level"] == "error"
    assert "do not trust this result" in payload["sentences"][0]
    assert payload["control"]["name"] == "control"


def test_tiny_arms_say_too_few_users_instead_of_a_degenerate_interval(tmp_path):
    path = tmp_path / "tiny.csv"
    _users(5, 2, 5, 0).to_csv(path, index=False)
    done = abtest(str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ALARM: converted (B): too few users to estimate")
    assert "too few users to estimate the change (interval n/a)" in done.stdout
    assert "-100.0 % to -100.0 %" not in done.stdout
    row = json.loads(abtest(str(path), "--json").stdout)["table"][0]
    assert row["difference_ci_low"] is None and row["relative_lift_ci_high"] is None
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[0, 5], [2, 3]]).pvalue)


def test_repeated_users_are_counted_once_unless_told_rows_are_users(tmp_path):
    path = tmp_path / "orders.csv"
    raw = _with_repeats()
    raw.to_csv(path, index=False)
    done = abtest(str(path), "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["spec"]["user_col"] == "user_id"
    assert sum(payload["users"]) == raw.user_id.nunique() - 2  # two users in both arms
    assert "2 users appear in more than one variant" in done.stderr
    assert "1 users appear on more than one row of the same variant" in done.stderr
    rows = json.loads(abtest(str(path), "--json", "--user-col", "none").stdout)
    assert sum(rows["users"]) == len(raw)
    assert rows["spec"]["user_col"] is None
    assert len(pd.read_csv(path)) == len(raw)
