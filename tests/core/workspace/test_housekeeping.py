"""Bounded disk use: visits that do nothing write nothing, abandoned and empty workspaces
and dead saves are removed, and the quota refuses a load that would go over it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from core.common.errors import QuotaExceededError
from core.data.sample import generate_sample
from core.workspace import access, actions
from core.workspace.deployment import Deployment
from core.workspace.housekeeping import (
    clean_up,
    folder_bytes,
    human_bytes,
    quota_guard,
    usage,
)
from core.workspace.sections import DataSection
from core.workspace.store import Workspace, saved_folders

VISITS, STEPS = 50, 12


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path))
    return tmp_path / "workspaces"


@pytest.fixture(scope="module")
def sample():
    return generate_sample(n_users=80, days=21, seed=3).events


def _visit(sample) -> Workspace:
    """What a visit without a saved workspace gets: the sample, in memory only."""
    ws = Workspace()
    actions.load_sample_into(ws, sample, 80, 21, 3, save=False)
    return ws


def test_fifty_anonymous_visits_leave_only_what_their_steps_saved_and_clean_up(
        home, sample, capsys):
    visits = [_visit(sample) for _ in range(VISITS)]
    assert not home.exists() or not saved_folders()
    for ws in visits[:STEPS]:  # a few of them take a step
        actions.set_selected_features(ws, ws.feature_info.selected[:3])
    before = sum(folder_bytes(f) for f in saved_folders())
    assert len(saved_folders()) == STEPS and before > 0
    later = datetime.now(UTC) + timedelta(days=31)
    report = clean_up(Deployment(idle_days=30), now=later)
    assert len(report.removed) == STEPS and report.bytes_before == before
    assert report.bytes_after == 0 and not saved_folders()
    with capsys.disabled():
        print(f"\n{VISITS} visits, {STEPS} with a step: {human_bytes(before)} on disk, "
              f"{human_bytes(report.bytes_after)} after the clean-up")


def test_a_recently_opened_workspace_is_kept_and_empty_ones_go_sooner(home, sample):
    used = _visit(sample)
    used.save()
    empty = Workspace()
    empty.save()
    stale = _visit(sample)
    stale.save()
    later = datetime.now(UTC) + timedelta(days=2)
    report = clean_up(Deployment(empty_hours=24, idle_days=None), now=later)
    assert report.removed == [empty.id]
    report = clean_up(Deployment(idle_days=1), now=later, dry_run=True)
    assert sorted(report.removed) == sorted([used.id, stale.id])
    assert len(saved_folders()) == 2  # a dry run removes nothing
    # Opening counts as use: the opened workspace is no longer idle.
    access.mark_opened(used.id)
    report = clean_up(Deployment(idle_days=1), now=datetime.now(UTC) + timedelta(hours=2))
    assert report.removed == []


def test_the_quota_refuses_a_load_over_it_and_nothing_is_saved(home, sample):
    first = _visit(sample)
    access.claim(first.id, "ana@example.com")
    first.save()
    used = usage("ana@example.com", team=True)
    assert used == folder_bytes(home / first.id) > 0
    team = Deployment(mode="team", quota_bytes=int(used * 1.5))
    second = _visit(sample)
    second.guard = quota_guard(team, "ana@example.com")
    with pytest.raises(QuotaExceededError, match="over the quota of") as refused:
        second.save()
    assert "Delete workspaces you no longer need" in str(refused.value)
    assert not second.is_saved and not list((home / second.id).glob("rev-*"))
    # Small saves (no new data) are not refused; someone else's use does not count.
    first.guard = quota_guard(team, "ana@example.com")
    first.data = DataSection(name="renamed", users=80)
    first.save()
    assert usage("bo@example.com", team=True) == 0


def test_hard_links_are_counted_once(home):
    ws = Workspace(data=DataSection(name="x"))
    ws.set_frame("features", pd.DataFrame({"a": range(10_000)}))
    ws.save()
    one = folder_bytes(home / ws.id)
    ws.data = DataSection(name="y")
    ws.save()
    assert folder_bytes(home / ws.id) < one * 1.2  # the features are linked, not copied


def test_a_workspace_with_any_frame_is_not_empty(home):
    only_experiment = Workspace()
    only_experiment.set_frame("experiment", pd.DataFrame({"variant": ["a"], "y": [1]}))
    only_experiment.save()
    later = datetime.now(UTC) + timedelta(days=2)
    assert clean_up(Deployment(empty_hours=24), now=later).removed == []
